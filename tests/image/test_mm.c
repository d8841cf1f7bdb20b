/* Memory: pages, slab caches, the heap, guarded stacks, page mappings. */
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <arch/cpu.h>
#include <arch/mmu.h>
#include <arch/sysreg.h>
#include <kernel/fault.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <sr_test.h>
#include "image_test.h"
#include "../../kernel/mm/mm_internal.h"
#include "../../kernel/mm/slab.h"

#define FSC_TRANSLATION 0x04

/* --- helpers for TEST_ALL_CORES ---------------------------------------------- */

static _Atomic unsigned barrier_count, barrier_gen;

/* Every online core's test task reaches this before any goes on. */
static void barrier_all(void)
{
    unsigned gen = atomic_load(&barrier_gen);
    if (atomic_fetch_add(&barrier_count, 1) + 1 == (unsigned)smp_online_count()) {
        atomic_store(&barrier_count, 0);
        atomic_fetch_add(&barrier_gen, 1);
    } else {
        while (atomic_load(&barrier_gen) == gen)
            arch_cpu_relax();
    }
}

static int first_online(void)
{
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c))
            return c;
    return 0;
}

static int next_online(int c)
{
    do
        c = (c + 1) % platform.ncpus;
    while (!smp_cpu_online(c));
    return c;
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* --- pages ------------------------------------------------------------------- */

TEST(mm, pages_alloc_free_is_exact_and_aligned)
{
    enum { N = 64 };
    static uint8_t *p[N], *q[9];
    uint64_t before = mm_free_pages();
    EXPECT_GT(before, 0);
    EXPECT_LE(before, mm_total_pages());
    for (int i = 0; i < N; i++) {
        p[i] = page_alloc();
        EXPECT_TRUE(p[i] != NULL);
        EXPECT_EQ((uint64_t)p[i] & (PAGE_SIZE - 1), 0);
        memset(p[i], i, PAGE_SIZE);
    }
    EXPECT_EQ(mm_free_pages(), before - N);
    uint64_t used = N;
    for (unsigned k = 1; k <= 8; k++) {
        q[k] = pages_alloc(k);
        EXPECT_TRUE(q[k] != NULL);
        EXPECT_EQ((uint64_t)q[k] & ((PAGE_SIZE << k) - 1), 0);
        memset(q[k], 0x40 + k, PAGE_SIZE << k);
        used += 1u << k;
        EXPECT_EQ(mm_free_pages(), before - used);
    }
    for (int i = 0; i < N; i++)
        EXPECT_TRUE(p[i][0] == i && p[i][PAGE_SIZE - 1] == i);
    for (unsigned k = 1; k <= 8; k++) {
        EXPECT_TRUE(q[k][0] == 0x40 + k && q[k][(PAGE_SIZE << k) - 1] == 0x40 + k);
        pages_free(q[k], k);
    }
    for (int i = 0; i < N; i++)
        page_free(p[i]);
    EXPECT_EQ(mm_free_pages(), before);
    EXPECT_TRUE(pages_alloc(MM_MAX_ORDER + 1) == NULL);
}

/* A page of page pointers: the exhaustion test's bookkeeping. */
struct page_list {
    struct page_list *next;
    uint64_t n;
    void *page[PAGE_SIZE / sizeof(void *) - 2];
};

TEST(mm, every_page_at_order_0_then_freed_coalesces_back)
{
    uint64_t counts[BUDDY_ORDERS], after[BUDDY_ORDERS];
    mm_drain_caches();
    page_buddy_counts(counts);
    uint64_t free0 = mm_free_pages();
    int top = MM_MAX_ORDER;
    while (top > 0 && !counts[top])
        top--;

    struct page_list *head = NULL;
    uint64_t n = 0;
    void *p;
    while ((p = page_alloc())) {
        if (!head || head->n == sizeof(head->page) / sizeof(head->page[0])) {
            struct page_list *l = p;
            l->next = head;
            l->n = 0;
            head = l;
        } else {
            head->page[head->n++] = p;
        }
        n++;
    }
    EXPECT_EQ(n, free0);
    EXPECT_EQ(mm_free_pages(), 0);
    /* Out of memory is an answer, not a crash. */
    errno = 0;
    EXPECT_TRUE(malloc(1 << 20) == NULL);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_TRUE(pages_alloc(3) == NULL);
    struct mm_stack s;
    EXPECT_EQ(mm_stack_alloc(64 * 1024, &s), -1);

    while (head) {
        struct page_list *next = head->next;
        for (uint64_t i = 0; i < head->n; i++)
            page_free(head->page[i]);
        page_free(head);
        head = next;
    }
    EXPECT_EQ(mm_free_pages(), free0);
    mm_drain_caches();
    page_buddy_counts(after);
    for (int k = 0; k <= MM_MAX_ORDER; k++)
        EXPECT_EQ(after[k], counts[k]);
    void *big = pages_alloc((unsigned)top);
    EXPECT_TRUE(big != NULL);
    if (big)
        pages_free(big, (unsigned)top);
}

/* --- slab caches -------------------------------------------------------------- */

TEST(mm, slab_sizes_alignment_and_reuse)
{
    struct slab_cache *a = slab_cache_create("t20x16", 20, 16);
    struct slab_cache *b = slab_cache_create("t100x64", 100, 64);
    EXPECT_TRUE(a && b);
    EXPECT_EQ(slab_object_size(a), 32);
    EXPECT_EQ(slab_object_size(b), 128);
    EXPECT_TRUE(slab_cache_create("bad", 16, 24) == NULL);
    EXPECT_TRUE(slab_cache_create("huge", 1 << 20, 8) == NULL);

    void *objs[100];
    for (int i = 0; i < 100; i++) {
        objs[i] = slab_alloc(b);
        EXPECT_TRUE(objs[i] != NULL);
        EXPECT_EQ((uint64_t)objs[i] & 63, 0);
        EXPECT_LE(((uint64_t)objs[i] & (PAGE_SIZE - 1)) + 128, PAGE_SIZE);
        memset(objs[i], i, 128);
        for (int j = 0; j < i; j++)
            EXPECT_NE(objs[i], objs[j]);
    }
    for (int i = 0; i < 100; i++) {
        EXPECT_EQ(((uint8_t *)objs[i])[127], i);
        slab_free(b, objs[i]);
    }
    void *x = slab_alloc(a);
    slab_free(a, x);
    EXPECT_TRUE(slab_alloc(a) == x);   /* most recently freed first */
    slab_free(a, x);

    uint64_t out, slabs;
    mm_drain_caches();
    slab_cache_counts(a, &out, &slabs);
    EXPECT_EQ(out, 0);
    EXPECT_EQ(slabs, 0);
    slab_cache_counts(b, &out, &slabs);
    EXPECT_EQ(out, 0);
    EXPECT_EQ(slabs, 0);
}

enum { XC_OBJS = 300, XC_ROUNDS = 4, XC_SIZE = 72 };
static struct slab_cache *xc_cache;
static uint64_t *xc_objs[PLAT_MAX_CPUS][XC_OBJS];
static uint64_t xc_free_before;

TEST_ALL_CORES(mm, slab_from_every_core_with_cross_core_frees)
{
    int me = cpu_id(), peer = next_online(me);
    bool leader = me == first_online();
    barrier_all();   /* everyone is spawned before the snapshot */
    if (leader) {
        if (!xc_cache)
            xc_cache = slab_cache_create("xcore", XC_SIZE, 8);
        mm_drain_caches();
        xc_free_before = mm_free_pages();
    }
    barrier_all();
    for (int r = 0; r < XC_ROUNDS; r++) {
        for (int i = 0; i < XC_OBJS; i++) {
            uint64_t *o = slab_alloc(xc_cache);
            EXPECT_TRUE(o != NULL);
            if (!o)
                continue;
            EXPECT_LE(((uint64_t)o & (PAGE_SIZE - 1)) + XC_SIZE, PAGE_SIZE);
            for (int w = 0; w < XC_SIZE / 8; w++)
                o[w] = ((uint64_t)me << 48) | ((uint64_t)r << 32) | ((uint64_t)i << 8) | (uint64_t)w;
            xc_objs[me][i] = o;
        }
        barrier_all();
        /* Check and free the neighbour's objects: allocated there, freed here. */
        for (int i = 0; i < XC_OBJS; i++) {
            uint64_t *o = xc_objs[peer][i];
            if (!o)
                continue;
            for (int w = 0; w < XC_SIZE / 8; w++)
                if (o[w] != (((uint64_t)peer << 48) | ((uint64_t)r << 32) | ((uint64_t)i << 8) | (uint64_t)w)) {
                    EXPECT_TRUE(!"object content intact");
                    break;
                }
            slab_free(xc_cache, o);
            xc_objs[peer][i] = NULL;
        }
        barrier_all();
    }
    if (leader) {
        uint64_t out, slabs;
        mm_drain_caches();
        slab_cache_counts(xc_cache, &out, &slabs);
        EXPECT_EQ(out, 0);
        EXPECT_EQ(slabs, 0);
        EXPECT_EQ(mm_free_pages(), xc_free_before);
    }
}

/* --- heap --------------------------------------------------------------------- */

TEST(mm, malloc_free_sizes_alignment_and_usable_size)
{
    mm_drain_caches();
    uint64_t before = mm_free_pages();
    void *z1 = malloc(0), *z2 = malloc(0);
    EXPECT_TRUE(z1 && z2 && z1 != z2);
    free(z1);
    free(z2);
    free(NULL);
    static const size_t sizes[] = {1, 15, 16, 17, 48, 100, 128, 129, 1000, 2047, 2048,
                                   2049, 4096, 5000, 65536, 1 << 20};
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *p = malloc(sizes[i]);
        EXPECT_TRUE(p != NULL);
        if (!p)
            continue;
        EXPECT_EQ((uint64_t)p & 15, 0);
        EXPECT_GE(heap_usable_size(p), sizes[i]);
        EXPECT_EQ(malloc_usable_size(p), heap_usable_size(p));
        memset(p, 0x5a, heap_usable_size(p));
        free(p);
    }
    /* A large block costs its pages, and gives them back. */
    uint64_t f0 = mm_free_pages();
    void *big = malloc(200 * 1024);
    EXPECT_EQ(heap_usable_size(big), 256 * 1024);
    EXPECT_EQ(mm_free_pages(), f0 - 64);
    free(big);
    EXPECT_EQ(mm_free_pages(), f0);
    mm_drain_caches();
    EXPECT_EQ(mm_free_pages(), before);
}

