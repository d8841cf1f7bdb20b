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
    e->next = e->prev = NULL;
    q->nwaiting--;
}

static bool may_start(const struct ioq *q, unsigned cls)
{
    return cls < IOQ_LOW_CLASS || q->low_active < q->low_limit;
}

struct ioq_entry *ioq_pop_ready(struct ioq *q)
{
    if (q->plugged || !q->nwaiting || q->active >= q->depth)
        return NULL;
    /* Best: the first class (highest) with a request allowed to start.
     * Oldest: the head with the smallest push order among allowed ones. */
    struct ioq_entry *best = NULL, *oldest = NULL;
    for (unsigned c = 0; c < IOQ_CLASSES; c++) {
        struct ioq_entry *h = q->head[c];
        if (!h || !may_start(q, c))
            continue;
        if (!best)
            best = h;
        if (!oldest || h->seq < oldest->seq)
            oldest = h;
    }
    if (!best)
        return NULL;
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
    e->state = IOQ_ACTIVE;
    e->dispatch_seq = ++q->dispatched;
    if (++q->active > q->max_active)
        q->max_active = q->active;
    if (e->cls >= IOQ_LOW_CLASS)
        q->low_active++;
    return e;
}

void ioq_finish(struct ioq *q, struct ioq_entry *e)
{
    if (e->state != IOQ_ACTIVE)
        return;
    e->state = IOQ_IDLE;
    q->active--;
    if (e->cls >= IOQ_LOW_CLASS)
        q->low_active--;
}

int ioq_remove(struct ioq *q, struct ioq_entry *e)
{
    if (e->state == IOQ_ACTIVE)
        return -EBUSY;
    if (e->state != IOQ_WAITING)
        return -EALREADY;
    unlink_entry(q, e);
    e->state = IOQ_IDLE;
    return 0;
}
