/*
 * Host build of the MMIO accessors (tools and host tests only; the image uses
 * arch/arm64/include/arch/io.h). Every access goes to the register model a
 * host test installed with host_mmio_set_model(); with no model installed an
 * access aborts the program, which is how host tools (dtinfo) prove that they
 * link drivers only for their tables and never touch a device.
 */
#ifndef ARCH_IO_H
#define ARCH_IO_H

#include <stdint.h>

/* A device model: called for every access of the given width (1, 2, 4, 8 bytes). */
struct host_mmio_model {
    uint64_t (*read)(void *ctx, uintptr_t addr, int width);
    void (*write)(void *ctx, uintptr_t addr, int width, uint64_t value);
    void *ctx;
};

/* Installs model (NULL removes it). */
void host_mmio_set_model(const struct host_mmio_model *model);

uint8_t mmio_read8(uintptr_t a);
uint32_t mmio_read32(uintptr_t a);
uint64_t mmio_read64(uintptr_t a);
void mmio_write8(uintptr_t a, uint8_t v);
void mmio_write32(uintptr_t a, uint32_t v);
void mmio_write64(uintptr_t a, uint64_t v);

/* The image's constant-offset forms: the same accesses at base + off. */
static inline uint32_t mmio_read32_at(uintptr_t base, unsigned off) { return mmio_read32(base + off); }
static inline void mmio_write32_at(uintptr_t base, unsigned off, uint32_t v) { mmio_write32(base + off, v); }

#endif
