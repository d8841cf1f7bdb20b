/* Channels: try, close, timeouts, QoS wake order, rendezvous, select
 * (fairness, waiting, timeout, closed), SPSC, and an all-core MPMC stress
 * with exact conservation and no memory leaked. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/sem.h>
#include <kernel/waitq.h>
#include <sr/chan.h>
#include <sr/chan_rx.h>
#include <sr/select.h>
#include <sr_test.h>
#include "rt_test.h"

struct msg32 {
    uint64_t seq, a, b, c;
};

/* A typed pointer whose size is not the channel's element size: the fast
 * paths refuse it and the slow path moves exactly the element size. */
TEST(chan, typed_try_ops_of_another_size_move_the_element_size)
{
    struct chan *c = chan_create(24, 2);
    struct msg32 m, out;
    memset(&m, 0x11, sizeof(m));
    memset(&out, 0xaa, sizeof(out));
    EXPECT_EQ(chan_try_send(c, &m), 0);
    EXPECT_EQ(chan_try_send(c, &m), 0);
    EXPECT_EQ(chan_try_send(c, &m), -EAGAIN);
    EXPECT_EQ(chan_len(c), 2);
    EXPECT_EQ(chan_try_recv(c, &out), 0);
    uint8_t *b = (uint8_t *)&out;
    int moved = 0, kept = 0;
    for (size_t i = 0; i < sizeof(out); i++) {
        moved += i < 24 && b[i] == 0x11;
        kept += i >= 24 && b[i] == 0xaa;
    }
    EXPECT_EQ(moved, 24);
    EXPECT_EQ(kept, 8);
    EXPECT_EQ(chan_len(c), 1);
    chan_destroy(c);
}

TEST(chan, try_variants_report_full_and_empty)
{
    struct chan *c = chan_create(sizeof(struct msg32), 2);
    struct msg32 m = {0}, out;
    EXPECT_EQ(chan_try_recv(c, &out), -EAGAIN);
    m.seq = 1;
    EXPECT_EQ(chan_try_send(c, &m), 0);
    m.seq = 2;
    EXPECT_EQ(chan_try_send(c, &m), 0);
    m.seq = 3;
    EXPECT_EQ(chan_try_send(c, &m), -EAGAIN);   /* full says full, keeps what it has */
    EXPECT_EQ(chan_len(c), 2);
    EXPECT_EQ(chan_try_recv(c, &out), 0);
    EXPECT_EQ(out.seq, 1);
    EXPECT_EQ(chan_try_recv(c, &out), 0);
    EXPECT_EQ(out.seq, 2);
    EXPECT_EQ(chan_try_recv(c, &out), -EAGAIN);
    chan_destroy(c);
    EXPECT_TRUE(chan_create(0, 4) == NULL);
    EXPECT_EQ(errno, EINVAL);
}

static struct chan *shared;

static int64_t recv_one(void *arg)
{
    struct msg32 *out = arg;
    return chan_recv(shared, out, WAIT_FOREVER);
}

static int64_t send_one(void *arg)
{
    return chan_send(shared, arg, WAIT_FOREVER);
}

TEST(chan, close_lets_receivers_drain_then_fails_everyone)
{
    shared = chan_create(sizeof(struct msg32), 4);
    struct msg32 m = {0}, out;
    for (uint64_t i = 0; i < 3; i++) {
        m.seq = i;
        EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);
    }
    EXPECT_EQ(chan_close(shared), 0);
    EXPECT_EQ(chan_close(shared), -EPIPE);
    EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), -EPIPE);
    EXPECT_EQ(chan_try_send(shared, &m), -EPIPE);
    for (uint64_t i = 0; i < 3; i++) {
        EXPECT_EQ(chan_recv(shared, &out, WAIT_FOREVER), 0);
        EXPECT_EQ(out.seq, i);
    }
    EXPECT_EQ(chan_recv(shared, &out, WAIT_FOREVER), -EPIPE);
    EXPECT_EQ(chan_try_recv(shared, &out), -EPIPE);
    chan_destroy(shared);

    /* Blocked receivers (empty) and blocked senders (full) are failed by close. */
    shared = chan_create(sizeof(struct msg32), 1);
    struct msg32 r1, r2;
    struct task *a = spawn_on(recv_one, &r1, other_core(0), QOS_DEFAULT);
    struct task *b = spawn_on(recv_one, &r2, other_core(1), QOS_DEFAULT);
    wait_for_receivers(shared, 2);
    EXPECT_EQ(chan_close(shared), 0);
    int64_t va = 0, vb = 0;
    struct join_watch *w[2] = {join_watch_start(a, NULL), join_watch_start(b, NULL)};
    if (!JOINED_OR_LOST(w[0], &va, "a receiver failed by the close") ||
        !JOINED_OR_LOST(w[1], &vb, "a receiver failed by the close")) {
        close_and_reap(shared, w, 2);
        return;
    }
    EXPECT_EQ(va, -EPIPE);
    EXPECT_EQ(vb, -EPIPE);
    chan_destroy(shared);

    shared = chan_create(sizeof(struct msg32), 1);
    m.seq = 100;
    EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);
    struct msg32 blocked = {.seq = 200};
    a = spawn_on(send_one, &blocked, other_core(0), QOS_DEFAULT);
    wait_for_waiters(&shared->sendq, 1);
    EXPECT_EQ(chan_close(shared), 0);
    if (!JOINED_OR_REAPED(shared, a, &va, "the sender failed by the close"))
        return;
    EXPECT_EQ(va, -EPIPE);
    EXPECT_EQ(chan_recv(shared, &out, WAIT_FOREVER), 0);   /* sent before close: kept */
    EXPECT_EQ(out.seq, 100);
    EXPECT_EQ(chan_recv(shared, &out, WAIT_FOREVER), -EPIPE);   /* the failed send: not delivered */
    chan_destroy(shared);
}

TEST(chan, timeouts_leave_nothing_behind)
{
    struct chan *c = chan_create(sizeof(struct msg32), 1);
    struct msg32 m = {.seq = 5}, out;
    uint64_t t0 = clock_ns();
    EXPECT_EQ(chan_recv(c, &out, 2 * MS), -ETIMEDOUT);
    EXPECT_GE(clock_ns() - t0, 2 * MS);
    EXPECT_EQ(chan_receivers(c), 0);
    EXPECT_EQ(chan_send(c, &m, 2 * MS), 0);
    m.seq = 6;
    t0 = clock_ns();
    EXPECT_EQ(chan_send(c, &m, 2 * MS), -ETIMEDOUT);
    EXPECT_GE(clock_ns() - t0, 2 * MS);
    EXPECT_EQ(list_waiters(&c->sendq), 0);
    EXPECT_EQ(chan_len(c), 1);
    EXPECT_EQ(chan_recv(c, &out, 2 * MS), 0);
    EXPECT_EQ(out.seq, 5);   /* the timed-out message was not delivered */
    EXPECT_EQ(chan_try_recv(c, &out), -EAGAIN);
    chan_destroy(c);
}

static int64_t recv_seq(void *arg)
{
    (void)arg;
    struct msg32 out;
    int r = chan_recv(shared, &out, WAIT_FOREVER);
    return r ? r : (int64_t)out.seq;
}

static int64_t send_seq(void *arg)
{
    struct msg32 m = {.seq = (uint64_t)(intptr_t)arg};
    return chan_send(shared, &m, WAIT_FOREVER);
}

/* A blocking send that finds a receiver waiting hands it the message
 * before arming the ring's flags and leaves them as they are (branch
 * rt10): the ring stays exact, the next slow operation on the partly
 * filled ring clears the flags so the fast paths run again, and a closed
 * channel still fails senders and waiting receivers. */
