/*
 * Exception decoding and reporting (arch/arm64/exception.c), and the hooks
 * the kernel implements for it.
 */
#ifndef ARCH_EXCEPTION_H
#define ARCH_EXCEPTION_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/frame.h>

/* "Data abort (same EL)" etc. for ESR_ELx.EC. */
const char *arch_esr_class_name(uint64_t esr);
/* Print the full report: kind, core, ESR decoded, FAR, ELR, registers, backtrace. */
void arch_exception_report(const struct arch_frame *f, unsigned kind);

/* Kernel hooks. */
void irq_handle(struct arch_frame *f);                 /* an IRQ arrived */
bool fault_recover(struct arch_frame *f, unsigned kind); /* true: frame edited, resume */
void sched_irq_exit(struct arch_frame *f);             /* after an IRQ from EL1t */
_Noreturn void panic_exception(const struct arch_frame *f, unsigned kind);

#endif
