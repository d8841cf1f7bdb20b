/* The buddy allocator core (kernel/mm/buddy.c) over malloc'd arenas. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sr_test.h>
#include "../../kernel/mm/buddy.h"

#define MIB (1ull << 20)

struct arena {
    char *mem;
    uint64_t size;
    struct page_desc *desc;
    struct buddy b;
};

/* An arena of size bytes aligned to align, its zone(s) planned from ranges
 * given as offsets into it, and those ranges freed into the buddy. */
static void arena_open(struct arena *a, uint64_t size, uint64_t align,
                       const struct plat_range *off, int n)
{
    struct plat_range ram[8] = {{0}}, zones[MM_MAX_ZONES];
    a->size = size;
    a->mem = aligned_alloc(align, size);
    for (int i = 0; i < n; i++)
        ram[i] = (struct plat_range){(uint64_t)a->mem + off[i].base, off[i].size};
    int nz = buddy_plan_zones(ram, n, zones);
    a->desc = calloc(buddy_desc_count(zones, nz), sizeof(struct page_desc));
    buddy_init(&a->b, zones, nz, a->desc);
    for (int i = 0; i < n; i++)
        buddy_add_range(&a->b, ram[i].base, ram[i].size);
}

static void arena_close(struct arena *a)
{
    free(a->desc);
    free(a->mem);
}

static uint64_t counts_sum(const struct buddy *b)
{
    uint64_t pages = 0;
    for (int k = 0; k < BUDDY_ORDERS; k++)
        pages += b->nfree[k] << k;
    return pages;
}

TEST(buddy, zones_are_sorted_aligned_and_merged_when_close)
{
    struct plat_range ram[] = {
        {0x90001000, 0x100000 - 0x800},   /* unaligned end: trimmed inward */
        {0x40000800, 0x1000000},          /* unaligned base */
        {0x41100000, 0x100000},           /* 1 MiB after the previous: merged */
        {0x80000000, 0},                  /* empty: dropped */
    };
    struct plat_range z[MM_MAX_ZONES];
    int n = buddy_plan_zones(ram, 4, z);
    EXPECT_EQ(n, 2);
    EXPECT_EQ(z[0].base, 0x40001000);
    EXPECT_EQ(z[0].base + z[0].size, 0x41200000);
    EXPECT_EQ(z[1].base, 0x90001000);
    EXPECT_EQ(z[1].base + z[1].size, 0x90100000);
    EXPECT_EQ(buddy_desc_count(z, n), (0x41200000 - 0x40001000) / 4096 + 0xff);
}

TEST(buddy, whole_range_becomes_maximal_aligned_blocks)
{
    struct arena a;
    struct plat_range r = {0, 16 * MIB};
    arena_open(&a, 16 * MIB, 4 * MIB, &r, 1);
    EXPECT_EQ(a.b.total_pages, 4096);
    EXPECT_EQ(a.b.free_pages, 4096);
    /* Blocks of at least 4 MiB (the arena's alignment), at most 4 of them. */
    uint64_t blocks = 0;
    for (int k = 0; k < BUDDY_ORDERS; k++) {
        if (k < 10)
            EXPECT_EQ(a.b.nfree[k], 0);
        blocks += a.b.nfree[k];
    }
    EXPECT_TRUE(blocks >= 1 && blocks <= 4);
    EXPECT_EQ(counts_sum(&a.b), 4096);
    arena_close(&a);
}

TEST(buddy, all_pages_at_order_0_then_free_coalesces_back)
{
    struct arena a;
    /* Two ranges with a hole in one zone, unaligned edges. */
    struct plat_range r[] = {{3 * 4096, 5 * MIB}, {6 * MIB + 4096, 9 * MIB}};
    arena_open(&a, 16 * MIB, 4 * MIB, r, 2);
    uint64_t before[BUDDY_ORDERS];
    memcpy(before, a.b.nfree, sizeof(before));
    uint64_t total = a.b.free_pages;
    EXPECT_EQ(total, (5 * MIB + 9 * MIB) / 4096);

    char **pages = malloc(total * sizeof(*pages));
    uint64_t n = 0;
    void *p;
    while ((p = buddy_alloc(&a.b, 0)))
        pages[n++] = p;
    EXPECT_EQ(n, total);
    EXPECT_EQ(a.b.free_pages, 0);
    /* Every page is inside a range and handed out once. */
    char *seen = calloc(a.size / 4096, 1);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t off = (uint64_t)(pages[i] - a.mem);
        bool in = (off >= r[0].base && off < r[0].base + r[0].size) ||
                  (off >= r[1].base && off < r[1].base + r[1].size);
        EXPECT_TRUE(in);
        EXPECT_EQ(seen[off / 4096]++, 0);
    }
    /* Free in a scrambled order. */
    for (uint64_t i = 0; i < n; i++) {
        uint64_t j = (i * 7919) % n;
        char *t = pages[i];
        pages[i] = pages[j];
        pages[j] = t;
    }
    for (uint64_t i = 0; i < n; i++)
        EXPECT_EQ(buddy_free(&a.b, pages[i], 0), 0);
    EXPECT_EQ(a.b.free_pages, total);
    EXPECT_EQ(memcmp(before, a.b.nfree, sizeof(before)), 0);
    free(seen);
    free(pages);
    arena_close(&a);
}

