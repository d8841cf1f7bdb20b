/*
 * The MPMC ring's lost-wake-up protocol (sr/mpmc_ring.h, "Lost wake-ups"):
 * a waiter that finds the operation it needs claimed but not published
 * watches its slot, and that operation's publish reports. First each
 * order of watch and publish, stopped in between on one thread; then a
 * pthread model of a blocking channel (a mutex, generation counters and
 * condition variables for the wait lists) whose producer and consumer stop
 * between claim and publish until the other side has parked. Without the
 * watch the model loses wake-ups, and the last test checks that it sees
 * them then.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sr/mpmc_ring.h>
#include <sr_test.h>
#include "mpmc_fixture.h"

static uint64_t seq_at(struct mpmc_ring *r, uint64_t pos)
{
    return atomic_load(mpmc_seq(mpmc_slot(r, pos * MPMC_STEP)));
}

TEST(mpmc_watch, a_receiver_watching_an_unpublished_push_gets_its_report)
{
    struct mpmc_ring *r = ring_new(4, 8);
    uint64_t v = 41, out = 0;
    struct mpmc_claim c;
    EXPECT_TRUE(mpmc_push_claim(r, 0, &c));          /* the producer stops here */
    mpmc_set_waiters(r);                             /* a receiver comes */
    EXPECT_TRUE(!mpmc_pop_locked(r, &out));          /* claimed, not published */
    EXPECT_TRUE(mpmc_watch_head(r));                 /* may wait: it will hear */
    EXPECT_EQ(seq_at(r, 0), MPMC_MARK);
    EXPECT_TRUE(mpmc_watch_head(r));                 /* watching twice is watching */
    memcpy(c.slot + MPMC_SEQ_BYTES, &v, 8);
    EXPECT_EQ(mpmc_push_publish(c), MPMC_DONE_MARKED);
    EXPECT_EQ(seq_at(r, 0), MPMC_FULL);              /* the publish took the mark out */
    EXPECT_TRUE(mpmc_pop_locked(r, &out));
    EXPECT_EQ(out, 41);
    mpmc_clear_waiters(r);
    EXPECT_EQ(mpmc_try_push(r, &v), MPMC_DONE);      /* next one unwatched */
    ring_free(r);
}

TEST(mpmc_watch, a_push_published_first_makes_the_watch_fail_and_is_popped)
{
    struct mpmc_ring *r = ring_new(4, 8);
    uint64_t v = 7, out = 0;
    struct mpmc_claim c;
    EXPECT_TRUE(mpmc_push_claim(r, 0, &c));
    mpmc_set_waiters(r);
    EXPECT_TRUE(!mpmc_pop_locked(r, &out));
    memcpy(c.slot + MPMC_SEQ_BYTES, &v, 8);
    EXPECT_EQ(mpmc_push_publish(c), MPMC_DONE);      /* nobody watched yet */
    EXPECT_TRUE(!mpmc_watch_head(r));                /* published: do not wait */
    EXPECT_EQ(seq_at(r, 0), MPMC_FULL);              /* no mark left */
    EXPECT_TRUE(mpmc_pop_locked(r, &out));
    EXPECT_EQ(out, 7);
    /* Nothing claimed: nothing to watch, the next push takes the lock. */
    EXPECT_TRUE(mpmc_watch_head(r));
    EXPECT_EQ(seq_at(r, 1), MPMC_STEP);
    EXPECT_EQ(mpmc_try_push(r, &v), MPMC_REFUSED);   /* flag set */
    ring_free(r);
}

