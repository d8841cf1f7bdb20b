/* Monotonic time, and a per-core one-shot callback on the core's timer heap
 * (the scheduler owns the generic timer and multiplexes it). */
#include <arch/timer.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>

static uint32_t timer_intid;

int clock_init(const struct platform *plat)
{
    timer_intid = plat->timer.virt_irq;
    return 0;
}

void clock_init_cpu(void)
{
    arch_timer_disarm();
    timer_init(&this_cpu()->oneshot);
    irq_set_priority(timer_intid, 0x80);
    irq_enable(timer_intid);
}

uint64_t clock_ns(void) { return arch_time_ns(); }

static void oneshot_fire(void *arg, uint32_t seq)
{
    (void)seq;
    struct percpu *p = arg;
    void (*fn)(void *) = p->oneshot_fn;
    p->oneshot_fn = NULL;
    if (fn)
        fn(p->oneshot_arg);
}

void clock_oneshot(uint64_t ns, void (*fn)(void *), void *arg)
{
    struct percpu *p = this_cpu();
    uint64_t flags = arch_irq_save();
    p->oneshot_fn = fn;
    p->oneshot_arg = arg;
    p->oneshot.fn = oneshot_fire;
    p->oneshot.arg = p;
    sched_timer_arm(&p->oneshot, clock_ns() + ns);
    arch_irq_restore(flags);
}

void clock_cancel(void)
{
    struct percpu *p = this_cpu();
    uint64_t flags = arch_irq_save();
    sched_timer_cancel(&p->oneshot);
    p->oneshot_fn = NULL;
    arch_irq_restore(flags);
}
