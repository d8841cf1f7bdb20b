/*
 * The local wake-up's common way (kernel/sched/sched_wake.c,
 * wake_plain_local): a pinned waiter of the running class woken on this
 * core with nothing else ready goes to runnext without a preemption, and
 * must still start the running task's slice when none runs; a waiter of
 * any other class is not taken that way (a better one preempts at once).
 * The test task pins itself to its core for each test, so every post here
 * is a wake-up of a task blocked on the poster's own core.
 */
#include <stdatomic.h>
#include <kernel/clock.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>

#define MS (1000ull * 1000)

static struct semaphore go;
static _Atomic int steps;   /* rounds the waiter has completed */

static int steps_now(void) { return atomic_load(&steps); }

/* Waits on go arg times, counting each wake-up. */
static int64_t waiter(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        if (sem_wait(&go, WAIT_FOREVER) != 0)
            return -1;
        atomic_fetch_add(&steps, 1);
    }
    return rounds;
}

/* Spawn the waiter pinned to this core (the caller is pinned here too) in
 * class qos, and let it block. */
static struct task *start_waiter(int rounds, enum qos qos)
{
    sem_init(&go, 0);
    atomic_store(&steps, 0);
    struct task_attr a = {.name = "waiter", .qos = qos, .affinity = 1u << cpu_id()};
    struct task *t = task_spawn(waiter, (void *)(intptr_t)rounds, &a);
    while (((volatile struct task *)t)->state != TASK_BLOCKED)
        task_yield();
    return t;
}

/* What a post of go found, looked at with IRQs still masked: whether the
 * wake-up asks this core to switch, the waiter's steps and its state. */
struct post_look {
    bool resched;
    int steps;
    int state;
};

/* Post go with IRQs masked and look at once at the waiter t. (Masked, so
 * that a slice end on a slow host, or a lower class's starvation bound
 * running out, cannot run the waiter between the post and the look.) */
static struct post_look post_and_look(const struct task *t)
{
    uint64_t f = arch_irq_save();
    sem_post(&go);
    struct post_look l = {.resched = this_rq()->need_resched,
                          .steps = steps_now(),
                          .state = ((const volatile struct task *)t)->state};
    arch_irq_restore(f);
    return l;
}

/* The running task leaves the waiter's class for a lower one just before
 * each post: the waiter now outranks it and runs before sem_post returns;
 * back in the waiter's class, a post leaves the band-mate ready until the
 * poster yields. A wake-up that took the running class for the one it had
 * (or skipped the class test) would leave the better waiter queued. */
TEST(local_wake, a_waiter_of_the_class_the_poster_just_left_runs_before_the_post_returns)
{
    enum { ROUNDS = 5 };
    struct task *me = task_current();
    uint32_t affinity = me->affinity;
    enum qos mine = task_qos(me);
    task_set_affinity(me, 1u << cpu_id());
    task_set_qos(me, QOS_DEFAULT);
    struct task *t = start_waiter(2 * ROUNDS, QOS_DEFAULT);
    for (int i = 0; i < ROUNDS; i++) {
        EXPECT_EQ(steps_now(), 2 * i);
        task_set_qos(me, QOS_UTILITY);
        sem_post(&go);
        EXPECT_EQ(steps_now(), 2 * i + 1);   /* preempted by the better waiter */
        task_set_qos(me, QOS_DEFAULT);
        while (((volatile struct task *)t)->state != TASK_BLOCKED)
            task_yield();
        struct post_look l = post_and_look(t);
        EXPECT_TRUE(!l.resched);   /* a band-mate */
        EXPECT_EQ(l.steps, 2 * i + 1);
        EXPECT_EQ(l.state, TASK_READY);
        while (((volatile struct task *)t)->state != TASK_BLOCKED &&
               ((volatile struct task *)t)->state != TASK_DEAD)
            task_yield();
        EXPECT_EQ(steps_now(), 2 * i + 2);
    }
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, 2 * ROUNDS);
    EXPECT_EQ(go.count, 0);
    task_set_qos(me, mine);
    task_set_affinity(me, affinity);
}

/* Until rq's running task has no slice (the last one ended with nobody
 * waiting): true, or false after give_up_ns of spinning. */