TEST(chan, a_send_handed_to_a_waiting_receiver_leaves_the_ring_exact)
{
    shared = chan_create(sizeof(struct msg32), 4);
    struct msg32 m, out;
    int64_t v;
    for (uint64_t round = 0; round < 20; round++) {
        struct task *t = spawn_on(recv_seq, NULL, other_core(0), QOS_DEFAULT);
        wait_for_receivers(shared, 1);
        m = (struct msg32){.seq = 100 + round};
        EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);     /* straight to the receiver */
        if (!JOINED_OR_REAPED(shared, t, &v, "the receiver handed a message"))
            return;
        EXPECT_EQ(v, (int64_t)(100 + round));
        EXPECT_EQ(chan_len(shared), 0);
        EXPECT_EQ(chan_receivers(shared), 0);
        EXPECT_TRUE(mpmc_head_flagged(&shared->ring));        /* left set by the hand-off */
        m.seq = 2 * round;
        EXPECT_EQ(chan_try_send(shared, &m), 0);               /* the slow way, clears them */
        EXPECT_TRUE(!mpmc_head_flagged(&shared->ring));
        EXPECT_TRUE(!mpmc_tail_flagged(&shared->ring));
        m.seq = 2 * round + 1;
        EXPECT_EQ(chan_try_send(shared, &m), 0);               /* the fast way */
        EXPECT_EQ(chan_len(shared), 2);
        EXPECT_EQ(chan_try_recv(shared, &out), 0);
        EXPECT_EQ(out.seq, 2 * round);
        EXPECT_EQ(chan_try_recv(shared, &out), 0);
        EXPECT_EQ(out.seq, 2 * round + 1);
        EXPECT_EQ(chan_try_recv(shared, &out), -EAGAIN);
    }
    struct task *t = spawn_on(recv_seq, NULL, other_core(0), QOS_DEFAULT);
    wait_for_receivers(shared, 1);
    EXPECT_EQ(chan_close(shared), 0);
    if (!JOINED_OR_REAPED(shared, t, &v, "the receiver failed by the close"))
        return;
    EXPECT_EQ(v, -EPIPE);
    m.seq = 7;
    EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), -EPIPE);   /* closed, before any arming */
    EXPECT_EQ(chan_try_send(shared, &m), -EPIPE);
    EXPECT_EQ(chan_len(shared), 0);
    chan_destroy(shared);
}

static _Atomic int claimer_left;   /* the test's claimer has released the lock */

static int64_t recv_then_look(void *arg)
{
    (void)arg;
    struct msg32 out;
    int r = chan_recv(shared, &out, WAIT_FOREVER);
    bool left = atomic_load(&claimer_left);
    if (r != 0)
        return -1;
    return left ? (int64_t)out.seq : -2;
}

/* A receiver whose claimer fires it under the channel's lock and keeps
 * the lock a while after (as a close, a settle or a select's perform
 * may) returns only once the lock is released, so its caller may destroy
 * the channel at once (branch chan13: a wait without deadline or
 * cancellation no longer takes the lock again after its wake; it waits
 * for the lock word to read free). The claimer here holds the lock until
 * the receiver runs again on its core, then 1 ms more; a receiver that
 * returned meanwhile reports -2. */
TEST(chan, a_woken_receiver_returns_only_after_its_claimer_leaves)
{
    shared = chan_create(sizeof(struct msg32), 1);
    for (int round = 0; round < 10; round++) {
        atomic_store(&claimer_left, 0);
        struct task *t = spawn_on(recv_then_look, NULL, other_core(round), QOS_DEFAULT);
        wait_for_receivers(shared, 1);
        uint64_t flags = chan_lock_lists(shared);
        struct wait_node *n = wait_list_claim(&shared->recvq, 0);
        EXPECT_TRUE(n != NULL);
        if (n) {
            struct msg32 m = {.seq = 100 + (uint64_t)round};
            memcpy(n->data, &m, sizeof(m));
            waker_fire(n->waker);
        }
        uint64_t until = clock_ns() + 20 * MS;
        while (*(volatile uint8_t *)&t->state != TASK_RUNNING && clock_ns() < until)
            arch_cpu_relax();
        until = clock_ns() + MS;
        while (clock_ns() < until)
            arch_cpu_relax();
        atomic_store(&claimer_left, 1);
        spin_unlock_irqrestore(&shared->lock, flags);
        int64_t v;
        if (!JOINED_OR_REAPED(shared, t, &v, "the receiver fired by its claimer"))
            return;
        EXPECT_EQ(v, 100 + round);
    }
    EXPECT_EQ(chan_len(shared), 0);
    chan_destroy(shared);
}

static _Atomic int recv_done;

static int64_t recv_seq_flagged(void *arg)
{
    int64_t v = recv_seq(arg);
    atomic_store(&recv_done, 1);
    return v;
}

/* A blocking receive of shared's, on another core, that must complete
 * without waiting for anybody: its result (or seq), or -1000 if it was
 * still waiting after 200 ms (then its wait and any sender's are ended
 * from here, so that the test goes on). */
static int64_t recv_at_once(int i)
{
    atomic_store(&recv_done, 0);
    struct task *t = spawn_on(recv_seq_flagged, NULL, other_core(i), QOS_DEFAULT);
    uint64_t until = clock_ns() + 200 * MS;
    while (!atomic_load(&recv_done) && clock_ns() < until)
        task_sleep_ns(100000);
    bool parked = !atomic_load(&recv_done);
    if (parked) {
        uint64_t flags = chan_lock_lists(shared);
        wait_list_claim_all(&shared->recvq, -ECANCELED);
        wait_list_claim_all(&shared->sendq, -ECANCELED);
        spin_unlock_irqrestore(&shared->lock, flags);
    }
    int64_t v;
    task_join(t, &v);
    return parked ? -1000 : v;
}

/* A blocking receive on an armed channel (MPMC_WAITERS left set, as a
 * one-slot ping-pong leaves it) parks inline only when nothing is queued,
 * nothing is claimed, no sender waits and the channel is open (branch
 * chan13, recv_armed_must_wait): a queued message, a waiting sender of a
 * rendezvous and a close are each answered at once (-1000: it parked). */
TEST(chan, a_receive_on_an_armed_channel_parks_only_when_it_must)
{
    struct msg32 m;
    int64_t v;
    shared = chan_create(sizeof(struct msg32), 1);
    struct task *t = spawn_on(recv_seq, NULL, other_core(0), QOS_DEFAULT);
    wait_for_receivers(shared, 1);                  /* parked inline: empty */
    m = (struct msg32){.seq = 1};
    EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);   /* the hand-off, flags left set */
    if (!JOINED_OR_REAPED(shared, t, &v, "the receiver handed a message"))
        return;
    EXPECT_EQ(v, 1);
    EXPECT_TRUE(mpmc_head_flagged(&shared->ring));
    m.seq = 2;
    EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);   /* into the ring */
    EXPECT_EQ(chan_len(shared), 1);
    EXPECT_EQ(recv_at_once(1), 2);                        /* queued */
    EXPECT_TRUE(mpmc_head_flagged(&shared->ring));
    EXPECT_EQ(chan_close(shared), 0);
    EXPECT_EQ(recv_at_once(2), -EPIPE);                   /* closed and drained */
    chan_destroy(shared);

    shared = chan_create(sizeof(struct msg32), 0);      /* rendezvous */
    for (uint64_t i = 0; i < 3; i++) {
        t = spawn_on(send_seq, (void *)(intptr_t)(10 + i), other_core((int)i), QOS_DEFAULT);
        wait_for_waiters(&shared->sendq, 1);
        EXPECT_TRUE(mpmc_head_flagged(&shared->ring));
        EXPECT_EQ(recv_at_once((int)i + 1), (int64_t)(10 + i));   /* a sender waits */
        task_join(t, &v);
        EXPECT_EQ(v, 0);
    }
    EXPECT_EQ(list_waiters(&shared->sendq), 0);
    chan_destroy(shared);
}

