/*
 * The page allocator: the buddy core (buddy.c) under one lock, plus a cache
 * of order-0 pages per core so that single pages usually take no lock.
 *
 * Per-core cache: page[0..n) are free pages marked PD_CACHED, touched only
 * by their core with IRQs masked. Empty: PCP_BATCH pages come from the buddy
 * (one order-4 block when there is one); full: the PCP_BATCH oldest go back.
 * Free pages = the buddy's + every core's n, so mm_free_pages() is exact.
 */
#include <string.h>
#include <arch/cpu.h>
#include <arch/mmu.h>
#include <kernel/panic.h>
#include <kernel/spinlock.h>
#include "mm_internal.h"

#define PCP_CAP          31
#define PCP_BATCH_ORDER  4
#define PCP_BATCH        (1u << PCP_BATCH_ORDER)
/* Page frame numbers are 32-bit: RAM above 16 TiB is not used. */
#define MM_PHYS_LIMIT    (1ull << 44)

struct page_cpu {
    uint64_t n;
    void *page[PCP_CAP];
} __attribute__((aligned(64)));

struct buddy mm_buddy;
static spinlock_t buddy_lock = SPINLOCK_INIT;
static struct page_cpu page_cpu[PLAT_MAX_CPUS];

static _Noreturn void bad_free(void *p, unsigned order, const struct page_desc *d)
{
    if (!d)
        panic("pages_free(%p, %u): not a RAM page", p, order);
    if (d->kind == PD_FREE || d->kind == PD_CACHED)
        panic("pages_free(%p, %u): double free", p, order);
    panic("pages_free(%p, %u): not an allocated block of that order (kind %u, order %u)", p,
          order, d->kind, d->order);
}

/* IRQs masked. */
static __attribute__((noinline)) bool pcp_refill(struct page_cpu *pc)
{
    spin_lock(&buddy_lock);
    char *blk = buddy_alloc(&mm_buddy, PCP_BATCH_ORDER);
    if (blk) {
        struct page_desc *d = mm_desc(blk);
        for (unsigned i = 0; i < PCP_BATCH; i++) {
            d[i] = (struct page_desc){.kind = PD_CACHED};
            pc->page[pc->n++] = blk + (PCP_BATCH - 1 - i) * PAGE_SIZE;   /* low pages first out */
        }
    } else {
        void *p;
        while (pc->n < PCP_BATCH && (p = buddy_alloc(&mm_buddy, 0))) {
            mm_desc(p)->kind = PD_CACHED;
            pc->page[pc->n++] = p;
        }
    }
    spin_unlock(&buddy_lock);
    return pc->n != 0;
}

/* IRQs masked: the count oldest pages back to the buddy. */
static __attribute__((noinline)) void pcp_give_back(struct page_cpu *pc, unsigned count)
{
    spin_lock(&buddy_lock);
    for (unsigned i = 0; i < count; i++)
        if (buddy_free(&mm_buddy, pc->page[i], 0))
            panic("page cache: %p is corrupt (kind %u)", pc->page[i], mm_desc(pc->page[i])->kind);
    spin_unlock(&buddy_lock);
    memmove(pc->page, pc->page + count, (pc->n - count) * sizeof(pc->page[0]));
    pc->n -= count;
}

void *pages_alloc(unsigned order)
{
    uint64_t flags;
    void *p;
    if (order == 0 && arch_percpu_ptr()) {
        flags = arch_irq_save();
        struct page_cpu *pc = &page_cpu[mm_cpu()];
        p = NULL;
        if (pc->n || pcp_refill(pc)) {
            p = pc->page[--pc->n];
            mm_desc(p)->kind = PD_ALLOC;
        }
        arch_irq_restore(flags);
        return p;
    }
    if (order > MM_MAX_ORDER)
        return NULL;
    flags = spin_lock_irqsave(&buddy_lock);
    p = buddy_alloc(&mm_buddy, order);
    spin_unlock_irqrestore(&buddy_lock, flags);
    return p;
}

