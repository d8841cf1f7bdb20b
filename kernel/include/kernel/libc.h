/* picolibc integration (kernel/libc.c). */
#ifndef KERNEL_LIBC_H
#define KERNEL_LIBC_H

#include <stddef.h>
#include <stdint.h>

/* A thread-local variable that need not start zeroed in a new task: its
 * TLS block may be a previous task's, and these bytes keep what that task
 * left. Only for storage whose valid part is tracked by another (zeroed)
 * thread-local, e.g. a buffer and its length. */
#define TLS_NOINIT __attribute__((section(".tbss..noinit")))

/* Give the calling core's boot context its own TLS block (slot = cpu id,
 * or PLAT_MAX_CPUS for the boot CPU before it knows its id). */
void libc_init_cpu_tls(int slot);   /* percpu->tls = its TPIDR_EL0 value */
size_t libc_tls_size(void);
/* Fill a TLS block from the template; returns the TPIDR_EL0 value for it. */
void *libc_tls_block_init(void *block);

/* Where a TLS block's parts are, relative to its TPIDR_EL0 value (fixed at
 * link time; libc_tls_layout_get). Offsets and the zeroed size are
 * multiples of 16. */
struct libc_tls_layout {
    uint32_t tdata_off, tdata_size;   /* copied from the template */
    uint32_t zero_off, zero_size;     /* cleared: .tbss but the TLS_NOINIT part */
};
void libc_tls_layout_get(struct libc_tls_layout *out);
/* tdata_size != 0: copy the .tdata template into the block at tp. */
void libc_tls_copy_tdata(void *tp);

/* Make the TLS block at tp (a TPIDR_EL0 value that libc_tls_block_init
 * returned) start afresh for a new task: as libc_tls_block_init, except
 * that TLS_NOINIT storage keeps its bytes. Inline: a task reused from a
 * cache pays a few stores. libc_tls_zero is all of it when l->tdata_size
 * is 0 (no thread-local has an initial value). */
static inline void libc_tls_zero(void *tp, const struct libc_tls_layout *l)
{
    /* volatile: the loop stays a few stores, not a memset call. */
    volatile __uint128_t *z = (volatile __uint128_t *)((char *)tp + l->zero_off);
    volatile __uint128_t *end = (volatile __uint128_t *)((char *)z + l->zero_size);
    while (z != end)
        *z++ = 0;
}

static inline void libc_tls_reset(void *tp, const struct libc_tls_layout *l)
{
    if (__builtin_expect(l->tdata_size != 0, 0))
        libc_tls_copy_tdata(tp);
    libc_tls_zero(tp, l);
}

#endif
