/*
 * A cpu's operating points from its operating-points-v2 table: the enabled
 * opp nodes with opp-hz and opp-microvolt, ascending frequency. A table the
 * cpu does not point at, or whose entries lack either property, leaves the
 * cpu without OPPs (nopps = 0): the core model then keeps one operating point.
 */
#include <string.h>

#include <libfdt.h>

#include "dt_internal.h"

/* Inserts o into the ascending list; with the list full, the lowest goes. */
static void insert(struct plat_cpu *cpu, struct plat_opp o)
{
    if (cpu->nopps == PLAT_MAX_OPPS) {
        if (o.mhz <= cpu->opps[0].mhz)
            return;
        memmove(&cpu->opps[0], &cpu->opps[1], sizeof(cpu->opps[0]) * (PLAT_MAX_OPPS - 1));
        cpu->nopps--;
    }
    int i = cpu->nopps;
    while (i > 0 && cpu->opps[i - 1].mhz > o.mhz) {
        cpu->opps[i] = cpu->opps[i - 1];
        i--;
    }
    cpu->opps[i] = o;
    cpu->nopps++;
}

int dt_cpu_opps(struct dt_ctx *c, int cpu_node, struct plat_cpu *cpu)
{
    char path[DT_PATH_LEN];
    cpu->nopps = 0;
    cpu->opp_table = 0;
    uint32_t phandle;
    if (dt_u32(c, cpu_node, "operating-points-v2", 0, &phandle) < 0)
        return -1;
    if (phandle == 0)
        return 0;
    int table = dt_node_by_phandle(c, phandle);
    if (table < 0)
        return dt_fail(c, "dt: %s: operating-points-v2 <0x%x> names no node",
                       dt_path(c, cpu_node, path, sizeof(path)), phandle);
    int node;
    fdt_for_each_subnode(node, c->fdt, table) {
        if (!dt_okay(c, node))
            continue;
        int hz_len, uv_len;
        const void *hz = fdt_getprop(c->fdt, node, "opp-hz", &hz_len);
        const void *uv = fdt_getprop(c->fdt, node, "opp-microvolt", &uv_len);
        if (!hz || !uv || (hz_len != 4 && hz_len != 8) || uv_len < 4) {
            cpu->nopps = 0;   /* an entry we cannot read: no table at all */
            return 0;
        }
        uint64_t mhz = dt_cells_value(hz, (uint32_t)hz_len / 4) / 1000000;
        if (mhz == 0 || mhz > UINT32_MAX)
            continue;
        insert(cpu, (struct plat_opp){(uint32_t)mhz, dt_be32(uv)});
    }
    if (cpu->nopps)
        cpu->opp_table = phandle;
    return 0;
}
