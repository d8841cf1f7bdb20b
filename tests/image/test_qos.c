/* QoS-aware placement on performance vs efficiency cores (the policy in
 * kernel/sched_policy.h, wired into spawn and wake-up). On boards whose
 * cores are all alike these tests have nothing to check and return. */
#include <stdatomic.h>
#include <errno.h>
#include <kernel/app.h>
#include <kernel/mutex.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>

static const struct sched_core_model *model(void)
{
    const struct sched_core_model *m = sched_core_model();
    return m->nlevels > 1 ? m : NULL;
}

static int level_of(int cpu) { return sched_core_model()->core[cpu].level; }
static int lowest_level(void) { return sched_core_model()->nlevels - 1; }

static int64_t report_cpu(void *arg)
{
    (void)arg;
    return cpu_id();
}

static int run_once_at(enum qos qos)
{
    struct task_attr a = {.name = "probe", .qos = qos};
    int64_t cpu = -1;
    task_join(task_spawn(report_cpu, NULL, &a), &cpu);
    return (int)cpu;
}

/* On an otherwise idle machine: interactive work starts on the largest
 * cores, background and light utility work on the most efficient ones. */
TEST(qos, new_tasks_are_placed_by_class)
{
    if (!model())
        return;
    EXPECT_EQ(level_of(run_once_at(QOS_USER_INTERACTIVE)), 0);
    EXPECT_EQ(level_of(run_once_at(QOS_USER_INITIATED)), 0);
    EXPECT_EQ(level_of(run_once_at(QOS_UTILITY)), lowest_level());
    EXPECT_EQ(level_of(run_once_at(QOS_BACKGROUND)), lowest_level());
}

static _Atomic bool stop;
static int64_t spin(void *arg)
{
    volatile uint64_t *n = arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        (*n)++;
    return 0;
}

static struct semaphore ui_go, ui_ran;
static volatile uint64_t bg_spins[PLAT_MAX_CPUS];

static int64_t ui_worker(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    uint32_t cores = 0;
    for (int i = 0; i < rounds; i++) {
        sem_wait(&ui_go, WAIT_FOREVER);
        cores |= 1u << cpu_id();
        sem_post(&ui_ran);
    }
    return cores;
}

/* Every other core busy with background spinners: a user-interactive task,
 * spawned and then woken again and again, runs at once on a performance
 * core (preempting background work there) while the spinners keep going. */
TEST(qos, interactive_wakeups_preempt_background_on_performance_cores)
{
    if (!model())
        return;
    int me = cpu_id();
    struct task *spinners[PLAT_MAX_CPUS] = {0};
    atomic_store(&stop, false);
    for (int c = 0; c < platform.ncpus; c++) {
        bg_spins[c] = 0;
        if (c == me || !smp_cpu_online(c))
            continue;
        struct task_attr a = {.name = "bg-spin", .qos = QOS_BACKGROUND, .affinity = 1u << c};
        spinners[c] = task_spawn(spin, (void *)&bg_spins[c], &a);
    }
    for (int c = 0; c < platform.ncpus; c++)
        while (spinners[c] && bg_spins[c] == 0)
            task_yield();
    enum { ROUNDS = 20 };
    sem_init(&ui_go, 0);
    sem_init(&ui_ran, 0);
    struct task_attr ua = {.name = "ui", .qos = QOS_USER_INTERACTIVE};
    struct task *ui = task_spawn(ui_worker, (void *)(intptr_t)ROUNDS, &ua);
    for (int i = 0; i < ROUNDS; i++) {
        sem_post(&ui_go);
        EXPECT_EQ(sem_wait(&ui_ran, WAIT_FOREVER), 0);
    }
    int64_t cores = 0;
    EXPECT_EQ(task_join(ui, &cores), TASK_EXITED);
    for (int c = 0; c < platform.ncpus; c++)
        if (cores & (1 << c))
            EXPECT_EQ(level_of(c), 0);
    EXPECT_TRUE(!atomic_load(&stop));   /* the spinners never stopped */
    atomic_store(&stop, true);
    for (int c = 0; c < platform.ncpus; c++)
        if (spinners[c])
            task_join(spinners[c], NULL);
}

