/*
 * Wake-ups from an idle core's own interrupt dispatch (kernel/sched/sched.c:
 * wake_onto_idle, idle_handoff_repick, the idle loop's switch that saves
 * nothing). The interrupt is a cross-call (smp_call) to a core whose only
 * tasks are blocked, so its idle loop dispatches it; the call posts
 * semaphores those tasks wait on.
 */
#include <stdatomic.h>
#include <kernel/clock.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <kernel/waitq_inline.h>
#include <sr_test.h>

static struct semaphore sem_low, sem_low2, sem_high;
static _Atomic int order[3], order_n;

/* A waiter: blocks on its semaphore, then notes its turn and reports its
 * own accounting as of that moment. */
struct waiter {
    struct semaphore *sem;
    int id;
    int cpu;
    struct task_stats stats;
    uint64_t noted_ns;       /* clock_ns() once all the above was noted */
};

static int64_t wait_and_note(void *arg)
{
    struct waiter *w = arg;
    sem_wait(w->sem, WAIT_FOREVER);
    atomic_store(&order[atomic_fetch_add(&order_n, 1)], w->id);
    w->cpu = cpu_id();
    task_get_stats(task_current(), &w->stats);
    w->noted_ns = clock_ns();
    return 0;
}

static void post_low(void *arg)
{
    (void)arg;
    sem_post(&sem_low);
}

static uint64_t posted_ns;

static void post_low_low2_high(void *arg)
{
    (void)arg;
    posted_ns = clock_ns();   /* before any of them can run */
    sem_post(&sem_low);    /* the idle core's handoff goes to this one first */
    sem_post(&sem_low2);   /* the same band: queued behind it */
    sem_post(&sem_high);   /* then a better task: it must run first */
}

static void nothing(void *arg) { (void)arg; }

/* Once a task of core c has blocked or exited, c's switch away from it may
 * still be under way: a cross-call runs only when c takes interrupts
 * again, in its idle loop, after that switch was counted. */
static void settle(int c) { smp_call(c, nothing, NULL); }

static int idle_core(void)
{
    for (int c = platform.ncpus - 1; c >= 0; c--)
        if (smp_cpu_online(c) && c != cpu_id())
            return c;
    return -1;
}

static void until_blocked(struct semaphore *s)
{
    while (waitq_empty(&s->wq))
        task_yield();
}

/* One wake-up from the dispatch: the task runs on that core at once,
 * switched in exactly twice (its start, its wake-up); the core counts
 * exactly the switches to and from it. */
TEST(idle_wake, woken_task_runs_next_with_exact_counts)
{
    int c = idle_core();
    if (c < 0)
        return;
    sem_init(&sem_low, 0);
    atomic_store(&order_n, 0);
    struct waiter low = {.sem = &sem_low, .id = 1, .cpu = -1};
    struct task_attr a = {.name = "low", .qos = QOS_UTILITY, .affinity = 1u << c};
    struct task *t = task_spawn(wait_and_note, &low, &a);
    EXPECT_TRUE(t != NULL);
    if (!t)
        return;
    until_blocked(&sem_low);
    settle(c);   /* its switch away, after it joined the wait queue, counted */
    struct sched_cpu_stats s0, s1;
    sched_cpu_stats(c, &s0);
    smp_call(c, post_low, NULL);
    EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    settle(c);
    sched_cpu_stats(c, &s1);
    EXPECT_EQ(low.cpu, c);
    EXPECT_EQ(low.stats.switches, 2);
    EXPECT_EQ(s1.switches - s0.switches, 2);   /* idle -> low, low -> idle at its exit */
    EXPECT_EQ(s1.nr_ready, 0);
}

/* Three wake-ups in one dispatch, the better task last: the first was
 * handed the core while idle still ran, the second queued behind it, and
 * the third asks for a reschedule. The better one runs first, then the
 * other two in the order they were woken; each is switched in only when
 * it really runs (the handoff uncounted).
 * The two lows share a band: a slice end (SCHED_SLICE_NS) while the first
 * runs would rightly switch to the second, which a host stall of that
 * length brings about. So a round counts only when the posts and the last
 * waiter's notes were less than a slice apart (no slice could end in
 * between); a round that took longer is run again (a real fault fails
 * every round). Returns whether the round counted. */
