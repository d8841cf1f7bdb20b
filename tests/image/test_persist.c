/*
 * Persistence (kernel/blkrec.h) on the runner's scratch disk. In a two-boot
 * configuration ("boots": 2) the first boot writes records and the second
 * ("sr.boot=2") finds them intact; any other io configuration runs the
 * first boot's half.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/blkrec.h>
#include <kernel/cmdline.h>
#include <kernel/io.h>
#include <sr_test.h>
#include "io_test.h"

#define MIB (1024u * 1024)
#define NREC 6

/* Record i: a length and contents that depend only on i. */
static uint32_t rec_len(int i) { return 40u + (uint32_t)i * 900u; }
static void rec_fill(uint8_t *p, int i)
{
    uint32_t x = 0x9e3779b9u * (uint32_t)(i + 1);
    for (uint32_t k = 0; k < rec_len(i); k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[k] = (uint8_t)x;
    }
}

static int boot_number(void)
{
    char v[8];
    return cmdline_value("sr.boot", v, sizeof(v)) ? atoi(v) : 1;
}

static void expect_records(struct blkrec_log *log, int n)
{
    uint8_t *want = malloc(8192), *got = malloc(8192);
    EXPECT_EQ(log->count, n);
    for (int i = 0; i < n; i++) {
        rec_fill(want, i);
        memset(got, 0, 8192);
        EXPECT_EQ(blkrec_read(log, (uint32_t)i, got, 8192), rec_len(i));
        EXPECT_TRUE(memcmp(want, got, rec_len(i)) == 0);
    }
    EXPECT_EQ(blkrec_read(log, (uint32_t)n, got, 8192), -ENOENT);
    free(want);
    free(got);
}

static struct blkrec_log log_a, log_b;

TEST(persist, records_survive_a_reboot)
{
    struct io_dev *d = io_scratch_disk();
    if (!d)
        return;
    int boot = boot_number();
    EXPECT_EQ(blkrec_open(&log_a, d, 12 * MIB, 2 * MIB), 0);
    if (boot == 1) {
        EXPECT_EQ(log_a.count, 0);   /* a fresh scratch disk */
        uint8_t *p = malloc(8192);
        for (int i = 0; i < NREC; i++) {
            rec_fill(p, i);
            EXPECT_EQ(blkrec_append(&log_a, p, rec_len(i)), 0);
        }
        free(p);
        EXPECT_EQ(blkrec_open(&log_a, d, 12 * MIB, 2 * MIB), 0);   /* as a reboot sees it */
        expect_records(&log_a, NREC);
    } else {
        expect_records(&log_a, NREC);   /* written by the first boot */
        uint8_t *p = malloc(8192);
        rec_fill(p, NREC);
        EXPECT_EQ(blkrec_append(&log_a, p, rec_len(NREC)), 0);
        free(p);
        EXPECT_EQ(blkrec_open(&log_a, d, 12 * MIB, 2 * MIB), 0);
        expect_records(&log_a, NREC + 1);
    }
}

TEST(persist, erase_full_and_bad_regions)
{
    struct io_dev *d = io_scratch_disk();
    if (!d)
        return;
    uint8_t *p = malloc(8192);
    /* Three records, erased, then one new one: the stale second and third
     * must not join the new log. */
    EXPECT_EQ(blkrec_open(&log_b, d, 15 * MIB, 64 * 1024), 0);
    EXPECT_EQ(blkrec_erase(&log_b), 0);
    for (int i = 0; i < 3; i++) {
        rec_fill(p, i);
        EXPECT_EQ(blkrec_append(&log_b, p, rec_len(i)), 0);
    }
    EXPECT_EQ(blkrec_erase(&log_b), 0);
    EXPECT_EQ(blkrec_open(&log_b, d, 15 * MIB, 64 * 1024), 0);
    EXPECT_EQ(log_b.count, 0);
    rec_fill(p, 0);
    EXPECT_EQ(blkrec_append(&log_b, p, rec_len(0)), 0);
    EXPECT_EQ(blkrec_open(&log_b, d, 15 * MIB, 64 * 1024), 0);
    expect_records(&log_b, 1);
    /* A region of two blocks takes one two-block record, then is full. */
    EXPECT_EQ(blkrec_open(&log_b, d, 15 * MIB + 128 * 1024, 1024), 0);
    EXPECT_EQ(blkrec_erase(&log_b), 0);
    EXPECT_EQ(blkrec_append(&log_b, p, 600), 0);
    EXPECT_EQ(blkrec_append(&log_b, p, 1), -ENOSPC);
    EXPECT_EQ(log_b.count, 1);
    EXPECT_EQ(blkrec_append(&log_b, p, BLKREC_MAX_LEN + 1), -EINVAL);
    /* Regions that do not fit the disk or its blocks. */
    EXPECT_EQ(blkrec_open(&log_b, d, 100, 4096), -EINVAL);
    EXPECT_EQ(blkrec_open(&log_b, d, d->capacity, 4096), -EINVAL);
    EXPECT_EQ(blkrec_open(&log_b, d, 0, d->capacity + 512), -EINVAL);
    EXPECT_EQ(blkrec_open(&log_b, d, 0, 0), -EINVAL);
    free(p);
}
