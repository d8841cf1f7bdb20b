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
