/*
 * The exception frame: everything an interrupted context had in registers.
 * Built on the per-core exception stack (SP_EL1) by vectors.S on every
 * exception and restored from it on return, so a handler may edit it (resume
 * elsewhere, change x0, ...). Layout offsets reach assembly via asm-offsets.
 */
#ifndef ARCH_FRAME_H
#define ARCH_FRAME_H

/* Which of the 16 vectors fired: kind = group (from where) * 4 + type. */
#define EXC_FROM_EL1T     0
#define EXC_FROM_EL1H     1
#define EXC_FROM_LOWER64  2
#define EXC_FROM_LOWER32  3
#define EXC_SYNC          0
#define EXC_IRQ           1
#define EXC_FIQ           2
#define EXC_SERROR        3

#ifndef __ASSEMBLY__
#include <stdint.h>

struct arch_frame {
    uint64_t x[31];          /* x0..x30 (x29 = frame pointer, x30 = link) */
    uint64_t sp;             /* the interrupted context's stack pointer */
    uint64_t elr;            /* where it resumes */
    uint64_t spsr;
    uint64_t esr;            /* syndrome (sync exceptions and SErrors) */
    uint64_t far;            /* fault address (aborts) */
    uint64_t fpsr;
    uint64_t fpcr;
    __uint128_t q[32];       /* full FP/SIMD state */
};

/* A cooperative switch's record on the task's stack (switch.S, arch_switch):
 * d8-d15 first (two ST1s move them), then x19-x28, the frame pointer and
 * the return address. A new task's first record "returns" into
 * arch_task_entry with x19 = its function and x20 = its argument. */
struct arch_coop_frame {
    uint64_t d[8];           /* d8..d15 (low halves: AAPCS64 preserves only those) */
    uint64_t x[10];          /* x19..x28 */
    uint64_t fp;             /* x29 */
    uint64_t lr;             /* x30: where the switch returns */
};

/* Copy a whole frame (preemption moves one between the exception stack
 * and a task's stack): fixed 64-byte pieces, the last one overlapping,
 * which GCC inlines as SIMD load/store pairs (a memcpy call of 816 bytes
 * costs about four times as many instructions). dst and src do not overlap. */
static inline void arch_frame_copy(struct arch_frame *restrict dst,
                                   const struct arch_frame *restrict src)
{
    _Static_assert(sizeof(struct arch_frame) > 64 && sizeof(struct arch_frame) % 16 == 0,
                   "arch_frame_copy assumes a 16-byte multiple above 64 bytes");
    char *d = (char *)dst;
    const char *s = (const char *)src;
    const unsigned long n = sizeof(struct arch_frame);
#pragma GCC unroll 16
    for (unsigned long off = 0; off < n - 64; off += 64)
        __builtin_memcpy(d + off, s + off, 64);
    __builtin_memcpy(d + n - 64, s + n - 64, 64);
}

/* Called by vectors.S for every exception; may edit *frame. */
void arch_exception_dispatch(struct arch_frame *frame, unsigned kind);
#endif

#endif
