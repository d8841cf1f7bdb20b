/* Runs every BENCH in link order and prints one line per result. */
#include <stdio.h>
#include <string.h>
#include <kernel/boot.h>
#include <kernel/cmdline.h>
#include "bench.h"

extern const struct bench_case __start_sr_benches[], __stop_sr_benches[];

uint64_t bench_invalid(const char *name, const char *why)
{
    printf("bench: %s failed its own check: %s\n", name, why);
    return BENCH_INVALID;
}

int bench_main(void)
{
    int bad = 0;
    char only[64];
    const char *filter = cmdline_value("sr.only", only, sizeof(only));
    for (const struct bench_case *b = __start_sr_benches; b < __stop_sr_benches; b++) {
        if (filter && !strstr(b->name, filter))
            continue;
        uint64_t v = b->fn();
        if (v == BENCH_INVALID) {
            printf("bench: %s invalid\n", b->name);
            bad++;
            continue;
        }
        printf("bench: %s %llu %s %s %llu\n", b->name, (unsigned long long)v, b->unit,
               b->dir == BENCH_AT_MOST ? "at_most" : b->dir == BENCH_AT_LEAST ? "at_least" : "report",
               (unsigned long long)b->target);
    }
    printf("bench: done\n");
    return bad ? 1 : 0;
}
