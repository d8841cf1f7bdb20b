/*
 * "reg" decoding and bus address translation.
 *
 * A node's reg is in its parent bus's address space (the parent's
 * #address-cells / #size-cells). Each bus maps its space into its own parent's
 * through "ranges": <child-addr parent-addr length> triples; an empty "ranges"
 * is the identity, and a bus without "ranges" is not mapped at all, in which
 * case the address is kept as it is (the best SR can do).
 */
#include <libfdt.h>

#include "dt_internal.h"

int dt_reg_count(struct dt_ctx *c, int node)
{
    char path[DT_PATH_LEN];
    int bus = dt_parent(c, node);
    uint32_t ac, sc;
    if (bus < 0 || dt_addr_cells(c, bus, &ac) < 0 || dt_size_cells(c, bus, &sc) < 0)
        return -1;

    int len;
    if (!fdt_getprop(c->fdt, node, "reg", &len))
        return 0;
    int entry = (int)(ac + sc) * 4;
    if (entry == 0)
        return dt_fail(c, "dt: %s: 'reg' under a bus with 0 address and size cells",
                       dt_path(c, node, path, sizeof(path)));
    if (len % entry != 0)
        return dt_fail(c, "dt: %s: 'reg' has %d bytes, not a multiple of %d",
                       dt_path(c, node, path, sizeof(path)), len, entry);
    return len / entry;
}

/* Maps addr through one bus's "ranges"; *stop when the bus has none. */
static int map_through(struct dt_ctx *c, int node, int bus, uint64_t *addr, bool *stop)
{
    char path[DT_PATH_LEN];
    int len;
    const uint8_t *ranges = fdt_getprop(c->fdt, bus, "ranges", &len);
    *stop = ranges == NULL;
    if (!ranges || len == 0)
        return 0;

    int parent = dt_parent(c, bus);
    uint32_t cac, csc, pac;
    if (parent < 0 || dt_addr_cells(c, bus, &cac) < 0 || dt_size_cells(c, bus, &csc) < 0 ||
        dt_addr_cells(c, parent, &pac) < 0)
        return -1;
    int entry = (int)(cac + pac + csc) * 4;
    if (entry == 0 || len % entry != 0)
        return dt_fail(c, "dt: %s: 'ranges' has %d bytes, not a multiple of %d",
                       dt_path(c, bus, path, sizeof(path)), len, entry);

    for (int off = 0; off < len; off += entry) {
        uint64_t child = dt_cells_value(ranges + off, cac);
        uint64_t target = dt_cells_value(ranges + off + 4 * cac, pac);
        uint64_t size = dt_cells_value(ranges + off + 4 * (cac + pac), csc);
        if (*addr >= child && *addr - child < size) {
            *addr = target + (*addr - child);
            return 0;
        }
    }
    char bpath[DT_PATH_LEN];
    return dt_fail(c, "dt: %s: address 0x%llx is outside the 'ranges' of %s",
                   dt_path(c, node, path, sizeof(path)), (unsigned long long)*addr,
                   dt_path(c, bus, bpath, sizeof(bpath)));
}

/* Translates addr, found in node's reg (bus = node's parent), to the root's space. */
static int translate(struct dt_ctx *c, int node, int bus, uint64_t *addr)
{
    for (int depth = 0; bus != c->root; depth++) {
        if (depth >= DT_MAX_DEPTH) {
            char path[DT_PATH_LEN];
            return dt_fail(c, "dt: %s: nested deeper than %d buses",
                           dt_path(c, node, path, sizeof(path)), DT_MAX_DEPTH);
        }
        bool stop;
        if (map_through(c, node, bus, addr, &stop) < 0)
            return -1;
        if (stop)
            return 0;
        bus = dt_parent(c, bus);
        if (bus < 0)
            return -1;
    }
    return 0;
}

int dt_reg(struct dt_ctx *c, int node, int idx, struct plat_range *r)
{
    char path[DT_PATH_LEN];
    int n = dt_reg_count(c, node);
    if (n < 0)
        return -1;
    if (idx >= n) {
        if (n == 0)
            return dt_fail(c, "dt: %s: missing 'reg'", dt_path(c, node, path, sizeof(path)));
        return dt_fail(c, "dt: %s: 'reg' has %d entries, need %d",
                       dt_path(c, node, path, sizeof(path)), n, idx + 1);
    }

    /* dt_reg_count() validated the bus cells and the length. */
    int bus = dt_parent(c, node);
    uint32_t ac, sc;
    dt_addr_cells(c, bus, &ac);
    dt_size_cells(c, bus, &sc);
    const uint8_t *reg = fdt_getprop(c->fdt, node, "reg", NULL);
    const uint8_t *e = reg + (size_t)idx * 4 * (ac + sc);
    r->base = dt_cells_value(e, ac);
    r->size = dt_cells_value(e + 4 * ac, sc);
    if (translate(c, node, bus, &r->base) < 0)
        return -1;
    if (r->size > UINT64_MAX - r->base)
        r->size = 0 - r->base;  /* clamp to end at 2^64 */
    return 0;
}
