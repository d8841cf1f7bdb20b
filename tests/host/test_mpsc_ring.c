/*
 * The lock-free MPSC ring (sr/mpsc_ring.h): FIFO with each message's word,
 * exact capacities (one, odd, power of two) over many laps, close (no
 * push after it, what was queued still read, MPSC_ENDED once drained),
 * the room and message checks the mailbox's sleepers use, and a pthread
 * stress where every message arrives exactly once and each producer's
 * messages arrive in order.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sr/mpsc_ring.h>
#include <sr_test.h>

struct msg32 {
    uint64_t id, seq, check, pad;
};

static struct mpsc_ring *ring_new(uint32_t cap, uint32_t elem)
{
    struct mpsc_ring *r = aligned_alloc(64, sizeof(*r));
    void *mem = aligned_alloc(64, (mpsc_ring_bytes(cap, elem) + 63) & ~(size_t)63);
    mpsc_ring_init(r, mem, cap, elem);
    return r;
}

static void ring_free(struct mpsc_ring *r)
{
    free(r->slots);
    free(r);
}

TEST(mpsc_ring, capacities_are_exact_over_many_laps_and_words_travel)
{
    static const uint32_t caps[] = {1, 2, 3, 4, 5, 7, 8, 100};
    for (unsigned c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
        uint32_t cap = caps[c];
        struct mpsc_ring *r = ring_new(cap, sizeof(struct msg32));
        struct msg32 m = {0}, out;
        uint64_t word = 0, next = 0;
        for (uint32_t round = 0; round < 40; round++) {
            for (uint32_t i = 0; i < cap; i++) {
                m.seq = next + i;
                EXPECT_EQ(mpsc_try_push(r, 1000 + next + i, &m), MPSC_OK);
            }
            EXPECT_EQ(mpsc_try_push(r, 0, &m), MPSC_FULL);   /* exactly cap */
            EXPECT_TRUE(!mpsc_can_push(r));
            EXPECT_EQ(mpsc_count(r), cap);
            /* Take one, room for exactly one more. */
            EXPECT_TRUE(mpsc_try_pop(r, &word, &out));
            EXPECT_EQ(out.seq, next);
            EXPECT_EQ(word, 1000 + next);
            EXPECT_TRUE(mpsc_can_push(r));
            m.seq = next + cap;
            EXPECT_EQ(mpsc_try_push(r, 1000 + next + cap, &m), MPSC_OK);
            EXPECT_EQ(mpsc_try_push(r, 0, &m), MPSC_FULL);
            for (uint32_t i = 1; i <= cap; i++) {
                EXPECT_EQ(mpsc_look(r), MPSC_READY);
                EXPECT_TRUE(mpsc_try_pop(r, &word, &out));
                EXPECT_EQ(out.seq, next + i);
                EXPECT_EQ(word, 1000 + next + i);
            }
            EXPECT_TRUE(mpsc_look(r) != MPSC_READY);
            EXPECT_TRUE(!mpsc_try_pop(r, &word, &out));     /* empty */
            EXPECT_EQ(mpsc_count(r), 0);
            next += cap + 1;
        }
        ring_free(r);
    }
}

TEST(mpsc_ring, odd_message_sizes_copy_exactly_their_bytes)
{
    struct mpsc_ring *r = ring_new(3, 13);
    uint8_t in[13], out[16];
    uint64_t word;
    for (int i = 0; i < 13; i++)
        in[i] = (uint8_t)(i + 1);
    memset(out, 0xee, sizeof(out));
    EXPECT_EQ(mpsc_try_push(r, 5, in), MPSC_OK);
    EXPECT_TRUE(mpsc_try_pop(r, &word, out));
    EXPECT_EQ(memcmp(in, out, 13), 0);
    EXPECT_EQ(out[13], 0xee);                               /* nothing beyond */
    EXPECT_EQ(word, 5);
    ring_free(r);
}

TEST(mpsc_ring, close_refuses_pushes_and_keeps_what_was_queued)
{
    struct mpsc_ring *r = ring_new(4, 8);
    uint64_t v = 1, out, word;
    EXPECT_EQ(mpsc_try_push(r, 10, &v), MPSC_OK);
    v = 2;
    EXPECT_EQ(mpsc_try_push(r, 20, &v), MPSC_OK);
    EXPECT_TRUE(!mpsc_closed(r));
    EXPECT_TRUE(mpsc_close(r));
    EXPECT_TRUE(!mpsc_close(r));                            /* twice: already */
    EXPECT_TRUE(mpsc_closed(r));
    EXPECT_EQ(mpsc_try_push(r, 30, &v), MPSC_SHUT);
    EXPECT_TRUE(mpsc_can_push(r));                          /* a sender would not wait */
    EXPECT_EQ(mpsc_count(r), 2);
    EXPECT_TRUE(mpsc_look(r) != MPSC_ENDED);
    EXPECT_TRUE(mpsc_try_pop(r, &word, &out));
    EXPECT_EQ(out, 1);
    EXPECT_EQ(word, 10);
    EXPECT_TRUE(mpsc_try_pop(r, &word, &out));
    EXPECT_EQ(out, 2);
    EXPECT_EQ(word, 20);
    EXPECT_TRUE(!mpsc_try_pop(r, &word, &out));
    EXPECT_EQ(mpsc_look(r), MPSC_ENDED);
    ring_free(r);
}

