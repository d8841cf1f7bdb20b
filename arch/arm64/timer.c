/* Generic timer: conversions between counter ticks and nanoseconds.
 *
 * ticks -> ns is on every clock read, so it is a multiply, not a 128-bit
 * division: ns = ticks * whole + umulh(ticks, frac), where whole + frac/2^64
 * is 10^9 / CNTFRQ with the fraction rounded up. The result is never below
 * the exact value and exceeds it by less than 1 ns per 2^64 / frac ticks, so
 * a wait until ns_to_ticks_ceil(t) never sees clock_ns() < t (sleeps never
 * end early). */
#include <arch/timer.h>

static uint64_t ns_whole, ns_frac;

static void set_up_conversion(void)
{
    uint64_t f = arch_counter_freq();
    ns_whole = 1000000000u / f;
    uint64_t rem = 1000000000u % f;
    unsigned __int128 scaled = (unsigned __int128)rem << 64;
    ns_frac = (uint64_t)(scaled / f) + (scaled % f != 0);
}

static inline uint64_t convert(uint64_t ticks)
{
    return ticks * ns_whole + (uint64_t)(((unsigned __int128)ticks * ns_frac) >> 64);
}

/* The first conversion sets the factors up, out of line, so the common
 * path stays a leaf with no frame. */
static __attribute__((noinline, cold)) uint64_t first_conversion(uint64_t ticks)
{
    set_up_conversion();
    return convert(ticks);
}

uint64_t arch_ticks_to_ns(uint64_t ticks)
{
    if (__builtin_expect(!ns_whole && !ns_frac, 0))
        return first_conversion(ticks);
    return convert(ticks);
}

uint64_t arch_ns_to_ticks(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * arch_counter_freq() / 1000000000u);
}
