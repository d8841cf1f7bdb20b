/*
 * Timer queue: a binary min-heap of timers ordered by deadline, with O(log n)
 * insert, remove-any and pop. Pure code (no locking, no arch): the owner
 * (each core's run queue) locks it. The heap array grows with realloc; a
 * failed growth makes timerq_insert return -1 and changes nothing.
 */
#ifndef KERNEL_TIMERQ_H
#define KERNEL_TIMERQ_H

#include <stdbool.h>
#include <stdint.h>

struct timer {
    uint64_t deadline;               /* in the owner's time unit (counter ticks in SR) */
    void (*fn)(void *arg, uint32_t seq);
    void *arg;
    uint32_t seq;                    /* passed to fn: lets it ignore stale firings */
    int32_t index;                   /* position in the heap, -1 when not queued */
    int16_t cpu;                     /* whose heap (set by the owner when queued) */
};

struct timerq {
    struct timer **heap;
    uint32_t n, cap;
};

static inline void timer_init(struct timer *t) { t->index = -1; }
static inline bool timer_queued(const struct timer *t) { return t->index >= 0; }

#define TIMERQ_INITIAL_CAP 64

/* Make room for cap timers without growing: 0, or -1 (nothing changed). */
int timerq_reserve(struct timerq *q, uint32_t cap);
int timerq_insert(struct timerq *q, struct timer *t);
void timerq_remove(struct timerq *q, struct timer *t);   /* no-op if not queued */
static inline struct timer *timerq_peek(const struct timerq *q) { return q->n ? q->heap[0] : 0; }
/* Remove and return the earliest timer (q not empty). */
struct timer *timerq_pop_first(struct timerq *q);
/* Remove and return the earliest timer if its deadline is <= now, else NULL. */
static inline struct timer *timerq_pop_expired(struct timerq *q, uint64_t now)
{
    if (!q->n || q->heap[0]->deadline > now)
        return 0;
    return timerq_pop_first(q);
}

#endif