static bool better_task_round(int c)
{
    sem_init(&sem_low, 0);
    sem_init(&sem_low2, 0);
    sem_init(&sem_high, 0);
    atomic_store(&order_n, 0);
    struct waiter low = {.sem = &sem_low, .id = 1, .cpu = -1};
    struct waiter low2 = {.sem = &sem_low2, .id = 3, .cpu = -1};
    struct waiter high = {.sem = &sem_high, .id = 2, .cpu = -1};
    struct task_attr la = {.name = "low", .qos = QOS_UTILITY, .affinity = 1u << c};
    struct task_attr ha = {.name = "high", .qos = QOS_USER_INTERACTIVE, .affinity = 1u << c};
    /* Each blocks before the next exists: none preempts another. */
    struct task *lt = task_spawn(wait_and_note, &low, &la);
    if (lt)
        until_blocked(&sem_low);
    struct task *lt2 = task_spawn(wait_and_note, &low2, &la);
    if (lt2)
        until_blocked(&sem_low2);
    struct task *ht = task_spawn(wait_and_note, &high, &ha);
    if (ht)
        until_blocked(&sem_high);
    EXPECT_TRUE(lt && lt2 && ht);
    settle(c);
    struct sched_cpu_stats s0, s1;
    sched_cpu_stats(c, &s0);
    smp_call(c, post_low_low2_high, NULL);
    if (ht)
        EXPECT_EQ(task_join(ht, NULL), TASK_EXITED);
    if (lt)
        EXPECT_EQ(task_join(lt, NULL), TASK_EXITED);
    if (lt2)
        EXPECT_EQ(task_join(lt2, NULL), TASK_EXITED);
    if (!lt || !lt2 || !ht)
        return true;
    settle(c);
    sched_cpu_stats(c, &s1);
    uint64_t last = low.noted_ns;
    if (low2.noted_ns > last)
        last = low2.noted_ns;
    if (high.noted_ns > last)
        last = high.noted_ns;
    if (last - posted_ns >= SCHED_SLICE_NS)
        return false;
    EXPECT_EQ(atomic_load(&order_n), 3);
    EXPECT_EQ(atomic_load(&order[0]), 2);   /* high first */
    EXPECT_EQ(atomic_load(&order[1]), 1);   /* then the lows, as woken */
    EXPECT_EQ(atomic_load(&order[2]), 3);
    EXPECT_EQ(high.cpu, c);
    EXPECT_EQ(low.cpu, c);
    EXPECT_EQ(low2.cpu, c);
    EXPECT_EQ(high.stats.switches, 2);
    EXPECT_EQ(low.stats.switches, 2);
    EXPECT_EQ(low2.stats.switches, 2);
    EXPECT_EQ(s1.switches - s0.switches, 4);   /* idle -> high -> low -> low2 -> idle */
    EXPECT_EQ(s1.nr_ready, 0);
    return true;
}

TEST(idle_wake, better_task_woken_in_the_same_interrupt_runs_first)
{
    int c = idle_core();
    if (c < 0)
        return;
    int round = 0;
    while (round < 5 && !better_task_round(c))
        round++;
    EXPECT_LT(round, 5);   /* some round ran within a slice */
}

/* --- sched_wake_irq: the wake-up an interrupt handler uses, the waiter
 * taken off a plain wait queue with its result (waitq_take_first_irq). --- */

static struct waitq irq_wq;
static _Atomic int spin_stop;

/* A waiter on irq_wq: notes its turn, core, result and accounting. */
struct irq_waiter {
    int id;
    int cpu;
    int32_t result;
    struct task_stats stats;
};

static int64_t irq_wait_and_note(void *arg)
{
    struct irq_waiter *w = arg;
    uint64_t flags = spin_lock_irqsave(&irq_wq.lock);
    w->result = waitq_wait(&irq_wq, flags, WAIT_FOREVER);
    atomic_store(&order[atomic_fetch_add(&order_n, 1)], w->id);
    w->cpu = cpu_id();
    task_get_stats(task_current(), &w->stats);
    atomic_store(&spin_stop, 1);
    return 0;
}

