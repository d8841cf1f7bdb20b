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

/* Under wq->lock: the current task joins the tail of wq. */
static inline void waitq_enqueue_current(struct waitq *wq, struct task *cur)
{
    cur->next = NULL;
    cur->prev = wq->tail;
    if (wq->tail)
        wq->tail->next = cur;
    else
        wq->head = cur;
    wq->tail = cur;
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

/* waitq_unlink for t = wq->head (no predecessor to unlink from). */
static inline void waitq_unlink_first(struct waitq *wq, struct task *t)
{
    struct task *n = t->next;
    wq->head = n;
    if (n)
        n->prev = NULL;
    else
        wq->tail = NULL;
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
