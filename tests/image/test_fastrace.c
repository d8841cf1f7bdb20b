/*
 * Stress of the stop-16 fast paths against what other cores do to the
 * same tasks at the same time (review16, docs/performance.md):
 *  - run_class (the running class, rq->wake_key's class byte) against QoS
 *    changes of a task that is blocking: the block's hand-off to an equal
 *    switch key charges no class, so run_class must already be the
 *    blocking task's class whatever sched_set_qos did in its window;
 *  - the exit's lock-free read of a registered joiner and the join's
 *    lock-free read of DEAD, with joiners and children on every core;
 *  - untimed semaphore waits (a min frame, waiting_on left NULL) under
 *    task_cancel and interleaved with timed waits whose timeouts fire:
 *    neither may end an untimed wait, and no unit is lost or made up.
 * Counts are exact; each test is bounded by rounds, not by time.
 */
#include <stdatomic.h>
#include <arch/cpu.h>
#include <kernel/clock.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>
#include "../../kernel/sched/deadline.h"

/* The n-th online core after cpu (wrapping), n >= 0. */
static int core_after(int cpu, int n)
{
    uint32_t mask = smp_online_mask();
    int c = cpu;
    for (int i = 0; i < n; i++) {
        do
            c = (c + 1) % 32;
        while (!(mask & (1u << c)));
    }
    return c;
}

/* --- run_class against QoS changes of a blocking task ---------------------------- */

static struct semaphore ping, pong;
static _Atomic int class_bad, class_checks, pair_done;
static _Atomic unsigned flips_done;   /* QoS flips of both tasks so far */

/* Under this core's rq->lock: is the running class the class of the task
 * that runs (a plain task: flags 0)? */
static void check_run_class(void)
{
    uint64_t f = arch_irq_save();
    struct runqueue *rq = this_rq();
    spin_lock(&rq->lock);
    if (rq->run_class != sched_current()->qos)
        atomic_fetch_add(&class_bad, 1);
    spin_unlock(&rq->lock);
    arch_irq_restore(f);
    atomic_fetch_add(&class_checks, 1);
}

/* The two halves of a same-core ping-pong on untimed semaphore waits: every
 * block hands the core to the other task through runnext. */
static int64_t pinger(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        sem_post(&ping);
        if (sem_wait(&pong, WAIT_FOREVER) != 0)
            return -1;
        check_run_class();
        /* Every 1000 rounds, a flip at least: the QoS changes race the
         * hand-offs however the host shares its time between the cores
         * (a stalled flipper once let the pair finish after two flips). */
        if (i % 1000 == 999) {
            unsigned f = atomic_load(&flips_done);
            while (atomic_load(&flips_done) == f)
                ;
        }
    }
    atomic_fetch_add(&pair_done, 1);
    return rounds;
}

static int64_t ponger(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        if (sem_wait(&ping, WAIT_FOREVER) != 0)
            return -1;
        check_run_class();
        sem_post(&pong);
    }
    atomic_fetch_add(&pair_done, 1);
    return rounds;
}

/* The two run_class races' common start: the test task pins itself to its
 * core (*here; the pair goes to the next online one, *there), the pair's
 * semaphores and the class counters start afresh. Returns the test task's
 * affinity, to restore at the end. */
static uint32_t start_class_race(int *here, int *there)
{
    struct task *me = task_current();
    uint32_t affinity = me->affinity;
    *here = cpu_id();
    *there = core_after(*here, 1);
    task_set_affinity(me, 1u << *here);
    sem_init(&ping, 0);
    sem_init(&pong, 0);
    atomic_store(&class_bad, 0);
    atomic_store(&class_checks, 0);
    return affinity;
}

/* Keeps the pair's run-queue lock busy from a third core (the statistics
 * read takes it), so that the pair's blocks often wait for it, and the
 * QoS change that waits beside them takes it first as often as not. */
static int64_t lock_hammer(void *arg)
{
    int cpu = (int)(intptr_t)arg;
    struct sched_cpu_stats st;
    while (atomic_load(&pair_done) < 2)
        sched_cpu_stats(cpu, &st);
    return 0;
}

/* Another core moves both tasks between two classes while they block and
 * hand over to each other: a change that lands while one of them is
 * BLOCKED but still this core's current task (between its wait's start
 * and the pick) must still leave run_class equal to the class of whatever
 * runs next. */
