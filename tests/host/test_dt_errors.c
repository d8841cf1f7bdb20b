/*
 * platform_discover() failures: each returns -1 with a message that names
 * the node (or the missing part) and what is wrong.
 */
#include <stdio.h>
#include <stdlib.h>

#include <kernel/platform.h>
#include <libfdt.h>

#include "host_test.h"

static struct platform plat;
static struct plat_error err;

/* The error message of discovering fdt, or a marker when it did not fail. */
static const char *fail_msg(const void *fdt, size_t size)
{
    int rc = platform_discover(fdt, size, &plat, &err);
    if (rc == 0)
        return "(discovery succeeded)";
    if (rc != -1)
        return "(discovery returned neither 0 nor -1)";
    return err.msg;
}

static const char *fixture_msg(const char *name)
{
    static char msg[PLAT_ERR_LEN];
    size_t size;
    void *blob = host_fixture_load(name, &size);
    if (!blob)
        return "(no fixture)";
    snprintf(msg, sizeof(msg), "%s", fail_msg(blob, size));
    free(blob);
    return msg;
}

/* An editable copy of `name` with `prop` of node `path` set to `len` bytes of `val`. */
static void *with_prop(const char *name, const char *path, const char *prop,
                       const void *val, int len)
{
    void *fdt = host_fixture_edit(name, 1024);
    if (!fdt)
        return NULL;
    int node = fdt_path_offset(fdt, path);
    int rc = node < 0 ? node : fdt_setprop(fdt, node, prop, val, len);
    if (rc != 0) {
        test_fail(__FILE__, __LINE__, "edit %s %s: %s", path, prop, fdt_strerror(rc));
        free(fdt);
        return NULL;
    }
    return fdt;
}

static void *without_prop(const char *name, const char *path, const char *prop)
{
    void *fdt = host_fixture_edit(name, 0);
    if (!fdt)
        return NULL;
    int node = fdt_path_offset(fdt, path);
    int rc = node < 0 ? node : fdt_delprop(fdt, node, prop);
    if (rc != 0) {
        test_fail(__FILE__, __LINE__, "delete %s %s: %s", path, prop, fdt_strerror(rc));
        free(fdt);
        return NULL;
    }
    return fdt;
}

#define EXPECT_EDIT_FAILS(fdt, needle)                              \
    do {                                                            \
        void *f_ = (fdt);                                           \
        if (f_) {                                                   \
            EXPECT_CONTAINS(fail_msg(f_, fdt_totalsize(f_)), needle); \
            free(f_);                                               \
        }                                                           \
    } while (0)

TEST(dt_errors, missing_parts_are_named)
{
    EXPECT_CONTAINS(fixture_msg("missing-memory.dtb"), "dt: no memory node");
    EXPECT_CONTAINS(fixture_msg("missing-cpus.dtb"), "dt: no /cpus node");
    EXPECT_CONTAINS(fixture_msg("missing-gic.dtb"), "dt: no interrupt controller (arm,gic-v3");
    EXPECT_CONTAINS(fixture_msg("missing-timer.dtb"), "dt: no timer node (arm,armv8-timer)");
}

TEST(dt_errors, header)
{
    size_t size;
    void *blob = host_fixture_load("minimal.dtb", &size);
    if (!blob)
        return;
    EXPECT_CONTAINS(fail_msg(NULL, 0), "dt: no device tree");
    EXPECT_CONTAINS(fail_msg(blob, 39), "dt: truncated: 39 bytes");
    EXPECT_CONTAINS(fail_msg(blob, size - 1), "dt: truncated: header says");
    uint8_t *b = blob;
    b[0] ^= 0xff;
    EXPECT_STREQ(fail_msg(blob, size), "dt: bad header (FDT_ERR_BADMAGIC)");
    b[0] ^= 0xff;
    b[23] = 16;  /* version 16: no block sizes in the header */
    EXPECT_CONTAINS(fail_msg(blob, size), "version 16, need >= 17");
    b[23] = 17;
    EXPECT_EQ(platform_discover(blob, size, &plat, NULL), 0);
    EXPECT_EQ(platform_discover(blob, 0, &plat, &err), 0);  /* 0 = trust the header */
    EXPECT_EQ(platform_discover(blob, size, NULL, &err), -1);
    free(blob);
}

