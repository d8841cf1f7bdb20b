/*
 * kernel/io/ioq.c: bounded queue (full says -EAGAIN, nothing lost), QoS
 * order, the low-class slot limit, aging, removal, plugging, and a seeded
 * random walk against a simple model of the invariants.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kernel/ioq.h>

#include "host_test.h"

TEST(ioq, full_queue_refuses_and_keeps_everything)
{
    struct ioq q;
    struct ioq_entry e[5] = {0};
    ioq_init(&q, 1, 4);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(ioq_push(&q, &e[i], 2), 0);
    EXPECT_EQ(ioq_push(&q, &e[4], 0), -EAGAIN);
    EXPECT_EQ(e[4].state, IOQ_IDLE);
    EXPECT_EQ(q.full_count, 1);
    EXPECT_EQ(ioq_waiting(&q), 4);
    /* Depth 1: one at a time, FIFO. */
    for (int i = 0; i < 4; i++) {
        struct ioq_entry *x = ioq_pop_ready(&q);
        EXPECT_TRUE(x == &e[i]);
        EXPECT_TRUE(ioq_pop_ready(&q) == NULL);
        EXPECT_EQ(x->state, IOQ_ACTIVE);
        EXPECT_EQ(x->dispatch_seq, (uint64_t)i + 1);
        ioq_finish(&q, x);
        EXPECT_EQ(x->state, IOQ_IDLE);
    }
    EXPECT_EQ(ioq_active(&q), 0);
    EXPECT_TRUE(ioq_pop_ready(&q) == NULL);
}

TEST(ioq, bad_pushes)
{
    struct ioq q;
    struct ioq_entry e = {0};
    ioq_init(&q, 2, 2);
    EXPECT_EQ(ioq_push(&q, &e, IOQ_CLASSES), -EINVAL);
    EXPECT_EQ(ioq_push(&q, &e, 1), 0);
    EXPECT_EQ(ioq_push(&q, &e, 1), -EINVAL);   /* already queued */
    EXPECT_EQ(ioq_waiting(&q), 1);
}

TEST(ioq, higher_class_first_when_device_full)
{
    struct ioq q;
    struct ioq_entry bg[4] = {0}, ui[2] = {0};
    ioq_init(&q, 1, 16);
    ioq_plug(&q);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(ioq_push(&q, &bg[i], 4), 0);
    for (int i = 0; i < 2; i++)
        EXPECT_EQ(ioq_push(&q, &ui[i], 0), 0);
    EXPECT_TRUE(ioq_pop_ready(&q) == NULL);    /* plugged */
    ioq_unplug(&q);
    struct ioq_entry *order[6];
    for (int i = 0; i < 6; i++) {
        order[i] = ioq_pop_ready(&q);
        EXPECT_TRUE(order[i] != NULL);
        if (order[i])
            ioq_finish(&q, order[i]);
    }
    EXPECT_TRUE(order[0] == &ui[0] && order[1] == &ui[1]);
    for (int i = 0; i < 4; i++)
        EXPECT_TRUE(order[2 + i] == &bg[i]);
}

TEST(ioq, low_classes_leave_reserved_slots)
{
    struct ioq q;
    struct ioq_entry bg[8] = {0}, ui = {0};
    ioq_init(&q, 8, 16);   /* reserve 2: background may hold 6 */
    for (int i = 0; i < 8; i++)
        ioq_push(&q, &bg[i], 4);
    int started = 0;
    while (ioq_pop_ready(&q))
        started++;
    EXPECT_EQ(started, 6);
    EXPECT_EQ(ioq_push(&q, &ui, 0), 0);
    EXPECT_TRUE(ioq_pop_ready(&q) == &ui);   /* no completion needed */
    EXPECT_TRUE(ioq_pop_ready(&q) == NULL);  /* bg stays at 6 */
    ioq_finish(&q, &bg[0]);
    EXPECT_TRUE(ioq_pop_ready(&q) == &bg[6]);
}

TEST(ioq, aging_bounds_how_long_background_waits)
{
    struct ioq q;
    enum { NUI = 40 };
    struct ioq_entry bg = {0}, ui[NUI] = {0};
    ioq_init(&q, 1, 64);
    EXPECT_EQ(ioq_push(&q, &bg, 4), 0);
    for (int i = 0; i < NUI; i++)
        ioq_push(&q, &ui[i], 0);
    int pos = -1;
    for (int i = 0; i < NUI + 1; i++) {
        struct ioq_entry *x = ioq_pop_ready(&q);
        if (x == &bg)
            pos = i;
        ioq_finish(&q, x);
    }
    /* IOQ_AGE_LIMIT UI dispatches bypass it, then it goes. */
    EXPECT_EQ(pos, IOQ_AGE_LIMIT);
    EXPECT_EQ(q.aged_count, 1);
}

