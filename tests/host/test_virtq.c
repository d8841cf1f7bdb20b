/*
 * drivers/virtio/virtq.c against a fake device that works on the shared
 * ring memory as a device would (walks chains from the available ring,
 * fills device-writable buffers, posts used entries, possibly out of
 * order) and can misbehave: bad ids, ids of non-head descriptors, duplicate
 * completions, lengths beyond the chain, a used index that runs ahead,
 * scribbles over the descriptor table. Plus a seeded fuzz loop.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host_test.h"
#include "../../drivers/virtio/virtq.h"

enum fault { F_NONE, F_BAD_ID, F_NOT_HEAD, F_DUP, F_BIG_LEN, F_IDX_JUMP };

struct fake_dev {
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t size, last_avail, used_idx;
    uint32_t last_id;
    uintptr_t dma_base, dma_len;   /* what the device may write (an IOMMU window) */
    /* Chains taken from the available ring, not yet completed. */
    uint32_t pending[256], pending_len[256], pending_second[256];
    int npending;
};

static void fake_attach(struct fake_dev *f, struct virtq *vq)
{
    memset(f, 0, sizeof(*f));
    f->desc = vq->desc;
    f->avail = vq->avail;
    f->used = vq->used;
    f->size = vq->size;
}

/* Take every new chain off the available ring, fill its writable buffers. */
static void fake_fetch(struct fake_dev *f)
{
    while (f->last_avail != f->avail->idx && f->npending < 256) {
        uint32_t head = f->avail->ring[f->last_avail++ % f->size], d = head, writable = 0;
        uint32_t second = head;
        for (int hops = 0; hops < f->size; hops++) {   /* a device bounds its walk too */
            struct virtq_desc *x = &f->desc[d % f->size];
            if (x->flags & VIRTQ_DESC_F_WRITE) {
                if (x->addr >= f->dma_base && x->len <= f->dma_len &&
                    x->addr - f->dma_base <= f->dma_len - x->len)
                    memset((void *)(uintptr_t)x->addr, 0xA5, x->len);
                writable += x->len;
            }
            if (!(x->flags & VIRTQ_DESC_F_NEXT))
                break;
            d = x->next;
            if (hops == 0)
                second = d;
        }
        f->pending[f->npending] = head;
        f->pending_second[f->npending] = second;
        f->pending_len[f->npending++] = writable;
    }
}

static void post(struct fake_dev *f, uint32_t id, uint32_t len)
{
    f->used->ring[f->used_idx % f->size].id = id;
    f->used->ring[f->used_idx % f->size].len = len;
    f->used_idx++;
    __atomic_store_n(&f->used->idx, f->used_idx, __ATOMIC_RELEASE);
    f->last_id = id;
}

/* Complete pending chain k (in any order), with a fault. */
static void fake_complete(struct fake_dev *f, int k, enum fault fault)
{
    uint32_t id = f->pending[k], len = f->pending_len[k];
    switch (fault) {
    case F_BAD_ID: id = f->size + 3; break;
    case F_NOT_HEAD: id = f->pending_second[k]; break;
    case F_DUP: id = f->last_id; break;
    case F_BIG_LEN: len += 100; break;
    case F_IDX_JUMP:
        f->used_idx = (uint16_t)(f->used_idx + 5);
        __atomic_store_n(&f->used->idx, f->used_idx, __ATOMIC_RELEASE);
        return;
    case F_NONE: break;
    }
    post(f, id, len);
    f->pending[k] = f->pending[--f->npending];
    f->pending_len[k] = f->pending_len[f->npending];
    f->pending_second[k] = f->pending_second[f->npending];
}

struct rig {
    struct virtq vq;
    void *ring;
    struct fake_dev dev;
    uint8_t *data;     /* buffers: 64 bytes per cookie slot */
};

static void rig_init(struct rig *r, uint16_t size)
{
    size_t bytes = virtq_ring_bytes(size, 4096);
    r->ring = aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    memset(r->ring, 0, bytes);
    EXPECT_EQ(virtq_init(&r->vq, r->ring, size, 4096), 0);
    r->data = calloc(1024, 64);
    fake_attach(&r->dev, &r->vq);
    r->dev.dma_base = (uintptr_t)r->data;
    r->dev.dma_len = 1024 * 64;
}

static void rig_free(struct rig *r)
{
    virtq_destroy(&r->vq);
    free(r->ring);
    free(r->data);
}

/* A request: one readable header, n - 1 writable 16-byte buffers. */
static int add_req(struct rig *r, int slot, int n)
{
    struct virtq_buf b[4];
    b[0] = (struct virtq_buf){(uintptr_t)(r->data + slot * 64), 16, false};
    for (int i = 1; i < n; i++)
        b[i] = (struct virtq_buf){(uintptr_t)(r->data + slot * 64 + 16 * i), 16, true};
    return virtq_add(&r->vq, b, n, r->data + slot * 64);
}

