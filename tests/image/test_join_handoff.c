/*
 * Joining a child that sits in this core's runnext slot (never run yet):
 * sched_join_begin registers the joiner, blocks it and switches to the
 * child in one locked step; the child's exit hands the core back
 * (sched_exit_to). A child not in the slot is joined the locked way. Both
 * must give the same results and exact counts: values, statuses, run
 * order, one switch into each child and one back into the joiner, no
 * migration.
 */
#include <stdatomic.h>
#include <kernel/app.h>
#include <kernel/clock.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>

/* An online core other than this one, or this one if there is none. */
static int another_core(void)
{
    for (int c = platform.ncpus - 1; c >= 0; c--)
        if (c != cpu_id() && smp_cpu_online(c))
            return c;
    return cpu_id();
}

static _Atomic uint32_t ran_n;
static char ran[4];
static uint64_t ran_switches[4];   /* each child's switch count as it runs */
static int ran_cpu[4];

static uint64_t switches_of(const struct task *t)
{
    struct task_stats s;
    task_get_stats(t, &s);
    return s.switches;
}

static int64_t note_and_return(void *arg)
{
    uint32_t i = atomic_fetch_add(&ran_n, 1);
    ran[i] = (char)(uintptr_t)arg;
    ran_switches[i] = switches_of(task_current());
    ran_cpu[i] = cpu_id();
    return 4200 + (int64_t)(uintptr_t)arg;
}

struct join_result {
    bool c_in_slot;      /* the first child was the runnext task when joined */
    bool b_in_slot;      /* of two children, the second was not */
    int64_t value_c, value_a, value_b;
    enum task_status st_c, st_a, st_b;
    uint64_t joiner_c, joiner_b, joiner_a;   /* the joiner's switches per join */
};

static bool in_slot_here(struct task *t)
{
    struct runqueue *rq = this_rq();
    uint64_t flags = spin_lock_irqsave(&rq->lock);
    bool in = rq->runnext == t;
    spin_unlock_irqrestore(&rq->lock, flags);
    return in;
}

/* On its own (pinned) core: join one child from the slot, then two
 * children of which the second was never in the slot (its spawn moved
 * the first to its band's list). */
static int64_t joiner(void *arg)
{
    struct join_result *r = arg;
    struct task *self = task_current();
    /* Children in the lowest class: a waiting lower class does not preempt
     * the joiner at a slice end (a band-mate would, and might end before
     * its join when the host stalls this vCPU between a spawn and the
     * join), unless it waited past its starvation bound (100 ms). */
    struct task_attr at = {.name = "child", .qos = QOS_BACKGROUND, .affinity = 1u << cpu_id()};

    struct task *c = task_spawn(note_and_return, (void *)(uintptr_t)'c', &at);
    r->c_in_slot = in_slot_here(c);
    uint64_t before = switches_of(self);
    r->st_c = task_join(c, &r->value_c);
    r->joiner_c = switches_of(self) - before;

    struct task *a = task_spawn(note_and_return, (void *)(uintptr_t)'a', &at);
    struct task *b = task_spawn(note_and_return, (void *)(uintptr_t)'b', &at);
    r->b_in_slot = in_slot_here(b);
    before = switches_of(self);
    r->st_b = task_join(b, &r->value_b);
    r->joiner_b = switches_of(self) - before;
    before = switches_of(self);
    r->st_a = task_join(a, &r->value_a);   /* ended already: no switch */
    r->joiner_a = switches_of(self) - before;
    return 0;
}

