/* Fork-join (runtime/forkjoin.c): exact results, each index once, nesting,
 * fj_join, reductions, QoS placement of helpers, no leaks. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/platform.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr/forkjoin.h>
#include <sr_test.h>

/* --- sums and visits --------------------------------------------------------------- */

struct sum_run {
    _Atomic uint64_t sum, chunks, calls_over_grain;
    int64_t grain;
};

static void add_range(int64_t lo, int64_t hi, void *arg)
{
    struct sum_run *s = arg;
    uint64_t part = 0;
    for (int64_t i = lo; i < hi; i++)
        part += (uint64_t)i;
    atomic_fetch_add(&s->sum, part);
    atomic_fetch_add(&s->chunks, 1);
    if (hi - lo > s->grain || hi <= lo)
        atomic_fetch_add(&s->calls_over_grain, 1);
}

static void fold_sum(int64_t lo, int64_t hi, void *acc, void *arg)
{
    (void)arg;
    for (int64_t i = lo; i < hi; i++)
        *(uint64_t *)acc += (uint64_t)i;
}

static void combine_sum(void *into, const void *from, void *arg)
{
    (void)arg;
    *(uint64_t *)into += *(const uint64_t *)from;
}

TEST(forkjoin, sums_are_exact_for_every_grain)
{
    static const int64_t n_values[] = {1, 2, 1000, 4099};
    static const int64_t grains[] = {0, 1, 3, 7, 64, 1000, 5000};
    for (unsigned a = 0; a < sizeof n_values / sizeof n_values[0]; a++) {
        int64_t n = n_values[a];
        uint64_t expect = (uint64_t)n * (uint64_t)(n - 1) / 2;
        for (unsigned g = 0; g < sizeof grains / sizeof grains[0]; g++) {
            int64_t grain = grains[g] ? grains[g] : 1;
            struct sum_run s = {.grain = grain};
            EXPECT_EQ(parallel_for(0, n, grains[g], add_range, &s), 0);
            EXPECT_EQ(atomic_load(&s.sum), expect);
            EXPECT_EQ(atomic_load(&s.chunks), (uint64_t)((n + grain - 1) / grain));
            EXPECT_EQ(atomic_load(&s.calls_over_grain), 0);
            uint64_t r = 77, zero = 0;
            EXPECT_EQ(parallel_reduce(0, n, grains[g], &r, sizeof r, &zero, fold_sum,
                                      combine_sum, NULL), 0);
            EXPECT_EQ(r, expect);
        }
    }
}

TEST(forkjoin, empty_ranges_run_nothing)
{
    struct sum_run s = {.grain = 1};
    EXPECT_EQ(parallel_for(5, 5, 1, add_range, &s), 0);
    EXPECT_EQ(parallel_for(10, 3, 4, add_range, &s), 0);
    EXPECT_EQ(atomic_load(&s.chunks), 0);
    uint64_t r = 0, ident = 42;
    EXPECT_EQ(parallel_reduce(9, 9, 1, &r, sizeof r, &ident, fold_sum, combine_sum, NULL), 0);
    EXPECT_EQ(r, 42);   /* identity */
}

TEST(forkjoin, bad_arguments_are_refused)
{
    uint64_t r = 5, ident = 0;
    char big[FJ_REDUCE_MAX + 1] = {0};
    EXPECT_EQ(parallel_for(0, 10, 1, NULL, NULL), -EINVAL);
    EXPECT_EQ(fj_join(NULL, NULL, NULL, NULL), -EINVAL);
    EXPECT_EQ(parallel_reduce(0, 10, 1, big, sizeof big, big, fold_sum, combine_sum, NULL),
              -EINVAL);
    EXPECT_EQ(parallel_reduce(0, 10, 1, &r, sizeof r, &ident, NULL, combine_sum, NULL), -EINVAL);
    EXPECT_EQ(r, 5);    /* untouched */
}

/* Negative bounds and a range crossing zero. */
TEST(forkjoin, negative_ranges)
{
    struct sum_run s = {.grain = 10};
    EXPECT_EQ(parallel_for(-500, 500, 10, add_range, &s), 0);
    EXPECT_EQ((int64_t)atomic_load(&s.sum), -500);   /* -500 + (-499..499 cancel) */
    EXPECT_EQ(atomic_load(&s.chunks), 100);
}

