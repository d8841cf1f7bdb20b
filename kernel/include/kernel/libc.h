/* picolibc integration (kernel/libc.c). */
#ifndef KERNEL_LIBC_H
#define KERNEL_LIBC_H

#include <stddef.h>

/* Give the calling core's boot context its own TLS block (slot = cpu id,
 * or PLAT_MAX_CPUS for the boot CPU before it knows its id). */
void libc_init_cpu_tls(int slot);
size_t libc_tls_size(void);

#endif