static bool wait_for_no_slice(const struct runqueue *rq, uint64_t give_up_ns)
{
    uint64_t until = clock_ns() + give_up_ns;
    while (((const volatile struct runqueue *)rq)->slice_end != 0)
        if (clock_ns() > until)
            return false;
    return true;
}

/* The poster runs alone without a slice (tickless: pinned, nobody waits);
 * it posts a band-mate and spins without yielding. The wake-up must start
 * the poster's slice, whose end lets the band-mate run while the poster
 * still spins; a wake-up that skipped it would leave the band-mate waiting
 * until the poster blocked (here: until the spin's give-up, then fail). */
TEST(local_wake, a_band_mate_woken_while_no_slice_runs_gets_the_core_at_the_slice_end)
{
    enum { ROUNDS = 3 };
    struct task *me = task_current();
    uint32_t affinity = me->affinity;
    task_set_affinity(me, 1u << cpu_id());
    struct runqueue *rq = this_rq();
    struct task *t = start_waiter(ROUNDS, task_qos(me));
    for (int i = 0; i < ROUNDS; i++) {
        /* A slice that ends with nobody waiting is not renewed. */
        EXPECT_TRUE(wait_for_no_slice(rq, 5000 * MS));
        struct post_look l = post_and_look(t);
        EXPECT_TRUE(!l.resched);   /* a band-mate */
        EXPECT_EQ(l.steps, i);
        uint64_t give_up = clock_ns() + 5000 * MS;
        while (steps_now() == i && clock_ns() < give_up)
            ;   /* spin: only the slice's end can switch to the waiter */
        EXPECT_EQ(steps_now(), i + 1);
        while (((volatile struct task *)t)->state != TASK_BLOCKED &&
               ((volatile struct task *)t)->state != TASK_DEAD)
            task_yield();
    }
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, ROUNDS);
    task_set_affinity(me, affinity);
}

static struct semaphore back;

/* Waits on go, spins spin_ns, posts back: arg rounds. */
static int64_t spinning_waiter(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        if (sem_wait(&go, WAIT_FOREVER) != 0)
            return -1;
        uint64_t until = clock_ns() + 2 * MS;
        while (clock_ns() < until)
            ;
        atomic_fetch_add(&steps, 1);
        sem_post(&back);
    }
    return rounds;
}

/* The block's hand-off to the runnext task takes its shortest way only for
 * two plain tasks of one class (schedule_pick_on: equal switch keys). The
 * poster (default) posts a utility waiter, which lands in runnext, then
 * blocks: the hand-off to a task of another class must charge the utility
 * class for the waiter's spin on this core. A shortest way that ignored
 * the class would leave that time with the default class. */
TEST(local_wake, a_hand_off_to_a_task_of_another_class_charges_that_class)
{
    enum { ROUNDS = 4 };
    struct task *me = task_current();
    uint32_t affinity = me->affinity;
    enum qos mine = task_qos(me);
    task_set_affinity(me, 1u << cpu_id());
    task_set_qos(me, QOS_DEFAULT);
    sem_init(&go, 0);
    sem_init(&back, 0);
    atomic_store(&steps, 0);
    struct task_attr a = {.name = "utility", .qos = QOS_UTILITY, .affinity = 1u << cpu_id()};
    struct task *t = task_spawn(spinning_waiter, (void *)(intptr_t)ROUNDS, &a);
    while (((volatile struct task *)t)->state != TASK_BLOCKED)
        task_yield();
    struct sched_cpu_stats s0, s1;
    sched_cpu_stats(cpu_id(), &s0);
    for (int i = 0; i < ROUNDS; i++) {
        struct post_look l = post_and_look(t);
        EXPECT_TRUE(!l.resched);
        EXPECT_EQ(l.state, TASK_READY);   /* lower class: no preemption */
        EXPECT_EQ(sem_wait(&back, WAIT_FOREVER), 0);   /* the hand-off to it */
        while (((volatile struct task *)t)->state != TASK_BLOCKED &&
               ((volatile struct task *)t)->state != TASK_DEAD)
            task_yield();
    }
    sched_cpu_stats(cpu_id(), &s1);
    EXPECT_EQ(steps_now(), ROUNDS);
    EXPECT_GE(s1.class_busy_ns[QOS_UTILITY] - s0.class_busy_ns[QOS_UTILITY], ROUNDS * 2 * MS);
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, ROUNDS);
    task_set_qos(me, mine);
    task_set_affinity(me, affinity);
}