TEST(fastrace, the_running_class_follows_qos_changes_that_race_a_blocking_hand_off)
{
    enum { ROUNDS = 12000 };
    if (smp_online_count() < 2)
        return;
    int here, there;
    struct task *me = task_current();
    uint32_t affinity = start_class_race(&here, &there);
    atomic_store(&pair_done, 0);
    atomic_store(&flips_done, 0);
    struct task_attr a = {.name = "ponger", .qos = QOS_DEFAULT, .affinity = 1u << there};
    struct task *b = task_spawn(ponger, (void *)(intptr_t)ROUNDS, &a);
    a.name = "pinger";
    struct task *p = task_spawn(pinger, (void *)(intptr_t)ROUNDS, &a);
    struct task *h[1] = {NULL};
    for (int i = 0; i < 1 && i + 2 < smp_online_count(); i++) {
        struct task_attr ha = {.name = "lock-hammer", .qos = QOS_DEFAULT,
                               .affinity = 1u << core_after(here, 2 + i)};
        h[i] = task_spawn(lock_hammer, (void *)(intptr_t)there, &ha);
    }
    EXPECT_TRUE(b && p);
    unsigned flips = 0;
    while (atomic_load(&pair_done) < 2) {
        enum qos q = (flips++ & 1) ? QOS_UTILITY : QOS_DEFAULT;
        task_set_qos(p, q);
        task_set_qos(b, q);
        atomic_store(&flips_done, flips);
    }
    int64_t vp = 0, vb = 0;
    for (int i = 0; i < 1; i++)
        if (h[i])
            EXPECT_EQ(task_join(h[i], NULL), TASK_EXITED);
    EXPECT_EQ(task_join(p, &vp), TASK_EXITED);
    EXPECT_EQ(task_join(b, &vb), TASK_EXITED);
    EXPECT_EQ(vp, ROUNDS);
    EXPECT_EQ(vb, ROUNDS);
    int checks = atomic_load(&class_checks), bad = atomic_load(&class_bad);
    EXPECT_EQ(checks, 2 * ROUNDS);
    EXPECT_EQ(bad, 0);
    task_set_affinity(me, affinity);
}

/* The same race, made to happen: the test holds the blocking task's
 * run-queue lock while the task starts its wait (BLOCKED, still the
 * running task, waiting for the lock) and changes its band under that lock
 * (sched_reband_locked, which sched_set_qos's test mirrors) to the class of
 * the runnext task it is about to hand the core to. */
static _Atomic int blocker_parked, partner_checks, block_round;
static struct task *volatile blocker_task;

/* Each round: wake the partner (into runnext: it is the only ready task),
 * say so and wait for the test's go, then block; until told to stop. */
static _Atomic int pair_stop;

static int64_t blocker(void *arg)
{
    (void)arg;
    int i = 0;
    for (; !atomic_load(&pair_stop); i++) {
        sem_post(&pong);
        atomic_store(&blocker_parked, i + 1);
        while (atomic_load(&block_round) <= i)
            ;
        if (sem_wait(&ping, WAIT_FOREVER) != 0)
            return -1;
    }
    return i;
}

/* Checks the running class each time it runs, until told to stop. */
static int64_t partner(void *arg)
{
    (void)arg;
    int i = 0;
    for (;; i++) {
        if (sem_wait(&pong, WAIT_FOREVER) != 0)
            return -1;
        if (atomic_load(&pair_stop))
            return i;
        check_run_class();
        atomic_fetch_add(&partner_checks, 1);
    }
}

static bool state_is(struct task *t, int state)
{
    return ((volatile struct task *)t)->state == state;
}

