/* The boot command line (/chosen/bootargs; QEMU -append, U-Boot bootargs). */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

void cmdline_init(const void *fdt);
const char *cmdline_get(void);
/* Is word present as a whole space-separated word (e.g. "sr.test")? */
bool cmdline_has(const char *word);
/* The value of "key=value" copied into buf (NUL-terminated), or NULL. */
const char *cmdline_value(const char *key, char *buf, size_t len);

#endif
