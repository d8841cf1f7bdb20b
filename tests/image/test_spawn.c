/* Spawn from the per-core task cache: a reused task object starts as a new
 * one would (TLS, cancel flag, counters, name, class, no end hook), names
 * are copied (also at a page's end); joins after the end. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>
#include "image_test.h"

static __thread int tls_counter;   /* zero at every task's start */

struct life {
    int errno_at_start, tls_at_start;
    bool cancelled_at_start;
    struct task_stats stats;
    char name[TASK_NAME_LEN];
    enum qos qos;
};

/* Records how the task found itself, then dirties what a life may change. */
static int64_t live(void *arg)
{
    struct life *l = arg;
    l->errno_at_start = errno;
    l->tls_at_start = tls_counter;
    l->cancelled_at_start = task_cancelled();
    task_get_stats(task_current(), &l->stats);
    strcpy(l->name, task_name(task_current()));
    l->qos = task_qos(task_current());
    errno = 77;
    tls_counter = 5;
    task_cancel(task_current());
    task_yield();
    return 0;
}

TEST(spawn, reused_task_starts_afresh)
{
    struct task_attr a = {.name = "first", .qos = QOS_UTILITY, .affinity = 1u << cpu_id()};
    struct task_attr b = {.name = "second", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    struct life la = {0}, lb = {0};
    mm_drain_caches();   /* this core's task cache is empty: ta will be kept */
    struct task *ta = task_spawn(live, &la, &a);
    EXPECT_TRUE(ta != NULL);
    EXPECT_EQ(task_join(ta, NULL), TASK_EXITED);
    /* Joined on this core with the default stack: the next spawn here takes
     * the same object from this core's cache. */
    struct task *tb = task_spawn(live, &lb, &b);
    EXPECT_TRUE(tb == ta);
    EXPECT_EQ(task_join(tb, NULL), TASK_EXITED);
    for (int i = 0; i < 2; i++) {
        struct life *l = i ? &lb : &la;
        EXPECT_EQ(l->errno_at_start, 0);
        EXPECT_EQ(l->tls_at_start, 0);
        EXPECT_TRUE(!l->cancelled_at_start);
        EXPECT_EQ(l->stats.switches, 1u);
        EXPECT_EQ(l->stats.migrations, 0u);
    }
    EXPECT_STREQ(la.name, "first");
    EXPECT_STREQ(lb.name, "second");
    EXPECT_EQ(la.qos, QOS_UTILITY);
    EXPECT_EQ(lb.qos, QOS_DEFAULT);
}

static int64_t idle_task(void *arg)
{
    (void)arg;
    return 0;
}

static void expect_name(const char *given, const char *expected)
{
    struct task_attr a = {.name = given, .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    struct task *t = task_spawn(idle_task, NULL, &a);
    EXPECT_TRUE(t != NULL);
    EXPECT_STREQ(task_name(t), expected);
    task_join(t, NULL);
}

TEST(spawn, names_are_copied_and_truncated)
{
    expect_name("x", "x");
    expect_name("exactly15chars.", "exactly15chars.");
    expect_name("a literal longer than fifteen", "a literal longe");
    expect_name(NULL, "task");
    /* A name in the caller's memory: copied, so changing it later does not
     * rename the task. */
    char buf[40];
    strcpy(buf, "stack-name-that-is-long");
    struct task_attr a = {.name = buf, .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    struct task *t = task_spawn(idle_task, NULL, &a);
    EXPECT_TRUE(t != NULL);
    memset(buf, 'z', sizeof(buf) - 1);
    EXPECT_STREQ(task_name(t), "stack-name-that");
    task_join(t, NULL);
    strcpy(buf, "short");
    expect_name(buf, "short");
}

/* A name whose 16 bytes would cross into the next page is copied byte by
 * byte: here that page is another stack's guard (unmapped), so a 16-byte
 * read would fault. One that ends exactly at the page end is read whole.
 * Of a few one-page stacks, one is followed by another's guard page. */
TEST(spawn, names_at_a_page_end_are_read_within_the_page)
{
    enum { N = 8 };
    struct mm_stack s[N];
    int below_guard = -1;
    for (int i = 0; i < N; i++)
        EXPECT_EQ(mm_stack_alloc(PAGE_SIZE, &s[i]), 0);
    for (int i = 0; i < N && below_guard < 0; i++)
        if (mm_is_stack_guard(s[i].base + s[i].size))
            below_guard = i;
    EXPECT_TRUE(below_guard >= 0);
    if (below_guard >= 0) {
        uint64_t end = s[below_guard].base + s[below_guard].size;
        char *edge = (char *)(end - 5);
        strcpy(edge, "edge");
        expect_name(edge, "edge");
        char *last16 = (char *)(end - TASK_NAME_LEN);
        strcpy(last16, "fifteen-chars..");
        expect_name(last16, "fifteen-chars..");
    }
    for (int i = 0; i < N; i++)
        mm_stack_free(&s[i]);
}

static _Atomic int ends_seen;
static void count_end(void *arg, enum task_status status, int64_t value)
{
    (void)arg;
    (void)status;
    (void)value;
    atomic_fetch_add(&ends_seen, 1);
}

/* on_end belongs to one life: the object's next life, spawned without one,
 * ends without calling it. */
TEST(spawn, reused_task_drops_its_last_lifes_end_hook)
{
    atomic_store(&ends_seen, 0);
    struct task_attr a = {.name = "hooked", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id(),
                          .on_end = count_end};
    struct task_attr b = {.name = "plain", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    mm_drain_caches();
    struct task *ta = task_spawn(idle_task, NULL, &a);
    EXPECT_EQ(task_join(ta, NULL), TASK_EXITED);
    EXPECT_EQ(atomic_load(&ends_seen), 1);
    struct task *tb = task_spawn(idle_task, NULL, &b);
    EXPECT_TRUE(tb == ta);
    EXPECT_EQ(task_join(tb, NULL), TASK_EXITED);
    EXPECT_EQ(atomic_load(&ends_seen), 1);
}

static _Atomic int bodies_done;
static int64_t return_arg(void *arg)
{
    atomic_fetch_add(&bodies_done, 1);
    return (int64_t)(intptr_t)arg;
}

static int64_t fault_now(void *arg)
{
    (void)arg;
    atomic_fetch_add(&bodies_done, 1);
    return *(volatile int64_t *)opaque_ptr(0);
}

/* Joining a task that has already ended (no lock taken, nothing to wait
 * for): its value, or TASK_FAULTED and 0, exactly as when the joiner
 * waits. A driver pinned to this core spawns each child pinned here in its
 * own band, so its one yield runs the child to its end before the join. */
static int64_t join_after_end_driver(void *arg)
{
    (void)arg;
    struct task_attr a = {.name = "ended", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    atomic_store(&bodies_done, 0);
    struct task *t = task_spawn(return_arg, (void *)(intptr_t)4242, &a);
    task_yield();
    EXPECT_EQ(atomic_load(&bodies_done), 1);
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, 4242);

    a.name = "faulted";
    t = task_spawn(fault_now, NULL, &a);
    task_yield();
    EXPECT_EQ(atomic_load(&bodies_done), 2);
    v = -1;
    EXPECT_EQ(task_join(t, &v), TASK_FAULTED);
    EXPECT_EQ(v, 0);
    return 0;
}

TEST(spawn, join_after_the_end_gets_value_and_status)
{
    struct task_attr d = {.name = "join-driver", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    EXPECT_EQ(task_join(task_spawn(join_after_end_driver, NULL, &d), NULL), TASK_EXITED);
}

/* --- the fast spawn's start on its own core (sched_start_here, spawn17) ------------- */

static _Atomic int here_started;
static int64_t note_start(void *arg)
{
    (void)arg;
    atomic_store(&here_started, 1);
    return 0;
}

struct here_start {
    int seen[3];             /* started when task_spawn returned: better, same, lower class */
    bool from_cache[3];      /* the object came from this core's cache (the fast spawn) */
    bool ran_on_slice_end;   /* a band-mate spawned behind a spinning spawner got the core */
};

/* A default-class driver pinned to its core: each child pinned here runs
 * at once (before task_spawn returns) only if its class is better than
 * the driver's; a band-mate queued behind the driver starts the driver's
 * slice, so it runs at that slice's end while the driver spins. */
static int64_t here_start_driver(void *arg)
{
    struct here_start *r = arg;
    static const enum qos classes[3] = {QOS_USER_INITIATED, QOS_DEFAULT, QOS_UTILITY};
    for (int i = 0; i < 3; i++) {
        struct task_attr a = {.name = "here", .qos = classes[i], .affinity = 1u << cpu_id()};
        /* One object in this core's cache, so the spawn takes the fast way. */
        struct task *warm = task_spawn(idle_task, NULL, &a);
        task_join(warm, NULL);
        atomic_store(&here_started, 0);
        struct task *t = task_spawn(note_start, NULL, &a);
        r->seen[i] = atomic_load(&here_started);
        r->from_cache[i] = t == warm;
        EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    }
    /* Tickless first (a sleep: the core idles, and the driver comes back
     * alone), then a band-mate behind the spinning driver. */
    struct task_attr b = {.name = "behind", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    task_sleep_ns(1000 * 1000);
    atomic_store(&here_started, 0);
    struct task *t = task_spawn(note_start, NULL, &b);
    uint64_t until = clock_ns() + 2000ull * 1000 * 1000;
    while (!atomic_load(&here_started) && clock_ns() < until)
        ;
    r->ran_on_slice_end = atomic_load(&here_started);
    EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    return 0;
}

/* With the reschedule test of sched_start_here changed to <= (a band-mate
 * preempts), seen[1] is 1; without the slice start for a waiter, the
 * band-mate behind the spinning driver waits out its 2 s. */
TEST(spawn, a_task_spawned_on_its_own_core_preempts_only_from_a_better_class)
{
    struct here_start r = {0};
    int x = cpu_id();
    for (int c = platform.ncpus - 1; c >= 0; c--)
        if (c != cpu_id() && smp_cpu_online(c)) {
            x = c;
            break;
        }
    struct task_attr d = {.name = "here-driver", .qos = QOS_DEFAULT, .affinity = 1u << x};
    EXPECT_EQ(task_join(task_spawn(here_start_driver, &r, &d), NULL), TASK_EXITED);
    for (int i = 0; i < 3; i++)
        EXPECT_TRUE(r.from_cache[i]);
    EXPECT_EQ(r.seen[0], 1);
    EXPECT_EQ(r.seen[1], 0);
    EXPECT_EQ(r.seen[2], 0);
    EXPECT_TRUE(r.ran_on_slice_end);
}

/* A task of another stack size never goes into the per-core cache (its
 * join's common way tests TASK_LIFE_OWN_STACK with the other life bits):
 * the next spawn of the default size on that core gets an object of the
 * default size, not the one just joined. Without the bit in the test, the
 * small object would come back as a default one (same object, 2 KiB). */
TEST(spawn, a_joined_task_of_another_stack_size_is_not_reused_for_the_default)
{
    static const size_t sizes[2] = {TASK_STACK_MIN, 2 * TASK_STACK_DEFAULT};
    for (int i = 0; i < 2; i++) {
        struct task_attr odd = {.name = "odd", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id(),
                                .stack_size = sizes[i]};
        struct task_attr def = {.name = "def", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
        mm_drain_caches();
        struct task *a = task_spawn(idle_task, NULL, &odd);
        EXPECT_TRUE(a != NULL);
        EXPECT_NE(a->stack.size, (size_t)TASK_STACK_DEFAULT);   /* rounded up to pages */
        EXPECT_EQ(task_join(a, NULL), TASK_EXITED);
        struct task *b = task_spawn(idle_task, NULL, &def);
        EXPECT_TRUE(b != NULL);
        /* (b may be a's slab object again, with a new stack.) */
        EXPECT_EQ(b->stack.size, TASK_STACK_DEFAULT);
        EXPECT_EQ(task_join(b, NULL), TASK_EXITED);
        /* b went back into the cache: the next default spawn takes it. */
        struct task *c = task_spawn(idle_task, NULL, &def);
        EXPECT_TRUE(c == b);
        EXPECT_EQ(task_join(c, NULL), TASK_EXITED);
    }
}

/* The fast spawn writes a life's QoS and utilisation state as words
 * (task_ext_begin): a record taken from the cache with every byte of that
 * state dirty starts exactly as sched_qos_init and a fresh utilisation
 * would have it. Dropping any one of the words leaves 0xa5 bytes behind. */
TEST(spawn, the_fast_spawn_starts_qos_and_utilisation_as_sched_qos_init_does)
{
    static const struct {
        enum qos qos;
        bool exempt;
    } cases[3] = {{QOS_UTILITY, false}, {QOS_USER_INTERACTIVE, true}, {QOS_BACKGROUND, false}};
    for (int i = 0; i < 3; i++) {
        struct task_attr a = {.name = "words", .qos = cases[i].qos, .qos_exempt = cases[i].exempt,
                              .affinity = 1u << cpu_id()};
        struct task *old = task_spawn(idle_task, NULL, &a);
        EXPECT_EQ(task_join(old, NULL), TASK_EXITED);
        /* old is in this core's cache now: dirty what the next life must set. */
        struct task_ext *x = task_ext(old);
        memset(x, 0xa5, offsetof(struct task_ext, task));
        x->migrations = 99;
        uint64_t flags = arch_irq_save();   /* no task of this core runs in between */
        struct task *t = task_spawn(idle_task, NULL, &a);
        struct task_ext got = *task_ext(t);
        arch_irq_restore(flags);
        EXPECT_TRUE(t == old);
        struct sched_qos_task want;
        memset(&want, 0, sizeof(want));
        sched_qos_init(&want, cases[i].qos, NULL, cases[i].exempt);
        EXPECT_EQ(got.qos.own, want.own);
        EXPECT_EQ(got.qos.exempt, want.exempt);
        EXPECT_TRUE(got.qos.app == NULL);
        EXPECT_EQ(got.qos.eff, want.eff);
        for (int q = 0; q < QOS_COUNT; q++)
            EXPECT_EQ(got.qos.lent[q], 0);
        EXPECT_TRUE(got.qos.waits_for == NULL);
        EXPECT_TRUE(got.util.stamp_ns & TASK_UTIL_STAMP_TICKS);
        EXPECT_NE(got.util.stamp_ns, 0xa5a5a5a5a5a5a5a5ull);
        EXPECT_EQ(got.util.avg, 0u);
        EXPECT_EQ(got.util.fine, 0u);
        EXPECT_EQ(got.util_ticks, 0u);
        EXPECT_EQ(got.migrations, 0u);
        EXPECT_EQ(task_qos(t), cases[i].qos);
        EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    }
}

/* Task ids come from per-core sequences (task_take_id: core c hands out
 * c + 1, c + 1 + PLAT_MAX_CPUS, ...), on the fast way and the general one
 * alike: tasks spawned at once on every core all get different ids. With
 * a step of 1, cores hand out the same ids. */
enum { IDS_PER_CORE = 40 };
static uint32_t ids_seen[PLAT_MAX_CPUS][IDS_PER_CORE];

static int64_t id_driver(void *arg)
{
    int c = (int)(intptr_t)arg;
    for (int i = 0; i < IDS_PER_CORE; i++) {
        /* Every fourth with its own stack size: task_spawn_general. */
        struct task_attr a = {.name = "id", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id(),
                              .stack_size = (i % 4 == 3) ? 2 * TASK_STACK_DEFAULT : 0};
        struct task *t = task_spawn(idle_task, NULL, &a);
        if (!t)
            return -1;
        ids_seen[c][i] = t->id;
        task_join(t, NULL);
    }
    return 0;
}

TEST(spawn, task_ids_are_unique_across_cores)
{
    struct task *d[PLAT_MAX_CPUS] = {0};
    int n = 0;
    for (int c = 0; c < platform.ncpus; c++) {
        if (!smp_cpu_online(c))
            continue;
        struct task_attr a = {.name = "id-driver", .qos = QOS_DEFAULT, .affinity = 1u << c};
        d[n] = task_spawn(id_driver, (void *)(intptr_t)n, &a);
        n++;
    }
    for (int i = 0; i < n; i++)
        EXPECT_EQ(task_join(d[i], NULL), TASK_EXITED);
    int dup = 0;
    for (int a = 0; a < n * IDS_PER_CORE; a++)
        for (int b = a + 1; b < n * IDS_PER_CORE; b++)
            dup += ids_seen[a / IDS_PER_CORE][a % IDS_PER_CORE] ==
                   ids_seen[b / IDS_PER_CORE][b % IDS_PER_CORE];
    EXPECT_EQ(dup, 0);
}

/* --- the fast spawn's pinned byte (branch spawn20: a per-core first word) ------------ */

static _Atomic int pin_child_up;
static _Atomic bool pin_child_go;

static int64_t wait_for_go(void *arg)
{
    (void)arg;
    atomic_fetch_add(&pin_child_up, 1);
    while (!atomic_load(&pin_child_go))
        task_sleep_ns(100000);
    return 0;
}

struct pin_seen {
    uint8_t pinned[4];   /* affinity: here, one other core, two cores, any */
    bool from_cache[4];  /* the record was this core's cached one */
};

/* On its own core: spawn from this core's cache (a join refills it) with
 * four affinities, reading each child's pinned byte while it is alive. */
static int64_t pin_driver(void *arg)
{
    struct pin_seen *r = arg;
    int here = cpu_id();
    int other = -1;
    for (int c = 0; c < platform.ncpus; c++)
        if (c != here && smp_cpu_online(c))
            other = c;
    uint32_t aff[4] = {1u << here, 1u << other, (1u << here) | (1u << other), 0};
    for (int i = 0; i < 4; i++) {
        struct task_attr warm = {.name = "warm", .qos = QOS_DEFAULT, .affinity = 1u << here};
        task_join(task_spawn(wait_for_go, NULL, &warm), NULL);   /* go is set: ends */
        struct percpu *p = this_cpu();
        struct task *cached = p->ntasks_cached ? p->tasks_cached[p->ntasks_cached - 1] : NULL;
        atomic_store(&pin_child_go, false);
        atomic_store(&pin_child_up, 0);
        struct task_attr a = {.name = "pin", .qos = QOS_DEFAULT, .affinity = aff[i]};
        struct task *t = task_spawn(wait_for_go, NULL, &a);
        r->from_cache[i] = t == cached;
        while (!atomic_load(&pin_child_up))
            task_sleep_ns(100000);
        r->pinned[i] = t->pinned;   /* alive: its pinned byte (not yet its status) */
        atomic_store(&pin_child_go, true);
        task_join(t, NULL);
    }
    return 0;
}

/* The fast spawn takes pinned from this core's first word (pinned here)
 * and clears it for any affinity of more than one core: a task that may
 * run elsewhere is not pinned (wake-ups would keep it here, active
 * migration would skip it). With the clear left out, the two-core and
 * any-core children read pinned 1. */
TEST(spawn, the_fast_spawn_pins_exactly_the_one_core_affinities)
{
    int here = cpu_id();
    bool another = false;
    for (int c = 0; c < platform.ncpus; c++)
        another |= c != here && smp_cpu_online(c);
    if (!another) {
        EXPECT_TRUE(platform.ncpus == 1);
        return;
    }
    atomic_store(&pin_child_go, true);
    struct pin_seen r = {0};
    struct task_attr da = {.name = "pin-driver", .qos = QOS_DEFAULT, .affinity = 1u << here};
    EXPECT_EQ(task_join(task_spawn(pin_driver, &r, &da), NULL), TASK_EXITED);
    for (int i = 0; i < 4; i++)
        EXPECT_TRUE(r.from_cache[i]);
    EXPECT_EQ(r.pinned[0], 1);
    EXPECT_EQ(r.pinned[1], 1);
    EXPECT_EQ(r.pinned[2], 0);
    EXPECT_EQ(r.pinned[3], 0);
}
