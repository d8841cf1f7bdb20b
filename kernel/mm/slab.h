/*
 * Slab caches, private layout (kernel/mm only).
 *
 * A cache handle points at an array of per-core slots (struct slab_cache,
 * fast paths in kernel/mm.h); the shared state (struct slab_hdr) sits just
 * before it in the same block. The slow paths are entered with IRQs masked
 * (and restore the caller's state): they move SLAB_BATCH objects between
 * the core's slot and the slabs under the cache lock.
 *
 * A slab is a naturally aligned block of 2^order pages, every page marked
 * PD_SLAB with the cache id; its head descriptor keeps the free list (byte
 * offsets / 8, linked through the first 2 bytes of each free object), the
 * count of objects handed out, and its links in the partial or empty list.
 * Full slabs are on no list.
 */
#ifndef MM_SLAB_H
#define MM_SLAB_H

#include <stdint.h>
#include <arch/cpu.h>
#include <kernel/spinlock.h>
#include "mm_internal.h"

#define SLAB_CPU_CAP     (SLAB_CPU_WORDS - 1)
#define SLAB_BATCH       16
#define SLAB_HDR_BYTES   256
#define SLAB_MAX_ORDER   3
#define SLAB_MAX_CACHES  256

struct slab_hdr {
    spinlock_t lock;
    uint32_t size;           /* object size, a multiple of the alignment */
    uint32_t per_slab;       /* objects per slab */
    uint16_t id;             /* index in slab_caches[] */
    uint8_t order;           /* slab block order */
    uint8_t block_order;     /* order of the block holding header and slots */
    uint32_t partial;        /* slabs with free and used objects (pfn list) */
    uint32_t empty;          /* slabs with no object in use (pfn list) */
    uint32_t nempty;
    uint64_t nslabs;         /* slabs held */
    uint64_t out;            /* objects out of slabs (in use or in core slots) */
    char name[32];
};
_Static_assert(sizeof(struct slab_hdr) <= SLAB_HDR_BYTES, "slab header fits before the slots");

extern struct slab_cache *slab_caches[SLAB_MAX_CACHES];

static inline struct slab_hdr *slab_hdr(const struct slab_cache *c)
{
    return (struct slab_hdr *)((char *)c - SLAB_HDR_BYTES);
}

/* Objects out of the cache's slabs and slabs held (for tests). */
void slab_cache_counts(const struct slab_cache *c, uint64_t *out, uint64_t *slabs);

#endif
