/*
 * A device that breaks the virtqueue protocol, or never answers, fails its
 * requests and itself, not the system: a duplicate used-ring entry is
 * injected into the scratch disk's queue as a misbehaving device would
 * write it; the entropy device's interrupt is held off so that a request at
 * the device times out. Runs after every other user of these devices (last
 * in link order): they stay failed for the rest of this boot.
 */
#include <errno.h>
#include <stdlib.h>
#include <arch/cpu.h>
#include <kernel/irq.h>
#include <kernel/io.h>
#include <sr_test.h>
#include "io_test.h"
#include "../../drivers/virtio/virtio.h"

TEST(io_hostile, duplicate_completion_fails_the_device_not_the_system)
{
    struct io_dev *d = io_scratch_disk();
    if (!d)
        return;
    struct virtio_dev *vd = NULL;
    for (int i = 0; (vd = virtio_dev_find(VIRTIO_ID_BLK, i)) && vd->irq != d->irq; i++)
        ;
    EXPECT_TRUE(vd != NULL);
    if (!vd)
        return;
    uint8_t *buf = malloc(2 * 512);
    struct io_req waiting;
    /* A request that waits in the queue while the device goes bad. */
    io_plug(d);
    io_req_init(&waiting, IO_OP_READ, QOS_DEFAULT, 0, buf + 512, 512);
    EXPECT_EQ(io_submit(d, &waiting), 0);
    /* The device is idle (the scratch disk's last request completed): post
     * the last completion a second time, as a buggy device would. */
    EXPECT_EQ(ioq_active(&d->q), 0);
    uint64_t flags = spin_lock_irqsave(&d->lock);
    struct virtq *vq = &vd->vq[0];
    uint16_t idx = vq->used->idx;
    vq->used->ring[idx & (vq->size - 1)] = vq->used->ring[(uint16_t)(idx - 1) & (vq->size - 1)];
    __atomic_store_n(&vq->used->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
    spin_unlock_irqrestore(&d->lock, flags);
    vd->irq_fn(vd);   /* what the device's interrupt would run */
    EXPECT_TRUE(vd->failed);
    EXPECT_TRUE(io_dev_failed(d));
    EXPECT_EQ(vq->bad_id, 1);
    io_unplug(d);
    EXPECT_EQ(io_wait(&waiting, WAIT_FOREVER), -EIO);
    struct io_req after;
    io_req_init(&after, IO_OP_READ, QOS_DEFAULT, 0, buf, 512);
    EXPECT_EQ(io_submit(d, &after), -EIO);
    free(buf);
}

TEST(io_hostile, timeout_at_the_device_resets_it)
{
    if (!io_expected("rng"))
        return;
    struct io_dev *g = io_dev_find(IO_DEV_RNG, 0);
    EXPECT_TRUE(g != NULL);
    if (!g)
        return;
    uint8_t *buf = malloc(64);
    struct io_req r, after;
    /* The device answers, but its interrupt never arrives. */
    irq_disable(g->irq);
    io_req_init(&r, IO_OP_RANDOM, QOS_DEFAULT, 0, buf, 64);
    EXPECT_EQ(io_submit(g, &r), 0);
    EXPECT_EQ(ioq_active(&g->q), 1);   /* at the device, not waiting in the queue */
    EXPECT_EQ(io_wait(&r, 2 * 1000 * 1000), -ETIMEDOUT);
    EXPECT_TRUE(io_dev_failed(g));            /* reset: it can no longer write into buf */
    EXPECT_EQ(ioq_active(&g->q), 0);
    irq_enable(g->irq);
    io_req_init(&after, IO_OP_RANDOM, QOS_DEFAULT, 0, buf, 64);
    EXPECT_EQ(io_submit(g, &after), -EIO);
    free(buf);
}
