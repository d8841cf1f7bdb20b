/*
 * Host build of the counter (the image's arch/arm64/include/arch/timer.h):
 * the modelled core's counter is a variable the host program defines and a
 * test sets; the tick/ns conversions are the host program's too.
 */
#ifndef ARCH_TIMER_H
#define ARCH_TIMER_H

#include <stdint.h>

extern uint64_t host_counter;

static inline uint64_t arch_counter(void) { return host_counter; }
static inline uint64_t arch_counter_relaxed(void) { return host_counter; }
uint64_t arch_ticks_to_ns(uint64_t ticks);
uint64_t arch_ns_to_ticks(uint64_t ns);

#endif
