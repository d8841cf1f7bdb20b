/*
 * Ring index maths for bounded queues of fixed-size elements. Positions are
 * free-running 32-bit counters (head = next to read, tail = next to write);
 * count = tail - head (wraps correctly); a position's slot is pos & mask,
 * where the storage holds mask + 1 >= cap slots (a power of two), so any
 * capacity works and indexing never divides. cap 0 is a rendezvous queue:
 * always full and empty.
 *
 * struct spsc_ring is lock-free for one producer and one consumer (the
 * MPMC channels' ring is sr/mpmc_ring.h).
 * Pure code: built into the image and the host tests.
 */
#ifndef SR_RING_H
#define SR_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Slots needed for capacity cap (0 for cap 0); 0 if cap is too large. */
static inline uint32_t ring_slots_for(uint32_t cap)
{
    if (cap == 0)
        return 0;
    if (cap > (1u << 30))
        return 0;
    uint32_t s = 1;
    while (s < cap)
        s <<= 1;
    return s;
}

/* Copy one element. 32 bytes is one load and one store pair; other sizes
 * up to 64 bytes are two fixed-size copies that overlap in the middle
 * (first and last 4, 8, 16 or 32 bytes), so no size needs a memcpy call;
 * larger ones go through memcpy. (A loop of fixed-size copies would be
 * recognised as a memcpy idiom and become a call.) Inlined where size is
 * only known at run time, the branches for other sizes are dead code that
 * GCC's bounds warnings would still judge: hence the pragmas. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#define RING_COPY_ENDS(d, s, n, k)                                                \
    do {                                                                          \
        memcpy((d), (s), (k));                                                    \
        memcpy((char *)(d) + (n) - (k), (const char *)(s) + (n) - (k), (k));      \
    } while (0)
static inline void ring_copy(void *dst, const void *src, uint32_t size)
{
    if (size == 32)
        memcpy(dst, src, 32);
    else if (size > 64)
        memcpy(dst, src, size);
    else if (size > 32)
        RING_COPY_ENDS(dst, src, size, 32);
    else if (size > 16)
        RING_COPY_ENDS(dst, src, size, 16);
    else if (size >= 8)
        RING_COPY_ENDS(dst, src, size, 8);
    else if (size >= 4)
        RING_COPY_ENDS(dst, src, size, 4);
    else
        memcpy(dst, src, size);
}
#undef RING_COPY_ENDS

/* ring_copy for a caller that may know the message size at compile time:
 * hint is that size (0 if unknown). When it is a constant equal to size,
 * the copy is a fixed-size memcpy the compiler inlines (32 bytes: one
 * q-register load/store pair), with no dispatch on size. */
static __attribute__((noinline, unused)) void ring_copy_cold_(void *dst, const void *src, uint32_t size)
{
    ring_copy(dst, src, size);
}

static inline void ring_copy_hinted(void *dst, const void *src, uint32_t size, size_t hint)
{
    if (!__builtin_constant_p(hint) || hint == 0)
        ring_copy(dst, src, size);
    else if (__builtin_expect(size == hint, 1))
        memcpy(dst, src, hint);
    else
        ring_copy_cold_(dst, src, size);   /* a typed caller on a channel of another size */
}
#pragma GCC diagnostic pop

/* The size of *p for ring_copy_hinted: 0 for a void pointer. */
#define RING_SIZE_HINT(p)                                                         \
    __builtin_choose_expr(__builtin_types_compatible_p(__typeof__(*(p)), void), (size_t)0, \
                          sizeof(*(p)))

/* Lock-free single-producer single-consumer ring. The producer owns tail
 * (and reads head), the consumer owns head (and reads tail); release/acquire
 * on those publish the slot contents. The consumer reads tail on every pop
 * (one load-acquire, as cheap as checking a cached copy first; a consumer
 * that keeps up would find such a cache used up on every message). The
 * producer caches its limit (the head it read + cap): it may write up to
 * there; tail never passes it, so tail == limit is the only "look at head
 * again"; a limit set to tail with cap 0 stops every push. The index
 * stores are sequentially consistent (on AArch64 a plain STLR, as a release
 * would be), so a side's later seq_cst load of a waiter flag is ordered after
 * them without a separate fence (chan_spsc's lost-wake-up protocol). */
struct spsc_ring {
    _Atomic uint32_t tail __attribute__((aligned(64)));  /* producer side */
    uint32_t limit;
    _Atomic uint32_t head __attribute__((aligned(64)));  /* consumer side */
    uint32_t cap, mask, elem;
    uint8_t *slots;
};

/* hint: see ring_copy_hinted. */
static inline bool spsc_push_hinted(struct spsc_ring *r, const void *msg, size_t hint)
{
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (t == r->limit) {
        uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
        if (t - h >= r->cap)
            return false;
        r->limit = h + r->cap;
    }
    ring_copy_hinted(r->slots + (size_t)(t & r->mask) * r->elem, msg, r->elem, hint);
    atomic_store_explicit(&r->tail, t + 1, memory_order_seq_cst);   /* a release (STLR) */
    return true;
}

static inline bool spsc_push(struct spsc_ring *r, const void *msg) { return spsc_push_hinted(r, msg, 0); }

static inline bool spsc_pop_hinted(struct spsc_ring *r, void *out, size_t hint)
{
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (h == atomic_load_explicit(&r->tail, memory_order_acquire))
        return false;
    ring_copy_hinted(out, r->slots + (size_t)(h & r->mask) * r->elem, r->elem, hint);
    atomic_store_explicit(&r->head, h + 1, memory_order_seq_cst);   /* a release (STLR) */
    return true;
}

static inline bool spsc_pop(struct spsc_ring *r, void *out) { return spsc_pop_hinted(r, out, 0); }

static inline uint32_t spsc_count(struct spsc_ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_acquire) -
           atomic_load_explicit(&r->head, memory_order_acquire);
}

#endif