TEST(virtq, bad_setup_and_chains)
{
    struct virtq vq;
    char ring[64];
    EXPECT_EQ(virtq_init(&vq, ring, 3, 4096), -EINVAL);
    EXPECT_EQ(virtq_init(&vq, ring, 0, 4096), -EINVAL);
    struct rig r;
    rig_init(&r, 8);
    struct virtq_buf in_first[2] = {{(uintptr_t)r.data, 16, true}, {(uintptr_t)r.data + 16, 16, false}};
    EXPECT_EQ(virtq_add(&r.vq, in_first, 2, r.data), -EINVAL);
    struct virtq_buf empty = {(uintptr_t)r.data, 0, false};
    EXPECT_EQ(virtq_add(&r.vq, &empty, 1, r.data), -EINVAL);
    EXPECT_EQ(virtq_add(&r.vq, in_first, 0, r.data), -EINVAL);
    EXPECT_EQ(virtq_add(&r.vq, in_first + 1, 1, NULL), -EINVAL);
    EXPECT_EQ(r.vq.nfree, 8);
    rig_free(&r);
}

TEST(virtq, round_trip_out_of_order)
{
    struct rig r;
    rig_init(&r, 16);
    int heads[5];
    for (int i = 0; i < 5; i++) {
        heads[i] = add_req(&r, i, 3);
        EXPECT_GE(heads[i], 0);
    }
    EXPECT_EQ(r.vq.nfree, 1);
    EXPECT_EQ(add_req(&r, 5, 3), -ENOSPC);      /* full: nothing changed */
    EXPECT_EQ(r.vq.nfree, 1);
    EXPECT_TRUE(virtq_need_notify(&r.vq));
    fake_fetch(&r.dev);
    EXPECT_EQ(r.dev.npending, 5);
    /* Complete in the order 4, 0, 3, 1, 2 (swap-remove order). */
    int seen[5] = {0};
    while (r.dev.npending) {
        fake_complete(&r.dev, r.dev.npending - 1, F_NONE);
        void *c;
        uint32_t len;
        bool ok;
        EXPECT_EQ(virtq_get(&r.vq, &c, &len, &ok), 1);
        EXPECT_TRUE(ok);
        EXPECT_EQ(len, 32);
        int slot = (int)(((uint8_t *)c - r.data) / 64);
        EXPECT_TRUE(slot >= 0 && slot < 5);
        if (slot >= 0 && slot < 5)
            seen[slot]++;
        EXPECT_EQ(r.data[slot * 64 + 16], 0xA5);   /* the device wrote it */
    }
    for (int i = 0; i < 5; i++)
        EXPECT_EQ(seen[i], 1);
    void *c;
    uint32_t len;
    bool ok;
    EXPECT_EQ(virtq_get(&r.vq, &c, &len, &ok), 0);
    EXPECT_EQ(r.vq.nfree, 16);
    EXPECT_EQ(r.vq.nchains, 0);
    rig_free(&r);
}

static int drained[1024];
static void count_drain(void *cookie, void *arg)
{
    struct rig *r = arg;
    drained[((uint8_t *)cookie - r->data) / 64]++;
}

/* One fault; returns what virtq_get said about the faulty completion. */
static int one_fault(enum fault fault, bool *len_ok_out)
{
    struct rig r;
    rig_init(&r, 16);
    memset(drained, 0, sizeof(drained));
    for (int i = 0; i < 4; i++)
        add_req(&r, i, 2);
    fake_fetch(&r.dev);
    fake_complete(&r.dev, 0, F_NONE);
    void *c;
    uint32_t len;
    bool ok;
    EXPECT_EQ(virtq_get(&r.vq, &c, &len, &ok), 1);
    fake_complete(&r.dev, 0, fault);
    int rc = virtq_get(&r.vq, &c, &len, &ok);
    *len_ok_out = ok;
    if (rc == VIRTQ_BROKEN) {
        EXPECT_EQ(virtq_get(&r.vq, &c, &len, &ok), VIRTQ_BROKEN);   /* stays broken */
        EXPECT_EQ(add_req(&r, 9, 2), -EIO);
        virtq_drain(&r.vq, count_drain, &r);
        int total = 0;
        for (int i = 0; i < 16; i++) {
            EXPECT_LE(drained[i], 1);
            total += drained[i];
        }
        EXPECT_EQ(total, 3);                 /* every chain in flight, once */
        EXPECT_EQ(r.vq.nfree, 16);
        EXPECT_GE(add_req(&r, 9, 2), 0);     /* usable after the reset */
    }
    rig_free(&r);
    return rc;
}

