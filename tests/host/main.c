/*
 * Host unit-test runner: runs every TEST() linked into the binary (the
 * "sr_tests" section, bounded by the linker's __start_/__stop_ symbols) and
 * prints the sr_test.h protocol, nothing else:
 *   ok N suite.name | not ok N suite.name # file:line: message
 *   tests: P passed, F failed
 * Tests run sorted by file, then line (link order is not source order).
 * Usage: unit-tests [fixture-dir]   (default build/host/fixtures)
 * Exit status 0 iff no test failed.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "host_test.h"

extern const struct test_case __start_sr_tests[], __stop_sr_tests[];

static const char *fixture_dir = "build/host/fixtures";

/* The running test's first failure; later ones are dropped. */
static bool failed;
static char failure[512];

void test_fail(const char *file, int line, const char *fmt, ...)
{
    if (failed)
        return;
    failed = true;
    int n = snprintf(failure, sizeof(failure), "%s:%d: ", file, line);
    if (n < 0 || (size_t)n >= sizeof(failure))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(failure + n, sizeof(failure) - (size_t)n, fmt, ap);
    va_end(ap);
}

const char *host_fixture_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
    return path;
}

static int by_file_line(const void *a, const void *b)
{
    const struct test_case *x = *(const struct test_case *const *)a;
    const struct test_case *y = *(const struct test_case *const *)b;
    int c = strcmp(x->file, y->file);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        fixture_dir = argv[1];
    size_t count = (size_t)(__stop_sr_tests - __start_sr_tests);
    const struct test_case **order = malloc((count ? count : 1) * sizeof(*order));
    if (!order)
        return 1;
    for (size_t i = 0; i < count; i++)
        order[i] = &__start_sr_tests[i];
    qsort(order, count, sizeof(*order), by_file_line);

    int passed = 0, nfailed = 0, n = 0;
    for (size_t i = 0; i < count; i++) {
        const struct test_case *t = order[i];
        failed = false;
        failure[0] = '\0';
        t->fn();
        n++;
        if (failed) {
            nfailed++;
            printf("not ok %d %s.%s # %s\n", n, t->suite, t->name, failure);
        } else {
            passed++;
            printf("ok %d %s.%s\n", n, t->suite, t->name);
        }
        fflush(stdout);
    }
    free(order);
    printf("tests: %d passed, %d failed\n", passed, nfailed);
    return nfailed == 0 ? 0 : 1;
}