TEST(ioq, start_now_only_when_nothing_waits)
{
    struct ioq q;
    struct ioq_entry a = {0}, b = {0}, c = {0}, bg[4] = {0};
    ioq_init(&q, 4, 8);   /* reserve 1: background may hold 3 */
    EXPECT_TRUE(ioq_start_now(&q, &a, 2));
    EXPECT_EQ(a.state, IOQ_ACTIVE);
    EXPECT_EQ(q.dispatched, 1);
    EXPECT_EQ(a.dispatch_seq, 0);                    /* numbers only what waited */
    EXPECT_TRUE(!ioq_start_now(&q, &a, 2));          /* already active */
    EXPECT_EQ(ioq_push(&q, &b, 4), 0);
    ioq_plug(&q);
    EXPECT_TRUE(!ioq_start_now(&q, &c, 0));          /* plugged */
    ioq_unplug(&q);
    EXPECT_TRUE(!ioq_start_now(&q, &c, 0));          /* b waits: keep the order */
    EXPECT_TRUE(ioq_pop_ready(&q) == &b);
    ioq_finish(&q, &a);
    EXPECT_TRUE(ioq_start_now(&q, &bg[0], 4));
    EXPECT_TRUE(ioq_start_now(&q, &bg[1], 3));
    EXPECT_EQ(q.low_active, 3);
    EXPECT_TRUE(!ioq_start_now(&q, &bg[2], 4));      /* low classes at their limit */
    EXPECT_TRUE(ioq_start_now(&q, &c, 0));           /* the reserved slot */
    EXPECT_TRUE(!ioq_start_now(&q, &bg[3], 0));      /* device full */
    EXPECT_EQ(ioq_active(&q), 4);
    EXPECT_EQ(q.max_active, 4);
    ioq_finish(&q, &c);
    EXPECT_TRUE(!ioq_start_now(&q, &bg[3], IOQ_CLASSES));
    EXPECT_TRUE(!ioq_start_now(&q, &bg[3], 255));   /* bad classes: never started */
    EXPECT_EQ(bg[3].state, IOQ_IDLE);
}

/* A start its owner refused at once is undone: slot, class share and
 * dispatch count as before, the entry idle and free to come again. */
TEST(ioq, unstart_gives_everything_back)
{
    struct ioq q;
    struct ioq_entry a = {0}, b = {0};
    ioq_init(&q, 4, 8);   /* low classes may hold 3 */
    EXPECT_TRUE(ioq_start_now(&q, &a, 2));
    EXPECT_TRUE(ioq_start_now(&q, &b, 4));
    EXPECT_EQ(q.low_active, 1);
    ioq_unstart(&q, &b);
    EXPECT_EQ(b.state, IOQ_IDLE);
    EXPECT_EQ(ioq_active(&q), 1);
    EXPECT_EQ(q.low_active, 0);
    EXPECT_EQ(q.dispatched, 1);
    EXPECT_EQ(q.dispatched + q.nwaiting + q.removed, 1);   /* accepted: a only */
    EXPECT_TRUE(ioq_start_now(&q, &b, 4));
    EXPECT_EQ(q.dispatched, 2);
}

TEST(ioq, remove_waiting_not_active)
{
    struct ioq q;
    struct ioq_entry a = {0}, b = {0}, c = {0};
    ioq_init(&q, 1, 4);
    ioq_push(&q, &a, 2);
    ioq_push(&q, &b, 2);
    ioq_push(&q, &c, 2);
    EXPECT_TRUE(ioq_pop_ready(&q) == &a);
    EXPECT_EQ(ioq_remove(&q, &a), -EBUSY);
    EXPECT_EQ(ioq_remove(&q, &b), 0);
    EXPECT_EQ(ioq_remove(&q, &b), -EALREADY);
    EXPECT_EQ(ioq_waiting(&q), 1);
    EXPECT_EQ(q.removed, 1);               /* the refused removals are not counted */
    ioq_finish(&q, &a);
    EXPECT_TRUE(ioq_pop_ready(&q) == &c);
}

/* Random pushes, pops, finishes and removals; after each step the queue's
 * counters match a recount, no active count exceeds its limit, nothing is
 * lost, and every waiting request is dispatched within the aging bound. */
