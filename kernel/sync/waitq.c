/* Wait queues (see kernel/waitq.h). */
#include <kernel/clock.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>
#include <kernel/waitq_inline.h>

void waitq_take(struct waitq *wq, struct task *t, int32_t result)
{
    waitq_take_inline(wq, t, result);
}

int32_t waitq_wait(struct waitq *wq, uint64_t irq_flags, uint64_t deadline_ns)
{
    return waitq_wait_inline(wq, irq_flags, deadline_ns);
}

struct task *waitq_wake_one(struct waitq *wq, int32_t result)
{
    return waitq_wake_one_inline(wq, result);
}

int waitq_wake_all(struct waitq *wq, int32_t result)
{
    int n = 0;
    while (waitq_wake_one(wq, result))
        n++;
    return n;
}

/* Interruptible waits against task_cancel: the waiter, under wq->lock,
 * publishes waiting_on and then reads the cancel flag; task_cancel sets the
 * flag and then reads waiting_on (both with full fences), so at least one of
 * them sees the other. A waiter that sees the flag never blocks; a canceller
 * that sees the wait takes it off under wq->lock only if it is still pending
 * and interruptible, so a waker, a timeout and a cancel end it exactly once.
 * The canceller decides under the waiter's run-queue lock while the waiter
 * is blocked (sched_cancel_waitq_wait), so it never touches a wait queue the
 * waiter has left. */
int32_t waitq_wait_interruptible(struct waitq *wq, uint64_t irq_flags, uint64_t deadline_ns)
{
    struct task *cur = sched_current();
    atomic_fetch_or(&cur->cancel, TASK_CANCEL_INTERRUPTIBLE);
    waitq_enqueue_current(wq, cur);
    atomic_thread_fence(memory_order_seq_cst);
    int32_t r;
    if (atomic_load(&cur->cancel) & TASK_CANCEL_REQUESTED) {
        waitq_unlink(wq, cur);
        spin_unlock(&wq->lock);
        r = WAIT_CANCELLED;
    } else {
        r = sched_block(&wq->lock, deadline_ns);
    }
    cur->waiting_on = NULL;
    atomic_fetch_and(&cur->cancel, (uint8_t)~TASK_CANCEL_INTERRUPTIBLE);
    arch_irq_restore(irq_flags);
    return r;
}

void waitq_cancel(struct task *t)
{
    atomic_thread_fence(memory_order_seq_cst);   /* the flag, then waiting_on (see above) */
    sched_cancel_waitq_wait(t);
}

uint64_t waitq_deadline_after(uint64_t timeout_ns)
{
    return clock_ns() + timeout_ns;
}
