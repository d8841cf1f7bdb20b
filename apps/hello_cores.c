/*
 * The default application (make run): proof of life from every core. One
 * task pinned to each online core reports who it is (as the DT describes
 * it) and sleeps on its core's timer; the main task joins them all and
 * prints a summary with the per-core busy/idle accounting.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <arch/cpu.h>
#include <kernel/boot.h>
#include <kernel/clock.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <apps/apps.h>

#define HELLO_SLEEP_NS (1000 * 1000)

static int64_t hello(void *arg)
{
    (void)arg;
    const struct plat_cpu *c = &platform.cpus[cpu_id()];
    uint64_t t0 = clock_ns();
    task_sleep_ns(HELLO_SLEEP_NS);
    printf("cpu %d: hello from mpidr 0x%llx, %s core %s in cluster %d, EL%u; "
           "slept %llu us on its own timer\n",
           cpu_id(), (unsigned long long)arch_mpidr(), platform_class_name(c->cls),
           c->compatible, c->cluster, arch_current_el(),
           (unsigned long long)((clock_ns() - t0) / 1000));
    return 1;
}

int hello_cores_main(void)
{
    struct task *tasks[PLAT_MAX_CPUS] = {0};
    int said = 0;
    for (int c = 0; c < platform.ncpus; c++) {
        if (!smp_cpu_online(c))
            continue;
        struct task_attr attr = {.name = "hello", .affinity = 1u << c};
        tasks[c] = task_spawn(hello, NULL, &attr);
    }
    for (int c = 0; c < platform.ncpus; c++) {
        int64_t v = 0;
        if (tasks[c] && task_join(tasks[c], &v) == TASK_EXITED)
            said += (int)v;
    }
    printf("SR: %d of %d cores said hello from a task; all cores were online %llu us after reset\n",
           said, smp_online_count(), (unsigned long long)(boot_state.all_online_ns / 1000));
    for (int c = 0; c < platform.ncpus; c++) {
        struct sched_cpu_stats st;
        if (!smp_cpu_online(c))
            continue;
        sched_cpu_stats(c, &st);
        printf("  cpu %d: busy %llu us, idle %llu us, %llu switches\n", c,
               (unsigned long long)(st.busy_ns / 1000), (unsigned long long)(st.idle_ns / 1000),
               (unsigned long long)st.switches);
    }
    return said == smp_online_count() ? 0 : 1;
}
