/*
 * The state word of a channel's receive record (struct chan_rx_record,
 * sr/chan.h): who may hand a message to the one receiver parked in it, and
 * how. Pure C11 atomics, built into the image and the host tests; the
 * channel (runtime/chan.c) adds what it guards.
 *
 *   CHAN_RX_FREE          nobody parked
 *   t                     task t parked without the channel's lock (its
 *                         buffer is t's wait_arg); t is BLOCKED already
 *   t | CHAN_RX_LINKED    the record on the channel's receive list for t:
 *                         only holders of the lock change it
 *
 * Transitions and who makes them:
 *   FREE -> t             chan_rx_publish, by t itself (seq_cst), which then
 *                         reads the lock word: held, it withdraws or, if it
 *                         cannot, blocks (it was taken or adopted)
 *   t -> FREE             chan_rx_withdraw (t, that found the lock held or
 *                         the channel not empty) or chan_rx_take (a sender,
 *                         without the lock; it then owns the hand-over)
 *   t -> t | LINKED       chan_rx_adopt, by whoever takes the lock, first
 *                         (a seq_cst fence, then the word): with the
 *                         publisher's store then load, one of the two sees
 *                         the other, so no lock holder misses a parked
 *                         receiver that stays parked
 *   FREE -> t | LINKED    chan_rx_link_locked (t parking under the lock)
 *   t | LINKED -> FREE    chan_rx_free_locked (a taker under the lock, or
 *                         t freeing the record after a claim)
 * Every transition out of t is one compare-and-swap expecting t, so exactly
 * one of take, withdraw and adopt wins a park. t cannot publish again
 * before its wait ends, so a compare-and-swap that expects t and succeeds
 * acts on the park now in the word; what it needs of that park (the buffer)
 * it reads after.
 */
#ifndef SR_CHAN_RX_H
#define SR_CHAN_RX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum { CHAN_RX_FREE = 0, CHAN_RX_LINKED = 1 };

/* w names a task parked without the lock (task pointers are even). */
static inline bool chan_rx_parked(uintptr_t w) { return w && !(w & CHAN_RX_LINKED); }

static inline bool chan_rx_publish(_Atomic uintptr_t *word, uintptr_t t)
{
    uintptr_t w = CHAN_RX_FREE;
    return atomic_compare_exchange_strong_explicit(word, &w, t, memory_order_seq_cst,
                                                   memory_order_relaxed);
}

static inline bool chan_rx_withdraw(_Atomic uintptr_t *word, uintptr_t t)
{
    return atomic_compare_exchange_strong_explicit(word, &t, CHAN_RX_FREE, memory_order_relaxed,
                                                   memory_order_relaxed);
}

/* A sender that saw seen (chan_rx_parked) takes it: true if it won the park
 * (acquire: the parker's buffer and BLOCKED state are visible). */
static inline bool chan_rx_take(_Atomic uintptr_t *word, uintptr_t seen)
{
    return atomic_compare_exchange_strong_explicit(word, &seen, CHAN_RX_FREE,
                                                   memory_order_acquire, memory_order_relaxed);
}

/* Right after taking the lock: the word as adoption reads it (the fence,
 * then the word). A caller that only tests chan_rx_parked on it must
 * adopt (below) before anything else under the lock when it is. */
static inline uintptr_t chan_rx_peek(_Atomic uintptr_t *word)
{
    atomic_thread_fence(memory_order_seq_cst);
    return atomic_load_explicit(word, memory_order_relaxed);
}

/* Right after taking the lock: the task adopted (now t | LINKED), or 0. */
static inline uintptr_t chan_rx_adopt(_Atomic uintptr_t *word)
{
    uintptr_t w = chan_rx_peek(word);
    while (__builtin_expect(chan_rx_parked(w), 0))
        if (atomic_compare_exchange_weak_explicit(word, &w, w | CHAN_RX_LINKED,
                                                  memory_order_acquire, memory_order_relaxed))
            return w;
    return 0;
}

static inline bool chan_rx_link_locked(_Atomic uintptr_t *word, uintptr_t t)
{
    uintptr_t w = CHAN_RX_FREE;
    return atomic_compare_exchange_strong_explicit(word, &w, t | CHAN_RX_LINKED,
                                                   memory_order_relaxed, memory_order_relaxed);
}

static inline void chan_rx_free_locked(_Atomic uintptr_t *word)
{
    atomic_store_explicit(word, CHAN_RX_FREE, memory_order_relaxed);
}

#endif
