/* Scheduler, synchronisation and memory microbenchmarks (issue targets). */
#include <stdatomic.h>
#include <stdlib.h>
#include <kernel/boot.h>
#include <kernel/clock.h>
#include <kernel/mm.h>
#include <kernel/mutex.h>
#include <kernel/percpu.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include "bench.h"

static _Atomic uint64_t ran;

static int64_t empty_task(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
    return 0;
}

static uint32_t here(void) { return 1u << cpu_id(); }

static int other_cpu(void)
{
    for (int c = platform.ncpus - 1; c >= 0; c--)
        if (smp_cpu_online(c) && c != cpu_id())
            return c;
    return cpu_id();
}

BENCH(spawn_join, "insn/op", 150, BENCH_AT_MOST)
{
    enum { N = 2000 };
    struct task_attr attr = {.name = "empty", .qos = QOS_DEFAULT, .affinity = here()};
    atomic_store(&ran, 0);
    /* Warm the caches once. */
    task_join(task_spawn(empty_task, NULL, &attr), NULL);
    uint64_t t0 = clock_ns();
    for (int i = 0; i < N; i++)
        task_join(task_spawn(empty_task, NULL, &attr), NULL);
    uint64_t t1 = clock_ns();
    if (atomic_load(&ran) != N + 1)
        return bench_invalid("spawn_join", "not every task ran");
    return (t1 - t0) / N;
}

static _Atomic uint64_t yield_start, yield_end;
static _Atomic int yielders_in;

/* Both yielders are queued on one core before the clock starts, so every
 * counted yield switches to the other task. */
static int64_t yielder(void *arg)
{
    int n = (int)(intptr_t)arg;
    atomic_fetch_add(&yielders_in, 1);
    while (atomic_load(&yielders_in) < 2)
        task_yield();
    uint64_t expected = 0;
    atomic_compare_exchange_strong(&yield_start, &expected, clock_ns());
    for (int i = 0; i < n; i++)
        task_yield();
    atomic_store(&yield_end, clock_ns());
    return n;
}

BENCH(yield_switch, "insn/switch", 60, BENCH_AT_MOST)
{
    enum { N = 20000 };
    struct task_attr attr = {.name = "yielder", .qos = QOS_DEFAULT, .affinity = 1u << other_cpu()};
    atomic_store(&yield_start, 0);
    atomic_store(&yielders_in, 0);
    struct task *a = task_spawn(yielder, (void *)(intptr_t)N, &attr);
    struct task *b = task_spawn(yielder, (void *)(intptr_t)N, &attr);
    int64_t va = 0, vb = 0;
    task_join(a, &va);
    task_join(b, &vb);
    if (va != N || vb != N)
        return bench_invalid("yield_switch", "yield count mismatch");
    return (atomic_load(&yield_end) - atomic_load(&yield_start)) / (2 * N);
}

static struct semaphore ping, pong;
static _Atomic uint64_t pp_start, pp_end;

static int64_t pinger(void *arg)
{
    int n = (int)(intptr_t)arg;
    atomic_store(&pp_start, clock_ns());
    for (int i = 0; i < n; i++) {
        sem_post(&ping);
        sem_wait(&pong, WAIT_FOREVER);
    }
    atomic_store(&pp_end, clock_ns());
    return n;
}

static int64_t ponger(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) {
        sem_wait(&ping, WAIT_FOREVER);
        sem_post(&pong);
    }
    return n;
}

static uint64_t pingpong(int cpu_a, int cpu_b, int n, const char *name)
{
    sem_init(&ping, 0);
    sem_init(&pong, 0);
    struct task_attr a = {.name = "ping", .qos = QOS_DEFAULT, .affinity = 1u << cpu_a};
    struct task_attr b = {.name = "pong", .qos = QOS_DEFAULT, .affinity = 1u << cpu_b};
    struct task *tb = task_spawn(ponger, (void *)(intptr_t)n, &b);
    struct task *ta = task_spawn(pinger, (void *)(intptr_t)n, &a);
    int64_t va = 0, vb = 0;
    task_join(ta, &va);
    task_join(tb, &vb);
    if (va != n || vb != n || ping.count || pong.count)
        return bench_invalid(name, "round trips lost");
    return (atomic_load(&pp_end) - atomic_load(&pp_start)) / (uint64_t)n;
}

BENCH(sem_pingpong_same, "insn/roundtrip", 250, BENCH_AT_MOST)
{
    int c = other_cpu();
    return pingpong(c, c, 10000, "sem_pingpong_same");
}

