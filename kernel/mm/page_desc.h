/*
 * Page descriptors: one 16-byte record per page of every RAM zone, found from
 * a physical (= identity virtual) address in a few instructions. A zone is a
 * RAM range, or several close ranges merged (the holes between them are
 * PD_RESERVED pages). Pure data: also built for the host tests.
 *
 * Invariants: only the head page of a block describes it (kind, order);
 * every other page is PD_TAIL (inside a free or allocated block, or not
 * managed at all: holes, bookkeeping), except that a slab marks every page
 * of its block PD_SLAB (objects may start on any). PD_TAIL is 0, so zeroed
 * descriptors need no initialisation pass.
 */
#ifndef MM_PAGE_DESC_H
#define MM_PAGE_DESC_H

#include <stdint.h>

/* As in kernel/mm.h (identical redefinitions are allowed, differences are
 * errors), without its arch dependencies: this header builds on the host. */
#define PAGE_SIZE    4096ull
#define PAGE_SHIFT   12
#define MM_MAX_ORDER 18

enum page_kind {
    PD_TAIL = 0,     /* not a block head (see above); never freed */
    PD_FREE,         /* head of a free buddy block of 2^order pages */
    PD_CACHED,       /* free order-0 page held in a per-core page cache */
    /* Allocated kinds (>= PD_ALLOC): the head of a block given out. */
    PD_ALLOC,        /* plain pages_alloc() block */
    PD_SLAB,         /* page of a slab (cache, order); the head keeps its state */
    PD_HEAP,         /* head of a large heap block (order) */
    PD_STACK,        /* backing page of a task stack */
    PD_TABLE,        /* translation table */
};

#define PD_NIL16 0xffffu

struct page_desc {
    uint8_t kind;        /* enum page_kind */
    uint8_t order;       /* block order (head pages; all pages of a slab) */
    uint16_t cache;      /* PD_SLAB: id of the owning slab cache */
    uint16_t inuse;      /* PD_SLAB head: objects handed out */
    uint16_t free;       /* PD_SLAB head: first free object, byte offset / 8, or PD_NIL16 */
    uint32_t next, prev; /* PD_SLAB head: slab list links, page frame numbers (0: none) */
};
_Static_assert(sizeof(struct page_desc) == 16, "page descriptors stay 16 bytes");

#define MM_MAX_ZONES 16

struct page_zone {
    uint64_t base, size;        /* page aligned */
    struct page_desc *desc;     /* desc[i] describes base + i * PAGE_SIZE */
};

struct page_map {
    int nzones;
    struct page_zone zone[MM_MAX_ZONES];
};

static inline const struct page_zone *page_zone_of(const struct page_map *m, uint64_t addr)
{
    for (int i = 0; i < m->nzones; i++)
        if (addr - m->zone[i].base < m->zone[i].size)
            return &m->zone[i];
    return 0;
}

/* The descriptor of the page holding addr; NULL if addr is not in a zone.
 * Zone 0 (usually the only one) is checked first, inline. */
static inline struct page_desc *page_desc_find(const struct page_map *m, uint64_t addr)
{
    uint64_t off = addr - m->zone[0].base;
    if (__builtin_expect(off < m->zone[0].size, 1))
        return &m->zone[0].desc[off >> PAGE_SHIFT];
    const struct page_zone *z = page_zone_of(m, addr);
    return z ? &z->desc[(addr - z->base) >> PAGE_SHIFT] : 0;
}

static inline uint32_t page_pfn(uint64_t addr) { return (uint32_t)(addr >> PAGE_SHIFT); }
static inline uint64_t pfn_addr(uint32_t pfn) { return (uint64_t)pfn << PAGE_SHIFT; }

#endif