TEST(fastrace, a_band_change_while_a_task_blocks_keeps_the_running_class)
{
    enum { HITS = 1, MAX_ROUNDS = 300 };
    if (smp_online_count() < 2)
        return;
    int here, there;
    struct task *me = task_current();
    uint32_t affinity = start_class_race(&here, &there);
    struct runqueue *rq = &runqueues[there];
    atomic_store(&blocker_parked, 0);
    atomic_store(&partner_checks, 0);
    atomic_store(&block_round, 0);
    atomic_store(&pair_stop, 0);
    struct task_attr a = {.name = "partner", .qos = QOS_UTILITY, .affinity = 1u << there};
    struct task *p = task_spawn(partner, NULL, &a);
    while (p && !state_is(p, TASK_BLOCKED))
        ;
    a.name = "blocker";
    a.qos = QOS_DEFAULT;
    struct task *b = task_spawn(blocker, NULL, &a);
    blocker_task = b;
    EXPECT_TRUE(p && b);
    /* Rounds until the change lands in the window once (a round in which
     * an interrupt made the test let go of the lock may miss it); a hit
     * fails without the fix every time. */
    int in_window = 0, rounds = 0;
    for (int i = 0; b && p && in_window < HITS && i < MAX_ROUNDS; i++, rounds++) {
        while (atomic_load(&blocker_parked) <= i)
            ;
        uint64_t f = arch_irq_save();
        spin_lock(&rq->lock);
        atomic_store(&block_round, i + 1);   /* the blocker blocks */
        for (uint64_t since = clock_ns();;) {
            if (state_is(b, TASK_BLOCKED)) {
                if (rq->current == b) {   /* its pick waits for this lock */
                    sched_reband_locked(rq, b, QOS_UTILITY);
                    in_window++;
                }
                break;
            }
            uint64_t held = clock_ns() - since;
            if ((((volatile struct percpu *)&percpu[there])->in_irq && held > 1000 * 1000) ||
                held > 50 * 1000 * 1000) {
                /* An interrupt on its core (its slice's end) waits for
                 * this lock too, the blocker under it: let it through
                 * (until someone takes the lock, or 1 ms). */
                spin_unlock(&rq->lock);
                for (uint64_t gap = clock_ns();
                     !atomic_load(&rq->lock.locked) && clock_ns() - gap < 1000 * 1000;)
                    ;
                spin_lock(&rq->lock);
                since = clock_ns();
            }
        }
        spin_unlock(&rq->lock);
        arch_irq_restore(f);
        while (atomic_load(&partner_checks) <= i ||
               !(state_is(p, TASK_BLOCKED) || state_is(p, TASK_DEAD)))
            ;
        f = arch_irq_save();
        spin_lock(&rq->lock);
        sched_reband_locked(rq, b, QOS_DEFAULT);   /* blocked: back to its class */
        spin_unlock(&rq->lock);
        arch_irq_restore(f);
        if (in_window == HITS || i + 1 == MAX_ROUNDS)
            atomic_store(&pair_stop, 1);
        sem_post(&ping);
    }
    while (b && !state_is(b, TASK_DEAD))
        ;
    sem_post(&pong);   /* the partner sees the stop */
    int64_t v = 0;
    EXPECT_EQ(task_join(b, &v), TASK_EXITED);
    EXPECT_EQ(v, rounds);
    EXPECT_EQ(task_join(p, &v), TASK_EXITED);
    EXPECT_EQ(v, rounds);
    int checks = atomic_load(&class_checks), bad = atomic_load(&class_bad);
    EXPECT_EQ(checks, rounds);
    EXPECT_EQ(in_window, HITS);
    EXPECT_EQ(bad, 0);
    task_set_affinity(me, affinity);
}

/* --- joins and exits on every core ----------------------------------------------- */

static _Atomic int join_bad;

/* A child: spins a little (as arg says), sometimes yields, returns a value
 * derived from arg. */
static int64_t child(void *arg)
{
    uint64_t v = (uint64_t)(uintptr_t)arg;
    for (volatile unsigned i = 0; i < (v & 63); i++)
        ;
    if (v & 64)
        task_yield();
    return (int64_t)(v * 7 + 1);
}

/* Joins children spawned on its own core (runnext: the min-frame join)
 * and on the other cores (the locked registration, and the exit's wake
 * from another core), checking each value and status. */
static int64_t joiner(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    int here = cpu_id();
    int n = smp_online_count();
    for (int i = 0; i < rounds; i++) {
        uint64_t v = ((uint64_t)here << 20) + (uint64_t)i * 37;
        int target = core_after(here, i % n);
        struct task_attr a = {.name = "child", .qos = QOS_DEFAULT, .affinity = 1u << target};
        struct task *t = task_spawn(child, (void *)(uintptr_t)v, &a);
        if (!t) {
            atomic_fetch_add(&join_bad, 1);
            continue;
        }
        if (i & 1)
            for (volatile unsigned k = 0; k < ((unsigned)i & 31); k++)
                ;   /* let the child get ahead of the join now and then */
        int64_t got = -1;
        if (task_join(t, &got) != TASK_EXITED || got != (int64_t)(v * 7 + 1))
            atomic_fetch_add(&join_bad, 1);
    }
    return rounds;
}

