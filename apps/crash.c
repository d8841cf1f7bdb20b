/*
 * Fault demos.
 * "sr.crash": a task on the last online core dereferences NULL. The task is
 *   killed with a full report (core, decoded ESR, FAR, ELR, registers,
 *   symbolised backtrace); its joiner sees TASK_FAULTED; the system goes on.
 * "sr.panic": the same fault in interrupt context (a cross-call) cannot be
 *   contained: the kernel panics with the same report.
 */
#include <stdint.h>
#include <stdio.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <apps/apps.h>

static __attribute__((noinline)) uint64_t crash_read_through(volatile uint64_t *p)
{
    return *p + 1;
}

/* The empty asm after each call keeps it from becoming a tail call, so
 * every frame shows up in the backtrace. */
static __attribute__((noinline)) uint64_t crash_null(void)
{
    volatile uint64_t *null = 0;
    __asm__("" : "+r"(null));
    printf("cpu %d: reading through a NULL pointer on purpose\n", cpu_id());
    uint64_t v = crash_read_through(null);
    __asm__ volatile("" : "+r"(v));
    return v;
}

static int64_t crash_task(void *arg)
{
    (void)arg;
    uint64_t v = crash_null();
    __asm__ volatile("" : "+r"(v));
    return (int64_t)v;
}

static void crash_in_irq(void *arg)
{
    (void)arg;
    uint64_t v = crash_null();
    __asm__ volatile("" : "+r"(v));
}

static int last_online_cpu(void)
{
    int target = 0;
    for (int i = 0; i < platform.ncpus; i++)
        if (smp_cpu_online(i))
            target = i;
    return target;
}

int crash_main(void)
{
    struct task_attr attr = {.name = "crasher", .affinity = 1u << last_online_cpu()};
    struct task *t = task_spawn(crash_task, NULL, &attr);
    int64_t v = -1;
    enum task_status st = task_join(t, &v);
    printf("crash: joined \"crasher\": %s, value %lld; the system keeps running\n",
           st == TASK_FAULTED ? "faulted" : "exited", (long long)v);
    return st == TASK_FAULTED ? 0 : 1;
}

int panic_main(void)
{
    smp_call(last_online_cpu(), crash_in_irq, NULL);
    return 1;   /* not reached: the panic ends the run */
}
