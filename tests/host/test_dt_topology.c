/*
 * Topology, capacity classes, enable methods, memory layout and address
 * translation on the purpose-built fixtures (tests/host/fixtures).
 */
#include <stdlib.h>

#include <kernel/platform.h>
#include <libfdt.h>

#include "host_test.h"

static struct platform plat;
static struct plat_error err;

static bool discover_blob(void *blob, size_t size, const char *what)
{
    if (!blob)
        return false;
    if (platform_discover(blob, size, &plat, &err) != 0) {
        test_fail(__FILE__, __LINE__, "%s: %s", what, err.msg);
        return false;
    }
    return true;
}

/* Discovers fixture `name`; false (after a failure) when it does not parse. */
static bool discover(const char *name)
{
    size_t size = 0;
    void *blob = host_fixture_load(name, &size);
    bool ok = discover_blob(blob, size, name);
    free(blob);
    return ok;
}

TEST(dt_topology, cpu_map_order_not_node_order)
{
    if (!discover("bl-reversed.dtb"))
        return;
    EXPECT_EQ(plat.ncpus, 4);
    EXPECT_EQ(plat.nclusters, 2);
    /* cpu nodes: little0, little1, big0, big1; cpu-map: big cluster first. */
    EXPECT_EQ(plat.cpus[0].cluster, 1);
    EXPECT_EQ(plat.cpus[1].cluster, 1);
    EXPECT_EQ(plat.cpus[2].cluster, 0);
    EXPECT_EQ(plat.cpus[3].cluster, 0);
    EXPECT_EQ(plat.cpus[0].capacity, 512);
    EXPECT_EQ(plat.cpus[2].capacity, 1024);
    EXPECT_EQ(plat.cpus[0].cls, PLAT_CLASS_EFFICIENCY);
    EXPECT_EQ(plat.cpus[3].cls, PLAT_CLASS_PERFORMANCE);
    EXPECT_EQ(plat.cpus[3].mpidr, 0x101);
    EXPECT_TRUE(!plat.cpus[0].has_power_coeff);
    /* Optional parts absent: not errors. */
    EXPECT_EQ(plat.psci, PLAT_PSCI_NONE);
    EXPECT_TRUE(!plat.console.present);
    EXPECT_EQ(plat.nvirtio, 0);
    EXPECT_EQ(plat.gic.version, 2);
    EXPECT_EQ(plat.timer.clock_frequency, 24000000);
}

TEST(dt_topology, three_levels_nested_clusters)
{
    if (!discover("three-level.dtb"))
        return;
    /* little0, little1, big0, big1, prime, stray (cpu@20001 is disabled). */
    EXPECT_EQ(plat.ncpus, 6);
    EXPECT_EQ(plat.cpus[4].mpidr, 0x20000);
    EXPECT_EQ(plat.cpus[5].mpidr, 0x30000);
    /* Normalised to the largest (1200): 380 -> 324, 900 -> 768. */
    static const uint32_t cap[6] = {324, 324, 768, 768, 1024, 768};
    static const enum plat_cpu_class cls[6] = {
        PLAT_CLASS_EFFICIENCY, PLAT_CLASS_EFFICIENCY, PLAT_CLASS_MID,
        PLAT_CLASS_MID,        PLAT_CLASS_PERFORMANCE, PLAT_CLASS_MID};
    /* Leaf clusters in cpu-map order; the SMT core's threads share one; the
     * unmapped cpu gets a fresh cluster after them. */
    static const int cluster[6] = {0, 0, 1, 1, 2, 3};
    for (int i = 0; i < 6; i++) {
        EXPECT_EQ(plat.cpus[i].capacity, cap[i]);
        EXPECT_EQ(plat.cpus[i].cls, cls[i]);
        EXPECT_EQ(plat.cpus[i].cluster, cluster[i]);
    }
    EXPECT_EQ(plat.nclusters, 4);
    EXPECT_STREQ(platform_class_name(plat.cpus[0].cls), "efficiency");
    EXPECT_STREQ(platform_class_name(plat.cpus[2].cls), "mid");
    EXPECT_STREQ(platform_class_name(plat.cpus[4].cls), "performance");
    EXPECT_EQ(plat.psci, PLAT_PSCI_HVC);
    /* Two redistributor regions and a stride. */
    EXPECT_EQ(plat.gic.version, 3);
    EXPECT_EQ(plat.gic.nredist, 2);
    EXPECT_EQ(plat.gic.redist[0].base, 0x10100000);
    EXPECT_EQ(plat.gic.redist[1].base, 0x10200000);
    EXPECT_EQ(plat.gic.redist_stride, 0x40000);
    EXPECT_EQ(plat.mem[0].size, 0x100000000ull);
}

