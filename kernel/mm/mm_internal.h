/*
 * Shared by the memory subsystem's files (kernel/mm) and its in-image tests.
 *
 * Locking: every lock is taken with IRQs masked. Nesting, outer first:
 * stack_lock, then the arch mmu lock, then buddy_lock; a slab cache's lock,
 * then buddy_lock. Per-core caches are touched only by their own core with
 * IRQs masked (its cross-call handler, during mm_drain_caches, included).
 */
#ifndef MM_INTERNAL_H
#define MM_INTERNAL_H

#include <stdint.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include "buddy.h"

extern struct buddy mm_buddy;   /* its map is read-only after mm_init */

static inline struct page_desc *mm_desc(const void *p)
{
    return page_desc_find(&mm_buddy.map, (uint64_t)p);
}

/* The calling core's index; only valid after its mm_init_cpu(). */
static inline unsigned mm_cpu(void)
{
    return (unsigned)((const struct percpu *)arch_percpu_ptr())->cpu;
}

/* Cores the per-core arrays are sized for (platform.ncpus, at least 1). */
unsigned mm_ncpus(void);

void page_alloc_init(const struct plat_range *ram, int nram);
void heap_init(void);
void mm_stack_init(void);

/* This core's caches back to the shared pools (IRQs masked by the caller). */
void page_cache_drain_cpu(void);
void slab_drain_cpu(void);
void mm_stack_drain_cpu(void);
/* Shared pools: free empty slabs, unused stack chunks and their tables. */
void slab_release_empty(void);
void mm_stack_release_empty(void);

/* Free buddy blocks per order (a consistent snapshot), for tests. */
void page_buddy_counts(uint64_t nfree[BUDDY_ORDERS]);
/* Stack region chunks in use (each costs one translation table page). */
uint32_t mm_stack_chunks_in_use(void);

#endif