/* The cross-call (an interrupt handler): wake irq_wq's first waiter with
 * result arg through sched_wake_irq. */
static void take_first_irq(void *arg)
{
    spin_lock(&irq_wq.lock);
    struct task *t = irq_wq.head;
    if (t)
        waitq_take_first_irq(&irq_wq, t, (int32_t)(intptr_t)arg);
    spin_unlock(&irq_wq.lock);
}

static void until_queued(void)
{
    while (waitq_empty(&irq_wq))
        task_yield();
}

static struct task *spawn_irq_waiter(struct irq_waiter *w, int cpu, unsigned qos)
{
    struct task_attr a = {.name = "irq-waiter", .qos = qos, .affinity = 1u << cpu};
    struct task *t = task_spawn(irq_wait_and_note, w, &a);
    if (t)
        until_queued();
    return t;
}

/* The handler runs in c's idle loop, its waiter blocked on c: c is handed
 * to it at once (its result the taker's, switched in exactly twice, the
 * core counting exactly the switches to and from it). */
TEST(idle_wake, irq_wake_hands_the_idle_core_over_with_the_takers_result)
{
    int c = idle_core();
    if (c < 0)
        return;
    waitq_init(&irq_wq);
    atomic_store(&order_n, 0);
    struct irq_waiter w = {.id = 1, .cpu = -1, .result = -1};
    struct task *t = spawn_irq_waiter(&w, c, QOS_UTILITY);
    EXPECT_TRUE(t != NULL);
    if (!t)
        return;
    settle(c);
    struct sched_cpu_stats s0, s1;
    sched_cpu_stats(c, &s0);
    smp_call(c, take_first_irq, (void *)(intptr_t)42);
    EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    settle(c);
    sched_cpu_stats(c, &s1);
    EXPECT_EQ(w.result, 42);
    EXPECT_EQ(w.cpu, c);
    EXPECT_EQ(w.stats.switches, 2);
    EXPECT_EQ(s1.switches - s0.switches, 2);
    EXPECT_EQ(s1.nr_ready, 0);
}

/* The handler runs on c, its waiter is blocked on another core d: the
 * general wake-up (d's queue), with the taker's result. */
TEST(idle_wake, irq_wake_reaches_a_task_blocked_on_another_core)
{
    int c = idle_core(), d = -1;
    for (int i = 0; i < platform.ncpus && c >= 0; i++)
        if (smp_cpu_online(i) && i != c && i != cpu_id())
            d = i;
    if (d < 0)
        return;
    waitq_init(&irq_wq);
    atomic_store(&order_n, 0);
    struct irq_waiter w = {.id = 1, .cpu = -1, .result = -1};
    struct task *t = spawn_irq_waiter(&w, d, QOS_UTILITY);
    EXPECT_TRUE(t != NULL);
    if (!t)
        return;
    settle(d);
    smp_call(c, take_first_irq, (void *)(intptr_t)43);
    EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    EXPECT_EQ(w.result, 43);
    EXPECT_EQ(w.cpu, d);
    EXPECT_EQ(w.stats.switches, 2);
}

static int64_t spin_until_stopped(void *arg)
{
    (void)arg;
    while (!atomic_load(&spin_stop))
        ;
    atomic_store(&order[atomic_fetch_add(&order_n, 1)], 2);
    return 0;
}

/* The handler interrupts a utility task spinning on c (IRQs enabled) and
 * wakes a user-interactive task blocked there: it is queued, the interrupt's
 * exit preempts the spinner for it, and it runs (with the taker's result)
 * before the spinner sees it and stops. */
