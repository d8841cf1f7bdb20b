/*
 * virtio-net (virtio 1.x section 5.1): raw Ethernet frames through the I/O
 * model. Each device registers two I/O devices: "<name>.tx" takes
 * IO_OP_SEND requests straight onto the transmit queue (frame buffers are
 * read by the device in place), "<name>.rx" takes IO_OP_RECV requests,
 * which wait in the driver until a frame arrives.
 *
 * Receiving: the driver owns NET_RX_BUFS buffers, all posted to the receive
 * queue. A received frame stays in its buffer until a RECV request takes it
 * (copied out), then the buffer is posted again (refill). With no RECV
 * waiting, frames queue up in the buffers and then in the device (QEMU holds
 * them back while no buffer is posted): nothing is dropped by the driver
 * except frames the device reports with an impossible length (counted).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/io.h>
#include <kernel/mm.h>
#include "virtio.h"

#define NET_F_MAC        5
#define NET_CFG_MAC      0
#define NET_RXQ          0
#define NET_TXQ          1
#define NET_QUEUE_MAX    64
#define NET_RX_BUFS      32
#define NET_BUF_SIZE     2048u
#define NET_FRAME_MIN    14u     /* an Ethernet header */
#define NET_FRAME_MAX    1514u   /* header + 1500 bytes, no FCS */
#define NET_TX_DEPTH     32
#define NET_HDR_SLOT     16u
#define NET_WAIT_CAP     64

struct net {
    struct io_dev tx, rx;
    struct virtio_dev *vd;
    uint32_t hdr_len;                    /* 10 (legacy) or 12 (VERSION_1) */
    uint8_t *rx_mem;                     /* NET_RX_BUFS x NET_BUF_SIZE */
    uint8_t *tx_hdrs;                    /* NET_TX_DEPTH zeroed headers */
    uint16_t tx_free[NET_TX_DEPTH];
    int ntx_free;
    /* Frames received, not yet taken: buffer index and frame length. */
    uint16_t ready[NET_RX_BUFS];
    uint32_t ready_len[NET_RX_BUFS];
    unsigned ready_head, ready_count;
    /* RECV requests waiting for a frame (linked through done_next). */
    struct io_req *recv_head, *recv_tail;
    uint64_t rx_frames, rx_bad, rx_too_big, tx_frames;
};

static int nnet;

static int tx_check(struct io_dev *d, const struct io_req *r)
{
    (void)d;
    if (r->op != IO_OP_SEND)
        return -ENOTSUP;
    return r->buf && r->len >= NET_FRAME_MIN && r->len <= NET_FRAME_MAX ? 0 : -EINVAL;
}

static int tx_start(struct io_dev *d, struct io_req *r)
{
    int rc = tx_check(d, r);
    if (rc < 0)
        return rc;
    struct net *n = d->priv;
    if (n->ntx_free == 0)
        return -EIO;   /* cannot happen: the ioq hands out at most NET_TX_DEPTH */
    uint16_t slot = n->tx_free[--n->ntx_free];
    struct virtq_buf bufs[2] = {
        {(uintptr_t)(n->tx_hdrs + slot * NET_HDR_SLOT), n->hdr_len, false},
        {(uintptr_t)r->buf, r->len, false},
    };
    r->slot = slot;
    if (virtq_add(&n->vd->vq[NET_TXQ], bufs, 2, r) < 0) {
        n->tx_free[n->ntx_free++] = slot;
        return -EIO;
    }
    virtio_notify(n->vd, NET_TXQ);
    return 0;
}

static int rx_check(struct io_dev *d, const struct io_req *r)
{
    (void)d;
    if (r->op != IO_OP_RECV)
        return -ENOTSUP;
    return r->buf && r->len ? 0 : -EINVAL;
}

static void rx_post(struct net *n, unsigned i)
{
    uint8_t *buf = n->rx_mem + i * NET_BUF_SIZE;
    struct virtq_buf b = {(uintptr_t)buf, NET_BUF_SIZE, true};
    if (virtq_add(&n->vd->vq[NET_RXQ], &b, 1, buf) < 0)
        n->rx_bad++;   /* only if the queue broke: the device is failing anyway */
}

