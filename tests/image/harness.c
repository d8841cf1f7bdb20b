/*
 * In-image test runner (boot with "sr.test" on the command line). Runs every
 * TEST() in the sr_tests section in link order; TEST_ALL_CORES ones run on
 * every online core at once through smp_call_all. A test fails if any core
 * recorded a failure; the first one is reported with its core.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <kernel/boot.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
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

static void run_on_core(void *arg)
{
    ((const struct test_case *)arg)->fn();
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

    printf("SR: running %d in-image tests\n", total);
    for (int k = 0; k < total; k++) {
        const struct test_case *t = order[k];
        memset(results, 0, sizeof(results));
        if (t->flags & TEST_F_ALL_CORES)
            smp_call_all(run_on_core, (void *)t);
        else
            t->fn();
        n++;
        int bad = -1;
        for (int c = 0; c < PLAT_MAX_CPUS && bad < 0; c++)
            if (results[c].failed)
                bad = c;
        if (bad < 0) {
            passed++;
            printf("ok %d %s.%s\n", n, t->suite, t->name);
        } else {
            failed++;
            printf("not ok %d %s.%s # %s (cpu %d)\n", n, t->suite, t->name, results[bad].msg, bad);
        }
    }
    printf("tests: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
