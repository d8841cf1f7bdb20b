/*
 * The C heap: malloc and friends (replacing picolibc's). Sizes up to
 * HEAP_SMALL_MAX come from one slab cache per size class; larger blocks are
 * whole buddy blocks of 2^order pages whose head descriptor is PD_HEAP.
 * free() tells the two apart from the address's page descriptor. Every
 * pointer is 16-byte aligned; power-of-two classes are aligned to their size.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/panic.h>
#include "slab.h"

#define HEAP_LARGE_MAX (PAGE_SIZE << MM_MAX_ORDER)

static const uint16_t class_sizes[] = {16, 32, 48, 64, 96, 128, 192, 256, 384, 512,
                                       768, 1024, 1536, 2048};
#define HEAP_NCLASSES (sizeof(class_sizes) / sizeof(class_sizes[0]))

/* By (size + 15) / 16: the cache of the smallest class that holds size,
 * and its class. */
static struct slab_cache *cache_by_grain[HEAP_SMALL_MAX / HEAP_GRAIN + 1];
uint8_t heap_class_by_grain_[HEAP_SMALL_MAX / HEAP_GRAIN + 1];
/* Slab cache ids [0, HEAP_NCLASSES) are the heap's (created first). */
struct slab_cache *heap_class_cache_[HEAP_NCLASSES];

void heap_init(void)
{
    for (unsigned i = 0; i < HEAP_NCLASSES; i++) {
        char name[16];
        snprintf(name, sizeof(name), "heap-%u", (unsigned)class_sizes[i]);
        heap_class_cache_[i] = slab_cache_create(name, class_sizes[i], HEAP_GRAIN);
        if (!heap_class_cache_[i] || slab_hdr(heap_class_cache_[i])->id != i)
            panic("heap: cannot create size class %u", class_sizes[i]);
    }
    unsigned cls = 0;
    for (unsigned g = 0; g <= HEAP_SMALL_MAX / HEAP_GRAIN; g++) {
        while (class_sizes[cls] < g * HEAP_GRAIN)
            cls++;
        cache_by_grain[g] = heap_class_cache_[cls];
        heap_class_by_grain_[g] = (uint8_t)cls;
    }
}

static unsigned order_for(size_t size)
{
    unsigned order = 0;
    while ((PAGE_SIZE << order) < size)
        order++;
    return order;
}

static void *large_alloc(size_t size, unsigned min_order)
{
    if (size > HEAP_LARGE_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    unsigned order = order_for(size);
    if (order < min_order)
        order = min_order;
    void *p = pages_alloc(order);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    mm_desc(p)->kind = PD_HEAP;
    return p;
}

/* malloc's body under another name: calloc must not call "malloc" and then
 * memset, which the compiler would fold into a (recursive) calloc call. */
static inline void *heap_alloc(size_t size)
{
    if (__builtin_expect(size <= HEAP_SMALL_MAX, 1)) {
        void *p = slab_alloc(cache_by_grain[(size + HEAP_GRAIN - 1) / HEAP_GRAIN]);
        if (__builtin_expect(p != NULL, 1))
            return p;
        errno = ENOMEM;
        return NULL;
    }
    return large_alloc(size, 0);
}

void *malloc(size_t size) { return heap_alloc(size); }

static _Noreturn void bad_pointer(const char *fn, const void *p, const struct page_desc *d)
{
    if (d && (d->kind == PD_FREE || d->kind == PD_CACHED))
        panic("%s(%p): double free (the page is free)", fn, p);
    panic("%s(%p): not a heap block (page kind %d)", fn, p, d ? d->kind : -1);
}

/* Checked: the size usable at p (a live heap pointer). */
static size_t usable(const char *fn, const void *p, struct page_desc *d)
{
    if (d && d->kind == PD_SLAB && d->cache < HEAP_NCLASSES)
        return slab_hdr(heap_class_cache_[d->cache])->size;
    if (d && d->kind == PD_HEAP && !((uint64_t)p & ((PAGE_SIZE << d->order) - 1)))
        return PAGE_SIZE << d->order;
    bad_pointer(fn, p, d);
}

void free(void *p)
{
    if (!p)
        return;
    struct page_desc *d = mm_desc(p);
    if (__builtin_expect(d && d->kind == PD_SLAB && d->cache < HEAP_NCLASSES, 1)) {
        slab_free(heap_class_cache_[d->cache], p);
        return;
    }
    usable("free", p, d);   /* panics unless p heads a large block */
    pages_free(p, d->order);
}

size_t heap_usable_size(const void *p)
{
    return p ? usable("heap_usable_size", p, mm_desc(p)) : 0;
}

size_t malloc_usable_size(void *p) { return heap_usable_size(p); }

void *calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = heap_alloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *realloc(void *p, size_t size)
{
    if (!p)
        return malloc(size);
    size_t have = usable("realloc", p, mm_desc(p));
    if (size <= have && (size >= have / 2 || have <= HEAP_GRAIN))
        return p;   /* fits and wastes at most half: keep it */
    int saved = errno;
    void *q = malloc(size);
    if (!q) {
        if (size <= have) {   /* shrinking cannot fail: keep the block */
            errno = saved;
            return p;
        }
        return NULL;
    }
    memcpy(q, p, size < have ? size : have);
    free(p);
    return q;
}

/* align: a power of two. */
static void *aligned(size_t align, size_t size)
{
    if (align <= HEAP_GRAIN)
        return malloc(size);
    if (size <= HEAP_SMALL_MAX && align <= HEAP_SMALL_MAX) {
        /* Power-of-two classes are aligned to their size. */
        size_t cls = size > align ? size : align;
        cls = cls <= HEAP_GRAIN ? HEAP_GRAIN : 1ull << (64 - __builtin_clzll(cls - 1));
        if (cls <= HEAP_SMALL_MAX)
            return malloc(cls);
    }
    return large_alloc(size, order_for(align));
}

void *aligned_alloc(size_t align, size_t size)
{
    if (!align || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return aligned(align, size);
}

void *memalign(size_t align, size_t size) { return aligned_alloc(align, size); }

int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    int saved = errno;
    void *p = aligned(align, size);
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