TEST(mpmc_watch, a_sender_watching_an_unfinished_pop_gets_its_report_and_the_slot_is_clean)
{
    struct mpmc_ring *r = ring_new(2, 8);
    uint64_t a = 1, b = 2, x = 3, out = 0;
    struct mpmc_claim c;
    EXPECT_EQ(mpmc_try_push(r, &a), MPMC_DONE);
    EXPECT_EQ(mpmc_try_push(r, &b), MPMC_DONE);
    EXPECT_TRUE(mpmc_pop_claim(r, 0, &c));           /* the consumer stops here */
    memcpy(&out, c.slot + MPMC_SEQ_BYTES, 8);
    mpmc_set_waiters(r);                             /* a sender comes */
    EXPECT_TRUE(!mpmc_push_locked(r, &x));           /* still being read */
    EXPECT_TRUE(!mpmc_can_push(r));
    EXPECT_TRUE(mpmc_watch_tail(r));
    EXPECT_EQ(seq_at(r, 0), MPMC_FULL | MPMC_MARK);
    EXPECT_EQ(mpmc_pop_publish(c), MPMC_DONE_MARKED);
    EXPECT_EQ(out, 1);
    EXPECT_EQ(seq_at(r, 0), 2 * MPMC_STEP);          /* free for position 2, mark taken out */
    EXPECT_TRUE(mpmc_can_push(r));
    EXPECT_TRUE(mpmc_push_locked(r, &x));
    mpmc_clear_waiters(r);
    EXPECT_EQ(mpmc_try_pop(r, &out), MPMC_DONE);
    EXPECT_EQ(out, 2);
    EXPECT_EQ(mpmc_try_pop(r, &out), MPMC_DONE);
    EXPECT_EQ(out, 3);
    EXPECT_EQ(mpmc_try_push(r, &a), MPMC_DONE);      /* the slots take fast pushes again */
    EXPECT_EQ(mpmc_try_push(r, &b), MPMC_DONE);
    ring_free(r);
}

TEST(mpmc_watch, a_pop_finished_first_makes_the_watch_fail_and_a_left_mark_is_ignored)
{
    struct mpmc_ring *r = ring_new(2, 8);
    uint64_t a = 1, b = 2, x = 3, out = 0;
    struct mpmc_claim c;
    EXPECT_EQ(mpmc_try_push(r, &a), MPMC_DONE);
    EXPECT_EQ(mpmc_try_push(r, &b), MPMC_DONE);
    EXPECT_TRUE(mpmc_pop_claim(r, 0, &c));
    mpmc_set_waiters(r);
    EXPECT_EQ(mpmc_pop_publish(c), MPMC_DONE);
    EXPECT_TRUE(!mpmc_watch_tail(r));                /* room: do not wait */
    /* A mark a freeing add left and its consumer has not taken out yet:
     * the fast push refuses the slot, the locked one uses it. */
    atomic_fetch_or(mpmc_seq(mpmc_slot(r, 2 * MPMC_STEP)), MPMC_MARK);
    mpmc_clear_waiters(r);
    EXPECT_EQ(mpmc_try_push(r, &x), MPMC_REFUSED);
    EXPECT_TRUE(mpmc_can_push(r));
    EXPECT_TRUE(!mpmc_watch_tail(r));
    EXPECT_TRUE(mpmc_push_locked(r, &x));
    EXPECT_EQ(seq_at(r, 2), 2 * MPMC_STEP + MPMC_FULL);
    EXPECT_EQ(mpmc_try_pop(r, &out), MPMC_DONE);
    EXPECT_EQ(out, 2);
    EXPECT_EQ(mpmc_try_pop(r, &out), MPMC_DONE);
    EXPECT_EQ(out, 3);
    /* Full by capacity (a gated ring): room comes only from a pop through
     * the lock, nothing to watch. */
    ring_free(r);
    r = ring_new(3, 8);
    for (uint64_t i = 0; i < 3; i++)
        EXPECT_TRUE(mpmc_push_locked(r, &i));
    mpmc_set_waiters(r);
    EXPECT_TRUE(mpmc_watch_tail(r));
    for (uint64_t i = 0; i < 4; i++)
        EXPECT_EQ(seq_at(r, i) & MPMC_MARK, 0);
    ring_free(r);
}