/* The race of the MPMC ring's watch (sr/mpmc_ring.h, "Lost wake-ups") with
 * real waiters, the fast operation stopped between its steps as a
 * preempted one would be: a push claimed before a receiver blocks and
 * published after it queued reports, and its settle (as chan_try_send's)
 * hands the receiver the message; a pop claimed before a sender blocks on
 * the full channel and freed after reports, and the sender's message goes
 * in. Without the report the waiter would sleep for good: a lost wake-up,
 * which the bounded join reports. */
TEST(chan, a_waiter_blocked_on_a_claimed_slot_is_woken_by_its_publish)
{
    for (int round = 0; round < 10; round++) {
        shared = chan_create(sizeof(struct msg32), 2);
        struct mpmc_claim cl;
        bool claimed = mpmc_push_claim(&shared->ring, sizeof(struct msg32), &cl);
        EXPECT_TRUE(claimed);
        if (!claimed)
            return;
        struct task *t = spawn_on(recv_seq, NULL, other_core(round), QOS_DEFAULT);
        wait_for_receivers(shared, 1);
        struct msg32 m = {.seq = 100 + (uint64_t)round}, out;
        memcpy(cl.slot + MPMC_SEQ_BYTES, &m, sizeof(m));
        int res = mpmc_push_publish(cl);
        EXPECT_EQ(res, MPMC_DONE_MARKED);
        if (res == MPMC_DONE_MARKED)
            chan_settle_(shared);
        int64_t v;
        if (!JOINED_OR_REAPED(shared, t, &v, "the receiver behind the claimed push"))
            return;
        EXPECT_EQ(v, 100 + round);
        chan_destroy(shared);

        shared = chan_create(sizeof(struct msg32), 2);
        for (uint64_t i = 1; i <= 2; i++) {
            m.seq = i;
            EXPECT_EQ(chan_try_send(shared, &m), 0);
        }
        claimed = mpmc_pop_claim(&shared->ring, sizeof(struct msg32), &cl);
        EXPECT_TRUE(claimed);
        if (!claimed)
            return;
        t = spawn_on(send_seq, (void *)(intptr_t)3, other_core(round), QOS_DEFAULT);
        wait_for_waiters(&shared->sendq, 1);
        memcpy(&out, cl.slot + MPMC_SEQ_BYTES, sizeof(out));
        res = mpmc_pop_publish(cl);
        EXPECT_EQ(res, MPMC_DONE_MARKED);
        if (res == MPMC_DONE_MARKED)
            chan_settle_(shared);
        if (!JOINED_OR_REAPED(shared, t, &v, "the sender behind the claimed pop"))
            return;
        EXPECT_EQ(v, 0);
        EXPECT_EQ(out.seq, 1);
        for (uint64_t i = 2; i <= 3; i++) {
            EXPECT_EQ(chan_recv(shared, &out, WAIT_FOREVER), 0);
            EXPECT_EQ(out.seq, i);
        }
        EXPECT_EQ(chan_try_recv(shared, &out), -EAGAIN);
        chan_destroy(shared);
    }
}

static _Atomic int wake_rank;

static int64_t recv_rank(void *arg)
{
    (void)arg;
    struct msg32 out;
    if (chan_recv(shared, &out, WAIT_FOREVER) != 0)
        return -1;
    return (int64_t)out.seq;
}

/* Receivers blocked at three classes get the messages highest class first. */
TEST(chan, waiters_are_served_highest_qos_first)
{
    shared = chan_create(sizeof(struct msg32), 4);
    static const enum qos order[3] = {QOS_BACKGROUND, QOS_DEFAULT, QOS_USER_INITIATED};
    struct task *t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = spawn_on(recv_rank, NULL, other_core(i), order[i]);
        wait_for_receivers(shared, i + 1);   /* queued in this order */
    }
    for (uint64_t s = 0; s < 3; s++) {
        struct msg32 m = {.seq = s};
        EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);
    }
    int64_t v[3];
    struct join_watch *w[3];
    for (int i = 0; i < 3; i++)
        w[i] = join_watch_start(t[i], NULL);
    for (int i = 0; i < 3; i++)
        if (!JOINED_OR_LOST(w[i], &v[i], "a receiver sent to")) {
            close_and_reap(shared, w, 3);
            return;
        }
    EXPECT_EQ(v[2], 0);   /* user-initiated first */
    EXPECT_EQ(v[1], 1);
    EXPECT_EQ(v[0], 2);   /* background last, though it queued first */
    chan_destroy(shared);
    (void)wake_rank;
}

static int64_t rendezvous_sender(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) {
        struct msg32 m = {.seq = (uint64_t)i, .a = (uint64_t)i * 3};
        if (chan_send(shared, &m, WAIT_FOREVER) != 0)
            return -1;
    }
    return n;
}

TEST(chan, rendezvous_hands_each_message_to_a_receiver)
{
    enum { N = 300 };
    shared = chan_create(sizeof(struct msg32), 0);
    struct msg32 m = {0}, out;
    EXPECT_EQ(chan_try_send(shared, &m), -EAGAIN);   /* nobody receiving */
    struct task *s = spawn_on(rendezvous_sender, (void *)(intptr_t)N, other_core(0), QOS_DEFAULT);
    for (uint64_t i = 0; i < N; i++) {
        EXPECT_EQ(chan_recv(shared, &out, WAIT_FOREVER), 0);
        EXPECT_EQ(out.seq, i);
        EXPECT_EQ(out.a, i * 3);
        EXPECT_EQ(chan_len(shared), 0);
    }
    int64_t v;
    task_join(s, &v);
    EXPECT_EQ(v, N);
    chan_destroy(shared);
}

/* --- select ------------------------------------------------------------------- */

TEST(chan, select_takes_always_ready_channels_in_turn)
{
    enum { K = 3, ROUNDS = 50 };
    struct chan *c[K];
    struct msg32 buf[K], m = {0};
    struct sel_case cs[K];
    struct sel s;
    for (int i = 0; i < K; i++) {
        c[i] = chan_create(sizeof(struct msg32), ROUNDS + 1);
        for (int j = 0; j < ROUNDS + 1; j++) {
            m.seq = (uint64_t)(i * 1000 + j);
            EXPECT_EQ(chan_try_send(c[i], &m), 0);
        }
        chan_case_recv(&cs[i], c[i], &buf[i]);
    }
    sel_init(&s, cs, K);
    int taken[K] = {0};
    for (int r = 0; r < K * ROUNDS; r++) {
        int i = sel_wait(&s, WAIT_FOREVER);
        EXPECT_EQ(i, r % K);   /* strict turn while all are ready */
        if (i < 0 || i >= K)
            break;
        EXPECT_EQ(s.result, 0);
        EXPECT_EQ(buf[i].seq, (uint64_t)(i * 1000 + taken[i]));
        taken[i]++;
    }
    for (int i = 0; i < K; i++) {
        EXPECT_EQ(taken[i], ROUNDS);
        EXPECT_EQ(chan_len(c[i]), 1);   /* only the chosen case ever consumed */
    }
    EXPECT_EQ(sel_try(&s), 0);
    EXPECT_EQ(sel_try(&s), 1);
    EXPECT_EQ(sel_try(&s), 2);
    EXPECT_EQ(sel_try(&s), -EAGAIN);
    for (int i = 0; i < K; i++)
        chan_destroy(c[i]);
}

static struct chan *sel_chans[2];

static int64_t send_later(void *arg)
{
    task_sleep_ns(1 * MS);
    struct msg32 m = {.seq = 77};
    return chan_send(sel_chans[(intptr_t)arg], &m, WAIT_FOREVER);
}

