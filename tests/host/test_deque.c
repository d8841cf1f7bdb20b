/* Work-stealing deque (runtime/deque.c): exhaustive single-threaded
 * semantics against a model, and a pthread stress where every pushed item
 * is taken exactly once. */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <sr/deque.h>
#include <sr_test.h>

TEST(deque, init_rejects_bad_capacity_and_push_rejects_null)
{
    struct deque d;
    _Atomic(void *) s[8];
    EXPECT_EQ(deque_init(&d, s, 0), DEQUE_EINVAL);
    EXPECT_EQ(deque_init(&d, s, 6), DEQUE_EINVAL);
    EXPECT_EQ(deque_init(&d, NULL, 8), DEQUE_EINVAL);
    EXPECT_EQ(deque_init(&d, s, 8), DEQUE_OK);
    EXPECT_EQ(deque_capacity(&d), 8);
    EXPECT_EQ(deque_push(&d, NULL), DEQUE_EINVAL);
    EXPECT_EQ(deque_size(&d), 0);
    void *out = &d;
    EXPECT_EQ(deque_steal(&d, &out), DEQUE_EMPTY);
    EXPECT_TRUE(out == &d);            /* untouched on failure */
    EXPECT_TRUE(deque_pop(&d) == NULL);
}

TEST(deque, full_says_full_and_keeps_every_item)
{
    enum { CAP = 16 };
    struct deque d;
    _Atomic(void *) s[CAP];
    EXPECT_EQ(deque_init(&d, s, CAP), DEQUE_OK);
    for (uintptr_t i = 1; i <= CAP; i++)
        EXPECT_EQ(deque_push(&d, (void *)i), DEQUE_OK);
    EXPECT_EQ(deque_push(&d, (void *)99), DEQUE_FULL);
    EXPECT_EQ(deque_size(&d), CAP);
    void *x;
    EXPECT_EQ(deque_steal(&d, &x), DEQUE_OK);
    EXPECT_EQ((uintptr_t)x, 1);        /* thieves take the oldest */
    EXPECT_EQ(deque_push(&d, (void *)17), DEQUE_OK);   /* room again, slot reused */
    EXPECT_EQ(deque_push(&d, (void *)18), DEQUE_FULL);
    for (uintptr_t i = 17; i >= 2; i--)
        EXPECT_EQ((uintptr_t)deque_pop(&d), i);        /* owner takes the newest */
    EXPECT_TRUE(deque_pop(&d) == NULL);
    EXPECT_EQ(deque_size(&d), 0);
}

/* Every sequence of up to LEN operations (push / pop / steal) on a deque of
 * capacity CAP, checked step by step against an array model. */
TEST(deque, every_short_operation_sequence_matches_the_model)
{
    enum { CAP = 4, LEN = 9 };
    unsigned long sequences = 0;
    unsigned total = 1;
    for (int i = 0; i < LEN; i++)
        total *= 3;
    for (unsigned code = 0; code < total; code++) {
        struct deque d;
        _Atomic(void *) s[CAP];
        deque_init(&d, s, CAP);
        uintptr_t model[LEN];
        int lo = 0, hi = 0;            /* model[lo..hi) top to bottom */
        uintptr_t next = 1;
        unsigned c = code;
        for (int step = 0; step < LEN; step++, c /= 3) {
            switch (c % 3) {
            case 0: {                  /* push */
                int r = deque_push(&d, (void *)next);
                if (hi - lo == CAP) {
                    EXPECT_EQ(r, DEQUE_FULL);
                } else {
                    EXPECT_EQ(r, DEQUE_OK);
                    model[hi++] = next;
                }
                next++;
                break;
            }
            case 1: {                  /* pop */
                uintptr_t got = (uintptr_t)deque_pop(&d);
                EXPECT_EQ(got, hi > lo ? model[--hi] : 0);
                break;
            }
            default: {                 /* steal */
                void *x = NULL;
                int r = deque_steal(&d, &x);
                if (hi > lo) {
                    EXPECT_EQ(r, DEQUE_OK);
                    EXPECT_EQ((uintptr_t)x, model[lo++]);
                } else {
                    EXPECT_EQ(r, DEQUE_EMPTY);
                }
                break;
            }
            }
            EXPECT_EQ(deque_size(&d), (int64_t)(hi - lo));
        }
        sequences++;
    }
    EXPECT_EQ(sequences, total);
}

