/* Interrupt entry and exit while a task runs (irqfp: no FP/SIMD save). */
#include <arch/cpu.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/percpu.h>
#include <kernel/task.h>
#include "bench.h"

enum { SELF_SGIS = 20000 };

/* A running task sends itself a wake-up SGI with IRQs masked, then unmasks
 * them: the interrupt is taken at once through the exception path (entry,
 * acknowledge, handler, EOI, nothing to reschedule, exit). Value: guest
 * instructions per round, the send included. */
static int64_t self_sgi_loop(void *arg)
{
    (void)arg;
    struct percpu *p = this_cpu();
    uint64_t irqs = p->irqs;
    uint64_t t0 = clock_ns();
    for (int i = 0; i < SELF_SGIS; i++) {
        arch_irq_disable();
        ipi_send(IPI_WAKE, p->cpu);
        arch_irq_enable();
    }
    uint64_t t1 = clock_ns();
    if (p->irqs - irqs < SELF_SGIS)
        return -1;
    return (int64_t)(t1 - t0);
}

BENCH(irq_self_sgi, "insn/irq", 0, BENCH_REPORT)
{
    struct task_attr a = {.name = "sgi", .qos = QOS_USER_INTERACTIVE,
                          .affinity = 1u << cpu_id()};
    int64_t v = -1;
    task_join(task_spawn(self_sgi_loop, NULL, &a), &v);
    if (v < 0)
        return bench_invalid("irq_self_sgi", "an SGI was not taken");
    return (uint64_t)v / SELF_SGIS;
}