TEST(buddy, random_orders_aligned_disjoint_and_accounted)
{
    enum { LIVE = 300, STEPS = 20000 };
    struct arena a;
    struct plat_range r = {4096, 16 * MIB - 3 * 4096};
    arena_open(&a, 16 * MIB, 4 * MIB, &r, 1);
    uint64_t total = a.b.free_pages, before[BUDDY_ORDERS];
    memcpy(before, a.b.nfree, sizeof(before));
    struct { char *p; unsigned order; } live[LIVE] = {{0}};
    uint16_t *owner = calloc(a.size / 4096, sizeof(*owner));   /* slot + 1 */
    uint64_t used = 0, seed = 12345;

    for (int step = 0; step < STEPS; step++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int s = (int)((seed >> 33) % LIVE);
        if (live[s].p) {
            uint64_t first = (uint64_t)(live[s].p - a.mem) / 4096;
            for (uint64_t k = 0; k < (1ull << live[s].order); k++)
                owner[first + k] = 0;
            EXPECT_EQ(buddy_free(&a.b, live[s].p, live[s].order), 0);
            used -= 1ull << live[s].order;
            live[s].p = NULL;
        } else {
            unsigned order = (unsigned)((seed >> 20) % 7);
            char *p = buddy_alloc(&a.b, order);
            if (!p)
                continue;
            EXPECT_EQ((uint64_t)p & ((4096ull << order) - 1), 0);
            uint64_t first = (uint64_t)(p - a.mem) / 4096;
            EXPECT_TRUE(first >= 1 && first + (1ull << order) <= 4096 - 2);
            for (uint64_t k = 0; k < (1ull << order); k++) {
                EXPECT_EQ(owner[first + k], 0);
                owner[first + k] = (uint16_t)(s + 1);
            }
            live[s].p = p;
            live[s].order = order;
            used += 1ull << order;
        }
        EXPECT_EQ(a.b.free_pages + used, total);
        EXPECT_EQ(counts_sum(&a.b), a.b.free_pages);
    }
    for (int s = 0; s < LIVE; s++)
        if (live[s].p)
            EXPECT_EQ(buddy_free(&a.b, live[s].p, live[s].order), 0);
    EXPECT_EQ(a.b.free_pages, total);
    EXPECT_EQ(memcmp(before, a.b.nfree, sizeof(before)), 0);
    free(owner);
    arena_close(&a);
}

TEST(buddy, double_and_invalid_frees_are_refused)
{
    struct arena a;
    struct plat_range r = {0, 4 * MIB};
    arena_open(&a, 4 * MIB, 4 * MIB, &r, 1);
    char *p = buddy_alloc(&a.b, 2);
    char *q = buddy_alloc(&a.b, 0);
    EXPECT_TRUE(p && q);
    uint64_t free_pages = a.b.free_pages;
    EXPECT_EQ(buddy_free(&a.b, p, 1), -1);              /* wrong order */
    EXPECT_EQ(buddy_free(&a.b, p + 4096, 0), -1);       /* a tail page */
    EXPECT_EQ(buddy_free(&a.b, p + 8, 2), -1);          /* unaligned */
    EXPECT_EQ(buddy_free(&a.b, a.mem + 5 * MIB, 0), -1); /* outside every zone */
    EXPECT_EQ(a.b.free_pages, free_pages);
    EXPECT_EQ(buddy_free(&a.b, p, 2), 0);
    EXPECT_EQ(buddy_free(&a.b, p, 2), -1);              /* double free */
    EXPECT_EQ(buddy_free(&a.b, q, 0), 0);
    EXPECT_EQ(buddy_free(&a.b, q, 0), -1);
    EXPECT_EQ(a.b.free_pages, 1024);
    EXPECT_EQ(a.b.nfree[10], 1);
    arena_close(&a);
}

TEST(buddy, exhaustion_returns_null_and_orders_above_max_are_never_formed)
{
    struct arena a;
    struct plat_range r = {0, 4 * MIB};
    arena_open(&a, 4 * MIB, 4 * MIB, &r, 1);
    EXPECT_TRUE(buddy_alloc(&a.b, 11) == NULL);   /* larger than the memory */
    EXPECT_TRUE(buddy_alloc(&a.b, MM_MAX_ORDER + 1) == NULL);
    char *big = buddy_alloc(&a.b, 10);
    EXPECT_TRUE(big != NULL);
    EXPECT_TRUE(buddy_alloc(&a.b, 0) == NULL);
    EXPECT_EQ(buddy_free(&a.b, big, 10), 0);
    arena_close(&a);

    /* 2 GiB of address space (only block heads are touched): at most
     * 2^MM_MAX_ORDER-page blocks. */
    uint64_t want = 2048 * MIB, align = 1024 * MIB;
    char *raw = mmap(NULL, want + align, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return;
    uint64_t base = ((uint64_t)raw + align - 1) & ~(align - 1);
    struct plat_range ram = {base, want}, z[MM_MAX_ZONES];
    int nz = buddy_plan_zones(&ram, 1, z);
    struct page_desc *desc = calloc(buddy_desc_count(z, nz), sizeof(*desc));
    struct buddy *b = malloc(sizeof(*b));
    buddy_init(b, z, nz, desc);
    buddy_add_range(b, base, want);
    EXPECT_EQ(b->nfree[MM_MAX_ORDER], 2);
    EXPECT_EQ(b->free_pages, want / 4096);
    void *x = buddy_alloc(b, MM_MAX_ORDER), *y = buddy_alloc(b, 3);
    EXPECT_EQ((uint64_t)x % (4096ull << MM_MAX_ORDER), 0);
    EXPECT_EQ(buddy_free(b, x, MM_MAX_ORDER), 0);
    EXPECT_EQ(buddy_free(b, y, 3), 0);
    EXPECT_EQ(b->nfree[MM_MAX_ORDER], 2);
    free(b);
    free(desc);
    munmap(raw, want + align);
}
