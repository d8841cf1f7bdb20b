/*
 * virtio-mmio transport (see virtio.h). Register offsets from the virtio
 * 1.x spec, section 4.2.2 (modern) and 4.2.4 (legacy).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arch/cpu.h>
#include <arch/io.h>
#include <arch/sysreg.h>
#include <kernel/irq.h>
#include <kernel/mm.h>
#include <kernel/smp.h>
#include "virtio.h"

#define VM_MAGIC            0x000   /* "virt" */
#define VM_VERSION          0x004
#define VM_DEVICE_ID        0x008
#define VM_DEVICE_FEATURES  0x010
#define VM_DEVICE_FEAT_SEL  0x014
#define VM_DRIVER_FEATURES  0x020
#define VM_DRIVER_FEAT_SEL  0x024
#define VM_GUEST_PAGE_SIZE  0x028   /* legacy */
#define VM_QUEUE_SEL        0x030
#define VM_QUEUE_NUM_MAX    0x034
#define VM_QUEUE_NUM        0x038
#define VM_QUEUE_ALIGN      0x03c   /* legacy */
#define VM_QUEUE_PFN        0x040   /* legacy */
#define VM_QUEUE_READY      0x044
#define VM_QUEUE_NOTIFY     0x050
#define VM_INT_STATUS       0x060
#define VM_INT_ACK          0x064
#define VM_STATUS           0x070
#define VM_QUEUE_DESC_LO    0x080
#define VM_QUEUE_DESC_HI    0x084
#define VM_QUEUE_AVAIL_LO   0x090
#define VM_QUEUE_AVAIL_HI   0x094
#define VM_QUEUE_USED_LO    0x0a0
#define VM_QUEUE_USED_HI    0x0a4
#define VM_CONFIG_GEN       0x0fc
#define VM_CONFIG           0x100

#define VM_MAGIC_VALUE      0x74726976u
#define ST_ACK              1u
#define ST_DRIVER           2u
#define ST_DRIVER_OK        4u
#define ST_FEATURES_OK      8u
#define ST_FAILED           128u

#define LEGACY_PAGE         4096u

extern const struct virtio_driver *const __start_sr_virtio_drivers[];
extern const struct virtio_driver *const __stop_sr_virtio_drivers[];

static struct virtio_dev devs[PLAT_MAX_VIRTIO];

static uint32_t rd(const struct virtio_dev *vd, unsigned off) { return mmio_read32(vd->base + off); }
static void wr(const struct virtio_dev *vd, unsigned off, uint32_t v) { mmio_write32(vd->base + off, v); }

