/* Wait queues (see kernel/waitq.h). */
#include <kernel/clock.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>

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
    t->waiting_on = NULL;
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
    arch_irq_restore(irq_flags);
    return r;
}

struct task *waitq_wake_one(struct waitq *wq, int32_t result)
{
    struct task *t = wq->head;
    if (!t)
        return NULL;
    unlink(wq, t);
    sched_wake(t, result);
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
    bool mine = t->waiting_on == wq && t->wait_seq == seq;
    if (mine)
        unlink(wq, t);
    spin_unlock_irqrestore(&wq->lock, flags);
    if (mine)
        sched_wake(t, WAIT_TIMEOUT);
}

uint64_t waitq_deadline_after(uint64_t timeout_ns)
{
    return clock_ns() + timeout_ns;
}
