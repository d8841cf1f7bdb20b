/* Binary min-heap of timers (see kernel/timerq.h). Invariant: heap[i]->index
 * == i and heap[parent]->deadline <= heap[child]->deadline. */
#include <stdlib.h>
#include <kernel/timerq.h>

static void place(struct timerq *q, uint32_t i, struct timer *t)
{
    q->heap[i] = t;
    t->index = (int32_t)i;
}

static void sift_up(struct timerq *q, uint32_t i)
{
    struct timer *t = q->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (q->heap[parent]->deadline <= t->deadline)
            break;
        place(q, i, q->heap[parent]);
        i = parent;
    }
    place(q, i, t);
}

static void sift_down(struct timerq *q, uint32_t i)
{
    struct timer *t = q->heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= q->n)
            break;
        if (child + 1 < q->n && q->heap[child + 1]->deadline < q->heap[child]->deadline)
            child++;
        if (t->deadline <= q->heap[child]->deadline)
            break;
        place(q, i, q->heap[child]);
        i = child;
    }
    place(q, i, t);
}

int timerq_reserve(struct timerq *q, uint32_t cap)
{
    if (cap <= q->cap)
        return 0;
    struct timer **heap = realloc(q->heap, cap * sizeof(*heap));
    if (!heap)
        return -1;
    q->heap = heap;
    q->cap = cap;
    return 0;
}

int timerq_insert(struct timerq *q, struct timer *t)
{
    if (q->n == q->cap && timerq_reserve(q, q->cap ? q->cap * 2 : TIMERQ_INITIAL_CAP) != 0)
        return -1;
    place(q, q->n++, t);
    sift_up(q, q->n - 1);
    return 0;
}

void timerq_remove(struct timerq *q, struct timer *t)
{
    if (t->index < 0)
        return;
    uint32_t i = (uint32_t)t->index;
    struct timer *last = q->heap[--q->n];
    t->index = -1;
    if (i == q->n)
        return;
    place(q, i, last);
    if (i > 0 && q->heap[(i - 1) / 2]->deadline > last->deadline)
        sift_up(q, i);
    else
        sift_down(q, i);
}

struct timer *timerq_pop_first(struct timerq *q)
{
    struct timer *t = q->heap[0];
    t->index = -1;
    struct timer *last = q->heap[--q->n];
    if (q->n) {   /* the last one fills the root and sinks */
        place(q, 0, last);
        sift_down(q, 0);
    }
    return t;
}