TEST(mm, calloc_realloc_and_failures)
{
    uint8_t *d = malloc(1000);
    memset(d, 0xff, 1000);
    free(d);
    uint8_t *c = calloc(10, 100);
    EXPECT_TRUE(c != NULL);
    bool zero = true;
    for (int i = 0; c && i < 1000; i++)
        zero &= c[i] == 0;
    EXPECT_TRUE(zero);
    free(c);
    uint8_t *cl = calloc(3, 70000);
    EXPECT_TRUE(cl && cl[0] == 0 && cl[209999] == 0);
    free(cl);

    /* Sizes the compiler cannot see (it would reject the calls). */
    volatile size_t half = SIZE_MAX / 2, max = SIZE_MAX, tib = 1ull << 40;
    errno = 0;
    EXPECT_TRUE(calloc(half, 3) == NULL);
    EXPECT_EQ(errno, ENOMEM);
    errno = 0;
    EXPECT_TRUE(malloc(max) == NULL);
    EXPECT_EQ(errno, ENOMEM);
    errno = 0;
    EXPECT_TRUE(malloc(tib) == NULL);
    EXPECT_EQ(errno, ENOMEM);

    uint8_t *p = realloc(NULL, 10);
    EXPECT_TRUE(p != NULL);
    for (int i = 0; i < 10; i++)
        p[i] = (uint8_t)i;
    p = realloc(p, 3000);                       /* slab -> large */
    EXPECT_TRUE(p != NULL && heap_usable_size(p) >= 3000);
    for (int i = 10; i < 3000; i++)
        p[i] = (uint8_t)i;
    p = realloc(p, 100000);                     /* large -> larger */
    bool same = p != NULL;
    for (int i = 0; same && i < 3000; i++)
        same = p[i] == (uint8_t)i;
    EXPECT_TRUE(same);
    p = realloc(p, 20);                         /* large -> slab */
    EXPECT_TRUE(p != NULL && heap_usable_size(p) < PAGE_SIZE);
    same = p != NULL;
    for (int i = 0; same && i < 20; i++)
        same = p[i] == (uint8_t)i;
    EXPECT_TRUE(same);
    uint8_t *q = realloc(p, 24);                /* fits: stays */
    EXPECT_TRUE(q == p);
    errno = 0;
    uint8_t *r = realloc(q, tib);               /* fails: q untouched */
    EXPECT_TRUE(r == NULL);
    EXPECT_EQ(errno, ENOMEM);
    if (r)
        q = r;
    else
        EXPECT_EQ(q[19], 19);
    q = realloc(q, 0);                          /* a minimal block, freeable */
    EXPECT_TRUE(q != NULL);
    free(q);
}