TEST(sched, join_of_a_runnext_child_hands_off_with_exact_counts)
{
    atomic_store(&ran_n, 0);
    struct join_result r = {0};
    int x = another_core();
    struct task_attr ja = {.name = "joiner", .qos = QOS_DEFAULT, .affinity = 1u << x};
    struct task *j = task_spawn(joiner, &r, &ja);
    EXPECT_EQ(task_join(j, NULL), TASK_EXITED);

    EXPECT_TRUE(r.c_in_slot);
    EXPECT_TRUE(!r.b_in_slot);
    EXPECT_EQ(r.st_c, TASK_EXITED);
    EXPECT_EQ(r.value_c, 4200 + 'c');
    EXPECT_EQ(r.st_b, TASK_EXITED);
    EXPECT_EQ(r.value_b, 4200 + 'b');
    EXPECT_EQ(r.st_a, TASK_EXITED);
    EXPECT_EQ(r.value_a, 4200 + 'a');
    /* One switch back into the joiner per join that waited, none for a
     * child that had ended. */
    EXPECT_EQ(r.joiner_c, 1);
    EXPECT_EQ(r.joiner_b, 1);
    EXPECT_EQ(r.joiner_a, 0);
    /* Run order: c, then a before b (first come, first served). */
    EXPECT_EQ(atomic_load(&ran_n), 3);
    EXPECT_EQ(ran[0], 'c');
    EXPECT_EQ(ran[1], 'a');
    EXPECT_EQ(ran[2], 'b');
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(ran_switches[i], 1);   /* switched in once, on the joiner's core */
        EXPECT_EQ(ran_cpu[i], x);
    }
}

/* --- the joiner's min frame (task_join inline, arch_switch_min) ---------------------- */

#define GARBAGE_FP_CLOBBERS                                                              \
    "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",     \
    "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",  \
    "v25", "v26", "v27", "v28", "v29", "v30", "v31"

/* Garbage in every register a callee must keep (x19-x28, d8-d15) and in
 * the rest of the FP/SIMD file, then, with all of it still live and never
 * returning: task_exit(arg), or for arg 0 a load from address 0 (killed).
 * Its joiner resumes with the garbage in place (the exit's switch restores
 * nothing) or through the fault's switch. */
static int64_t end_with_garbage(void *arg)
{
    __asm__ volatile("mov x19, #0x1919\n" "mov x20, #0x2020\n" "mov x21, #0x2121\n"
                     "mov x22, #0x2222\n" "mov x23, #0x2323\n" "mov x24, #0x2424\n"
                     "mov x25, #0x2525\n" "mov x26, #0x2626\n" "mov x27, #0x2727\n"
                     "mov x28, #0x2828\n"
                     "movi v0.16b, #0xa5\n" "movi v1.16b, #0xa5\n" "movi v2.16b, #0xa5\n"
                     "movi v3.16b, #0xa5\n" "movi v4.16b, #0xa5\n" "movi v5.16b, #0xa5\n"
                     "movi v6.16b, #0xa5\n" "movi v7.16b, #0xa5\n" "movi v8.16b, #0xa5\n"
                     "movi v9.16b, #0xa5\n" "movi v10.16b, #0xa5\n" "movi v11.16b, #0xa5\n"
                     "movi v12.16b, #0xa5\n" "movi v13.16b, #0xa5\n" "movi v14.16b, #0xa5\n"
                     "movi v15.16b, #0xa5\n" "movi v16.16b, #0xa5\n" "movi v17.16b, #0xa5\n"
                     "movi v18.16b, #0xa5\n" "movi v19.16b, #0xa5\n" "movi v20.16b, #0xa5\n"
                     "movi v21.16b, #0xa5\n" "movi v22.16b, #0xa5\n" "movi v23.16b, #0xa5\n"
                     "movi v24.16b, #0xa5\n" "movi v25.16b, #0xa5\n" "movi v26.16b, #0xa5\n"
                     "movi v27.16b, #0xa5\n" "movi v28.16b, #0xa5\n" "movi v29.16b, #0xa5\n"
                     "movi v30.16b, #0xa5\n" "movi v31.16b, #0xa5\n"
                     "cbz %[v], 1f\n"
                     "mov x0, %[v]\n"
                     "mov x29, #0x2929\n"   /* never used again: task_exit does not return */
                     "bl task_exit\n"
                     "1: mov x9, #0\n"
                     "ldr x0, [x9]\n"
                     :
                     : [v] "r"(arg)
                     : "x0", "x9", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
                       "x28", "x30", GARBAGE_FP_CLOBBERS, "memory");
    __builtin_unreachable();
}

