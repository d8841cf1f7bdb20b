/*
 * The channel receive record's state word (sr/chan_rx.h): first each
 * transition from each state on one thread; then pthread races of the three
 * ways out of a park (a sender's take, the parker's withdraw, a lock
 * holder's adoption: exactly one wins each park); then a model of the
 * channel's lock and the park's test of it: a lock holder adopts at entry,
 * and a park it did not adopt never holds while it keeps the lock.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sr/chan_rx.h>
#include <sr_test.h>

static _Alignas(8) char tasks[2][8];
#define T1 ((uintptr_t)&tasks[0])
#define T2 ((uintptr_t)&tasks[1])

TEST(chan_rx, each_transition_happens_only_from_its_state)
{
    _Atomic uintptr_t w = CHAN_RX_FREE;
    EXPECT_TRUE(!chan_rx_parked(CHAN_RX_FREE));
    EXPECT_TRUE(chan_rx_parked(T1));
    EXPECT_TRUE(!chan_rx_parked(T1 | CHAN_RX_LINKED));
    EXPECT_EQ(chan_rx_adopt(&w), 0);                     /* nothing to adopt */
    EXPECT_TRUE(!chan_rx_withdraw(&w, T1));
    EXPECT_TRUE(chan_rx_publish(&w, T1));
    EXPECT_TRUE(!chan_rx_publish(&w, T2));               /* busy */
    EXPECT_TRUE(!chan_rx_link_locked(&w, T2));
    EXPECT_TRUE(!chan_rx_take(&w, T2));                  /* not the park in the word */
    EXPECT_TRUE(chan_rx_take(&w, T1));
    EXPECT_EQ(atomic_load(&w), CHAN_RX_FREE);
    EXPECT_TRUE(!chan_rx_withdraw(&w, T1));              /* taken: T1 must block */
    EXPECT_TRUE(chan_rx_publish(&w, T1));
    EXPECT_TRUE(chan_rx_withdraw(&w, T1));
    EXPECT_EQ(atomic_load(&w), CHAN_RX_FREE);
    EXPECT_TRUE(chan_rx_publish(&w, T2));
    EXPECT_EQ(chan_rx_adopt(&w), T2);
    EXPECT_EQ(atomic_load(&w), T2 | CHAN_RX_LINKED);
    EXPECT_EQ(chan_rx_adopt(&w), 0);                     /* adopted once */
    EXPECT_TRUE(!chan_rx_take(&w, T2));                  /* linked: the lock's now */
    EXPECT_TRUE(!chan_rx_withdraw(&w, T2));
    EXPECT_TRUE(!chan_rx_publish(&w, T1));
    chan_rx_free_locked(&w);
    EXPECT_TRUE(chan_rx_link_locked(&w, T1));
    EXPECT_EQ(atomic_load(&w), T1 | CHAN_RX_LINKED);
    EXPECT_TRUE(!chan_rx_publish(&w, T2));
    EXPECT_TRUE(!chan_rx_link_locked(&w, T2));
    chan_rx_free_locked(&w);
    EXPECT_EQ(atomic_load(&w), CHAN_RX_FREE);
}

/* --- exactly one way out of each park ------------------------------------------- */

enum { RACE_ROUNDS = 20000 };
static _Atomic uintptr_t race_word;
static _Atomic int race_round, race_ready;
static _Atomic int race_wins[RACE_ROUNDS];

static void race_start(int round)
{
    atomic_fetch_add(&race_ready, 1);
    while (atomic_load(&race_round) != round)
        sched_yield();
}

static void *race_taker(void *arg)
{
    (void)arg;
    for (int r = 1; r <= RACE_ROUNDS; r++) {
        race_start(r);
        uintptr_t w = atomic_load_explicit(&race_word, memory_order_relaxed);
        if (chan_rx_parked(w) && chan_rx_take(&race_word, w))
            atomic_fetch_add(&race_wins[r - 1], 1);
    }
    return NULL;
}

