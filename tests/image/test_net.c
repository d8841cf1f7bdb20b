/*
 * virtio-net through the I/O model: two devices on one QEMU hub
 * ("sr.io=...,net2"), MACs from their configuration, frames both ways with
 * many in flight (more than the receive buffers, so they are refilled),
 * bad frames refused, receive timeout and cancellation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/io.h>
#include <sr_test.h>
#include "io_test.h"

#define ETHERTYPE 0x88b5   /* IEEE local experimental */
#define NFRAMES   96
#define NRECV     12

static const uint8_t mac_a[6] = {0x52, 0x54, 0x00, 0x53, 0x52, 0x01};
static const uint8_t mac_b[6] = {0x52, 0x54, 0x00, 0x53, 0x52, 0x02};

struct port {
    struct io_dev *tx, *rx;
};

/* The two hub ports, ordered by MAC (probe order follows the DT). */
static bool ports(struct port *a, struct port *b)
{
    if (!io_expected("net2"))
        return false;
    struct port p[2];
    for (int i = 0; i < 2; i++) {
        p[i].tx = io_dev_find(IO_DEV_NET_TX, i);
        p[i].rx = io_dev_find(IO_DEV_NET_RX, i);
        if (!p[i].tx || !p[i].rx) {
            test_fail(__FILE__, __LINE__, "sr.io names net2 but virtio-net %d is missing", i);
            return false;
        }
    }
    int first = memcmp(p[0].tx->mac, mac_a, 6) == 0 ? 0 : 1;
    *a = p[first];
    *b = p[1 - first];
    return true;
}

static uint32_t frame_len(int seq) { return 60u + (uint32_t)(seq * 149) % (1514 - 60 + 1); }

static void make_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, int dir, int seq)
{
    uint32_t len = frame_len(seq);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = ETHERTYPE >> 8;
    f[13] = ETHERTYPE & 0xff;
    f[14] = (uint8_t)dir;
    f[15] = (uint8_t)seq;
    for (uint32_t i = 16; i < len; i++)
        f[i] = (uint8_t)(i * 31 + seq * 7 + dir);
}

TEST(net, macs_from_config)
{
    struct port a, b;
    if (!ports(&a, &b))
        return;
    EXPECT_TRUE(memcmp(a.tx->mac, mac_a, 6) == 0);
    EXPECT_TRUE(memcmp(b.tx->mac, mac_b, 6) == 0);
    EXPECT_TRUE(memcmp(a.rx->mac, a.tx->mac, 6) == 0);
}

/* NFRAMES frames from one port to the other, all sends submitted at once
 * (the queue holds what the device cannot), NRECV receives kept posted. */
static void one_way(struct port *from, struct port *to, int dir)
{
    struct io_req *tx = calloc(NFRAMES, sizeof(*tx)), *rx = calloc(NRECV, sizeof(*rx));
    uint8_t *out = malloc(NFRAMES * 1514), *in = malloc(NRECV * 1536), *want = malloc(1514);
    int seen[NFRAMES] = {0};
    for (int k = 0; k < NRECV; k++) {
        io_req_init(&rx[k], IO_OP_RECV, QOS_DEFAULT, 0, in + k * 1536, 1536);
        EXPECT_EQ(io_submit(to->rx, &rx[k]), 0);
    }
    int sent = 0;
    for (int s = 0; s < NFRAMES; s++) {
        make_frame(out + s * 1514, to->tx->mac, from->tx->mac, dir, s);
        io_req_init(&tx[s], IO_OP_SEND, QOS_DEFAULT, 0, out + s * 1514, frame_len(s));
        sent += io_submit(from->tx, &tx[s]) == 0;
    }
    EXPECT_EQ(sent, NFRAMES);
    int got = 0, bad = 0;
    for (int n = 0; n < NFRAMES && !bad; n++) {
        int k = n % NRECV;
        int32_t len = io_wait(&rx[k], 30000000000ull);
        uint8_t *f = in + k * 1536;
        int seq = len >= 16 ? f[15] : -1;
        if (seq < 0 || seq >= NFRAMES || (uint32_t)len != frame_len(seq) || f[14] != dir) {
            test_fail(__FILE__, __LINE__, "frame %d: length %d, seq %d", n, (int)len, seq);
            bad = 1;
            break;
        }
        make_frame(want, to->tx->mac, from->tx->mac, dir, seq);
        EXPECT_TRUE(memcmp(f, want, (size_t)len) == 0);
        seen[seq]++;
        got++;
        if (n + NRECV < NFRAMES) {
            io_req_init(&rx[k], IO_OP_RECV, QOS_DEFAULT, 0, f, 1536);
            EXPECT_EQ(io_submit(to->rx, &rx[k]), 0);
        }
    }
    for (int s = 0; s < NFRAMES; s++)
        EXPECT_EQ(io_wait(&tx[s], 30000000000ull), (int32_t)frame_len(s));
    EXPECT_EQ(got, NFRAMES);
    for (int s = 0; s < NFRAMES; s++)
        EXPECT_EQ(seen[s], 1);
    free(tx);
    free(rx);
    free(out);
    free(in);
    free(want);
}

