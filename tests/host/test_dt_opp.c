/*
 * Operating points from operating-points-v2 (kernel/platform/dt_opp.c): the
 * RK3399 fixture's two tables (as in Debian's rk3399-rockpro64.dtb), the
 * qemu-virt-bl board's RK3588 tables, and what a broken table does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kernel/platform.h>
#include <libfdt.h>

#include "host_test.h"

static struct platform plat;
static struct plat_error err;

static const struct plat_opp rk3399_little[6] = {
    {408, 825000}, {600, 825000}, {816, 850000}, {1008, 925000}, {1200, 1000000}, {1416, 1125000},
};
static const struct plat_opp rk3399_big[8] = {
    {408, 825000},  {600, 825000},   {816, 825000},   {1008, 875000},
    {1200, 950000}, {1416, 1025000}, {1608, 1100000}, {1800, 1200000},
};

TEST(dt_opp, rk3399_tables_sorted_disabled_skipped_shared_per_cluster)
{
    size_t size;
    void *blob = host_fixture_load("rk3399.dtb", &size);
    if (!blob)
        return;
    EXPECT_EQ(platform_discover(blob, size, &plat, &err), 0);
    for (int i = 0; i < 6; i++) {
        const struct plat_cpu *c = &plat.cpus[i];
        bool big = i >= 4;
        const struct plat_opp *want = big ? rk3399_big : rk3399_little;
        EXPECT_EQ(c->nopps, big ? 8 : 6);   /* the disabled 2 GHz entry is skipped */
        for (int k = 0; k < c->nopps; k++) {
            EXPECT_EQ(c->opps[k].mhz, want[k].mhz);
            EXPECT_EQ(c->opps[k].uv, want[k].uv);
        }
        EXPECT_NE(c->opp_table, 0);
        EXPECT_EQ(c->opp_table, plat.cpus[big ? 4 : 0].opp_table);
    }
    EXPECT_NE(plat.cpus[0].opp_table, plat.cpus[4].opp_table);
    free(blob);
}

TEST(dt_opp, qemu_virt_bl_has_rk3588_tables)
{
    size_t size;
    void *blob = host_fixture_load("qemu-virt-bl.dtb", &size);
    if (!blob)
        return;
    EXPECT_EQ(platform_discover(blob, size, &plat, &err), 0);
    EXPECT_EQ(plat.cpus[0].nopps, 5);
    EXPECT_EQ(plat.cpus[0].opps[0].mhz, 1008);
    EXPECT_EQ(plat.cpus[0].opps[0].uv, 675000);
    EXPECT_EQ(plat.cpus[0].opps[1].uv, 712500);
    EXPECT_EQ(plat.cpus[3].opps[4].mhz, 1800);
    EXPECT_EQ(plat.cpus[7].nopps, 7);
    EXPECT_EQ(plat.cpus[7].opps[6].mhz, 2400);
    EXPECT_EQ(plat.cpus[7].opps[6].uv, 1000000);
    EXPECT_EQ(plat.cpus[4].opp_table, plat.cpus[7].opp_table);
    EXPECT_NE(plat.cpus[0].opp_table, plat.cpus[4].opp_table);
    free(blob);
}

/* The fixture opened into a larger buffer, for edits. */
static void *editable(size_t *size)
{
    void *blob = host_fixture_load("rk3399.dtb", size);
    if (!blob)
        return NULL;
    size_t big = *size + 4096;
    void *out = malloc(big);
    if (out && fdt_open_into(blob, out, (int)big) != 0) {
        free(out);
        out = NULL;
    }
    free(blob);
    *size = big;
    return out;
}

TEST(dt_opp, an_unreadable_entry_drops_the_table_a_dangling_phandle_fails)
{
    size_t size;
    void *blob = editable(&size);
    if (!blob)
        return;
    int node = fdt_path_offset(blob, "/opp-table-1/opp-1008000000");
    EXPECT_TRUE(node >= 0);
    EXPECT_EQ(fdt_delprop(blob, node, "opp-microvolt"), 0);
    EXPECT_EQ(platform_discover(blob, size, &plat, &err), 0);
    EXPECT_EQ(plat.cpus[0].nopps, 6);
    EXPECT_EQ(plat.cpus[4].nopps, 0);   /* no guessing at a voltage: one OPP in the model */
    EXPECT_EQ(plat.cpus[4].opp_table, 0);

    int cpu = fdt_path_offset(blob, "/cpus/cpu@100");
    EXPECT_TRUE(cpu >= 0);
    EXPECT_EQ(fdt_setprop_u32(blob, cpu, "operating-points-v2", 0xdead), 0);
    EXPECT_EQ(platform_discover(blob, size, &plat, &err), -1);
    EXPECT_CONTAINS(err.msg, "/cpus/cpu@100: operating-points-v2 <0xdead> names no node");
    free(blob);
}

TEST(dt_opp, more_entries_than_fit_keep_the_highest)
{
    size_t size;
    void *blob = editable(&size);
    if (!blob)
        return;
    int table = fdt_path_offset(blob, "/opp-table-1");
    EXPECT_TRUE(table >= 0);
    for (int k = 0; k < 12; k++) {   /* 8 + 12 entries: twelve low ones (100..111 MHz) added */
        char name[32];
        snprintf(name, sizeof(name), "opp-extra%d", k);
        int n = fdt_add_subnode(blob, table, name);
        EXPECT_TRUE(n >= 0);
        EXPECT_EQ(fdt_setprop_u64(blob, n, "opp-hz", (uint64_t)(100 + k) * 1000000), 0);
        EXPECT_EQ(fdt_setprop_u32(blob, n, "opp-microvolt", 800000), 0);
    }
    EXPECT_EQ(platform_discover(blob, size, &plat, &err), 0);
    EXPECT_EQ(plat.cpus[4].nopps, PLAT_MAX_OPPS);
    EXPECT_EQ(plat.cpus[4].opps[PLAT_MAX_OPPS - 1].mhz, 1800);
    EXPECT_EQ(plat.cpus[4].opps[PLAT_MAX_OPPS - 8].mhz, 408);
    EXPECT_EQ(plat.cpus[4].opps[0].mhz, 100 + 12 - (PLAT_MAX_OPPS - 8));
    free(blob);
}
