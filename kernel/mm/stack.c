/*
 * Guarded task stacks in the region at MM_STACK_REGION_BASE.
 *
 * The region is cut into 2 MiB chunks, each covered by one last-level
 * translation table. A chunk serves one stack size (n pages): it holds
 * 512 / (n + 1) slots of an unmapped guard page followed by n mapped pages.
 * A stack of 512 pages or more takes a span of whole chunks, alone. A small
 * chunk in use is full (on no list), partly used (on its size's partial
 * list) or empty: then it is its size's one spare, or released (table
 * freed, VA reusable). mm_drain_caches releases the spares too.
 * So a 4 KiB stack costs one page plus 1/256 of a table page.
 *
 * Each core keeps the STACK_CPU_CAP most recently freed small stacks still
 * mapped (IRQs masked, no lock) to make spawning cheap. Stacks pushed out
 * of that cache are unmapped at once but their pages and slots are freed in
 * batches of STACK_DEAD_CAP after one TLB invalidation for the batch.
 */
#include <string.h>
#include <arch/mmu.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>
#include "mm_internal.h"

#define CHUNK_SHIFT      21
#define CHUNK_PAGES      512u
#define CHUNK_CONT       0xffffffffu   /* pages of a chunk continuing a span */
#define STACK_CPU_CAP    8
#define STACK_CACHE_MAX  16            /* pages: larger stacks are not cached */
#define STACK_DEAD_CAP   16
#define MAP_BATCH        16

struct stack_chunk {
    uint32_t pages;      /* usable pages per slot; 0: chunk free */
    uint16_t nslots;
    uint16_t nused;
    uint32_t span;       /* chunks the layout covers (head chunk) */
    uint32_t next, prev; /* partial list of its size: chunk index + 1, 0 = none */
    uint64_t used[CHUNK_PAGES / 2 / 64];   /* slot bitmap */
};

struct stack_cpu {
    uint32_t n, ndead;
    struct mm_stack s[STACK_CPU_CAP];        /* freed, still mapped: reused first */
    struct mm_stack dead[STACK_DEAD_CAP];    /* unmapped, TLBs not yet flushed */
    uint64_t dead_chain;                     /* their pages (see stack_unmap) */
} __attribute__((aligned(64)));

static struct stack_chunk *chunks;
static uint32_t nchunks;
static uint32_t first_free;                /* every chunk below is in use */
static uint32_t partial[CHUNK_PAGES];      /* by pages per slot: chunk index + 1 */
static uint32_t spare[CHUNK_PAGES];        /* by pages per slot: an empty chunk kept */
static spinlock_t stack_lock = SPINLOCK_INIT;
static struct stack_cpu stack_cpu[PLAT_MAX_CPUS];

static inline uint64_t chunk_va(uint32_t ci) { return MM_STACK_REGION_BASE + ((uint64_t)ci << CHUNK_SHIFT); }

void mm_stack_init(void)
{
    /* One chunk per MiB of RAM: enough VA for all of RAM as 4 KiB stacks. */
    uint64_t n = mm_total_pages() / 256;
    n = n < 64 ? 64 : n > (1u << 20) ? (1u << 20) : n;
    uint64_t bytes = n * sizeof(struct stack_chunk);
    unsigned order = 0;
    while ((PAGE_SIZE << order) < bytes)
        order++;
    chunks = pages_alloc(order);
    if (!chunks)
        panic("mm: no memory for the stack region's %llu chunks", (unsigned long long)n);
    memset(chunks, 0, bytes);
    nchunks = (uint32_t)n;
}

static void partial_add(uint32_t ci)
{
    struct stack_chunk *ch = &chunks[ci];
    uint32_t *head = &partial[ch->pages];
    ch->prev = 0;
    ch->next = *head;
    if (*head)
        chunks[*head - 1].prev = ci + 1;
    *head = ci + 1;
}

static void partial_del(uint32_t ci)
{
    struct stack_chunk *ch = &chunks[ci];
    if (ch->prev)
        chunks[ch->prev - 1].next = ch->next;
    else
        partial[ch->pages] = ch->next;
    if (ch->next)
        chunks[ch->next - 1].prev = ch->prev;
}