TEST(chan, select_waits_for_the_first_ready_and_withdraws_the_rest)
{
    struct msg32 b0, b1;
    struct sel_case cs[2];
    struct sel s;
    for (int i = 0; i < 2; i++)
        sel_chans[i] = chan_create(sizeof(struct msg32), 1);
    chan_case_recv(&cs[0], sel_chans[0], &b0);
    chan_case_recv(&cs[1], sel_chans[1], &b1);
    sel_init(&s, cs, 2);
    struct task *t = spawn_on(send_later, (void *)1, other_core(0), QOS_DEFAULT);
    EXPECT_EQ(sel_wait(&s, WAIT_FOREVER), 1);
    EXPECT_EQ(s.result, 0);
    EXPECT_EQ(b1.seq, 77);
    EXPECT_EQ(chan_receivers(sel_chans[0]), 0);
    EXPECT_EQ(chan_receivers(sel_chans[1]), 0);
    int64_t v;
    task_join(t, &v);
    EXPECT_EQ(v, 0);

    /* Timeout: nothing taken, nothing left queued. */
    uint64_t t0 = clock_ns();
    EXPECT_EQ(sel_wait(&s, 2 * MS), -ETIMEDOUT);
    EXPECT_GE(clock_ns() - t0, 2 * MS);
    EXPECT_EQ(chan_receivers(sel_chans[0]), 0);
    EXPECT_EQ(chan_receivers(sel_chans[1]), 0);

    /* A send case and a receive case: the send completes (room). */
    struct msg32 out_msg = {.seq = 9};
    chan_case_send(&cs[1], sel_chans[1], &out_msg);
    EXPECT_EQ(sel_wait(&s, WAIT_FOREVER), 1);
    EXPECT_EQ(chan_len(sel_chans[1]), 1);

    /* A closed channel's receive case completes at once with -EPIPE. */
    chan_close(sel_chans[0]);
    EXPECT_EQ(sel_wait(&s, WAIT_FOREVER), 0);   /* case 1 (send) is full now */
    EXPECT_EQ(s.result, -EPIPE);
    for (int i = 0; i < 2; i++)
        chan_destroy(sel_chans[i]);
}

/* --- SPSC --------------------------------------------------------------------- */

static struct chan_spsc *spsc;

static int64_t spsc_producer(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) {
        struct msg32 m = {.seq = (uint64_t)i, .c = ~(uint64_t)i};
        if (chan_spsc_send(spsc, &m, WAIT_FOREVER) != 0)
            return -1;
    }
    return chan_spsc_close(spsc);
}

TEST(chan, spsc_try_blocking_and_close_drain)
{
    enum { N = 3000 };
    spsc = chan_spsc_create(sizeof(struct msg32), 8);
    struct msg32 m = {0}, out;
    EXPECT_EQ(chan_spsc_try_recv(spsc, &out), -EAGAIN);
    for (int i = 0; i < 8; i++)
        EXPECT_EQ(chan_spsc_try_send(spsc, &m), 0);
    EXPECT_EQ(chan_spsc_try_send(spsc, &m), -EAGAIN);
    EXPECT_EQ(chan_spsc_send(spsc, &m, 1 * MS), -ETIMEDOUT);
    for (int i = 0; i < 8; i++)
        EXPECT_EQ(chan_spsc_try_recv(spsc, &out), 0);
    EXPECT_EQ(chan_spsc_recv(spsc, &out, 1 * MS), -ETIMEDOUT);

    struct task *p = spawn_on(spsc_producer, (void *)(intptr_t)N, other_core(0), QOS_DEFAULT);
    uint64_t got = 0;
    bool in_order = true;
    int r;
    while ((r = chan_spsc_recv(spsc, &out, WAIT_FOREVER)) == 0) {
        in_order &= out.seq == got && out.c == ~got;
        got++;
    }
    EXPECT_EQ(r, -EPIPE);
    EXPECT_TRUE(in_order);
    EXPECT_EQ(got, N);
    int64_t v;
    task_join(p, &v);
    EXPECT_EQ(v, 0);
    EXPECT_EQ(chan_spsc_try_send(spsc, &m), -EPIPE);
    EXPECT_EQ(chan_spsc_close(spsc), -EPIPE);
    chan_spsc_destroy(spsc);
}

/* --- all-core MPMC stress -------------------------------------------------------- */

enum { ST_PRODUCERS = 8, ST_CONSUMERS = 8, ST_PER_PRODUCER = 16 };
static struct chan *st_chan;
static _Atomic uint8_t st_seen[ST_PRODUCERS][ST_PER_PRODUCER];
static _Atomic uint64_t st_timeouts;

static int64_t st_produce(void *arg)
{
    uint64_t id = (uint64_t)(intptr_t)arg;
    for (uint64_t i = 0; i < ST_PER_PRODUCER; i++) {
        struct msg32 m = {.seq = id << 32 | i, .a = id, .b = i, .c = id ^ i};
        int r;
        /* Short timeouts now and then: a timed-out send must not deliver. */
        while ((r = chan_send(st_chan, &m, (i % 7) ? WAIT_FOREVER : 200000)) == -ETIMEDOUT)
            atomic_fetch_add(&st_timeouts, 1);
        if (r != 0)
            return -1;
    }
    return 0;
}

static int64_t st_consume(void *arg)
{
    (void)arg;
    int64_t n = 0;
    struct msg32 m;
    int r;
    for (;;) {
        r = (n % 5) ? chan_recv(st_chan, &m, WAIT_FOREVER) : chan_recv(st_chan, &m, 200000);
        if (r == -ETIMEDOUT) {
            atomic_fetch_add(&st_timeouts, 1);
            continue;
        }
        if (r != 0)
            break;
        if (m.a >= ST_PRODUCERS || m.b >= ST_PER_PRODUCER || m.c != (m.a ^ m.b) ||
            m.seq != (m.a << 32 | m.b))
            return -1000000;
        atomic_fetch_add(&st_seen[m.a][m.b], 1);
        n++;
    }
    return r == -EPIPE ? n : -1;
}

/* One run: producers and consumers on every core, at mixed classes. */
static void st_run(void)
{
    st_chan = chan_create(sizeof(struct msg32), 64);
    memset(st_seen, 0, sizeof(st_seen));
    struct task *p[ST_PRODUCERS], *c[ST_CONSUMERS];
    int online[PLAT_MAX_CPUS], n = 0;
    for (int k = 0; k < platform.ncpus; k++)
        if (smp_cpu_online(k))
            online[n++] = k;
    for (int i = 0; i < ST_CONSUMERS; i++)
        c[i] = spawn_on(st_consume, NULL, online[i % n], i % 2 ? QOS_DEFAULT : QOS_UTILITY);
    for (int i = 0; i < ST_PRODUCERS; i++)
        p[i] = spawn_on(st_produce, (void *)(intptr_t)i, online[(i + 3) % n],
                        i % 3 ? QOS_DEFAULT : QOS_USER_INITIATED);
    /* Watched joins: a lost wake-up fails the run by name (w: producers,
     * then consumers). */
    struct join_watch *w[ST_PRODUCERS + ST_CONSUMERS];
    for (int i = 0; i < ST_PRODUCERS; i++)
        w[i] = join_watch_start(p[i], NULL);
    for (int i = 0; i < ST_CONSUMERS; i++)
        w[ST_PRODUCERS + i] = join_watch_start(c[i], NULL);
    for (int i = 0; i < ST_PRODUCERS; i++) {
        int64_t v = 1;
        if (!JOINED_OR_LOST(w[i], &v, "a producer")) {
            close_and_reap(st_chan, w, ST_PRODUCERS + ST_CONSUMERS);
            return;
        }
        EXPECT_EQ(v, 0);
    }
    EXPECT_EQ(chan_close(st_chan), 0);
    int64_t total = 0;
    for (int i = 0; i < ST_CONSUMERS; i++) {
        int64_t v = -1;
        if (!JOINED_OR_LOST(w[ST_PRODUCERS + i], &v, "a consumer")) {
            close_and_reap(st_chan, w, ST_PRODUCERS + ST_CONSUMERS);
            return;
        }
        EXPECT_GE(v, 0);
        total += v;
    }
    EXPECT_EQ(total, (int64_t)ST_PRODUCERS * ST_PER_PRODUCER);
    int dup_or_lost = 0;
    for (int i = 0; i < ST_PRODUCERS; i++)
        for (int j = 0; j < ST_PER_PRODUCER; j++)
            dup_or_lost += atomic_load(&st_seen[i][j]) != 1;
    EXPECT_EQ(dup_or_lost, 0);
    EXPECT_EQ(chan_receivers(st_chan) + list_waiters(&st_chan->sendq), 0);
    chan_destroy(st_chan);
}

