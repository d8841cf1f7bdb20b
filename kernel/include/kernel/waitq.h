/*
 * Wait queues: FIFO lists of blocked tasks under a spinlock, the building
 * block of every blocking primitive (mutex, semaphore, event flags,
 * condition variable, join). A waiter leaves the queue exactly once: taken
 * by a waker (result WAIT_OK or another code), by its timeout (WAIT_TIMEOUT)
 * or, in an interruptible wait, by task_cancel (WAIT_CANCELLED).
 */
#ifndef KERNEL_WAITQ_H
#define KERNEL_WAITQ_H

#include <stdbool.h>
#include <stdint.h>
#include <kernel/spinlock.h>

struct task;

struct waitq {
    spinlock_t lock;
    struct task *head, *tail;
};

#define WAITQ_INIT {SPINLOCK_INIT, 0, 0}
#define WAIT_FOREVER 0

static inline void waitq_init(struct waitq *wq) { *wq = (struct waitq)WAITQ_INIT; }

/* With wq->lock held and IRQs masked (flags from spin_lock_irqsave):
 * enqueue the current task, release the lock, block until woken or until
 * deadline_ns (absolute, 0 = none), restore IRQs. Returns the wait result. */
int32_t waitq_wait(struct waitq *wq, uint64_t irq_flags, uint64_t deadline_ns);
/* As waitq_wait, but task_cancel ends it with WAIT_CANCELLED; a task already
 * cancelled does not block (returns WAIT_CANCELLED at once). */
int32_t waitq_wait_interruptible(struct waitq *wq, uint64_t irq_flags, uint64_t deadline_ns);
/* task_cancel's path: end t's interruptible wait, if it is in one. */
void waitq_cancel(struct task *t);
/* With wq->lock held: take the first waiter off and wake it with result.
 * Returns the task woken or NULL. */
struct task *waitq_wake_one(struct waitq *wq, int32_t result);
/* With wq->lock held: take the queued waiter t off and wake it with result. */
void waitq_take(struct waitq *wq, struct task *t, int32_t result);
/* With wq->lock held: wake every waiter. Returns how many. */
int waitq_wake_all(struct waitq *wq, int32_t result);
static inline bool waitq_empty(const struct waitq *wq) { return !wq->head; }

/* Deadline helper: now + ns, or 0 (forever) when ns is WAIT_FOREVER. */
uint64_t waitq_deadline_after(uint64_t timeout_ns);
static inline uint64_t waitq_deadline(uint64_t timeout_ns)
{
    return timeout_ns == WAIT_FOREVER ? 0 : waitq_deadline_after(timeout_ns);
}

#endif
