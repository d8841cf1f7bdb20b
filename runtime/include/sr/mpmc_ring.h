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
 * plus MPMC_MARK (below) while a waiter watches the slot. ("Holds p's
 * message" is the position after p, which both sides compute anyway for
 * their claim: no extra add. So that it differs from "free for p + lap", a
 * ring that holds messages has at least two slots: capacity 1 gets two and
 * is gated, see below.)
 * A producer claims p with one compare-and-swap of tail (p -> p + STEP),
 * copies, and publishes by swapping seq to p + STEP; a consumer claims on
 * head likewise and frees the slot by adding lap - STEP to seq. The CAS
 * expects a word without flags, so while any flag is set no fast operation
 * of that side can start: it takes the slow path instead.
 *
 * Flags: MPMC_WAITERS (both words: somebody waits; set and cleared by the
 * owner under its lock), MPMC_CLOSED (tail), MPMC_GATED (tail, permanent:
 * the capacity is not the slot count, so pushes check it under the lock).
 * The *_locked operations keep the flags and loop on contention: they are
 * for a caller that serialises against other slow-path callers (the
 * channel's lock), while fast operations of the other side may still run.
 *
 * Lost wake-ups. A fast operation that claimed its position before a
 * waiter set MPMC_WAITERS may still be copying when the waiter looks at
 * the ring; it is the only kind of change the waiter cannot see coming
 * (everything else goes through the owner's lock). Before it waits, the
 * waiter asks the one such operation it waits for to report: under the
 * lock, mpmc_watch_head (a receiver: a push claimed the head position but
 * has not published) or mpmc_watch_tail (a sender: a pop claimed the
 * message in the slot the tail needs but has not freed it) sets MPMC_MARK
 * in that slot's seq by compare-and-swap (mpmc_pop_or_watch and
 * mpmc_push_or_watch do the same on the way, for a waiter's own locked
 * operation). The operation's publish is a
 * read-modify-write of the same word, so exactly one of the two comes
 * first: the mark (the publish returns MPMC_DONE_MARKED and its caller runs
 * the owner's settle step under the lock) or the publish (the waiter's CAS
 * fails: the message or the room is there, it takes it instead of
 * waiting). The waiter never waits for the publish itself: whoever is
 * preempted between claim and publish delays the waiter, and the waiter
 * sleeps meanwhile. A fast operation pays one read-modify-write (instead
 * of a store) and one bit test; no second load.
 * A freeing add leaves a mark behind in "free for p + lap"; the consumer
 * that saw it takes it out again (mpmc_try_pop_hinted), and until then the
 * fast push refuses the slot and the locked operations ignore the bit.
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
#define MPMC_MARK    8u    /* in a slot's seq only: a waiter asks for a report */
#define MPMC_STEP    16u
#define MPMC_FULL    MPMC_STEP   /* seq of a slot holding p's message: p + MPMC_FULL */
/* The sequence word, padded: a message at offset 16 in its slot suits the
 * copy's paired 16-byte loads and stores (whose offsets are multiples of
 * 16: at 8 every copy would need an extra address computation). */
#define MPMC_SEQ_BYTES 16u

/* Results of the fast operations. */
enum {
    MPMC_REFUSED,      /* nothing done: full / empty, contended, a flag set, size */
    MPMC_DONE,         /* pushed / popped */
    MPMC_DONE_MARKED,  /* pushed / popped, and a waiter watched the slot: the
                          caller runs its owner's settle step */
};

struct mpmc_ring {
    _Atomic uint64_t tail __attribute__((aligned(64)));
    _Atomic uint64_t head __attribute__((aligned(64)));
    uint8_t *slots;             /* slot i at slots + i * stride */
    uint64_t pos_mask;          /* (slot count - 1) * MPMC_STEP: word & pos_mask is the
                                   slot index * MPMC_STEP; also lap - MPMC_STEP */
    uint32_t scale;             /* stride / MPMC_STEP */
    uint32_t elem;              /* message bytes */
    uint64_t lap;               /* slot count * MPMC_STEP */
    uint32_t stride;            /* MPMC_SEQ_BYTES + elem, rounded up to MPMC_STEP */
    uint32_t cap;               /* messages queued at most */
};

/* Slots for capacity cap: a power of two, at least two (see the top);
 * cap 0 (rendezvous): one, never used. */
static inline uint32_t mpmc_slots_for(uint32_t cap)
{
    return cap == 0 ? 1 : cap == 1 ? 2 : ring_slots_for(cap);
}

static inline uint32_t mpmc_stride_for(uint32_t elem)
{
    return (MPMC_SEQ_BYTES + elem + MPMC_STEP - 1) & ~(MPMC_STEP - 1);
}

/* Slot storage for cap messages of elem bytes. */
static inline size_t mpmc_ring_bytes(uint32_t cap, uint32_t elem)
{
    return (size_t)mpmc_slots_for(cap) * mpmc_stride_for(elem);
}

/* cap must satisfy ring_slots_for(cap) != 0 or be 0; mem holds
 * mpmc_ring_bytes(cap, elem) bytes, 8-byte aligned. */
static inline void mpmc_ring_init(struct mpmc_ring *r, void *mem, uint32_t cap, uint32_t elem)
{
    uint32_t slots = mpmc_slots_for(cap);
    r->slots = mem;
    r->pos_mask = (uint64_t)(slots - 1) * MPMC_STEP;
    r->lap = (uint64_t)slots * MPMC_STEP;
    r->stride = mpmc_stride_for(elem);
    r->scale = r->stride / MPMC_STEP;
    r->elem = elem;
    r->cap = cap;
    for (uint32_t i = 0; i < slots; i++)
        atomic_init((_Atomic uint64_t *)(r->slots + (size_t)i * r->stride), (uint64_t)i * MPMC_STEP);
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, cap == slots ? 0 : MPMC_GATED);
}

