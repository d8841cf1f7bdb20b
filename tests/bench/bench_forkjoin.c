/* Fork-join microbenchmark (issue 6): scheduling overhead per grain. */
#include <stdatomic.h>
#include <kernel/clock.h>
#include <sr/forkjoin.h>
#include "bench.h"

static void empty_body(int64_t lo, int64_t hi, void *arg)
{
    (void)lo;
    (void)hi;
    (void)arg;
}

static void count_body(int64_t lo, int64_t hi, void *arg)
{
    atomic_fetch_add_explicit((_Atomic uint64_t *)arg, (uint64_t)(hi - lo), memory_order_relaxed);
}

/* Guest instructions on all cores together (icount: virtual time advances
 * with every core's instructions) per grain of a parallel_for whose body
 * does nothing, grain 1, on every allowed core; job start and helper spawn
 * included. A counting run first checks that the loop covers the range. */
BENCH(parallel_for_per_grain, "insn/grain", 200, BENCH_AT_MOST)
{
    enum { N = 1 << 17 };
    _Atomic uint64_t covered = 0;
    if (parallel_for(0, N, 1, count_body, &covered) != 0 || atomic_load(&covered) != N)
        return bench_invalid("parallel_for_per_grain", "the range was not covered");
    uint64_t t0 = clock_ns();
    int err = parallel_for(0, N, 1, empty_body, NULL);
    uint64_t t1 = clock_ns();
    if (err)
        return bench_invalid("parallel_for_per_grain", "parallel_for failed");
    return (t1 - t0) / N;
}
