/*
 * Identity-mapped translation tables: 48-bit VA, 4 KiB granule, levels 0-3.
 * Tables come from a static pool (no allocator exists this early). Mappings
 * use the largest block that fits (1 GiB at level 1, 2 MiB at level 2), so
 * RAM costs a few tables while the image gets 4 KiB pages for W^X.
 *
 * Invariant: an entry, once valid, is never changed. A request that would
 * change one (different attributes, or a block where a table is needed) fails.
 */
#include <string.h>
#include <arch/boot.h>
#include <arch/mmu.h>
#include <arch/sysreg.h>

#define PT_ENTRIES     512
#define PT_POOL_PAGES  96
#define PAGE_SIZE      4096ULL

uint64_t mmu_root_table[PT_ENTRIES] __attribute__((aligned(4096)));
static uint64_t pt_pool[PT_POOL_PAGES][PT_ENTRIES] __attribute__((aligned(4096)));
static int pt_used;

static const uint64_t type_attrs[] = {
    [MMU_RAM] = PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_PXN | PTE_UXN,
    [MMU_TEXT] = PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_AP_RO | PTE_UXN,
    [MMU_RODATA] = PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_AP_RO | PTE_PXN | PTE_UXN,
    [MMU_DEVICE] = PTE_ATTR(MT_DEVICE_nGnRE) | PTE_AF | PTE_PXN | PTE_UXN,
};

static uint64_t *pt_alloc(void)
{
    if (pt_used == PT_POOL_PAGES)
        return NULL;
    return pt_pool[pt_used++];   /* BSS: already zero */
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
            *e = desc;
        } else {
            uint64_t *sub;
            if (!*e) {
                sub = pt_alloc();
                if (!sub)
                    return -1;
                *e = (uint64_t)sub | PTE_VALID | PTE_TABLE;
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
    int rc = map_level(mmu_root_table, 0, start, end, type_attrs[type]);
    dsb(ishst);
    isb();
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
