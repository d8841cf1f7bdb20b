/*
 * platform_usable_memory(): RAM (merged memory ranges) minus holes (reserved
 * ranges and the caller's extra ranges), then shrunk inward to 4 KiB pages.
 *
 * Ranges are handled as inclusive spans [first, last] so one that ends at
 * exactly 2^64 is representable; a {base, size} whose end would wrap is
 * clamped to end there. Holes may overlap each other, be unsorted and extend
 * outside RAM. No allocation: the only scratch is PLAT_MAX_MEM spans.
 */
#include <kernel/platform.h>

#define PAGE_MASK 0xfffull

struct span {
    uint64_t first, last;
};

struct out_list {
    struct plat_range *r;
    int n, max;
};

static bool to_span(const struct plat_range *r, struct span *s)
{
    if (r->size == 0)
        return false;
    s->first = r->base;
    s->last = r->size - 1 > UINT64_MAX - r->base ? UINT64_MAX : r->base + (r->size - 1);
    return true;
}

/* Sorted, merged (overlapping or adjacent joined) RAM spans; returns the count. */
static int ram_spans(const struct platform *plat, struct span *ram)
{
    int nmem = plat->nmem < 0 ? 0 : plat->nmem > PLAT_MAX_MEM ? PLAT_MAX_MEM : plat->nmem;
    int n = 0;
    for (int i = 0; i < nmem; i++) {
        struct span s;
        if (!to_span(&plat->mem[i], &s))
            continue;
        int j = n++;
        for (; j > 0 && ram[j - 1].first > s.first; j--)
            ram[j] = ram[j - 1];
        ram[j] = s;
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && (ram[m - 1].last == UINT64_MAX || ram[i].first <= ram[m - 1].last + 1)) {
            if (ram[i].last > ram[m - 1].last)
                ram[m - 1].last = ram[i].last;
        } else {
            ram[m++] = ram[i];
        }
    }
    return m;
}

/* Appends [first, last] shrunk to whole pages; false once the output is full. */
static bool emit(struct out_list *o, uint64_t first, uint64_t last)
{
    if (first & PAGE_MASK) {
        if (first > UINT64_MAX - PAGE_MASK)
            return true;
        first = (first | PAGE_MASK) + 1;
    }
    if (last != UINT64_MAX && ((last + 1) & PAGE_MASK)) {
        uint64_t end = (last + 1) & ~PAGE_MASK;
        if (end == 0)
            return true;
        last = end - 1;
    }
    if (first > last)
        return true;
    if (first == 0 && last == UINT64_MAX)
        last -= PAGE_MASK + 1;  /* a size of 2^64 does not fit: drop the top page */
    if (o->n >= o->max)
        return false;
    o->r[o->n++] = (struct plat_range){first, last - first + 1};
    return o->n < o->max;
}

struct holes {
    const struct plat_range *a, *b;
    int na, nb;
};

/* The hole with the lowest first among those meeting [from, to]; false if none. */
static bool next_hole(const struct holes *h, uint64_t from, uint64_t to, struct span *best)
{
    bool found = false;
    for (int i = 0; i < h->na + h->nb; i++) {
        struct span s;
        if (!to_span(i < h->na ? &h->a[i] : &h->b[i - h->na], &s))
            continue;
        if (s.last < from || s.first > to)
            continue;
        if (!found || s.first < best->first)
            *best = s;
        found = true;
    }
    return found;
}

int platform_usable_memory(const struct platform *plat, const struct plat_range *extra,
                           int nextra, struct plat_range *out, int max)
{
    if (!plat || !out || max <= 0)
        return 0;
    int nres = plat->nreserved < 0 ? 0
             : plat->nreserved > PLAT_MAX_RESERVED ? PLAT_MAX_RESERVED : plat->nreserved;
    struct holes h = {plat->reserved, extra, nres, extra && nextra > 0 ? nextra : 0};
    struct out_list o = {out, 0, max};
    struct span ram[PLAT_MAX_MEM];
    int nram = ram_spans(plat, ram);

    for (int i = 0; i < nram; i++) {
        uint64_t cur = ram[i].first, last = ram[i].last;
        for (;;) {
            struct span hole = {0, 0};
            if (!next_hole(&h, cur, last, &hole)) {
                if (!emit(&o, cur, last))
                    return o.n;
                break;
            }
            if (hole.first > cur && !emit(&o, cur, hole.first - 1))
                return o.n;
            if (hole.last >= last)
                break;
            cur = hole.last + 1;
        }
    }
    return o.n;
}
