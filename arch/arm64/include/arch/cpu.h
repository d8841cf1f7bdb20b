/*
 * CPU-local primitives: interrupt masking, the per-CPU pointer, relaxing.
 * The per-CPU pointer lives in TPIDR_EL1 (0 until the kernel sets it).
 */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/sysreg.h>

/* DAIF's I bit: IRQs masked. */
#define ARCH_DAIF_I (1u << 7)

static inline void arch_irq_enable(void)  { __asm__ volatile("msr daifclr, #2" ::: "memory"); }
static inline void arch_irq_disable(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }

/* Mask IRQs and return the previous DAIF state for arch_irq_restore(). */
static inline uint64_t arch_irq_save(void)
{
    uint64_t daif = read_sysreg(daif);
    arch_irq_disable();
    return daif;
}

static inline void arch_irq_restore(uint64_t daif)
{
    __asm__ volatile("msr daif, %0" : : "r"(daif) : "memory");
}

static inline bool arch_irqs_enabled(void) { return !(read_sysreg(daif) & ARCH_DAIF_I); }

static inline void *arch_percpu_ptr(void) { return (void *)read_sysreg(tpidr_el1); }
static inline void arch_set_percpu_ptr(void *p) { write_sysreg(tpidr_el1, (uint64_t)p); }

static inline uint64_t arch_mpidr(void) { return read_sysreg(mpidr_el1) & 0xff00ffffffUL; }

static inline void arch_cpu_relax(void) { __asm__ volatile("yield" ::: "memory"); }

/* Exception level the code is running at (1 after boot). */
static inline unsigned arch_current_el(void) { return CURRENTEL_EL(read_sysreg(CurrentEL)); }

/* Does this CPU implement the ARMv8.1 LSE atomics? */
static inline bool arch_has_lse(void) { return ((read_sysreg(id_aa64isar0_el1) >> 20) & 0xf) >= 2; }

/* Boot CPU, before any atomic operation: record CPU features (LSE). */
void arch_cpu_features_init(void);

#endif