TEST(mm, aligned_alloc_posix_memalign_memalign)
{
    for (size_t align = 32; align <= 65536; align <<= 1) {
        size_t sizes[] = {1, align, 3 * align + 5};
        for (int i = 0; i < 3; i++) {
            void *p = aligned_alloc(align, sizes[i]);
            EXPECT_TRUE(p != NULL);
            EXPECT_EQ((uint64_t)p & (align - 1), 0);
            EXPECT_GE(heap_usable_size(p), sizes[i]);
            if (p)
                memset(p, 1, sizes[i]);
            free(p);
        }
    }
    errno = 0;
    EXPECT_TRUE(aligned_alloc(3, 16) == NULL);
    EXPECT_EQ(errno, EINVAL);
    errno = 0;
    EXPECT_TRUE(aligned_alloc(0, 16) == NULL);
    EXPECT_EQ(errno, EINVAL);
    void *p = NULL;
    EXPECT_EQ(posix_memalign(&p, 4, 16), EINVAL);
    EXPECT_EQ(posix_memalign(&p, 24, 16), EINVAL);
    EXPECT_EQ(posix_memalign(&p, 256, 100), 0);
    EXPECT_EQ((uint64_t)p & 255, 0);
    free(p);
    EXPECT_EQ(posix_memalign(&p, 64, 1ull << 40), ENOMEM);
    p = memalign(4096, 10);
    EXPECT_EQ((uint64_t)p & 4095, 0);
    free(p);
}

