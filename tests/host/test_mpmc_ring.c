/*
 * The lock-free MPMC ring (sr/mpmc_ring.h): FIFO, exact capacity (power of
 * two and not), one-slot rings, flags sending fast operations away, the
 * locked operations keeping flags, and a pthread stress where every message
 * is taken exactly once and each producer's messages reach each consumer
 * in order.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sr/mpmc_ring.h>
#include <sr_test.h>
#include "mpmc_fixture.h"

struct msg32 {
    uint64_t id, seq, check, pad;
};

TEST(mpmc_ring, fifo_full_and_empty_at_a_power_of_two_capacity)
{
    struct mpmc_ring *r = ring_new(4, sizeof(struct msg32));
    struct msg32 m = {0}, out;
    for (int round = 0; round < 50; round++) {
        for (uint64_t i = 0; i < 4; i++) {
            m.seq = (uint64_t)round * 4 + i;
            EXPECT_EQ(mpmc_try_push(r, &m), MPMC_DONE);   /* nobody watched */
        }
        EXPECT_TRUE(!mpmc_try_push(r, &m));          /* full */
        EXPECT_TRUE(!mpmc_push_locked(r, &m));
        EXPECT_EQ(mpmc_count(r), 4);
        for (uint64_t i = 0; i < 4; i++) {
            EXPECT_TRUE(mpmc_try_pop(r, &out));
            EXPECT_EQ(out.seq, (uint64_t)round * 4 + i);
        }
        EXPECT_TRUE(!mpmc_try_pop(r, &out));         /* empty */
        EXPECT_TRUE(!mpmc_pop_locked(r, &out));
        EXPECT_TRUE(mpmc_drained(r));
    }
    ring_free(r);
}

/* Capacity 1 (two slots, gated: "holds p" is p + STEP, which must differ
 * from "free for p + lap") and capacity 3 (gated: pushes only through the
 * locked path, exact bound). */
TEST(mpmc_ring, one_slot_and_odd_capacities_are_exact)
{
    struct mpmc_ring *r = ring_new(1, 8);
    uint64_t v = 7, out = 0;
    EXPECT_EQ(r->pos_mask, MPMC_STEP);               /* two slots */
    EXPECT_TRUE(!mpmc_try_push(r, &v));              /* gated */
    EXPECT_TRUE(mpmc_push_locked(r, &v));
    EXPECT_TRUE(!mpmc_push_locked(r, &v));           /* exactly 1 */
    EXPECT_TRUE(!mpmc_can_push(r));
    EXPECT_TRUE(mpmc_try_pop(r, &out));
    EXPECT_EQ(out, 7);
    EXPECT_TRUE(!mpmc_try_pop(r, &out));
    for (uint64_t i = 0; i < 100; i++) {
        EXPECT_TRUE(mpmc_push_locked(r, &i));
        EXPECT_TRUE(!mpmc_push_locked(r, &v));
        EXPECT_TRUE(mpmc_try_pop(r, &out));
        EXPECT_EQ(out, i);
    }
    ring_free(r);

    r = ring_new(3, 8);
    EXPECT_TRUE(!mpmc_try_push(r, &v));              /* gated: fast pushes refused */
    for (uint64_t round = 0; round < 20; round++) {
        for (uint64_t i = 0; i < 3; i++) {
            uint64_t x = round * 3 + i;
            EXPECT_TRUE(mpmc_push_locked(r, &x));
        }
        EXPECT_TRUE(!mpmc_push_locked(r, &v));       /* exactly 3 */
        EXPECT_TRUE(!mpmc_can_push(r));
        for (uint64_t i = 0; i < 3; i++) {
            EXPECT_TRUE(mpmc_try_pop(r, &out));      /* pops stay lock-free */
            EXPECT_EQ(out, round * 3 + i);
        }
    }
    ring_free(r);

    r = ring_new(0, 8);                              /* rendezvous: never holds one */
    EXPECT_TRUE(!mpmc_try_push(r, &v));
    EXPECT_TRUE(!mpmc_push_locked(r, &v));
    EXPECT_TRUE(!mpmc_try_pop(r, &out));
    EXPECT_TRUE(!mpmc_can_pop(r));
    ring_free(r);
}

