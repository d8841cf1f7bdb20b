/*
 * Bounded multi-producer single-consumer ring of fixed-size messages, each
 * carrying one 64-bit word beside its bytes (the actor mailbox puts a
 * request's reply box there). Lock-free on both sides.
 *
 * Words: tail = next position to claim * MPSC_STEP | MPSC_CLOSED; head =
 * next position to read * MPSC_STEP, written by the consumer alone. Slot i
 * holds a sequence word, the message's word and the message (at offset 16,
 * so a 32-byte message is one q-register load/store pair). Position p's
 * slot holds p's message when its sequence is p + MPSC_STEP; a sequence
 * only ever grows, so a slot's older value never matches.
 *
 * A producer reads head (acquire) and claims p with one compare-and-swap
 * of tail if p - head < cap: p's slot was read by the consumer before it
 * stored that head (release), so a claimed slot is free: no per-slot
 * "free" state, and any capacity is exact (the slot count is the next
 * power of two). It copies, then publishes the sequence (seq_cst). The
 * consumer checks the sequence (acquire), copies out and stores head
 * (seq_cst). Closing sets MPSC_CLOSED in tail: no claim succeeds after it;
 * claims made before it are still published and read.
 *
 * Sleeping sides (the mailbox's concern): after publishing, a producer
 * loads the consumer's "asleep" flag (seq_cst); the consumer stores that
 * flag (seq_cst) before it looks at the ring again (mpsc_look: tail, then
 * the head slot only if something is claimed; the claim is a seq_cst
 * read-modify-write for that). Likewise for senders waiting for room
 * against head. One of each pair sees the other.
 *
 * Pure code (C11 atomics): built into the image and the host tests.
 */
#ifndef SR_MPSC_RING_H
#define SR_MPSC_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sr/ring.h>

#define MPSC_CLOSED 1u
#define MPSC_STEP   2u
#define MPSC_HDR    16u          /* sequence and word before the message */
#define MPSC_CAP_MAX (1u << 20)

enum mpsc_push { MPSC_OK = 0, MPSC_FULL = 1, MPSC_SHUT = 2 };

struct mpsc_ring {
    _Atomic uint64_t tail __attribute__((aligned(64)));
    _Atomic uint64_t head __attribute__((aligned(64)));
    uint8_t *slots;             /* slot i at slots + i * stride */
    uint64_t mask;              /* slot count - 1 */
    uint64_t limit;             /* cap * MPSC_STEP */
    uint32_t stride;            /* MPSC_HDR + elem, rounded up to 16 */
    uint32_t elem;              /* message bytes */
    uint32_t cap;               /* messages queued at most */
};

/* Slot storage for cap (1..MPSC_CAP_MAX) messages of elem bytes. */
static inline size_t mpsc_ring_bytes(uint32_t cap, uint32_t elem)
{
    return (size_t)ring_slots_for(cap) * ((MPSC_HDR + elem + 15) & ~15u);
}

/* mem: mpsc_ring_bytes(cap, elem) bytes, 16-byte aligned. */
static inline void mpsc_ring_init(struct mpsc_ring *r, void *mem, uint32_t cap, uint32_t elem)
{
    uint32_t slots = ring_slots_for(cap);
    r->slots = mem;
    r->mask = slots - 1;
    r->limit = (uint64_t)cap * MPSC_STEP;
    r->stride = (MPSC_HDR + elem + 15) & ~15u;
    r->elem = elem;
    r->cap = cap;
    for (uint32_t i = 0; i < slots; i++)   /* position i's message would be i * STEP + STEP */
        atomic_init((_Atomic uint64_t *)(r->slots + (size_t)i * r->stride), 0);
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
}

static inline uint8_t *mpsc_slot(const struct mpsc_ring *r, uint64_t pos)
{
    return r->slots + ((pos / MPSC_STEP) & r->mask) * r->stride;
}

static inline _Atomic uint64_t *mpsc_seq(uint8_t *slot) { return (_Atomic uint64_t *)slot; }