static inline uint8_t *mpmc_slot(const struct mpmc_ring *r, uint64_t word)
{
    return r->slots + (word & r->pos_mask) * r->scale;
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

/* A fast operation between its claim and its publish: the claimed slot and
 * the publish's operand. The steps are separate so that tests can stop in
 * between (a preempted claimer); a claim that returns false claimed
 * nothing. */
struct mpmc_claim {
    uint8_t *slot;
    uint64_t arg;
};

/* The ring's fields are read before the first acquire (which would make
 * the compiler read them again), in as few loads as the layout allows.
 * The CASes expect the slot's seq (push) or a value computed from it
 * (pop), equal to the position word on the way there but in a register of
 * its own, and success is told by comparing what the CAS returns with the
 * position word: no copy of the expected value. Release: a waiter that
 * sees the claim (through its read-modify-write of the same word) also
 * sees the seq the claimer saw (mpmc_watch_head / _tail rely on it). */
static inline __attribute__((always_inline)) bool mpmc_push_claim(struct mpmc_ring *r, size_t hint,
                                                                  struct mpmc_claim *c)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint8_t *slots = r->slots;
    uint64_t pos_mask = r->pos_mask;
    uint32_t scale = r->scale, elem = r->elem;
    uint8_t *s = slots + (t & pos_mask) * scale;
    uint64_t seq = atomic_load_explicit(mpmc_seq(s), memory_order_acquire);
    if (seq != t || !mpmc_hint_fits(elem, hint))
        return false;
    uint64_t next = t + MPMC_STEP;   /* also "holds t's message" (MPMC_FULL) */
    atomic_compare_exchange_strong_explicit(&r->tail, &seq, next, memory_order_release,
                                            memory_order_relaxed);
    if (seq != t)
        return false;
    *c = (struct mpmc_claim){s, next};
    return true;
}

static inline __attribute__((always_inline)) int mpmc_push_publish(struct mpmc_claim c)
{
    uint64_t was = atomic_exchange_explicit(mpmc_seq(c.slot), c.arg, memory_order_release);
    return was & MPMC_MARK ? MPMC_DONE_MARKED : MPMC_DONE;
}

static inline __attribute__((always_inline)) bool mpmc_pop_claim(struct mpmc_ring *r, size_t hint,
                                                                 struct mpmc_claim *c)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint8_t *slots = r->slots;
    uint64_t pos_mask = r->pos_mask;
    uint32_t scale = r->scale, elem = r->elem;
    uint8_t *s = slots + (h & pos_mask) * scale;
    uint64_t seq = atomic_load_explicit(mpmc_seq(s), memory_order_acquire);
    uint64_t expect = seq - MPMC_FULL;   /* h if seq holds h's message */
    if (expect != h || !mpmc_hint_fits(elem, hint))
        return false;
    atomic_compare_exchange_strong_explicit(&r->head, &expect, seq, memory_order_release,
                                            memory_order_relaxed);
    if (expect != h)
        return false;
    *c = (struct mpmc_claim){s, pos_mask};
    return true;
}

/* Free the slot for h + lap: h + STEP + pos_mask. A mark comes back as a
 * mark in the free seq; take it out unless somebody has moved on (a locked
 * push, which ignores it, overwrote it). */
