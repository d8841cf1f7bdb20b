/*
 * "sr.crash" on the command line: an unexpected NULL dereference on the last
 * online core, to show (and let the test runner check) the fault report:
 * core, decoded ESR, FAR, ELR, registers and a symbolised backtrace.
 */
#include <stdint.h>
#include <stdio.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <apps/apps.h>

static __attribute__((noinline)) uint64_t crash_read_through(volatile uint64_t *p)
{
    return *p + 1;
}

static __attribute__((noinline)) void crash_on_this_core(void *arg)
{
    (void)arg;
    volatile uint64_t *null = 0;
    __asm__("" : "+r"(null));
    printf("cpu %d: reading through a NULL pointer on purpose\n", cpu_id());
    printf("never printed: %llu\n", (unsigned long long)crash_read_through(null));
}

int crash_main(void)
{
    int target = 0;
    for (int i = 0; i < platform.ncpus; i++)
        if (smp_cpu_online(i))
            target = i;
    smp_call(target, crash_on_this_core, NULL);
    return 1;   /* not reached: the fault ends the run */
}