struct live_join {
    uint64_t seed;            /* the joiner's values derive from it */
    uintptr_t child_arg;      /* end_with_garbage's: its exit value, 0 to fault */
    bool in_slot;             /* the child was the runnext task when joined */
    bool min_frame;           /* the joiner's switch-out left a min frame */
    enum task_status st;
    int64_t value;
    int bad;                  /* values the joiner found changed */
};

/* What the joiner keeps live: read through volatile, so its compiler can
 * neither read them again nor recompute them after the join. */
static volatile uint64_t live_k[12];
static volatile double live_d[4];

/* On its own core: twelve integers and four doubles live across the join
 * of a child that ends with garbage in every register. */
static int64_t join_keeping_values(void *arg)
{
    struct live_join *r = arg;
    for (int i = 0; i < 12; i++)
        live_k[i] = r->seed * (uint64_t)(2 * i + 3) + (uint64_t)i;
    for (int i = 0; i < 4; i++)
        live_d[i] = (double)r->seed * (0.5 + i);
    uint64_t k0 = live_k[0], k1 = live_k[1], k2 = live_k[2], k3 = live_k[3], k4 = live_k[4],
             k5 = live_k[5], k6 = live_k[6], k7 = live_k[7], k8 = live_k[8], k9 = live_k[9],
             k10 = live_k[10], k11 = live_k[11];
    double d0 = live_d[0], d1 = live_d[1], d2 = live_d[2], d3 = live_d[3];
    /* The lowest class, as the first test's children: the joiner is not
     * preempted by it before the join. */
    struct task_attr at = {.name = "garbage", .qos = QOS_BACKGROUND, .affinity = 1u << cpu_id()};
    struct task *c = task_spawn(end_with_garbage, (void *)r->child_arg, &at);
    if (!c)
        return -1;
    r->in_slot = in_slot_here(c);
    r->st = task_join(c, &r->value);
    r->min_frame = (__atomic_load_n(&task_current()->sp, __ATOMIC_RELAXED) & TASK_SP_MIN_TAG) ==
                   TASK_SP_MIN_TAG;
    r->bad = (k0 != live_k[0]) + (k1 != live_k[1]) + (k2 != live_k[2]) + (k3 != live_k[3]) +
             (k4 != live_k[4]) + (k5 != live_k[5]) + (k6 != live_k[6]) + (k7 != live_k[7]) +
             (k8 != live_k[8]) + (k9 != live_k[9]) + (k10 != live_k[10]) +
             (k11 != live_k[11]) + (d0 != live_d[0]) + (d1 != live_d[1]) + (d2 != live_d[2]) +
             (d3 != live_d[3]);
    return 0;
}

static void run_live_join(struct live_join *r)
{
    struct task_attr ja = {.name = "joiner", .qos = QOS_DEFAULT, .affinity = 1u << another_core()};
    struct task *j = task_spawn(join_keeping_values, r, &ja);
    EXPECT_TRUE(j != NULL);
    if (j)
        EXPECT_EQ(task_join(j, NULL), TASK_EXITED);
}

/* The child's exit hands the core back (arch_switch_final): the joiner's
 * values come back from its own frame, whatever the child left in the
 * registers. */
TEST(sched, a_joiner_keeps_its_values_across_a_join_whose_child_ends_with_garbage)
{
    struct live_join r = {.seed = 0x1234567, .child_arg = 77};
    run_live_join(&r);
    EXPECT_TRUE(r.in_slot);
    EXPECT_TRUE(r.min_frame);
    EXPECT_EQ(r.st, TASK_EXITED);
    EXPECT_EQ(r.value, 77);
    EXPECT_EQ(r.bad, 0);
}

