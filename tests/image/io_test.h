/* Helpers of the I/O suites (tests/image/test_io*.c, test_persist.c). */
#ifndef IO_TEST_H
#define IO_TEST_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/cmdline.h>
#include <kernel/io.h>
#include <sr_test.h>

#define IO_DISK_MAGIC "SR-IO-TEST-DISK\n"
#define IO_ERR_DISK_MAGIC "SR-IO-ERROR-DISK\n"
#define IO_ERR_SECTOR 4096   /* scripts/qemu_cmd.py: every access to it fails */

/* Did the runner attach dev ("blk", "rng"): "sr.io=blk,rng"? */
static inline bool io_expected(const char *dev)
{
    char v[64];
    if (!cmdline_value("sr.io", v, sizeof(v)))
        return false;
    for (char *tok = strtok(v, ","); tok; tok = strtok(NULL, ","))
        if (strcmp(tok, dev) == 0)
            return true;
    return false;
}

/* The block device whose first block starts with magic, or NULL. */
static inline struct io_dev *io_find_disk(const char *magic)
{
    struct io_dev *d;
    for (int i = 0; (d = io_dev_find(IO_DEV_BLK, i)); i++) {
        char *hdr = malloc(d->block_size);
        struct io_req r;
        io_req_init(&r, IO_OP_READ, QOS_DEFAULT, 0, hdr, d->block_size);
        int32_t rc = io_sync(d, &r, WAIT_FOREVER);
        bool ok = rc == (int32_t)d->block_size && memcmp(hdr, magic, strlen(magic)) == 0;
        free(hdr);
        if (ok)
            return d;
    }
    return NULL;
}

/* The runner's scratch disk (found by its header), or NULL when none was
 * attached; a missing disk when one was promised fails the test. */
static inline struct io_dev *io_scratch_disk(void)
{
    if (!io_expected("blk"))
        return NULL;
    struct io_dev *d = io_find_disk(IO_DISK_MAGIC);
    if (!d)
        test_fail(__FILE__, __LINE__, "sr.io names blk but no block device is the scratch disk");
    return d;
}

#endif
