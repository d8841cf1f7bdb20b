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

/* The runner's scratch disk (checked by its header), or NULL when none was
 * attached; a missing or foreign disk when one was promised fails the test. */
static inline struct io_dev *io_scratch_disk(void)
{
    if (!io_expected("blk"))
        return NULL;
    struct io_dev *d = io_dev_find(IO_DEV_BLK, 0);
    if (!d) {
        test_fail(__FILE__, __LINE__, "sr.io names blk but no virtio-blk device was bound");
        return NULL;
    }
    char *hdr = malloc(d->block_size);
    struct io_req r;
    io_req_init(&r, IO_OP_READ, QOS_DEFAULT, 0, hdr, d->block_size);
    int32_t rc = io_sync(d, &r, WAIT_FOREVER);
    bool ok = rc == (int32_t)d->block_size &&
              memcmp(hdr, IO_DISK_MAGIC, strlen(IO_DISK_MAGIC)) == 0;
    free(hdr);
    if (!ok) {
        test_fail(__FILE__, __LINE__, "blk0 is not the scratch disk (read %d)", (int)rc);
        return NULL;
    }
    return d;
}

#endif
