/*
 * Host build of the CPU-local primitives (host tests only; the image uses
 * arch/arm64/include/arch/cpu.h): one modelled core whose IRQ mask and
 * per-CPU pointer are plain variables. A host program that includes this
 * (through kernel/spinlock.h, kernel/percpu.h) defines both; a test sets
 * host_percpu to its struct percpu before running code that asks for
 * cpu_id().
 */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdbool.h>
#include <stdint.h>

/* DAIF's I bit: IRQs masked. */
#define ARCH_DAIF_I (1u << 7)

extern uint64_t host_daif;   /* the modelled core's DAIF */
extern void *host_percpu;    /* its per-CPU pointer (TPIDR_EL1) */

static inline void arch_irq_enable(void) { host_daif &= ~(uint64_t)ARCH_DAIF_I; }
static inline void arch_irq_disable(void) { host_daif |= ARCH_DAIF_I; }
static inline uint64_t arch_irq_save(void)
{
    uint64_t daif = host_daif;
    arch_irq_disable();
    return daif;
}
static inline void arch_irq_restore(uint64_t daif) { host_daif = daif; }
static inline bool arch_irqs_enabled(void) { return !(host_daif & ARCH_DAIF_I); }
static inline void *arch_percpu_ptr(void) { return host_percpu; }
static inline void arch_cpu_relax(void) {}

/* kernel/task.h leaves arch/switch_min.h out of host builds; the inline
 * wait-queue helpers that name its switch get the host's stand-in here. */
#include <arch/switch_min.h>

#endif