/* The child is killed: the joiner, woken with TASK_FAULTED, is resumed
 * through the fault's switch (its min frame popped after the FP/SIMD
 * state is cleared) with its values intact. */
TEST(sched, a_joiner_keeps_its_values_across_a_join_whose_child_faults)
{
    struct live_join r = {.seed = 0x7654321, .child_arg = 0, .value = -1};
    run_live_join(&r);
    EXPECT_TRUE(r.in_slot);
    EXPECT_TRUE(r.min_frame);
    EXPECT_EQ(r.st, TASK_FAULTED);
    EXPECT_EQ(r.value, 0);
    EXPECT_EQ(r.bad, 0);
}

/* --- class time across the join's and the exit's hand-offs (spawn17) ---------------- */

#define MS (1000ull * 1000)

static int64_t spin_then_return(void *arg)
{
    uint64_t until = clock_ns() + 2 * MS;
    while (clock_ns() < until)
        ;
    return (int64_t)(uintptr_t)arg;
}

struct class_join {
    enum qos child_qos;
    bool in_slot;
    enum task_status st;
    int64_t value;
    uint64_t joiner_switches;                 /* the joiner's, over the join */
    uint64_t child_class_join, child_class_after;   /* the child's class's time on this
                                                       core: over the join, then over
                                                       the joiner's own spin */
    uint64_t joiner_class_after;              /* the joiner's class's, over its spin */
};

static uint64_t class_ns(enum qos q)
{
    struct sched_cpu_stats s;
    sched_cpu_stats(cpu_id(), &s);
    return s.class_busy_ns[q];
}

/* On its own (pinned, default) core: spawn a child of r->child_qos
 * pinned here that spins 2 ms, join it (from the slot), then spin 2 ms
 * itself; the class times of this core around both. */
static int64_t class_joiner(void *arg)
{
    struct class_join *r = arg;
    struct task *self = task_current();
    struct task_attr at = {.name = "classed", .qos = r->child_qos, .affinity = 1u << cpu_id()};
    struct task *c = task_spawn(spin_then_return, (void *)(uintptr_t)77, &at);
    r->in_slot = in_slot_here(c);
    uint64_t sw = switches_of(self);
    uint64_t c0 = class_ns(r->child_qos);
    r->st = task_join(c, &r->value);
    uint64_t c1 = class_ns(r->child_qos);
    r->joiner_switches = switches_of(self) - sw;
    uint64_t j1 = class_ns(QOS_DEFAULT);
    spin_then_return(NULL);
    r->child_class_join = c1 - c0;
    r->child_class_after = class_ns(r->child_qos) - c1;
    r->joiner_class_after = class_ns(QOS_DEFAULT) - j1;
    return 0;
}

static void run_class_join(struct class_join *r)
{
    struct task_attr ja = {.name = "cjoiner", .qos = QOS_DEFAULT, .affinity = 1u << another_core()};
    struct task *j = task_spawn(class_joiner, r, &ja);
    EXPECT_TRUE(j != NULL);
    if (j)
        EXPECT_EQ(task_join(j, NULL), TASK_EXITED);
    EXPECT_TRUE(r->in_slot);
    EXPECT_EQ(r->st, TASK_EXITED);
    EXPECT_EQ(r->value, 77);
    EXPECT_EQ(r->joiner_switches, 1);
    /* The child's 2 ms are its class's; the joiner's spin after is the
     * joiner's class's. */
    EXPECT_GE(r->child_class_join, 2 * MS);
    EXPECT_GE(r->joiner_class_after, 2 * MS);
}

/* The join's hand-off to a child of another class charges the child's
 * class from then on, and the exit's hand-off back charges the joiner's:
 * the one-class way (equal switch keys) skips the charge, so a test that
 * took it for two classes would leave the child's time with the joiner's
 * class (child_class_join 0), or the joiner's spin after with the
 * child's (child_class_after >= 2 ms). */