TEST(dt_topology, no_capacity_is_uniform)
{
    if (!discover("no-capacity.dtb"))
        return;
    EXPECT_EQ(plat.ncpus, 2);
    EXPECT_EQ(plat.nclusters, 1);
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(plat.cpus[i].capacity, 1024);
        EXPECT_EQ(plat.cpus[i].cluster, 0);
        EXPECT_EQ(plat.cpus[i].cls, PLAT_CLASS_PERFORMANCE);
    }
    EXPECT_EQ(plat.psci, PLAT_PSCI_SMC);        /* compatible "arm,psci" only */
    EXPECT_EQ(plat.gic.version, 2);             /* arm,cortex-a15-gic */
    EXPECT_EQ(plat.timer.virt_irq, 27);         /* arm,armv7-timer */
    EXPECT_STREQ(plat.model, "vendor,plain");  /* no model: first compatible */
}

TEST(dt_topology, partial_capacity_is_ignored)
{
    void *fdt = host_fixture_edit("no-capacity.dtb", 256);
    if (!fdt)
        return;
    int cpu1 = fdt_path_offset(fdt, "/cpus/cpu@1");
    EXPECT_EQ(fdt_setprop_u32(fdt, cpu1, "capacity-dmips-mhz", 500), 0);
    if (discover_blob(fdt, fdt_totalsize(fdt), "partial")) {
        EXPECT_EQ(plat.cpus[0].capacity, 1024);
        EXPECT_EQ(plat.cpus[1].capacity, 1024);
        EXPECT_EQ(plat.cpus[1].dmips_mhz, 500);
        EXPECT_EQ(plat.cpus[1].cls, PLAT_CLASS_PERFORMANCE);
    }
    free(fdt);
}

TEST(dt_topology, spin_table_and_one_cell_buses)
{
    if (!discover("spin-table.dtb"))
        return;
    EXPECT_EQ(plat.ncpus, 3);  /* cpu@3 is disabled */
    EXPECT_EQ(plat.cpus[0].enable, PLAT_ENABLE_SPIN_TABLE);
    EXPECT_EQ(plat.cpus[0].release_addr, 0x8000fff8);
    EXPECT_EQ(plat.cpus[1].enable, PLAT_ENABLE_SPIN_TABLE);
    EXPECT_EQ(plat.cpus[1].release_addr, 0x10000fff0ull);
    EXPECT_EQ(plat.cpus[2].enable, PLAT_ENABLE_NONE);
    EXPECT_EQ(plat.cpus[2].capacity, 1024);
    EXPECT_EQ(plat.psci, PLAT_PSCI_NONE);
    EXPECT_STREQ(plat.model, "vendor,spin-board");
}

TEST(dt_topology, memory_sorted_zero_and_disabled_skipped)
{
    if (!discover("spin-table.dtb"))
        return;
    EXPECT_EQ(plat.nmem, 3);
    EXPECT_EQ(plat.mem[0].base, 0x80000000);
    EXPECT_EQ(plat.mem[0].size, 0x08000000);
    EXPECT_EQ(plat.mem[1].base, 0x90000000);
    EXPECT_EQ(plat.mem[1].size, 0x08000000);
    EXPECT_EQ(plat.mem[2].base, 0xc0000000);
    EXPECT_EQ(plat.mem[2].size, 0x10000000);
}

TEST(dt_topology, disabled_gic_skipped_legacy_stdout)
{
    if (!discover("spin-table.dtb"))
        return;
    EXPECT_EQ(plat.gic.version, 2);
    EXPECT_EQ(plat.gic.dist.base, 0x01c81000);
    EXPECT_EQ(plat.gic.cpuif.base, 0x01c82000);
    EXPECT_TRUE(plat.console.present);
    EXPECT_STREQ(plat.console.path, "/soc/uart@1c28000");
    EXPECT_STREQ(plat.console.compatible, "ns16550a");
    EXPECT_EQ(plat.console.baud, 0);  /* no options */
    EXPECT_EQ(plat.console.irq, 32);
    EXPECT_EQ(plat.console.reg_shift, 2);
    EXPECT_EQ(plat.console.reg_io_width, 4);
    EXPECT_EQ(plat.console.clock_hz, 24000000);
    EXPECT_EQ(plat.nvirtio, 1);  /* the disabled one is skipped */
    EXPECT_EQ(plat.virtio[0].reg.base, 0x01c30200);
    EXPECT_EQ(plat.virtio[0].irq, 38);
}

TEST(dt_translate, gic_uart_virtio_behind_buses)
{
    if (!discover("gic-bus.dtb"))
        return;
    EXPECT_EQ(plat.gic.version, 3);
    EXPECT_EQ(plat.gic.dist.base, 0xf1000000);
    EXPECT_EQ(plat.gic.dist.size, 0x10000);
    EXPECT_EQ(plat.gic.redist[0].base, 0xf1100000);
    EXPECT_TRUE(plat.console.present);
    EXPECT_STREQ(plat.console.path, "/soc/apb/uart@3000");
    EXPECT_EQ(plat.console.reg.base, 0xf2003000);
    EXPECT_EQ(plat.console.irq, 65);
    EXPECT_EQ(plat.console.baud, 115200);
    EXPECT_EQ(plat.console.clock_hz, 24000000);
    EXPECT_EQ(plat.nvirtio, 2);
    EXPECT_EQ(plat.virtio[0].reg.base, 0xf4000000);
    EXPECT_EQ(plat.virtio[1].reg.base, 0x5000);  /* bus without ranges: kept */
    EXPECT_EQ(plat.virtio[1].irq, 73);
    EXPECT_EQ(plat.mem[0].base, 0);
}