/* The locked operations of a waiter (mpmc_pop_or_watch, mpmc_push_or_watch)
 * watch what they could not take, and take it when it lands first. */
TEST(mpmc_watch, the_locked_operations_of_a_waiter_watch_or_take)
{
    struct mpmc_ring *r = ring_new(2, 8);
    uint64_t a = 5, b = 6, out = 0;
    struct mpmc_claim c;
    EXPECT_TRUE(!mpmc_pop_or_watch(r, &out));          /* empty: nothing to watch */
    EXPECT_EQ(seq_at(r, 0), 0);
    EXPECT_TRUE(mpmc_push_claim(r, 0, &c));
    mpmc_set_waiters(r);
    EXPECT_TRUE(!mpmc_pop_or_watch(r, &out));          /* being written: watched */
    EXPECT_EQ(seq_at(r, 0), MPMC_MARK);
    memcpy(c.slot + MPMC_SEQ_BYTES, &a, 8);
    EXPECT_EQ(mpmc_push_publish(c), MPMC_DONE_MARKED);
    EXPECT_TRUE(mpmc_pop_or_watch(r, &out));
    EXPECT_EQ(out, 5);
    EXPECT_TRUE(mpmc_push_locked(r, &a));
    EXPECT_TRUE(mpmc_push_locked(r, &b));              /* full */
    EXPECT_TRUE(!mpmc_push_or_watch(r, &a));           /* by count: nothing to watch */
    mpmc_clear_waiters(r);
    EXPECT_TRUE(mpmc_pop_claim(r, 0, &c));             /* position 1, being read */
    mpmc_set_waiters(r);
    EXPECT_TRUE(!mpmc_push_or_watch(r, &a));
    EXPECT_EQ(seq_at(r, 1), MPMC_STEP + MPMC_FULL + MPMC_MARK);
    EXPECT_EQ(mpmc_pop_publish(c), MPMC_DONE_MARKED);
    EXPECT_TRUE(mpmc_push_or_watch(r, &a));            /* position 3 */
    EXPECT_TRUE(mpmc_pop_locked(r, &out));
    EXPECT_EQ(out, 6);
    EXPECT_TRUE(mpmc_pop_locked(r, &out));
    EXPECT_EQ(out, 5);
    EXPECT_TRUE(mpmc_drained(r));
    ring_free(r);
}

/* --- a blocking channel on the ring, two threads --------------------------------- */

enum { MESSAGES = 3000 };

/* Which side parks on a stalled claimer: the receiver (ping-pong: message
 * k is sent once k - 1 arrived, and received once its push has claimed,
 * which stalls until the receiver has parked) or the sender (the ring is
 * kept full: message i is sent once the pop of i - 2 has claimed, which
 * stalls until the sender has parked; the next pop waits for the refill).
 * Either way no later operation comes to wake a waiter the report missed. */
enum model_mode { RECEIVER_PARKS, SENDER_PARKS };