static inline __attribute__((always_inline)) int mpmc_pop_publish(struct mpmc_claim c)
{
    uint64_t was = atomic_fetch_add_explicit(mpmc_seq(c.slot), c.arg, memory_order_release);
    if (__builtin_expect(!(was & MPMC_MARK), 1))
        return MPMC_DONE;
    uint64_t left = was + c.arg;
    atomic_compare_exchange_strong(mpmc_seq(c.slot), &left, left & ~(uint64_t)MPMC_MARK);
    return MPMC_DONE_MARKED;
}

/* Fast push: MPMC_REFUSED (full, contended, a flag is set, or hint does
 * not fit: mpmc_hint_fits), MPMC_DONE or MPMC_DONE_MARKED. */
static inline __attribute__((always_inline)) int mpmc_try_push_hinted(struct mpmc_ring *r,
                                                                      const void *msg, size_t hint)
{
    struct mpmc_claim c;
    if (!mpmc_push_claim(r, hint, &c))
        return MPMC_REFUSED;
    mpmc_copy(c.slot + MPMC_SEQ_BYTES, msg, r->elem, hint);
    return mpmc_push_publish(c);
}

static inline int mpmc_try_push(struct mpmc_ring *r, const void *msg)
{
    return mpmc_try_push_hinted(r, msg, 0);
}

/* Fast pop into out, results as mpmc_try_push_hinted's (refused: empty,
 * contended, a flag is set, or hint does not fit). */
static inline __attribute__((always_inline)) int mpmc_try_pop_hinted(struct mpmc_ring *r, void *out,
                                                                     size_t hint)
{
    struct mpmc_claim c;
    if (!mpmc_pop_claim(r, hint, &c))
        return MPMC_REFUSED;
    mpmc_copy(out, c.slot + MPMC_SEQ_BYTES, r->elem, hint);
    return mpmc_pop_publish(c);
}

static inline int mpmc_try_pop(struct mpmc_ring *r, void *out) { return mpmc_try_pop_hinted(r, out, 0); }

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

/* --- for the owner's slow paths (serialised among themselves) ------------------ */

static inline uint64_t mpmc_tail_flags(struct mpmc_ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_seq_cst) & MPMC_FLAGS;
}

/* Set / clear MPMC_WAITERS on both words (seq_cst read-modify-writes),
 * unless already so: flags change only under the owner's lock, so a flag
 * seen set was set by an earlier holder, whose view of the slots the
 * caller inherits through the lock. Once they are set, only operations
 * that claimed before can still change the ring without the lock. Both
 * words' bits change together within one holder's critical section, so
 * between holders they are equal: set looks at one word. */
static inline void mpmc_set_waiters(struct mpmc_ring *r)
{
    if (atomic_load(&r->head) & MPMC_WAITERS)
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
    return (atomic_load(mpmc_seq(mpmc_slot(r, t))) & ~(uint64_t)MPMC_MARK) == t;
}

/* For a receiver about to wait, or waiting, while no message is published
 * at the head (MPMC_WAITERS set, under the owner's lock): if a fast push
 * claimed the head position and has not published it, mark its slot (see
 * the top). true: the receiver may wait (nothing claimed at the head, so
 * the next push comes through the lock; or the push will report); false:
 * it was published meanwhile, pop it. */
static inline bool mpmc_watch_head(struct mpmc_ring *r)
{
    uint64_t h = atomic_load(&r->head) & ~(uint64_t)MPMC_FLAGS;
    if ((atomic_load(&r->tail) & ~(uint64_t)MPMC_FLAGS) == h)
        return true;
    uint64_t seq = h;
    if (atomic_compare_exchange_strong(mpmc_seq(mpmc_slot(r, h)), &seq, h | MPMC_MARK))
        return true;
    return seq == (h | MPMC_MARK);   /* else h + MPMC_FULL: published */
}

/* For a sender about to wait, or waiting, while there is no room: if the
 * slot the tail needs holds a message that a fast pop has claimed and not
 * freed, mark it. true: the sender may wait (the ring holds cap messages,
 * so room comes from a pop through the lock; or the pop will report);
 * false: room appeared meanwhile, push. */
static inline bool mpmc_watch_tail(struct mpmc_ring *r)
{
    uint64_t t = atomic_load(&r->tail) & ~(uint64_t)MPMC_FLAGS;
    uint64_t h = atomic_load(&r->head) & ~(uint64_t)MPMC_FLAGS;
    if (t - h >= (uint64_t)r->cap * MPMC_STEP)
        return true;
    /* Fewer than cap <= slot count positions claimed and not popped: the
     * slot's previous position t - lap is before the head, claimed by a
     * consumer, so the slot is free or that consumer is still reading. */
    uint64_t held = t - r->lap + MPMC_FULL;
    uint64_t seq = held;
    if (atomic_compare_exchange_strong(mpmc_seq(mpmc_slot(r, t)), &seq, held | MPMC_MARK))
        return true;
    return seq == (held | MPMC_MARK);   /* else freed for t */
}