TEST(net, frames_both_ways_many_in_flight)
{
    struct port a, b;
    if (!ports(&a, &b))
        return;
    uint64_t sends = io_dev_completed(a.tx);
    one_way(&a, &b, 1);
    one_way(&b, &a, 2);
    EXPECT_EQ(io_dev_completed(a.tx) - sends, NFRAMES);
    EXPECT_GE(a.tx->q.max_active, 2);   /* sends overlapped at the device */
}

TEST(net, bad_frames_refused)
{
    struct port a, b;
    if (!ports(&a, &b))
        return;
    uint8_t *f = calloc(1, 2048), on_stack[64];
    struct io_req r;
    io_req_init(&r, IO_OP_SEND, QOS_DEFAULT, 0, f, 13);
    EXPECT_EQ(io_submit(a.tx, &r), -EINVAL);
    io_req_init(&r, IO_OP_SEND, QOS_DEFAULT, 0, f, 1515);
    EXPECT_EQ(io_submit(a.tx, &r), -EINVAL);
    io_req_init(&r, IO_OP_SEND, QOS_DEFAULT, 0, on_stack, 60);
    EXPECT_EQ(io_submit(a.tx, &r), -EFAULT);
    io_req_init(&r, IO_OP_RECV, QOS_DEFAULT, 0, f, 2048);
    EXPECT_EQ(io_submit(a.tx, &r), -ENOTSUP);
    io_req_init(&r, IO_OP_SEND, QOS_DEFAULT, 0, f, 60);
    EXPECT_EQ(io_submit(a.rx, &r), -ENOTSUP);
    free(f);
}

TEST(net, receive_timeout_and_cancel)
{
    struct port a, b;
    if (!ports(&a, &b))
        return;
    uint8_t *buf = malloc(2 * 1536);
    struct io_req r1, r2;
    io_req_init(&r1, IO_OP_RECV, QOS_DEFAULT, 0, buf, 1536);
    EXPECT_EQ(io_submit(b.rx, &r1), 0);
    EXPECT_EQ(io_wait(&r1, 3 * 1000 * 1000), -ETIMEDOUT);   /* nobody sends */
    io_req_init(&r2, IO_OP_RECV, QOS_DEFAULT, 0, buf + 1536, 1536);
    EXPECT_EQ(io_submit(b.rx, &r2), 0);
    EXPECT_EQ(io_cancel(&r2), 0);
    EXPECT_TRUE(io_poll(&r2));
    EXPECT_EQ(r2.result, -ECANCELED);
    EXPECT_EQ(ioq_active(&b.rx->q), 0);
    EXPECT_TRUE(!io_dev_failed(b.rx));
    free(buf);
}
