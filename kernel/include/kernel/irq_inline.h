/*
 * Interrupt dispatch as inline functions, for the paths that are hot: the
 * exception entry's drain (kernel/irq.c) and the idle loop's dispatch after
 * WFI (kernel/sched/sched_idle.c), which inlines it so that it leaves for a
 * task the handler woke straight after the EOI, without returning through
 * a dispatch function first. Everything else uses kernel/irq.h.
 */
#ifndef KERNEL_IRQ_INLINE_H
#define KERNEL_IRQ_INLINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <arch/sysreg.h>
#include <kernel/irq.h>
#include <kernel/percpu.h>

/* 32 bytes (aligned): a slot's address is the intid shifted, not multiplied. */
struct irq_slot {
    irq_handler_t fn;
    void *arg;
    _Atomic uint64_t count;
} __attribute__((aligned(32)));

/* kernel/irq.c's: the bound controller and the handler table. */
extern const struct irqchip *irq_chip;
extern struct irq_slot irq_slots[IRQ_MAX];

/* The GICv3 CPU interface's end of interrupt, group 1 (ICC_EOIR1_EL1, by
 * its encoding): the priority drop and deactivation of raw, then an isb so
 * that they take effect before the core unmasks IRQs or waits. The eoi of
 * a chip with eoi_icc set (the GICv3 driver's). */
static inline void irq_eoi_icc(uint32_t raw)
{
    write_sysreg(S3_0_C12_C12_1, raw);
    isb();
}

/* The bound controller's end of interrupt: inline for a chip whose eoi is
 * irq_eoi_icc, its call otherwise. */
static inline __attribute__((always_inline)) void irq_chip_eoi(uint32_t raw)
{
    const struct irqchip *c = irq_chip;
    if (__builtin_expect(c->eoi_icc, 1))
        irq_eoi_icc(raw);
    else
        c->eoi(raw);
}

/* The bound controller's eoi_icc, for a caller that reads it once and
 * keeps it (the idle loop, at each entry: the controller is bound, irq_init,
 * before any core's idle loop runs, and never changes). */
static inline bool irq_chip_eoi_is_icc(void) { return irq_chip->eoi_icc; }

/* irq_dispatch_one with the controller's eoi_icc already known true when
 * icc is: its EOI then tests no flag of the chip (false: irq_chip_eoi's
 * own test). */
static inline __attribute__((always_inline)) bool irq_dispatch_one_icc(struct percpu *p, bool icc)
{
    uint32_t raw;
    uint32_t intid = irq_chip->ack(&raw);
    if (intid >= IRQ_MAX)
        return false;   /* spurious: nothing (more) pending */
    struct irq_slot *s = &irq_slots[intid];
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    p->irqs++;
    irq_handler_t fn = s->fn;
    if (__builtin_expect(fn != NULL, 1)) {
        fn(intid, s->arg);
        if (__builtin_expect(icc, 1))
            irq_eoi_icc(raw);
        else
            irq_chip_eoi(raw);
        return true;
    }
    irq_chip_eoi(raw);
    if (intid >= IRQ_PPI_BASE) {
        /* Nobody wants it: silence it rather than storm. */
        irq_chip->disable(intid);
    }
    return true;
}

/* Take one pending interrupt and run its handler; false if none was pending.
 * In IRQ context (p->in_irq raised), IRQs masked. */
static inline __attribute__((always_inline)) bool irq_dispatch_one(struct percpu *p)
{
    return irq_dispatch_one_icc(p, false);
}

/* The idle loop's dispatch after WFI (IRQs masked, not in IRQ context): one
 * pending interrupt, if any, acknowledged, handled and ended as irq_handle
 * does. One at a time: the idle loop's next WFI returns at once while
 * another is pending, which spares the ack that would only find nothing
 * more pending. icc: irq_chip_eoi_is_icc(), read once by the caller. */
static inline __attribute__((always_inline)) void irq_dispatch_idle(struct percpu *p, bool icc)
{
    p->in_irq = 1;
    irq_dispatch_one_icc(p, icc);
    p->in_irq = 0;
}

#endif
