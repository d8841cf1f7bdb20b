/* Binary buddy allocator core (see buddy.h). */
#include <string.h>
#include "buddy.h"

#define BLOCK_BYTES(order) (PAGE_SIZE << (order))

int buddy_plan_zones(const struct plat_range *ram, int n, struct plat_range *zones)
{
    struct plat_range r[PLAT_MAX_MEM * 2];
    int nr = 0;

    for (int i = 0; i < n && nr < (int)(sizeof(r) / sizeof(r[0])); i++) {
        uint64_t lo = (ram[i].base + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
        uint64_t hi = (ram[i].base + ram[i].size) & ~(PAGE_SIZE - 1);
        if (ram[i].size && hi > lo)
            r[nr++] = (struct plat_range){lo, hi - lo};
    }
    for (int i = 1; i < nr; i++)   /* insertion sort by base */
        for (int j = i; j > 0 && r[j].base < r[j - 1].base; j--) {
            struct plat_range t = r[j];
            r[j] = r[j - 1];
            r[j - 1] = t;
        }
    int nz = 0;
    for (int i = 0; i < nr; i++) {
        uint64_t end = r[i].base + r[i].size;
        if (nz && r[i].base <= zones[nz - 1].base + zones[nz - 1].size + BUDDY_ZONE_GAP) {
            struct plat_range *z = &zones[nz - 1];
            if (end > z->base + z->size)
                z->size = end - z->base;
        } else if (nz < MM_MAX_ZONES) {
            zones[nz++] = r[i];
        }
    }
    return nz;
}

uint64_t buddy_desc_count(const struct plat_range *zones, int nzones)
{
    uint64_t n = 0;
    for (int i = 0; i < nzones; i++)
        n += zones[i].size >> PAGE_SHIFT;
    return n;
}

void buddy_init(struct buddy *b, const struct plat_range *zones, int nzones,
                struct page_desc *desc)
{
    memset(b, 0, sizeof(*b));
    for (int i = 0; i < nzones && i < MM_MAX_ZONES; i++) {
        uint64_t pages = zones[i].size >> PAGE_SHIFT;
        b->map.zone[i] = (struct page_zone){zones[i].base, pages << PAGE_SHIFT, desc};
        memset(desc, 0, pages * sizeof(*desc));   /* PD_TAIL */
        desc += pages;
        b->map.nzones = i + 1;
    }
}

static void list_push(struct buddy *b, struct buddy_block *blk, unsigned order)
{
    blk->prev = NULL;
    blk->next = b->free[order];
    if (blk->next)
        blk->next->prev = blk;
    b->free[order] = blk;
    b->nfree[order]++;
}

static void list_remove(struct buddy *b, struct buddy_block *blk, unsigned order)
{
    if (blk->prev)
        blk->prev->next = blk->next;
    else
        b->free[order] = blk->next;
    if (blk->next)
        blk->next->prev = blk->prev;
    b->nfree[order]--;
}

/* Insert the block at addr (its pages PD_TAIL apart from the head) merging upward. */
static void insert_merge(struct buddy *b, const struct page_zone *z, uint64_t addr, unsigned order)
{
    struct page_desc *d = &z->desc[(addr - z->base) >> PAGE_SHIFT];
    while (order < MM_MAX_ORDER) {
        uint64_t buddy = addr ^ BLOCK_BYTES(order);
        if (buddy < z->base || buddy - z->base + BLOCK_BYTES(order) > z->size)
            break;
        struct page_desc *bd = &z->desc[(buddy - z->base) >> PAGE_SHIFT];
        if (bd->kind != PD_FREE || bd->order != order)
            break;
        list_remove(b, (struct buddy_block *)buddy, order);
        bd->kind = PD_TAIL;
        d->kind = PD_TAIL;
        if (buddy < addr) {
            addr = buddy;
            d = bd;
        }
        order++;
    }
    d->kind = PD_FREE;
    d->order = (uint8_t)order;
    list_push(b, (struct buddy_block *)addr, order);
}

void buddy_add_range(struct buddy *b, uint64_t base, uint64_t size)
{
    uint64_t a = (base + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    uint64_t end = (base + size) & ~(PAGE_SIZE - 1);
    const struct page_zone *z = page_zone_of(&b->map, a);
    if (!z || end <= a || end - z->base > z->size)
        return;
    while (a < end) {
        unsigned order = 0;
        while (order < MM_MAX_ORDER && (a & (BLOCK_BYTES(order + 1) - 1)) == 0 &&
               a + BLOCK_BYTES(order + 1) <= end)
            order++;
        insert_merge(b, z, a, order);
        b->free_pages += 1ull << order;
        b->total_pages += 1ull << order;
        a += BLOCK_BYTES(order);
    }
}

void *buddy_alloc(struct buddy *b, unsigned order)
{
    unsigned k = order;
    while (k < BUDDY_ORDERS && !b->free[k])
        k++;
    if (k >= BUDDY_ORDERS)
        return NULL;
    struct buddy_block *blk = b->free[k];
    list_remove(b, blk, k);
    uint64_t addr = (uint64_t)blk;
    const struct page_zone *z = page_zone_of(&b->map, addr);
    struct page_desc *d = &z->desc[(addr - z->base) >> PAGE_SHIFT];
    while (k > order) {   /* give back the upper halves */
        k--;
        uint64_t upper = addr + BLOCK_BYTES(k);
        struct page_desc *ud = &z->desc[(upper - z->base) >> PAGE_SHIFT];
        ud->kind = PD_FREE;
        ud->order = (uint8_t)k;
        list_push(b, (struct buddy_block *)upper, k);
    }
    d->kind = PD_ALLOC;
    d->order = (uint8_t)order;
    b->free_pages -= 1ull << order;
    return blk;
}

int buddy_free(struct buddy *b, void *p, unsigned order)
{
    uint64_t addr = (uint64_t)p;
    const struct page_zone *z = page_zone_of(&b->map, addr);
    if (!z || order > MM_MAX_ORDER || (addr & (BLOCK_BYTES(order) - 1)) ||
        addr - z->base + BLOCK_BYTES(order) > z->size)
        return -1;
    struct page_desc *d = &z->desc[(addr - z->base) >> PAGE_SHIFT];
    if (d->kind < PD_CACHED || d->order != order)
        return -1;
    for (uint64_t i = 1; i < (1ull << order); i++)   /* owners may have marked them */
        d[i].kind = PD_TAIL;
    insert_merge(b, z, addr, order);
    b->free_pages += 1ull << order;
    return 0;
}
