/* picolibc integration (kernel/libc.c). */
#ifndef KERNEL_LIBC_H
#define KERNEL_LIBC_H

#include <stddef.h>

/* Give the calling core's boot context its own TLS block (slot = cpu id,
 * or PLAT_MAX_CPUS for the boot CPU before it knows its id). */
void libc_init_cpu_tls(int slot);   /* percpu->tls = its TPIDR_EL0 value */
size_t libc_tls_size(void);
/* Fill a TLS block from the template; returns the TPIDR_EL0 value for it. */
void *libc_tls_block_init(void *block);

#endif
