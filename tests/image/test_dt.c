/* Discovered platform vs. the hardware and the raw DTB. */
#include <libfdt.h>
#include <string.h>
#include <arch/boot.h>
#include <arch/cpu.h>
#include <arch/io.h>
#include <arch/timer.h>
#include <kernel/boot.h>
#include <kernel/irq.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <sr_test.h>

static uint64_t be_cells(const fdt32_t *p, int cells)
{
    uint64_t v = 0;
    for (int i = 0; i < cells; i++)
        v = (v << 32) | fdt32_to_cpu(p[i]);
    return v;
}

TEST_ALL_CORES(dt, cpu_mpidr_matches_hardware)
{
    EXPECT_EQ(platform.cpus[cpu_id()].mpidr, arch_mpidr());
    EXPECT_EQ(this_cpu()->mpidr, arch_mpidr());
}

TEST(dt, memory_matches_dtb)
{
    int node = -1, found = 0;
    uint64_t total_dt = 0, total_plat = 0;
    while ((node = fdt_node_offset_by_prop_value(dtb_fdt, node, "device_type", "memory", 7)) >= 0) {
        int len;
        const fdt32_t *reg = fdt_getprop(dtb_fdt, node, "reg", &len);
        int ac = fdt_address_cells(dtb_fdt, 0), sc = fdt_size_cells(dtb_fdt, 0);
        for (int off = 0; reg && off + (ac + sc) * 4 <= len; off += (ac + sc) * 4) {
            total_dt += be_cells(reg + off / 4 + ac, sc);
            found++;
        }
    }
    for (int i = 0; i < platform.nmem; i++)
        total_plat += platform.mem[i].size;
    EXPECT_EQ(found, platform.nmem);
    EXPECT_EQ(total_dt, total_plat);
    /* Usable RAM excludes the image and the DTB. */
    for (int i = 0; i < boot_state.nram; i++) {
        uint64_t b = boot_state.ram[i].base, e = b + boot_state.ram[i].size;
        EXPECT_TRUE(e <= boot_info.image_start || b >= boot_info.image_end);
        EXPECT_TRUE(e <= platform.dtb.base || b >= platform.dtb.base + platform.dtb.size);
    }
}

TEST(dt, gic_version_matches_hardware)
{
    uint32_t pidr2;
    if (platform.gic.version == 3) {
        pidr2 = mmio_read32(platform.gic.dist.base + 0xffe8);
        EXPECT_EQ((read_sysreg(S3_0_C12_C12_5) & 1), 1);   /* ICC_SRE_EL1.SRE */
    } else {
        pidr2 = mmio_read32(platform.gic.dist.base + 0xfe8);
    }
    unsigned arch_rev = (pidr2 >> 4) & 0xf;
    if (platform.gic.version == 3)
        EXPECT_TRUE(arch_rev == 3 || arch_rev == 4);
    else
        EXPECT_TRUE(arch_rev == 2 || arch_rev == 0);   /* some GICv2s leave PIDR2 0 */
    EXPECT_STREQ(irq_chip_name(), platform.gic.version == 3 ? "GICv3" : "GICv2");
}

TEST(dt, timer_irq_is_the_one_that_fires)
{
    /* The DT's virtual-timer PPI is the INTID the timer interrupts arrive on. */
    EXPECT_EQ(platform.timer.virt_irq, 27);   /* PPI 11, as the architecture fixes */
    EXPECT_GT(arch_counter_freq(), 0);
}

TEST(dt, console_is_stdout_path)
{
    int chosen = fdt_path_offset(dtb_fdt, "/chosen");
    const char *path = fdt_getprop(dtb_fdt, chosen, "stdout-path", NULL);
    EXPECT_TRUE(path != NULL);
    if (!path)
        return;
    const char *colon = strchr(path, ':');
    int node = fdt_path_offset_namelen(dtb_fdt, path, colon ? (int)(colon - path) : (int)strlen(path));
    EXPECT_GE(node, 0);
    const fdt32_t *reg = fdt_getprop(dtb_fdt, node, "reg", NULL);
    EXPECT_TRUE(reg != NULL);
    if (reg)
        EXPECT_EQ(be_cells(reg, 2), platform.console.reg.base);
    EXPECT_TRUE(platform.console.present);
}

TEST(dt, classes_follow_capacity)
{
    uint32_t max = 0, min = ~0u;
    for (int i = 0; i < platform.ncpus; i++) {
        uint32_t c = platform.cpus[i].capacity;
        max = c > max ? c : max;
        min = c < min ? c : min;
    }
    EXPECT_EQ(max, 1024);
    for (int i = 0; i < platform.ncpus; i++) {
        const struct plat_cpu *c = &platform.cpus[i];
        if (c->capacity == max)
            EXPECT_EQ(c->cls, PLAT_CLASS_PERFORMANCE);
        else if (c->capacity == min)
            EXPECT_EQ(c->cls, PLAT_CLASS_EFFICIENCY);
    }
}