int virtio_negotiate(struct virtio_dev *vd, uint64_t wanted)
{
    wr(vd, VM_STATUS, 0);
    wr(vd, VM_STATUS, ST_ACK);
    wr(vd, VM_STATUS, ST_ACK | ST_DRIVER);
    uint64_t offered = 0;
    int words = vd->version == 1 ? 1 : 2;
    for (int w = 0; w < words; w++) {
        wr(vd, VM_DEVICE_FEAT_SEL, (uint32_t)w);
        offered |= (uint64_t)rd(vd, VM_DEVICE_FEATURES) << (32 * w);
    }
    if (vd->version >= 2) {
        if (!((offered >> VIRTIO_F_VERSION_1) & 1))
            return -EIO;
        wanted |= 1ull << VIRTIO_F_VERSION_1;
    }
    vd->features = offered & wanted;
    for (int w = 0; w < words; w++) {
        wr(vd, VM_DRIVER_FEAT_SEL, (uint32_t)w);
        wr(vd, VM_DRIVER_FEATURES, (uint32_t)(vd->features >> (32 * w)));
    }
    if (vd->version == 1) {
        wr(vd, VM_GUEST_PAGE_SIZE, LEGACY_PAGE);
        return 0;
    }
    wr(vd, VM_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    return (rd(vd, VM_STATUS) & ST_FEATURES_OK) ? 0 : -EIO;
}

int virtio_setup_queue(struct virtio_dev *vd, unsigned idx, uint16_t max)
{
    if (idx >= VIRTIO_MAX_QUEUES)
        return -ENODEV;
    wr(vd, VM_QUEUE_SEL, idx);
    if (vd->version >= 2 ? rd(vd, VM_QUEUE_READY) : rd(vd, VM_QUEUE_PFN))
        return -EBUSY;
    uint32_t dev_max = rd(vd, VM_QUEUE_NUM_MAX);
    if (dev_max == 0)
        return -ENODEV;
    uint16_t size = 1;
    while ((uint32_t)size * 2 <= dev_max && size * 2 <= max)
        size = (uint16_t)(size * 2);
    size_t align = vd->version == 1 ? LEGACY_PAGE : 4;
    size_t bytes = virtq_ring_bytes(size, align);
    unsigned order = 0;
    while ((PAGE_SIZE << order) < bytes)
        order++;
    void *ring = pages_alloc(order);
    if (!ring)
        return -ENOMEM;
    memset(ring, 0, PAGE_SIZE << order);
    struct virtq *vq = &vd->vq[idx];
    if (virtq_init(vq, ring, size, align) != 0) {
        pages_free(ring, order);
        return -ENOMEM;
    }
    wr(vd, VM_QUEUE_NUM, size);
    if (vd->version == 1) {
        wr(vd, VM_QUEUE_ALIGN, LEGACY_PAGE);
        wr(vd, VM_QUEUE_PFN, (uint32_t)((uintptr_t)ring / LEGACY_PAGE));
    } else {
        uint64_t d = (uintptr_t)vq->desc, a = (uintptr_t)vq->avail, u = (uintptr_t)vq->used;
        wr(vd, VM_QUEUE_DESC_LO, (uint32_t)d);
        wr(vd, VM_QUEUE_DESC_HI, (uint32_t)(d >> 32));
        wr(vd, VM_QUEUE_AVAIL_LO, (uint32_t)a);
        wr(vd, VM_QUEUE_AVAIL_HI, (uint32_t)(a >> 32));
        wr(vd, VM_QUEUE_USED_LO, (uint32_t)u);
        wr(vd, VM_QUEUE_USED_HI, (uint32_t)(u >> 32));
        wr(vd, VM_QUEUE_READY, 1);
    }
    if ((int)idx >= vd->nqueues)
        vd->nqueues = (int)idx + 1;
    return 0;
}

/* The device's SPI: acknowledge what it raised, let the driver collect. */
static void virtio_irq(uint32_t intid, void *arg)
{
    (void)intid;
    struct virtio_dev *vd = arg;
    uint32_t st = rd(vd, VM_INT_STATUS);
    wr(vd, VM_INT_ACK, st);
    if (vd->irq_fn && !vd->failed)
        vd->irq_fn(vd);
}

int virtio_go(struct virtio_dev *vd, void (*irq_fn)(struct virtio_dev *vd))
{
    vd->irq_fn = irq_fn;
    if (irq_register(vd->irq, virtio_irq, vd) != 0)
        return -EBUSY;
    irq_set_edge(vd->irq, false);   /* the line stays up until acknowledged */
    irq_route(vd->irq, smp_boot_cpu());
    irq_enable(vd->irq);
    uint32_t st = ST_ACK | ST_DRIVER | ST_DRIVER_OK | (vd->version >= 2 ? ST_FEATURES_OK : 0);
    wr(vd, VM_STATUS, st);
    return 0;
}

/* Config reads retry while a modern device's config generation changes
 * under them; a device that never settles gets what was read last (its
 * values are checked by the driver like any other). */
#define CONFIG_RETRIES 16

uint32_t virtio_config32(struct virtio_dev *vd, unsigned off)
{
    if (vd->version == 1)
        return rd(vd, VM_CONFIG + off);
    uint32_t gen, v;
    int tries = 0;
    do {
        gen = rd(vd, VM_CONFIG_GEN);
        v = rd(vd, VM_CONFIG + off);
    } while (rd(vd, VM_CONFIG_GEN) != gen && ++tries < CONFIG_RETRIES);
    return v;
}

uint64_t virtio_config64(struct virtio_dev *vd, unsigned off)
{
    uint32_t gen = 0, lo, hi;
    for (int tries = 0;; tries++) {
        if (vd->version >= 2)
            gen = rd(vd, VM_CONFIG_GEN);
        lo = rd(vd, VM_CONFIG + off);
        hi = rd(vd, VM_CONFIG + off + 4);
        if (vd->version == 1 || rd(vd, VM_CONFIG_GEN) == gen || tries + 1 >= CONFIG_RETRIES)
            break;
    }
    return (uint64_t)hi << 32 | lo;
}

void virtio_notify(struct virtio_dev *vd, unsigned idx)
{
    if (!virtq_need_notify(&vd->vq[idx]))
        return;
    dsb(st);   /* ring writes reach memory before the device looks */
    wr(vd, VM_QUEUE_NOTIFY, idx);
}

void virtio_fail(struct virtio_dev *vd)
{
    /* A reset is complete when the device reads back 0 (spec 4.2.2.1);
     * QEMU's is immediate, a device that never says so is left failed. */
    wr(vd, VM_STATUS, 0);
    for (int i = 0; i < 1000 && rd(vd, VM_STATUS) != 0; i++)
        arch_cpu_relax();
    vd->failed = true;
}

struct virtio_dev *virtio_dev_find(uint32_t device_id, int index)
{
    for (int i = 0; i < PLAT_MAX_VIRTIO; i++)
        if (devs[i].device_id == device_id && devs[i].irq_fn && index-- == 0)
            return &devs[i];
    return NULL;
}

static const struct virtio_driver *find_driver(uint32_t id)
{
    for (const struct virtio_driver *const *d = __start_sr_virtio_drivers;
         d < __stop_sr_virtio_drivers; d++)
        if ((*d)->device_id == id)
            return *d;
    return NULL;
}

int virtio_init(const struct platform *plat)
{
    int bound = 0;
    for (int i = 0; i < plat->nvirtio; i++) {
        struct virtio_dev *vd = &devs[i];
        vd->base = plat->virtio[i].reg.base;
        vd->irq = plat->virtio[i].irq;
        if (plat->virtio[i].reg.size < 0x200 || rd(vd, VM_MAGIC) != VM_MAGIC_VALUE)
            continue;
        vd->version = rd(vd, VM_VERSION);
        vd->device_id = rd(vd, VM_DEVICE_ID);
        if (vd->device_id == 0)
            continue;   /* an empty slot */
        const struct virtio_driver *drv = find_driver(vd->device_id);
        const char *layout = vd->version == 1 ? "legacy" : "modern";
        if (vd->version != 1 && vd->version != 2) {
            printf("SR: virtio at 0x%llx: unknown version %u, ignored\n",
                   (unsigned long long)vd->base, vd->version);
            continue;
        }
        if (!drv) {
            printf("SR: virtio at 0x%llx: device id %u (%s), no driver\n",
                   (unsigned long long)vd->base, vd->device_id, layout);
            continue;
        }
        int rc = drv->probe(vd);
        if (rc < 0) {
            wr(vd, VM_STATUS, ST_FAILED);
            printf("SR: virtio at 0x%llx: %s failed to start (%d)\n",
                   (unsigned long long)vd->base, drv->name, rc);
            continue;
        }
        bound++;
    }
    return bound;
}