TEST(fastrace, joins_of_children_on_every_core_see_each_exit_value)
{
    enum { ROUNDS = 120 };
    atomic_store(&join_bad, 0);
    uint32_t mask = smp_online_mask();
    struct task *j[32] = {0};
    for (int c = 0; c < 32; c++) {
        if (!(mask & (1u << c)))
            continue;
        struct task_attr a = {.name = "joiner", .qos = QOS_DEFAULT, .affinity = 1u << c};
        j[c] = task_spawn(joiner, (void *)(intptr_t)ROUNDS, &a);
        EXPECT_TRUE(j[c] != NULL);
    }
    for (int c = 0; c < 32; c++) {
        if (!j[c])
            continue;
        int64_t v = 0;
        EXPECT_EQ(task_join(j[c], &v), TASK_EXITED);
        EXPECT_EQ(v, ROUNDS);
    }
    int bad = atomic_load(&join_bad);
    EXPECT_EQ(bad, 0);
}

/* --- untimed waits under cancels and stale timeouts ------------------------------ */

static struct semaphore units;
static _Atomic int untimed_bad, waiters_done;
static _Atomic uint32_t taken;

/* Takes rounds units with untimed waits; before each, a timed wait whose
 * timeout mostly fires (and may take a unit too). Each untimed wait must
 * return 0: a cancel or a timeout armed for another wait cannot end it. */
static int64_t unit_waiter(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        int r = sem_wait(&units, 2000);
        if (r == 0)
            atomic_fetch_add(&taken, 1);
        else if (r != WAIT_TIMEOUT)
            atomic_fetch_add(&untimed_bad, 1);
        if (sem_wait(&units, WAIT_FOREVER) != 0)
            atomic_fetch_add(&untimed_bad, 1);
        else
            atomic_fetch_add(&taken, 1);
    }
    atomic_fetch_add(&waiters_done, 1);
    return rounds;
}

TEST(fastrace, untimed_waits_survive_cancels_and_timeouts_and_lose_no_unit)
{
    enum { ROUNDS = 300, WAITERS = 4 };
    if (smp_online_count() < 2)
        return;
    sem_init(&units, 0);
    atomic_store(&untimed_bad, 0);
    atomic_store(&waiters_done, 0);
    atomic_store(&taken, 0);
    int here = cpu_id();
    struct task *w[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        /* Two waiters share a core (the local wake and the hand-off), the
         * others are woken from another core. */
        struct task_attr a = {.name = "unit-waiter", .qos = QOS_DEFAULT,
                              .affinity = 1u << core_after(here, 1 + i / 2)};
        w[i] = task_spawn(unit_waiter, (void *)(intptr_t)ROUNDS, &a);
        EXPECT_TRUE(w[i] != NULL);
    }
    uint32_t posted = 0;
    while (atomic_load(&waiters_done) < WAITERS) {
        for (int i = 0; i < WAITERS; i++)
            task_cancel(w[i]);   /* ends no untimed (uninterruptible) wait */
        sem_post(&units);
        posted++;
        for (volatile int k = 0; k < 200; k++)
            ;
    }
    for (int i = 0; i < WAITERS; i++) {
        int64_t v = 0;
        EXPECT_EQ(task_join(w[i], &v), TASK_EXITED);
        EXPECT_EQ(v, ROUNDS);
    }
    int bad = atomic_load(&untimed_bad);
    uint32_t got = atomic_load(&taken), left = (uint32_t)units.count;
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(got + left, posted);
    EXPECT_GE(got, (uint32_t)(WAITERS * ROUNDS));
}

/* --- affinity changes of a blocked task ------------------------------------------- */

static struct semaphore repin_sem;
static _Atomic int repin_ran_on;

static int64_t repin_waiter(void *arg)
{
    (void)arg;
    if (sem_wait(&repin_sem, WAIT_FOREVER) != 0)
        return -1;
    atomic_store(&repin_ran_on, cpu_id());
    return 0;
}

static int64_t repin_poster(void *arg)
{
    (void)arg;
    sem_post(&repin_sem);
    return 0;
}

