/* MMIO accessors: single-copy-atomic accesses to device memory, ordered by
 * the device-nGnRE mapping; barriers are the caller's business (dsb/dmb). */
#ifndef ARCH_IO_H
#define ARCH_IO_H

#include <stdint.h>

static inline uint32_t mmio_read32(uintptr_t a)
{
    uint32_t v;
    __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}
static inline void mmio_write32(uintptr_t a, uint32_t v)
{
    __asm__ volatile("str %w0, [%1]" : : "rZ"(v), "r"(a) : "memory");
}
static inline uint64_t mmio_read64(uintptr_t a)
{
    uint64_t v;
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}
static inline void mmio_write64(uintptr_t a, uint64_t v)
{
    __asm__ volatile("str %x0, [%1]" : : "rZ"(v), "r"(a) : "memory");
}
static inline uint8_t mmio_read8(uintptr_t a)
{
    uint8_t v;
    __asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}
static inline void mmio_write8(uintptr_t a, uint8_t v)
{
    __asm__ volatile("strb %w0, [%1]" : : "rZ"(v), "r"(a) : "memory");
}

/* mmio_read32/mmio_write32 at base + off, off a constant (0..16380, a
 * multiple of 4) that the access takes as its immediate offset: no address
 * add per register. Always inline: off must be a constant at the asm. */
static inline __attribute__((always_inline)) uint32_t mmio_read32_at(uintptr_t base,
                                                                     const unsigned off)
{
    uint32_t v;
    __asm__ volatile("ldr %w0, [%1, %2]" : "=r"(v) : "r"(base), "n"(off) : "memory");
    return v;
}
static inline __attribute__((always_inline)) void mmio_write32_at(uintptr_t base,
                                                                  const unsigned off, uint32_t v)
{
    __asm__ volatile("str %w0, [%1, %2]" : : "rZ"(v), "r"(base), "n"(off) : "memory");
}

#endif