enum { HS_LOCAL = 48, HS_SHARED = 64, HS_STEPS = 4000 };
static _Atomic(uint64_t *) hs_shared[HS_SHARED];
static uint64_t hs_free_before;

/* Blocks carry their size in word 0 and a pattern derived from address and
 * size in the rest; hs_check verifies it before every free. */
static uint64_t *hs_alloc(uint64_t *seed)
{
    uint64_t r = lcg(seed) % 100;
    size_t size = r < 70 ? 16 + lcg(seed) % 240 : r < 96 ? 16 + lcg(seed) % 4080
                                                         : 16 + lcg(seed) % 70000;
    uint64_t *b = malloc(size);
    if (!b)
        return NULL;
    b[0] = size;
    for (size_t w = 1; w < size / 8; w++)
        b[w] = (uint64_t)b ^ (w * 0x9e3779b97f4a7c15ull) ^ size;
    return b;
}

static bool hs_check_free(uint64_t *b)
{
    size_t size = b[0];
    bool ok = heap_usable_size(b) >= size;
    for (size_t w = 1; ok && w < size / 8; w++)
        ok = b[w] == ((uint64_t)b ^ (w * 0x9e3779b97f4a7c15ull) ^ size);
    free(b);
    return ok;
}

TEST_ALL_CORES(mm, heap_stress_from_every_core_with_cross_core_frees)
{
    uint64_t *local[HS_LOCAL] = {0};
    uint64_t seed = 0x5352ull + (uint64_t)cpu_id() * 7777;
    bool leader = cpu_id() == first_online(), ok = true;
    barrier_all();   /* everyone is spawned (stacks allocated) before the snapshot */
    if (leader) {
        mm_drain_caches();
        hs_free_before = mm_free_pages();
    }
    barrier_all();
    for (int step = 0; step < HS_STEPS; step++) {
        uint64_t r = lcg(&seed);
        int s = (int)(r % HS_LOCAL);
        if (r % 5 == 0) {   /* pass a block to whichever core takes the slot next */
            uint64_t *b = hs_alloc(&seed);
            EXPECT_TRUE(b != NULL);
            uint64_t *old = atomic_exchange(&hs_shared[(r >> 8) % HS_SHARED], b);
            if (old)
                ok &= hs_check_free(old);
        } else if (local[s]) {
            ok &= hs_check_free(local[s]);
            local[s] = NULL;
        } else {
            local[s] = hs_alloc(&seed);
            EXPECT_TRUE(local[s] != NULL);
        }
    }
    for (int s = 0; s < HS_LOCAL; s++)
        if (local[s])
            ok &= hs_check_free(local[s]);
    EXPECT_TRUE(ok);
    barrier_all();
    if (leader) {
        for (int i = 0; i < HS_SHARED; i++) {
            uint64_t *b = atomic_exchange(&hs_shared[i], NULL);
            if (b)
                EXPECT_TRUE(hs_check_free(b));
        }
        mm_drain_caches();
        EXPECT_EQ(mm_free_pages(), hs_free_before);
    }
}