/* With the rx lock held: hand waiting frames to waiting RECV requests. */
static void rx_match(struct net *n)
{
    bool posted = false;
    while (n->ready_count && n->recv_head) {
        struct io_req *r = n->recv_head;
        n->recv_head = r->done_next;
        if (!n->recv_head)
            n->recv_tail = NULL;
        unsigned i = n->ready[n->ready_head];
        uint32_t len = n->ready_len[n->ready_head];
        n->ready_head = (n->ready_head + 1) % NET_RX_BUFS;
        n->ready_count--;
        if (len > r->len) {
            n->rx_too_big++;
            io_complete_locked(&n->rx, r, -EMSGSIZE);
        } else {
            memcpy(r->buf, n->rx_mem + i * NET_BUF_SIZE + n->hdr_len, len);
            io_complete_locked(&n->rx, r, (int32_t)len);
        }
        rx_post(n, i);
        posted = true;
    }
    if (posted && !n->vd->failed)
        virtio_notify(n->vd, NET_RXQ);
}

static int rx_start(struct io_dev *d, struct io_req *r)
{
    int rc = rx_check(d, r);
    if (rc < 0)
        return rc;
    struct net *n = d->priv;
    r->done_next = NULL;
    if (n->recv_tail)
        n->recv_tail->done_next = r;
    else
        n->recv_head = r;
    n->recv_tail = r;
    struct io_req *listed = d->done.tail;
    rx_match(n);
    return d->done.tail != listed;   /* > 0: frames completed receives at once */
}

static bool rx_cancel(struct io_dev *d, struct io_req *r, int32_t result)
{
    struct net *n = d->priv;
    for (struct io_req **p = &n->recv_head, *prev = NULL; *p; prev = *p, p = &(*p)->done_next) {
        if (*p != r)
            continue;
        *p = r->done_next;
        if (n->recv_tail == r)
            n->recv_tail = prev;
        io_complete_locked(d, r, result);
        return true;
    }
    return false;
}

struct drain_ctx {
    struct net *n;
};

static void fail_tx(void *cookie, void *arg)
{
    struct drain_ctx *c = arg;
    struct io_req *r = cookie;
    c->n->tx_free[c->n->ntx_free++] = (uint16_t)r->slot;
    io_complete_locked(&c->n->tx, r, -EIO);
}

static void drop_rx(void *cookie, void *arg)
{
    (void)cookie;
    (void)arg;
}

/* With the tx lock held: stop the device, fail what it holds. The rx side
 * is failed by the next rx pass (net_irq). */
static void net_shutdown(struct net *n, const char *why)
{
    if (!n->vd->failed)
        printf("SR: %s: %s; device reset and failed\n", n->tx.name, why);
    virtio_fail(n->vd);
    io_dev_fail(&n->tx);
    struct drain_ctx c = {n};
    virtq_drain(&n->vd->vq[NET_TXQ], fail_tx, &c);
}

static void tx_abort(struct io_dev *d, struct io_req *r)
{
    (void)r;
    net_shutdown(d->priv, "send timed out at the device");
}

static void net_irq(struct virtio_dev *vd)
{
    struct net *n = vd->priv;
    void *cookie;
    uint32_t len;
    bool len_ok;
    int rc;

    uint64_t flags = spin_lock_irqsave(&n->tx.lock);
    while ((rc = virtq_get(&vd->vq[NET_TXQ], &cookie, &len, &len_ok)) == 1) {
        struct io_req *r = cookie;
        n->tx_free[n->ntx_free++] = (uint16_t)r->slot;
        n->tx_frames += len_ok;
        io_complete_locked(&n->tx, r, len_ok ? (int32_t)r->len : -EIO);
    }
    if (rc == VIRTQ_BROKEN)
        net_shutdown(n, "bad used-ring entry (transmit)");
    io_dev_unlock(&n->tx, flags);

    flags = spin_lock_irqsave(&n->rx.lock);
    while (!vd->failed && (rc = virtq_get(&vd->vq[NET_RXQ], &cookie, &len, &len_ok)) == 1) {
        unsigned i = (unsigned)(((uint8_t *)cookie - n->rx_mem) / NET_BUF_SIZE);
        if (!len_ok || len < n->hdr_len + NET_FRAME_MIN) {
            n->rx_bad++;          /* nothing usable in it: post it again */
            rx_post(n, i);
            continue;
        }
        n->rx_frames++;
        unsigned tail = (n->ready_head + n->ready_count) % NET_RX_BUFS;
        n->ready[tail] = (uint16_t)i;
        n->ready_len[tail] = len - n->hdr_len;
        n->ready_count++;
    }
    if (rc == VIRTQ_BROKEN && !vd->failed) {
        printf("SR: %s: bad used-ring entry (receive); device reset and failed\n", n->rx.name);
        virtio_fail(vd);
    }
    if (vd->failed && !io_dev_failed(&n->rx)) {
        io_dev_fail(&n->rx);
        io_dev_fail(&n->tx);
        virtq_drain(&vd->vq[NET_RXQ], drop_rx, NULL);
        n->ready_count = 0;
        while (n->recv_head) {
            struct io_req *r = n->recv_head;
            n->recv_head = r->done_next;
            io_complete_locked(&n->rx, r, -EIO);
        }
        n->recv_tail = NULL;
    }
    rx_match(n);
    io_dev_unlock(&n->rx, flags);
}