/* A task blocked on core a, pinned there and switched out, is pinned to
 * core b instead; a post from a (the local wake-up's key sees it blocked here and pinned)
 * or from a third core must start it on b, its only allowed core. */
TEST(fastrace, a_blocked_task_pinned_to_another_core_wakes_there)
{
    if (smp_online_count() < 3)
        return;
    int here = cpu_id();
    int a = core_after(here, 1), b = core_after(here, 2);
    for (int from_a = 0; from_a < 2; from_a++) {
        sem_init(&repin_sem, 0);
        atomic_store(&repin_ran_on, -1);
        struct task_attr at = {.name = "repin", .qos = QOS_DEFAULT, .affinity = 1u << a};
        struct task *t = task_spawn(repin_waiter, NULL, &at);
        EXPECT_TRUE(t != NULL);
        if (!t)
            return;
        /* Switched out (a task whose registers are still live on its core
         * is woken there: place_woken's on_cpu rule). */
        while (((volatile struct task *)t)->state != TASK_BLOCKED ||
               atomic_load(&t->on_cpu))
            ;
        task_set_affinity(t, 1u << b);
        if (from_a) {
            struct task_attr pa = {.name = "repin-post", .qos = QOS_DEFAULT, .affinity = 1u << a};
            struct task *p = task_spawn(repin_poster, NULL, &pa);
            EXPECT_TRUE(p != NULL);
            if (p)
                EXPECT_EQ(task_join(p, NULL), TASK_EXITED);
        } else {
            sem_post(&repin_sem);
        }
        int64_t v = -1;
        EXPECT_EQ(task_join(t, &v), TASK_EXITED);
        EXPECT_EQ(v, 0);
        int ran_on = atomic_load(&repin_ran_on);
        EXPECT_EQ(ran_on, b);
    }
}

/* --- affinity changes of a queued task --------------------------------------------- */

static _Atomic int stolen_cpu, stolen_pinned, hog_release, hog2_release;

static int64_t stolen_task(void *arg)
{
    (void)arg;
    atomic_store(&stolen_pinned, sched_current()->pinned);
    atomic_store(&stolen_cpu, cpu_id());
    return 0;
}

/* Keeps its core (a higher class than the queued task) until released, or
 * for a bounded count if the steal never comes (the test then fails on
 * where the queued task ran, instead of hanging). IRQs masked: no slice
 * ends on its core, so a task queued there cannot get the core by its
 * class's starvation bound, however long a host stall makes the test's
 * steps look to the guest (20 ms for the default class). */
static _Atomic int hogs_masked;   /* core_hogs running with IRQs masked */

static int64_t core_hog(void *arg)
{
    _Atomic int *release = arg;
    uint64_t flags = arch_irq_save();
    atomic_fetch_add(&hogs_masked, 1);
    for (uint32_t i = 0; i < 400000000u && !atomic_load(release); i++)
        ;
    atomic_fetch_sub(&hogs_masked, 1);
    arch_irq_restore(flags);
    return 0;
}

/* Spawns a core_hog of the user-interactive class on core cpu and waits
 * until it runs there with IRQs masked. */
static struct task *hog_core(int cpu, _Atomic int *release)
{
    atomic_store(release, 0);
    int masked = atomic_load(&hogs_masked);
    struct task_attr ha = {.name = "hog", .qos = QOS_USER_INTERACTIVE, .affinity = 1u << cpu};
    struct task *hog = task_spawn(core_hog, (void *)release, &ha);
    if (hog)
        while (atomic_load(&hogs_masked) == masked)
            ;
    return hog;
}

/* A task queued on core a behind a higher class is pinned to core b:
 * task_set_affinity moves it to b's queue at once, so when a frees up it
 * does not run there; it runs on b (at once if b is idle, else once b frees
 * up), pinned there (its wake-ups then take the local fast path; the
 * affinity change had unpinned it while it sat on a). */
