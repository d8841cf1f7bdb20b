/*
 * SR's scheduler microbenchmarks (tests/bench/bench_sched.c) done with Linux
 * threads, for `make compare`: a static aarch64 program run as the init of
 * a Debian arm64 kernel in the same QEMU machine under -icount
 * shift=0,sleep=off, so one guest nanosecond is one guest instruction, as
 * in `make bench`. Every figure includes what the kernel does for the
 * operation (system calls, the scheduler, futexes, interrupts).
 *
 * Output: one line per benchmark, "compare: linux_threads NAME VALUE UNIT",
 * VALUE -1 when the benchmark's own check failed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report(const char *name, int64_t value, const char *unit)
{
    printf("compare: linux_threads %s %lld %s\n", name, (long long)value, unit);
}

static void pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

static pthread_t spawn_on(void *(*fn)(void *), void *arg, int cpu)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    pthread_t t;
    if (pthread_create(&t, &attr, fn, arg) != 0) {
        perror("pthread_create");
        exit(1);
    }
    pthread_attr_destroy(&attr);
    return t;
}

/* spawn_join: create a thread on this core that does nothing, join it. */
static atomic_ulong ran;
static void *empty(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
    return NULL;
}

static void bench_spawn_join(void)
{
    enum { N = 2000 };
    pin_self(1);
    pthread_join(spawn_on(empty, NULL, 1), NULL);   /* warm */
    uint64_t t0 = now_ns();
    for (int i = 0; i < N; i++)
        pthread_join(spawn_on(empty, NULL, 1), NULL);
    uint64_t t1 = now_ns();
    report("spawn_join", atomic_load(&ran) == N + 1 ? (int64_t)((t1 - t0) / N) : -1, "insn/op");
}

/* yield_switch: two threads on one core calling sched_yield. */
static atomic_int yielders_in;
static atomic_ulong yield_start, yield_end;
enum { YIELDS = 20000 };

static void *yielder(void *arg)
{
    (void)arg;
    atomic_fetch_add(&yielders_in, 1);
    while (atomic_load(&yielders_in) < 2)
        sched_yield();
    unsigned long zero = 0;
    atomic_compare_exchange_strong(&yield_start, &zero, now_ns());
    for (int i = 0; i < YIELDS; i++)
        sched_yield();
    atomic_store(&yield_end, now_ns());
    return NULL;
}

static void bench_yield_switch(void)
{
    pthread_t a = spawn_on(yielder, NULL, 1), b = spawn_on(yielder, NULL, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    report("yield_switch", (int64_t)((yield_end - yield_start) / (2 * YIELDS)), "insn/switch");
}

/* sem_pingpong: a round trip between two threads through two semaphores. */
static sem_t ping, pong;
static atomic_ulong pp_start, pp_end;

static void *pinger(void *arg)
{
    int n = (int)(intptr_t)arg;
    atomic_store(&pp_start, now_ns());
    for (int i = 0; i < n; i++) {
        sem_post(&ping);
        sem_wait(&pong);
    }
    atomic_store(&pp_end, now_ns());
    return NULL;
}

static void *ponger(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) {
        sem_wait(&ping);
        sem_post(&pong);
    }
    return NULL;
}

static int64_t pingpong(int cpu_a, int cpu_b, int n)
{
    sem_init(&ping, 0, 0);
    sem_init(&pong, 0, 0);
    pthread_t b = spawn_on(ponger, (void *)(intptr_t)n, cpu_b);
    pthread_t a = spawn_on(pinger, (void *)(intptr_t)n, cpu_a);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    int vp = -1, vq = -1;
    sem_getvalue(&ping, &vp);
    sem_getvalue(&pong, &vq);
    return vp == 0 && vq == 0 ? (int64_t)((pp_end - pp_start) / (uint64_t)n) : -1;
}

/* mutex_uncontended: lock + unlock. */
static void bench_mutex(void)
{
    enum { N = 100000 };
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    uint64_t t0 = now_ns();
    for (int i = 0; i < N; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    uint64_t t1 = now_ns();
    report("mutex_uncontended", (int64_t)((t1 - t0) / N), "insn/op");
}

/* malloc_free_128 from a thread. */
static void bench_malloc(void)
{
    enum { N = 100000 };
    uint64_t t0 = now_ns();
    for (int i = 0; i < N; i++) {
        void *p = malloc(128);
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
    }
    uint64_t t1 = now_ns();
    report("malloc_free_128", (int64_t)((t1 - t0) / N), "insn/op");
}

/* timer_irq_to_task: how late a thread sleeping until an absolute deadline
 * 50 us ahead runs again (mean of 500), with the timer slack (50 us by
 * default) set to its 1 ns minimum: SR has none. */
static void *sleeper(void *arg)
{
    int64_t *out = arg;
    uint64_t total = 0;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    for (int i = 0; i < 500; i++) {
        uint64_t deadline = now_ns() + 50000;
        struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
                              .tv_nsec = (long)(deadline % 1000000000ull)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
            ;
        uint64_t now = now_ns();
        if (now < deadline) {
            *out = -1;
            return NULL;
        }
        total += now - deadline;
    }
    *out = (int64_t)(total / 500);
    return NULL;
}

static void bench_timer(void)
{
    int64_t v = -1;
    pthread_join(spawn_on(sleeper, &v, 1), NULL);
    report("timer_irq_to_task", v, "insn");
}

int main(void)
{
    bench_spawn_join();
    bench_yield_switch();
    report("sem_pingpong_same", pingpong(1, 1, 10000), "insn/roundtrip");
    report("sem_pingpong_cross", pingpong(1, 2, 2000), "insn/roundtrip");
    bench_mutex();
    bench_malloc();
    bench_timer();
    return 0;
}
