/* Active migration of running tasks (kernel/migrate.h): misfit work moves up
 * to an idle performance core, background work down to an idle efficiency
 * core, pinned work never moves. On boards whose cores are all alike these
 * tests have nothing to check and return. */
#include <stdatomic.h>
#include <kernel/clock.h>
#include <kernel/migrate.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>

/* Generous: a CPU-bound task's utilisation crosses an efficiency core's fit
 * threshold (80 % of its capacity) after about 75 ms of running, and the
 * check runs every slice (4 ms). */
#define MOVE_BOUND_NS (1000ull * 1000 * 1000)

static bool big_little(void) { return sched_core_model()->nlevels > 1; }
static int level_of(int cpu) { return sched_core_model()->core[cpu].level; }
static int lowest_level(void) { return sched_core_model()->nlevels - 1; }

/* The first online core other than this one at level (-1 for the lowest). */
static int core_at(int level, int not)
{
    if (level < 0)
        level = lowest_level();
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c) && c != cpu_id() && c != not && level_of(c) == level)
            return c;
    return -1;
}

/* A performance and an efficiency core other than this one: false (the
 * test has nothing to check) on uniform cores, a failure if either is
 * missing on big.LITTLE. */
static bool big_and_little(int *big, int *little)
{
    if (!big_little())
        return false;
    *big = core_at(0, -1);
    *little = core_at(-1, -1);
    EXPECT_TRUE(*big >= 0 && *little >= 0);
    return *big >= 0 && *little >= 0;
}

struct spinner {
    _Atomic bool stop;
    _Atomic uint64_t spins;
    _Atomic int where;       /* the core of its latest spin */
    _Atomic int first;       /* the core of its first spin */
};

/* Spins until told to stop; returns its migrations. */
static int64_t spin(void *arg)
{
    struct spinner *s = arg;
    atomic_store(&s->first, cpu_id());
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        atomic_store_explicit(&s->where, cpu_id(), memory_order_relaxed);
        atomic_fetch_add_explicit(&s->spins, 1, memory_order_relaxed);
    }
    struct task_stats st;
    task_get_stats(task_current(), &st);
    return st.migrations;
}

static struct task *start_spinner(struct spinner *s, const char *name, enum qos qos,
                                  uint32_t affinity)
{
    *s = (struct spinner){.where = -1, .first = -1};
    struct task_attr a = {.name = name, .qos = qos, .affinity = affinity};
    struct task *t = task_spawn(spin, s, &a);
    while (t && atomic_load(&s->spins) == 0)
        task_sleep_ns(100 * 1000);
    return t;
}

static int64_t stop_spinner(struct spinner *s, struct task *t)
{
    atomic_store(&s->stop, true);
    int64_t migrations = -1;
    task_join(t, &migrations);
    return migrations;
}

/* Sleeps until s spins on a core of level, or the bound passes. */
static bool wait_at_level(struct spinner *s, int level)
{
    uint64_t until = clock_ns() + MOVE_BOUND_NS;
    while (level_of(atomic_load(&s->where)) != level && clock_ns() < until)
        task_sleep_ns(2 * 1000 * 1000);
    return level_of(atomic_load(&s->where)) == level;
}

/* A CPU-bound default-class task placed on an efficiency core (the cheaper
 * one while its utilisation is low) becomes misfit and moves, once, to an
 * idle performance core. */
TEST(migrate, misfit_default_task_moves_up_to_an_idle_performance_core)
{
    if (!big_little())
        return;
    struct migrate_stats before, after;
    migrate_get_stats(&before);
    static struct spinner s;
    uint32_t others = smp_online_mask() & ~(1u << cpu_id());
    struct task *t = start_spinner(&s, "misfit", QOS_DEFAULT, others);
    EXPECT_TRUE(t != NULL);
    if (!t)
        return;
    EXPECT_EQ(level_of(atomic_load(&s.first)), lowest_level());
    EXPECT_TRUE(wait_at_level(&s, 0));
    EXPECT_EQ(stop_spinner(&s, t), 1);
    migrate_get_stats(&after);
    EXPECT_EQ(after.up - before.up, 1);
    EXPECT_EQ(after.down - before.down, 0);
}

/* A background task that spilled onto a performance core (its one allowed
 * efficiency core had 2 tasks waiting: sched_policy_place) moves down, once,
 * when that efficiency core goes idle; not before. */
TEST(migrate, background_task_moves_down_when_an_efficiency_core_goes_idle)
{
    int big, little;
    if (!big_and_little(&big, &little))
        return;
    struct migrate_stats before, mid, after;
    migrate_get_stats(&before);
    enum { FILL = 3 };   /* one runs, two wait: SCHED_BG_SPILL_QUEUE */
    static struct spinner fill[FILL], bg;
    struct task *f[FILL];
    for (int i = 0; i < FILL; i++)
        f[i] = start_spinner(&fill[i], "fill", QOS_DEFAULT, 1u << little);
    struct task *t = start_spinner(&bg, "bg", QOS_BACKGROUND, (1u << big) | (1u << little));
    EXPECT_TRUE(t != NULL);
    if (!t)
        return;
    EXPECT_EQ(atomic_load(&bg.first), big);
    task_sleep_ns(20 * 1000 * 1000);
    EXPECT_EQ(atomic_load(&bg.where), big);   /* its efficiency core is busy */
    migrate_get_stats(&mid);
    EXPECT_EQ(mid.down - before.down, 0);
    for (int i = 0; i < FILL; i++)
        EXPECT_EQ(stop_spinner(&fill[i], f[i]), 0);
    EXPECT_TRUE(wait_at_level(&bg, lowest_level()));
    EXPECT_EQ(atomic_load(&bg.where), little);
    EXPECT_EQ(stop_spinner(&bg, t), 1);
    migrate_get_stats(&after);
    EXPECT_EQ(after.down - before.down, 1);
    EXPECT_EQ(after.up - before.up, 0);
}

/* Work pinned by affinity stays where it is, misfit or not: a CPU-bound
 * default task on an efficiency core and a background one on a performance
 * core, with idle cores of the other kind all along. */
TEST(migrate, pinned_tasks_never_move)
{
    int big, little;
    if (!big_and_little(&big, &little))
        return;
    struct migrate_stats before, after;
    migrate_get_stats(&before);
    static struct spinner fg, bg;
    struct task *f = start_spinner(&fg, "pinned-misfit", QOS_DEFAULT, 1u << little);
    struct task *t = start_spinner(&bg, "pinned-bg", QOS_BACKGROUND, 1u << big);
    EXPECT_TRUE(f != NULL && t != NULL);
    if (!f || !t)
        return;
    task_sleep_ns(300 * 1000 * 1000);   /* 4x what makes the first one misfit */
    EXPECT_EQ(atomic_load(&fg.where), little);
    EXPECT_EQ(atomic_load(&bg.where), big);
    EXPECT_EQ(stop_spinner(&fg, f), 0);
    EXPECT_EQ(stop_spinner(&bg, t), 0);
    migrate_get_stats(&after);
    EXPECT_EQ(after.requested - before.requested, 0);
    EXPECT_EQ(after.up - before.up, 0);
    EXPECT_EQ(after.down - before.down, 0);
}
