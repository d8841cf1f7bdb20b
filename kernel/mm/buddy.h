/*
 * Binary buddy allocator over RAM zones: the pure core of the page
 * allocator (no locking, no per-core state; built for the host tests too).
 *
 * A free block of 2^k pages is naturally aligned (address multiple of
 * PAGE_SIZE << k), lies inside one zone, has its head descriptor PD_FREE
 * with order k and its other pages PD_TAIL, and is linked into free[k]
 * through a struct buddy_block stored in its first page. No two free buddies
 * of the same order coexist (they are merged on free).
 */
#ifndef MM_BUDDY_H
#define MM_BUDDY_H

#include <stdint.h>
#include <kernel/platform.h>
#include "page_desc.h"

#define BUDDY_ORDERS (MM_MAX_ORDER + 1)
/* Ranges closer than this share a zone (the hole costs descriptors only). */
#define BUDDY_ZONE_GAP (64ull << 20)

struct buddy_block {
    struct buddy_block *next, *prev;
};

struct buddy {
    struct page_map map;
    struct buddy_block *free[BUDDY_ORDERS];
    uint64_t nfree[BUDDY_ORDERS];   /* free blocks per order */
    uint64_t free_pages;            /* pages in free blocks */
    uint64_t total_pages;           /* pages ever added */
};

/* Zones for ram[0..n) (page aligned inward, sorted, close ranges merged);
 * returns how many (at most MM_MAX_ZONES; ranges beyond are dropped). */
int buddy_plan_zones(const struct plat_range *ram, int n, struct plat_range *zones);
/* Descriptors the zones need. */
uint64_t buddy_desc_count(const struct plat_range *zones, int nzones);
/* Start with every zone page PD_TAIL (unmanaged) and no free memory; desc holds
 * buddy_desc_count() entries. */
void buddy_init(struct buddy *b, const struct plat_range *zones, int nzones,
                struct page_desc *desc);
/* Make [base, base + size) (page aligned inward, inside one zone, not yet
 * managed: as buddy_init left it) free. */
void buddy_add_range(struct buddy *b, uint64_t base, uint64_t size);
/* A block of 2^order pages: head PD_ALLOC with that order. NULL if none. */
void *buddy_alloc(struct buddy *b, unsigned order);
/* Free a block of 2^order pages at p whose head is allocated (kind >=
 * PD_CACHED) with that order; merges with free buddies. -1 (and nothing
 * changed) if p is not such a block: a double or invalid free. */
int buddy_free(struct buddy *b, void *p, unsigned order);

#endif
