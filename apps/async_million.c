/*
 * "sr.async1m" (make stress-async): 1,000,000 stackless tasks asleep at the
 * same time, spread over every core's timer heap, in a 512 MiB machine.
 * Each task sleeps for an hour; once all are asleep (counted by the tasks
 * themselves) the app measures the memory they hold, cancels every one,
 * joins them all (each must report ASYNC_CANCELLED) and checks that every
 * page came back. Exit status 0 on success.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <kernel/clock.h>
#include <kernel/mm.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr/async.h>
#include <apps/apps.h>

#define TASKS 1000000u
#define HOUR_NS (3600ull * 1000 * 1000 * 1000)

static _Atomic uint32_t asleep;

struct dozer {
    struct async_task t;
    uint64_t started;
};

static int dozer_poll(struct async_task *t)
{
    int r;
    ASYNC_BEGIN(t);
    atomic_fetch_add_explicit(&asleep, 1, memory_order_relaxed);
    ASYNC_AWAIT(t, r, async_sleep_until(t, clock_ns() + HOUR_NS));
    atomic_fetch_sub_explicit(&asleep, 1, memory_order_relaxed);
    ASYNC_END(t, r);
}

/* Bytes held by the per-core timer heaps' arrays (they grow, never shrink). */
static uint64_t timer_heap_bytes(void)
{
    uint64_t b = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (runqueues[c].timers.heap)
            b += heap_usable_size(runqueues[c].timers.heap);
    return b;
}

int async_million_main(void)
{
    int cpus[PLAT_MAX_CPUS], n = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c))
            cpus[n++] = c;
    size_t table_bytes = TASKS * sizeof(struct async_task *);
    unsigned order = 0;
    while ((PAGE_SIZE << order) < table_bytes)
        order++;
    /* Warm every executor, then measure from a settled state. */
    for (int i = 0; i < n; i++) {
        struct async_task *w = async_new(dozer_poll, sizeof(struct dozer),
                                         &(struct async_attr){.qos = QOS_UTILITY, .cpu = cpus[i]});
        async_start(w);
        async_cancel(w);
        async_join(w, NULL);
    }
    struct async_task **all = pages_alloc(order);
    if (!all) {
        printf("async1m: no memory for the task table\n");
        return 1;
    }
    mm_drain_caches();
    uint64_t free0 = mm_free_pages(), heaps0 = timer_heap_bytes();
    uint64_t t0 = clock_ns();
    for (uint32_t i = 0; i < TASKS; i++) {
        all[i] = async_new(dozer_poll, sizeof(struct dozer),
                           &(struct async_attr){.qos = QOS_UTILITY, .cpu = cpus[i % n]});
        if (!all[i]) {
            printf("async1m: out of memory after %u tasks\n", i);
            return 1;
        }
        async_start(all[i]);
    }
    while (atomic_load(&asleep) < TASKS)
        task_sleep_ns(1000000);
    uint64_t t1 = clock_ns();
    mm_drain_caches();
    uint64_t used = (free0 - mm_free_pages()) * PAGE_SIZE;
    printf("async1m: %u stackless tasks asleep at once on %d cores; RAM %llu MiB total, "
           "%llu bytes in use for them (%llu per task, timer heaps included); spawned in %llu ms\n",
           TASKS, n, (unsigned long long)(mm_total_pages() * PAGE_SIZE >> 20),
           (unsigned long long)used, (unsigned long long)(used / TASKS),
           (unsigned long long)((t1 - t0) / 1000000));
    for (uint32_t i = 0; i < TASKS; i++)
        async_cancel(all[i]);
    uint32_t cancelled = 0;
    for (uint32_t i = 0; i < TASKS; i++) {
        int64_t v = 0;
        cancelled += async_join(all[i], &v) == ASYNC_CANCELLED && v == -ECANCELED;
    }
    pages_free(all, order);
    mm_drain_caches();
    uint64_t free1 = mm_free_pages() - (1ull << order);
    /* The timer heaps keep their grown arrays (kernel/sched/timerq.c): that
     * is all that may remain; every task's memory must be back. */
    uint64_t kept = (free0 - free1) * PAGE_SIZE, heaps = timer_heap_bytes() - heaps0;
    printf("async1m: cancelled and joined %u of %u; asleep now %u; bytes not returned %llu, "
           "timer heap arrays grew by %llu\n", cancelled, TASKS, atomic_load(&asleep),
           (unsigned long long)kept, (unsigned long long)heaps);
    bool ok = cancelled == TASKS && atomic_load(&asleep) == 0 && kept <= heaps;
    printf("async1m: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
