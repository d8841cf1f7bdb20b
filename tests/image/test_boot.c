/* Boot outcome: every DT CPU online, the right exception level, relocation
 * and the image's symbol table working. */
#include <libfdt.h>
#include <string.h>
#include <arch/boot.h>
#include <arch/cpu.h>
#include <arch/psci.h>
#include <arch/semihost.h>
#include <kernel/boot.h>
#include <kernel/ksyms.h>
#include <kernel/smp.h>
#include <sr_test.h>

/* Count /cpus children with device_type "cpu" straight from the blob,
 * independently of the discovery code. */
static int dtb_cpu_count(void)
{
    int cpus = fdt_path_offset(dtb_fdt, "/cpus"), n = 0, node;
    fdt_for_each_subnode(node, dtb_fdt, cpus) {
        const char *type = fdt_getprop(dtb_fdt, node, "device_type", NULL);
        const char *status = fdt_getprop(dtb_fdt, node, "status", NULL);
        if (type && strcmp(type, "cpu") == 0 && (!status || strcmp(status, "okay") == 0))
            n++;
    }
    return n;
}

TEST(boot, all_dtb_cpus_online)
{
    EXPECT_EQ(platform.ncpus, dtb_cpu_count());
    EXPECT_EQ(smp_online_count(), platform.ncpus);
    for (int i = 0; i < platform.ncpus; i++)
        EXPECT_TRUE(smp_cpu_online(i));
}

TEST_ALL_CORES(boot, running_at_el1_on_sp_el0)
{
    EXPECT_EQ(arch_current_el(), 1);
    EXPECT_EQ(read_sysreg(spsel), 0);
    EXPECT_TRUE(boot_info.entry_el == 1 || boot_info.entry_el == 2);
}

TEST(boot, relocated_pointers_are_runtime_addresses)
{
    /* A function pointer stored in data went through the relocation pass. */
    static void (*volatile fp)(void) = secondary_entry;
    uint64_t p = (uint64_t)fp;
    EXPECT_GE(p, boot_info.image_start);
    EXPECT_LT(p, (uint64_t)__text_end);
    EXPECT_EQ(boot_info.image_start - boot_info.link_slide, SR_LINK_BASE);
}

TEST(boot, symbol_table_names_functions)
{
    uint64_t off = ~0ull;
    const char *name = ksyms_lookup((uint64_t)tests_main + 8, &off);
    EXPECT_STREQ(name, "tests_main");
    EXPECT_EQ(off, 8);
    EXPECT_TRUE(ksyms_lookup(0x10, &off) == NULL);
}

TEST(boot, psci_version_reported)
{
    if (platform.psci == PLAT_PSCI_NONE)
        return;
    int32_t v = psci_version();
    EXPECT_GE(v, 0x2);            /* 0.2 or later: CPU_ON with context id */
}

TEST(boot, semihosting_present_under_test)
{
    EXPECT_TRUE(semihost_available());
}
