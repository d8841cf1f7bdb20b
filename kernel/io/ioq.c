/* The I/O queue's bookkeeping (see kernel/ioq.h). Pure: builds for the host. */
#include <errno.h>
#include <stddef.h>
#include <kernel/ioq.h>

void ioq_init(struct ioq *q, uint32_t depth, uint32_t cap)
{
    *q = (struct ioq){0};
    q->depth = depth ? depth : 1;
    q->cap = cap;
    q->low_limit = q->depth - q->depth / 4;
}

int ioq_push(struct ioq *q, struct ioq_entry *e, unsigned cls)
{
    if (cls >= IOQ_CLASSES || e->state != IOQ_IDLE)
        return -EINVAL;
    if (q->nwaiting >= q->cap) {
        q->full_count++;
        q->refused = 1;
        return -EAGAIN;
    }
    e->cls = (uint8_t)cls;
    e->seq = ++q->seq;
    e->dispatch_seq = 0;
    e->next = NULL;
    e->prev = q->tail[cls];
    if (q->tail[cls])
        q->tail[cls]->next = e;
    else
        q->head[cls] = e;
    q->tail[cls] = e;
    q->mask |= (uint8_t)(1u << cls);
    e->state = IOQ_WAITING;
    q->nwaiting++;
    return 0;
}

static void unlink_entry(struct ioq *q, struct ioq_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        q->head[e->cls] = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        q->tail[e->cls] = e->prev;
    if (!q->head[e->cls])
        q->mask &= (uint8_t)~(1u << e->cls);
    e->next = e->prev = NULL;
    q->nwaiting--;
}

struct ioq_entry *ioq_pop_ready(struct ioq *q)
{
    if (q->plugged || !q->mask || ioq_active(q) >= q->depth)
        return NULL;
    /* Best: the first class (highest) with a request allowed to start.
     * Oldest: the head with the smallest push order among allowed ones. */
    uint32_t allowed = q->mask;
    if (q->low_active >= q->low_limit)
        allowed &= (1u << IOQ_LOW_CLASS) - 1;
    if (!allowed)
        return NULL;
    struct ioq_entry *best = q->head[__builtin_ctz(allowed)], *oldest = best;
    for (uint32_t m = allowed & (allowed - 1); m; m &= m - 1) {
        struct ioq_entry *h = q->head[__builtin_ctz(m)];
        if (h->seq < oldest->seq)
            oldest = h;
    }
    struct ioq_entry *e = best;
    if (oldest != best) {
        if (q->bypassed >= IOQ_AGE_LIMIT) {
            e = oldest;
            q->bypassed = 0;
            q->aged_count++;
        } else {
            q->bypassed++;
        }
    } else {
        q->bypassed = 0;
    }
    unlink_entry(q, e);
    ioq_activate_(q, e);
    return e;
}

int ioq_remove(struct ioq *q, struct ioq_entry *e)
{
    if (e->state == IOQ_ACTIVE)
        return -EBUSY;
    if (e->state != IOQ_WAITING)
        return -EALREADY;
    unlink_entry(q, e);
    e->state = IOQ_IDLE;
    q->removed++;
    return 0;
}
