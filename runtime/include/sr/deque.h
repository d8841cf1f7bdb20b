/*
 * Work-stealing deque (Chase-Lev, fixed capacity), pure C11 atomics.
 *
 * One owner pushes and pops at the bottom (LIFO); any number of thieves
 * steal from the top (FIFO). Every pushed item is taken exactly once, by
 * the owner's pop or by one thief's steal. The capacity is a power of two
 * given at init; a push into a full deque fails with DEQUE_FULL and
 * changes nothing. Items are non-NULL pointers (NULL means "nothing").
 *
 * Memory ordering follows Le, Pop, Cohen, Zappa Nardelli, "Correct and
 * Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013), with the
 * growable buffer replaced by a fixed one.
 */
#ifndef SR_DEQUE_H
#define SR_DEQUE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct deque {
    _Atomic int64_t top;              /* next to steal; only ever grows */
    char pad_[64 - sizeof(int64_t)];  /* thieves' line apart from the owner's */
    _Atomic int64_t bottom;           /* next free slot; owner-written */
    int64_t mask;                     /* capacity - 1 */
    _Atomic(void *) *slots;           /* capacity entries, owned by the caller */
};

enum {
    DEQUE_OK = 0,
    DEQUE_FULL = -1,     /* push: no room, nothing changed */
    DEQUE_EINVAL = -2,   /* init: capacity not a power of two; push: NULL item */
    DEQUE_EMPTY = -3,    /* steal: nothing to take */
    DEQUE_RETRY = -4,    /* steal: lost a race with another taker; try again */
};

/* slots: capacity entries (capacity a power of two, >= 1), kept alive
 * while the deque is used. DEQUE_OK or DEQUE_EINVAL. */
int deque_init(struct deque *d, _Atomic(void *) *slots, size_t capacity);
/* Owner only. DEQUE_OK, DEQUE_FULL, or DEQUE_EINVAL for a NULL item. */
int deque_push(struct deque *d, void *item);
/* Owner only: the most recently pushed item not yet taken, or NULL. */
void *deque_pop(struct deque *d);
/* Any core: takes the oldest item into *out. DEQUE_OK, DEQUE_EMPTY, or
 * DEQUE_RETRY (another taker won the race for that item). */
int deque_steal(struct deque *d, void **out);
/* Items present at some instant during the call (racy, for "is there work"). */
static inline int64_t deque_size(struct deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    return b > t ? b - t : 0;
}
static inline size_t deque_capacity(const struct deque *d) { return (size_t)d->mask + 1; }

#endif
