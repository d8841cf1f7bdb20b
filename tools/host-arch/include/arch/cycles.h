/*
 * Host build of the cycle counter (the image's arch/arm64/include/arch/
 * cycles.h): the modelled core's counter is a variable, and whether the CPU
 * has one (arch_has_cycles) is the host program's to define and set.
 */
#ifndef ARCH_CYCLES_H
#define ARCH_CYCLES_H

#include <stdbool.h>
#include <stdint.h>

extern bool arch_has_cycles;
extern uint64_t host_cycles;

static inline uint64_t arch_cycles(void) { return host_cycles; }

#endif