/* Push keeping the flags; false only when full (capacity or no free slot).
 * watch: for a sender about to wait, do what mpmc_watch_tail does when
 * that returns true (mark a slot that a fast pop is still reading). */
static inline __attribute__((always_inline)) bool mpmc_push_locked_(struct mpmc_ring *r, const void *msg,
                                                                   bool watch)
{
    for (;;) {
        uint64_t w = atomic_load(&r->tail);
        uint64_t t = w & ~(uint64_t)MPMC_FLAGS;
        uint64_t h = atomic_load(&r->head) & ~(uint64_t)MPMC_FLAGS;
        if (t - h >= (uint64_t)r->cap * MPMC_STEP)
            return false;
        uint8_t *s = mpmc_slot(r, t);
        uint64_t held = atomic_load(mpmc_seq(s));
        uint64_t seq = held & ~(uint64_t)MPMC_MARK;   /* a mark left by a free */
        if ((int64_t)(seq - t) < 0) {
            /* Its last message (before the head: fewer than cap claimed)
             * is still being read by a fast pop. */
            if (!watch || (held & MPMC_MARK) ||
                atomic_compare_exchange_strong(mpmc_seq(s), &held, held | MPMC_MARK))
                return false;
            continue;                           /* freed meanwhile */
        }
        if (seq != t || !atomic_compare_exchange_weak(&r->tail, &w, (t + MPMC_STEP) | (w & MPMC_FLAGS)))
            continue;                           /* another producer moved on */
        ring_copy(s + MPMC_SEQ_BYTES, msg, r->elem);
        atomic_store(mpmc_seq(s), t + MPMC_FULL);
        return true;
    }
}

static inline __attribute__((always_inline)) bool mpmc_push_locked(struct mpmc_ring *r, const void *msg)
{
    return mpmc_push_locked_(r, msg, false);
}

/* Pop keeping the flags; false only when no published message is at the
 * head (empty, or the next one is still being written). watch: for a
 * receiver about to wait, do what mpmc_watch_head does when that returns
 * true (mark the slot of a push still being written); the empty ring of a
 * receiver that parks costs nothing more. */
static inline __attribute__((always_inline)) bool mpmc_pop_locked_(struct mpmc_ring *r, void *out,
                                                                  bool watch)
{
    for (;;) {
        uint64_t w = atomic_load(&r->head);
        uint64_t h = w & ~(uint64_t)MPMC_FLAGS;
        if ((atomic_load(&r->tail) & ~(uint64_t)MPMC_FLAGS) == h)
            return false;                       /* nothing claimed: empty (the usual case
                                                   of a receiver about to wait) */
        uint8_t *s = mpmc_slot(r, h);
        uint64_t held = atomic_load(mpmc_seq(s));
        uint64_t seq = held & ~(uint64_t)MPMC_MARK;
        if ((int64_t)(seq - (h + MPMC_FULL)) < 0) {
            /* Claimed by a fast push (locked ones finish under the lock),
             * still being written. */
            if (!watch || (held & MPMC_MARK) ||
                atomic_compare_exchange_strong(mpmc_seq(s), &held, held | MPMC_MARK))
                return false;
            continue;                           /* published meanwhile */
        }
        if (seq != h + MPMC_FULL ||
            !atomic_compare_exchange_weak(&r->head, &w, (h + MPMC_STEP) | (w & MPMC_FLAGS)))
            continue;                           /* another consumer moved on */
        ring_copy(out, s + MPMC_SEQ_BYTES, r->elem);
        atomic_store(mpmc_seq(s), h + r->lap);
        return true;
    }
}

static inline __attribute__((always_inline)) bool mpmc_pop_locked(struct mpmc_ring *r, void *out)
{
    return mpmc_pop_locked_(r, out, false);
}

/* The locked operations of a receiver / sender about to wait: as
 * mpmc_pop_locked / mpmc_push_locked, and false leaves what the caller
 * waits for watched (mpmc_watch_head / _tail would return true). */
static inline __attribute__((always_inline)) bool mpmc_pop_or_watch(struct mpmc_ring *r, void *out)
{
    return mpmc_pop_locked_(r, out, true);
}

static inline __attribute__((always_inline)) bool mpmc_push_or_watch(struct mpmc_ring *r, const void *msg)
{
    return mpmc_push_locked_(r, msg, true);
}

#endif
