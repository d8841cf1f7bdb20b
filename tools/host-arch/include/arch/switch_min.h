/*
 * Host build of the min-frame switch (arch/arm64/include/arch/switch_min.h
 * in the image): host tests never switch tasks, so the switch is only
 * declared, for the inline wait-queue helpers that name it; a host program
 * that calls it fails to link.
 */
#ifndef ARCH_SWITCH_MIN_H
#define ARCH_SWITCH_MIN_H

#include <stdint.h>

struct task;
void arch_switch_min(struct task *prev, uint64_t next_sp);

#endif