/* --- concurrent stress -------------------------------------------------------- */

enum { STRESS_ITEMS = 200000, STRESS_THIEVES = 3, STRESS_CAP = 64 };

struct stress {
    struct deque d;
    _Atomic(void *) slots[STRESS_CAP];
    _Atomic uint8_t taken[STRESS_ITEMS + 1];
    _Atomic uint64_t stolen, popped, full;
    _Atomic int done;
};

static void take(struct stress *s, void *x)
{
    uintptr_t i = (uintptr_t)x;
    if (i == 0 || i > STRESS_ITEMS)
        abort();
    atomic_fetch_add_explicit(&s->taken[i], 1, memory_order_relaxed);
}

static void *thief(void *arg)
{
    struct stress *s = arg;
    for (;;) {
        void *x;
        int r = deque_steal(&s->d, &x);
        if (r == DEQUE_OK) {
            take(s, x);
            atomic_fetch_add_explicit(&s->stolen, 1, memory_order_relaxed);
        } else if (r == DEQUE_EMPTY && atomic_load(&s->done)) {
            return NULL;
        }
    }
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Half-way through, the owner does not go on before some thief has stolen
 * an item: on a loaded host the thieves may not have run yet, and the
 * owner alone can take every item first (a run that raced nothing). It
 * keeps an item queued while it waits; the wait only bounds a hang (10 s)
 * and the check of stolen below still fails after it. Returns the next
 * item to push. */
static uintptr_t until_a_steal(struct stress *s, uintptr_t i)
{
    uint64_t give_up = mono_ns() + 10ull * 1000000000u;
    while (atomic_load(&s->stolen) == 0 && mono_ns() < give_up) {
        if (deque_size(&s->d) == 0 && deque_push(&s->d, (void *)i) == DEQUE_OK)
            i++;
        sched_yield();
    }
    return i;
}

TEST(deque, concurrent_owner_and_thieves_take_each_item_exactly_once)
{
    struct stress *s = calloc(1, sizeof *s);
    EXPECT_EQ(deque_init(&s->d, s->slots, STRESS_CAP), DEQUE_OK);
    pthread_t th[STRESS_THIEVES];
    for (int i = 0; i < STRESS_THIEVES; i++)
        pthread_create(&th[i], NULL, thief, s);
    unsigned rng = 12345;
    bool waited = false;
    for (uintptr_t i = 1; i <= STRESS_ITEMS;) {
        if (!waited && i == STRESS_ITEMS / 2) {
            i = until_a_steal(s, i);
            waited = true;
            continue;
        }
        rng = rng * 1103515245u + 12345u;
        if ((rng >> 16) % 3 != 0) {
            if (deque_push(&s->d, (void *)i) == DEQUE_OK)
                i++;
            else
                atomic_fetch_add(&s->full, 1);
        } else {
            void *x = deque_pop(&s->d);
            if (x) {
                take(s, x);
                atomic_fetch_add(&s->popped, 1);
            }
        }
    }
    for (void *x; (x = deque_pop(&s->d));) {
        take(s, x);
        atomic_fetch_add(&s->popped, 1);
    }
    atomic_store(&s->done, 1);
    for (int i = 0; i < STRESS_THIEVES; i++)
        pthread_join(th[i], NULL);
    unsigned long once = 0;
    for (uintptr_t i = 1; i <= STRESS_ITEMS; i++)
        once += atomic_load(&s->taken[i]) == 1;
    EXPECT_EQ(once, STRESS_ITEMS);
    EXPECT_EQ(atomic_load(&s->popped) + atomic_load(&s->stolen), STRESS_ITEMS);
    EXPECT_GT(atomic_load(&s->stolen), 0);   /* the thieves did race the owner */
    EXPECT_EQ(deque_size(&s->d), 0);
    free(s);
}
