/*
 * virtio-blk (virtio 1.x section 5.2): read, write and flush requests from
 * the I/O model (kernel/io.h), many in flight, completed from the device's
 * interrupt. Capacity and block size come from the device's configuration
 * and are checked; the status byte the device writes becomes the result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/io.h>
#include <kernel/mm.h>
#include "virtio.h"

#define BLK_F_RO        5
#define BLK_F_BLK_SIZE  6
#define BLK_F_FLUSH     9
#define BLK_CFG_CAPACITY  0     /* u64, 512-byte sectors */
#define BLK_CFG_BLK_SIZE  20    /* u32 */
#define BLK_T_IN     0
#define BLK_T_OUT    1
#define BLK_T_FLUSH  4
#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define BLK_S_UNSUPP 2
#define SECTOR       512u
#define BLK_QUEUE_MAX  128
#define BLK_DEPTH_MAX  32
#define BLK_WAIT_CAP   64

/* What the device reads (header) and writes (status) for one request:
 * one per slot, in a page of their own (device-visible RAM). */
struct blk_slot_dma {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
    uint8_t status;
    uint8_t pad[15];
};

struct blk {
    struct io_dev io;
    struct virtio_dev *vd;
    struct blk_slot_dma *dma;
    uint16_t free_slots[BLK_DEPTH_MAX];
    int nfree;
    bool read_only;
};

static int nblk;

static int blk_check(struct io_dev *d, const struct io_req *r)
{
    struct blk *b = d->priv;
    switch (r->op) {
    case IO_OP_FLUSH:
        return virtio_has(b->vd, BLK_F_FLUSH) ? 0 : -ENOTSUP;
    case IO_OP_WRITE:
        if (b->read_only)
            return -EROFS;
        /* fallthrough */
    case IO_OP_READ:
        /* block_size is a power of two (checked at probe): a mask, no division. */
        if (!r->buf || r->len == 0 || ((r->len | r->pos) & (d->block_size - 1)))
            return -EINVAL;
        if (r->pos > d->capacity || r->len > d->capacity - r->pos)
            return -ERANGE;
        return 0;
    default:
        return -ENOTSUP;
    }
}

static int blk_start(struct io_dev *d, struct io_req *r)
{
    int rc = blk_check(d, r);
    if (rc < 0)
        return rc;
    struct blk *b = d->priv;
    if (b->nfree == 0)
        return -EIO;   /* cannot happen: the ioq hands out at most depth */
    uint16_t slot = b->free_slots[--b->nfree];
    struct blk_slot_dma *s = &b->dma[slot];
    s->type = r->op == IO_OP_READ ? BLK_T_IN : r->op == IO_OP_WRITE ? BLK_T_OUT : BLK_T_FLUSH;
    s->reserved = 0;
    s->sector = r->op == IO_OP_FLUSH ? 0 : r->pos / SECTOR;
    s->status = 0xff;   /* anything the device does not overwrite is an error */
    struct virtq_buf bufs[3];
    int n = 0;
    bufs[n++] = (struct virtq_buf){(uintptr_t)s, 16, false};
    if (r->op != IO_OP_FLUSH)
        bufs[n++] = (struct virtq_buf){(uintptr_t)r->buf, r->len, r->op == IO_OP_READ};
    bufs[n++] = (struct virtq_buf){(uintptr_t)&s->status, 1, true};
    r->slot = slot;
    int head = virtq_add(&b->vd->vq[0], bufs, n, r);
    if (head < 0) {
        b->free_slots[b->nfree++] = slot;
        return -EIO;
    }
    virtio_notify(b->vd, 0);
    return 0;
}

struct drain_ctx {
    struct blk *b;
};

static void fail_one(void *cookie, void *arg)
{
    struct drain_ctx *c = arg;
    struct io_req *r = cookie;
    c->b->free_slots[c->b->nfree++] = (uint16_t)r->slot;
    io_complete_locked(&c->b->io, r, -EIO);
}

/* With the lock held: stop the device and fail everything it holds. */
static void blk_shutdown(struct blk *b, const char *why)
{
    virtio_fail(b->vd);
    io_dev_fail(&b->io);
    struct drain_ctx c = {b};
    virtq_drain(&b->vd->vq[0], fail_one, &c);
    printf("SR: %s: %s; device reset and failed\n", b->io.name, why);
}

static void blk_abort(struct io_dev *d, struct io_req *r)
{
    (void)r;
    blk_shutdown(d->priv, "request timed out at the device");
}

