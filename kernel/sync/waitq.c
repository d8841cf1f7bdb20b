/* Wait queues (see kernel/waitq.h). */
#include <kernel/clock.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>
#include "waitq_inline.h"

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

void waitq_timeout(struct task *t, uint32_t seq)
{
    struct waitq *wq = t->waiting_on;
    if (!wq)
        return;
    uint64_t flags = spin_lock_irqsave(&wq->lock);
    if (t->waiting_on == wq && t->wait_seq == seq && t->wait_result == WAIT_PENDING)
        waitq_take(wq, t, WAIT_TIMEOUT);
    spin_unlock_irqrestore(&wq->lock, flags);
}

uint64_t waitq_deadline_after(uint64_t timeout_ns)
{
    return clock_ns() + timeout_ns;
}
