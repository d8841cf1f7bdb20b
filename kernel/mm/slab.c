/* Slab caches: object caches over the page allocator (layout in slab.h). */
#include <string.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>
#include "slab.h"

/* Empty slabs a cache keeps for the next refill (mm_drain_caches frees all). */
#define SLAB_KEEP_EMPTY 2

struct slab_cache *slab_caches[SLAB_MAX_CACHES];
static _Atomic unsigned slab_ncaches;
static spinlock_t registry_lock = SPINLOCK_INIT;

static inline struct page_desc *pfn_desc(uint32_t pfn) { return mm_desc((void *)pfn_addr(pfn)); }

static void list_add(uint32_t *head, uint32_t pfn)
{
    struct page_desc *d = pfn_desc(pfn);
    d->prev = 0;
    d->next = *head;
    if (*head)
        pfn_desc(*head)->prev = pfn;
    *head = pfn;
}

static void list_del(uint32_t *head, uint32_t pfn)
{
    struct page_desc *d = pfn_desc(pfn);
    if (d->prev)
        pfn_desc(d->prev)->next = d->next;
    else
        *head = d->next;
    if (d->next)
        pfn_desc(d->next)->prev = d->prev;
}

/* Lock held: a new slab with every object free, or 0. */
static uint32_t new_slab(struct slab_hdr *h)
{
    char *base = pages_alloc(h->order);
    if (!base)
        return 0;
    struct page_desc *d = mm_desc(base);
    for (unsigned i = 0; i < (1u << h->order); i++)
        d[i] = (struct page_desc){.kind = PD_SLAB, .order = h->order, .cache = h->id};
    for (uint32_t i = 0; i < h->per_slab; i++)
        *(uint16_t *)(base + i * h->size) =
            i + 1 < h->per_slab ? (uint16_t)(((i + 1) * h->size) >> 3) : PD_NIL16;
    d->free = 0;
    h->nslabs++;
    return page_pfn((uint64_t)base);
}

/* Lock held: up to want objects into out[]; returns how many. */
static unsigned take_objects(struct slab_hdr *h, uint64_t *out, unsigned want)
{
    unsigned got = 0;
    while (got < want) {
        uint32_t pfn = h->partial;
        if (!pfn) {
            pfn = h->empty;
            if (pfn) {
                list_del(&h->empty, pfn);
                h->nempty--;
            } else if (!(pfn = new_slab(h))) {
                break;
            }
            list_add(&h->partial, pfn);
        }
        uint64_t base = pfn_addr(pfn);
        struct page_desc *d = pfn_desc(pfn);
        while (got < want && d->free != PD_NIL16) {
            uint64_t obj = base + ((uint64_t)d->free << 3);
            d->free = *(uint16_t *)obj;
            d->inuse++;
            out[got++] = obj;
        }
        if (d->free == PD_NIL16)
            list_del(&h->partial, pfn);   /* full */
    }
    h->out += got;
    return got;
}

/* Lock held: obj back into its slab. */
static void put_object(struct slab_hdr *h, uint64_t obj)
{
    struct page_desc *d = mm_desc((void *)obj);
    if (!d || d->kind != PD_SLAB || d->cache != h->id)
        panic("slab_free(%s, 0x%llx): not an object of this cache", h->name, (unsigned long long)obj);
    uint64_t base = obj & ~((PAGE_SIZE << h->order) - 1), off = obj - base;
    d -= off >> PAGE_SHIFT;
    if (off % h->size || off / h->size >= h->per_slab)
        panic("slab_free(%s, 0x%llx): not the start of an object", h->name, (unsigned long long)obj);
    if (d->inuse == 0)
        panic("slab_free(%s, 0x%llx): double free", h->name, (unsigned long long)obj);
    *(uint16_t *)obj = d->free;
    d->free = (uint16_t)(off >> 3);
    uint32_t pfn = page_pfn(base);
    if (d->inuse-- == h->per_slab)
        list_add(&h->partial, pfn);   /* was full */
    if (d->inuse == 0) {
        list_del(&h->partial, pfn);
        list_add(&h->empty, pfn);
        h->nempty++;
    }
    h->out--;
}

/* Lock held: free empty slabs beyond keep. */
static void release_empty(struct slab_hdr *h, uint32_t keep)
{
    while (h->nempty > keep) {
        uint32_t pfn = h->empty;
        list_del(&h->empty, pfn);
        h->nempty--;
        h->nslabs--;
        pages_free((void *)pfn_addr(pfn), h->order);
    }
}