struct model {
    struct mpmc_ring *r;
    enum model_mode mode;
    bool watch;                         /* false: the protocol broken on purpose */
    uint64_t patience_ns;               /* a parked side gives up after this */
    pthread_mutex_t lock;
    pthread_cond_t recv_cv, send_cv;
    uint64_t recv_gen, send_gen;        /* settles so far: under lock */
    unsigned recv_waiting, send_waiting;
    _Atomic unsigned recv_parked, send_parked;
    _Atomic uint64_t pushes_claimed, sent, pops_claimed, received;
    _Atomic uint64_t lost;              /* parked past patience with its wish granted */
    _Atomic uint64_t marked_pushes, marked_pops;
    _Atomic bool stop;
    uint64_t out_of_order;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The owner's settle step, lock held: both kinds of waiter look again. */
static void settle_locked(struct model *m)
{
    m->recv_gen++;
    m->send_gen++;
    pthread_cond_broadcast(&m->recv_cv);
    pthread_cond_broadcast(&m->send_cv);
}

static void settle(struct model *m)
{
    pthread_mutex_lock(&m->lock);
    settle_locked(m);
    pthread_mutex_unlock(&m->lock);
}

static void unlock_synced(struct model *m)
{
    if (!m->recv_waiting && !m->send_waiting)
        mpmc_clear_waiters(m->r);
    pthread_mutex_unlock(&m->lock);
}

/* The test's own pacing (not the protocol): yield until *v >= want or the
 * run stops. */
static void wait_for(struct model *m, _Atomic uint64_t *v, uint64_t want)
{
    while (atomic_load(v) < want && !atomic_load(&m->stop))
        sched_yield();
}

/* A claimer stopped between claim and publish: until the other side has
 * parked (at most about 2 ms), so that it parks on the claimed slot. */
static void stall_until_parked(_Atomic unsigned *parked)
{
    uint64_t until = now_ns() + 2000000;
    while (!atomic_load(parked) && now_ns() < until)
        sched_yield();
}

/* Park until a settle (gen moves on) or patience runs out; the lock is
 * held. Giving up with the wish granted (granted() true) counts as a lost
 * wake-up: the message or the room came and nobody said so; the first
 * one ends the run. */
static void park(struct model *m, pthread_cond_t *cv, uint64_t *gen, _Atomic unsigned *parked,
                 bool (*granted)(struct mpmc_ring *))
{
    uint64_t seen = *gen;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t abs = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + m->patience_ns;
    ts = (struct timespec){.tv_sec = (time_t)(abs / 1000000000u), .tv_nsec = (long)(abs % 1000000000u)};
    int rc = 0;
    atomic_fetch_add(parked, 1);
    while (*gen == seen && rc == 0 && !atomic_load(&m->stop))
        rc = pthread_cond_timedwait(cv, &m->lock, &ts);
    atomic_fetch_sub(parked, 1);
    if (*gen == seen && granted(m->r) && !atomic_load(&m->stop)) {
        atomic_fetch_add(&m->lost, 1);
        atomic_store(&m->stop, true);
        settle_locked(m);
    }
}

static bool can_pop(struct mpmc_ring *r) { return mpmc_can_pop(r); }
static bool can_push(struct mpmc_ring *r) { return mpmc_can_push(r); }

static void model_send(struct model *m, uint64_t v)
{
    struct mpmc_claim c;
    if (mpmc_push_claim(m->r, 0, &c)) {
        atomic_fetch_add(&m->pushes_claimed, 1);
        if (m->mode == RECEIVER_PARKS)
            stall_until_parked(&m->recv_parked);
        memcpy(c.slot + MPMC_SEQ_BYTES, &v, sizeof(v));
        if (mpmc_push_publish(c) == MPMC_DONE_MARKED) {
            atomic_fetch_add(&m->marked_pushes, 1);
            settle(m);
        }
        return;
    }
    pthread_mutex_lock(&m->lock);
    m->send_waiting++;
    mpmc_set_waiters(m->r);
    /* As the channel's sender about to wait: the locked push watches. */
    while (!(m->watch ? mpmc_push_or_watch(m->r, &v) : mpmc_push_locked(m->r, &v)) &&
           !atomic_load(&m->stop))
        park(m, &m->send_cv, &m->send_gen, &m->send_parked, can_push);
    m->send_waiting--;
    settle_locked(m);
    unlock_synced(m);
}

static bool model_recv(struct model *m, uint64_t *out)
{
    struct mpmc_claim c;
    if (mpmc_pop_claim(m->r, 0, &c)) {
        atomic_fetch_add(&m->pops_claimed, 1);
        memcpy(out, c.slot + MPMC_SEQ_BYTES, sizeof(*out));
        if (m->mode == SENDER_PARKS)
            stall_until_parked(&m->send_parked);
        if (mpmc_pop_publish(c) == MPMC_DONE_MARKED) {
            atomic_fetch_add(&m->marked_pops, 1);
            settle(m);
        }
        return true;
    }
    pthread_mutex_lock(&m->lock);
    m->recv_waiting++;
    mpmc_set_waiters(m->r);
    bool got;
    while (!(got = m->watch ? mpmc_pop_or_watch(m->r, out) : mpmc_pop_locked(m->r, out)) &&
           !atomic_load(&m->stop))
        park(m, &m->recv_cv, &m->recv_gen, &m->recv_parked, can_pop);
    m->recv_waiting--;
    settle_locked(m);
    unlock_synced(m);
    return got;
}

static void *producer_main(void *arg)
{
    struct model *m = arg;
    for (uint64_t i = 0; i < MESSAGES && !atomic_load(&m->stop); i++) {
        if (m->mode == SENDER_PARKS && i >= 2)
            wait_for(m, &m->pops_claimed, i - 1);
        model_send(m, i);
        atomic_fetch_add(&m->sent, 1);
        if (m->mode == RECEIVER_PARKS)
            wait_for(m, &m->received, i + 1);
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    struct model *m = arg;
    uint64_t v;
    for (uint64_t k = 0; k < MESSAGES && !atomic_load(&m->stop); k++) {
        if (m->mode == RECEIVER_PARKS)
            wait_for(m, &m->pushes_claimed, k + 1);
        else                           /* the ring full: k and k + 1 in */
            wait_for(m, &m->sent, k + 2 < MESSAGES ? k + 2 : MESSAGES);
        if (!model_recv(m, &v))
            break;
        m->out_of_order += v != k;
        atomic_fetch_add(&m->received, 1);
    }
    return NULL;
}

static void run_model(struct model *m)
{
    m->r = ring_new(2, sizeof(uint64_t));
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->recv_cv, NULL);
    pthread_cond_init(&m->send_cv, NULL);
    pthread_t p, c;
    pthread_create(&p, NULL, producer_main, m);
    pthread_create(&c, NULL, consumer_main, m);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    pthread_cond_destroy(&m->recv_cv);
    pthread_cond_destroy(&m->send_cv);
    pthread_mutex_destroy(&m->lock);
}

/* Each mode with the protocol as it is: every message arrives once and in
 * order; no side ever sits parked with its message or room there
 * (patience 5 s, far above any stall here); and the parked side's wake-ups
 * did come from reports (the race happened). */
TEST(mpmc_watch, a_waiter_parked_on_a_stalled_claimer_is_always_woken)
{
    for (int mode = RECEIVER_PARKS; mode <= SENDER_PARKS; mode++) {
        struct model m = {.mode = (enum model_mode)mode, .watch = true, .patience_ns = 5000000000u};
        run_model(&m);
        EXPECT_EQ(atomic_load(&m.received), MESSAGES);
        EXPECT_EQ(m.out_of_order, 0);
        EXPECT_EQ(atomic_load(&m.lost), 0);
        EXPECT_GT(mode == RECEIVER_PARKS ? atomic_load(&m.marked_pushes) : atomic_load(&m.marked_pops), 0);
        EXPECT_TRUE(mpmc_drained(m.r));
        ring_free(m.r);
    }
}

/* The same runs with the watch left out: a side parks on the stalled
 * claimer and is not woken (patience 100 ms). So the test above can tell a
 * broken protocol. */
TEST(mpmc_watch, without_the_watch_the_model_loses_wake_ups)
{
    for (int mode = RECEIVER_PARKS; mode <= SENDER_PARKS; mode++) {
        struct model m = {.mode = (enum model_mode)mode, .watch = false, .patience_ns = 100000000u};
        run_model(&m);
        EXPECT_GT(atomic_load(&m.lost), 0);
        EXPECT_EQ(atomic_load(&m.marked_pushes) + atomic_load(&m.marked_pops), 0);
        ring_free(m.r);
    }
}
