/*
 * RAM and reserved memory: every enabled node with device_type = "memory",
 * the /memreserve/ block, and the reg of /reserved-memory children. Ranges of
 * size 0 are dropped; both lists come out sorted by base.
 */
#include <libfdt.h>

#include "dt_internal.h"

static void sort_ranges(struct plat_range *r, int n)
{
    for (int i = 1; i < n; i++) {
        struct plat_range v = r[i];
        int j = i;
        for (; j > 0 && r[j - 1].base > v.base; j--)
            r[j] = r[j - 1];
        r[j] = v;
    }
}

/* Appends every non-empty reg entry of node to list[*n], at most max. */
static int add_reg(struct dt_ctx *c, int node, struct plat_range *list, int *n, int max,
                   const char *what)
{
    int count = dt_reg_count(c, node);
    if (count < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        struct plat_range r;
        if (dt_reg(c, node, i, &r) < 0)
            return -1;
        if (r.size == 0)
            continue;
        if (*n >= max) {
            char path[DT_PATH_LEN];
            return dt_fail(c, "dt: %s: more than %d %s ranges",
                           dt_path(c, node, path, sizeof(path)), max, what);
        }
        list[(*n)++] = r;
    }
    return 0;
}

int dt_memory(struct dt_ctx *c, struct platform *p)
{
    bool found = false;
    for (int node = fdt_next_node(c->fdt, -1, NULL); node >= 0;
         node = fdt_next_node(c->fdt, node, NULL)) {
        if (!dt_prop_is(c, node, "device_type", "memory") || !dt_okay(c, node))
            continue;
        found = true;
        if (add_reg(c, node, p->mem, &p->nmem, PLAT_MAX_MEM, "memory") < 0)
            return -1;
    }
    if (!found && (c->flags & PLAT_DISCOVER_MEMORY_OPTIONAL))
        return 0;
    if (!found)
        return dt_fail(c, "dt: no memory node (device_type = \"memory\")");
    if (p->nmem == 0)
        return dt_fail(c, "dt: memory: every 'reg' range has size 0");
    sort_ranges(p->mem, p->nmem);
    return 0;
}

int dt_reserved(struct dt_ctx *c, struct platform *p)
{
    int nrsv = fdt_num_mem_rsv(c->fdt);
    if (nrsv < 0)
        return dt_fail(c, "dt: /memreserve/: %s", fdt_strerror(nrsv));
    for (int i = 0; i < nrsv; i++) {
        struct plat_range r;
        int rc = fdt_get_mem_rsv(c->fdt, i, &r.base, &r.size);
        if (rc < 0)
            return dt_fail(c, "dt: /memreserve/ entry %d: %s", i, fdt_strerror(rc));
        if (r.size == 0)
            continue;
        if (r.size > UINT64_MAX - r.base)
            r.size = 0 - r.base;
        if (p->nreserved >= PLAT_MAX_RESERVED)
            return dt_fail(c, "dt: /memreserve/: more than %d reserved ranges",
                           PLAT_MAX_RESERVED);
        p->reserved[p->nreserved++] = r;
    }

    /* Children of /reserved-memory with a fixed reg; "size"-only ones are dynamic. */
    int rm = fdt_path_offset(c->fdt, "/reserved-memory");
    if (rm >= 0) {
        int node;
        fdt_for_each_subnode(node, c->fdt, rm) {
            if (!dt_okay(c, node) || !fdt_getprop(c->fdt, node, "reg", NULL))
                continue;
            if (add_reg(c, node, p->reserved, &p->nreserved, PLAT_MAX_RESERVED,
                        "reserved") < 0)
                return -1;
        }
    }
    sort_ranges(p->reserved, p->nreserved);
    return 0;
}
