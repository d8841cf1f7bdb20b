/*
 * A device that breaks the virtqueue protocol fails its requests and
 * itself, not the system: a duplicate used-ring entry is injected into the
 * scratch disk's queue as a misbehaving device would write it. Runs after
 * every other user of the scratch disk (last in link order): the disk stays
 * failed for the rest of this boot.
 */
#include <errno.h>
#include <stdlib.h>
#include <arch/cpu.h>
#include <kernel/io.h>
#include <sr_test.h>
#include "io_test.h"
#include "../../drivers/virtio/virtio.h"

TEST(io_hostile, duplicate_completion_fails_the_device_not_the_system)
{
    struct io_dev *d = io_scratch_disk();
    if (!d)
        return;
    struct virtio_dev *vd = virtio_dev_find(VIRTIO_ID_BLK, 0);
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
    EXPECT_TRUE(d->failed);
    EXPECT_EQ(vq->bad_id, 1);
    io_unplug(d);
    EXPECT_EQ(io_wait(&waiting, WAIT_FOREVER), -EIO);
    struct io_req after;
    io_req_init(&after, IO_OP_READ, QOS_DEFAULT, 0, buf, 512);
    EXPECT_EQ(io_submit(d, &after), -EIO);
    free(buf);
}
