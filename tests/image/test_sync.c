/* Mutex, semaphore, event flags and condition variable: invariants under
 * all cores, timeouts, and the owner-died policy. */
#include <stdatomic.h>
#include <kernel/clock.h>
#include <kernel/condvar.h>
#include <kernel/event.h>
#include <kernel/mutex.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>
#include "image_test.h"

#define MS (1000ull * 1000)

static struct mutex mtx = MUTEX_INIT;
static uint64_t guarded;            /* only touched with mtx held */
static _Atomic int inside;          /* tasks inside the critical section */

static int64_t mutex_hammer(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        mutex_lock(&mtx);
        if (atomic_fetch_add(&inside, 1) != 0)
            return -1;
        uint64_t v = guarded;
        if (i % 16 == 0)
            task_yield();           /* hold it across a switch now and then */
        guarded = v + 1;
        atomic_fetch_sub(&inside, 1);
        mutex_unlock(&mtx);
    }
    return 0;
}

TEST(sync, mutex_excludes_under_all_cores)
{
    enum { TASKS = 16, ROUNDS = 300 };
    struct task *t[TASKS];
    guarded = 0;
    for (int i = 0; i < TASKS; i++)
        t[i] = task_spawn(mutex_hammer, (void *)(intptr_t)ROUNDS, NULL);
    for (int i = 0; i < TASKS; i++) {
        int64_t v = 1;
        EXPECT_EQ(task_join(t[i], &v), TASK_EXITED);
        EXPECT_EQ(v, 0);
    }
    EXPECT_EQ(guarded, (uint64_t)TASKS * ROUNDS);
    EXPECT_TRUE(mutex_owner(&mtx) == NULL);
}

/* Holds mtx until the test lets go: no step depends on guest time, which
 * under an emulator follows however the host schedules the vCPUs. */
static struct semaphore mtx_held, mtx_release;

static int64_t hold_mutex_until_released(void *arg)
{
    (void)arg;
    mutex_lock(&mtx);
    sem_post(&mtx_held);
    sem_wait(&mtx_release, WAIT_FOREVER);
    mutex_unlock(&mtx);
    return 0;
}

TEST(sync, mutex_lock_times_out_without_acquiring)
{
    sem_init(&mtx_held, 0);
    sem_init(&mtx_release, 0);
    struct task *h = task_spawn(hold_mutex_until_released, NULL, NULL);
    EXPECT_EQ(sem_wait(&mtx_held, WAIT_FOREVER), 0);
    uint64_t t0 = clock_ns();
    EXPECT_EQ(mutex_lock_timeout(&mtx, 3 * MS), WAIT_TIMEOUT);
    EXPECT_GE(clock_ns() - t0, 3 * MS);
    EXPECT_TRUE(mutex_owner(&mtx) == h);
    sem_post(&mtx_release);
    EXPECT_EQ(mutex_lock_timeout(&mtx, WAIT_FOREVER), 0);   /* granted when h lets go */
    EXPECT_TRUE(mutex_owner(&mtx) == task_current());
    mutex_unlock(&mtx);
    task_join(h, NULL);
}

static int64_t die_holding(void *arg)
{
    (void)arg;
    mutex_lock(&mtx);
    *(volatile int *)opaque_ptr(0) = 1;   /* killed here, mutex held */
    return 0;
}

TEST(sync, mutex_of_a_dead_owner_is_released_with_notice)
{
    struct task *t = task_spawn(die_holding, NULL, NULL);
    EXPECT_EQ(task_join(t, NULL), TASK_FAULTED);
    EXPECT_EQ(mutex_lock(&mtx), WAIT_OWNER_DIED);
    mutex_unlock(&mtx);
    EXPECT_EQ(mutex_lock(&mtx), 0);   /* reported once */
    mutex_unlock(&mtx);
}

/* Semaphores: bounded buffer of tokens between producers and consumers. */
static struct semaphore slots, items;
static _Atomic int64_t in_buffer, produced, consumed;

