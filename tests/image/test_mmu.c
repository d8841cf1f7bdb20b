/* The address space: NULL unmapped, W^X on the image, attributes right. */
#include <arch/boot.h>
#include <arch/mmu.h>
#include <arch/sysreg.h>
#include <kernel/boot.h>
#include <kernel/fault.h>
#include <kernel/smp.h>
#include <sr_test.h>
#include "image_test.h"

#define DFSC(esr)        ((esr) & 0x3f)
#define FSC_TRANSLATION  0x04   /* 0x04..0x07: levels 0..3 */
#define FSC_PERMISSION   0x0c   /* 0x0c..0x0f */

static const uint32_t rodata_word = 0x5352;
static uint64_t data_word[2];

TEST_ALL_CORES(mmu, null_read_faults)
{
    struct fault_catch fc;
    FAULT_CATCH(&fc, { (void)*(volatile uint64_t *)opaque_ptr(0); });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(ESR_EC(fc.esr), EC_DABT_CUR);
    EXPECT_EQ(fc.far, 0);
    EXPECT_EQ(DFSC(fc.esr) & 0x3c, FSC_TRANSLATION);
    EXPECT_EQ(fc.esr & BIT(6), 0);   /* a read */
}

TEST(mmu, null_page_write_faults)
{
    struct fault_catch fc;
    FAULT_CATCH(&fc, { *(volatile uint32_t *)opaque_ptr(0xff8) = 1; });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(ESR_EC(fc.esr), EC_DABT_CUR);
    EXPECT_EQ(fc.far, 0xff8);
    EXPECT_NE(fc.esr & BIT(6), 0);   /* a write */
}

TEST(mmu, text_write_faults)
{
    struct fault_catch fc;
    volatile uint32_t *text = (volatile uint32_t *)(uintptr_t)tests_main;
    uint32_t before = *text;   /* readable */
    FAULT_CATCH(&fc, { *text = 0xd503201f; });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(ESR_EC(fc.esr), EC_DABT_CUR);
    EXPECT_EQ(DFSC(fc.esr) & 0x3c, FSC_PERMISSION);
    EXPECT_EQ(fc.far, (uint64_t)text);
    EXPECT_EQ(*text, before);
}

TEST(mmu, rodata_write_faults)
{
    struct fault_catch fc;
    FAULT_CATCH(&fc, { *(volatile uint32_t *)&rodata_word = 1; });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(DFSC(fc.esr) & 0x3c, FSC_PERMISSION);
    EXPECT_EQ(rodata_word, 0x5352);
}

TEST(mmu, data_is_not_executable)
{
    struct fault_catch fc;
    data_word[0] = 0xd65f03c0d65f03c0ull;   /* ret; ret */
    void (*fn)(void) = (void (*)(void))(uintptr_t)data_word;
    FAULT_CATCH(&fc, { fn(); });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(ESR_EC(fc.esr), EC_IABT_CUR);
    EXPECT_EQ(DFSC(fc.esr) & 0x3c, FSC_PERMISSION);
    EXPECT_EQ(fc.elr, (uint64_t)data_word);
}

TEST(mmu, stack_is_not_executable)
{
    struct fault_catch fc;
    volatile uint32_t insn[2] = {0xd65f03c0, 0xd65f03c0};
    void (*fn)(void) = (void (*)(void))(uintptr_t)insn;
    FAULT_CATCH(&fc, { fn(); });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(ESR_EC(fc.esr), EC_IABT_CUR);
}

TEST(mmu, attributes_per_region)
{
    uint64_t pa;
    uint8_t attr;
    /* text: readable, normal write-back, not writable */
    EXPECT_TRUE(arch_mmu_probe((uint64_t)tests_main, false, &pa, &attr));
    EXPECT_EQ(attr, 0xff);
    EXPECT_EQ(pa, (uint64_t)tests_main);   /* identity map */
    EXPECT_TRUE(!arch_mmu_probe((uint64_t)tests_main, true, &pa, &attr));
    /* data: writable normal memory */
    EXPECT_TRUE(arch_mmu_probe((uint64_t)data_word, true, &pa, &attr));
    EXPECT_EQ(attr, 0xff);
    /* usable RAM far from the image */
    uint64_t ram = boot_state.ram[boot_state.nram - 1].base + boot_state.ram[boot_state.nram - 1].size - 8;
    EXPECT_TRUE(arch_mmu_probe(ram, true, &pa, &attr));
    EXPECT_EQ(attr, 0xff);
    /* the GIC distributor: device-nGnRE */
    EXPECT_TRUE(arch_mmu_probe(platform.gic.dist.base, true, &pa, &attr));
    EXPECT_EQ(attr, 0x04);
    /* the DTB: read-only */
    EXPECT_TRUE(arch_mmu_probe(platform.dtb.base, false, &pa, &attr));
    EXPECT_TRUE(!arch_mmu_probe(platform.dtb.base, true, &pa, &attr));
}

TEST(mmu, unmapped_hole_faults)
{
    struct fault_catch fc;
    /* Just past the end of RAM nothing is mapped. */
    const struct plat_range *last = &platform.mem[platform.nmem - 1];
    volatile uint64_t *p = opaque_ptr(last->base + last->size + 0x10000000ull);
    FAULT_CATCH(&fc, { (void)*p; });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(fc.far, (uint64_t)p);
}
