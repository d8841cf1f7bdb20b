/* Assembler helpers shared by the .S files. */
#ifndef ARCH_ASM_H
#define ARCH_ASM_H

#ifdef __ASSEMBLY__

#define FUNCTION(name)  .global name; .type name, %function; .balign 4; name:
#define LOCAL_FUNCTION(name) .type name, %function; .balign 4; name:
#define END(name)       .size name, . - name

/* Position-independent address of a symbol (+/- 4 GiB). */
.macro adr_l reg, sym
    adrp    \reg, \sym
    add     \reg, \reg, :lo12:\sym
.endm

/* Load a 64-bit constant without a literal pool. */
.macro mov64 reg, val
    movz    \reg, #((\val) & 0xffff)
    movk    \reg, #(((\val) >> 16) & 0xffff), lsl #16
    movk    \reg, #(((\val) >> 32) & 0xffff), lsl #32
    movk    \reg, #(((\val) >> 48) & 0xffff), lsl #48
.endm

#endif
#endif