TEST(sched, join_and_exit_hand_offs_between_two_classes_charge_each_class)
{
    struct class_join r = {.child_qos = QOS_UTILITY};
    run_class_join(&r);
    EXPECT_LT(r.child_class_after, 2 * MS);
}

/* The same with a child of the joiner's class (the one-class way). */
TEST(sched, join_and_exit_hand_offs_within_one_class_charge_it)
{
    struct class_join r = {.child_qos = QOS_DEFAULT};
    run_class_join(&r);
}

/* --- an exit whose joiner waits on another core (spawn17) --------------------------- */

struct far_join {
    int joiner_cpu, child_cpu;
    int rounds, on_own_core;   /* joins that returned on the joiner's core */
    int values_ok;
};

/* The child spins 1 ms first, so the joiner is blocked (task_join_wait)
 * on its core when the child ends on another one. */
static int64_t spin_1ms(void *arg)
{
    uint64_t until = clock_ns() + MS;
    while (clock_ns() < until)
        ;
    return (int64_t)(uintptr_t)arg;
}

static int64_t far_joiner(void *arg)
{
    struct far_join *r = arg;
    struct task_attr at = {.name = "far", .qos = QOS_DEFAULT, .affinity = 1u << r->child_cpu};
    for (int i = 0; i < r->rounds; i++) {
        struct task *c = task_spawn(spin_1ms, (void *)(uintptr_t)(1000 + i), &at);
        int64_t v = 0;
        if (task_join(c, &v) == TASK_EXITED && v == 1000 + i)
            r->values_ok++;
        if (cpu_id() == r->joiner_cpu)
            r->on_own_core++;
    }
    return 0;
}

/* The exit's one-class hand-off compares the two tasks' cores with their
 * classes (sched_exit_to): a joiner of the same class blocked on another
 * core is woken there, never run on the exiting task's core. With the
 * core byte left out of that compare, the joins return on the child's
 * core (on_own_core 0). */
TEST(sched, an_exit_wakes_a_joiner_of_its_class_on_the_joiners_own_core)
{
    int a = cpu_id(), b = another_core();
    if (a == b) {
        EXPECT_TRUE(platform.ncpus == 1);
        return;
    }
    struct far_join r = {.joiner_cpu = a, .child_cpu = b, .rounds = 20};
    struct task_attr ja = {.name = "far-joiner", .qos = QOS_DEFAULT, .affinity = 1u << a};
    struct task *j = task_spawn(far_joiner, &r, &ja);
    EXPECT_EQ(task_join(j, NULL), TASK_EXITED);
    EXPECT_EQ(r.values_ok, 20);
    EXPECT_EQ(r.on_own_core, 20);
}

/* --- the joiner's wait result after the exit's hand-off (branch spawn20) ------------- */

struct wait_after {
    bool waited;                 /* the join blocked (task_join_wait) and was handed back */
    int64_t value;
    int32_t result_after;        /* the joiner's wait_result once task_join returned */
    int32_t result_after_dead;   /* ... after joining a child that had ended */
};

/* On its own (pinned) core: two children of a lower class (no preemption
 * of the joiner by them), the second never in the slot, so its join blocks
 * in task_join_wait's sched_block (WAIT_PENDING); the first runs and ends,
 * then the second, whose exit hands the core back to the joiner here. */
static int64_t pending_joiner(void *arg)
{
    struct wait_after *r = arg;
    struct task *self = task_current();
    struct task_attr at = {.name = "child", .qos = QOS_BACKGROUND, .affinity = 1u << cpu_id()};
    struct task *a = task_spawn(note_and_return, (void *)(uintptr_t)'a', &at);
    struct task *b = task_spawn(note_and_return, (void *)(uintptr_t)'b', &at);
    uint64_t before = switches_of(self);
    task_join(b, &r->value);
    r->waited = !in_slot_here(b) && switches_of(self) - before == 1;
    r->result_after = self->wait_result;
    task_join(a, NULL);   /* ended already */
    r->result_after_dead = self->wait_result;
    return 0;
}