/* --- stacks ------------------------------------------------------------------- */

TEST(mm, stack_guard_faults_and_usable_range_is_writable)
{
    struct mm_stack s;
    EXPECT_EQ(mm_stack_alloc(4096, &s), 0);
    EXPECT_GE(s.base, MM_STACK_REGION_BASE);
    EXPECT_EQ(s.base & (PAGE_SIZE - 1), 0);
    EXPECT_EQ(s.size, 4096);
    memset((void *)s.base, 0xa5, s.size);
    EXPECT_EQ(*(volatile uint8_t *)(s.base + s.size - 1), 0xa5);
    EXPECT_TRUE(!mm_is_stack_guard(s.base));
    EXPECT_TRUE(!mm_is_stack_guard(s.base + s.size - 1));
    EXPECT_TRUE(mm_is_stack_guard(s.base - 1));
    EXPECT_TRUE(mm_is_stack_guard(s.base - PAGE_SIZE));
    EXPECT_TRUE(!mm_is_stack_guard(0x40000000));
    EXPECT_TRUE(!mm_is_stack_guard(0));

    struct fault_catch fc;
    FAULT_CATCH(&fc, { *(volatile uint64_t *)opaque_ptr(s.base - 8) = 1; });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(ESR_EC(fc.esr), EC_DABT_CUR);
    EXPECT_EQ(fc.esr & 0x3c, FSC_TRANSLATION);
    EXPECT_EQ(fc.far, s.base - 8);
    EXPECT_TRUE(mm_is_stack_guard(fc.far));
    mm_stack_free(&s);

    /* Sizes round up to pages; a 16 KiB + 1 stack has 5 pages. */
    struct mm_stack t;
    EXPECT_EQ(mm_stack_alloc(16 * 1024 + 1, &t), 0);
    EXPECT_EQ(t.size, 20 * 1024);
    memset((void *)t.base, 1, t.size);
    EXPECT_TRUE(mm_is_stack_guard(t.base - 16));
    mm_stack_free(&t);
    EXPECT_EQ(mm_stack_alloc(1ull << 44, &t), -1);
}

