/*
 * Translation tables: 48-bit VA, 4 KiB granule, levels 0-3. The identity map
 * uses the largest block that fits (1 GiB at level 1, 2 MiB at level 2), so
 * RAM costs a few tables while the image gets 4 KiB pages for W^X. Pages
 * outside it (task stacks) are mapped one by one.
 *
 * Tables come from a static pool until the page allocator takes over
 * (arch_mmu_set_table_allocator). All edits happen under mmu_lock.
 *
 * Invariant: a valid entry is never changed in place. A request that would
 * change one (different attributes, or a block where a table is needed)
 * fails. Page entries may go valid -> invalid (with TLB invalidation) and
 * later valid again; a last-level table may be unlinked once it is empty.
 */
#include <string.h>
#include <arch/boot.h>
#include <arch/mmu.h>
#include <arch/sysreg.h>
#include <kernel/spinlock.h>

#define PT_ENTRIES     512
#define PT_POOL_PAGES  96
#define PAGE_SIZE      4096ULL

uint64_t mmu_root_table[PT_ENTRIES] __attribute__((aligned(4096)));
static uint64_t pt_pool[PT_POOL_PAGES][PT_ENTRIES] __attribute__((aligned(4096)));
static int pt_used;
static spinlock_t mmu_lock = SPINLOCK_INIT;
static void *(*table_alloc)(void);
static void (*table_release)(void *);

static const uint64_t type_attrs[] = {
    [MMU_RAM] = PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_PXN | PTE_UXN,
    [MMU_TEXT] = PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_AP_RO | PTE_UXN,
    [MMU_RODATA] = PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_AP_RO | PTE_PXN | PTE_UXN,
    [MMU_DEVICE] = PTE_ATTR(MT_DEVICE_nGnRE) | PTE_AF | PTE_PXN | PTE_UXN,
};

static inline void set_entry(uint64_t *e, uint64_t v) { __atomic_store_n(e, v, __ATOMIC_RELAXED); }

/* Under mmu_lock: a zeroed table, visible as zero to table walks. */
static uint64_t *pt_alloc(void)
{
    uint64_t *t;
    if (table_alloc) {
        t = table_alloc();
        if (!t)
            return NULL;
        memset(t, 0, PAGE_SIZE);
        dsb(ishst);
        return t;
    }
    if (pt_used == PT_POOL_PAGES)
        return NULL;
    return pt_pool[pt_used++];   /* BSS: already zero */
}

static bool from_pool(const uint64_t *t)
{
    return (uint64_t)t - (uint64_t)pt_pool < sizeof(pt_pool);
}

static inline uint64_t level_shift(int level) { return 39 - 9 * (uint64_t)level; }

static int map_level(uint64_t *table, int level, uint64_t va, uint64_t end, uint64_t attrs)
{
    uint64_t shift = level_shift(level), span = 1ULL << shift;

    while (va < end) {
        uint64_t idx = (va >> shift) & (PT_ENTRIES - 1);
        uint64_t next = (va & ~(span - 1)) + span;
        uint64_t chunk_end = next < end ? next : end;
        uint64_t *e = &table[idx];
        bool whole = (va & (span - 1)) == 0 && chunk_end == next;

        if (level == 3 || (whole && level >= 1)) {
            uint64_t desc = (va & PTE_ADDR_MASK) | attrs | PTE_VALID | (level == 3 ? PTE_PAGE : 0);
            if (*e && *e != desc)
                return -1;
            set_entry(e, desc);
        } else {
            uint64_t *sub;
            if (!*e) {
                sub = pt_alloc();
                if (!sub)
                    return -1;
                set_entry(e, (uint64_t)sub | PTE_VALID | PTE_TABLE);
            } else if ((*e & 3) != (PTE_VALID | PTE_TABLE)) {
                /* A block already covers this range: fine only if identical. */
                uint64_t want = (va & ~(span - 1)) | attrs | PTE_VALID;
                if (*e != want)
                    return -1;
                va = chunk_end;
                continue;
            }
            sub = (uint64_t *)(*e & PTE_ADDR_MASK);
            if (map_level(sub, level + 1, va, chunk_end, attrs))
                return -1;
        }
        va = chunk_end;
    }
    return 0;
}

