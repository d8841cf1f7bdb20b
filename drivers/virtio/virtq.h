/*
 * Split virtqueues (virtio 1.x section 2.7; legacy layout of 0.9.5): the
 * driver side of the rings, pure C (host-tested against a fault-injecting
 * fake device). No locking: the owner serialises calls.
 *
 * Nothing the device writes is trusted. The driver keeps its own copy of
 * every chain (free list, chain links, the bytes the device may write), so
 * a device scribbling on the shared rings can at worst fail requests:
 *  - a used entry whose id is out of range or not a chain in flight (also a
 *    duplicate completion), or a used index that runs ahead of what is in
 *    flight, breaks the queue (VIRTQ_BROKEN): the device must be reset, and
 *    virtq_drain then hands back every chain in flight;
 *  - a used length larger than the chain's device-writable bytes fails
 *    that one request (virtq_get reports it; the chain is reclaimed).
 */
#ifndef DRIVERS_VIRTQ_H
#define DRIVERS_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[];
};

/* One buffer of a chain: device-readable (out) or device-writable (in). */
struct virtq_buf {
    uint64_t addr;           /* physical (= virtual in SR's identity map) */
    uint32_t len;
    bool device_writes;
};

struct virtq {
    uint16_t size;           /* entries, a power of two */
    uint16_t nfree;
    uint16_t free_head;
    uint16_t last_used;      /* next used index to consume */
    uint16_t avail_idx;      /* our copy of avail->idx */
    uint16_t nchains;        /* chains in flight */
    bool broken;
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    /* Private, per descriptor: free-list/chain link, and per chain head:
     * the cookie (NULL = not in flight), writable bytes, chain length. */
    uint16_t *link;
    void **cookie;
    uint32_t *in_len;
    uint16_t *chain_len;
    uint64_t completed, bad_len, bad_id;
};

/* Bytes of ring memory for size entries, the used ring at align. */
size_t virtq_ring_bytes(uint16_t size, size_t align);
/* Set up vq over zeroed ring memory: descriptors, then the available ring,
 * then the used ring at the next multiple of align (legacy: the page size
 * the device was given; modern: 4). 0, or -EINVAL
 * (size not a power of two in [1, 32768]), -ENOMEM (private arrays). */
int virtq_init(struct virtq *vq, void *ring, uint16_t size, size_t align);
void virtq_destroy(struct virtq *vq);
/* Chain nbufs buffers (device-readable ones first) and publish it with
 * cookie (non-NULL). Returns the head id, -ENOSPC when too few free
 * descriptors, -EINVAL for a bad chain, -EIO if the queue is broken. */
int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, int nbufs, void *cookie);
/* Should the device be notified (it did not ask to be spared)? */
bool virtq_need_notify(const struct virtq *vq);
/* Take the next completion: 1 with *cookie and *len (len_ok false if the
 * device claimed more bytes than the chain can hold: fail the request);
 * 0 if none; VIRTQ_BROKEN if the device wrote garbage (see above). */
#define VIRTQ_BROKEN (-71)
int virtq_get(struct virtq *vq, void **cookie, uint32_t *len, bool *len_ok);
/* After a device reset: reclaim every chain in flight, calling fn on each
 * cookie. The queue is empty and no longer broken afterwards. */
void virtq_drain(struct virtq *vq, void (*fn)(void *cookie, void *arg), void *arg);
#endif
