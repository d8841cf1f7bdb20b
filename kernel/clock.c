/* Monotonic time and a per-core one-shot timer on the virtual generic timer
 * (PPI from the DT). One pending callback per core; the timer queue that
 * multiplexes sleeps and timeouts builds on this. */
#include <arch/timer.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/percpu.h>

static uint32_t timer_intid;

static void clock_irq(uint32_t intid, void *arg)
{
    (void)intid;
    (void)arg;
    struct percpu *p = this_cpu();
    arch_timer_disarm();
    p->timer_irqs++;
    void (*fn)(void *) = p->timer_fn;
    p->timer_fn = NULL;
    if (fn)
        fn(p->timer_arg);
}

int clock_init(const struct platform *plat)
{
    timer_intid = plat->timer.virt_irq;
    return irq_register(timer_intid, clock_irq, NULL);
}

void clock_init_cpu(void)
{
    arch_timer_disarm();
    irq_set_priority(timer_intid, 0x80);
    irq_enable(timer_intid);
}

uint64_t clock_ns(void) { return arch_time_ns(); }

void clock_oneshot(uint64_t ns, void (*fn)(void *), void *arg)
{
    uint64_t flags = arch_irq_save();
    struct percpu *p = this_cpu();
    p->timer_fn = fn;
    p->timer_arg = arg;
    arch_timer_arm(arch_counter() + arch_ns_to_ticks(ns));
    arch_irq_restore(flags);
}

void clock_cancel(void)
{
    uint64_t flags = arch_irq_save();
    arch_timer_disarm();
    this_cpu()->timer_fn = NULL;
    arch_irq_restore(flags);
}