static int64_t producer(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) {
        sem_wait(&slots, WAIT_FOREVER);
        if (atomic_fetch_add(&in_buffer, 1) >= 4)
            return -1;   /* over capacity */
        atomic_fetch_add(&produced, 1);
        sem_post(&items);
    }
    return 0;
}

static int64_t consumer(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) {
        sem_wait(&items, WAIT_FOREVER);
        if (atomic_fetch_sub(&in_buffer, 1) <= 0)
            return -1;   /* took what was not there */
        atomic_fetch_add(&consumed, 1);
        sem_post(&slots);
    }
    return 0;
}

TEST(sync, semaphores_bound_a_buffer_under_contention)
{
    enum { PAIRS = 4, N = 150 };
    sem_init(&slots, 4);
    sem_init(&items, 0);
    atomic_store(&in_buffer, 0);
    atomic_store(&produced, 0);
    atomic_store(&consumed, 0);
    struct task *t[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        t[2 * i] = task_spawn(producer, (void *)(intptr_t)N, NULL);
        t[2 * i + 1] = task_spawn(consumer, (void *)(intptr_t)N, NULL);
    }
    for (int i = 0; i < 2 * PAIRS; i++) {
        int64_t v = 1;
        task_join(t[i], &v);
        EXPECT_EQ(v, 0);
    }
    EXPECT_EQ(atomic_load(&produced), PAIRS * N);
    EXPECT_EQ(atomic_load(&consumed), PAIRS * N);
    EXPECT_EQ(slots.count, 4);
    EXPECT_EQ(items.count, 0);
}

TEST(sync, sem_wait_times_out_and_trywait_fails)
{
    struct semaphore s = SEM_INIT(0);
    uint64_t t0 = clock_ns();
    EXPECT_EQ(sem_wait(&s, 2 * MS), WAIT_TIMEOUT);
    EXPECT_GE(clock_ns() - t0, 2 * MS);
    EXPECT_TRUE(!sem_trywait(&s));
    sem_post(&s);
    EXPECT_TRUE(sem_trywait(&s));
    EXPECT_TRUE(waitq_empty(&s.wq));
}

/* Event flags. */
static struct event_flags ev = EVENT_FLAGS_INIT;

static int64_t wait_all_bits(void *arg)
{
    uint32_t got = 0;
    int r = event_wait(&ev, (uint32_t)(uintptr_t)arg, EVENT_ALL | EVENT_CLEAR, WAIT_FOREVER, &got);
    return r == 0 ? (int64_t)got : -1;
}

TEST(sync, event_flags_any_all_and_clear)
{
    event_init(&ev);
    struct task *t = task_spawn(wait_all_bits, (void *)(uintptr_t)0x5, NULL);
    task_sleep_ns(1 * MS);
    event_set(&ev, 0x1);            /* not all yet */
    task_sleep_ns(1 * MS);
    event_set(&ev, 0x4 | 0x8);      /* now 0x5 is complete */
    int64_t got = 0;
    task_join(t, &got);
    EXPECT_EQ(got, 0x5);
    EXPECT_EQ(event_get(&ev), 0x8);  /* 0x5 consumed, 0x8 kept */
    uint32_t any = 0;
    EXPECT_EQ(event_wait(&ev, 0x18, 0, WAIT_FOREVER, &any), 0);
    EXPECT_EQ(any, 0x8);
    EXPECT_EQ(event_wait(&ev, 0x2, 0, 1 * MS, &any), WAIT_TIMEOUT);
}

/* Condition variable: a counter handed between tasks in strict turns. */
static struct mutex cv_mtx = MUTEX_INIT;
static struct condvar cv = CONDVAR_INIT;
static int turn, turns_taken;

static int64_t take_turns(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int i = 0; i < 50; i++) {
        mutex_lock(&cv_mtx);
        while (turn != me)
            condvar_wait(&cv, &cv_mtx, WAIT_FOREVER);
        turns_taken++;
        turn = (turn + 1) % 4;
        condvar_broadcast(&cv);
        mutex_unlock(&cv_mtx);
    }
    return 0;
}