/* Queue msg (elem bytes) with word: MPSC_OK, MPSC_FULL (cap messages are
 * claimed and not yet read) or MPSC_SHUT (closed). */
static inline enum mpsc_push mpsc_try_push(struct mpsc_ring *r, uint64_t word, const void *msg)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t limit = r->limit;
    for (;;) {
        if (__builtin_expect(t & MPSC_CLOSED, 0))
            return MPSC_SHUT;
        uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
        if (__builtin_expect(t - h >= limit, 0))
            return MPSC_FULL;
        /* seq_cst: mpsc_look tells "nothing claimed" from tail alone. */
        if (__builtin_expect(atomic_compare_exchange_weak_explicit(&r->tail, &t, t + MPSC_STEP,
                                                                   memory_order_seq_cst,
                                                                   memory_order_relaxed), 1))
            break;
    }
    uint8_t *s = mpsc_slot(r, t);
    *(uint64_t *)(s + 8) = word;
    ring_copy(s + MPSC_HDR, msg, r->elem);
    atomic_store_explicit(mpsc_seq(s), t + MPSC_STEP, memory_order_seq_cst);
    return MPSC_OK;
}

/* Consumer only: take the message at the head into out (elem bytes) and
 * its word; false if none is published there (empty, or being written). */
static inline bool mpsc_try_pop(struct mpsc_ring *r, uint64_t *word, void *out)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint8_t *s = mpsc_slot(r, h);
    if (atomic_load_explicit(mpsc_seq(s), memory_order_acquire) != h + MPSC_STEP)
        return false;
    *word = *(uint64_t *)(s + 8);
    ring_copy(out, s + MPSC_HDR, r->elem);
    atomic_store_explicit(&r->head, h + MPSC_STEP, memory_order_seq_cst);
    return true;
}

enum mpsc_look { MPSC_READY, MPSC_EMPTY, MPSC_ENDED };

/* Consumer only, seq_cst (after storing its asleep flag): what a reader
 * about to sleep finds: a message published at the head (MPSC_READY), none
 * yet (MPSC_EMPTY: it may sleep), or the ring closed and drained
 * (MPSC_ENDED). "Nothing claimed" is told from tail alone, without the
 * head slot: every claim is a seq_cst read-modify-write of tail, so a
 * claim this load misses comes after it in the seq_cst order, and so does
 * its producer's load of the flag, which then sees the reader. A claimed,
 * unpublished message is MPSC_EMPTY: its publish and flag load follow. */
static inline enum mpsc_look mpsc_look(struct mpsc_ring *r)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t t = atomic_load(&r->tail);
    if (__builtin_expect(t == h, 1))   /* open, nothing claimed: the sleeping reader's case */
        return MPSC_EMPTY;
    if (t == (h | MPSC_CLOSED))        /* h is a multiple of MPSC_STEP */
        return MPSC_ENDED;
    return atomic_load(mpsc_seq(mpsc_slot(r, h))) == h + MPSC_STEP ? MPSC_READY : MPSC_EMPTY;
}

/* seq_cst (after a waiting sender stored its flag): would a push find room
 * (or the ring closed: it would not wait either)? */
static inline bool mpsc_can_push(struct mpsc_ring *r)
{
    uint64_t t = atomic_load(&r->tail);
    return (t & MPSC_CLOSED) || t - atomic_load(&r->head) < r->limit;
}

/* Later pushes return MPSC_SHUT; false if it was closed already. */
static inline bool mpsc_close(struct mpsc_ring *r)
{
    return !(atomic_fetch_or(&r->tail, MPSC_CLOSED) & MPSC_CLOSED);
}

static inline bool mpsc_closed(struct mpsc_ring *r)
{
    return atomic_load(&r->tail) & MPSC_CLOSED;
}

/* Positions claimed and not yet read (queued or being written). */
static inline uint32_t mpsc_count(struct mpsc_ring *r)
{
    uint64_t h = atomic_load(&r->head);
    uint64_t t = atomic_load(&r->tail) & ~(uint64_t)MPSC_CLOSED;
    return (uint32_t)((t - h) / MPSC_STEP);
}

#endif