/* The first run warms what stays allocated by design (task stacks' page
 * tables, slab pages of the size classes, timer heaps); the second must
 * give back every page it takes. */
TEST(chan, stress_all_cores_every_message_exactly_once_no_leak)
{
    st_run();
    uint64_t before = free_pages_settled();
    st_run();
    EXPECT_EQ(free_pages_settled(), before);
}

static struct semaphore hand_gate;
static _Atomic int gate_posted;   /* the test has posted hand_gate for this round */

/* One receive of shared's (arg: its timeout, WAIT_FOREVER or a long one),
 * then an untimed wait on hand_gate: its seq, its error, or -3 if the
 * gate's wait ended before the test posted (a stray wake-up). */
static int64_t recv_then_gate(void *arg)
{
    struct msg32 out;
    int r = chan_recv(shared, &out, (uint64_t)(uintptr_t)arg);
    if (r)
        return r;
    int g = sem_wait(&hand_gate, WAIT_FOREVER);
    return g == 0 && atomic_load(&gate_posted) ? (int64_t)out.seq : -3;
}

/* chan14: a blocking send hands off inline only to a receiver whose wait
 * has no deadline and no cancellation point (WAKER_KIND_TASK_UNTIMED),
 * which the scheduler wakes after the channel's lock is released
 * (sched_wake_unlock); a timed receiver at the head goes the general way,
 * woken under the lock. Both, queued in that order on other cores, get
 * their own message, exactly once, and are woken once: each then blocks
 * on a semaphore, whose wait must last until the test's post (a wake-up
 * delivered late would end it first: -3). */
TEST(chan, a_hand_off_wakes_a_timed_or_untimed_receiver_once)
{
    shared = chan_create(sizeof(struct msg32), 1);
    sem_init(&hand_gate, 0);
    for (int round = 0; round < 20; round++) {
        atomic_store(&gate_posted, 0);
        struct task *timed = spawn_on(recv_then_gate, (void *)(uintptr_t)(60000 * MS),
                                      other_core(round), QOS_DEFAULT);
        wait_for_receivers(shared, 1);
        struct task *untimed = spawn_on(recv_then_gate, (void *)(uintptr_t)WAIT_FOREVER,
                                        other_core(round + 1), QOS_DEFAULT);
        wait_for_receivers(shared, 2);
        uint64_t flags = chan_lock_lists(shared);
        int head_kind = shared->recvq.head->waker->kind;
        int next_kind = shared->recvq.head->next->waker->kind;
        spin_unlock_irqrestore(&shared->lock, flags);
        EXPECT_EQ(head_kind, WAKER_KIND_TASK_LISTED);
        EXPECT_EQ(next_kind, WAKER_KIND_TASK_UNTIMED);
        struct msg32 m = {.seq = 1000 + 2 * (uint64_t)round};
        EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);   /* the general way: timed */
        m.seq++;
        EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);   /* inline: untimed */
        EXPECT_EQ(chan_len(shared), 0);
        task_sleep_ns(2 * MS);   /* room for a stray wake-up to show */
        atomic_store(&gate_posted, 1);
        sem_post(&hand_gate);
        sem_post(&hand_gate);
        int64_t v;
        struct join_watch *w[2] = {join_watch_start(timed, NULL), join_watch_start(untimed, NULL)};
        if (!JOINED_OR_LOST(w[0], &v, "the timed receiver")) {
            close_and_reap(shared, w, 2);
            return;
        }
        EXPECT_EQ(v, 1000 + 2 * round);
        if (!JOINED_OR_LOST(w[1], &v, "the untimed receiver")) {
            close_and_reap(shared, w, 2);
            return;
        }
        EXPECT_EQ(v, 1001 + 2 * round);
    }
    EXPECT_EQ(chan_receivers(shared), 0);
    chan_destroy(shared);
}

/* --- the channel's own receiver record (chan16) --------------------------------- */

/* Leave shared armed and empty, as a hand-off does: a receiver on another
 * core waits (the general way, which arms), one send hands it a message.
 * False if that receiver never returned (shared then reaped: the caller
 * returns). */
static bool arm_shared(void)
{
    struct msg32 out, m = {.seq = 7};
    struct task *t = spawn_on(recv_one, &out, other_core(0), QOS_USER_INITIATED);
    wait_for_receivers(shared, 1);
    EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);
    int64_t v = -1;
    if (!JOINED_OR_REAPED(shared, t, &v, "the receiver that arms the channel"))
        return false;
    EXPECT_EQ(v, 0);
    EXPECT_EQ(out.seq, 7);
    return true;
}

static bool head_is_record(void)
{
    uint64_t flags = chan_lock_lists(shared);
    bool rec = shared->recvq.head == &shared->rx.node;
    spin_unlock_irqrestore(&shared->lock, flags);
    return rec;
}

/* A lone untimed receiver on an armed empty channel parks in the record,
 * with its own QoS: receivers of higher classes that queue behind it (on
 * their stacks) are served first. The record last held a user-initiated
 * receiver (arm_shared), so a park that left that QoS in place would put
 * the background receiver before the default one. After a close, a
 * receiver in the record gets -EPIPE (a claim: DONE) and frees it. */
TEST(chan, the_record_keeps_its_receivers_qos_and_a_claim_frees_it)
{
    shared = chan_create(sizeof(struct msg32), 4);
    if (!arm_shared())
        return;
    static const enum qos order[3] = {QOS_BACKGROUND, QOS_DEFAULT, QOS_USER_INITIATED};
    struct task *t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = spawn_on(recv_rank, NULL, other_core(i), order[i]);
        wait_for_receivers(shared, i + 1);
        if (i == 0)
            EXPECT_TRUE(head_is_record());
    }
    for (uint64_t s = 0; s < 3; s++) {
        struct msg32 m = {.seq = s};
        EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);
    }
    int64_t v[3];
    struct join_watch *w[3];
    for (int i = 0; i < 3; i++)
        w[i] = join_watch_start(t[i], NULL);
    for (int i = 0; i < 3; i++)
        if (!JOINED_OR_LOST(w[i], &v[i], "a receiver sent to")) {
            close_and_reap(shared, w, 3);
            return;
        }
    EXPECT_EQ(v[2], 0);
    EXPECT_EQ(v[1], 1);
    EXPECT_EQ(v[0], 2);

    struct msg32 out;
    struct task *a = spawn_on(recv_one, &out, other_core(1), QOS_DEFAULT);
    wait_for_receivers(shared, 1);
    EXPECT_TRUE(head_is_record());
    EXPECT_EQ(chan_close(shared), 0);
    int64_t va = 0;
    if (!JOINED_OR_REAPED(shared, a, &va, "the record's receiver failed by the close"))
        return;
    EXPECT_EQ(va, -EPIPE);
    EXPECT_EQ(atomic_load(&shared->rx.tw.w.state), WAKER_IDLE);   /* freed by its receiver */
    EXPECT_EQ(chan_receivers(shared), 0);
    chan_destroy(shared);
}

static _Atomic int spin_release, spinning;   /* spinning: spinners started */
static _Atomic int64_t rec_a_result;
static _Atomic int rec_a_done;
static struct msg32 rec_a_out;