TEST(mpmc_ring, flags_send_fast_operations_away_and_locked_ones_keep_them)
{
    struct mpmc_ring *r = ring_new(8, 16);
    uint8_t m[16] = {1}, out[16];
    EXPECT_TRUE(mpmc_try_push(r, m));
    mpmc_set_waiters(r);
    EXPECT_TRUE(!mpmc_try_push(r, m));
    EXPECT_TRUE(!mpmc_try_pop(r, out));
    EXPECT_TRUE(mpmc_can_pop(r));
    EXPECT_TRUE(mpmc_push_locked(r, m));
    EXPECT_TRUE(mpmc_pop_locked(r, out));
    EXPECT_EQ(out[0], 1);
    EXPECT_TRUE(mpmc_tail_flagged(r));               /* kept by the locked operations */
    EXPECT_TRUE(mpmc_head_flagged(r));
    EXPECT_EQ(mpmc_count(r), 1);
    mpmc_clear_waiters(r);
    EXPECT_TRUE(mpmc_try_pop(r, out));
    mpmc_close(r);
    EXPECT_TRUE(mpmc_tail_flags(r) & MPMC_CLOSED);
    EXPECT_TRUE(!mpmc_try_push(r, m));
    ring_free(r);
}

/* MPMC_WAITERS is set and cleared on both words together (mpmc_set_waiters
 * looks at one word to tell it is set), around positions the fast
 * operations have moved. */
TEST(mpmc_ring, the_waiters_flag_changes_on_both_words_together)
{
    struct mpmc_ring *r = ring_new(4, 16);
    uint8_t m[16] = {3}, out[16];
    for (int i = 0; i < 5; i++) {
        EXPECT_TRUE(mpmc_try_push(r, m));
        EXPECT_TRUE(!mpmc_tail_flagged(r) && !mpmc_head_flagged(r));
        mpmc_set_waiters(r);
        EXPECT_TRUE(mpmc_tail_flagged(r) && mpmc_head_flagged(r));
        uint64_t t = atomic_load(&r->tail), h = atomic_load(&r->head);
        mpmc_set_waiters(r);                          /* set already: no change */
        EXPECT_EQ(atomic_load(&r->tail), t);
        EXPECT_EQ(atomic_load(&r->head), h);
        EXPECT_TRUE(!mpmc_try_pop(r, out));
        mpmc_clear_waiters(r);
        EXPECT_TRUE(!mpmc_tail_flagged(r) && !mpmc_head_flagged(r));
        EXPECT_TRUE(mpmc_try_pop(r, out));
        EXPECT_EQ(out[0], 3);
        EXPECT_EQ(mpmc_count(r), 0);
    }
    ring_free(r);
}

/* --- threads ---------------------------------------------------------------- */

enum { PRODUCERS = 4, CONSUMERS = 4, PER_PRODUCER = 100000, SEEN_BYTES = PRODUCERS * PER_PRODUCER };

struct stress {
    struct mpmc_ring *r;
    pthread_mutex_t lock;           /* serialises the locked operations, as the channel's lock */
    _Atomic uint8_t *seen;
    _Atomic int producers_left;
    _Atomic uint64_t bad;
};

struct worker {
    struct stress *s;
    uint64_t id, taken;
};

static void *producer(void *arg)
{
    struct worker *w = arg;
    for (uint64_t i = 0; i < PER_PRODUCER; i++) {
        struct msg32 m = {.id = w->id, .seq = i, .check = w->id * 1000003u ^ i};
        /* Mostly fast pushes; every 16th through the locked path, which
         * runs concurrently with the other threads' fast operations. */
        if (i % 16 == 15) {
            bool done = false;
            while (!done) {
                pthread_mutex_lock(&w->s->lock);
                done = mpmc_push_locked(w->s->r, &m);
                pthread_mutex_unlock(&w->s->lock);
            }
        } else {
            while (!mpmc_try_push(w->s->r, &m))
                ;
        }
    }
    atomic_fetch_sub(&w->s->producers_left, 1);
    return NULL;
}

static void *consumer(void *arg)
{
    struct worker *w = arg;
    uint64_t last[PRODUCERS], idle = 0;
    memset(last, 0xff, sizeof(last));
    struct msg32 m;
    for (uint64_t k = 0;; k++) {
        bool got;
        if (k % 16 == 7) {
            pthread_mutex_lock(&w->s->lock);
            got = mpmc_pop_locked(w->s->r, &m);
            pthread_mutex_unlock(&w->s->lock);
        } else {
            got = mpmc_try_pop(w->s->r, &m);
        }
        if (!got) {
            /* Done when drained; a ring that never drains (a lost or stuck
             * position) ends the wait after 10^7 empty polls, failing below. */
            if (atomic_load(&w->s->producers_left) == 0 &&
                (mpmc_drained(w->s->r) || ++idle > 10000000))
                break;
            continue;
        }
        idle = 0;
        if (m.id >= PRODUCERS || m.seq >= PER_PRODUCER || m.check != (m.id * 1000003u ^ m.seq) ||
            (last[m.id] != UINT64_MAX && m.seq <= last[m.id])) {
            atomic_fetch_add(&w->s->bad, 1);
            continue;
        }
        last[m.id] = m.seq;
        atomic_fetch_add(&w->s->seen[m.id * PER_PRODUCER + m.seq], 1);
        w->taken++;
    }
    return NULL;
}

