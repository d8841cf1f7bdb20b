/* platform_usable_memory(): RAM minus reserved and extra ranges, page aligned. */
#include <kernel/platform.h>

#include "host_test.h"

#define R(b, s) ((struct plat_range){(b), (s)})
#define GiB 0x40000000ull
#define TOP UINT64_MAX

static struct platform plat;
static struct plat_range out[64];

static void setup(const struct plat_range *mem, int nmem, const struct plat_range *res,
                  int nres)
{
    memset(&plat, 0, sizeof(plat));
    memset(out, 0xee, sizeof(out));
    for (int i = 0; i < nmem; i++)
        plat.mem[i] = mem[i];
    for (int i = 0; i < nres; i++)
        plat.reserved[i] = res[i];
    plat.nmem = nmem;
    plat.nreserved = nres;
}

#define EXPECT_RANGE(r, b, s)       \
    do {                            \
        EXPECT_EQ((r).base, (b));   \
        EXPECT_EQ((r).size, (s));   \
    } while (0)

TEST(usable_memory, no_holes)
{
    struct plat_range mem[] = {R(GiB, 2 * GiB)};
    setup(mem, 1, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 1);
    EXPECT_RANGE(out[0], GiB, 2 * GiB);
}

TEST(usable_memory, overlapping_holes)
{
    struct plat_range mem[] = {R(GiB, GiB)};
    struct plat_range res[] = {R(GiB + 0x100000, 0x100000), R(GiB + 0x120000, 0x10000)};
    struct plat_range extra[] = {R(GiB + 0x180000, 0x100000), R(GiB + 0x1f0000, 0x1000)};
    setup(mem, 1, res, 2);
    EXPECT_EQ(platform_usable_memory(&plat, extra, 2, out, 64), 2);
    EXPECT_RANGE(out[0], GiB, 0x100000);
    EXPECT_RANGE(out[1], GiB + 0x280000, GiB - 0x280000);
}

TEST(usable_memory, adjacent_ram_and_holes_merge)
{
    struct plat_range mem[] = {R(2 * GiB, GiB), R(GiB, GiB)};  /* unsorted, touching */
    struct plat_range res[] = {R(2 * GiB - 0x1000, 0x1000), R(2 * GiB, 0x1000)};
    setup(mem, 2, res, 2);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 2);
    EXPECT_RANGE(out[0], GiB, GiB - 0x1000);
    EXPECT_RANGE(out[1], 2 * GiB + 0x1000, GiB - 0x1000);
}

TEST(usable_memory, overlapping_ram_merges)
{
    struct plat_range mem[] = {R(GiB, GiB), R(GiB + 0x1000, 0x2000), R(GiB + GiB / 2, GiB)};
    setup(mem, 3, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 1);
    EXPECT_RANGE(out[0], GiB, GiB + GiB / 2);
}

TEST(usable_memory, reserved_covers_everything)
{
    struct plat_range mem[] = {R(GiB, GiB), R(4 * GiB, 0x1000)};
    struct plat_range res[] = {R(0, 8 * GiB)};
    setup(mem, 2, res, 1);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 0);
    struct plat_range exact[] = {R(GiB, GiB), R(4 * GiB, 0x1000)};
    setup(mem, 2, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, exact, 2, out, 64), 0);
}

TEST(usable_memory, holes_outside_or_straddling_ram)
{
    struct plat_range mem[] = {R(GiB, GiB)};
    struct plat_range res[] = {R(0, 0x1000), R(3 * GiB, GiB), R(GiB - 0x1000, 0x3000),
                               R(2 * GiB - 0x2000, 0x10000)};
    setup(mem, 1, res, 4);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 1);
    EXPECT_RANGE(out[0], GiB + 0x2000, GiB - 0x4000);
}

TEST(usable_memory, unaligned_shrinks_inward)
{
    struct plat_range mem[] = {R(GiB + 0x123, 0x10000)};  /* ends at GiB + 0x10123 */
    struct plat_range extra[] = {R(GiB + 0x5010, 0x10)};
    setup(mem, 1, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, extra, 1, out, 64), 2);
    EXPECT_RANGE(out[0], GiB + 0x1000, 0x4000);
    EXPECT_RANGE(out[1], GiB + 0x6000, 0xa000);
}

TEST(usable_memory, sub_page_pieces_dropped)
{
    struct plat_range mem[] = {R(0x1000, 0x2000), R(0x10000, 0xfff)};
    struct plat_range res[] = {R(0x1800, 0x1000)};
    setup(mem, 2, res, 1);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 0);
}