/* A claimed but unpublished position: the reader sees no message (and
 * must not think the ring finished) until it is published. */
TEST(mpsc_ring, a_claimed_slot_is_not_read_before_it_is_published)
{
    struct mpsc_ring *r = ring_new(2, 8);
    uint64_t v = 9, out, word;
    atomic_store(&r->tail, MPSC_STEP);                      /* a producer claimed position 0 */
    EXPECT_TRUE(mpsc_look(r) != MPSC_READY);
    EXPECT_TRUE(!mpsc_try_pop(r, &word, &out));
    EXPECT_EQ(mpsc_count(r), 1);
    mpsc_close(r);
    EXPECT_TRUE(mpsc_look(r) != MPSC_ENDED);                         /* it will still arrive */
    uint8_t *s = mpsc_slot(r, 0);                           /* ...and now it does */
    *(uint64_t *)(s + 8) = 4;
    memcpy(s + MPSC_HDR, &v, 8);
    atomic_store(mpsc_seq(s), MPSC_STEP);
    EXPECT_TRUE(mpsc_try_pop(r, &word, &out));
    EXPECT_EQ(out, 9);
    EXPECT_EQ(word, 4);
    EXPECT_EQ(mpsc_look(r), MPSC_ENDED);
    ring_free(r);
}

/* --- threads ---------------------------------------------------------------- */

enum { PRODUCERS = 4, PER_PRODUCER = 100000 };

struct stress {
    struct mpsc_ring *r;
    _Atomic uint64_t full_seen;
};

struct producer {
    struct stress *st;
    uint64_t id;
};

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    struct msg32 m = {.id = p->id};
    for (uint64_t i = 0; i < PER_PRODUCER; i++) {
        m.seq = i;
        m.check = p->id * 1000003 + i;
        enum mpsc_push r;
        while ((r = mpsc_try_push(p->st->r, p->id << 32 | i, &m)) == MPSC_FULL)
            atomic_fetch_add(&p->st->full_seen, 1);
        if (r != MPSC_OK)
            return (void *)1;
    }
    return NULL;
}

TEST(mpsc_ring, producers_on_threads_deliver_every_message_once_in_order)
{
    struct stress st = {.r = ring_new(5, sizeof(struct msg32))};
    struct producer p[PRODUCERS];
    pthread_t th[PRODUCERS];
    for (uint64_t i = 0; i < PRODUCERS; i++) {
        p[i] = (struct producer){.st = &st, .id = i};
        pthread_create(&th[i], NULL, producer_main, &p[i]);
    }
    uint64_t next[PRODUCERS] = {0}, bad = 0, got = 0;
    while (got < (uint64_t)PRODUCERS * PER_PRODUCER) {
        struct msg32 m;
        uint64_t word;
        if (!mpsc_try_pop(st.r, &word, &m))
            continue;
        got++;
        if (m.id >= PRODUCERS || m.seq != next[m.id] || m.check != m.id * 1000003 + m.seq ||
            word != (m.id << 32 | m.seq))
            bad++;
        else
            next[m.id]++;
    }
    for (int i = 0; i < PRODUCERS; i++)
        EXPECT_TRUE(pthread_join(th[i], NULL) == 0);
    EXPECT_EQ(bad, 0);
    for (int i = 0; i < PRODUCERS; i++)
        EXPECT_EQ(next[i], PER_PRODUCER);
    struct msg32 m;
    uint64_t word;
    EXPECT_TRUE(!mpsc_try_pop(st.r, &word, &m));
    EXPECT_EQ(mpsc_count(st.r), 0);
    ring_free(st.r);
}

/* What a reader about to sleep finds (mpsc_look): nothing claimed, a
 * claimed but unpublished message (it may sleep: the publish follows), a
 * published one, and the closed ring before and after it is drained. */
TEST(mpsc_ring, look_tells_empty_claimed_published_and_ended_apart)
{
    struct mpsc_ring *r = ring_new(2, 8);
    uint64_t v = 5, out, word;
    for (int lap = 0; lap < 5; lap++) {                     /* head on later laps too */
        EXPECT_EQ(mpsc_look(r), MPSC_EMPTY);
        EXPECT_EQ(mpsc_try_push(r, 1, &v), MPSC_OK);
        EXPECT_EQ(mpsc_look(r), MPSC_READY);
        EXPECT_TRUE(mpsc_try_pop(r, &word, &out));
    }
    uint64_t t = atomic_load(&r->tail);
    atomic_store(&r->tail, t + MPSC_STEP);                  /* a producer claimed, not yet published */
    EXPECT_EQ(mpsc_look(r), MPSC_EMPTY);
    mpsc_close(r);
    EXPECT_EQ(mpsc_look(r), MPSC_EMPTY);                    /* closed, but it will still arrive */
    uint8_t *s = mpsc_slot(r, t);
    memcpy(s + MPSC_HDR, &v, 8);
    atomic_store(mpsc_seq(s), t + MPSC_STEP);
    EXPECT_EQ(mpsc_look(r), MPSC_READY);
    EXPECT_TRUE(mpsc_try_pop(r, &word, &out));
    EXPECT_EQ(mpsc_look(r), MPSC_ENDED);
    ring_free(r);
}