static int64_t burn_2ms(void *arg)
{
    struct task_stats *st = arg;
    do
        task_get_stats(task_current(), st);
    while (st->cpu_ns < 2 * 1000 * 1000);
    return cpu_id();
}

/* Energy per class and per core follow busy time times the core's modelled
 * power: 2 ms of utility work on one core shows up, at that core's power,
 * in both the utility class's total and that core's. */
TEST(qos, energy_follows_busy_time_per_class)
{
    int cpu = platform.ncpus - 1;
    if (!smp_cpu_online(cpu) || cpu == cpu_id())
        return;
    uint32_t mw = sched_core_model()->core[cpu].power_mw;
    struct sched_energy_report before, after;
    sched_energy(&before);
    struct task_stats st = {0};
    struct task_attr a = {.name = "burn", .qos = QOS_UTILITY, .affinity = 1u << cpu};
    task_join(task_spawn(burn_2ms, &st, &a), NULL);
    sched_energy(&after);
    uint64_t class_ns = after.class_busy_ns[QOS_UTILITY] - before.class_busy_ns[QOS_UTILITY];
    uint64_t core_ns = after.core_busy_ns[cpu] - before.core_busy_ns[cpu];
    EXPECT_GE(class_ns, st.cpu_ns);
    EXPECT_GE(core_ns, st.cpu_ns);
    EXPECT_GE(after.class_pj[QOS_UTILITY] - before.class_pj[QOS_UTILITY], st.cpu_ns * mw);
    EXPECT_EQ(after.core_pj[cpu] - before.core_pj[cpu], core_ns * mw);
    uint64_t core_sum = 0, class_sum = 0;
    for (int c = 0; c < platform.ncpus; c++)
        core_sum += after.core_pj[c];
    for (int q = 0; q < QOS_COUNT; q++)
        class_sum += after.class_pj[q];
    EXPECT_EQ(core_sum, class_sum);
}

/* --- inheritance ------------------------------------------------------------------ */

static struct mutex inv_lock = MUTEX_INIT;
static struct semaphore inv_held;
static _Atomic bool inv_release;

static int64_t bg_holder(void *arg)
{
    (void)arg;
    mutex_lock(&inv_lock);
    sem_post(&inv_held);
    while (!atomic_load(&inv_release))
        ;   /* works holding the lock until told to finish */
    mutex_unlock(&inv_lock);
    return task_qos(task_current());
}

static int64_t ui_locker(void *arg)
{
    (void)arg;
    mutex_lock(&inv_lock);
    mutex_unlock(&inv_lock);
    return 0;
}

/* Priority inversion: a background task holds a lock on a core that a
 * default-class spinner then takes over, so the holder never runs. A
 * user-interactive task that needs the lock lends the holder its class:
 * the holder preempts the spinner, finishes, and the waiter gets the lock
 * while the spinner is still spinning. The loan ends with the release. */
TEST(qos, inheritance_bounds_an_inversion)
{
    int c = platform.ncpus - 1, d = platform.ncpus - 2;
    if (d < 0 || c == cpu_id() || d == cpu_id() || !smp_cpu_online(c) || !smp_cpu_online(d))
        return;
    static volatile uint64_t spins;
    spins = 0;
    atomic_store(&stop, false);
    atomic_store(&inv_release, false);
    sem_init(&inv_held, 0);
    struct task_attr ha = {.name = "holder", .qos = QOS_BACKGROUND, .affinity = 1u << c};
    struct task *h = task_spawn(bg_holder, NULL, &ha);
    EXPECT_EQ(sem_wait(&inv_held, WAIT_FOREVER), 0);
    struct task_attr sa = {.name = "hog", .qos = QOS_DEFAULT, .affinity = 1u << c};
    struct task *s = task_spawn(spin, (void *)&spins, &sa);
    while (spins == 0)
        task_yield();
    atomic_store(&inv_release, true);   /* the holder cannot see it: it is not running */
    struct task_attr ua = {.name = "ui", .qos = QOS_USER_INTERACTIVE, .affinity = 1u << d};
    struct task *u = task_spawn(ui_locker, NULL, &ua);
    EXPECT_EQ(task_join(u, NULL), TASK_EXITED);
    EXPECT_TRUE(!atomic_load(&stop));   /* the hog never stopped */
    /* Back at background class the holder cannot finish while the hog spins. */
    atomic_store(&stop, true);
    task_join(s, NULL);
    int64_t holder_qos_after = -1;
    EXPECT_EQ(task_join(h, &holder_qos_after), TASK_EXITED);
    EXPECT_EQ(holder_qos_after, QOS_BACKGROUND);   /* the loan ended with the unlock */
}

