/*
 * platform_discover() on the real board DTS files and the RK3399-like
 * fixture: every field SR boots from, checked against the DTS source.
 */
#include <stdint.h>
#include <stdlib.h>

#include <kernel/platform.h>
#include <libfdt.h>

#include "host_test.h"

static struct platform plat;
static struct plat_error err;

/* Loads fixture `name` and discovers it; the blob is returned (caller frees). */
static void *discover(const char *name)
{
    size_t size;
    void *blob = host_fixture_load(name, &size);
    if (!blob)
        return NULL;
    int rc = platform_discover(blob, size, &plat, &err);
    if (rc != 0) {
        test_fail(__FILE__, __LINE__, "%s: %s", name, err.msg);
        free(blob);
        return NULL;
    }
    return blob;
}

TEST(dt_qemu_virt_bl, memory_and_model)
{
    void *blob = discover("qemu-virt-bl.dtb");
    if (!blob)
        return;
    EXPECT_STREQ(plat.model, "linux,dummy-virt");
    EXPECT_EQ(plat.nmem, 1);
    EXPECT_EQ(plat.mem[0].base, 0x40000000);
    EXPECT_EQ(plat.mem[0].size, 0x80000000);
    EXPECT_EQ(plat.nreserved, 0);
    EXPECT_EQ(plat.dtb.base, (uintptr_t)blob);
    EXPECT_EQ(plat.dtb.size, fdt_totalsize(blob));
    free(blob);
}

TEST(dt_qemu_virt_bl, cpus_big_little)
{
    void *blob = discover("qemu-virt-bl.dtb");
    if (!blob)
        return;
    EXPECT_EQ(plat.ncpus, 8);
    EXPECT_EQ(plat.nclusters, 2);
    for (int i = 0; i < plat.ncpus; i++) {
        const struct plat_cpu *c = &plat.cpus[i];
        bool little = i < 4;
        EXPECT_EQ(c->mpidr, i);
        EXPECT_EQ(c->enable, PLAT_ENABLE_PSCI);
        EXPECT_EQ(c->release_addr, 0);
        EXPECT_EQ(c->cluster, little ? 0 : 1);
        EXPECT_EQ(c->dmips_mhz, little ? 530 : 1024);
        EXPECT_EQ(c->capacity, little ? 530 : 1024);
        EXPECT_EQ(c->cls, little ? PLAT_CLASS_EFFICIENCY : PLAT_CLASS_PERFORMANCE);
        EXPECT_TRUE(c->has_power_coeff);
        EXPECT_EQ(c->power_coeff, little ? 228 : 416);
        EXPECT_STREQ(c->compatible, little ? "arm,cortex-a55" : "arm,cortex-a76");
    }
    free(blob);
}

TEST(dt_qemu_virt_bl, psci_gic_timer)
{
    void *blob = discover("qemu-virt-bl.dtb");
    if (!blob)
        return;
    EXPECT_EQ(plat.psci, PLAT_PSCI_SMC);
    EXPECT_EQ(plat.gic.version, 3);
    EXPECT_EQ(plat.gic.dist.base, 0x8000000);
    EXPECT_EQ(plat.gic.dist.size, 0x10000);
    EXPECT_EQ(plat.gic.nredist, 1);
    EXPECT_EQ(plat.gic.redist[0].base, 0x80a0000);
    EXPECT_EQ(plat.gic.redist[0].size, 0xf60000);
    EXPECT_EQ(plat.gic.redist_stride, 0);
    EXPECT_EQ(plat.timer.sec_phys_irq, 29);
    EXPECT_EQ(plat.timer.phys_irq, 30);
    EXPECT_EQ(plat.timer.virt_irq, 27);
    EXPECT_EQ(plat.timer.hyp_irq, 26);
    EXPECT_EQ(plat.timer.clock_frequency, 0);
    free(blob);
}

TEST(dt_qemu_virt_bl, console_and_virtio)
{
    void *blob = discover("qemu-virt-bl.dtb");
    if (!blob)
        return;
    const struct plat_console *con = &plat.console;
    EXPECT_TRUE(con->present);
    EXPECT_STREQ(con->path, "/pl011@9000000");
    EXPECT_STREQ(con->compatible, "arm,pl011");
    EXPECT_EQ(fdt_stringlist_contains(con->compat_list, con->compat_list_len,
                                      "arm,primecell"), 1);
    EXPECT_EQ(con->reg.base, 0x9000000);
    EXPECT_EQ(con->reg.size, 0x1000);
    EXPECT_EQ(con->reg_shift, 0);
    EXPECT_EQ(con->reg_io_width, 1);
    EXPECT_EQ(con->irq, 33);
    EXPECT_EQ(con->baud, 115200);
    EXPECT_EQ(con->clock_hz, 24000000);  /* from the apb-pclk fixed-clock */
    EXPECT_EQ(plat.nvirtio, 32);
    for (int i = 0; i < plat.nvirtio; i++) {
        EXPECT_EQ(plat.virtio[i].reg.base, 0xa000000 + 0x200 * i);
        EXPECT_EQ(plat.virtio[i].reg.size, 0x200);
        EXPECT_EQ(plat.virtio[i].irq, 48 + i);
    }
    free(blob);
}

