/*
 * In-image microbenchmarks (boot with "sr.bench"; `make bench` runs them
 * under QEMU -icount shift=0,sleep=off, where one guest instruction is one
 * nanosecond of virtual time, so clock_ns() deltas count instructions).
 *
 * BENCH(name, target, dir) { ... return value; } defines a benchmark whose
 * result is compared with target (dir BENCH_AT_MOST or BENCH_AT_LEAST). A
 * benchmark checks its own work and returns BENCH_INVALID if it did not do
 * what it measured. Output contract (scripts/run_bench.py):
 *   bench: <name> <value> <unit> <at_most|at_least|report> <target>
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>

#define BENCH_AT_MOST  0
#define BENCH_AT_LEAST 1
#define BENCH_REPORT   2   /* a figure to report, no target (target 0) */
#define BENCH_INVALID  UINT64_MAX

struct bench_case {
    const char *name;
    const char *unit;
    uint64_t target;
    int dir;
    uint64_t (*fn)(void);
};

#define BENCH(name_, unit_, target_, dir_)                                        \
    static uint64_t bench_##name_(void);                                          \
    static const struct bench_case bench_case_##name_                             \
        __attribute__((used, section("sr_benches"), aligned(8))) = {              \
            #name_, unit_, target_, dir_, bench_##name_};                         \
    static uint64_t bench_##name_(void)

/* Reports a benchmark whose own check failed. */
uint64_t bench_invalid(const char *name, const char *why);

#endif
