/* Generic timer: the EL1 virtual timer of the calling core, and conversions
 * between counter ticks and nanoseconds (128-bit intermediate, no overflow
 * for any 64-bit result). */
#include <arch/timer.h>

#define CNTV_CTL_ENABLE  (1u << 0)

void arch_timer_arm(uint64_t cval)
{
    write_sysreg(cntv_cval_el0, cval);
    write_sysreg(cntv_ctl_el0, CNTV_CTL_ENABLE);
    isb();
}

void arch_timer_disarm(void)
{
    write_sysreg(cntv_ctl_el0, 0);
    isb();
}

uint64_t arch_ticks_to_ns(uint64_t ticks)
{
    return (uint64_t)((unsigned __int128)ticks * 1000000000u / arch_counter_freq());
}

uint64_t arch_ns_to_ticks(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * arch_counter_freq() / 1000000000u);
}
