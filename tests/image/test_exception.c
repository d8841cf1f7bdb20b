/* Synchronous exceptions are decoded, recoverable when expected, and the
 * core keeps working after one. */
#include <string.h>
#include <arch/exception.h>
#include <arch/sysreg.h>
#include <arch/timer.h>
#include <kernel/clock.h>
#include <kernel/fault.h>
#include <kernel/ksyms.h>
#include <kernel/percpu.h>
#include <sr_test.h>
#include "image_test.h"

TEST(exc, undefined_instruction_is_caught)
{
    struct fault_catch fc;
    FAULT_CATCH(&fc, { __asm__ volatile("udf #0x5352"); });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(ESR_EC(fc.esr), EC_UNKNOWN);
    EXPECT_STREQ(arch_esr_class_name(fc.esr), "Unknown reason / undefined instruction");
}

TEST(exc, brk_is_caught_with_its_immediate)
{
    struct fault_catch fc;
    FAULT_CATCH(&fc, { __asm__ volatile("brk #0x42"); });
    EXPECT_TRUE(fc.caught);
    EXPECT_EQ(ESR_EC(fc.esr), EC_BRK64);
    EXPECT_EQ(ESR_ISS(fc.esr) & 0xffff, 0x42);
}

TEST(exc, fault_address_names_the_faulting_function)
{
    struct fault_catch fc;
    FAULT_CATCH(&fc, { (void)*(volatile int *)opaque_ptr(8); });
    EXPECT_TRUE(fc.caught);
    uint64_t off;
    const char *fn = ksyms_lookup(fc.elr, &off);
    EXPECT_TRUE(fn != NULL);
    if (fn)
        EXPECT_TRUE(strstr(fn, "fault_address_names_the_faulting_function") != NULL);
}

static bool null_read_caught(void)
{
    struct fault_catch fc;
    FAULT_CATCH(&fc, { (void)*(volatile int *)opaque_ptr(0); });
    return fc.caught;
}

static void mark(void *arg) { *(volatile int *)arg = 1; }

TEST_ALL_CORES(exc, core_keeps_working_after_faults)
{
    for (int i = 0; i < 10; i++)
        EXPECT_TRUE(null_read_caught());
    volatile int fired = 0;
    clock_oneshot(100 * 1000, mark, (void *)&fired);
    wfi_until(&fired);
    EXPECT_EQ(fired, 1);
    EXPECT_TRUE(this_cpu()->fault_catch == NULL);
}

TEST(exc, catch_without_fault_reports_none)
{
    struct fault_catch fc;
    volatile int x = 0;
    FAULT_CATCH(&fc, { x = 1; });
    EXPECT_TRUE(!fc.caught);
    EXPECT_EQ(x, 1);
}
