/*
 * The interrupt controller (GICv2 or GICv3) and interrupt specifiers.
 *
 * Choice: the root's interrupt-parent when it is a GIC, else the first enabled
 * GIC in DT order. Specifiers are <type number flags [ppi-partition]>, with
 * #interrupt-cells 3 or 4 (the 4th, GICv3 PPI partitions, is ignored).
 */
#include <libfdt.h>

#include "dt_internal.h"

static const char *const gic_v3_compat[] = {"arm,gic-v3"};
static const char *const gic_v2_compat[] = {
    "arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic", "arm,cortex-a7-gic",
    "arm,gic-v2",
};

#define NELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* 3 or 2 when node is an enabled GIC interrupt-controller, else 0. */
static int gic_version(const struct dt_ctx *c, int node)
{
    if (!fdt_getprop(c->fdt, node, "interrupt-controller", NULL) || !dt_okay(c, node))
        return 0;
    for (int i = 0; i < NELEMS(gic_v3_compat); i++)
        if (fdt_node_check_compatible(c->fdt, node, gic_v3_compat[i]) == 0)
            return 3;
    for (int i = 0; i < NELEMS(gic_v2_compat); i++)
        if (fdt_node_check_compatible(c->fdt, node, gic_v2_compat[i]) == 0)
            return 2;
    return 0;
}

/* Node a "interrupt-parent" property of node points at, or a negative value. */
static int phandle_target(const struct dt_ctx *c, int node)
{
    int len;
    const void *v = fdt_getprop(c->fdt, node, "interrupt-parent", &len);
    if (!v || len != 4)
        return -1;
    uint32_t ph = dt_be32(v);
    if (ph == 0 || ph == UINT32_MAX)
        return -1;
    return dt_node_by_phandle(c, ph);
}

static int find_gic(const struct dt_ctx *c)
{
    int node = phandle_target(c, c->root);
    if (node >= 0 && gic_version(c, node))
        return node;
    for (node = fdt_next_node(c->fdt, -1, NULL); node >= 0;
         node = fdt_next_node(c->fdt, node, NULL)) {
        if (gic_version(c, node))
            return node;
    }
    return -1;
}

static int gic_v3_redist(struct dt_ctx *c, int node, int nreg, struct plat_gic *g)
{
    char path[DT_PATH_LEN];
    uint32_t nr;
    bool present;
    if (dt_u32(c, node, "#redistributor-regions", 1, &nr) < 0 ||
        dt_u64(c, node, "redistributor-stride", &g->redist_stride, &present) < 0)
        return -1;
    if (nr == 0 || nr > PLAT_MAX_GICR)
        return dt_fail(c, "dt: %s: #redistributor-regions = %u, SR supports 1..%d",
                       dt_path(c, node, path, sizeof(path)), nr, PLAT_MAX_GICR);
    if (nreg < 1 + (int)nr)
        return dt_fail(c, "dt: %s: 'reg' has %d entries, GICv3 needs %u (GICD + %u GICR)",
                       dt_path(c, node, path, sizeof(path)), nreg, 1 + nr, nr);
    for (int i = 0; i < (int)nr; i++)
        if (dt_reg(c, node, 1 + i, &g->redist[i]) < 0)
            return -1;
    g->nredist = (int)nr;
    return 0;
}

int dt_gic(struct dt_ctx *c, struct platform *p)
{
    char path[DT_PATH_LEN];
    struct plat_gic *g = &p->gic;
    int node = find_gic(c);
    if (node < 0)
        return dt_fail(c, "dt: no interrupt controller (arm,gic-v3 / arm,gic-400 / "
                          "arm,cortex-a15-gic / arm,cortex-a9-gic)");
    g->version = gic_version(c, node);

    if (dt_u32(c, node, "#interrupt-cells", 3, &c->icells) < 0)
        return -1;
    if (c->icells != 3 && c->icells != 4)
        return dt_fail(c, "dt: %s: #interrupt-cells = %u, need 3 or 4",
                       dt_path(c, node, path, sizeof(path)), c->icells);

    int nreg = dt_reg_count(c, node);
    if (nreg < 0)
        return -1;
    if (dt_reg(c, node, 0, &g->dist) < 0)
        return -1;
    if (g->version == 3) {
        if (gic_v3_redist(c, node, nreg, g) < 0)
            return -1;
    } else {
        if (nreg < 2)
            return dt_fail(c, "dt: %s: 'reg' has %d entries, GICv2 needs 2 (GICD, GICC)",
                           dt_path(c, node, path, sizeof(path)), nreg);
        if (dt_reg(c, node, 1, &g->cpuif) < 0)
            return -1;
    }
    c->gic = node;
    c->gic_phandle = fdt_get_phandle(c->fdt, node);
    return 0;
}

/* One specifier's (type, number) as an INTID; -1 when out of range. */
static int to_intid(struct dt_ctx *c, int node, uint32_t type, uint32_t num, uint32_t *intid)
{
    /* Per type: {how many, first INTID}: SPI, PPI, extended SPI, extended PPI. */
    static const uint32_t kinds[4][2] = {{988, 32}, {16, 16}, {1024, 4096}, {64, 1056}};
    if (type < 4 && num < kinds[type][0]) {
        *intid = kinds[type][1] + num;
        return 0;
    }
    char path[DT_PATH_LEN];
    return dt_fail(c, "dt: %s: bad interrupt specifier <%u %u>",
                   dt_path(c, node, path, sizeof(path)), type, num);
}

/*
 * 1 when node's interrupt parent (inherited up the tree) is the GIC, or when no
 * node on the way up names one; 0 when it is another controller; -1 on error.
 */
static int parent_is_gic(struct dt_ctx *c, int node)
{
    for (int depth = 0; depth < DT_MAX_DEPTH; depth++) {
        int len;
        const void *ip = fdt_getprop(c->fdt, node, "interrupt-parent", &len);
        if (ip)   /* compare phandles: resolving one to a node walks the whole tree */
            return len == 4 && c->gic_phandle && dt_be32(ip) == c->gic_phandle ? 1 : 0;
        if (node == c->root)
            return 1;
        node = dt_parent(c, node);
        if (node < 0)
            return -1;
    }
    return 0;
}

int dt_irq(struct dt_ctx *c, int node, int idx, uint32_t *intid)
{
    char path[DT_PATH_LEN];
    int len;
    const uint8_t *v = fdt_getprop(c->fdt, node, "interrupts", &len);
    if (!v)
        return 1;
    int gic = parent_is_gic(c, node);
    if (gic < 0)
        return -1;
    if (!gic)
        return 1;
    int entry = (int)c->icells * 4;
    if (len % entry != 0)
        return dt_fail(c, "dt: %s: 'interrupts' has %d bytes, not a multiple of %d",
                       dt_path(c, node, path, sizeof(path)), len, entry);
    if (idx >= len / entry)
        return 1;
    const uint8_t *e = v + (size_t)idx * (size_t)entry;
    return to_intid(c, node, dt_be32(e), dt_be32(e + 4), intid);
}
