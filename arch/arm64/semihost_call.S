/* Semihosting trap. exception.c recognises an UNDEFINED exception at
 * semihost_trap_insn and returns -1 instead (no semihosting available). */
#include <arch/asm.h>

    .text
FUNCTION(arch_semihost_call)
    .global semihost_trap_insn
semihost_trap_insn:
    hlt     #0xf000
    ret
END(arch_semihost_call)
