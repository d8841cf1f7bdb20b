/* The per-core generic timer: virtual counter and virtual timer (EL1). */
#ifndef ARCH_TIMER_H
#define ARCH_TIMER_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/sysreg.h>

static inline uint64_t arch_counter(void)
{
    isb();
    return read_sysreg(cntvct_el0);
}
/* The counter without the ISB that keeps the read after the instructions
 * before it: for bookkeeping (run time, slice ends, stamps), where a read a
 * few instructions early changes nothing. Deciding whether a deadline has
 * passed takes arch_counter. */
static inline uint64_t arch_counter_relaxed(void) { return read_sysreg(cntvct_el0); }
static inline uint64_t arch_counter_freq(void) { return read_sysreg(cntfrq_el0); }

/* Fire the virtual timer interrupt when the counter reaches cval. */
static inline void arch_timer_arm(uint64_t cval)
{
    write_sysreg(cntv_cval_el0, cval);
    write_sysreg(cntv_ctl_el0, 1);   /* ENABLE, not masked */
    isb();
}

/* The timer is armed, unmasked and its deadline reached: its (level-
 * sensitive) interrupt line is asserted. */
static inline bool arch_timer_fired(void)
{
    return (read_sysreg(cntv_ctl_el0) & 7) == 5;   /* ISTATUS, not IMASK, ENABLE */
}

/* No further timer interrupt until armed again. No ISB: callers run with
 * IRQs masked until an exception return or a later arch_timer_arm (both
 * synchronise), and reads of CNTV_CTL_EL0 see the write in program order. */
static inline void arch_timer_disarm(void)
{
    write_sysreg(cntv_ctl_el0, 0);
}

uint64_t arch_ticks_to_ns(uint64_t ticks);
uint64_t arch_ns_to_ticks(uint64_t ns);
static inline uint64_t arch_time_ns(void) { return arch_ticks_to_ns(arch_counter()); }

#endif
