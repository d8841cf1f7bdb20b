/*
 * The one address space: an identity map (VA == PA) with 4 KiB pages, plus
 * non-identity page mappings made one page at a time (task stacks).
 * Build it with arch_mmu_map() calls, then arch_mmu_activate() it; later
 * arch_mmu_map() calls edit the live tables (new mappings only: a valid entry
 * is never changed in place, so no break-before-make is ever needed; pages
 * mapped with arch_mmu_map_page() go valid -> invalid -> valid only).
 * Table edits are serialised by one lock: any core may call any of these.
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

/* From now on take new tables from alloc (a page, not necessarily zeroed;
 * NULL when out of memory) and give released ones to release. Until then
 * they come from the static boot pool. */
void arch_mmu_set_table_allocator(void *(*alloc)(void), void (*release)(void *));

/* Map the 4 KiB page va -> pa (page aligned, va outside the identity map).
 * The entry must be invalid. Returns 0, or -1 (no table memory, already
 * mapped, or a block mapping covers va). Usable when it returns. */
int arch_mmu_map_page(uint64_t va, uint64_t pa, enum mmu_type type);
/* Map n consecutive pages at va to pa[0..n). All or nothing. */
int arch_mmu_map_pages(uint64_t va, const uint64_t *pa, unsigned n, enum mmu_type type);

/* Unmap the page at va and invalidate it in every core's TLB; returns the
 * physical address it mapped (0 if it was not mapped by a page entry). */
uint64_t arch_mmu_unmap_page(uint64_t va);
/* The same for n consecutive pages (one TLB synchronisation); pa_out[i]
 * receives page i's old physical address (or 0). */
void arch_mmu_unmap_pages(uint64_t va, unsigned n, uint64_t *pa_out);

/* The same without TLB maintenance, for batching: translations of these
 * pages may live on in any core's TLB until arch_mmu_tlb_flush_all(), so
 * neither the VA nor the pages may be reused before it. */
void arch_mmu_unmap_pages_nosync(uint64_t va, unsigned n, uint64_t *pa_out);
/* Invalidate every EL1 translation on every core and wait for it. */
void arch_mmu_tlb_flush_all(void);

/* Drop the last-level table covering va's 2 MiB once none of its entries is
 * valid: unlink it, invalidate walk caches, hand it to the release hook.
 * Returns 0 (also when there was no table), or -1 if entries are still valid. */
int arch_mmu_release_table(uint64_t va);

#endif