void *slab_alloc_slow(struct slab_cache *c, uint64_t flags)
{
    struct slab_hdr *h = slab_hdr(c);
    uint64_t *w = c[mm_cpu()].w;   /* empty */
    spin_lock(&h->lock);
    unsigned got = take_objects(h, &w[1], SLAB_BATCH);
    spin_unlock(&h->lock);
    void *obj = NULL;
    if (got) {
        obj = (void *)w[got];
        w[0] = got - 1;
    }
    arch_irq_restore(flags);
    return obj;
}

void slab_free_slow(struct slab_cache *c, void *obj, uint64_t flags)
{
    struct slab_hdr *h = slab_hdr(c);
    uint64_t *w = c[mm_cpu()].w;   /* full: the oldest SLAB_BATCH go back */
    spin_lock(&h->lock);
    for (unsigned i = 1; i <= SLAB_BATCH; i++)
        put_object(h, w[i]);
    release_empty(h, SLAB_KEEP_EMPTY);
    spin_unlock(&h->lock);
    memmove(&w[1], &w[1 + SLAB_BATCH], (SLAB_CPU_CAP - SLAB_BATCH) * sizeof(w[0]));
    uint64_t n = SLAB_CPU_CAP - SLAB_BATCH + 1;
    w[n] = (uint64_t)obj;
    w[0] = n;
    arch_irq_restore(flags);
}

size_t slab_object_size(const struct slab_cache *c) { return slab_hdr(c)->size; }

struct slab_cache *slab_cache_create(const char *name, size_t size, size_t align)
{
    if (align < 8)
        align = 8;
    if ((align & (align - 1)) || align > PAGE_SIZE || size > (PAGE_SIZE << SLAB_MAX_ORDER))
        return NULL;
    size = (size + align - 1) & ~(align - 1);
    if (!size)
        size = align;
    /* The smallest slab that wastes at most 1/8 of itself (within 3 orders). */
    unsigned order = 0;
    while ((PAGE_SIZE << order) < size)
        order++;
    unsigned first = order;
    while (order < SLAB_MAX_ORDER && order < first + 3 &&
           ((PAGE_SIZE << order) % size) * 8 > (PAGE_SIZE << order))
        order++;

    size_t bytes = SLAB_HDR_BYTES + mm_ncpus() * sizeof(struct slab_cache);
    unsigned block_order = 0;
    while ((PAGE_SIZE << block_order) < bytes)
        block_order++;
    char *block = pages_alloc(block_order);
    if (!block)
        return NULL;
    memset(block, 0, bytes);
    struct slab_hdr *h = (struct slab_hdr *)block;
    struct slab_cache *c = (struct slab_cache *)(block + SLAB_HDR_BYTES);
    h->lock = (spinlock_t)SPINLOCK_INIT;
    h->size = (uint32_t)size;
    h->per_slab = (uint32_t)((PAGE_SIZE << order) / size);
    h->order = (uint8_t)order;
    h->block_order = (uint8_t)block_order;
    strncpy(h->name, name ? name : "?", sizeof(h->name) - 1);

    uint64_t flags = spin_lock_irqsave(&registry_lock);
    unsigned id = atomic_load_explicit(&slab_ncaches, memory_order_relaxed);
    if (id < SLAB_MAX_CACHES) {
        h->id = (uint16_t)id;
        slab_caches[id] = c;
        atomic_store_explicit(&slab_ncaches, id + 1, memory_order_release);
    }
    spin_unlock_irqrestore(&registry_lock, flags);
    if (id >= SLAB_MAX_CACHES) {
        pages_free(block, block_order);
        return NULL;
    }
    return c;
}

void slab_cache_counts(const struct slab_cache *c, uint64_t *out, uint64_t *slabs)
{
    struct slab_hdr *h = slab_hdr(c);
    uint64_t flags = spin_lock_irqsave(&h->lock);
    *out = h->out;
    *slabs = h->nslabs;
    spin_unlock_irqrestore(&h->lock, flags);
}

void slab_drain_cpu(void)
{
    unsigned n = atomic_load_explicit(&slab_ncaches, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        struct slab_cache *c = slab_caches[i];
        struct slab_hdr *h = slab_hdr(c);
        uint64_t *w = c[mm_cpu()].w;
        if (!w[0])
            continue;
        spin_lock(&h->lock);
        for (uint64_t k = 1; k <= w[0]; k++)
            put_object(h, w[k]);
        spin_unlock(&h->lock);
        w[0] = 0;
    }
}

void slab_release_empty(void)
{
    unsigned n = atomic_load_explicit(&slab_ncaches, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        struct slab_hdr *h = slab_hdr(slab_caches[i]);
        spin_lock(&h->lock);
        release_empty(h, 0);
        spin_unlock(&h->lock);
    }
}