TEST(ioq, random_walk_keeps_invariants)
{
    enum { N = 64, STEPS = 200000 };
    static struct ioq_entry e[N];
    uint64_t waited_since[N];
    struct ioq q;
    memset(e, 0, sizeof(e));
    srand(12345);
    ioq_init(&q, 6, 24);
    uint64_t dispatches = 0, accepted = 0, finished = 0;
    for (int step = 0; step < STEPS; step++) {
        struct ioq_entry *x = &e[rand() % N];
        int act = rand() % 4;
        if (act == 0 && x->state == IOQ_IDLE) {
            int rc = ioq_push(&q, x, (unsigned)(rand() % IOQ_CLASSES));
            if (rc == 0) {
                waited_since[x - e] = dispatches;
                accepted++;
            } else
                EXPECT_EQ(rc, -EAGAIN);
        } else if (act == 1) {
            struct ioq_entry *p = ioq_pop_ready(&q);
            if (p) {
                dispatches++;
                EXPECT_EQ(p->state, IOQ_ACTIVE);
            }
        } else if (act == 2 && x->state == IOQ_ACTIVE) {
            ioq_finish(&q, x);
            finished++;
        } else if (act == 3 && x->state == IOQ_WAITING && rand() % 8 == 0) {
            EXPECT_EQ(ioq_remove(&q, x), 0);
            finished++;
        } else if (act == 3 && x->state == IOQ_IDLE && ioq_start_now(&q, x, (unsigned)(rand() % IOQ_CLASSES))) {
            accepted++;
            dispatches++;
        }
        uint32_t waiting = 0, active = 0, low = 0;
        for (int i = 0; i < N; i++) {
            waiting += e[i].state == IOQ_WAITING;
            active += e[i].state == IOQ_ACTIVE;
            low += e[i].state == IOQ_ACTIVE && e[i].cls >= IOQ_LOW_CLASS;
        }
        EXPECT_EQ(waiting, q.nwaiting);
        EXPECT_EQ(active, ioq_active(&q));
        EXPECT_EQ(low, q.low_active);
        EXPECT_LE(active, q.depth);
        EXPECT_LE(low, q.low_limit);
        EXPECT_LE(waiting, q.cap);
        /* What the device layer derives its submitted/completed counts
         * from (io_dev_submitted, io_dev_completed). */
        EXPECT_EQ(q.dispatched + q.nwaiting + q.removed, accepted);
        EXPECT_EQ(q.finished + q.removed, finished);
        /* No starvation: every request waiting at a class head has been
         * passed by fewer than cap x (IOQ_AGE_LIMIT + 1) dispatches (each
         * older request ahead of it goes within IOQ_AGE_LIMIT + 1). */
        for (unsigned c = 0; c < IOQ_CLASSES; c++) {
            struct ioq_entry *h = q.head[c];
            if (h)
                EXPECT_LE(dispatches - waited_since[h - e],
                          (uint64_t)q.cap * (IOQ_AGE_LIMIT + 1));
        }
    }
    EXPECT_GT(dispatches, 1000);
}

/* The gate word: what makes start_now refuse (waiting, plugged, closed) and
 * what makes the owner pump at its unlock (waiting, refused). */
TEST(ioq, gate_bits_follow_the_queue)
{
    struct ioq q;
    struct ioq_entry a = {0}, b = {0}, c = {0};
    ioq_init(&q, 1, 1);
    EXPECT_EQ(q.gate, 0);
    ioq_plug(&q);
    EXPECT_TRUE((q.gate & IOQ_GATE_START) && !(q.gate & IOQ_GATE_PUMP));
    ioq_unplug(&q);
    EXPECT_TRUE(ioq_start_now(&q, &a, 2));
    EXPECT_EQ(ioq_push(&q, &b, 1), 0);
    EXPECT_TRUE((q.gate & IOQ_GATE_START) && (q.gate & IOQ_GATE_PUMP));   /* b waits */
    EXPECT_EQ(ioq_push(&q, &c, 1), -EAGAIN);
    EXPECT_EQ(q.refused, 1);
    EXPECT_TRUE(!ioq_take_room(&q));            /* still full */
    ioq_finish(&q, &a);
    EXPECT_TRUE(ioq_pop_ready(&q) == &b);
    EXPECT_EQ(q.mask, 0);
    EXPECT_TRUE(!(q.gate & IOQ_GATE_START) && (q.gate & IOQ_GATE_PUMP));  /* refused only */
    EXPECT_TRUE(ioq_take_room(&q));             /* room: once */
    EXPECT_TRUE(!ioq_take_room(&q));
    EXPECT_EQ(q.gate, 0);
    EXPECT_EQ(q.full_count, 1);
}

/* A closed queue starts nothing at once but still hands out what waits
 * (for the owner to fail it). */
TEST(ioq, closed_refuses_start_now_but_pops_waiting)
{
    struct ioq q;
    struct ioq_entry a = {0}, b = {0};
    ioq_init(&q, 2, 2);
    EXPECT_EQ(ioq_push(&q, &a, 0), 0);
    ioq_close(&q);
    EXPECT_TRUE(!ioq_start_now(&q, &b, 0));
    EXPECT_EQ(b.state, IOQ_IDLE);
    EXPECT_TRUE(ioq_pop_ready(&q) == &a);
    EXPECT_TRUE(!ioq_start_now(&q, &b, 0));     /* nothing waits: still closed */
    EXPECT_EQ(ioq_active(&q), 1);
    EXPECT_EQ(q.dispatched, 1);
}
