/* Event flags (see kernel/event.h). A waiter's request (mask, mode) travels
 * in its task's wait_arg; event_set grants it and stores the bits it got. */
#include <kernel/event.h>
#include <kernel/sched.h>

static bool satisfied(uint32_t bits, uint32_t mask, unsigned mode)
{
    return (mode & EVENT_ALL) ? (bits & mask) == mask : (bits & mask) != 0;
}

void event_set(struct event_flags *e, uint32_t bits)
{
    uint64_t flags = spin_lock_irqsave(&e->wq.lock);
    e->bits |= bits;
    struct task *t = e->wq.head;
    while (t) {
        struct task *next = t->next;
        uint32_t mask = (uint32_t)t->wait_arg;
        unsigned mode = (unsigned)(t->wait_arg >> 32);
        if (satisfied(e->bits, mask, mode)) {
            t->wait_arg = e->bits & mask;
            if (mode & EVENT_CLEAR)
                e->bits &= ~mask;
            waitq_take(&e->wq, t, WAIT_OK);
        }
        t = next;
    }
    spin_unlock_irqrestore(&e->wq.lock, flags);
    sched_resched_if_needed();
}

void event_clear(struct event_flags *e, uint32_t bits)
{
    uint64_t flags = spin_lock_irqsave(&e->wq.lock);
    e->bits &= ~bits;
    spin_unlock_irqrestore(&e->wq.lock, flags);
}

uint32_t event_get(struct event_flags *e)
{
    return __atomic_load_n(&e->bits, __ATOMIC_RELAXED);
}

int event_wait(struct event_flags *e, uint32_t mask, unsigned mode, uint64_t timeout_ns,
               uint32_t *got)
{
    uint64_t flags = spin_lock_irqsave(&e->wq.lock);
    if (satisfied(e->bits, mask, mode)) {
        uint32_t g = e->bits & mask;
        if (mode & EVENT_CLEAR)
            e->bits &= ~mask;
        spin_unlock_irqrestore(&e->wq.lock, flags);
        if (got)
            *got = g;
        return 0;
    }
    struct task *cur = sched_current();
    cur->wait_arg = (uint64_t)mask | ((uint64_t)mode << 32);
    int r = waitq_wait(&e->wq, flags, waitq_deadline(timeout_ns));
    if (r == 0 && got)
        *got = (uint32_t)cur->wait_arg;
    return r;
}