/* Lock held: span free chunks in a row for stacks of pages, or -1. */
static int64_t chunk_assign(uint32_t pages, uint32_t span)
{
    for (uint32_t i = first_free; i + span <= nchunks; i++) {
        uint32_t k = 0;
        while (k < span && !chunks[i + k].pages)
            k++;
        if (k < span) {
            i += k;   /* chunks[i + k] is busy: look past it */
            continue;
        }
        if (i == first_free)
            first_free = i + span;
        for (k = 0; k < span; k++)
            memset(&chunks[i + k], 0, sizeof(chunks[0]));
        for (k = 1; k < span; k++)
            chunks[i + k].pages = CHUNK_CONT;
        __atomic_store_n(&chunks[i].pages, pages, __ATOMIC_RELAXED);
        chunks[i].span = span;
        chunks[i].nslots = (uint16_t)(span > 1 ? 1 : CHUNK_PAGES / (pages + 1));
        return i;
    }
    return -1;
}

/* Lock held: the chunk is empty; drop its tables and give its VA back. */
static void chunk_release(uint32_t ci)
{
    uint32_t span = chunks[ci].span;
    for (uint32_t k = 0; k < span; k++) {
        if (arch_mmu_release_table(chunk_va(ci + k)))
            panic("stack chunk %u: pages still mapped", ci + k);
        __atomic_store_n(&chunks[ci + k].pages, 0, __ATOMIC_RELAXED);
    }
    if (ci < first_free)
        first_free = ci;
}

/* A slot for a stack of pages: its base (above the guard), or 0. */
static uint64_t slot_reserve(uint32_t pages)
{
    uint64_t flags = spin_lock_irqsave(&stack_lock);
    int64_t ci;
    uint32_t slot = 0;
    if (pages < CHUNK_PAGES) {
        if (partial[pages]) {
            ci = partial[pages] - 1;
        } else {
            ci = spare[pages] ? (int64_t)spare[pages] - 1 : chunk_assign(pages, 1);
            spare[pages] = 0;
            if (ci >= 0)
                partial_add((uint32_t)ci);
        }
        if (ci >= 0) {
            struct stack_chunk *ch = &chunks[ci];
            while (!~ch->used[slot / 64])
                slot += 64;
            slot += (uint32_t)__builtin_ctzll(~ch->used[slot / 64]);
            __atomic_or_fetch(&ch->used[slot / 64], 1ull << (slot % 64), __ATOMIC_RELAXED);
            if (++ch->nused == ch->nslots)
                partial_del((uint32_t)ci);
        }
    } else {
        ci = chunk_assign(pages, (pages + CHUNK_PAGES) / CHUNK_PAGES);
        if (ci >= 0) {
            chunks[ci].used[0] = 1;
            chunks[ci].nused = 1;
        }
    }
    spin_unlock_irqrestore(&stack_lock, flags);
    if (ci < 0)
        return 0;
    return chunk_va((uint32_t)ci) + ((uint64_t)slot * (pages + 1) + 1) * PAGE_SIZE;
}

/* The chunk and slot of a live stack [base, base + pages), or panic. */
static uint32_t slot_of(uint64_t base, uint64_t pages, uint32_t *slot)
{
    uint64_t off = base - MM_STACK_REGION_BASE;
    uint32_t ci = (uint32_t)(off >> CHUNK_SHIFT);
    if (base >= MM_STACK_REGION_BASE && ci < nchunks && pages) {
        const struct stack_chunk *ch = &chunks[ci];
        uint64_t pg = ((off & ((1ull << CHUNK_SHIFT) - 1)) >> PAGE_SHIFT);
        uint64_t stride = pages + 1;
        if (ch->pages == pages && pg % stride == 1 && pg / stride < ch->nslots) {
            *slot = (uint32_t)(pg / stride);
            if (__atomic_load_n(&ch->used[*slot / 64], __ATOMIC_RELAXED) & (1ull << (*slot % 64)))
                return ci;
        }
    }
    panic("mm_stack_free: [0x%llx, +%llu pages) is not a live stack", (unsigned long long)base,
          (unsigned long long)pages);
}

static void slot_release(uint64_t base, uint64_t pages)
{
    uint32_t slot;
    uint64_t flags = spin_lock_irqsave(&stack_lock);
    uint32_t ci = slot_of(base, pages, &slot);
    struct stack_chunk *ch = &chunks[ci];
    __atomic_and_fetch(&ch->used[slot / 64], ~(1ull << (slot % 64)), __ATOMIC_RELAXED);
    bool was_full = ch->nused-- == ch->nslots;
    if (ch->span > 1) {
        chunk_release(ci);
    } else if (ch->nused == 0) {
        /* Empty: its size's spare if it has none, else released. */
        if (!was_full)
            partial_del(ci);
        if (!spare[pages])
            spare[pages] = ci + 1;
        else
            chunk_release(ci);
    } else if (was_full) {
        partial_add(ci);
    }
    spin_unlock_irqrestore(&stack_lock, flags);
}

