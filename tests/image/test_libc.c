/* picolibc from every core: formatting, and errno isolated per context. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <sr_test.h>

TEST(libc, snprintf_formats)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%d %s 0x%llx %5.2f", -42, "sr", 0xabcull, 3.14159);
    EXPECT_STREQ(buf, "-42 sr 0xabc  3.14");
    EXPECT_EQ(n, (int)strlen(buf));
}

TEST(libc, strtol_sets_errno_on_overflow)
{
    errno = 0;
    long v = strtol("99999999999999999999999", NULL, 10);
    EXPECT_EQ(errno, ERANGE);
    EXPECT_EQ((unsigned long)v, (unsigned long)__LONG_MAX__);
}

static _Atomic int arrived;

TEST_ALL_CORES(libc, errno_is_per_core)
{
    errno = 1000 + cpu_id();
    atomic_fetch_add(&arrived, 1);
    /* Everyone writes before anyone checks. */
    while (atomic_load(&arrived) < smp_online_count())
        arch_cpu_relax();
    EXPECT_EQ(errno, 1000 + cpu_id());
    EXPECT_TRUE(this_cpu()->tls != NULL);
}