TEST(dt_errors, failure_zeroes_output)
{
    memset(&plat, 0xa5, sizeof(plat));
    EXPECT_EQ(platform_discover(NULL, 0, &plat, &err), -1);
    EXPECT_EQ(plat.ncpus, 0);
    EXPECT_EQ(plat.nmem, 0);
    EXPECT_TRUE(!plat.console.present);
}

TEST(dt_errors, cpu_reg)
{
    EXPECT_EDIT_FAILS(without_prop("rk3399.dtb", "/cpus/cpu@1", "reg"),
                      "dt: /cpus/cpu@1: missing 'reg'");
    fdt32_t one = cpu_to_fdt32(1);
    EXPECT_EDIT_FAILS(with_prop("rk3399.dtb", "/cpus/cpu@101", "reg", &one, 4),
                      "dt: /cpus/cpu@101: 'reg' has 4 bytes, need 8");
    fdt32_t dup[2] = {0, cpu_to_fdt32(0x100)};
    EXPECT_EDIT_FAILS(with_prop("rk3399.dtb", "/cpus/cpu@101", "reg", dup, 8),
                      "dt: /cpus/cpu@101: MPIDR 0x100 already used by /cpus/cpu@100");
}

TEST(dt_errors, cpu_properties)
{
    EXPECT_EDIT_FAILS(without_prop("spin-table.dtb", "/cpus/cpu@1", "cpu-release-addr"),
                      "dt: /cpus/cpu@1: spin-table without 'cpu-release-addr'");
    EXPECT_EDIT_FAILS(with_prop("rk3399.dtb", "/cpus/cpu@2", "capacity-dmips-mhz", "\0\0", 2),
                      "dt: /cpus/cpu@2: 'capacity-dmips-mhz' has 2 bytes, need 4");
    EXPECT_EDIT_FAILS(with_prop("minimal.dtb", "/cpus/cpu@0", "status", "disabled", 9),
                      "dt: /cpus: no enabled cpu nodes");
}

/* minimal.dtb with n cpus (MPIDR = index). */
static void *with_cpus(int n)
{
    void *fdt = host_fixture_edit("minimal.dtb", 16384);
    if (!fdt)
        return NULL;
    int cpus = fdt_path_offset(fdt, "/cpus");
    for (int i = 1; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "cpu@%x", i);
        int node = fdt_add_subnode(fdt, cpus, name);
        if (node < 0 || fdt_setprop_string(fdt, node, "device_type", "cpu") != 0 ||
            fdt_setprop_u32(fdt, node, "reg", (uint32_t)i) != 0) {
            test_fail(__FILE__, __LINE__, "cannot add %s", name);
            free(fdt);
            return NULL;
        }
    }
    return fdt;
}

TEST(dt_errors, too_many_cpus)
{
    EXPECT_EDIT_FAILS(with_cpus(40), "dt: /cpus: 40 cpus, SR supports 32");
    void *fdt = with_cpus(PLAT_MAX_CPUS);
    if (!fdt)
        return;
    EXPECT_EQ(platform_discover(fdt, fdt_totalsize(fdt), &plat, &err), 0);
    EXPECT_EQ(plat.ncpus, PLAT_MAX_CPUS);
    /* fdt_add_subnode() puts each new node first: DT order is cpu@1f .. cpu@0. */
    for (int i = 0; i < PLAT_MAX_CPUS; i++)
        EXPECT_EQ(plat.cpus[i].mpidr, PLAT_MAX_CPUS - 1 - i);
    free(fdt);
}

TEST(dt_errors, psci_method)
{
    EXPECT_EDIT_FAILS(with_prop("rk3399.dtb", "/psci", "method", "svc", 4),
                      "dt: /psci: bad 'method' \"svc\"");
    EXPECT_EDIT_FAILS(with_prop("rk3399.dtb", "/psci", "method", "smcX", 4),
                      "dt: /psci: 'method' is not a string");
    EXPECT_EDIT_FAILS(without_prop("rk3399.dtb", "/psci", "method"),
                      "dt: /psci: missing 'method'");
}

