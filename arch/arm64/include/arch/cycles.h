/*
 * The core's PMU cycle counter (PMCCNTR_EL0), for measurements that need
 * single-instruction resolution: the generic counter ticks at tens of MHz
 * (62.5 MHz on QEMU's virt), too coarse to time one short path once.
 * Under QEMU TCG with -icount shift=0 a cycle is one guest instruction.
 *
 * Contract: each core's counter is its own (not synchronised with other
 * cores: compare two reads of the same core only), and it exists only when
 * arch_has_cycles is true (the CPU implements PMUv3); where it does not,
 * reading it is an undefined instruction, so callers test the flag first,
 * or choose code that never reads it once at initialisation.
 */
#ifndef ARCH_CYCLES_H
#define ARCH_CYCLES_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/cpu.h>
#include <arch/sysreg.h>

extern bool arch_has_cycles;   /* set by arch_cycles_init_cpu on the boot CPU */

/* Each core, before anything reads its counter: start the cycle counter
 * (64-bit, counting at EL1) when the CPU has PMUv3. The boot CPU's call
 * decides arch_has_cycles for all (cores of one SoC share the PMU version). */
void arch_cycles_init_cpu(bool boot_cpu);

static inline uint64_t arch_cycles(void)
{
    isb();
    return read_sysreg(pmccntr_el0);
}

#endif
