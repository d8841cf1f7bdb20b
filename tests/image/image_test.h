/* Helpers for in-image tests. */
#ifndef IMAGE_TEST_H
#define IMAGE_TEST_H

#include <stdint.h>

/* A pointer to a fixed address the compiler cannot reason about (so a
 * deliberate access to 0 or to an unmapped hole is compiled as written). */
static __attribute__((noinline, unused)) volatile void *opaque_ptr(uint64_t addr)
{
    __asm__("" : "+r"(addr));
    return (volatile void *)addr;
}

#endif