static int64_t spin_until_released(void *arg)
{
    (void)arg;
    atomic_fetch_add(&spinning, 1);
    while (!atomic_load(&spin_release))
        arch_cpu_relax();
    return 0;
}

static int64_t recv_and_mark(void *arg)
{
    (void)arg;
    atomic_store(&rec_a_result, chan_recv(shared, &rec_a_out, WAIT_FOREVER));
    atomic_store(&rec_a_done, 1);
    return 0;
}

/* The end of a reuse round: the spinner released, receiver A joined with
 * message seq (what it was handed), then seq + 1 sent and taken by
 * receiver B (into *out_b). False if A or B never returned (shared then
 * reaped: the caller returns). */
/* A reuse round's start: receiver A spawned on other_core(0) (the caller
 * waits for it to park, in the record or without the lock). */
static struct task *start_reuse_round(void)
{
    atomic_store(&spin_release, 0);
    atomic_store(&spinning, 0);
    atomic_store(&rec_a_done, 0);
    return spawn_on(recv_and_mark, NULL, other_core(0), QOS_DEFAULT);
}

/* Then a better task keeps A's core while A is handed message seq: the
 * spinner, for finish_reuse_round to release. */
static struct task *hand_a_its_message_under_a_spinner(uint64_t seq)
{
    struct task *spin = spawn_on(spin_until_released, NULL, other_core(0), QOS_USER_INITIATED);
    while (!atomic_load(&spinning))
        task_sleep_ns(20000);
    struct msg32 m = {.seq = seq};
    EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);
    return spin;
}

static bool finish_reuse_round(struct task *spin, struct task *a, struct task *b,
                               struct msg32 *out_b, uint64_t seq)
{
    atomic_store(&spin_release, 1);
    int64_t v;
    task_join(spin, &v);
    struct join_watch *w[2] = {join_watch_start(a, NULL), join_watch_start(b, NULL)};
    if (!JOINED_OR_LOST(w[0], NULL, "receiver A (handed its message first)")) {
        close_and_reap(shared, w, 2);
        return false;
    }
    EXPECT_EQ(atomic_load(&rec_a_result), 0);
    EXPECT_EQ(rec_a_out.seq, seq);
    struct msg32 m = {.seq = seq + 1};
    EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);
    v = -1;
    if (!JOINED_OR_LOST(w[1], &v, "receiver B (in the reused record)")) {
        close_and_reap(shared, w, 2);
        return false;
    }
    EXPECT_EQ(v, 0);
    EXPECT_EQ(out_b->seq, seq + 1);
    return true;
}

/* A hand-off frees the record before its receiver runs: here receiver A's
 * core is kept by a higher-class spinner after A was handed its message,
 * and receiver B parks in the record meanwhile. A, once it runs, finds
 * B's wait in the record and must return 0 with its own message (without
 * the look at the record's task it would take B's wait for a spurious
 * wake-up of its own and block again); B then gets the next message. A
 * round in which A ran before B parked checks the messages only. */
TEST(chan, a_receiver_whose_record_was_reused_before_it_ran_returns_its_message)
{
    int online = smp_online_count();
    if (online < 3)
        return;   /* needs the caller's core and two others */
    shared = chan_create(sizeof(struct msg32), 1);
    if (!arm_shared())
        return;
    int reused = 0;
    for (int round = 0; round < 10; round++) {
        struct task *a = start_reuse_round();
        wait_for_receivers(shared, 1);
        EXPECT_TRUE(head_is_record());
        uint64_t seq = 100 + 2 * (uint64_t)round;
        struct task *spin = hand_a_its_message_under_a_spinner(seq);
        struct msg32 out_b;
        struct task *b = spawn_on(recv_one, &out_b, other_core(1), QOS_DEFAULT);
        wait_for_receivers(shared, 1);
        uint64_t flags = chan_lock_lists(shared);
        reused += shared->rx.tw.task == b && !atomic_load(&rec_a_done);
        spin_unlock_irqrestore(&shared->lock, flags);
        if (!finish_reuse_round(spin, a, b, &out_b, seq))
            return;
    }
    EXPECT_GE(reused, 1);
    EXPECT_EQ(chan_receivers(shared), 0);
    chan_destroy(shared);
}

/* Messages whose copy would call memcpy (under 4 or over 64 bytes) are
 * handed to a receiver in the record out of line: each arrives whole. */
struct msg100 {
    uint8_t b[100];
};

static int64_t recv_bytes(void *arg)
{
    return chan_recv(shared, arg, WAIT_FOREVER);
}

TEST(chan, the_record_takes_messages_of_every_size_whole)
{
    static const uint32_t sizes[] = {1, 2, 3, 4, 24, 33, 64, 65, 100};
    for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint32_t n = sizes[k];
        shared = chan_create(n, 1);
        struct task *w = spawn_on(recv_bytes, &(struct msg100){{0}}, other_core(0), QOS_DEFAULT);
        wait_for_receivers(shared, 1);   /* arms */
        struct msg100 m;
        memset(&m, 0x5a, sizeof(m));
        EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);
        int64_t v = -1;
        if (!JOINED_OR_REAPED(shared, w, &v, "the receiver handed a message"))
            return;
        EXPECT_EQ(v, 0);
        for (int round = 0; round < 3; round++) {
            struct msg100 out;
            memset(&out, 0, sizeof(out));
            w = spawn_on(recv_bytes, &out, other_core(round), QOS_DEFAULT);
            wait_for_receivers(shared, 1);
            EXPECT_TRUE(head_is_record());
            for (uint32_t i = 0; i < n; i++)
                m.b[i] = (uint8_t)(i * 7 + round + n);
            EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);
            v = -1;
            if (!JOINED_OR_REAPED(shared, w, &v, "the record's receiver"))
                return;
            EXPECT_EQ(v, 0);
            EXPECT_EQ(memcmp(out.b, m.b, n), 0);
            EXPECT_EQ(out.b[n < 100 ? n : 99], n < 100 ? 0 : m.b[99]);   /* nothing past it */
        }
        chan_destroy(shared);
    }
}

/* --- the untimed receive's rare ways of blocking (sched_block_unlock_begin) --------- */

/* An untimed receive with IRQs masked: it blocks (a full frame) and
 * returns with them masked (1000 if they were not). */
static int64_t recv_masked(void *arg)
{
    uint64_t flags = arch_irq_save();
    int r = chan_recv(shared, arg, WAIT_FOREVER);
    bool unmasked = arch_irqs_enabled();
    arch_irq_restore(flags);
    return unmasked ? 1000 : r;
}

/* An untimed receive parked in the record that blocks some other way than
 * the min-frame switch to one task (the begin does the whole block: with
 * IRQs masked, or through the general pick with two bands queued on its
 * core) must still learn its wait's end from the record: a hand-off gives
 * it the message and 0, a close -EPIPE, and the record is free after
 * each (without the look at the record on that way the close's receiver
 * returns 0 and leaves the record DONE). */
