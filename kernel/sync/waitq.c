/* Wait queues (see kernel/waitq.h). */
#include <kernel/clock.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>

/* A waiter's wait_result is WAIT_PENDING while it is queued; whoever takes
 * it off (a waker or its timeout, both under wq->lock) sets the result, so
 * exactly one of them wakes it. waiting_on stays set until the waiter runs
 * again: a late timeout finds the queue and sees the wait already ended. */
static void unlink(struct waitq *wq, struct task *t)
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

void waitq_take(struct waitq *wq, struct task *t, int32_t result)
{
    unlink(wq, t);
    t->wait_result = result;
    sched_wake(t, result);
}

int32_t waitq_wait(struct waitq *wq, uint64_t irq_flags, uint64_t deadline_ns)
{
    struct task *cur = sched_current();
    cur->next = NULL;
    cur->prev = wq->tail;
    if (wq->tail)
        wq->tail->next = cur;
    else
        wq->head = cur;
    wq->tail = cur;
    cur->waiting_on = wq;
    int32_t r = sched_block(&wq->lock, deadline_ns);
    cur->waiting_on = NULL;
    arch_irq_restore(irq_flags);
    return r;
}

struct task *waitq_wake_one(struct waitq *wq, int32_t result)
{
    struct task *t = wq->head;
    if (t)
        waitq_take(wq, t, result);
    return t;
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
