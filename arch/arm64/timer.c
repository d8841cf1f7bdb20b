/* Generic timer: conversions
 * between counter ticks and nanoseconds (128-bit intermediate, no overflow
 * for any 64-bit result). */
#include <arch/timer.h>

uint64_t arch_ticks_to_ns(uint64_t ticks)
{
    return (uint64_t)((unsigned __int128)ticks * 1000000000u / arch_counter_freq());
}

uint64_t arch_ns_to_ticks(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * arch_counter_freq() / 1000000000u);
}