TEST(chan, an_untimed_receive_that_blocks_the_rare_way_learns_its_result_from_the_record)
{
    shared = chan_create(sizeof(struct msg32), 1);
    for (int round = 0; round < 4; round++) {
        bool masked = round < 2, close = round & 1;
        atomic_store(&spin_release, 0);
        atomic_store(&spinning, 0);
        struct task *s1 = NULL, *s2 = NULL;
        struct msg32 out = {.seq = 0};
        struct task *r;
        if (masked) {
            r = spawn_on(recv_masked, &out, other_core(0), QOS_DEFAULT);
        } else {
            /* Two bands below the receiver's queued on its core when it blocks. */
            s1 = spawn_on(spin_until_released, NULL, other_core(0), QOS_UTILITY);
            while (!atomic_load(&spinning))
                task_sleep_ns(20000);
            s2 = spawn_on(spin_until_released, NULL, other_core(0), QOS_BACKGROUND);
            r = spawn_on(recv_one, &out, other_core(0), QOS_DEFAULT);
        }
        wait_for_receivers(shared, 1);
        EXPECT_TRUE(head_is_record());
        struct msg32 m = {.seq = 500 + (uint64_t)round};
        if (close)
            EXPECT_EQ(chan_close(shared), 0);
        else
            EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), 0);
        int64_t v = -1;
        struct join_watch *w[1] = {join_watch_start(r, NULL)};
        bool lost = !JOINED_OR_LOST(w[0], &v, "the receiver blocked the rare way");
        atomic_store(&spin_release, 1);
        if (s1)
            task_join(s1, NULL);
        if (s2)
            task_join(s2, NULL);
        if (lost) {
            close_and_reap(shared, w, 1);
            return;
        }
        EXPECT_EQ(v, close ? -EPIPE : 0);
        if (!close)
            EXPECT_EQ(out.seq, 500 + (uint64_t)round);
        EXPECT_EQ(atomic_load(&shared->rx.tw.w.state), WAKER_IDLE);
        EXPECT_EQ(chan_receivers(shared), 0);
        if (close)
            chan_reopen(shared);
    }
    chan_destroy(shared);
}

/* --- the record's hand-off without a closed test (branch chan18) --------------------- */

/* The hand-off to the record tests no closed flag: the record is linked
 * only while the channel is open (a close fails it and unlinks it under
 * the lock). First in order: a receiver parks in the record, the channel
 * is closed, and a send that comes before the receiver has run must fail
 * (-EPIPE) and the receiver get -EPIPE. Then a close and a send racing
 * for a receiver parked in the record, from two other cores: either the
 * send came first (it returns 0, the receiver 0 with its message) or the
 * close did (the send and the receiver -EPIPE, nothing delivered). After
 * each round a send and a receive on the closed channel fail at once and
 * the record is free. With a close that leaves the record linked (settle
 * skipping it), the send after the close hands its message over: 0 where
 * -EPIPE is due, and the receiver returns 0. */
static _Atomic int race_go;
static _Atomic int64_t race_send_result;

static int64_t send_on_go(void *arg)
{
    while (!atomic_load(&race_go))
        arch_cpu_relax();
    atomic_store(&race_send_result, chan_send(shared, arg, WAIT_FOREVER));
    return 0;
}

static int64_t close_on_go(void *arg)
{
    (void)arg;
    while (!atomic_load(&race_go))
        arch_cpu_relax();
    return chan_close(shared);
}

/* Join the sender, the closer and the receiver r of a send/close race on
 * shared, each within LOST_WAKE_NS: true with the closer's and r's values,
 * or false with the lost one named and shared closed and reaped. */
static bool joined_send_close_race(struct task *s, struct task *c, struct task *r,
                                   const char *r_what, int64_t *vc, int64_t *vr)
{
    struct join_watch *w[3] = {join_watch_start(s, NULL), join_watch_start(c, NULL),
                               join_watch_start(r, NULL)};
    if (!JOINED_OR_LOST(w[0], NULL, "the sender") || !JOINED_OR_LOST(w[1], vc, "the closer") ||
        !JOINED_OR_LOST(w[2], vr, r_what)) {
        close_and_reap(shared, w, 3);
        return false;
    }
    return true;
}

TEST(chan, a_close_and_a_send_racing_for_the_record_decide_once)
{
    int online = smp_online_count();
    shared = chan_create(sizeof(struct msg32), 1);
    if (!arm_shared())
        return;
    struct msg32 first = {.seq = 0};
    struct task *r0 = spawn_on(recv_one, &first, other_core(0), QOS_DEFAULT);
    wait_for_receivers(shared, 1);
    EXPECT_TRUE(head_is_record());
    EXPECT_EQ(chan_close(shared), 0);
    struct msg32 late = {.seq = 77};
    EXPECT_EQ(chan_send(shared, &late, WAIT_FOREVER), -EPIPE);
    int64_t v0 = -1;
    if (!JOINED_OR_REAPED(shared, r0, &v0, "the record's receiver failed by the close"))
        return;
    EXPECT_EQ(v0, -EPIPE);
    EXPECT_EQ(first.seq, 0);
    chan_destroy(shared);

    for (int round = 0; round < 60; round++) {
        shared = chan_create(sizeof(struct msg32), round % 3 == 2 ? 0 : 1);
        struct msg32 out = {.seq = 0};
        struct task *r = spawn_on(recv_one, &out, other_core(0), QOS_DEFAULT);
        wait_for_receivers(shared, 1);   /* arms, then parks in the record */
        EXPECT_TRUE(head_is_record());
        atomic_store(&race_go, 0);
        struct msg32 m = {.seq = 900 + (uint64_t)round};
        struct task *s = spawn_on(send_on_go, &m, other_core(online >= 3 ? 1 : 0), QOS_DEFAULT);
        struct task *c = spawn_on(close_on_go, NULL, other_core(online >= 4 ? 2 : 0), QOS_DEFAULT);
        atomic_store(&race_go, 1);
        int64_t vr = -1, vc = -1;
        if (!joined_send_close_race(s, c, r, "the record's receiver", &vc, &vr))
            return;
        int64_t vs = atomic_load(&race_send_result);
        EXPECT_EQ(vc, 0);
        if (vs == 0) {
            EXPECT_EQ(vr, 0);
            EXPECT_EQ(out.seq, 900 + (uint64_t)round);
        } else {
            EXPECT_EQ(vs, -EPIPE);
            EXPECT_EQ(vr, -EPIPE);
            EXPECT_EQ(out.seq, 0);
        }
        m.seq = 1;
        EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), -EPIPE);
        EXPECT_EQ(chan_recv(shared, &out, WAIT_FOREVER), -EPIPE);
        EXPECT_EQ(atomic_load(&shared->rx.tw.w.state), WAKER_IDLE);
        EXPECT_EQ(chan_receivers(shared), 0);
        chan_destroy(shared);
    }
}

/* --- the park in the record without the lock (branch chan20) ----------------------- */

/* Wait (without the channel's lock, which would adopt it) until t is
 * parked in c's record without the lock: its word is t. False after 2 s. */
static bool wait_parked_unlocked(struct chan *c, struct task *t)
{
    uint64_t end = clock_ns() + 2000 * MS;
    while (atomic_load(&c->rx.word) != (uintptr_t)t)
        if (clock_ns() > end)
            return false;
        else
            task_sleep_ns(20000);
    return true;
}

/* A receiver parked without the lock, then a send (which takes it without
 * the lock, or through the lock once the close adopted it) and a close
 * racing from two other cores: either the send returns 0 and the receiver
 * its message, or both -EPIPE; never a send that returns 0 for a message
 * nobody got. The record is free afterwards, nobody is queued, and later
 * operations fail at once. Capacity 1 and 0. */
TEST(chan, a_send_and_a_close_racing_for_a_receiver_parked_without_the_lock_decide_once)
{
    int delivered = 0, failed = 0;
    for (int round = 0; round < 60; round++) {
        shared = chan_create(sizeof(struct msg32), round & 1);
        if (!arm_shared())
        return;
        struct msg32 out = {.seq = 0}, m = {.seq = 300 + (uint64_t)round};
        struct task *r = spawn_on(recv_one, &out, other_core(0), QOS_DEFAULT);
        EXPECT_TRUE(wait_parked_unlocked(shared, r));
        atomic_store(&race_go, 0);
        struct task *s = spawn_on(send_on_go, &m, other_core(1), QOS_DEFAULT);
        struct task *c = spawn_on(close_on_go, NULL, other_core(2), QOS_DEFAULT);
        task_sleep_ns(100000);
        atomic_store(&race_go, 1);
        int64_t vr = 1, vc = 1;
        if (!joined_send_close_race(s, c, r, "the receiver parked without the lock", &vc, &vr))
            return;
        int64_t vs = atomic_load(&race_send_result);
        EXPECT_EQ(vc, 0);
        if (vs == 0) {
            delivered++;
            EXPECT_EQ(vr, 0);
            EXPECT_EQ(out.seq, m.seq);
        } else {
            failed++;
            EXPECT_EQ(vs, -EPIPE);
            EXPECT_EQ(vr, -EPIPE);
        }
        EXPECT_EQ(atomic_load(&shared->rx.word), CHAN_RX_FREE);
        EXPECT_EQ(chan_receivers(shared), 0);
        EXPECT_EQ(chan_send(shared, &m, WAIT_FOREVER), -EPIPE);
        EXPECT_EQ(chan_recv(shared, &out, WAIT_FOREVER), -EPIPE);
        chan_destroy(shared);
    }
    EXPECT_EQ(delivered + failed, 60);
}