void pages_free(void *p, unsigned order)
{
    struct page_desc *d = mm_desc(p);
    if (!d || d->kind < PD_ALLOC || d->order != order || ((uint64_t)p & ((PAGE_SIZE << order) - 1)))
        bad_free(p, order, d);
    uint64_t flags;
    if (order == 0 && arch_percpu_ptr()) {
        flags = arch_irq_save();
        struct page_cpu *pc = &page_cpu[mm_cpu()];
        d->kind = PD_CACHED;
        if (pc->n == PCP_CAP)
            pcp_give_back(pc, PCP_BATCH);
        pc->page[pc->n++] = p;
        arch_irq_restore(flags);
        return;
    }
    flags = spin_lock_irqsave(&buddy_lock);
    int rc = buddy_free(&mm_buddy, p, order);
    spin_unlock_irqrestore(&buddy_lock, flags);
    if (rc)
        bad_free(p, order, d);
}

uint64_t mm_free_pages(void)
{
    uint64_t n = __atomic_load_n(&mm_buddy.free_pages, __ATOMIC_RELAXED);
    for (int i = 0; i < PLAT_MAX_CPUS; i++)
        n += __atomic_load_n(&page_cpu[i].n, __ATOMIC_RELAXED);
    return n;
}

uint64_t mm_total_pages(void) { return mm_buddy.total_pages; }

void page_cache_drain_cpu(void)
{
    struct page_cpu *pc = &page_cpu[mm_cpu()];
    if (pc->n)
        pcp_give_back(pc, (unsigned)pc->n);
}

void page_buddy_counts(uint64_t nfree[BUDDY_ORDERS])
{
    uint64_t flags = spin_lock_irqsave(&buddy_lock);
    memcpy(nfree, mm_buddy.nfree, sizeof(mm_buddy.nfree));
    spin_unlock_irqrestore(&buddy_lock, flags);
}

/* Translation tables, once mm is up (the arch code zeroes them). */
static void *table_page_alloc(void)
{
    void *p = page_alloc();
    if (p)
        mm_desc(p)->kind = PD_TABLE;
    return p;
}

static void table_page_free(void *p) { page_free(p); }

void page_alloc_init(const struct plat_range *ram, int nram)
{
    struct plat_range r[PLAT_MAX_MEM * 2] = {{0}}, zones[MM_MAX_ZONES];
    int n = 0;
    for (int i = 0; i < nram && n < (int)(sizeof(r) / sizeof(r[0])); i++) {
        uint64_t lo = (ram[i].base + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
        uint64_t hi = (ram[i].base + ram[i].size) & ~(PAGE_SIZE - 1);
        if (hi > MM_PHYS_LIMIT)
            hi = MM_PHYS_LIMIT;
        if (hi > lo)
            r[n++] = (struct plat_range){lo, hi - lo};
    }
    int nz = buddy_plan_zones(r, n, zones);
    uint64_t bytes = buddy_desc_count(zones, nz) * sizeof(struct page_desc);
    bytes = (bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

    /* The descriptors take the top of the largest range. */
    int best = -1;
    for (int i = 0; i < n; i++)
        if (r[i].size >= bytes && (best < 0 || r[i].size > r[best].size))
            best = i;
    if (best < 0)
        panic("mm: no RAM range holds the %llu bytes of page descriptors",
              (unsigned long long)bytes);
    r[best].size -= bytes;
    struct page_desc *desc = (struct page_desc *)(r[best].base + r[best].size);
    buddy_init(&mm_buddy, zones, nz, desc);
    for (int i = 0; i < n; i++)
        if (r[i].size)
            buddy_add_range(&mm_buddy, r[i].base, r[i].size);
    arch_mmu_set_table_allocator(table_page_alloc, table_page_free);
}