TEST(idle_wake, irq_wake_on_a_busy_core_preempts_for_a_better_task)
{
    int c = idle_core();
    if (c < 0)
        return;
    waitq_init(&irq_wq);
    atomic_store(&order_n, 0);
    atomic_store(&spin_stop, 0);
    struct irq_waiter w = {.id = 1, .cpu = -1, .result = -1};
    struct task *t = spawn_irq_waiter(&w, c, QOS_USER_INTERACTIVE);
    struct task_attr a = {.name = "spinner", .qos = QOS_UTILITY, .affinity = 1u << c};
    struct task *s = t ? task_spawn(spin_until_stopped, NULL, &a) : NULL;
    EXPECT_TRUE(t && s);
    if (!s) {
        if (t) {
            smp_call(c, take_first_irq, (void *)(intptr_t)0);
            task_join(t, NULL);
        }
        return;
    }
    settle(c);   /* the spinner runs: c's dispatch is from the exception path */
    smp_call(c, take_first_irq, (void *)(intptr_t)44);
    EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    EXPECT_EQ(task_join(s, NULL), TASK_EXITED);
    EXPECT_EQ(w.result, 44);
    EXPECT_EQ(w.cpu, c);
    EXPECT_EQ(atomic_load(&order_n), 2);
    EXPECT_EQ(atomic_load(&order[0]), 1);   /* the woken task first */
    EXPECT_EQ(atomic_load(&order[1]), 2);
}

/* --- the idle hand-off's core test: a waiter pinned to another core --- */

static _Atomic int call_found_idle;

/* take_first_irq, noting first whether the call interrupted this core's
 * idle loop (the hand-off's path) rather than a task. */
static void take_first_irq_noting_idle(void *arg)
{
    atomic_store(&call_found_idle, (sched_current()->flags & TASK_F_IDLE) != 0);
    take_first_irq(arg);
}

/* One round: a waiter pinned to d, the handler run by c (c != d). Returns
 * whether c's idle loop took the call; the waiter must have run on d. */
static bool pinned_elsewhere_round(int c, int d)
{
    waitq_init(&irq_wq);
    atomic_store(&order_n, 0);
    atomic_store(&call_found_idle, 0);
    struct irq_waiter w = {.id = 1, .cpu = -1, .result = -1};
    struct task *t = spawn_irq_waiter(&w, d, QOS_UTILITY);
    EXPECT_TRUE(t != NULL);
    if (!t)
        return false;
    settle(d);
    smp_call(c, take_first_irq_noting_idle, (void *)(intptr_t)(100 + c));
    EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    EXPECT_EQ(w.result, 100 + c);
    EXPECT_EQ(w.cpu, d);            /* not c: its hand-off is for c's own tasks */
    EXPECT_EQ(w.stats.switches, 2);
    return atomic_load(&call_found_idle);
}

/* Every core but the driver's in turn runs the handler from its idle loop
 * while the waiter is blocked and pinned to another core: the idle
 * hand-off's single compare (wake_key_idle_diff) must see the waiter's
 * core byte, on every core (core 0's key byte is 0, so a mask that left
 * the byte out would match there). A round in which the call found c busy
 * did not take the hand-off's path and is run again. Run by a task pinned
 * to the last core, so that core 0, where the suite's task waits, is idle. */
static int64_t pinned_elsewhere_driver(void *arg)
{
    int h = cpu_id();
    int *idle_rounds = arg;
    for (int c = 0; c < platform.ncpus; c++) {
        if (c == h || !smp_cpu_online(c))
            continue;
        int d = -1;
        for (int i = 0; i < platform.ncpus && d < 0; i++)
            if (i != c && i != h && smp_cpu_online(i))
                d = i;
        for (int round = 0; round < 5 && d >= 0; round++)
            if (pinned_elsewhere_round(c, d)) {
                idle_rounds[c]++;
                break;
            }
    }
    return 0;
}

TEST(idle_wake, idle_handoff_leaves_a_task_pinned_to_another_core_to_its_core)
{
    int h = -1, n = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c))
            h = c, n++;
    if (n < 3)
        return;
    int idle_rounds[PLAT_MAX_CPUS] = {0};
    struct task_attr a = {.name = "handoff-driver", .qos = QOS_DEFAULT, .affinity = 1u << h};
    struct task *t = task_spawn(pinned_elsewhere_driver, idle_rounds, &a);
    EXPECT_TRUE(t != NULL);
    if (!t)
        return;
    EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    for (int c = 0; c < platform.ncpus; c++)
        if (c != h && smp_cpu_online(c))
            EXPECT_EQ(idle_rounds[c], 1);   /* each core's hand-off test was taken */
}
