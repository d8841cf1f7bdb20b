/* Ring index maths, the SPSC ring, and select fairness (pure policy). */
#include <stdint.h>
#include <stdlib.h>
#include <sr/ring.h>
#include <sr/sel_pick.h>
#include <sr_test.h>

TEST(ring, slots_cover_any_capacity)
{
    EXPECT_EQ(ring_slots_for(0), 0);
    EXPECT_EQ(ring_slots_for(1), 1);
    EXPECT_EQ(ring_slots_for(3), 4);
    EXPECT_EQ(ring_slots_for(4), 4);
    EXPECT_EQ(ring_slots_for(1000), 1024);
    EXPECT_EQ(ring_slots_for((1u << 30) + 1), 0);
}

/* A capacity-5 SPSC ring over 8 slots, driven across the 32-bit wrap: FIFO
 * and the full/empty checks hold exactly. */
TEST(ring, spsc_fifo_and_bounds_across_the_counter_wrap)
{
    uint32_t slots = ring_slots_for(5);
    uint64_t *mem = calloc(slots, sizeof(uint64_t));
    const uint32_t start = UINT32_MAX - 20;
    struct spsc_ring r = {.tail = start, .limit = start, .head = start,
                          .cap = 5, .mask = slots - 1, .elem = 8, .slots = (uint8_t *)mem};
    uint64_t next_in = 0, next_out = 0, seed = 1;
    for (int step = 0; step < 10000; step++) {
        seed = seed * 6364136223846793005ull + 1;
        if ((seed >> 40) & 1) {
            if (spsc_push(&r, &next_in))
                next_in++;
            else
                EXPECT_EQ(spsc_count(&r), 5);
        } else {
            uint64_t v;
            if (spsc_pop(&r, &v)) {
                EXPECT_EQ(v, next_out);
                next_out++;
            } else {
                EXPECT_EQ(spsc_count(&r), 0);
            }
        }
        EXPECT_EQ(spsc_count(&r), next_in - next_out);
        EXPECT_LE(spsc_count(&r), 5);
    }
    EXPECT_GT(next_out, 1000);
    free(mem);
}

TEST(ring, spsc_full_empty_and_order)
{
    uint32_t slots = ring_slots_for(3);
    uint8_t mem[4 * 32];
    struct spsc_ring r = {.cap = 3, .mask = slots - 1, .elem = 32, .slots = mem};
    uint8_t msg[32], out[32];
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 3; i++) {
            msg[0] = (uint8_t)(round * 3 + i);
            msg[31] = (uint8_t)~msg[0];
            EXPECT_TRUE(spsc_push(&r, msg));
        }
        EXPECT_TRUE(!spsc_push(&r, msg));
        EXPECT_EQ(spsc_count(&r), 3);
        for (int i = 0; i < 3; i++) {
            EXPECT_TRUE(spsc_pop(&r, out));
            EXPECT_EQ(out[0], (uint8_t)(round * 3 + i));
            EXPECT_EQ(out[31], (uint8_t)~out[0]);
        }
        EXPECT_TRUE(!spsc_pop(&r, out));
    }
}

TEST(sel_pick, rotating_priority_takes_always_ready_cases_in_turn)
{
    unsigned start = 0, taken[5] = {0};
    for (int i = 0; i < 500; i++) {
        int w = sel_pick(0x1f, 5, start);
        EXPECT_EQ(w, i % 5);
        taken[w]++;
        start = sel_next_start(w, 5);
    }
    for (int i = 0; i < 5; i++)
        EXPECT_EQ(taken[i], 100);
}

TEST(sel_pick, a_ready_case_waits_at_most_n_minus_1_selections)
{
    /* Case 3 stays ready; the others flicker pseudo-randomly. */
    unsigned start = 0, n = 8, since = 0, worst = 0;
    uint64_t seed = 7;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t ready = (uint32_t)(seed >> 32) & 0xff;
        ready |= 1u << 3;
        int w = sel_pick(ready, n, start);
        EXPECT_TRUE(w >= 0 && (ready & (1u << w)));
        if (w == 3) {
            if (since > worst)
                worst = since;
            since = 0;
        } else {
            since++;
        }
        start = sel_next_start(w, n);
    }
    EXPECT_LE(worst, n - 1);
    EXPECT_EQ(sel_pick(0, 8, 3), -1);
    EXPECT_EQ(sel_pick(0x81, 8, 1), 7);
    EXPECT_EQ(sel_pick(0x01, 8, 1), 0);
}

/* The producer's close (capacity and limit to 0 and its tail, as
 * chan_spsc_close does) stops every later push, with messages still queued
 * or not; the consumer drains what was queued. */
TEST(ring, spsc_limit_set_to_tail_with_cap_0_stops_pushes)
{
    uint64_t mem[4] = {0}, v = 0;
    struct spsc_ring r = {.cap = 4, .mask = 3, .elem = 8, .slots = (uint8_t *)mem};
    for (uint64_t i = 1; i <= 3; i++)
        EXPECT_TRUE(spsc_push(&r, &i));
    EXPECT_TRUE(spsc_pop(&r, &v));
    EXPECT_EQ(v, 1);
    r.cap = 0;
    r.limit = atomic_load(&r.tail);
    EXPECT_TRUE(!spsc_push(&r, &v));
    EXPECT_TRUE(spsc_pop(&r, &v));
    EXPECT_EQ(v, 2);
    EXPECT_TRUE(spsc_pop(&r, &v));
    EXPECT_EQ(v, 3);
    EXPECT_TRUE(!spsc_pop(&r, &v));
    EXPECT_TRUE(!spsc_push(&r, &v));   /* empty now: still refused */
    EXPECT_EQ(spsc_count(&r), 0);
}
