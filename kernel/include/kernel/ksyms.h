/* The image's own symbol table (generated at link time by scripts/gen-ksyms.py). */
#ifndef KERNEL_KSYMS_H
#define KERNEL_KSYMS_H

#include <stdint.h>

/* Name of the function containing runtime address addr and the offset into
 * it, or NULL if addr is outside the image's text. */
const char *ksyms_lookup(uint64_t addr, uint64_t *offset);

#endif