TEST(dt_translate, outside_ranges_is_an_error)
{
    void *fdt = host_fixture_edit("gic-bus.dtb", 256);
    if (!fdt)
        return;
    int uart = fdt_path_offset(fdt, "/soc/apb/uart@3000");
    fdt32_t reg[2] = {cpu_to_fdt32(0x200000), cpu_to_fdt32(0x1000)};
    EXPECT_EQ(fdt_setprop(fdt, uart, "reg", reg, sizeof(reg)), 0);
    EXPECT_EQ(platform_discover(fdt, fdt_totalsize(fdt), &plat, &err), -1);
    EXPECT_CONTAINS(err.msg, "dt: /soc/apb/uart@3000: address 0x200000 is outside");
    free(fdt);
}

TEST(dt_console, alias_with_subpath)
{
    void *fdt = host_fixture_edit("gic-bus.dtb", 256);
    if (!fdt)
        return;
    int chosen = fdt_path_offset(fdt, "/chosen");
    EXPECT_EQ(fdt_setprop_string(fdt, chosen, "stdout-path", "apbbus/uart@3000:9600n8"), 0);
    if (discover_blob(fdt, fdt_totalsize(fdt), "alias/subpath")) {
        EXPECT_TRUE(plat.console.present);
        EXPECT_EQ(plat.console.reg.base, 0xf2003000);
        EXPECT_EQ(plat.console.baud, 9600);
    }
    free(fdt);
}

TEST(dt_console, unresolvable_or_disabled_is_absent)
{
    static const char *const paths[] = {"nosuchalias:115200", "/nosuch@0", "", ":115200",
                                        "serial0x"};
    for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        void *fdt = host_fixture_edit("gic-bus.dtb", 256);
        if (!fdt)
            return;
        int chosen = fdt_path_offset(fdt, "/chosen");
        EXPECT_EQ(fdt_setprop_string(fdt, chosen, "stdout-path", paths[i]), 0);
        if (discover_blob(fdt, fdt_totalsize(fdt), paths[i]))
            EXPECT_TRUE(!plat.console.present);
        free(fdt);
    }
    void *fdt = host_fixture_edit("gic-bus.dtb", 256);
    if (!fdt)
        return;
    int uart = fdt_path_offset(fdt, "/soc/apb/uart@3000");
    EXPECT_EQ(fdt_setprop_string(fdt, uart, "status", "disabled"), 0);
    if (discover_blob(fdt, fdt_totalsize(fdt), "disabled uart"))
        EXPECT_TRUE(!plat.console.present);
    free(fdt);
}

TEST(dt_minimal, smallest_accepted_tree)
{
    if (!discover("minimal.dtb"))
        return;
    EXPECT_EQ(plat.ncpus, 1);
    EXPECT_EQ(plat.cpus[0].enable, PLAT_ENABLE_NONE);
    EXPECT_STREQ(plat.cpus[0].compatible, "");
    EXPECT_EQ(plat.nclusters, 1);
    EXPECT_EQ(plat.psci, PLAT_PSCI_NONE);
    EXPECT_TRUE(!plat.console.present);
    EXPECT_EQ(plat.gic.version, 3);
    EXPECT_EQ(plat.gic.nredist, 1);
}

/* Class comes from capacity alone: within 10% of the largest is performance. */
TEST(dt_topology, class_within_ten_percent_of_largest)
{
    static const struct {
        uint32_t dmips1;
        enum plat_cpu_class cls1;
    } cases[] = {
        {1024, PLAT_CLASS_PERFORMANCE}, /* equal */
        {922, PLAT_CLASS_PERFORMANCE},  /* 922/1024 = 90.04% */
        {921, PLAT_CLASS_EFFICIENCY},   /* 89.9%: below the band, the smallest */
        {485, PLAT_CLASS_EFFICIENCY},   /* RK3399's A53 against its A72 */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        void *fdt = host_fixture_edit("no-capacity.dtb", 256);
        if (!fdt)
            return;
        EXPECT_EQ(fdt_setprop_u32(fdt, fdt_path_offset(fdt, "/cpus/cpu@0"),
                                  "capacity-dmips-mhz", 1024), 0);
        EXPECT_EQ(fdt_setprop_u32(fdt, fdt_path_offset(fdt, "/cpus/cpu@1"),
                                  "capacity-dmips-mhz", cases[i].dmips1), 0);
        if (discover_blob(fdt, fdt_totalsize(fdt), "ten-percent")) {
            EXPECT_EQ(plat.cpus[0].cls, PLAT_CLASS_PERFORMANCE);
            EXPECT_EQ(plat.cpus[1].cls, cases[i].cls1);
        }
        free(fdt);
    }
}
