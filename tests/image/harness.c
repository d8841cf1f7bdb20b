/*
 * In-image test runner (boot with "sr.test" on the command line). Runs every
 * TEST() in the sr_tests section in link order; TEST_ALL_CORES ones run on
 * every online core at once through smp_call_all. A test fails if any core
 * recorded a failure; the first one is reported with its core.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <kernel/boot.h>
#include <kernel/clock.h>
#include <kernel/cmdline.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>

extern const struct test_case __start_sr_tests[], __stop_sr_tests[];

struct core_result {
    bool failed;
    char msg[160];
} __attribute__((aligned(64)));

static struct core_result results[PLAT_MAX_CPUS];

void test_fail(const char *file, int line, const char *fmt, ...)
{
    struct core_result *r = &results[cpu_id()];
    if (r->failed)
        return;
    r->failed = true;
    const char *base = strrchr(file, '/');
    int n = snprintf(r->msg, sizeof(r->msg), "%s:%d: ", base ? base + 1 : file, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg + n, sizeof(r->msg) - (size_t)n, fmt, ap);
    va_end(ap);
}

static int64_t run_test_task(void *arg)
{
    ((const struct test_case *)arg)->fn();
    return 0;
}

/* TEST_ALL_CORES: one task pinned to each online core, all joined. A task
 * killed by a fault counts as a failure of that core. */
static void run_on_every_core(const struct test_case *t)
{
    struct task *tasks[PLAT_MAX_CPUS] = {0};
    for (int c = 0; c < platform.ncpus; c++) {
        if (!smp_cpu_online(c))
            continue;
        struct task_attr attr = {.name = t->name, .qos = QOS_DEFAULT, .affinity = 1u << c};
        tasks[c] = task_spawn(run_test_task, (void *)t, &attr);
        if (!tasks[c])
            test_fail(__FILE__, __LINE__, "cannot spawn the test task for cpu %d", c);
    }
    for (int c = 0; c < platform.ncpus; c++) {
        if (tasks[c] && task_join(tasks[c], NULL) != TASK_EXITED && !results[c].failed) {
            results[c].failed = true;
            snprintf(results[c].msg, sizeof(results[c].msg), "the test task faulted");
        }
    }
}

/* Hang diagnosis: a test still running WATCHDOG_NS after it started (and
 * every WATCHDOG_NS after that) gets the scheduler's state printed. A
 * timer wakes a task that otherwise sleeps on a semaphore, so the watch
 * costs the tests nothing. */
#define WATCHDOG_NS (60ull * 1000000000ull)
static struct timer watchdog_timer;
static struct semaphore watchdog_sem;
static _Atomic(const struct test_case *) watched;
static _Atomic uint64_t watched_since;

static void watchdog_fire(void *arg, uint32_t seq)
{
    (void)arg;
    (void)seq;
    sem_post(&watchdog_sem);
}

static int64_t watchdog_main(void *arg)
{
    (void)arg;
    for (;;) {
        sem_wait(&watchdog_sem, WAIT_FOREVER);
        const struct test_case *t = atomic_load(&watched);
        if (!t)
            continue;   /* it ended meanwhile */
        printf("SR: watchdog: %s.%s still running after %llu s; scheduler state:\n", t->suite,
               t->name, (unsigned long long)((clock_ns() - atomic_load(&watched_since)) / 1000000000ull));
        sched_dump();
        if (atomic_load(&watched) == t)
            sched_timer_arm(&watchdog_timer, clock_ns() + WATCHDOG_NS);
    }
    return 0;
}

static void watch_start(const struct test_case *t)
{
    atomic_store(&watched_since, clock_ns());
    atomic_store(&watched, t);
    sched_timer_arm(&watchdog_timer, clock_ns() + WATCHDOG_NS);
}

static void watch_end(void)
{
    atomic_store(&watched, NULL);
    sched_timer_cancel(&watchdog_timer);
}

#define MAX_TESTS 512

/* Source order: files in link order, tests by line within a file (the
 * compiler emits a file's descriptors in reverse). */
static int source_order(const struct test_case **order)
{
    int n = 0;
    for (const struct test_case *t = __start_sr_tests; t < __stop_sr_tests && n < MAX_TESTS; t++) {
        int i = n++;
        /* Insert after the last test of the same file with a smaller line. */
        while (i > 0 && strcmp(order[i - 1]->file, t->file) == 0 && order[i - 1]->line > t->line) {
            order[i] = order[i - 1];
            i--;
        }
        order[i] = t;
    }
    return n;
}

int tests_main(void)
{
    int n = 0, passed = 0, failed = 0;
    static const struct test_case *order[MAX_TESTS];
    int total = source_order(order);

    char only[64];
    const char *filter = cmdline_value("sr.only", only, sizeof(only));
    printf("SR: running %d in-image tests%s%s\n", total, filter ? " matching " : "",
           filter ? filter : "");
    sem_init(&watchdog_sem, 0);
    timer_init(&watchdog_timer);
    watchdog_timer.fn = watchdog_fire;
    struct task_attr wa = {.name = "test-watchdog", .qos = QOS_USER_INTERACTIVE, .detached = true};
    if (!task_spawn(watchdog_main, NULL, &wa))
        printf("SR: no test watchdog (cannot spawn it)\n");
    for (int k = 0; k < total; k++) {
        const struct test_case *t = order[k];
        char full[96];
        snprintf(full, sizeof(full), "%s.%s", t->suite, t->name);
        if (filter && !strstr(full, filter))
            continue;
        memset(results, 0, sizeof(results));
        uint64_t t0 = clock_ns();
        watch_start(t);
        if (t->flags & TEST_F_ALL_CORES)
            run_on_every_core(t);
        else
            t->fn();
        watch_end();
        n++;
        int bad = -1;
        for (int c = 0; c < PLAT_MAX_CPUS && bad < 0; c++)
            if (results[c].failed)
                bad = c;
        if (bad < 0) {
            passed++;
            uint64_t ms = (clock_ns() - t0) / 1000000;
            if (ms >= 100)
                printf("ok %d %s.%s # %llu ms\n", n, t->suite, t->name, (unsigned long long)ms);
            else
                printf("ok %d %s.%s\n", n, t->suite, t->name);
        } else {
            failed++;
            printf("not ok %d %s.%s # %s (cpu %d)\n", n, t->suite, t->name, results[bad].msg, bad);
        }
    }
    printf("tests: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
