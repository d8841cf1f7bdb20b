/*
 * virtio-rng / entropy device (virtio 1.x section 5.4): IO_OP_RANDOM
 * requests from the I/O model fill up to len bytes of entropy; the result
 * is how many bytes the device wrote (never more than asked: a longer
 * length from the device fails the request).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <kernel/io.h>
#include "virtio.h"

#define RNG_QUEUE_MAX 64
#define RNG_WAIT_CAP  32

struct rng {
    struct io_dev io;
    struct virtio_dev *vd;
};

static int nrng;

static int rng_check(struct io_dev *d, const struct io_req *r)
{
    (void)d;
    if (r->op != IO_OP_RANDOM)
        return -ENOTSUP;
    return r->buf && r->len ? 0 : -EINVAL;
}

static int rng_start(struct io_dev *d, struct io_req *r)
{
    int rc = rng_check(d, r);
    if (rc < 0)
        return rc;
    struct rng *g = d->priv;
    struct virtq_buf buf = {(uintptr_t)r->buf, r->len, true};
    if (virtq_add(&g->vd->vq[0], &buf, 1, r) < 0)
        return -EIO;
    virtio_notify(g->vd, 0);
    return 0;
}

struct drain_ctx {
    struct rng *g;
};

static void fail_one(void *cookie, void *arg)
{
    struct drain_ctx *c = arg;
    io_complete_locked(&c->g->io, cookie, -EIO);
}

static void rng_shutdown(struct rng *g, const char *why)
{
    virtio_fail(g->vd);
    io_dev_fail(&g->io);
    struct drain_ctx c = {g};
    virtq_drain(&g->vd->vq[0], fail_one, &c);
    printf("SR: %s: %s; device reset and failed\n", g->io.name, why);
}

static void rng_abort(struct io_dev *d, struct io_req *r)
{
    (void)r;
    rng_shutdown(d->priv, "request timed out at the device");
}

static void rng_irq(struct virtio_dev *vd)
{
    struct rng *g = vd->priv;
    uint64_t flags = spin_lock_irqsave(&g->io.lock);
    void *cookie;
    uint32_t len;
    bool len_ok;
    int rc;
    while ((rc = virtq_get(&vd->vq[0], &cookie, &len, &len_ok)) == 1)
        io_complete_locked(&g->io, cookie, len_ok ? (int32_t)len : -EIO);
    if (rc == VIRTQ_BROKEN)
        rng_shutdown(g, "bad used-ring entry");
    io_dev_unlock(&g->io, flags);
}

static const struct io_dev_ops rng_ops = {
    .check = rng_check,
    .start = rng_start,
    .abort = rng_abort,
};

static int rng_probe(struct virtio_dev *vd)
{
    int rc = virtio_negotiate(vd, 0);
    if (rc < 0)
        return rc;
    rc = virtio_setup_queue(vd, 0, RNG_QUEUE_MAX);
    if (rc < 0)
        return rc;
    struct rng *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->vd = vd;
    g->io.ops = &rng_ops;
    g->io.priv = g;
    g->io.cls = IO_DEV_RNG;
    snprintf(g->io.name, sizeof(g->io.name), "virtio-rng%d", nrng++);
    g->io.irq = vd->irq;
    vd->priv = g;
    io_dev_init(&g->io, vd->vq[0].size, RNG_WAIT_CAP);
    rc = virtio_go(vd, rng_irq);
    if (rc < 0) {
        free(g);
        return rc;
    }
    io_dev_register(&g->io);
    printf("SR: %s at 0x%llx (%s, irq %u)\n", g->io.name, (unsigned long long)vd->base,
           vd->version == 1 ? "legacy" : "modern", vd->irq);
    return 0;
}

static const struct virtio_driver virtio_rng = {"virtio-rng", VIRTIO_ID_RNG, rng_probe};
VIRTIO_DRIVER(virtio_rng);
