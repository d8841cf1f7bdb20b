/*
 * Memory: physical pages, object caches (slab), the heap behind malloc, and
 * guarded task stacks. All of it is safe from any task on any core; the hot
 * paths (page_alloc/free of single pages, slab_alloc/free, small malloc/free)
 * use per-core caches with IRQs masked and take no global lock.
 *
 * Addresses: RAM is identity mapped (VA == PA). Stacks live in a separate,
 * non-identity virtual region (MM_STACK_REGION_BASE) where each stack has an
 * unmapped guard page below it that costs no RAM.
 */
#ifndef KERNEL_MM_H
#define KERNEL_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arch/cpu.h>
#include <kernel/percpu.h>
#include <kernel/platform.h>

#define PAGE_SIZE   4096ull
#define PAGE_SHIFT  12
/* Largest block pages_alloc() hands out: 2^MM_MAX_ORDER pages (1 GiB). */
#define MM_MAX_ORDER 18
/* The task-stack region: far above RAM and MMIO, inside TTBR0's 48 bits. */
#define MM_STACK_REGION_BASE 0x0000400000000000ull

/* Boot CPU, once, after the final page tables are active: hand every usable
 * RAM range to the page allocator (minus what the allocator needs for its
 * own bookkeeping). */
void mm_init(const struct plat_range *ram, int nram);
/* Each core, once, before it allocates (sets up its per-core caches). */
void mm_init_cpu(void);

/* --- pages ---------------------------------------------------------------- */
/* 2^order physically contiguous, naturally aligned pages; NULL when out of
 * memory. Contents are not zeroed. */
void *pages_alloc(unsigned order);
void pages_free(void *p, unsigned order);
static inline void *page_alloc(void) { return pages_alloc(0); }
static inline void page_free(void *p) { pages_free(p, 0); }
/* Exact number of free pages, per-core caches included. */
uint64_t mm_free_pages(void);
/* Return every per-core cached page, object and stack to the shared pools,
 * so mm_free_pages() counts exactly what is not in use (for leak checks). */
void mm_drain_caches(void);
/* A cache kept above mm (e.g. whole tasks with their stacks) registers how
 * to empty the calling core's part of it: mm_drain_caches runs every hook on
 * every core (IRQs masked) before draining mm's own per-core caches.
 * At most MM_DRAIN_HOOKS; returns -1 when full. */
#define MM_DRAIN_HOOKS 4
int mm_register_drain_hook(void (*drain_this_cpu)(void));
uint64_t mm_total_pages(void);

/* --- object caches ----------------------------------------------------------- */
/* A cache of fixed-size objects (size rounded up to align, align >= 8;
 * objects of up to 32 KiB). Any core may free what another allocated. */
struct slab_cache;
struct slab_cache *slab_cache_create(const char *name, size_t size, size_t align);
static inline void *slab_alloc(struct slab_cache *c);       /* NULL when out of memory */
static inline void slab_free(struct slab_cache *c, void *obj);
size_t slab_object_size(const struct slab_cache *c);

/* --- heap ------------------------------------------------------------------- */
/* malloc/free/calloc/realloc/aligned_alloc/posix_memalign/memalign are SR's
 * (kernel/mm/heap.c), replacing picolibc's: small sizes from per-size-class
 * slab caches, large ones straight from the page allocator. */
size_t heap_usable_size(const void *p);
/* For owners that remember a block's size class: heap_class_of(size) is the
 * class malloc would use for size bytes (HEAP_NO_CLASS above the small
 * sizes); heap_class_alloc / heap_class_free are malloc / free for that
 * class without free()'s page lookup. The blocks are ordinary heap blocks:
 * free() and heap_usable_size() accept them too. */
#define HEAP_NO_CLASS 0xffu
static inline unsigned heap_class_of(size_t size);
static inline void *heap_class_alloc(unsigned cls);   /* NULL when out of memory */
static inline void heap_class_free(unsigned cls, void *p);

/* --- stacks ----------------------------------------------------------------- */
struct mm_stack {
    uint64_t base;    /* lowest usable address (just above the guard page) */
    uint64_t size;    /* usable bytes, a multiple of PAGE_SIZE */
};
/* A stack of at least size bytes (rounded up to whole pages), backed by RAM,
 * with an unmapped guard page directly below base. 0 or -1 (no memory/VA). */
int mm_stack_alloc(size_t size, struct mm_stack *out);
void mm_stack_free(const struct mm_stack *s);
/* Is addr inside some stack's guard page (i.e. a stack overflow)? */
bool mm_is_stack_guard(uint64_t addr);

/* --- slab fast paths (inline: a dozen instructions each) --------------------- */
/* A cache handle points at an array of per-core slots, one per core: w[0] is
 * the count n, w[1..n] the free objects that core holds. The calling core's
 * slot is used with IRQs masked; the slow paths (kernel/mm/slab.c) exchange
 * objects with the shared slabs. Callable once the core ran mm_init_cpu(). */
#define SLAB_CPU_WORDS 32
struct slab_cache {
    uint64_t w[SLAB_CPU_WORDS];
};
void *slab_alloc_slow(struct slab_cache *c, uint64_t irq_flags);
void slab_free_slow(struct slab_cache *c, void *obj, uint64_t irq_flags);

static inline void *slab_alloc(struct slab_cache *c)
{
    uint64_t flags = arch_irq_save();
    uint64_t *w = c[this_cpu()->cpu].w;
    uint64_t n = w[0];
    if (__builtin_expect(n != 0, 1)) {
        void *obj = (void *)w[n];
        w[0] = n - 1;
        arch_irq_restore(flags);
        return obj;
    }
    return slab_alloc_slow(c, flags);
}

static inline void slab_free(struct slab_cache *c, void *obj)
{
    uint64_t flags = arch_irq_save();
    uint64_t *w = c[this_cpu()->cpu].w;
    uint64_t n = w[0] + 1;
    if (__builtin_expect(n < SLAB_CPU_WORDS, 1)) {
        w[n] = (uint64_t)obj;
        w[0] = n;
        arch_irq_restore(flags);
        return;
    }
    slab_free_slow(c, obj, flags);
}

/* The heap's size classes are slab caches 0.. (kernel/mm/heap.c), for
 * sizes up to HEAP_SMALL_MAX in steps of HEAP_GRAIN. */
#define HEAP_SMALL_MAX 2048
#define HEAP_GRAIN 16
extern struct slab_cache *heap_class_cache_[];
extern uint8_t heap_class_by_grain_[];

static inline unsigned heap_class_of(size_t size)
{
    if (size > HEAP_SMALL_MAX)
        return HEAP_NO_CLASS;
    return heap_class_by_grain_[(size + HEAP_GRAIN - 1) / HEAP_GRAIN];
}

static inline void *heap_class_alloc(unsigned cls) { return slab_alloc(heap_class_cache_[cls]); }

static inline void heap_class_free(unsigned cls, void *p) { slab_free(heap_class_cache_[cls], p); }

#endif
