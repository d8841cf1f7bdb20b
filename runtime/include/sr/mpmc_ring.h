/*
 * Bounded multi-producer multi-consumer ring of fixed-size messages with a
 * sequence number per slot (Vyukov's design), plus flag bits in the two
 * position words that send a side to its owner's slow path.
 *
 * Words: tail (next position to write) and head (next to read) hold
 * position * MPMC_STEP | flags. Slot i holds a 64-bit seq (MPMC_SEQ_BYTES) and the
 * message; for the position p (encoded p * MPMC_STEP) that maps to it:
 *   seq == p                 free: a producer may claim p
 *   seq == p + MPMC_STEP     holds p's message: a consumer may claim p
 *   seq == p + lap           p's message was taken: free for p + lap
 * ("holds p's message" is the position after p, which both sides compute
 * anyway for their claim: no extra add. So that it differs from "free for
 * p + lap", a ring that holds messages has at least two slots: capacity 1
 * gets two and is gated, see below.)
 * A producer claims p with one compare-and-swap of tail (p -> p + STEP),
 * copies, and publishes with a release store of seq; a consumer likewise on
 * head. The CAS expects a word without flags, so while any flag is set no
 * fast operation of that side can start: it takes the slow path instead.
 *
 * Flags: MPMC_WAITERS (both words: somebody waits; set and cleared by the
 * owner under its lock), MPMC_CLOSED (tail), MPMC_GATED (tail, permanent:
 * the capacity is not the slot count, so pushes check it under the lock).
 * The *_locked operations keep the flags and loop on contention: they are
 * for a caller that serialises against other slow-path callers (the
 * channel's lock), while fast operations of the other side may still run.
 *
 * Lost wake-ups: after publishing (a seq_cst store) a fast operation loads
 * its word again (seq_cst) and, if MPMC_WAITERS is set, runs the owner's
 * settle step; a waiter sets MPMC_WAITERS (seq_cst read-modify-write)
 * before it looks at the slots. One of the two sees the other.
 *
 * Pure code (C11 atomics): built into the image and the host tests.
 */
#ifndef SR_MPMC_RING_H
#define SR_MPMC_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sr/ring.h>

#define MPMC_WAITERS 1u
#define MPMC_CLOSED  2u
#define MPMC_GATED   4u
#define MPMC_FLAGS   7u
#define MPMC_STEP    8u
#define MPMC_FULL    MPMC_STEP   /* seq of a slot holding p's message: p + MPMC_FULL */
/* The sequence word, padded: a message at offset 16 in its slot suits the
 * copy's paired 16-byte loads and stores (whose offsets are multiples of
 * 16: at 8 every copy would need an extra address computation). */
#define MPMC_SEQ_BYTES 16u

struct mpmc_ring {
    _Atomic uint64_t tail __attribute__((aligned(64)));
    _Atomic uint64_t head __attribute__((aligned(64)));
    uint8_t *slots;             /* slot i at slots + i * stride */
    uint64_t mask;              /* slot count - 1 */
    uint64_t lap;               /* slot count * MPMC_STEP */
    uint32_t stride;            /* MPMC_SEQ_BYTES + elem, rounded up to 8 */
    uint32_t elem;              /* message bytes */
    uint32_t cap;               /* messages queued at most */
};

/* Slots for capacity cap: a power of two, at least two (see the top);
 * cap 0 (rendezvous): one, never used. */
static inline uint32_t mpmc_slots_for(uint32_t cap)
{
    return cap == 0 ? 1 : cap == 1 ? 2 : ring_slots_for(cap);
}

/* Slot storage for cap messages of elem bytes. */
static inline size_t mpmc_ring_bytes(uint32_t cap, uint32_t elem)
{
    uint32_t slots = mpmc_slots_for(cap);
    return (size_t)slots * ((MPMC_SEQ_BYTES + elem + 7) & ~7u);
}

/* cap must satisfy ring_slots_for(cap) != 0 or be 0; mem holds
 * mpmc_ring_bytes(cap, elem) bytes, 8-byte aligned. */
static inline void mpmc_ring_init(struct mpmc_ring *r, void *mem, uint32_t cap, uint32_t elem)
{
    uint32_t slots = mpmc_slots_for(cap);
    r->slots = mem;
    r->mask = slots - 1;
    r->lap = (uint64_t)slots * MPMC_STEP;
    r->stride = (MPMC_SEQ_BYTES + elem + 7) & ~7u;
    r->elem = elem;
    r->cap = cap;
    for (uint32_t i = 0; i < slots; i++)
        atomic_init((_Atomic uint64_t *)(r->slots + (size_t)i * r->stride), (uint64_t)i * MPMC_STEP);
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, cap == slots ? 0 : MPMC_GATED);
}

