/* QoS microbenchmarks (issue targets: qos_wake_preempt). */
#include <stdatomic.h>
#include <kernel/clock.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include "bench.h"

enum { WAKES = 200 };

static struct semaphore ui_wake, ui_done;
static _Atomic bool hog_stop;
static uint64_t woke_at[WAKES];
static int woke_cpu[WAKES];

static int64_t bg_hog(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&hog_stop, memory_order_relaxed))
        ;
    return 0;
}

static int64_t ui_waiter(void *arg)
{
    (void)arg;
    for (int i = 0; i < WAKES; i++) {
        sem_wait(&ui_wake, WAIT_FOREVER);
        woke_at[i] = clock_ns();
        woke_cpu[i] = cpu_id();
        sem_post(&ui_done);
    }
    return 0;
}

/* Posts each wake once the waiter is blocked; returns the summed latency. */
static int64_t poster(void *arg)
{
    (void)arg;
    uint64_t total = 0;
    for (int i = 0; i < WAKES; i++) {
        while (waitq_empty(&ui_wake.wq))
            task_yield();
        uint64_t t0 = clock_ns();
        sem_post(&ui_wake);
        sem_wait(&ui_done, WAIT_FOREVER);
        total += woke_at[i] - t0;
    }
    return (int64_t)total;
}

/* A user-interactive task may run on one performance core, busy with a
 * background hog, and one efficiency core, where a background poster wakes
 * it: every core it may use runs background work. The policy must start it
 * at once on the performance core, preempting the hog (an SGI). Value:
 * guest instructions from the post to the task's first instruction after
 * its wait, mean of WAKES. The other cores stay idle: under icount QEMU
 * runs vCPUs round robin, and a spinning vCPU keeps the host thread for up
 * to 100 ms of virtual time, which the figure would otherwise measure. */
BENCH(qos_wake_preempt, "insn", 1500, BENCH_AT_MOST)
{
    const struct sched_core_model *m = sched_core_model();
    int big = -1, low = -1;
    for (int c = 0; c < platform.ncpus; c++) {
        if (!smp_cpu_online(c) || c == cpu_id())
            continue;
        if (m->core[c].level == 0)
            big = c;
        else if (m->core[c].level == m->nlevels - 1)
            low = c;
    }
    if (m->nlevels < 2 || big < 0 || low < 0)
        return bench_invalid("qos_wake_preempt", "needs performance and efficiency cores");
    sem_init(&ui_wake, 0);
    sem_init(&ui_done, 0);
    atomic_store(&hog_stop, false);
    struct task_attr ha = {.name = "bg-hog", .qos = QOS_BACKGROUND, .affinity = 1u << big};
    struct task_attr ua = {.name = "ui", .qos = QOS_USER_INTERACTIVE,
                           .affinity = (1u << big) | (1u << low)};
    struct task_attr pa = {.name = "poster", .qos = QOS_BACKGROUND, .affinity = 1u << low};
    struct task *h = task_spawn(bg_hog, NULL, &ha);
    struct task *u = task_spawn(ui_waiter, NULL, &ua);
    struct task *p = task_spawn(poster, NULL, &pa);
    int64_t total = 0;
    task_join(p, &total);
    task_join(u, NULL);
    atomic_store(&hog_stop, true);
    task_join(h, NULL);
    for (int i = 0; i < WAKES; i++)
        if (woke_cpu[i] != big)
            return bench_invalid("qos_wake_preempt", "did not start on the performance core");
    return (uint64_t)total / WAKES;
}