static void *race_adopter(void *arg)
{
    (void)arg;
    for (int r = 1; r <= RACE_ROUNDS; r++) {
        race_start(r);
        if (chan_rx_adopt(&race_word) == T1) {
            atomic_fetch_add(&race_wins[r - 1], 1);
            chan_rx_free_locked(&race_word);
        }
    }
    return NULL;
}

TEST(chan_rx, a_take_a_withdraw_and_an_adoption_racing_for_a_park_win_it_once)
{
    pthread_t a, b;
    atomic_store(&race_word, CHAN_RX_FREE);
    pthread_create(&a, NULL, race_taker, NULL);
    pthread_create(&b, NULL, race_adopter, NULL);
    int bad = 0;
    for (int r = 1; r <= RACE_ROUNDS; r++) {
        while (atomic_load(&race_ready) != 2)
            sched_yield();
        atomic_store(&race_ready, 0);
        bool published = chan_rx_publish(&race_word, T1);
        atomic_store(&race_round, r);   /* the others go */
        for (volatile int d = (r * 37) % 200; d > 0; d--)   /* the withdraw at varied times */
            ;
        if (published && chan_rx_withdraw(&race_word, T1))
            atomic_fetch_add(&race_wins[r - 1], 1);
        /* the others' end of the round: the word free again */
        while (atomic_load(&race_word) != CHAN_RX_FREE)
            sched_yield();
        bad += !published;
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    for (int r = 0; r < RACE_ROUNDS; r++)
        bad += atomic_load(&race_wins[r]) != 1;
    EXPECT_EQ(bad, 0);
}

/* --- the lock and the park ----------------------------------------------------- */

enum { LOCK_ROUNDS = 20000, DECIDING = 1, HELD, SAW_LOCK };
static _Atomic uint32_t model_lock;
static _Atomic uintptr_t model_word;
static _Atomic int model_state, model_stop, model_missed, model_adopted;

/* The parker: publish, then read the lock (seq_cst after the seq_cst
 * compare-and-swap); held: withdraw, or wait to be freed if adopted; free:
 * the park holds until a lock holder adopts (and frees) it. */
static void *model_parker(void *arg)
{
    (void)arg;
    for (int r = 0; r < LOCK_ROUNDS; r++) {
        atomic_store(&model_state, DECIDING);
        if (!chan_rx_publish(&model_word, T1))
            continue;
        bool held = atomic_load_explicit(&model_lock, memory_order_seq_cst);
        atomic_store(&model_state, held ? SAW_LOCK : HELD);
        if (held && chan_rx_withdraw(&model_word, T1))
            continue;
        while (atomic_load(&model_word) != CHAN_RX_FREE)
            sched_yield();
    }
    atomic_store(&model_stop, 1);
    return NULL;
}

TEST(chan_rx, a_lock_holder_adopts_every_park_that_holds_and_no_other_holds_under_it)
{
    pthread_t p;
    atomic_store(&model_word, CHAN_RX_FREE);
    pthread_create(&p, NULL, model_parker, NULL);
    while (!atomic_load(&model_stop)) {
        while (atomic_exchange_explicit(&model_lock, 1, memory_order_acquire))
            ;
        if (chan_rx_adopt(&model_word) == T1) {
            atomic_fetch_add(&model_adopted, 1);
            chan_rx_free_locked(&model_word);   /* as a hand-over would */
        }
        /* A park that this holder did not adopt must not hold now. */
        uintptr_t w = atomic_load(&model_word);
        if (chan_rx_parked(w)) {
            int s;
            while ((s = atomic_load(&model_state)) == DECIDING)
                ;
            model_missed += s == HELD;
        }
        atomic_store_explicit(&model_lock, 0, memory_order_release);
        sched_yield();
    }
    pthread_join(p, NULL);
    EXPECT_EQ(atomic_load(&model_missed), 0);
    EXPECT_GE(atomic_load(&model_adopted), 1);
}