static inline uint8_t *mpmc_slot(const struct mpmc_ring *r, uint64_t word)
{
    return r->slots + ((word / MPMC_STEP) & r->mask) * r->stride;
}

static inline _Atomic uint64_t *mpmc_seq(uint8_t *slot) { return (_Atomic uint64_t *)slot; }

/* Does a fast operation with size hint copy (hint: the message size if known
 * at compile time, else 0) suit a ring of elem-byte messages? A typed caller
 * on a ring of another size is sent to the slow path (which copies elem
 * bytes), so the fast copy is a fixed-size one; the test shares the branch
 * of the sequence check (one conditional compare). */
static inline bool mpmc_hint_fits(uint32_t elem, size_t hint)
{
    return !__builtin_constant_p(hint) || hint == 0 || elem == hint;
}

static inline void mpmc_copy(void *dst, const void *src, uint32_t elem, size_t hint)
{
    if (__builtin_constant_p(hint) && hint != 0)
        memcpy(dst, src, hint);
    else
        ring_copy(dst, src, elem);
}

/* Fast push: true if msg was queued (then the caller checks
 * mpmc_tail_waiters). False: full, contended, a flag is set, or hint does
 * not fit (mpmc_hint_fits). */
static inline bool mpmc_try_push_hinted(struct mpmc_ring *r, const void *msg, size_t hint)
{
    /* The ring's fields are read before the first acquire (which would make
     * the compiler read them again), in as few loads as the layout allows. */
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint8_t *slots = r->slots;
    uint64_t mask = r->mask;
    uint32_t stride = r->stride, elem = r->elem;
    uint8_t *s = slots + ((t / MPMC_STEP) & mask) * stride;
    uint64_t next = t + MPMC_STEP;   /* also "holds t's message" (MPMC_FULL) */
    if (atomic_load_explicit(mpmc_seq(s), memory_order_acquire) != t || !mpmc_hint_fits(elem, hint) ||
        !atomic_compare_exchange_strong_explicit(&r->tail, &t, next,
                                                 memory_order_relaxed, memory_order_relaxed))
        return false;
    mpmc_copy(s + MPMC_SEQ_BYTES, msg, elem, hint);
    atomic_store_explicit(mpmc_seq(s), next, memory_order_seq_cst);
    return true;
}

static inline bool mpmc_try_push(struct mpmc_ring *r, const void *msg)
{
    return mpmc_try_push_hinted(r, msg, 0);
}

/* Fast pop: true if a message was taken into out (then the caller checks
 * mpmc_head_waiters). False: empty, contended, a flag is set, or hint does
 * not fit. */
static inline bool mpmc_try_pop_hinted(struct mpmc_ring *r, void *out, size_t hint)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint8_t *slots = r->slots;
    uint64_t mask = r->mask;
    uint32_t stride = r->stride, elem = r->elem;
    uint8_t *s = slots + ((h / MPMC_STEP) & mask) * stride;
    uint64_t next = h + MPMC_STEP;
    if (atomic_load_explicit(mpmc_seq(s), memory_order_acquire) != next ||   /* h + MPMC_FULL */
        !mpmc_hint_fits(elem, hint) ||
        !atomic_compare_exchange_strong_explicit(&r->head, &h, next, memory_order_relaxed,
                                                 memory_order_relaxed))
        return false;
    mpmc_copy(out, s + MPMC_SEQ_BYTES, elem, hint);
    /* Free for h + lap, lap = (mask + 1) * MPMC_STEP: from next, no load. */
    atomic_store_explicit(mpmc_seq(s), next + mask * MPMC_STEP, memory_order_seq_cst);
    return true;
}

static inline bool mpmc_try_pop(struct mpmc_ring *r, void *out) { return mpmc_try_pop_hinted(r, out, 0); }

/* Is a flag set on the producer / consumer side (a fast operation would
 * fail)? For callers that go to the slow path anyway if it does. */
static inline bool mpmc_tail_flagged(struct mpmc_ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_relaxed) & MPMC_FLAGS;
}

static inline bool mpmc_head_flagged(struct mpmc_ring *r)
{
    return atomic_load_explicit(&r->head, memory_order_relaxed) & MPMC_FLAGS;
}

/* After a fast push / pop: must the owner's settle step run? */
static inline bool mpmc_tail_waiters(struct mpmc_ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_seq_cst) & MPMC_WAITERS;
}

static inline bool mpmc_head_waiters(struct mpmc_ring *r)
{
    return atomic_load_explicit(&r->head, memory_order_seq_cst) & MPMC_WAITERS;
}

/* --- for the owner's slow paths (serialised among themselves) ------------------ */

static inline uint64_t mpmc_tail_flags(struct mpmc_ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_seq_cst) & MPMC_FLAGS;
}

/* Set / clear MPMC_WAITERS on both words (seq_cst read-modify-writes),
 * unless already so: flags change only under the owner's lock, so a flag
 * seen set was set by an earlier holder, whose view of the slots the
 * caller inherits through the lock. */
