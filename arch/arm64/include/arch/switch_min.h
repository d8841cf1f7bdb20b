/*
 * The minimal cooperative switch (arch/arm64/switch.S has the others).
 * Inline in the switching task's own code: the asm clobbers every register
 * the AAPCS64 lets a call clobber and every callee-saved one too, so the
 * compiler keeps across it only what the caller still needs, in the
 * caller's frame, and the switch itself saves just x29 and the resume
 * address: a "min frame" of 16 bytes, its saved sp tagged
 * TASK_SP_MIN_TAG (3). Resuming any saved sp is arch_switch_resume_any's.
 */
#ifndef ARCH_SWITCH_MIN_H
#define ARCH_SWITCH_MIN_H

#include <stdint.h>
#include <arch/frame.h>

#define TASK_SP_MIN_TAG 3ull

/* IRQs masked, in EL1t. Push {x29, resume}, publish the tagged sp at
 * prev + ARCH_SWITCH_SP_OFFSET, clear the byte at prev, its on-cpu flag
 * (release: prev may run elsewhere from here on), then resume next_sp: a
 * min frame right here, any other record through arch_switch_resume_any.
 * Returns when something switches back to prev. */
#define arch_switch_min(prev, next_sp)                                                        \
    do {                                                                                      \
        register uint64_t x0_ __asm__("x0") = (uint64_t)(prev);                               \
        register uint64_t x1_ __asm__("x1") = (next_sp);                                      \
        __asm__ volatile("adr    x9, 1f\n\t"                                                  \
                         "stp    x29, x9, [sp, #-16]!\n\t"                                    \
                         "add    x9, sp, #3\n\t"                                              \
                         "str    x9, [x0, %2]\n\t"                                            \
                         "stlrb  wzr, [x0]\n\t"                                               \
                         "tbnz   x1, #1, 2f\n\t"                                              \
                         "b      arch_switch_resume_any\n"                                    \
                         "2:\tand    sp, x1, #~3\n\t"                                         \
                         "ldp    x29, x30, [sp], #16\n\t"                                     \
                         "ret\n"                                                              \
                         "1:"                                                                 \
                         : "+r"(x0_), "+r"(x1_)                                               \
                         : "i"(ARCH_SWITCH_SP_OFFSET)                                         \
                         : "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",      \
                           "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20",     \
                           "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x30",     \
                           "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", \
                           "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19",     \
                           "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28",     \
                           "v29", "v30", "v31", "cc", "memory");                              \
    } while (0)

/* arch_switch_final (arch/switch.S) with arch_switch_min's resume inline:
 * IRQs masked, in EL1t; prev's record needs nothing written (the idle
 * task's is fixed). Clear the byte at prev, its on-cpu flag (release: the
 * last access to prev's stack), then resume next_sp: a min frame right
 * here, any other record through arch_switch_resume_any. Never returns. */
static inline __attribute__((always_inline)) _Noreturn void arch_switch_final_min(void *prev,
                                                                                uint64_t next_sp)
{
    /* Any registers: arch_switch_resume_any wants next_sp in x1, moved there
     * only on its way. */
    __asm__ volatile("stlrb  wzr, [%0]\n\t"
                     "tbnz   %1, #1, 1f\n\t"
                     "mov    x1, %1\n\t"
                     "b      arch_switch_resume_any\n"
                     "1:\tand    sp, %1, #~3\n\t"
                     "ldp    x29, x30, [sp], #16\n\t"
                     "ret"
                     :
                     : "r"(prev), "r"(next_sp)
                     : "memory");
    __builtin_unreachable();
}

#endif