static _Atomic int64_t behind_r;
static struct msg32 behind_out;

static int64_t recv_behind(void *arg)
{
    (void)arg;
    while (!atomic_load(&race_go))
        arch_cpu_relax();
    atomic_store(&behind_r, chan_recv(shared, &behind_out, WAIT_FOREVER));
    return 0;
}

/* A receiver R1 parked without the lock; a send and a second receiver R2
 * (which takes the lock and so adopts R1 first, queueing behind it) start
 * together from two other cores. R1, first in line, gets the first message
 * whichever way it is taken (without the lock, or by the hand-off to
 * recvq's head, the record then not alone), R2 the second; the record is
 * free and nobody queued afterwards. */
TEST(chan, a_send_and_a_receiver_queueing_behind_a_parked_one_keep_its_turn)
{
    shared = chan_create(sizeof(struct msg32), 1);
    if (!arm_shared())
        return;
    for (int round = 0; round < 40; round++) {
        struct msg32 out1 = {.seq = 0};
        struct msg32 m1 = {.seq = 1000 + 2 * (uint64_t)round}, m2 = {.seq = m1.seq + 1};
        atomic_store(&race_go, 0);
        atomic_store(&behind_r, 1);
        struct task *r1 = spawn_on(recv_one, &out1, other_core(0), QOS_DEFAULT);
        EXPECT_TRUE(wait_parked_unlocked(shared, r1));
        struct join_watch *w[3] = {join_watch_start(r1, NULL)};
        w[1] = join_watch_start(spawn_on(recv_behind, NULL, other_core(1), QOS_DEFAULT), NULL);
        w[2] = join_watch_start(spawn_on(send_on_go, &m1, other_core(2), QOS_DEFAULT), NULL);
        task_sleep_ns(100000);
        atomic_store(&race_go, 1);
        int64_t v1 = 1;
        if (!JOINED_OR_LOST(w[0], &v1, "R1 (first in line)") ||
            !JOINED_OR_LOST(w[2], NULL, "the sender")) {
            close_and_reap(shared, w, 3);
            return;
        }
        EXPECT_EQ(atomic_load(&race_send_result), 0);
        EXPECT_EQ(v1, 0);
        EXPECT_EQ(out1.seq, m1.seq);
        uint64_t end = clock_ns() + 2000 * MS;
        while (chan_receivers(shared) < 1 && atomic_load(&behind_r) == 1 && clock_ns() < end)
            task_sleep_ns(20000);
        EXPECT_EQ(chan_send(shared, &m2, WAIT_FOREVER), 0);   /* capacity 1, empty: never waits */
        if (!JOINED_OR_LOST(w[1], NULL, "R2 (second in line)")) {
            close_and_reap(shared, w, 3);
            return;
        }
        EXPECT_EQ(atomic_load(&behind_r), 0);
        EXPECT_EQ(behind_out.seq, m2.seq);
        EXPECT_EQ(atomic_load(&shared->rx.word), CHAN_RX_FREE);
        EXPECT_EQ(chan_receivers(shared), 0);
    }
    chan_destroy(shared);
}

/* A sender's take without the lock frees the record before its receiver
 * runs: receiver A's core is kept by a higher-class spinner after the send
 * took A, and receiver B parks in the record without the lock meanwhile
 * (its word B while A has not returned). A, once it runs, returns 0 with
 * its own message; B gets the next. */
TEST(chan, a_receiver_taken_without_the_lock_returns_its_message_after_the_record_is_reused)
{
    int online = smp_online_count();
    if (online < 3)
        return;
    shared = chan_create(sizeof(struct msg32), 1);
    if (!arm_shared())
        return;
    int reused = 0;
    for (int round = 0; round < 10; round++) {
        struct task *a = start_reuse_round();
        EXPECT_TRUE(wait_parked_unlocked(shared, a));
        uint64_t seq = 700 + 2 * (uint64_t)round;
        struct task *spin = hand_a_its_message_under_a_spinner(seq);   /* takes A without the lock */
        struct msg32 out_b = {.seq = 0};
        struct task *b = spawn_on(recv_one, &out_b, other_core(1), QOS_DEFAULT);
        EXPECT_TRUE(wait_parked_unlocked(shared, b));
        reused += !atomic_load(&rec_a_done);
        if (!finish_reuse_round(spin, a, b, &out_b, seq))
            return;
    }
    EXPECT_GE(reused, 1);
    EXPECT_EQ(atomic_load(&shared->rx.word), CHAN_RX_FREE);
    chan_destroy(shared);
}

struct await_sender {
    struct async_task t;
    struct msg32 msg;
    int r;
};

static int await_sender_poll(struct async_task *t)
{
    struct await_sender *s = (struct await_sender *)t;
    ASYNC_BEGIN(t);
    ASYNC_AWAIT(t, s->r, chan_send_await(t, shared, &s->msg));
    ASYNC_END(t, s->r);
}

/* A receiver parked without the lock is a receiver to a select's send
 * case (its arm adopts it: the case is ready and its perform hands over)
 * and to a stackless sender's await (its lock adopts it, then the
 * hand-off to the waiting receiver): each returns at once with the message
 * delivered, and the record is free after each. */
TEST(chan, select_and_await_senders_find_a_receiver_parked_without_the_lock)
{
    shared = chan_create(sizeof(struct msg32), 1);
    if (!arm_shared())
        return;
    for (int round = 0; round < 6; round++) {
        struct msg32 out = {.seq = 0}, m = {.seq = 900 + (uint64_t)round};
        struct task *r = spawn_on(recv_one, &out, other_core(round), QOS_DEFAULT);
        EXPECT_TRUE(wait_parked_unlocked(shared, r));
        struct join_watch *w[2] = {join_watch_start(r, NULL)};
        if (round & 1) {
            struct sel_case cs[1];
            chan_case_send(&cs[0], shared, &m);
            struct sel s;
            sel_init(&s, cs, 1);
            EXPECT_EQ(sel_try(&s), 0);
        } else {
            struct async_attr attr = {.qos = QOS_DEFAULT, .cpu = other_core(round + 1)};
            struct await_sender *as = ASYNC_NEW(struct await_sender, await_sender_poll, &attr);
            EXPECT_TRUE(as != NULL);
            as->msg = m;
            async_start(&as->t);
            w[1] = join_watch_start(NULL, &as->t);
            int64_t v = 1;
            if (!JOINED_OR_LOST(w[1], &v, "the stackless sender")) {
                close_and_reap(shared, w, 2);
                return;
            }
            EXPECT_EQ(v, 0);
        }
        int64_t vr = 1;
        if (!JOINED_OR_LOST(w[0], &vr, "the receiver parked without the lock")) {
            close_and_reap(shared, w, 2);
            return;
        }
        EXPECT_EQ(vr, 0);
        EXPECT_EQ(out.seq, m.seq);
        EXPECT_EQ(atomic_load(&shared->rx.word), CHAN_RX_FREE);
        EXPECT_EQ(chan_receivers(shared), 0);
    }
    chan_destroy(shared);
}