/* Unmap s without TLB maintenance (see arch_mmu_unmap_pages_nosync) and
 * chain its pages onto *chain, through their identity-mapped first word. */
static void stack_unmap(struct mm_stack s, uint64_t *chain)
{
    uint64_t pa[MAP_BATCH], pages = s.size >> PAGE_SHIFT;
    for (uint64_t i = 0; i < pages; i += MAP_BATCH) {
        unsigned k = pages - i < MAP_BATCH ? (unsigned)(pages - i) : MAP_BATCH;
        arch_mmu_unmap_pages_nosync(s.base + i * PAGE_SIZE, k, pa);
        for (unsigned j = 0; j < k; j++) {
            if (!pa[j])
                panic("stack page 0x%llx was not mapped", (unsigned long long)(s.base + (i + j) * PAGE_SIZE));
            *(uint64_t *)pa[j] = *chain;
            *chain = pa[j];
        }
    }
}

/* After a TLB flush: free the chained pages and the stacks' slots. */
static void stacks_finish(const struct mm_stack *s, unsigned n, uint64_t chain)
{
    while (chain) {
        uint64_t next = *(uint64_t *)chain;
        page_free((void *)chain);
        chain = next;
    }
    for (unsigned i = 0; i < n; i++)
        slot_release(s[i].base, s[i].size >> PAGE_SHIFT);
}

/* Unmap and free one stack now (one TLB flush). */
static __attribute__((noinline)) void stack_destroy(struct mm_stack s)
{
    uint64_t chain = 0;
    stack_unmap(s, &chain);
    arch_mmu_tlb_flush_all();
    stacks_finish(&s, 1, chain);
}

/* Unmap a stack now, free it with this core's next STACK_DEAD_CAP: one TLB
 * flush (a stop-the-world in QEMU, a wait on all cores in hardware) per batch. */
static __attribute__((noinline)) void stack_retire(struct mm_stack s)
{
    struct mm_stack batch[STACK_DEAD_CAP];
    uint64_t flags = arch_irq_save();
    struct stack_cpu *sc = &stack_cpu[mm_cpu()];
    stack_unmap(s, &sc->dead_chain);
    sc->dead[sc->ndead++] = s;
    if (sc->ndead < STACK_DEAD_CAP) {
        arch_irq_restore(flags);
        return;
    }
    memcpy(batch, sc->dead, sizeof(batch));
    uint64_t chain = sc->dead_chain;
    sc->ndead = 0;
    sc->dead_chain = 0;
    arch_irq_restore(flags);
    arch_mmu_tlb_flush_all();
    stacks_finish(batch, STACK_DEAD_CAP, chain);
}

/* Map fresh pages at [base, base + pages): 0, or -1 with nothing left behind. */
static int back(uint64_t base, uint64_t pages)
{
    uint64_t pa[MAP_BATCH];
    for (uint64_t i = 0; i < pages; i += MAP_BATCH) {
        unsigned k = pages - i < MAP_BATCH ? (unsigned)(pages - i) : MAP_BATCH, got = 0;
        for (; got < k; got++) {
            void *p = page_alloc();
            if (!p)
                break;
            mm_desc(p)->kind = PD_STACK;
            pa[got] = (uint64_t)p;
        }
        if (got < k || arch_mmu_map_pages(base + i * PAGE_SIZE, pa, k, MMU_RAM)) {
            while (got)
                page_free((void *)pa[--got]);
            uint64_t chain = 0;
            stack_unmap((struct mm_stack){base, i * PAGE_SIZE}, &chain);
            arch_mmu_tlb_flush_all();
            stacks_finish(NULL, 0, chain);
            return -1;
        }
    }
    return 0;
}

/* A new stack of pages: reserve a slot, back and map it. */
static __attribute__((noinline)) int stack_create(uint64_t pages, struct mm_stack *out)
{
    uint64_t base = slot_reserve((uint32_t)pages);
    if (!base)
        return -1;
    if (back(base, pages)) {
        slot_release(base, pages);
        return -1;
    }
    out->base = base;
    out->size = pages * PAGE_SIZE;
    return 0;
}