static void check_queued_task_repinned(bool b_busy)
{
    int here = cpu_id();
    int a = core_after(here, 1), b = core_after(here, 2);
    atomic_store(&stolen_cpu, -1);
    atomic_store(&stolen_pinned, -1);
    struct task *hog_a = hog_core(a, &hog_release);
    struct task *hog_b = b_busy ? hog_core(b, &hog2_release) : NULL;
    EXPECT_TRUE(hog_a && (hog_b || !b_busy));
    struct task_attr qa = {.name = "queued", .qos = QOS_DEFAULT, .affinity = 1u << a};
    struct task *t = hog_a ? task_spawn(stolen_task, NULL, &qa) : NULL;
    if (t) {
        EXPECT_EQ(((volatile struct task *)t)->state, TASK_READY);
        task_set_affinity(t, 1u << b);
        EXPECT_EQ(task_cpu(t), b);
    }
    if (!b_busy && t)
        EXPECT_EQ(task_join(t, NULL), TASK_EXITED);   /* with a still busy */
    atomic_store(&hog_release, 1);
    if (hog_a)
        EXPECT_EQ(task_join(hog_a, NULL), TASK_EXITED);
    if (b_busy) {
        if (t)   /* a is idle now and may not take it */
            EXPECT_EQ(atomic_load(&stolen_cpu), -1);
        atomic_store(&hog2_release, 1);
        if (hog_b)
            EXPECT_EQ(task_join(hog_b, NULL), TASK_EXITED);
        if (t)
            EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    }
    if (t) {
        EXPECT_EQ(atomic_load(&stolen_cpu), b);
        EXPECT_EQ(atomic_load(&stolen_pinned), 1);
    }
}

TEST(fastrace, a_queued_task_pinned_to_an_idle_core_runs_there_pinned)
{
    if (smp_online_count() >= 3)
        check_queued_task_repinned(false);
}

TEST(fastrace, a_queued_task_pinned_to_a_busy_core_moves_there_at_once)
{
    if (smp_online_count() >= 3)
        check_queued_task_repinned(true);
}

/* --- a late timeout against the untimed wait after it (branch chan18) ---------------- */

/* An untimed wait takes no new wait number (only sched_block's waits do,
 * as they end): the number it runs under is the one the timed wait before
 * it armed its timeout with, bumped as that wait ended. The timeout's
 * callback is called here by hand, as a firing that lost the race to the
 * post would run it late, with the timed wait's number, while the waiter
 * is blocked in the untimed wait that follows: it must find no wait of
 * that number (the waiter stays blocked, its wait ends with the post's
 * unit, 0). Without the bump at the end of the timed wait the callback
 * takes the untimed wait for the timed one and wakes it with a timeout
 * (the untimed wait returns early, WAIT_TIMEOUT, its queue entry left
 * behind). */
static struct semaphore late_sem;
static _Atomic int late_phase;
static _Atomic int64_t late_untimed;

static int64_t late_waiter(void *arg)
{
    (void)arg;
    int timed = sem_wait(&late_sem, 1000000000);   /* posted well before its second */
    atomic_store(&late_phase, 1);
    atomic_store(&late_untimed, sem_wait(&late_sem, WAIT_FOREVER));
    atomic_store(&late_phase, 2);
    return timed;
}

TEST(fastrace, a_late_timeout_of_a_timed_wait_does_not_end_the_untimed_wait_after_it)
{
    int here = cpu_id(), there = core_after(here, 1);
    for (int round = 0; round < 20; round++) {
        sem_init(&late_sem, 0);
        atomic_store(&late_phase, 0);
        atomic_store(&late_untimed, -100);
        struct task_attr a = {.name = "late", .qos = QOS_DEFAULT, .affinity = 1u << there};
        struct task *t = task_spawn(late_waiter, NULL, &a);
        EXPECT_TRUE(t != NULL);
        if (!t)
            return;
        while (((volatile struct task *)t)->state != TASK_BLOCKED)
            ;
        sem_post(&late_sem);   /* ends the timed wait: its timer comes off */
        while (atomic_load(&late_phase) != 1 || ((volatile struct task *)t)->state != TASK_BLOCKED)
            ;
        struct timer tm = t->timer;   /* as the timed wait armed it */
        EXPECT_TRUE(tm.fn != NULL && tm.arg == t);
        if (tm.fn)
            tm.fn(tm.arg, tm.seq);
        task_sleep_ns(200000);
        EXPECT_EQ(atomic_load(&late_phase), 1);
        EXPECT_EQ(((volatile struct task *)t)->state, TASK_BLOCKED);
        sem_post(&late_sem);
        int64_t v = -1;
        EXPECT_EQ(task_join(t, &v), TASK_EXITED);
        EXPECT_EQ(v, 0);
        EXPECT_EQ(atomic_load(&late_untimed), 0);
        EXPECT_EQ(late_sem.count, 0);
    }
}
