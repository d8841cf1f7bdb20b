/*
 * Arm semihosting (HLT #0xF000). Probed once at boot: on a CPU without a
 * debugger/emulator behind HLT the instruction is UNDEFINED, the exception
 * path recognises the probe and semihosting is marked unavailable.
 */
#ifndef ARCH_SEMIHOST_H
#define ARCH_SEMIHOST_H

#include <stdbool.h>
#include <stdint.h>

void semihost_probe(void);
bool semihost_available(void);
/* SYS_EXIT with ADP_Stopped_ApplicationExit and the given code. Only returns
 * if semihosting is unavailable. */
void semihost_exit(int code);

/* Low level: op in x0, parameter block pointer in x1; returns x0. */
int64_t arch_semihost_call(uint64_t op, const void *param);
extern char semihost_trap_insn[];

#endif
