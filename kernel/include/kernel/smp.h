/*
 * Secondary CPU bring-up and cross-calls. Until the scheduler exists, idle
 * cores wait in WFI for cross-calls (a function posted to their mailbox plus
 * an IPI_CALL SGI) and run them with IRQs enabled.
 */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <kernel/platform.h>

/* Start every CPU the platform lists; returns how many are online (boot
 * CPU included). A CPU that fails to start or does not check in within
 * the timeout is reported and skipped. */
int smp_boot(const struct platform *plat);
int smp_online_count(void);
/* Bit per online logical CPU (inline: read on every spawn's placement). */
extern _Atomic uint32_t smp_online_bits;
static inline uint32_t smp_online_mask(void)
{
    return atomic_load_explicit(&smp_online_bits, memory_order_relaxed);
}
bool smp_cpu_online(int cpu);
int smp_boot_cpu(void);

/* Boot CPU: find our DT entry by MPIDR and adopt its index as our id (-1:
 * our MPIDR is not in the DT). */
int smp_init_boot_cpu(const struct platform *plat);

/* Run fn(arg) on cpu and wait for it to return. */
void smp_call(int cpu, void (*fn)(void *), void *arg);
/* Run fn(arg) on every online core (this one too) and wait for all. */
void smp_call_all(void (*fn)(void *), void *arg);

/* The boot platform description (read-only after boot). */
extern struct platform platform;

#endif