enum { VISIT_N = 20000 };
static _Atomic uint8_t visits[VISIT_N];
static _Atomic uint32_t visit_cores;

static void visit(int64_t lo, int64_t hi, void *arg)
{
    (void)arg;
    for (int64_t i = lo; i < hi; i++)
        atomic_fetch_add_explicit(&visits[i], 1, memory_order_relaxed);
    atomic_fetch_or(&visit_cores, 1u << cpu_id());
}

static int count_visited_once(void)
{
    int once = 0;
    for (int i = 0; i < VISIT_N; i++)
        once += atomic_load(&visits[i]) == 1;
    return once;
}

TEST(forkjoin, every_index_is_visited_exactly_once)
{
    static const int64_t grains[] = {1, 5, 33, 4096, VISIT_N + 1};
    for (unsigned g = 0; g < sizeof grains / sizeof grains[0]; g++) {
        memset(visits, 0, sizeof visits);
        atomic_store(&visit_cores, 0);
        EXPECT_EQ(parallel_for(0, VISIT_N, grains[g], visit, NULL), 0);
        EXPECT_EQ(count_visited_once(), VISIT_N);
        /* Helpers only ran on cores the rule allows for this class. */
        EXPECT_EQ(atomic_load(&visit_cores) & ~smp_online_mask(), 0);
    }
}

/* --- nesting ----------------------------------------------------------------------- */

enum { OUTER = 24, INNER = 500 };

static void inner_row(int64_t lo, int64_t hi, void *arg)
{
    int64_t row = (int64_t)(intptr_t)arg;
    for (int64_t i = lo; i < hi; i++)
        atomic_fetch_add_explicit(&visits[row * INNER + i], 1, memory_order_relaxed);
}

static _Atomic int nested_errors;

static void outer_rows(int64_t lo, int64_t hi, void *arg)
{
    (void)arg;
    for (int64_t row = lo; row < hi; row++) {
        if (parallel_for(0, INNER, 7, inner_row, (void *)(intptr_t)row) != 0)
            atomic_fetch_add(&nested_errors, 1);
        /* And a reduction inside, too. */
        uint64_t r = 0, zero = 0;
        parallel_reduce(0, 100, 3, &r, sizeof r, &zero, fold_sum, combine_sum, NULL);
        if (r != 4950)
            atomic_fetch_add(&nested_errors, 1);
    }
}

TEST(forkjoin, nested_parallel_for_completes_and_covers_everything)
{
    _Static_assert(OUTER * INNER <= VISIT_N, "fits the visit array");
    memset(visits, 0, sizeof visits);
    atomic_store(&nested_errors, 0);
    EXPECT_EQ(parallel_for(0, OUTER, 1, outer_rows, NULL), 0);
    EXPECT_EQ(atomic_load(&nested_errors), 0);
    int once = 0, other = 0;
    for (int i = 0; i < VISIT_N; i++) {
        once += atomic_load(&visits[i]) == 1 && i < OUTER * INNER;
        other += atomic_load(&visits[i]) != (i < OUTER * INNER);
    }
    EXPECT_EQ(once, OUTER * INNER);
    EXPECT_EQ(other, 0);
}

/* --- fj_join ---------------------------------------------------------------------- */

struct fib {
    int n;
    uint64_t out;
};

static void fib_fn(void *arg)
{
    struct fib *f = arg;
    if (f->n < 2) {
        f->out = (uint64_t)f->n;
        return;
    }
    struct fib a = {.n = f->n - 1}, b = {.n = f->n - 2};
    if (f->n < 8) {
        fib_fn(&a);
        fib_fn(&b);
    } else {
        fj_join(fib_fn, &a, fib_fn, &b);
    }
    f->out = a.out + b.out;
}

static void set_flag(void *arg) { atomic_fetch_add((_Atomic int *)arg, 1); }