/* Four producers and four consumers through a 16-slot ring, fast and
 * locked operations mixed: every message
 * taken exactly once, per-producer order kept at every consumer, nothing
 * left. */
TEST(mpmc_ring, threads_take_every_message_exactly_once_in_order)
{
    struct stress s = {.r = ring_new(16, sizeof(struct msg32)), .producers_left = PRODUCERS,
                       .lock = PTHREAD_MUTEX_INITIALIZER};
    s.seen = calloc(SEEN_BYTES, 1);
    pthread_t th[PRODUCERS + CONSUMERS];
    struct worker w[PRODUCERS + CONSUMERS];
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++) {
        w[i] = (struct worker){.s = &s, .id = (uint64_t)(i < PRODUCERS ? i : i - PRODUCERS)};
        pthread_create(&th[i], NULL, i < PRODUCERS ? producer : consumer, &w[i]);
    }
    uint64_t taken = 0;
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++) {
        pthread_join(th[i], NULL);
        if (i >= PRODUCERS)
            taken += w[i].taken;
    }
    EXPECT_EQ(atomic_load(&s.bad), 0);
    EXPECT_EQ(taken, (uint64_t)PRODUCERS * PER_PRODUCER);
    int wrong = 0;
    for (int i = 0; i < SEEN_BYTES; i++)
        wrong += atomic_load(&s.seen[i]) != 1;
    EXPECT_EQ(wrong, 0);
    EXPECT_TRUE(mpmc_drained(s.r));
    free((void *)s.seen);
    ring_free(s.r);
}

/* Size hints (RING_SIZE_HINT, the typed chan_try_send/recv): a hint equal
 * to the element size copies that fixed size; the MPMC fast operations
 * refuse any other hint (nothing claimed: the channel's slow path, whose
 * locked operations copy exactly the element size, takes over); the SPSC
 * ring copies exactly the element size, never the hinted one. */
TEST(mpmc_ring, size_hints_copy_exactly_the_element_size)
{
    struct msg32 m = {1, 2, 3, 4}, out;
    const void *untyped = &m;
    EXPECT_EQ(RING_SIZE_HINT(&m), sizeof(struct msg32));
    EXPECT_EQ(RING_SIZE_HINT(untyped), 0);

    struct mpmc_ring *r = ring_new(4, sizeof(struct msg32));
    EXPECT_TRUE(mpmc_try_push_hinted(r, &m, RING_SIZE_HINT(&m)));
    memset(&out, 0xaa, sizeof(out));
    EXPECT_TRUE(mpmc_try_pop_hinted(r, &out, RING_SIZE_HINT(&out)));
    EXPECT_TRUE(memcmp(&out, &m, sizeof(m)) == 0);
    ring_free(r);

    /* A 24-byte ring fed through 32-byte pointers: the fast operations
     * refuse and claim nothing; the locked ones move 24 bytes, the
     * receiver's last 8 bytes stay untouched. */
    r = ring_new(4, 24);
    EXPECT_TRUE(!mpmc_try_push_hinted(r, &m, RING_SIZE_HINT(&m)));
    EXPECT_EQ(mpmc_count(r), 0);
    EXPECT_TRUE(mpmc_push_locked(r, &m));
    memset(&out, 0xaa, sizeof(out));
    EXPECT_TRUE(!mpmc_try_pop_hinted(r, &out, RING_SIZE_HINT(&out)));
    EXPECT_EQ(mpmc_count(r), 1);
    EXPECT_EQ(out.pad, 0xaaaaaaaaaaaaaaaaull);
    EXPECT_TRUE(mpmc_pop_locked(r, &out));
    EXPECT_EQ(out.id, 1);
    EXPECT_EQ(out.seq, 2);
    EXPECT_EQ(out.check, 3);
    EXPECT_EQ(out.pad, 0xaaaaaaaaaaaaaaaaull);
    ring_free(r);

    struct spsc_ring s = {.cap = 2, .mask = 1, .elem = 24, .slots = calloc(2, 24)};
    EXPECT_TRUE(spsc_push_hinted(&s, &m, RING_SIZE_HINT(&m)));
    memset(&out, 0xaa, sizeof(out));
    EXPECT_TRUE(spsc_pop_hinted(&s, &out, RING_SIZE_HINT(&out)));
    EXPECT_EQ(out.check, 3);
    EXPECT_EQ(out.pad, 0xaaaaaaaaaaaaaaaaull);
    free(s.slots);
}