static const struct io_dev_ops tx_ops = {.check = tx_check, .start = tx_start, .abort = tx_abort};
static const struct io_dev_ops rx_ops = {.check = rx_check, .start = rx_start, .cancel = rx_cancel};

static int net_probe(struct virtio_dev *vd)
{
    int rc = virtio_negotiate(vd, 1ull << NET_F_MAC);
    if (rc < 0)
        return rc;
    if ((rc = virtio_setup_queue(vd, NET_RXQ, NET_QUEUE_MAX)) < 0 ||
        (rc = virtio_setup_queue(vd, NET_TXQ, NET_QUEUE_MAX)) < 0)
        return rc;
    if (vd->vq[NET_RXQ].size < NET_RX_BUFS || vd->vq[NET_TXQ].size < 2)
        return -ENOSPC;
    struct net *n = calloc(1, sizeof(*n));
    unsigned order = 0;
    while ((PAGE_SIZE << order) < NET_RX_BUFS * NET_BUF_SIZE)
        order++;
    uint8_t *rx_mem = pages_alloc(order), *hdrs = page_alloc();
    if (!n || !rx_mem || !hdrs) {
        free(n);
        if (rx_mem)
            pages_free(rx_mem, order);
        if (hdrs)
            page_free(hdrs);
        return -ENOMEM;
    }
    memset(hdrs, 0, PAGE_SIZE);   /* no offloads: every transmit header is zero */
    n->vd = vd;
    n->rx_mem = rx_mem;
    n->tx_hdrs = hdrs;
    n->hdr_len = virtio_has(vd, VIRTIO_F_VERSION_1) ? 12 : 10;
    uint32_t depth = vd->vq[NET_TXQ].size / 2;
    if (depth > NET_TX_DEPTH)
        depth = NET_TX_DEPTH;
    for (uint32_t i = 0; i < depth; i++)
        n->tx_free[n->ntx_free++] = (uint16_t)i;
    uint8_t mac[6] = {0};
    if (virtio_has(vd, NET_F_MAC)) {
        uint32_t lo = virtio_config32(vd, NET_CFG_MAC), hi = virtio_config32(vd, NET_CFG_MAC + 4);
        for (int i = 0; i < 4; i++)
            mac[i] = (uint8_t)(lo >> (8 * i));
        mac[4] = (uint8_t)hi;
        mac[5] = (uint8_t)(hi >> 8);
    }
    int idx = nnet++;
    struct io_dev *devs[2] = {&n->tx, &n->rx};
    for (int k = 0; k < 2; k++) {
        devs[k]->priv = n;
        devs[k]->irq = vd->irq;
        memcpy(devs[k]->mac, mac, 6);
        snprintf(devs[k]->name, sizeof(devs[k]->name), "virtio-net%d.%s", idx, k ? "rx" : "tx");
    }
    n->tx.ops = &tx_ops;
    n->tx.cls = IO_DEV_NET_TX;
    n->rx.ops = &rx_ops;
    n->rx.cls = IO_DEV_NET_RX;
    io_dev_init(&n->tx, depth, NET_WAIT_CAP);
    io_dev_init(&n->rx, NET_RX_BUFS, NET_WAIT_CAP);
    for (unsigned i = 0; i < NET_RX_BUFS; i++)
        rx_post(n, i);
    vd->priv = n;
    rc = virtio_go(vd, net_irq);
    if (rc < 0)
        return rc;   /* the buffers stay with the (never started) device */
    virtio_notify(vd, NET_RXQ);
    io_dev_register(&n->tx);
    io_dev_register(&n->rx);
    printf("SR: virtio-net%d at 0x%llx (%s, irq %u): mac %02x:%02x:%02x:%02x:%02x:%02x, "
           "%u sends in flight, %u receive buffers\n", idx, (unsigned long long)vd->base,
           vd->version == 1 ? "legacy" : "modern", vd->irq, mac[0], mac[1], mac[2], mac[3],
           mac[4], mac[5], depth, NET_RX_BUFS);
    return 0;
}

static const struct virtio_driver virtio_net = {"virtio-net", VIRTIO_ID_NET, net_probe};
VIRTIO_DRIVER(virtio_net);
