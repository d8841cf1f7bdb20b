/*
 * Clearing a fixed-size structure on a hot path in arch/, kernel/ and
 * drivers/, which are built -mgeneral-regs-only (interrupt handlers run with
 * FP/SIMD trapped, arch/arm64/vectors.S). Without SIMD, GCC inlines only
 * clears of a few stores and makes larger ones (a memset or compound
 * literal of 44 bytes already, or a clear that dead-store elimination
 * trimmed to an odd size) memset calls. memzero_inline is a run of 16-byte
 * pair stores instead (STP XZR, XZR): volatile, so that no pass merges or
 * trims them back into a call. Elsewhere, use memset.
 */
#ifndef KERNEL_MEMZERO_H
#define KERNEL_MEMZERO_H

#include <stddef.h>

typedef __uint128_t __attribute__((may_alias, aligned(4))) memzero_pair_t;

/* Zero n bytes at p (4-byte aligned); n a constant of at least 16: fully
 * unrolled, the last store overlapping the one before when n % 16. */
static inline __attribute__((always_inline)) void memzero_inline(void *p, size_t n)
{
    char *d = p;
#pragma GCC unroll 64
    for (size_t off = 0; off + 16 <= n; off += 16)
        *(volatile memzero_pair_t *)(d + off) = 0;
    if (n % 16)
        *(volatile memzero_pair_t *)(d + n - 16) = 0;
}

#endif