TEST(mm, freed_stack_is_reused_then_unmapped_and_its_va_recycled)
{
    struct mm_stack a, b;
    mm_drain_caches();
    uint64_t before = mm_free_pages();
    uint32_t chunks = mm_stack_chunks_in_use();
    EXPECT_EQ(mm_stack_alloc(16 * 1024, &a), 0);
    *(volatile uint64_t *)a.base = 7;
    mm_stack_free(&a);
    EXPECT_EQ(mm_stack_alloc(16 * 1024, &b), 0);   /* this core's cache */
    EXPECT_EQ(b.base, a.base);
    mm_stack_free(&b);
    mm_drain_caches();                              /* now unmapped */
    EXPECT_EQ(mm_free_pages(), before);
    EXPECT_EQ(mm_stack_chunks_in_use(), chunks);
    EXPECT_TRUE(!mm_is_stack_guard(a.base - 8));
    struct fault_catch fc;
    FAULT_CATCH(&fc, { (void)*(volatile uint64_t *)opaque_ptr(a.base); });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(fc.far, a.base);

    /* VA is recycled: the same allocations twice land at the same highest base. */
    enum { N = 300 };
    static struct mm_stack s[N];
    uint64_t high[2] = {0, 0};
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            EXPECT_EQ(mm_stack_alloc(8192, &s[i]), 0);
            if (s[i].base > high[round])
                high[round] = s[i].base;
        }
        for (int i = 0; i < N; i++)
            mm_stack_free(&s[i]);
        mm_drain_caches();
    }
    EXPECT_EQ(high[1], high[0]);
    EXPECT_EQ(mm_free_pages(), before);
    EXPECT_EQ(mm_stack_chunks_in_use(), chunks);
}

TEST(mm, stacks_of_4k_cost_about_4k_each)
{
    enum { N = 512 };
    static struct mm_stack s[N];
    mm_drain_caches();
    uint64_t before = mm_free_pages();
    uint32_t chunks = mm_stack_chunks_in_use();
    for (int i = 0; i < N; i++) {
        EXPECT_EQ(mm_stack_alloc(4096, &s[i]), 0);
        *(volatile uint64_t *)(s[i].base + 4088) = (uint64_t)i;
    }
    uint64_t used = before - mm_free_pages();
    uint64_t per_mib = (uint64_t)N * 256 / used;
    EXPECT_GE(per_mib, 250);
    EXPECT_LE(mm_stack_chunks_in_use() - chunks, 3);
    for (int i = 0; i < N; i++) {
        EXPECT_EQ(*(volatile uint64_t *)(s[i].base + 4088), (uint64_t)i);
        EXPECT_TRUE(mm_is_stack_guard(s[i].base - 1));
        mm_stack_free(&s[i]);
    }
    mm_drain_caches();
    EXPECT_EQ(mm_free_pages(), before);
    EXPECT_EQ(mm_stack_chunks_in_use(), chunks);
}