TEST(forkjoin, join_runs_both_closures_and_nests)
{
    _Atomic int x = 0, y = 0;
    EXPECT_EQ(fj_join(set_flag, &x, set_flag, &y), 0);
    EXPECT_EQ(atomic_load(&x), 1);
    EXPECT_EQ(atomic_load(&y), 1);
    struct fib f = {.n = 22};
    EXPECT_EQ(fj_join(fib_fn, &f, set_flag, &x), 0);
    EXPECT_EQ(f.out, 17711);
    EXPECT_EQ(atomic_load(&x), 2);
}

/* --- reductions -------------------------------------------------------------------- */

/* A non-commutative reduction: the covered interval [first, last], which only
 * combines when the right part starts where the left ends. */
struct span_acc {
    int64_t first, last;   /* first > last: empty */
    uint64_t bad;          /* combines out of order */
    uint64_t sum_sq;
};

static void fold_span(int64_t lo, int64_t hi, void *acc, void *arg)
{
    (void)arg;
    struct span_acc *s = acc;
    if (s->first > s->last)
        s->first = lo;
    else if (s->last + 1 != lo)
        s->bad++;
    s->last = hi - 1;
    for (int64_t i = lo; i < hi; i++)
        s->sum_sq += (uint64_t)(i * i);
}

static void combine_span(void *into, const void *from, void *arg)
{
    (void)arg;
    struct span_acc *l = into;
    const struct span_acc *r = from;
    l->bad += r->bad;
    l->sum_sq += r->sum_sq;
    if (r->first > r->last)
        return;
    if (l->first > l->last)
        l->first = r->first;
    else if (l->last + 1 != r->first)
        l->bad++;
    l->last = r->last;
}

TEST(forkjoin, reduction_combines_in_index_order)
{
    const struct span_acc ident = {.first = 1, .last = 0};
    static const int64_t grains[] = {1, 16, 999, 100000};
    for (unsigned g = 0; g < sizeof grains / sizeof grains[0]; g++) {
        struct span_acc r;
        EXPECT_EQ(parallel_reduce(10, 3010, grains[g], &r, sizeof r, &ident, fold_span,
                                  combine_span, NULL), 0);
        EXPECT_EQ(r.first, 10);
        EXPECT_EQ(r.last, 3009);
        EXPECT_EQ(r.bad, 0);
        uint64_t sq = 0;
        for (int64_t i = 10; i < 3010; i++)
            sq += (uint64_t)(i * i);
        EXPECT_EQ(r.sum_sq, sq);
    }
}

/* --- QoS placement ------------------------------------------------------------------ */

static int lowest_level(void) { return sched_core_model()->nlevels - 1; }

static uint32_t level_mask(int level)
{
    uint32_t m = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c) && sched_core_model()->core[c].level == level)
            m |= 1u << c;
    return m;
}

static _Atomic uint32_t qos_cores;
static _Atomic int qos_wrong_class;

static void note_core(int64_t lo, int64_t hi, void *arg)
{
    enum qos want = (enum qos)(intptr_t)arg;
    for (volatile int64_t i = lo; i < hi; i++)
        ;
    atomic_fetch_or(&qos_cores, 1u << cpu_id());
    if (task_qos(task_current()) != want)
        atomic_fetch_add(&qos_wrong_class, 1);
}

static int64_t run_job_at_own_class(void *arg)
{
    enum qos q = task_qos(task_current());
    (void)arg;
    return parallel_for(0, 4000, 4, note_core, (void *)(intptr_t)q);
}

static uint32_t job_cores(enum qos qos)
{
    atomic_store(&qos_cores, 0);
    struct task_attr a = {.name = "fj-caller", .qos = qos};
    int64_t r = -1;
    task_join(task_spawn(run_job_at_own_class, NULL, &a), &r);
    EXPECT_EQ(r, 0);
    return atomic_load(&qos_cores);
}

static _Atomic bool spin_stop;
static _Atomic int spinning;
static int64_t spin(void *arg)
{
    (void)arg;
    atomic_fetch_add(&spinning, 1);
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
        ;
    return 0;
}

/* Helpers run at the caller's class; a background job, and a utility job
 * while the performance cores are busy, use efficiency cores only. */