int mm_stack_alloc(size_t size, struct mm_stack *out)
{
    uint64_t pages = size ? (size + PAGE_SIZE - 1) >> PAGE_SHIFT : 1;
    if (size > ((uint64_t)nchunks << CHUNK_SHIFT))
        return -1;
    if (pages <= STACK_CACHE_MAX && arch_percpu_ptr()) {
        uint64_t flags = arch_irq_save();
        struct stack_cpu *sc = &stack_cpu[mm_cpu()];
        for (uint32_t i = sc->n; i-- > 0;) {
            if (sc->s[i].size == pages * PAGE_SIZE) {
                *out = sc->s[i];
                sc->n--;
                for (; i < sc->n; i++)
                    sc->s[i] = sc->s[i + 1];
                arch_irq_restore(flags);
                return 0;
            }
        }
        arch_irq_restore(flags);
    }
    if (stack_create(pages, out) == 0)
        return 0;
    /* Out of memory: this core's cached and dead stacks are memory too. */
    if (!arch_percpu_ptr())
        return -1;
    uint64_t flags = arch_irq_save();
    struct stack_cpu *sc = &stack_cpu[mm_cpu()];
    bool any = sc->n || sc->ndead;
    mm_stack_drain_cpu();
    arch_irq_restore(flags);
    return any ? stack_create(pages, out) : -1;
}

void mm_stack_free(const struct mm_stack *s)
{
    uint64_t pages = s->size >> PAGE_SHIFT;
    uint32_t slot;
    slot_of(s->base, pages, &slot);   /* panics unless live */
    if (pages > STACK_CACHE_MAX || !arch_percpu_ptr()) {
        stack_destroy(*s);
        return;
    }
    /* Cache it; when full, the least recently freed one is retired instead. */
    struct mm_stack old = *s;
    uint64_t flags = arch_irq_save();
    struct stack_cpu *sc = &stack_cpu[mm_cpu()];
    for (uint32_t i = 0; i < sc->n; i++)
        if (sc->s[i].base == s->base)
            panic("mm_stack_free: stack 0x%llx freed twice", (unsigned long long)s->base);
    if (sc->n == STACK_CPU_CAP) {
        old = sc->s[0];
        for (uint32_t i = 0; i + 1 < STACK_CPU_CAP; i++)
            sc->s[i] = sc->s[i + 1];
        sc->n--;
    }
    sc->s[sc->n++] = *s;
    arch_irq_restore(flags);
    if (old.base != s->base)
        stack_retire(old);
}

bool mm_is_stack_guard(uint64_t addr)
{
    uint64_t off = addr - MM_STACK_REGION_BASE;
    if (addr < MM_STACK_REGION_BASE || (off >> CHUNK_SHIFT) >= nchunks)
        return false;
    const struct stack_chunk *ch = &chunks[off >> CHUNK_SHIFT];
    uint32_t pages = __atomic_load_n(&ch->pages, __ATOMIC_RELAXED);
    if (!pages || pages == CHUNK_CONT)
        return false;
    uint64_t pg = (off & ((1ull << CHUNK_SHIFT) - 1)) >> PAGE_SHIFT, stride = (uint64_t)pages + 1;
    uint64_t slot = pg / stride;
    return pg % stride == 0 && slot < ch->nslots &&
           (__atomic_load_n(&ch->used[slot / 64], __ATOMIC_RELAXED) & (1ull << (slot % 64)));
}

void mm_stack_drain_cpu(void)
{
    struct stack_cpu *sc = &stack_cpu[mm_cpu()];
    if (!sc->n && !sc->ndead)
        return;
    uint64_t chain = sc->dead_chain;
    for (uint32_t i = 0; i < sc->n; i++)
        stack_unmap(sc->s[i], &chain);
    arch_mmu_tlb_flush_all();
    stacks_finish(sc->s, sc->n, chain);
    stacks_finish(sc->dead, sc->ndead, 0);
    sc->n = sc->ndead = 0;
    sc->dead_chain = 0;
}

void mm_stack_release_empty(void)
{
    uint64_t flags = spin_lock_irqsave(&stack_lock);
    for (uint32_t pages = 1; pages < CHUNK_PAGES; pages++) {
        if (spare[pages]) {
            chunk_release(spare[pages] - 1);
            spare[pages] = 0;
        }
    }
    spin_unlock_irqrestore(&stack_lock, flags);
}

uint32_t mm_stack_chunks_in_use(void)
{
    uint32_t n = 0;
    uint64_t flags = spin_lock_irqsave(&stack_lock);
    for (uint32_t ci = 0; ci < nchunks; ci++)
        n += chunks[ci].pages != 0;
    spin_unlock_irqrestore(&stack_lock, flags);
    return n;
}