TEST(dt_qemu_virt, gicv2_hvc_uniform)
{
    void *blob = discover("qemu-virt.dtb");
    if (!blob)
        return;
    EXPECT_EQ(plat.nmem, 1);
    EXPECT_EQ(plat.mem[0].base, 0x40000000);
    EXPECT_EQ(plat.mem[0].size, 0x40000000);
    EXPECT_EQ(plat.psci, PLAT_PSCI_HVC);
    EXPECT_EQ(plat.gic.version, 2);
    EXPECT_EQ(plat.gic.dist.base, 0x8000000);
    EXPECT_EQ(plat.gic.cpuif.base, 0x8010000);
    EXPECT_EQ(plat.gic.cpuif.size, 0x10000);
    EXPECT_EQ(plat.gic.nredist, 0);
    EXPECT_EQ(plat.ncpus, 4);
    EXPECT_EQ(plat.nclusters, 1);
    for (int i = 0; i < plat.ncpus; i++) {
        EXPECT_EQ(plat.cpus[i].mpidr, i);
        EXPECT_EQ(plat.cpus[i].cluster, 0);
        EXPECT_EQ(plat.cpus[i].capacity, 1024);
        EXPECT_EQ(plat.cpus[i].dmips_mhz, 0);
        EXPECT_EQ(plat.cpus[i].cls, PLAT_CLASS_PERFORMANCE);
        EXPECT_TRUE(!plat.cpus[i].has_power_coeff);
        EXPECT_STREQ(plat.cpus[i].compatible, "arm,cortex-a53");
    }
    EXPECT_EQ(plat.timer.virt_irq, 27);  /* flags 0xf04 carry a CPU mask */
    EXPECT_EQ(plat.timer.phys_irq, 30);
    EXPECT_TRUE(plat.console.present);
    EXPECT_EQ(plat.console.baud, 115200);
    EXPECT_EQ(plat.nvirtio, 32);
    free(blob);
}

TEST(dt_rk3399, cpus_mpidr_not_index)
{
    void *blob = discover("rk3399.dtb");
    if (!blob)
        return;
    static const uint64_t mpidr[6] = {0x0, 0x1, 0x2, 0x3, 0x100, 0x101};
    EXPECT_STREQ(plat.model, "Pine64 RockPro64 (fixture)");
    EXPECT_EQ(plat.ncpus, 6);
    EXPECT_EQ(plat.nclusters, 2);
    for (int i = 0; i < 6; i++) {
        const struct plat_cpu *c = &plat.cpus[i];
        bool big = i >= 4;
        EXPECT_EQ(c->mpidr, mpidr[i]);
        EXPECT_EQ(c->cluster, big ? 1 : 0);
        EXPECT_EQ(c->dmips_mhz, big ? 1024 : 485);
        EXPECT_EQ(c->capacity, big ? 1024 : 485);
        EXPECT_EQ(c->power_coeff, big ? 436 : 100);
        EXPECT_EQ(c->cls, big ? PLAT_CLASS_PERFORMANCE : PLAT_CLASS_EFFICIENCY);
        EXPECT_STREQ(c->compatible, big ? "arm,cortex-a72" : "arm,cortex-a53");
    }
    free(blob);
}

TEST(dt_rk3399, memory_and_reserved)
{
    void *blob = discover("rk3399.dtb");
    if (!blob)
        return;
    EXPECT_EQ(plat.nmem, 1);
    EXPECT_EQ(plat.mem[0].base, 0x200000);
    EXPECT_EQ(plat.mem[0].size, 0x7fe00000);
    /* /memreserve/ and tee@8400000; the size-only dynamic-pool is ignored. */
    EXPECT_EQ(plat.nreserved, 2);
    EXPECT_EQ(plat.reserved[0].base, 0x0);
    EXPECT_EQ(plat.reserved[0].size, 0x10000);
    EXPECT_EQ(plat.reserved[1].base, 0x8400000);
    EXPECT_EQ(plat.reserved[1].size, 0x1000000);
    free(blob);
}

TEST(dt_rk3399, gic_four_cells_timer_psci)
{
    void *blob = discover("rk3399.dtb");
    if (!blob)
        return;
    EXPECT_EQ(plat.psci, PLAT_PSCI_SMC);
    EXPECT_EQ(plat.gic.version, 3);
    EXPECT_EQ(plat.gic.dist.base, 0xfee00000);
    EXPECT_EQ(plat.gic.nredist, 1);
    EXPECT_EQ(plat.gic.redist[0].base, 0xfef00000);
    EXPECT_EQ(plat.gic.redist[0].size, 0xc0000);
    EXPECT_EQ(plat.timer.sec_phys_irq, 29);
    EXPECT_EQ(plat.timer.phys_irq, 30);
    EXPECT_EQ(plat.timer.virt_irq, 27);
    EXPECT_EQ(plat.timer.hyp_irq, 26);
    EXPECT_EQ(plat.nvirtio, 0);
    free(blob);
}

TEST(dt_rk3399, console_through_alias)
{
    void *blob = discover("rk3399.dtb");
    if (!blob)
        return;
    const struct plat_console *con = &plat.console;
    EXPECT_TRUE(con->present);
    EXPECT_STREQ(con->path, "/serial@ff1a0000");
    EXPECT_STREQ(con->compatible, "rockchip,rk3399-uart");
    EXPECT_EQ(con->compat_list_len, sizeof("rockchip,rk3399-uart\0snps,dw-apb-uart"));
    EXPECT_EQ(fdt_stringlist_contains(con->compat_list, con->compat_list_len,
                                      "snps,dw-apb-uart"), 1);
    EXPECT_EQ(con->reg.base, 0xff1a0000);
    EXPECT_EQ(con->reg.size, 0x100);
    EXPECT_EQ(con->reg_shift, 2);
    EXPECT_EQ(con->reg_io_width, 4);
    EXPECT_EQ(con->irq, 132);
    EXPECT_EQ(con->baud, 1500000);
    EXPECT_EQ(con->clock_hz, 0);  /* clocks come from the CRU, not a fixed-clock */
    free(blob);
}