TEST(forkjoin, helpers_follow_the_callers_qos)
{
    atomic_store(&qos_wrong_class, 0);
    EXPECT_EQ(job_cores(QOS_DEFAULT) & ~smp_online_mask(), 0);
    EXPECT_EQ(fj_allowed_cores(QOS_DEFAULT), smp_online_mask());
    EXPECT_EQ(fj_allowed_cores(QOS_USER_INTERACTIVE), smp_online_mask());
    if (sched_core_model()->nlevels <= 1) {
        EXPECT_EQ(fj_allowed_cores(QOS_BACKGROUND), smp_online_mask());
        EXPECT_EQ(atomic_load(&qos_wrong_class), 0);
        return;   /* one core level: nothing to place */
    }
    uint32_t eff = level_mask(lowest_level());
    EXPECT_EQ(fj_allowed_cores(QOS_BACKGROUND), eff);
    EXPECT_EQ(fj_allowed_cores(QOS_UTILITY) & eff, eff);
    uint32_t bg = job_cores(QOS_BACKGROUND);
    EXPECT_NE(bg, 0);
    EXPECT_EQ(bg & ~eff, 0);

    /* Busy every performance core with default-class spinners. */
    struct task *spinners[PLAT_MAX_CPUS] = {0};
    int nspin = 0;
    atomic_store(&spin_stop, false);
    atomic_store(&spinning, 0);
    for (int c = 0; c < platform.ncpus; c++) {
        if (!smp_cpu_online(c) || (eff & (1u << c)))
            continue;
        struct task_attr a = {.name = "fj-spin", .qos = QOS_DEFAULT, .affinity = 1u << c};
        spinners[c] = task_spawn(spin, NULL, &a);
        nspin += spinners[c] != NULL;
    }
    while (atomic_load(&spinning) < nspin)
        task_yield();
    EXPECT_EQ(fj_allowed_cores(QOS_UTILITY), eff);
    uint32_t ut = job_cores(QOS_UTILITY);
    EXPECT_NE(ut, 0);
    EXPECT_EQ(ut & ~eff, 0);
    atomic_store(&spin_stop, true);
    for (int c = 0; c < platform.ncpus; c++)
        if (spinners[c])
            task_join(spinners[c], NULL);
    EXPECT_EQ(atomic_load(&qos_wrong_class), 0);
}

/* --- leaks ------------------------------------------------------------------------- */

TEST(forkjoin, jobs_leave_no_memory_behind)
{
    struct sum_run s = {.grain = 3};
    parallel_for(0, 100, 3, add_range, &s);   /* first-use costs, if any */
    mm_drain_caches();
    uint64_t before = mm_free_pages();
    for (int k = 0; k < 5; k++) {
        memset(visits, 0, sizeof visits);
        EXPECT_EQ(parallel_for(0, OUTER, 1, outer_rows, NULL), 0);
        struct fib f = {.n = 16};
        EXPECT_EQ(fj_join(fib_fn, &f, fib_fn, &f), 0);
        struct span_acc r, ident = {.first = 1, .last = 0};
        EXPECT_EQ(parallel_reduce(0, 1000, 5, &r, sizeof r, &ident, fold_span, combine_span,
                                  NULL), 0);
    }
    mm_drain_caches();
    EXPECT_EQ(mm_free_pages(), before);
}

/* --- concurrent jobs ---------------------------------------------------------------- */

/* Every core starts jobs at once (up to 8 jobs of up to 8 helpers each, all
 * stealing on the same cores): every result exact. */
TEST_ALL_CORES(forkjoin, concurrent_jobs_from_every_core)
{
    for (int k = 0; k < 4; k++) {
        int64_t n = 3000 + cpu_id() * 101 + k;
        uint64_t r = 0, zero = 0;
        EXPECT_EQ(parallel_reduce(0, n, 1 + k * 3, &r, sizeof r, &zero, fold_sum, combine_sum,
                                  NULL), 0);
        EXPECT_EQ(r, (uint64_t)n * (uint64_t)(n - 1) / 2);
        struct fib f = {.n = 15};
        EXPECT_EQ(fj_join(fib_fn, &f, set_flag, &(_Atomic int){0}), 0);
        EXPECT_EQ(f.out, 610);
    }
}