TEST(mm, big_stack_spans_chunks)
{
    struct mm_stack s;
    mm_drain_caches();
    uint64_t before = mm_free_pages();
    EXPECT_EQ(mm_stack_alloc(3 << 20, &s), 0);
    EXPECT_EQ(s.size, 3 << 20);
    EXPECT_EQ(before - mm_free_pages(), 768 + 2);   /* pages + two leaf tables */
    *(volatile uint64_t *)s.base = 1;
    *(volatile uint64_t *)(s.base + s.size - 8) = 2;
    EXPECT_TRUE(mm_is_stack_guard(s.base - 1));
    EXPECT_TRUE(!mm_is_stack_guard(s.base + (2 << 20)));
    struct fault_catch fc;
    FAULT_CATCH(&fc, { *(volatile uint64_t *)opaque_ptr(s.base - 8) = 1; });
    EXPECT_TRUE(fc.caught);
    mm_stack_free(&s);
    mm_drain_caches();
    EXPECT_EQ(mm_free_pages(), before);
}

static uint64_t st_free_before;

TEST_ALL_CORES(mm, stacks_from_every_core)
{
    enum { LIVE = 24, STEPS = 400 };
    struct mm_stack s[LIVE] = {{0}};
    uint64_t seed = 99 + (uint64_t)cpu_id();
    bool leader = cpu_id() == first_online(), ok = true;
    /* Everyone is spawned (stacks allocated) before the snapshot. */
    barrier_all();
    if (leader) {
        mm_drain_caches();
        st_free_before = mm_free_pages();
    }
    barrier_all();
    for (int step = 0; step < STEPS; step++) {
        int i = (int)(lcg(&seed) % LIVE);
        if (s[i].base) {
            uint64_t pages = s[i].size / PAGE_SIZE;
            ok &= *(volatile uint64_t *)s[i].base == s[i].base &&
                  *(volatile uint64_t *)(s[i].base + s[i].size - 8) == pages;
            ok &= mm_is_stack_guard(s[i].base - 8);
            mm_stack_free(&s[i]);
            s[i].base = 0;
        } else {
            size_t size = (1 + lcg(&seed) % 6) * PAGE_SIZE;
            if (mm_stack_alloc(size, &s[i]) != 0) {
                ok = false;
                continue;
            }
            *(volatile uint64_t *)s[i].base = s[i].base;
            *(volatile uint64_t *)(s[i].base + s[i].size - 8) = s[i].size / PAGE_SIZE;
        }
    }
    for (int i = 0; i < LIVE; i++)
        if (s[i].base)
            mm_stack_free(&s[i]);
    EXPECT_TRUE(ok);
    barrier_all();
    if (leader) {
        mm_drain_caches();
        EXPECT_EQ(mm_free_pages(), st_free_before);
    }
}

/* --- page mappings outside the identity map ------------------------------------ */

TEST(mm, map_unmap_page_and_release_its_table)
{
    uint64_t va = MM_STACK_REGION_BASE + (256ull << 30);   /* far beyond the stacks */
    uint64_t *pg = page_alloc();
    EXPECT_EQ(arch_mmu_map_page(va, (uint64_t)pg, MMU_RAM), 0);
    *(volatile uint64_t *)va = 42;
    EXPECT_EQ(*(volatile uint64_t *)pg, 42);
    EXPECT_EQ(arch_mmu_map_page(va, (uint64_t)pg, MMU_RAM), -1);   /* never changed in place */
    EXPECT_EQ(arch_mmu_release_table(va), -1);                     /* still in use */
    uint64_t pa = 0;
    uint8_t attr = 0;
    EXPECT_TRUE(arch_mmu_probe(va, true, &pa, &attr));
    EXPECT_EQ(pa, (uint64_t)pg);
    EXPECT_EQ(attr, 0xff);
    EXPECT_EQ(arch_mmu_unmap_page(va), (uint64_t)pg);
    EXPECT_TRUE(!arch_mmu_probe(va, false, &pa, &attr));
    struct fault_catch fc;
    FAULT_CATCH(&fc, { (void)*(volatile uint64_t *)opaque_ptr(va); });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(arch_mmu_unmap_page(va), 0);
    EXPECT_EQ(arch_mmu_release_table(va), 0);
    EXPECT_EQ(arch_mmu_release_table(va), 0);   /* nothing left: no-op */
    page_free(pg);
}