int arch_mmu_map(uint64_t base, uint64_t size, enum mmu_type type)
{
    uint64_t start = base & ~(PAGE_SIZE - 1);
    uint64_t end = (base + size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

    if (!size || end <= start || end > (1ULL << 48))
        return -1;
    uint64_t flags = spin_lock_irqsave(&mmu_lock);
    int rc = map_level(mmu_root_table, 0, start, end, type_attrs[type]);
    dsb(ishst);
    isb();
    spin_unlock_irqrestore(&mmu_lock, flags);
    return rc;
}

void arch_mmu_activate(void)
{
    arch_mmu_switch((uint64_t)mmu_root_table);
}

bool arch_mmu_probe(uint64_t va, bool write, uint64_t *pa, uint8_t *attr)
{
    uint64_t par;
    if (write)
        __asm__ volatile("at s1e1w, %0" : : "r"(va));
    else
        __asm__ volatile("at s1e1r, %0" : : "r"(va));
    isb();
    par = read_sysreg(par_el1);
    if (par & 1)
        return false;
    *pa = (par & PTE_ADDR_MASK) | (va & (PAGE_SIZE - 1));
    *attr = (uint8_t)(par >> 56);
    return true;
}

int arch_mmu_tables_used(void) { return pt_used + 1; }

void arch_mmu_set_table_allocator(void *(*alloc)(void), void (*release)(void *))
{
    uint64_t flags = spin_lock_irqsave(&mmu_lock);
    table_alloc = alloc;
    table_release = release;
    spin_unlock_irqrestore(&mmu_lock, flags);
}

/* Under mmu_lock: the table at level 3 covering va (NULL if there is none
 * and create is false, or no memory, or a block mapping covers va). */
static uint64_t *leaf_table(uint64_t va, bool create)
{
    uint64_t *t = mmu_root_table;
    for (int level = 0; level < 3; level++) {
        uint64_t *e = &t[(va >> level_shift(level)) & (PT_ENTRIES - 1)];
        uint64_t v = *e;
        if (!(v & PTE_VALID)) {
            if (!create)
                return NULL;
            uint64_t *sub = pt_alloc();
            if (!sub)
                return NULL;
            v = (uint64_t)sub | PTE_VALID | PTE_TABLE;
            set_entry(e, v);
        } else if ((v & 3) != (PTE_VALID | PTE_TABLE)) {
            return NULL;
        }
        t = (uint64_t *)(v & PTE_ADDR_MASK);
    }
    return t;
}

static inline unsigned leaf_index(uint64_t va) { return (va >> 12) & (PT_ENTRIES - 1); }

int arch_mmu_map_pages(uint64_t va, const uint64_t *pa, unsigned n, enum mmu_type type)
{
    uint64_t attrs = type_attrs[type] | PTE_VALID | PTE_PAGE;
    uint64_t *t = NULL;
    unsigned done = 0;
    int rc = 0;

    if ((va & (PAGE_SIZE - 1)) || va + (uint64_t)n * PAGE_SIZE > (1ULL << 48))
        return -1;
    uint64_t flags = spin_lock_irqsave(&mmu_lock);
    for (; done < n; done++) {
        uint64_t a = va + done * PAGE_SIZE;
        if (!t || leaf_index(a) == 0)
            t = leaf_table(a, true);
        if (!t || t[leaf_index(a)] || (pa[done] & (PAGE_SIZE - 1))) {
            rc = -1;
            break;
        }
        set_entry(&t[leaf_index(a)], (pa[done] & PTE_ADDR_MASK) | attrs);
    }
    if (rc) {   /* undo: these entries were never used, so no TLB entry exists */
        for (unsigned i = 0; i < done; i++) {
            uint64_t a = va + i * PAGE_SIZE;
            set_entry(&leaf_table(a, false)[leaf_index(a)], 0);
        }
    }
    spin_unlock_irqrestore(&mmu_lock, flags);
    dsb(ishst);
    isb();
    return rc;
}

int arch_mmu_map_page(uint64_t va, uint64_t pa, enum mmu_type type)
{
    return arch_mmu_map_pages(va, &pa, 1, type);
}

void arch_mmu_unmap_pages_nosync(uint64_t va, unsigned n, uint64_t *pa_out)
{
    uint64_t *t = NULL;
    uint64_t flags = spin_lock_irqsave(&mmu_lock);
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = va + i * PAGE_SIZE;
        if (!t || leaf_index(a) == 0)
            t = leaf_table(a, false);
        uint64_t old = t ? t[leaf_index(a)] : 0;
        if ((old & 3) == (PTE_VALID | PTE_PAGE)) {
            set_entry(&t[leaf_index(a)], 0);
            pa_out[i] = old & PTE_ADDR_MASK;
        } else {
            pa_out[i] = 0;
        }
    }
    spin_unlock_irqrestore(&mmu_lock, flags);
}

void arch_mmu_unmap_pages(uint64_t va, unsigned n, uint64_t *pa_out)
{
    arch_mmu_unmap_pages_nosync(va, n, pa_out);
    /* Entries cleared: broadcast the invalidation and wait until every core
     * has completed it, so the caller may reuse the pages at once. */
    dsb(ishst);
    for (unsigned i = 0; i < n; i++)
        if (pa_out[i])
            __asm__ volatile("tlbi vaae1is, %0" : : "r"((va >> 12) + i) : "memory");
    dsb(ish);
    isb();
}

void arch_mmu_tlb_flush_all(void)
{
    dsb(ishst);
    __asm__ volatile("tlbi vmalle1is" ::: "memory");
    dsb(ish);
    isb();
}

uint64_t arch_mmu_unmap_page(uint64_t va)
{
    uint64_t pa;
    arch_mmu_unmap_pages(va, 1, &pa);
    return pa;
}

int arch_mmu_release_table(uint64_t va)
{
    uint64_t flags = spin_lock_irqsave(&mmu_lock);
    uint64_t *t = mmu_root_table, *e = NULL;
    for (int level = 0; level < 3; level++) {
        e = &t[(va >> level_shift(level)) & (PT_ENTRIES - 1)];
        if ((*e & 3) != (PTE_VALID | PTE_TABLE)) {
            spin_unlock_irqrestore(&mmu_lock, flags);
            return 0;   /* nothing there (or a block: not ours to drop) */
        }
        t = (uint64_t *)(*e & PTE_ADDR_MASK);
    }
    for (int i = 0; i < PT_ENTRIES; i++) {
        if (t[i]) {
            spin_unlock_irqrestore(&mmu_lock, flags);
            return -1;
        }
    }
    set_entry(e, 0);
    dsb(ishst);
    /* Not the last-level-only form: this also drops cached walks through e. */
    __asm__ volatile("tlbi vaae1is, %0" : : "r"(va >> 12) : "memory");
    dsb(ish);
    isb();
    if (!from_pool(t) && table_release)
        table_release(t);
    spin_unlock_irqrestore(&mmu_lock, flags);
    return 0;
}