/* The exit's hand-off leaves the joiner's wait result as it finds it
 * (WAIT_PENDING for a joiner blocked in task_join_wait): task_join_wait
 * stores WAIT_OK as it returns, so a running task never has a wait
 * pending (what a cancel or a waker looks for). Without that store the
 * result after the join is WAIT_PENDING. */
TEST(sched, a_joiner_handed_the_core_by_the_exit_has_no_wait_pending)
{
    atomic_store(&ran_n, 0);
    struct wait_after r = {.result_after = 12345, .result_after_dead = 12345};
    struct task_attr ja = {.name = "pending-joiner", .qos = QOS_DEFAULT,
                           .affinity = 1u << another_core()};
    struct task *j = task_spawn(pending_joiner, &r, &ja);
    EXPECT_EQ(task_join(j, NULL), TASK_EXITED);
    EXPECT_TRUE(r.waited);
    EXPECT_EQ(r.value, 4200 + 'b');
    EXPECT_EQ(r.result_after, WAIT_OK);
    EXPECT_EQ(r.result_after_dead, WAIT_OK);
    EXPECT_EQ(atomic_load(&ran_n), 2);
    EXPECT_EQ(ran[0], 'a');
    EXPECT_EQ(ran[1], 'b');
}

/* --- an exit between two members of one app (branch spawn21) --------------------------- */

struct app_join {
    struct app *app;
    uint64_t joiner_switches; /* the joiner's, over the join */
    int64_t value;
    enum task_status st;
    uint64_t busy_join;       /* the app's busy time added over the join */
};

/* On its own (pinned) core, a member of r->app: spawn a member of the same
 * app and class pinned here that spins 2 ms, join it. Members are never
 * put in the slot's hand-off (rare flags), so the join blocks and the
 * child's exit hands the core back to this joiner: both tasks have the
 * same class, flags and core, and only the flags tell the exit that the
 * app must be charged. */
static int64_t app_joiner(void *arg)
{
    struct app_join *r = arg;
    struct task *self = task_current();
    struct task_attr at = {.name = "member", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id(),
                           .app = r->app};
    struct task *c = task_spawn(spin_then_return, (void *)(uintptr_t)78, &at);
    struct sched_energy e0, e1;
    app_energy(r->app, &e0);
    uint64_t sw = switches_of(self);
    r->st = task_join(c, &r->value);
    r->joiner_switches = switches_of(self) - sw;
    app_energy(r->app, &e1);
    r->busy_join = e1.busy_ns - e0.busy_ns;
    return 0;
}

/* The exit's one-class test (same_plain_class_here) requires the exiting
 * task's flags to be 0, not only equal to the joiner's: an app member
 * handing the core to another member takes the general way, which charges
 * the member's run time to the app (qos_account). With prev's flags left
 * out of the test, the child's 2 ms are never charged (busy_join is the
 * joiner's few microseconds). */
TEST(sched, an_exit_between_two_members_of_one_app_charges_the_app)
{
    struct app_join r = {.app = app_create("pair", true)};
    EXPECT_TRUE(r.app != NULL);
    if (!r.app)
        return;
    struct task_attr ja = {.name = "app-joiner", .qos = QOS_DEFAULT,
                           .affinity = 1u << another_core(), .app = r.app};
    struct task *j = task_spawn(app_joiner, &r, &ja);
    EXPECT_TRUE(j != NULL);
    if (j)
        EXPECT_EQ(task_join(j, NULL), TASK_EXITED);
    EXPECT_EQ(r.st, TASK_EXITED);
    EXPECT_EQ(r.value, 78);
    EXPECT_EQ(r.joiner_switches, 1);
    EXPECT_GE(r.busy_join, 2 * MS);
    EXPECT_EQ(app_destroy(r.app), 0);
}