TEST(virtq, hostile_completions)
{
    bool ok;
    EXPECT_EQ(one_fault(F_BAD_ID, &ok), VIRTQ_BROKEN);
    EXPECT_EQ(one_fault(F_NOT_HEAD, &ok), VIRTQ_BROKEN);
    EXPECT_EQ(one_fault(F_DUP, &ok), VIRTQ_BROKEN);
    EXPECT_EQ(one_fault(F_IDX_JUMP, &ok), VIRTQ_BROKEN);
    EXPECT_EQ(one_fault(F_BIG_LEN, &ok), 1);
    EXPECT_TRUE(!ok);
}

TEST(virtq, scribbled_descriptors_do_not_corrupt_the_free_list)
{
    struct rig r;
    rig_init(&r, 8);
    for (int i = 0; i < 2; i++)
        add_req(&r, i, 3);
    fake_fetch(&r.dev);
    /* The device rewrites every descriptor's next/flags. */
    for (int i = 0; i < 8; i++) {
        r.vq.desc[i].next = 0xffff;
        r.vq.desc[i].flags = 0xffff;
    }
    while (r.dev.npending)
        fake_complete(&r.dev, 0, F_NONE);
    void *c;
    uint32_t len;
    bool ok;
    int got = 0;
    while (virtq_get(&r.vq, &c, &len, &ok) == 1)
        got++;
    EXPECT_EQ(got, 2);
    EXPECT_EQ(r.vq.nfree, 8);
    /* Every descriptor can be handed out again, each exactly once. */
    int heads = 0;
    while (add_req(&r, heads, 1) >= 0)
        heads++;
    EXPECT_EQ(heads, 8);
    uint8_t used[8] = {0};
    for (int i = 0; i < 8; i++)
        used[r.vq.avail->ring[(2 + i) % 8]]++;
    for (int i = 0; i < 8; i++)
        EXPECT_EQ(used[i], 1);
    rig_free(&r);
}

/* Random adds, fetches, in- and out-of-order completions, faults and ring
 * scribbles: every cookie comes back at most once while in flight, exactly
 * once overall (get or drain), and the free count always balances. */
TEST(virtq, fuzz)
{
    enum { SLOTS = 48, STEPS = 100000 };
    srand(4242);
    struct rig r;
    rig_init(&r, 32);
    int state[SLOTS] = {0};   /* 0 idle, 1 in flight */
    int nbufs[SLOTS] = {0};
    uint64_t returned = 0, added = 0, broken = 0, bad_len = 0;
    for (int step = 0; step < STEPS; step++) {
        int act = rand() % 10;
        if (act < 4) {
            int s = rand() % SLOTS;
            if (state[s] == 0) {
                int n = 1 + rand() % 3;
                int rc = add_req(&r, s, n);
                if (rc >= 0) {
                    state[s] = 1;
                    nbufs[s] = n;
                    added++;
                } else {
                    EXPECT_TRUE(rc == -ENOSPC || rc == -EIO);
                }
            }
        } else if (act < 5) {
            fake_fetch(&r.dev);
        } else if (act < 8 && r.dev.npending) {
            int k = rand() % r.dev.npending;
            int f = rand() % 200;
            enum fault fault = f < 4 ? (enum fault)(1 + f) : f == 4 ? F_IDX_JUMP : F_NONE;
            fake_complete(&r.dev, k, fault);
        } else if (act < 9 && rand() % 50 == 0) {
            /* Scribble a random byte of the shared ring memory. */
            size_t bytes = virtq_ring_bytes(32, 4096);
            ((uint8_t *)r.ring)[rand() % bytes] = (uint8_t)rand();
        } else {
            void *c;
            uint32_t len;
            bool ok;
            int rc;
            while ((rc = virtq_get(&r.vq, &c, &len, &ok)) == 1) {
                int s = (int)(((uint8_t *)c - r.data) / 64);
                EXPECT_TRUE(s >= 0 && s < SLOTS);
                if (s < 0 || s >= SLOTS)
                    break;
                EXPECT_EQ(state[s], 1);
                state[s] = 0;
                returned++;
                bad_len += !ok;
            }
            if (rc == VIRTQ_BROKEN) {
                broken++;
                memset(drained, 0, sizeof(drained));
                virtq_drain(&r.vq, count_drain, &r);
                for (int s = 0; s < SLOTS; s++) {
                    EXPECT_EQ(drained[s], state[s]);
                    if (drained[s])
                        returned++;
                    state[s] = 0;
                }
                /* The reset device starts afresh too. */
                fake_attach(&r.dev, &r.vq);
                r.dev.dma_base = (uintptr_t)r.data;
                r.dev.dma_len = 1024 * 64;
            }
        }
        uint32_t in_flight = 0;
        for (int s = 0; s < SLOTS; s++)
            in_flight += state[s] ? (uint32_t)nbufs[s] : 0;
        EXPECT_EQ(r.vq.nfree + in_flight, 32);
    }
    EXPECT_GT(added, 1000);
    EXPECT_GT(broken, 5);
    EXPECT_GT(bad_len, 5);
    EXPECT_LE(returned, added);
    rig_free(&r);
}
