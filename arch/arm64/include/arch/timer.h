/* The per-core generic timer: virtual counter and virtual timer (EL1). */
#ifndef ARCH_TIMER_H
#define ARCH_TIMER_H

#include <stdint.h>
#include <arch/sysreg.h>

static inline uint64_t arch_counter(void)
{
    isb();
    return read_sysreg(cntvct_el0);
}
static inline uint64_t arch_counter_freq(void) { return read_sysreg(cntfrq_el0); }

/* Fire the virtual timer interrupt when the counter reaches cval. */
void arch_timer_arm(uint64_t cval);
/* No further timer interrupt until armed again. */
void arch_timer_disarm(void);

uint64_t arch_ticks_to_ns(uint64_t ticks);
uint64_t arch_ns_to_ticks(uint64_t ns);
static inline uint64_t arch_time_ns(void) { return arch_ticks_to_ns(arch_counter()); }

#endif
