/* The boot command line (/chosen/bootargs; QEMU -append, U-Boot bootargs). */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include <stdbool.h>

void cmdline_init(const void *fdt);
const char *cmdline_get(void);
/* Is word present as a whole space-separated word (e.g. "sr.test")? */
bool cmdline_has(const char *word);

#endif