TEST(usable_memory, many_ranges_sorted)
{
    /* 16 RAM banks of 1 MiB, 2 MiB apart, in reverse order. Holes: 32
     * reserved ranges covering the first 16 KiB of each bank (twice), and
     * 2048 extra pages: every other page from 0x80000 into each bank, the
     * second half of them beyond the bank's end (outside RAM). */
    struct plat_range mem[PLAT_MAX_MEM], res[PLAT_MAX_RESERVED];
    static struct plat_range extra[2048];
    for (int i = 0; i < PLAT_MAX_MEM; i++)
        mem[i] = R(GiB + (uint64_t)(PLAT_MAX_MEM - 1 - i) * 0x200000, 0x100000);
    for (int i = 0; i < PLAT_MAX_RESERVED; i++)
        res[i] = R(GiB + (uint64_t)(i % 16) * 0x200000, 0x4000);
    int ne = 0;
    for (int b = 0; b < 16; b++)
        for (int p = 0; p < 128; p++)
            extra[ne++] = R(GiB + (uint64_t)b * 0x200000 + 0x80000 + (uint64_t)p * 0x2000, 0x1000);
    setup(mem, PLAT_MAX_MEM, res, PLAT_MAX_RESERVED);
    static struct plat_range big[4096];
    int n = platform_usable_memory(&plat, extra, ne, big, 4096);
    /* Per bank: [0x4000, 0x80000), then the 64 pages between holes (the last
     * one running to the bank's end). */
    EXPECT_EQ(n, 16 * 65);
    for (int i = 1; i < n; i++)
        EXPECT_GT(big[i].base, big[i - 1].base + big[i - 1].size);
    EXPECT_RANGE(big[0], GiB + 0x4000, 0x7c000);
    EXPECT_RANGE(big[1], GiB + 0x81000, 0x1000);
    EXPECT_RANGE(big[64], GiB + 0xff000, 0x1000);
    EXPECT_RANGE(big[65], GiB + 0x204000, 0x7c000);
    EXPECT_RANGE(big[n - 1], GiB + 15 * 0x200000 + 0xff000, 0x1000);
}

TEST(usable_memory, max_limits_output)
{
    struct plat_range mem[] = {R(0, 0x10000)};
    struct plat_range extra[] = {R(0x3000, 0x1000), R(0x1000, 0x1000), R(0x5000, 0x1000)};
    setup(mem, 1, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, extra, 3, out, 64), 4);
    setup(mem, 1, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, extra, 3, out, 2), 2);
    EXPECT_RANGE(out[0], 0, 0x1000);
    EXPECT_RANGE(out[1], 0x2000, 0x1000);
    EXPECT_EQ(out[2].base, 0xeeeeeeeeeeeeeeeeull);  /* untouched */
    EXPECT_EQ(platform_usable_memory(&plat, extra, 3, out, 0), 0);
    EXPECT_EQ(platform_usable_memory(NULL, extra, 3, out, 4), 0);
}

TEST(usable_memory, near_two_to_the_64)
{
    /* Ends exactly at 2^64. */
    struct plat_range top[] = {R(TOP - 0xffff, 0x10000)};
    setup(top, 1, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 1);
    EXPECT_RANGE(out[0], TOP - 0xffff, 0x10000);

    /* Would wrap: clamped at 2^64; a hole that also wraps cuts the top. */
    struct plat_range wrap[] = {R(TOP - 0xffff, 0x20000)};
    struct plat_range hole[] = {R(TOP - 0x1fff, 0x100000)};
    setup(wrap, 1, hole, 1);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 1);
    EXPECT_RANGE(out[0], TOP - 0xffff, 0xe000);

    /* Everything but the last byte; then everything (a size of 2^64 cannot be
     * expressed, so the top page goes). */
    struct plat_range all[] = {R(0, TOP)};
    setup(all, 1, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 1);
    EXPECT_RANGE(out[0], 0, TOP - 0xfff);
    struct plat_range all2[] = {R(0, TOP), R(TOP, 1)};
    setup(all2, 2, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 1);
    EXPECT_RANGE(out[0], 0, TOP - 0xfff);

    /* Unaligned base in the very last page: nothing usable, no overflow. */
    struct plat_range last[] = {R(TOP - 0x10, 0x11)};
    setup(last, 1, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 0);

    /* A hole of maximal size from 0x1000 removes everything above it. */
    struct plat_range mem[] = {R(0, TOP)};
    struct plat_range extra[] = {R(0x1000, TOP)};
    setup(mem, 1, NULL, 0);
    EXPECT_EQ(platform_usable_memory(&plat, extra, 1, out, 64), 1);
    EXPECT_RANGE(out[0], 0, 0x1000);
}

TEST(usable_memory, zero_sizes_and_bad_counts_ignored)
{
    struct plat_range mem[] = {R(GiB, 0), R(2 * GiB, 0x4000)};
    struct plat_range res[] = {R(2 * GiB + 0x1000, 0)};
    setup(mem, 2, res, 1);
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 5, out, 64), 1);
    EXPECT_RANGE(out[0], 2 * GiB, 0x4000);
    plat.nreserved = -3;
    EXPECT_EQ(platform_usable_memory(&plat, res, -1, out, 64), 1);
    plat.nmem = 1000;  /* clamped to PLAT_MAX_MEM */
    EXPECT_EQ(platform_usable_memory(&plat, NULL, 0, out, 64), 1);
}