TEST(sync, condvar_turn_taking_across_cores)
{
    turn = 0;
    turns_taken = 0;
    struct task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = task_spawn(take_turns, (void *)(intptr_t)i, NULL);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(task_join(t[i], NULL), TASK_EXITED);
    EXPECT_EQ(turns_taken, 200);
    EXPECT_EQ(turn, 0);
}

TEST(sync, condvar_wait_times_out_holding_the_mutex)
{
    mutex_lock(&cv_mtx);
    uint64_t t0 = clock_ns();
    EXPECT_EQ(condvar_wait(&cv, &cv_mtx, 2 * MS), WAIT_TIMEOUT);
    EXPECT_GE(clock_ns() - t0, 2 * MS);
    EXPECT_TRUE(mutex_owner(&cv_mtx) == task_current());
    mutex_unlock(&cv_mtx);
}

/* A timed wait ended by a post while its timeout fires must not leak into
 * the next wait: a wait without a timeout then ends only by a post. Pairs
 * of tasks on different cores race posts against 20 us timeouts, and each
 * waiter then waits forever for a second post: a stale timeout would end
 * that wait with WAIT_TIMEOUT. */
struct race_pair {
    struct semaphore timed, forever;
    _Atomic int stale;    /* forever-waits that did not end by a post */
};

static int64_t race_waiter(void *arg)
{
    struct race_pair *p = arg;
    for (int i = 0; i < 400; i++) {
        sem_wait(&p->timed, 20 * 1000);   /* a post or a timeout: either is fine */
        if (sem_wait(&p->forever, WAIT_FOREVER) != 0)
            atomic_fetch_add(&p->stale, 1);
    }
    return 0;
}

static int64_t race_poster(void *arg)
{
    struct race_pair *p = arg;
    for (int i = 0; i < 400; i++) {
        uint64_t until = clock_ns() + 20 * 1000;   /* post near the waiter's deadline */
        while (clock_ns() < until)
            ;
        sem_post(&p->timed);
        sem_post(&p->forever);
        task_yield();
    }
    return 0;
}

TEST(sync, a_timeout_never_ends_a_later_wait)
{
    enum { PAIRS = 4 };
    static struct race_pair pairs[PAIRS];
    struct task *w[PAIRS], *p[PAIRS];
    int n = platform.ncpus;
    for (int i = 0; i < PAIRS; i++) {
        sem_init(&pairs[i].timed, 0);
        sem_init(&pairs[i].forever, 0);
        atomic_store(&pairs[i].stale, 0);
        struct task_attr wa = {.name = "waiter", .affinity = n > 1 ? 1u << ((2 * i) % n) : 0};
        struct task_attr pa = {.name = "poster", .affinity = n > 1 ? 1u << ((2 * i + 1) % n) : 0};
        w[i] = task_spawn(race_waiter, &pairs[i], &wa);
        p[i] = task_spawn(race_poster, &pairs[i], &pa);
    }
    for (int i = 0; i < PAIRS; i++) {
        EXPECT_EQ(task_join(w[i], NULL), TASK_EXITED);
        EXPECT_EQ(task_join(p[i], NULL), TASK_EXITED);
        EXPECT_EQ(atomic_load(&pairs[i].stale), 0);
    }
}

/* sem13: a post wakes with the semaphore's lock released in the wake-up and
 * acts on the reschedule it owes there; an untimed wait blocks in one frame. */

static struct semaphore better_go;
static volatile int better_steps;

static int64_t better_waiter(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        if (sem_wait(&better_go, WAIT_FOREVER) != 0)
            return -1;
        better_steps++;
    }
    return rounds;
}

/* A user-interactive waiter on the poster's core runs before sem_post
 * returns, every time (the post owes this core a reschedule). */
TEST(sync, a_post_runs_a_better_waiter_on_this_core_before_returning)
{
    enum { ROUNDS = 5 };
    sem_init(&better_go, 0);
    better_steps = 0;
    struct task_attr a = {.name = "better", .qos = QOS_USER_INTERACTIVE,
                          .affinity = 1u << cpu_id()};
    struct task *t = task_spawn(better_waiter, (void *)(intptr_t)ROUNDS, &a);
    for (int i = 0; i < ROUNDS; i++) {
        while (((volatile struct task *)t)->state != TASK_BLOCKED)
            task_yield();
        EXPECT_EQ(better_steps, i);
        sem_post(&better_go);
        EXPECT_EQ(better_steps, i + 1);
    }
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, ROUNDS);
    EXPECT_EQ(better_go.count, 0);
}

