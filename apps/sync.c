/*
 * The "sync" demo app: background-class disk traffic through the I/O model.
 * One task writes 64 KiB chunks of a known pattern over a region of the
 * demo disk, flushes every 16 chunks, reads each chunk back and checks it;
 * its requests carry QOS_BACKGROUND, so they queue behind any other class.
 * It only writes to a disk whose first bytes are "SR-DEMO-DISK\n" (make run
 * attaches one, build/<board>/demo-disk.img), after the first 4 KiB.
 */
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/app.h>
#include <kernel/io.h>
#include <kernel/task.h>
#include "demo.h"

#define SYNC_MAGIC "SR-DEMO-DISK\n"
#define SYNC_CHUNK (64u * 1024)
#define SYNC_START 4096u
#define SYNC_REGION (8u * 1024 * 1024)

struct sync_state {
    _Atomic bool stop;
    struct io_dev *disk;
    struct io_req req;
    uint8_t *wbuf, *rbuf;
    uint64_t written, read, flushes, mismatches;
    int error;
};

static int32_t disk_io(struct sync_state *s, enum io_op op, uint64_t pos, void *buf, uint32_t len)
{
    io_req_init(&s->req, op, QOS_BACKGROUND, pos, buf, len);
    return io_sync(s->disk, &s->req, WAIT_FOREVER);
}

static int64_t syncer(void *arg)
{
    struct sync_state *s = arg;
    uint64_t region = s->disk->capacity - SYNC_START;
    if (region > SYNC_REGION)
        region = SYNC_REGION;
    uint64_t chunks = region / SYNC_CHUNK;
    for (uint64_t n = 0; !atomic_load(&s->stop); n++) {
        uint64_t pos = SYNC_START + (n % chunks) * SYNC_CHUNK;
        for (uint32_t i = 0; i < SYNC_CHUNK / 8; i++)
            ((uint64_t *)s->wbuf)[i] = n * 0x9e3779b97f4a7c15ull + i;
        int32_t r = disk_io(s, IO_OP_WRITE, pos, s->wbuf, SYNC_CHUNK);
        if (r < 0)
            return s->error = r;
        s->written += SYNC_CHUNK;
        if (n % 16 == 15) {
            if ((r = disk_io(s, IO_OP_FLUSH, 0, NULL, 0)) < 0)
                return s->error = r;
            s->flushes++;
        }
        if ((r = disk_io(s, IO_OP_READ, pos, s->rbuf, SYNC_CHUNK)) < 0)
            return s->error = r;
        s->read += SYNC_CHUNK;
        s->mismatches += memcmp(s->wbuf, s->rbuf, SYNC_CHUNK) != 0;
    }
    return 0;
}

/* The first blk device that carries the demo disk's magic, or NULL. */
static struct io_dev *demo_disk(struct sync_state *s)
{
    for (int i = 0; (s->disk = io_dev_find(IO_DEV_BLK, i)) != NULL; i++) {
        if (s->disk->capacity < SYNC_START + SYNC_CHUNK)
            continue;
        if (disk_io(s, IO_OP_READ, 0, s->rbuf, 4096) >= 0 &&
            memcmp(s->rbuf, SYNC_MAGIC, strlen(SYNC_MAGIC)) == 0)
            return s->disk;
    }
    return NULL;
}

int sync_app_start(struct demo_app *d)
{
    struct sync_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    d->state = s;
    s->wbuf = malloc(SYNC_CHUNK);
    s->rbuf = malloc(SYNC_CHUNK);
    if (!s->wbuf || !s->rbuf)
        return -ENOMEM;
    if (!demo_disk(s)) {
        s->error = -ENODEV;
        return 0;   /* nothing to do: reported, not a failure of the demo */
    }
    struct task_attr a = {.name = "sync", .qos = QOS_BACKGROUND, .app = d->app};
    d->tasks[0] = task_spawn(syncer, s, &a);
    if (!d->tasks[0])
        return -errno;
    d->ntasks = 1;
    return 0;
}

void sync_app_stop(struct demo_app *d)
{
    atomic_store(&((struct sync_state *)d->state)->stop, true);
}

void sync_app_report(struct demo_app *d, char *buf, size_t len)
{
    struct sync_state *s = d->state;
    if (s->error == -ENODEV)
        snprintf(buf, len, "no demo disk attached (make run attaches one)");
    else if (s->error)
        snprintf(buf, len, "disk error %d after %llu KiB written", s->error,
                 (unsigned long long)(s->written / 1024));
    else
        snprintf(buf, len, "%llu KiB written, %llu KiB read back, %llu flushes, %llu mismatches",
                 (unsigned long long)(s->written / 1024), (unsigned long long)(s->read / 1024),
                 (unsigned long long)s->flushes, (unsigned long long)s->mismatches);
    free(s->wbuf);
    free(s->rbuf);
    free(s);
}