static inline void mpmc_set_waiters(struct mpmc_ring *r)
{
    if (atomic_load(&r->tail) & atomic_load(&r->head) & MPMC_WAITERS)
        return;
    atomic_fetch_or(&r->tail, MPMC_WAITERS);
    atomic_fetch_or(&r->head, MPMC_WAITERS);
}

static inline void mpmc_clear_waiters(struct mpmc_ring *r)
{
    if (!((atomic_load_explicit(&r->tail, memory_order_relaxed) |
           atomic_load_explicit(&r->head, memory_order_relaxed)) & MPMC_WAITERS))
        return;
    atomic_fetch_and(&r->tail, ~(uint64_t)MPMC_WAITERS);
    atomic_fetch_and(&r->head, ~(uint64_t)MPMC_WAITERS);
}

static inline void mpmc_close(struct mpmc_ring *r) { atomic_fetch_or(&r->tail, MPMC_CLOSED); }

/* Positions claimed by producers and not yet by consumers (messages queued
 * or being written / read). */
static inline uint32_t mpmc_count(struct mpmc_ring *r)
{
    uint64_t h = atomic_load(&r->head) & ~(uint64_t)MPMC_FLAGS;
    uint64_t t = atomic_load(&r->tail) & ~(uint64_t)MPMC_FLAGS;
    return (uint32_t)((t - h) / MPMC_STEP);
}

/* Nothing claimed at all: no message queued, none being written. */
static inline bool mpmc_drained(struct mpmc_ring *r) { return mpmc_count(r) == 0; }

/* Is a published message at the head (a pop would succeed)? */
static inline bool mpmc_can_pop(struct mpmc_ring *r)
{
    uint64_t h = atomic_load(&r->head) & ~(uint64_t)MPMC_FLAGS;
    return atomic_load(mpmc_seq(mpmc_slot(r, h))) == h + MPMC_FULL;
}

/* Is there room for a push (capacity and a free slot)? */
static inline bool mpmc_can_push(struct mpmc_ring *r)
{
    uint64_t t = atomic_load(&r->tail) & ~(uint64_t)MPMC_FLAGS;
    uint64_t h = atomic_load(&r->head) & ~(uint64_t)MPMC_FLAGS;
    if (t - h >= (uint64_t)r->cap * MPMC_STEP)
        return false;
    return atomic_load(mpmc_seq(mpmc_slot(r, t))) == t;
}

/* Push keeping the flags; false only when full (capacity or no free slot). */
static inline __attribute__((always_inline)) bool mpmc_push_locked(struct mpmc_ring *r, const void *msg)
{
    for (;;) {
        uint64_t w = atomic_load(&r->tail);
        uint64_t t = w & ~(uint64_t)MPMC_FLAGS;
        uint64_t h = atomic_load(&r->head) & ~(uint64_t)MPMC_FLAGS;
        if (t - h >= (uint64_t)r->cap * MPMC_STEP)
            return false;
        uint8_t *s = mpmc_slot(r, t);
        uint64_t seq = atomic_load(mpmc_seq(s));
        if ((int64_t)(seq - t) < 0)
            return false;                       /* its last message is still being read */
        if (seq != t || !atomic_compare_exchange_weak(&r->tail, &w, (t + MPMC_STEP) | (w & MPMC_FLAGS)))
            continue;                           /* another producer moved on */
        ring_copy(s + MPMC_SEQ_BYTES, msg, r->elem);
        atomic_store(mpmc_seq(s), t + MPMC_FULL);
        return true;
    }
}

/* Pop keeping the flags; false only when no published message is at the
 * head (empty, or the next one is still being written). */
static inline __attribute__((always_inline)) bool mpmc_pop_locked(struct mpmc_ring *r, void *out)
{
    for (;;) {
        uint64_t w = atomic_load(&r->head);
        uint64_t h = w & ~(uint64_t)MPMC_FLAGS;
        if ((atomic_load(&r->tail) & ~(uint64_t)MPMC_FLAGS) == h)
            return false;                       /* nothing claimed: empty (the usual case
                                                   of a receiver about to wait) */
        uint8_t *s = mpmc_slot(r, h);
        uint64_t seq = atomic_load(mpmc_seq(s));
        if ((int64_t)(seq - (h + MPMC_FULL)) < 0)
            return false;
        if (seq != h + MPMC_FULL ||
            !atomic_compare_exchange_weak(&r->head, &w, (h + MPMC_STEP) | (w & MPMC_FLAGS)))
            continue;                           /* another consumer moved on */
        ring_copy(out, s + MPMC_SEQ_BYTES, r->elem);
        atomic_store(mpmc_seq(s), h + r->lap);
        return true;
    }
}

#endif