/* --- apps ------------------------------------------------------------------------- */

static struct semaphore app_park;
static int64_t park(void *arg)
{
    (void)arg;
    sem_wait(&app_park, WAIT_FOREVER);
    return task_qos(task_current());
}

/* Sending an app to the background caps its tasks at utility class, except
 * exempt ones; bringing it back restores their own classes. */
TEST(qos, background_apps_run_at_utility_unless_exempt)
{
    sem_init(&app_park, 0);
    struct app *app = app_create("player", true);
    EXPECT_TRUE(app != NULL);
    struct task_attr ui = {.name = "ui", .qos = QOS_USER_INTERACTIVE, .app = app};
    struct task_attr audio = {.name = "audio", .qos = QOS_USER_INTERACTIVE, .app = app,
                              .qos_exempt = true};
    struct task_attr bg = {.name = "sync", .qos = QOS_BACKGROUND, .app = app};
    struct task *t_ui = task_spawn(park, NULL, &ui);
    struct task *t_audio = task_spawn(park, NULL, &audio);
    struct task *t_bg = task_spawn(park, NULL, &bg);
    EXPECT_EQ(task_qos(t_ui), QOS_USER_INTERACTIVE);
    app_set_foreground(app, false);
    EXPECT_EQ(task_qos(t_ui), QOS_UTILITY);
    EXPECT_EQ(task_qos(t_audio), QOS_USER_INTERACTIVE);
    EXPECT_EQ(task_qos(t_bg), QOS_BACKGROUND);   /* already below the cap */
    EXPECT_EQ(app_destroy(app), -EBUSY);
    app_set_foreground(app, true);
    EXPECT_EQ(task_qos(t_ui), QOS_USER_INTERACTIVE);
    app_set_foreground(app, false);
    struct task *late = task_spawn(park, NULL, &ui);   /* joins a background app */
    EXPECT_EQ(task_qos(late), QOS_UTILITY);
    for (int i = 0; i < 4; i++)
        sem_post(&app_park);
    int64_t q = -1;
    EXPECT_EQ(task_join(t_ui, &q), TASK_EXITED);
    EXPECT_EQ(q, QOS_UTILITY);
    task_join(t_audio, NULL);
    task_join(t_bg, NULL);
    task_join(late, NULL);
    EXPECT_EQ(app_destroy(app), 0);
}

/* An app's energy is its tasks' busy time times the power of the core each
 * ran on: 2 ms of work pinned to one core shows up at that core's power. */
TEST(qos, app_energy_follows_its_tasks_busy_time)
{
    int c = platform.ncpus - 1;
    if (c == cpu_id() || !smp_cpu_online(c))
        c = 0;
    struct app *app = app_create("meter", true);
    EXPECT_TRUE(app != NULL);
    struct sched_energy e;
    app_energy(app, &e);
    EXPECT_EQ(e.busy_ns, 0);
    struct task_stats st;
    struct task_attr a = {.name = "burn", .qos = QOS_UTILITY, .affinity = 1u << c, .app = app};
    EXPECT_EQ(task_join(task_spawn(burn_2ms, &st, &a), NULL), TASK_EXITED);
    app_energy(app, &e);
    EXPECT_GE(e.busy_ns, 2 * 1000 * 1000);
    EXPECT_EQ(e.pj, e.busy_ns * sched_core_model()->core[c].power_mw);
    EXPECT_EQ(app_destroy(app), 0);
}