TEST(dt_errors, gic)
{
    const char *gic = "/interrupt-controller@fee00000";
    fdt32_t two_regions = cpu_to_fdt32(5);
    EXPECT_EDIT_FAILS(with_prop("rk3399.dtb", gic, "#redistributor-regions", &two_regions, 4),
                      "'reg' has 5 entries, GICv3 needs 6 (GICD + 5 GICR)");
    fdt32_t nine = cpu_to_fdt32(9);
    EXPECT_EDIT_FAILS(with_prop("rk3399.dtb", gic, "#redistributor-regions", &nine, 4),
                      "#redistributor-regions = 9, SR supports 1..8");
    fdt32_t two = cpu_to_fdt32(2);
    EXPECT_EDIT_FAILS(with_prop("rk3399.dtb", gic, "#interrupt-cells", &two, 4),
                      "dt: /interrupt-controller@fee00000: #interrupt-cells = 2, need 3 or 4");
    fdt32_t one_reg[4] = {0, cpu_to_fdt32(0x8000000), 0, cpu_to_fdt32(0x1000)};
    EXPECT_EDIT_FAILS(with_prop("bl-reversed.dtb", "/interrupt-controller@8000000", "reg",
                                one_reg, sizeof(one_reg)),
                      "'reg' has 1 entries, GICv2 needs 2 (GICD, GICC)");
    EXPECT_EDIT_FAILS(with_prop("bl-reversed.dtb", "/interrupt-controller@8000000", "reg",
                                one_reg, 12),
                      "dt: /interrupt-controller@8000000: 'reg' has 12 bytes, not a multiple of 16");
}

TEST(dt_errors, timer)
{
    fdt32_t two[2] = {cpu_to_fdt32(1), cpu_to_fdt32(13)};
    EXPECT_EDIT_FAILS(with_prop("minimal.dtb", "/timer", "interrupts", two, 8),
                      "dt: /timer: 'interrupts' has 2 cells, need 12");
    EXPECT_EDIT_FAILS(without_prop("minimal.dtb", "/timer", "interrupts"),
                      "dt: /timer: missing 'interrupts'");
    fdt32_t bad[12] = {0};
    bad[0] = cpu_to_fdt32(1);
    bad[1] = cpu_to_fdt32(16);  /* PPI 16 does not exist */
    EXPECT_EDIT_FAILS(with_prop("minimal.dtb", "/timer", "interrupts", bad, sizeof(bad)),
                      "dt: /timer: bad interrupt specifier <1 16>");
}

TEST(dt_errors, memory)
{
    fdt32_t zero[4] = {0, cpu_to_fdt32(0x40000000), 0, 0};
    EXPECT_EDIT_FAILS(with_prop("minimal.dtb", "/memory@40000000", "reg", zero, sizeof(zero)),
                      "dt: memory: every 'reg' range has size 0");
    EXPECT_EDIT_FAILS(with_prop("minimal.dtb", "/memory@40000000", "reg", zero, 10),
                      "dt: /memory@40000000: 'reg' has 10 bytes, not a multiple of 16");
    fdt32_t three = cpu_to_fdt32(3);
    EXPECT_EDIT_FAILS(with_prop("minimal.dtb", "/", "#address-cells", &three, 4),
                      "dt: /: #address-cells = 3, SR reads at most 2");
}

TEST(dt_errors, virtio_and_console)
{
    EXPECT_EDIT_FAILS(without_prop("gic-bus.dtb", "/soc/virtio@4000000", "reg"),
                      "dt: /soc/virtio@4000000: missing 'reg'");
    fdt32_t bad_irq[3] = {cpu_to_fdt32(7), cpu_to_fdt32(1), cpu_to_fdt32(4)};
    EXPECT_EDIT_FAILS(with_prop("gic-bus.dtb", "/soc/virtio@4000000", "interrupts", bad_irq,
                                sizeof(bad_irq)),
                      "dt: /soc/virtio@4000000: bad interrupt specifier <7 1>");
    EXPECT_EDIT_FAILS(with_prop("gic-bus.dtb", "/soc/apb/uart@3000", "reg-shift", "\1", 1),
                      "dt: /soc/apb/uart@3000: 'reg-shift' has 1 bytes, need 4");
}