static void blk_irq(struct virtio_dev *vd)
{
    struct blk *b = vd->priv;
    uint64_t flags = spin_lock_irqsave(&b->io.lock);
    void *cookie;
    uint32_t len;
    bool len_ok;
    int rc;
    while ((rc = virtq_get(&vd->vq[0], &cookie, &len, &len_ok)) == 1) {
        struct io_req *r = cookie;
        uint8_t st = b->dma[r->slot].status;
        b->free_slots[b->nfree++] = (uint16_t)r->slot;
        int32_t result;
        if (!len_ok)
            result = -EIO;            /* the device claimed more than it may write */
        else if (st == BLK_S_OK)
            result = r->op == IO_OP_FLUSH ? 0 : (int32_t)r->len;
        else if (st == BLK_S_UNSUPP)
            result = -ENOTSUP;
        else
            result = -EIO;            /* BLK_S_IOERR or a value no device may write */
        io_complete_locked(&b->io, r, result);
    }
    if (rc == VIRTQ_BROKEN)
        blk_shutdown(b, "bad used-ring entry");
    io_dev_unlock(&b->io, flags);
}

static const struct io_dev_ops blk_ops = {
    .check = blk_check,
    .start = blk_start,
    .abort = blk_abort,
};

static int blk_probe(struct virtio_dev *vd)
{
    int rc = virtio_negotiate(vd, 1ull << BLK_F_RO | 1ull << BLK_F_BLK_SIZE | 1ull << BLK_F_FLUSH);
    if (rc < 0)
        return rc;
    uint64_t sectors = virtio_config64(vd, BLK_CFG_CAPACITY);
    uint32_t bs = virtio_has(vd, BLK_F_BLK_SIZE) ? virtio_config32(vd, BLK_CFG_BLK_SIZE) : SECTOR;
    if (bs < SECTOR || bs > 65536 || (bs & (bs - 1))) {
        printf("SR: virtio-blk: block size %u from the device is invalid, using %u\n", bs, SECTOR);
        bs = SECTOR;
    }
    if (sectors > UINT64_MAX / SECTOR)
        return -EINVAL;   /* a capacity no byte offset can address */
    rc = virtio_setup_queue(vd, 0, BLK_QUEUE_MAX);
    if (rc < 0)
        return rc;
    struct blk *b = calloc(1, sizeof(*b));
    void *dma = page_alloc();
    if (!b || !dma) {
        free(b);
        if (dma)
            page_free(dma);
        return -ENOMEM;
    }
    memset(dma, 0, PAGE_SIZE);
    uint32_t depth = vd->vq[0].size / 3;   /* three descriptors per request */
    if (depth > BLK_DEPTH_MAX)
        depth = BLK_DEPTH_MAX;
    if (depth == 0)
        depth = 1;
    if (vd->vq[0].size < 3) {
        page_free(dma);
        free(b);
        return -ENOSPC;
    }
    b->vd = vd;
    b->dma = dma;
    for (uint32_t i = 0; i < depth; i++)
        b->free_slots[b->nfree++] = (uint16_t)(depth - 1 - i);
    b->read_only = virtio_has(vd, BLK_F_RO);
    b->io.ops = &blk_ops;
    b->io.priv = b;
    b->io.cls = IO_DEV_BLK;
    b->io.capacity = sectors * SECTOR / bs * bs;
    b->io.block_size = bs;
    snprintf(b->io.name, sizeof(b->io.name), "virtio-blk%d", nblk++);
    b->io.irq = vd->irq;
    vd->priv = b;
    io_dev_init(&b->io, depth, BLK_WAIT_CAP);
    rc = virtio_go(vd, blk_irq);
    if (rc < 0) {
        page_free(dma);
        free(b);
        return rc;
    }
    io_dev_register(&b->io);
    printf("SR: %s at 0x%llx (%s, irq %u): %llu bytes, block %u, %u in flight%s%s\n",
           b->io.name, (unsigned long long)vd->base, vd->version == 1 ? "legacy" : "modern",
           vd->irq, (unsigned long long)b->io.capacity, bs, depth,
           virtio_has(vd, BLK_F_FLUSH) ? ", flush" : "", b->read_only ? ", read-only" : "");
    return 0;
}

static const struct virtio_driver virtio_blk = {"virtio-blk", VIRTIO_ID_BLK, blk_probe};
VIRTIO_DRIVER(virtio_blk);
