/*
 * virtio over MMIO (virtio 1.x section 4.2): the transport shared by the
 * device drivers. Both register layouts: legacy (version 1, QEMU's default)
 * and modern (version 2). Devices come from the DT (platform.virtio[]); a
 * driver binds by device ID (VIRTIO_DRIVER) and is interrupt-driven: the
 * transport acknowledges the SPI and calls the driver's irq function.
 */
#ifndef DRIVERS_VIRTIO_H
#define DRIVERS_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>
#include <kernel/platform.h>
#include "virtq.h"

#define VIRTIO_ID_NET   1
#define VIRTIO_ID_BLK   2
#define VIRTIO_ID_RNG   4
#define VIRTIO_F_VERSION_1  32
#define VIRTIO_MAX_QUEUES   2

struct virtio_dev {
    uintptr_t base;
    uint32_t irq;                /* INTID */
    uint32_t version;            /* 1 legacy, 2 modern */
    uint32_t device_id;
    uint64_t features;           /* negotiated */
    bool failed;                 /* reset after misbehaving: touches no memory */
    struct virtq vq[VIRTIO_MAX_QUEUES];
    int nqueues;
    void (*irq_fn)(struct virtio_dev *vd);   /* the driver's completion handler */
    void *priv;
    char name[16];               /* e.g. "virtio-blk0" */
};

struct virtio_driver {
    const char *name;
    uint32_t device_id;
    int (*probe)(struct virtio_dev *vd);     /* 0, or -errno: device left reset */
};

#define VIRTIO_DRIVER(var)                                                        \
    static const struct virtio_driver *const var##_entry                          \
        __attribute__((used, section("sr_virtio_drivers"))) = &var

/* Boot, task context: probe every virtio-mmio node; bound devices print a
 * line each. Returns how many devices a driver took. */
int virtio_init(const struct platform *plat);

/* The index-th bound device with that device ID, or NULL (tests). */
struct virtio_dev *virtio_dev_find(uint32_t device_id, int index);

/* Driver helpers (probe time). */
/* Reset, acknowledge, offer wanted features (VERSION_1 is added for modern
 * devices), check FEATURES_OK. 0, or -EIO when the device refuses. */
int virtio_negotiate(struct virtio_dev *vd, uint64_t wanted);
/* Queue idx with at most max entries (a power of two no larger than the
 * device allows). 0, -ENODEV (no such queue), -ENOMEM. */
int virtio_setup_queue(struct virtio_dev *vd, unsigned idx, uint16_t max);
/* Interrupt on, DRIVER_OK. 0 or -EBUSY (IRQ taken). */
int virtio_go(struct virtio_dev *vd, void (*irq_fn)(struct virtio_dev *vd));
/* A 32-bit or 64-bit field of the device configuration (consistent: retried
 * while the modern config generation changes). */
uint32_t virtio_config32(struct virtio_dev *vd, unsigned off);
uint64_t virtio_config64(struct virtio_dev *vd, unsigned off);
/* Tell the device queue idx has new buffers (if it wants to know). */
void virtio_notify(struct virtio_dev *vd, unsigned idx);
/* Stop the device (reset: it drops the rings and touches no buffer any
 * more) and mark it failed. */
void virtio_fail(struct virtio_dev *vd);
static inline bool virtio_has(const struct virtio_dev *vd, unsigned bit)
{
    return (vd->features >> bit) & 1;
}

#endif
