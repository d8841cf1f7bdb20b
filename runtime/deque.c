/* Chase-Lev work-stealing deque with a fixed buffer (see sr/deque.h). */
#include <sr/deque.h>

int deque_init(struct deque *d, _Atomic(void *) *slots, size_t capacity)
{
    if (!slots || capacity == 0 || (capacity & (capacity - 1)) || capacity > (1ull << 62))
        return DEQUE_EINVAL;
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    d->mask = (int64_t)capacity - 1;
    d->slots = slots;
    for (size_t i = 0; i < capacity; i++)
        atomic_init(&slots[i], NULL);
    return DEQUE_OK;
}

int deque_push(struct deque *d, void *item)
{
    if (!item)
        return DEQUE_EINVAL;
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    if (b - t > d->mask)
        return DEQUE_FULL;
    atomic_store_explicit(&d->slots[b & d->mask], item, memory_order_relaxed);
    /* The slot is visible before the new bottom that exposes it. */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    return DEQUE_OK;
}

void *deque_pop(struct deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    /* Claim slot b before reading top: orders against a thief's top read
     * then bottom read (store-load, hence seq_cst). */
    atomic_thread_fence(memory_order_seq_cst);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    if (t > b) {                       /* was empty */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    void *item = atomic_load_explicit(&d->slots[b & d->mask], memory_order_relaxed);
    if (t == b) {
        /* The last item: a thief may be taking it; whoever moves top wins. */
        if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                     memory_order_relaxed))
            item = NULL;
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
    return item;
}

int deque_steal(struct deque *d, void **out)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    atomic_thread_fence(memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b)
        return DEQUE_EMPTY;
    /* Read before the CAS: once top moves past t the owner may reuse the slot. */
    void *item = atomic_load_explicit(&d->slots[t & d->mask], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return DEQUE_RETRY;
    *out = item;
    return DEQUE_OK;
}
