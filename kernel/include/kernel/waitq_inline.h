/*
 * Wait-queue operations as inline functions, for the fast paths that are
 * hot (semaphores, the UART's RX interrupt); waitq.c exports the same
 * operations (kernel/waitq.h), which everything else uses.
 */
#ifndef KERNEL_SYNC_WAITQ_INLINE_H
#define KERNEL_SYNC_WAITQ_INLINE_H

#include <arch/cpu.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>

/* A waiter's wait_result is WAIT_PENDING while it is queued; whoever takes
 * it off (a waker or its timeout, both under wq->lock) sets the result, so
 * exactly one of them wakes it. waiting_on stays set until the waiter runs
 * again: a late timeout finds the queue and sees the wait already ended. */
static inline void waitq_unlink(struct waitq *wq, struct task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        wq->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        wq->tail = t->prev;
}

/* Under wq->lock: the current task joins the tail of wq, waiting_on left
 * as it is (NULL: a wait no timeout or cancel can end). */
static inline void waitq_link_current(struct waitq *wq, struct task *cur)
{
    cur->next = NULL;
    cur->prev = wq->tail;
    if (wq->tail)
        wq->tail->next = cur;
    else
        wq->head = cur;
    wq->tail = cur;
}

/* Under wq->lock: the current task joins the tail of wq. */
static inline void waitq_enqueue_current(struct waitq *wq, struct task *cur)
{
    waitq_link_current(wq, cur);
    cur->waiting_on = wq;
}

static inline void waitq_take_inline(struct waitq *wq, struct task *t, int32_t result)
{
    waitq_unlink(wq, t);
    t->wait_result = result;
    sched_wake(t, result);
}

static inline int32_t waitq_wait_inline(struct waitq *wq, uint64_t irq_flags,
                                        uint64_t deadline_ns)
{
    struct task *cur = sched_current();
    waitq_enqueue_current(wq, cur);
    if (!deadline_ns)
        return sched_block_waitq(&wq->lock, irq_flags);
    int32_t r = sched_block(&wq->lock, deadline_ns);
    cur->waiting_on = NULL;
    arch_irq_restore(irq_flags);
    return r;
}

/* An untimed wait whose switch is inline in the waiter, with a min frame
 * (arch/switch_min.h): the waiter's compiler keeps across the switch only
 * what the waiter needs, instead of a full frame of callee-saved
 * registers. Three parts: the begin, out of line in the primitive (its
 * lock, its fast path, then waitq_wait_min_begin as a tail call), and
 * waitq_wait_min_finish inline in the waiter, fed what the begin returned:
 *     return waitq_wait_min_finish(sem_wait_begin_(s));
 * Only an untimed, uninterruptible wait: timed and interruptible ones
 * take waitq_wait_inline's ways. Such a wait leaves waiting_on NULL:
 * only a timeout or a cancel looks for the queue a task waits on, and
 * neither can end this wait. */

/* The begin's last step, as waitq_wait_inline with no deadline: with
 * wq->lock held, IRQs masked (irq_flags from spin_lock_irqsave), queue the
 * current task and block up to the switch (sched_block_waitq_begin). */
static inline struct sched_block_switch waitq_wait_min_begin(struct waitq *wq, uint64_t irq_flags)
{
    waitq_link_current(wq, sched_current());
    return sched_block_waitq_begin(&wq->lock, irq_flags);
}

/* After the min switch: the task runs again (maybe on another core), IRQs
 * masked, its wait ended; sched_block_waitq's tail (waiting_on was never
 * set). The current task is read afresh (sched_current() could be reused
 * from before the switch); the begin switched only a caller that had IRQs
 * enabled. */
static inline int32_t waitq_wait_min_end(void)
{
    arch_irq_enable();
    /* Not volatile: a caller that ignores the result reads nothing. */
    struct task *cur;
    __asm__("mrs %0, tpidrro_el0" : "=r"(cur));
    return cur->wait_result;
}

/* Inline in the waiter: the switch a begin left, and the wait's end; or
 * the result of a wait the begin ended itself (or of its fast path). */
static inline __attribute__((always_inline)) int32_t waitq_wait_min_finish(struct sched_block_switch b)
{
    if (!b.prev)
        return (int32_t)b.result;
    arch_switch_min(b.prev, b.next_sp);
    return waitq_wait_min_end();
}

/* waitq_unlink for t = wq->head (no predecessor to unlink from). Laid
 * out for the lone waiter. */
static inline void waitq_unlink_first(struct waitq *wq, struct task *t)
{
    struct task *n = t->next;
    wq->head = n;
    if (__builtin_expect(!n, 1))
        wq->tail = NULL;
    else
        n->prev = NULL;
}

/* waitq_take_inline for t = wq->head. */
static inline void waitq_take_first_inline(struct waitq *wq, struct task *t, int32_t result)
{
    waitq_unlink_first(wq, t);
    t->wait_result = result;
    sched_wake(t, result);
}

/* waitq_take_first_inline from an interrupt handler (sched_wake_irq). */
static inline void waitq_take_first_irq(struct waitq *wq, struct task *t, int32_t result)
{
    waitq_unlink_first(wq, t);
    t->wait_result = result;
    sched_wake_irq(t);
}

/* With wq->lock held, IRQs masked (irq_flags from spin_lock_irqsave): if a
 * task waits, take the first off with result, release the lock, wake it
 * and restore irq_flags (sched_wake_unlock), and return true; else return
 * false with the lock still held. Once off the queue with its result, the
 * waiter's wait has ended for everyone else (a timeout or cancel checks
 * wait_result under the lock), so the wake needs no wq->lock. */
static inline bool waitq_wake_one_unlock(struct waitq *wq, int32_t result, uint64_t irq_flags)
{
    struct task *t = wq->head;
    if (!t)
        return false;
    waitq_unlink_first(wq, t);
    t->wait_result = result;
    sched_wake_unlock(&wq->lock, irq_flags, t);
    return true;
}

static inline struct task *waitq_wake_one_inline(struct waitq *wq, int32_t result)
{
    struct task *t = wq->head;
    if (t)
        waitq_take_first_inline(wq, t, result);
    return t;
}

#endif
