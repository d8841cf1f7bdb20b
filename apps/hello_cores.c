/*
 * The default application (make run): proof of life from every core. Each
 * online core reports who it is (as the DT describes it) and takes one
 * interrupt from its own generic timer, then the boot CPU prints a summary.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <arch/cpu.h>
#include <kernel/boot.h>
#include <kernel/clock.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <apps/apps.h>

#define HELLO_TIMER_NS (1000 * 1000)

static _Atomic int ticked;

static void tick(void *arg)
{
    *(volatile bool *)arg = true;
}

static void hello(void *arg)
{
    (void)arg;
    const struct plat_cpu *c = &platform.cpus[cpu_id()];
    volatile bool fired = false;
    uint64_t t0 = clock_ns();

    clock_oneshot(HELLO_TIMER_NS, tick, (void *)&fired);
    while (!fired)
        wfi();
    atomic_fetch_add(&ticked, 1);
    printf("cpu %d: hello from mpidr 0x%llx, %s core %s in cluster %d, EL%u; "
           "own timer fired after %llu us\n",
           cpu_id(), (unsigned long long)arch_mpidr(), platform_class_name(c->cls),
           c->compatible, c->cluster, arch_current_el(),
           (unsigned long long)((clock_ns() - t0) / 1000));
}

int hello_cores_main(void)
{
    smp_call_all(hello, NULL);
    printf("SR: %d of %d cores said hello and took their own timer interrupt; "
           "all cores were online %llu us after reset\n",
           atomic_load(&ticked), smp_online_count(),
           (unsigned long long)(boot_state.all_online_ns / 1000));
    return atomic_load(&ticked) == smp_online_count() ? 0 : 1;
}
