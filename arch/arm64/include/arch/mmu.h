/*
 * The one address space: an identity map (VA == PA) with 4 KiB pages.
 * Build it with arch_mmu_map() calls, then arch_mmu_activate() it; later
 * arch_mmu_map() calls edit the live tables (new mappings only: an existing
 * mapping is never changed, so no break-before-make is ever needed).
 */
#ifndef ARCH_MMU_H
#define ARCH_MMU_H

#include <stdbool.h>
#include <stdint.h>

enum mmu_type {
    MMU_RAM,        /* normal write-back, RW, never executable */
    MMU_TEXT,       /* normal write-back, RO, executable */
    MMU_RODATA,     /* normal write-back, RO, never executable */
    MMU_DEVICE,     /* device-nGnRE, RW, never executable */
};

/* Map [base, base + size) (4 KiB aligned outward). Returns 0, or -1 if the
 * table pool is exhausted or the range overlaps an existing, different map. */
int arch_mmu_map(uint64_t base, uint64_t size, enum mmu_type type);

/* Switch this CPU from the early map to the tables built so far. */
void arch_mmu_activate(void);

/* Translate va with AT S1E1R/W. Returns false if it would fault; else sets
 * *pa and *attr (the MAIR byte of the mapping: 0xff normal WB, 0x04 device). */
bool arch_mmu_probe(uint64_t va, bool write, uint64_t *pa, uint8_t *attr);

/* Pages of the static table pool used so far / in total. */
int arch_mmu_tables_used(void);

#endif