static struct semaphore ping_sem, pong_sem;

static int64_t ponger_here(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        if (sem_wait(&ping_sem, WAIT_FOREVER) != 0)
            return -1;
        sem_post(&pong_sem);
    }
    return rounds;
}

/* The test task and a band-mate pinned to its core ping-pong: every round
 * is one switch each way, no unit is lost or left over, and each wait ends
 * with the waiter off the queue (waiting_on cleared). */
TEST(sync, same_core_ping_pong_switches_once_per_half_round)
{
    enum { ROUNDS = 50 };
    sem_init(&ping_sem, 0);
    sem_init(&pong_sem, 0);
    struct task *me = sched_current();
    struct task_attr a = {.name = "ponger", .qos = me->qos, .affinity = 1u << cpu_id()};
    struct task_stats before, after, pong;
    task_get_stats(me, &before);
    struct task *t = task_spawn(ponger_here, (void *)(intptr_t)ROUNDS, &a);
    int bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        sem_post(&ping_sem);
        bad += sem_wait(&pong_sem, WAIT_FOREVER) != 0;
        bad += me->waiting_on != NULL;
    }
    task_get_stats(me, &after);
    task_get_stats(t, &pong);
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(v, ROUNDS);
    EXPECT_EQ(pong.switches, ROUNDS);
    EXPECT_EQ(after.switches - before.switches, ROUNDS);
    EXPECT_EQ(ping_sem.count, 0);
    EXPECT_EQ(pong_sem.count, 0);
    EXPECT_TRUE(waitq_empty(&ping_sem.wq) && waitq_empty(&pong_sem.wq));
}

/* semmin16: an untimed sem_wait switches with a min frame in the caller
 * (waitq_wait_min_finish) only when the caller has IRQs enabled, and
 * enables them after the switch; a caller with IRQs masked gets the whole
 * wait from the scheduler and keeps them masked. */

static struct semaphore masked_go;
static _Atomic int masked_posted;

static int64_t post_masked_go(void *arg)
{
    (void)arg;
    atomic_store(&masked_posted, 1);
    sem_post(&masked_go);
    return 0;
}

/* The test task waits untimed twice on a semaphore its band-mate posts
 * (the band-mate runs only once the test task blocks): first with IRQs
 * masked (a full frame, IRQs still masked after), then with IRQs enabled
 * (a min frame, IRQs enabled after). */
TEST(sync, an_untimed_wait_keeps_the_callers_irq_state_and_takes_a_min_frame_only_when_enabled)
{
    struct task *me = task_current();
    for (int masked = 1; masked >= 0; masked--) {
        sem_init(&masked_go, 0);
        atomic_store(&masked_posted, 0);
        struct task_attr a = {.name = "post-go", .qos = task_qos(me), .affinity = 1u << cpu_id()};
        struct task *t = task_spawn(post_masked_go, NULL, &a);
        EXPECT_TRUE(t != NULL);
        if (!t)
            return;
        uint64_t flags = arch_irq_save();
        /* With IRQs masked nothing preempts this task: if the band-mate
         * has not run yet, it runs only once this wait blocks. */
        bool blocks = !atomic_load(&masked_posted);
        if (!masked)
            arch_irq_restore(flags);
        int r = sem_wait(&masked_go, WAIT_FOREVER);
        bool enabled = arch_irqs_enabled();
        uint64_t tag = __atomic_load_n(&me->sp, __ATOMIC_RELAXED) & TASK_SP_MIN_TAG;
        arch_irq_restore(flags);
        EXPECT_EQ(r, 0);
        EXPECT_EQ(enabled, !masked);
        EXPECT_TRUE(me->waiting_on == NULL);
        if (blocks)
            EXPECT_EQ(tag == TASK_SP_MIN_TAG, !masked);
        EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
        EXPECT_EQ(masked_go.count, 0);
    }
}