BENCH(sem_pingpong_cross, "insn/roundtrip", 1500, BENCH_AT_MOST)
{
    int c = other_cpu();
    int d = c;
    for (int i = 0; i < platform.ncpus; i++)
        if (smp_cpu_online(i) && i != c && i != cpu_id())
            d = i;
    if (d == c)
        return bench_invalid("sem_pingpong_cross", "needs three cores");
    return pingpong(c, d, 2000, "sem_pingpong_cross");
}

BENCH(mutex_uncontended, "insn/op", 20, BENCH_AT_MOST)
{
    enum { N = 100000 };
    static struct mutex m = MUTEX_INIT;
    uint64_t t0 = clock_ns();
    for (int i = 0; i < N; i++) {
        mutex_lock(&m);
        mutex_unlock(&m);
    }
    uint64_t t1 = clock_ns();
    if (mutex_owner(&m) != NULL)
        return bench_invalid("mutex_uncontended", "left locked");
    return (t1 - t0) / N;
}

BENCH(slab_alloc_free, "insn/op", 30, BENCH_AT_MOST)
{
    enum { N = 100000 };
    static struct slab_cache *c;
    if (!c)
        c = slab_cache_create("bench64", 64, 8);
    void *first = slab_alloc(c);
    slab_free(c, first);
    uint64_t t0 = clock_ns();
    for (int i = 0; i < N; i++) {
        void *p = slab_alloc(c);
        __asm__ volatile("" : : "r"(p) : "memory");
        slab_free(c, p);
    }
    uint64_t t1 = clock_ns();
    void *again = slab_alloc(c);
    bool same = again == first;
    slab_free(c, again);
    if (!first || !same)
        return bench_invalid("slab_alloc_free", "objects not recycled");
    return (t1 - t0) / N;
}

BENCH(malloc_free_128, "insn/op", 120, BENCH_AT_MOST)
{
    enum { N = 100000 };
    uint64_t t0 = clock_ns();
    for (int i = 0; i < N; i++) {
        void *p = malloc(128);
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
    }
    uint64_t t1 = clock_ns();
    void *p = malloc(128);
    bool ok = p && heap_usable_size(p) >= 128;
    free(p);
    if (!ok)
        return bench_invalid("malloc_free_128", "malloc failed");
    return (t1 - t0) / N;
}

static int64_t sleep_latency(void *arg)
{
    int n = (int)(intptr_t)arg;
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        uint64_t deadline = clock_ns() + 50000;
        task_sleep_until(deadline);
        uint64_t now = clock_ns();
        if (now < deadline)
            return -1;
        total += now - deadline;
    }
    return (int64_t)(total / (uint64_t)n);
}

BENCH(timer_irq_to_task, "insn", 300, BENCH_AT_MOST)
{
    struct task_attr attr = {.name = "sleeper", .affinity = 1u << other_cpu()};
    int64_t v = -1;
    task_join(task_spawn(sleep_latency, (void *)(intptr_t)500, &attr), &v);
    if (v < 0)
        return bench_invalid("timer_irq_to_task", "woke before the deadline");
    return (uint64_t)v;
}

static struct semaphore hold;
static int64_t park(void *arg)
{
    (void)arg;
    sem_wait(&hold, WAIT_FOREVER);
    return 0;
}

BENCH(tasks_per_mib, "tasks/MiB", 200, BENCH_AT_LEAST)
{
    enum { M = 2000 };
    static struct task *t[M];
    sem_init(&hold, 0);
    mm_drain_caches();
    uint64_t before = mm_free_pages();
    struct task_attr attr = {.name = "idle", .stack_size = 4096};
    for (int i = 0; i < M; i++) {
        t[i] = task_spawn(park, NULL, &attr);
        if (!t[i])
            return bench_invalid("tasks_per_mib", "spawn failed");
    }
    uint64_t after = mm_free_pages();
    for (int i = 0; i < M; i++)
        sem_post(&hold);
    for (int i = 0; i < M; i++)
        task_join(t[i], NULL);
    uint64_t bytes = (before - after) * PAGE_SIZE;
    if (!bytes)
        return bench_invalid("tasks_per_mib", "no memory used?");
    return (uint64_t)M * (1u << 20) / bytes;
}

BENCH(boot_all_cores_ns, "ns", 10000000, BENCH_AT_MOST)
{
    return boot_state.all_online_ns;
}
