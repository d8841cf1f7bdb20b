/*
 * The I/O model on real (QEMU) devices: virtio-blk read/write/flush and its
 * error paths, many requests in flight, virtio-rng, QoS order and "full"
 * under a held-back queue, cancellation and timeout, and the proof that a
 * blocked reader's core idles (no polling).
 *
 * The runner attaches the devices of the configuration's "io" list and says
 * so with "sr.io=blk,rng": then these tests require them; without it they
 * return at once (and never write to a disk that is not the scratch disk). The scratch disk
 * starts with "SR-IO-TEST-DISK\n<size>\n" (scripts/qemu_cmd.py).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/boot.h>
#include <kernel/clock.h>
#include <kernel/cmdline.h>
#include <kernel/io.h>
#include <kernel/irq.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>
#include "io_test.h"

#define KIB 1024u
#define scratch_disk io_scratch_disk

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static int32_t blk_io(struct io_dev *d, enum io_op op, uint64_t pos, void *buf, uint32_t len)
{
    struct io_req r;
    io_req_init(&r, op, QOS_DEFAULT, pos, buf, len);
    return io_sync(d, &r, WAIT_FOREVER);
}

TEST(io, blk_geometry_from_config)
{
    struct io_dev *d = scratch_disk();
    if (!d)
        return;
    char *hdr = malloc(d->block_size);
    EXPECT_EQ(blk_io(d, IO_OP_READ, 0, hdr, d->block_size), d->block_size);
    unsigned long long size = strtoull(hdr + strlen(IO_DISK_MAGIC), NULL, 10);
    EXPECT_EQ(d->capacity, size);
    EXPECT_EQ(d->block_size, 512);
    free(hdr);
}

TEST(io, blk_write_flush_read_round_trip)
{
    struct io_dev *d = scratch_disk();
    if (!d)
        return;
    static const uint32_t sizes[] = {512, 4 * KIB, 64 * KIB, 1024 * KIB};
    for (unsigned k = 0; k < 4; k++) {
        uint32_t n = sizes[k];
        uint8_t *w = malloc(n), *rd = malloc(n);
        fill(w, n, 7 + k + (uint32_t)clock_ns());
        memset(rd, 0, n);
        uint64_t pos = 1024 * KIB + k * 1024 * KIB;
        EXPECT_EQ(blk_io(d, IO_OP_WRITE, pos, w, n), n);
        EXPECT_EQ(blk_io(d, IO_OP_FLUSH, 0, NULL, 0), 0);
        EXPECT_EQ(blk_io(d, IO_OP_READ, pos, rd, n), n);
        EXPECT_TRUE(memcmp(w, rd, n) == 0);
        free(w);
        free(rd);
    }
    /* The last block of the disk works too. */
    uint8_t *b = malloc(512);
    fill(b, 512, 99);
    EXPECT_EQ(blk_io(d, IO_OP_WRITE, d->capacity - 512, b, 512), 512);
    memset(b, 0, 512);
    EXPECT_EQ(blk_io(d, IO_OP_READ, d->capacity - 512, b, 512), 512);
    uint8_t ref[512];
    fill(ref, 512, 99);
    EXPECT_TRUE(memcmp(b, ref, 512) == 0);
    free(b);
}

TEST(io, blk_bad_requests_are_refused)
{
    struct io_dev *d = scratch_disk();
    if (!d)
        return;
    uint8_t *buf = malloc(8 * KIB);
    uint8_t on_stack[512];
    uint64_t submitted = io_dev_submitted(d);
    EXPECT_EQ(blk_io(d, IO_OP_READ, d->capacity, buf, 512), -ERANGE);
    EXPECT_EQ(blk_io(d, IO_OP_READ, d->capacity - 512, buf, 1024), -ERANGE);
    EXPECT_EQ(blk_io(d, IO_OP_WRITE, UINT64_MAX - 511, buf, 512), -ERANGE);
    EXPECT_EQ(blk_io(d, IO_OP_READ, 100, buf, 512), -EINVAL);
    EXPECT_EQ(blk_io(d, IO_OP_READ, 0, buf, 100), -EINVAL);
    EXPECT_EQ(blk_io(d, IO_OP_READ, 0, buf, 0), -EINVAL);
    EXPECT_EQ(blk_io(d, IO_OP_READ, 0, on_stack, 512), -EFAULT);
    EXPECT_EQ(blk_io(d, IO_OP_RANDOM, 0, buf, 512), -ENOTSUP);
    struct io_req r;
    io_req_init(&r, IO_OP_READ, QOS_DEFAULT, 0, buf, 512);
    r.qos = QOS_COUNT;
    EXPECT_EQ(io_submit(d, &r), -EINVAL);
    EXPECT_EQ(io_dev_submitted(d), submitted);   /* none reached the queue */
    EXPECT_TRUE(!io_dev_failed(d));
    free(buf);
}

static _Atomic int callbacks;
static void count_done(struct io_req *r)
{
    (void)r;
    atomic_fetch_add(&callbacks, 1);
}

TEST(io, blk_many_in_flight)
{
    struct io_dev *d = scratch_disk();
    if (!d)
        return;
    enum { N = 64, SZ = 4096 };
    struct io_req *reqs = calloc(N, sizeof(*reqs));
    uint8_t *data = malloc(N * SZ), *back = malloc(N * SZ);
    fill(data, N * SZ, 31337);
    memset(back, 0, N * SZ);
    uint64_t base = 8 * 1024 * KIB;
    /* Writes: all held back, then released together (every slot busy). */
    atomic_store(&callbacks, 0);
    io_plug(d);
    d->q.max_active = 0;
    for (int i = 0; i < N; i++) {
        io_req_init(&reqs[i], IO_OP_WRITE, QOS_DEFAULT, base + (uint64_t)i * SZ, data + i * SZ, SZ);
        reqs[i].done = count_done;
        EXPECT_EQ(io_submit(d, &reqs[i]), 0);
    }
    EXPECT_EQ(ioq_waiting(&d->q), N);
    io_unplug(d);
    for (int i = 0; i < N; i++)
        EXPECT_EQ(io_wait(&reqs[i], WAIT_FOREVER), SZ);
    EXPECT_EQ(atomic_load(&callbacks), N);
    EXPECT_EQ(d->q.max_active, d->q.depth);   /* the device held a full queue */
    /* Reads, straight in: whatever does not fit waits, in order. */
    for (int i = 0; i < N; i++) {
        io_req_init(&reqs[i], IO_OP_READ, QOS_DEFAULT, base + (uint64_t)i * SZ, back + i * SZ, SZ);
        EXPECT_EQ(io_submit(d, &reqs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        EXPECT_EQ(io_wait(&reqs[i], WAIT_FOREVER), SZ);
    EXPECT_TRUE(memcmp(data, back, N * SZ) == 0);
    EXPECT_EQ(ioq_active(&d->q), 0);
    free(reqs);
    free(data);
    free(back);
}

struct sync_call {
    struct io_dev *d;
    struct io_req *r;
    _Atomic int32_t result;
};

static int64_t sync_caller(void *arg)
{
    struct sync_call *c = arg;
    atomic_store(&c->result, io_sync(c->d, c->r, WAIT_FOREVER));
    return 0;
}

TEST(io, full_queue_says_full_and_loses_nothing)
{
    struct io_dev *d = scratch_disk();
    if (!d)
        return;
    uint32_t cap = d->q.cap;
    struct io_req *reqs = calloc(cap + 1, sizeof(*reqs));
    uint8_t *buf = malloc((size_t)(cap + 1) * 512);
    io_plug(d);
    for (uint32_t i = 0; i < cap; i++) {
        io_req_init(&reqs[i], IO_OP_READ, QOS_UTILITY, (uint64_t)i * 512, buf + i * 512, 512);
        EXPECT_EQ(io_submit(d, &reqs[i]), 0);
    }
    uint64_t refused = d->refused_full;
    io_req_init(&reqs[cap], IO_OP_READ, QOS_USER_INTERACTIVE, 0, buf + cap * 512, 512);
    EXPECT_EQ(io_submit(d, &reqs[cap]), -EAGAIN);
    EXPECT_EQ(d->refused_full, refused + 1);
    EXPECT_EQ(ioq_waiting(&d->q), cap);
    /* A blocking caller sleeps until there is room (and is refused once). */
    struct sync_call call = {d, &reqs[cap], 1};
    struct task_attr attr = {.name = "io_sync", .qos = QOS_DEFAULT};
    struct task *t = task_spawn(sync_caller, &call, &attr);
    EXPECT_TRUE(t != NULL);
    /* Wait (test side, in 1 ms sleeps, 10 s at most) until it sleeps on the
     * device's room queue; it must stay there while the queue is full. */
    for (int i = 0; i < 10000 && waitq_empty(&d->space); i++)
        task_sleep_ns(1000 * 1000);
    EXPECT_TRUE(!waitq_empty(&d->space));
    task_sleep_ns(2 * 1000 * 1000);
    EXPECT_EQ(call.result, 1);                    /* still asleep */
    EXPECT_EQ(d->refused_full, refused + 2);
    EXPECT_EQ(ioq_waiting(&d->q), cap);
    io_unplug(d);
    for (uint32_t i = 0; i < cap; i++)
        EXPECT_EQ(io_wait(&reqs[i], WAIT_FOREVER), 512);
    if (t)
        task_join(t, NULL);
    EXPECT_EQ(call.result, 512);
    free(reqs);
    free(buf);
}

TEST(io, qos_order_under_a_full_queue)
{
    struct io_dev *d = scratch_disk();
    if (!d)
        return;
    enum { NBG = 12, NUI = 4 };
    struct io_req *bg = calloc(NBG, sizeof(*bg)), *ui = calloc(NUI, sizeof(*ui));
    uint8_t *buf = malloc((NBG + NUI) * 4096);
    io_plug(d);
    uint64_t base = d->q.dispatched;
    for (int i = 0; i < NBG; i++) {
        io_req_init(&bg[i], IO_OP_READ, QOS_BACKGROUND, (uint64_t)i * 4096, buf + i * 4096, 4096);
        EXPECT_EQ(io_submit(d, &bg[i]), 0);
    }
    for (int i = 0; i < NUI; i++) {
        io_req_init(&ui[i], IO_OP_READ, QOS_USER_INTERACTIVE, (uint64_t)i * 4096,
                    buf + (NBG + i) * 4096, 4096);
        EXPECT_EQ(io_submit(d, &ui[i]), 0);
    }
    io_unplug(d);
    for (int i = 0; i < NUI; i++)
        EXPECT_EQ(io_wait(&ui[i], WAIT_FOREVER), 4096);
    for (int i = 0; i < NBG; i++)
        EXPECT_EQ(io_wait(&bg[i], WAIT_FOREVER), 4096);
    /* The user-interactive ones went first, in their order, then background
     * in its order (4 bypasses stay below the aging limit). */
    for (int i = 0; i < NUI; i++)
        EXPECT_EQ(ui[i].q.dispatch_seq - base, (uint64_t)i + 1);
    for (int i = 0; i < NBG; i++)
        EXPECT_EQ(bg[i].q.dispatch_seq - base, (uint64_t)NUI + i + 1);
    free(bg);
    free(ui);
    free(buf);
}

TEST(io, cancel_and_timeout)
{
    struct io_dev *d = scratch_disk();
    if (!d)
        return;
    uint8_t *buf = malloc(3 * 512);
    struct io_req a, b, c;
    atomic_store(&callbacks, 0);
    io_plug(d);
    io_req_init(&a, IO_OP_READ, QOS_DEFAULT, 0, buf, 512);
    a.done = count_done;
    EXPECT_EQ(io_submit(d, &a), 0);
    EXPECT_TRUE(!io_poll(&a));
    EXPECT_EQ(io_cancel(&a), 0);
    EXPECT_TRUE(io_poll(&a));
    EXPECT_EQ(a.result, -ECANCELED);
    EXPECT_EQ(atomic_load(&callbacks), 1);
    EXPECT_EQ(io_cancel(&a), -EALREADY);
    /* A wait with a deadline on a request that cannot start. */
    io_req_init(&b, IO_OP_READ, QOS_DEFAULT, 512, buf + 512, 512);
    EXPECT_EQ(io_submit(d, &b), 0);
    uint64_t t0 = clock_ns();
    EXPECT_EQ(io_wait(&b, 5 * 1000 * 1000), -ETIMEDOUT);
    EXPECT_GE(clock_ns() - t0, 5 * 1000 * 1000);
    EXPECT_EQ(ioq_waiting(&d->q), 0);
    io_unplug(d);
    /* The device is fine afterwards. */
    io_req_init(&c, IO_OP_READ, QOS_DEFAULT, 1024, buf + 1024, 512);
    EXPECT_EQ(io_sync(d, &c, WAIT_FOREVER), 512);
    EXPECT_EQ(io_cancel(&c), -EALREADY);
    EXPECT_TRUE(!io_dev_failed(d));
    free(buf);
}

/* The reader blocks; its core (nothing else pinned there) sits in the idle
 * loop (WFI) until the device's interrupt completes the request. */
struct idle_probe {
    struct io_dev *d;
    uint8_t *buf;
    int requests;
    uint64_t idle_before, idle_after, wfi_before, wfi_after;
    struct io_stats before, after;
    uint64_t irqs_before, irqs_after;
    int32_t worst;
};

static int64_t blocking_reader(void *arg)
{
    struct idle_probe *p = arg;
    struct sched_cpu_stats st;
    p->worst = 1;
    sched_cpu_stats(cpu_id(), &st);
    p->idle_before = st.idle_ns;
    p->wfi_before = st.wfi_ns;
    io_get_stats(&p->before);
    p->irqs_before = irq_count(p->d->irq);
    for (int i = 0; i < p->requests; i++) {
        struct io_req r;
        io_req_init(&r, IO_OP_READ, QOS_USER_INITIATED, (uint64_t)i * 1024 * KIB, p->buf,
                    1024 * KIB);
        int32_t rc = io_sync(p->d, &r, WAIT_FOREVER);
        if (rc != 1024 * (int32_t)KIB)
            p->worst = rc;
    }
    io_get_stats(&p->after);
    p->irqs_after = irq_count(p->d->irq);
    sched_cpu_stats(cpu_id(), &st);
    p->idle_after = st.idle_ns;
    p->wfi_after = st.wfi_ns;
    return 0;
}

TEST(io, blocking_read_idles_the_core_no_polling)
{
    struct io_dev *d = scratch_disk();
    if (!d)
        return;
    int cpu = platform.ncpus - 1;
    while (cpu > 0 && (!smp_cpu_online(cpu) || cpu == cpu_id()))
        cpu--;
    struct idle_probe p = {.d = d, .buf = malloc(1024 * KIB), .requests = 8};
    uint64_t completed = io_dev_completed(d);
    struct task_attr attr = {.name = "reader", .qos = QOS_USER_INITIATED, .affinity = 1u << cpu};
    struct task *t = task_spawn(blocking_reader, &p, &attr);
    EXPECT_TRUE(t != NULL);
    if (t)
        task_join(t, NULL);
    EXPECT_EQ(p.worst, 1);
    EXPECT_EQ(io_dev_completed(d) - completed, 8);
    /* Every wait blocked at most once and never looped; nobody polled. */
    EXPECT_EQ(p.after.waits - p.before.waits, 8);
    EXPECT_LE(p.after.blocks - p.before.blocks, 8);
    EXPECT_GE(p.after.blocks - p.before.blocks, 1);
    EXPECT_EQ(p.after.busy_waits - p.before.busy_waits, 0);
    EXPECT_EQ(p.after.polls_pending - p.before.polls_pending, 0);
    /* Completions came from the device's interrupt. */
    EXPECT_GE(p.irqs_after - p.irqs_before, 1);
    /* The reader's core idled, asleep in WFI, while the reads were in flight. */
    EXPECT_GT(p.idle_after, p.idle_before);
    EXPECT_GT(p.wfi_after, p.wfi_before);
    free(p.buf);
}

/* The "blkerr" disk fails every access touching one sector (QEMU's blkdebug
 * injects EIO): the device reports an I/O error, that request fails with
 * -EIO, and the disk goes on working. */
TEST(io, device_errors_are_request_errors)
{
    if (!io_expected("blkerr"))
        return;
    struct io_dev *d = io_find_disk(IO_ERR_DISK_MAGIC);
    EXPECT_TRUE(d != NULL);
    if (!d)
        return;
    uint8_t *buf = malloc(8192);
    uint64_t bad = (uint64_t)IO_ERR_SECTOR * 512, errors = d->errors;
    memset(buf, 0x5a, 8192);
    EXPECT_EQ(blk_io(d, IO_OP_READ, bad, buf, 512), -EIO);
    EXPECT_EQ(blk_io(d, IO_OP_READ, bad - 4096, buf, 8192), -EIO);   /* spans it */
    EXPECT_EQ(blk_io(d, IO_OP_WRITE, bad, buf, 512), -EIO);
    EXPECT_EQ(d->errors - errors, 3);
    /* Its neighbours are fine, before and after. */
    EXPECT_EQ(blk_io(d, IO_OP_WRITE, bad + 512, buf, 4096), 4096);
    memset(buf, 0, 8192);
    EXPECT_EQ(blk_io(d, IO_OP_READ, bad + 512, buf, 4096), 4096);
    EXPECT_EQ(buf[0], 0x5a);
    EXPECT_EQ(blk_io(d, IO_OP_READ, bad - 512, buf, 512), 512);
    EXPECT_TRUE(!io_dev_failed(d));
    free(buf);
}

TEST(io, rng_bytes_vary)
{
    if (!io_expected("rng"))
        return;
    struct io_dev *g = io_dev_find(IO_DEV_RNG, 0);
    EXPECT_TRUE(g != NULL);
    if (!g)
        return;
    uint8_t *a = calloc(1, 64), *b = calloc(1, 64);
    struct io_req r;
    io_req_init(&r, IO_OP_RANDOM, QOS_DEFAULT, 0, a, 64);
    int32_t na = io_sync(g, &r, WAIT_FOREVER);
    io_req_init(&r, IO_OP_RANDOM, QOS_DEFAULT, 0, b, 64);
    int32_t nb = io_sync(g, &r, WAIT_FOREVER);
    EXPECT_GT(na, 0);
    EXPECT_GT(nb, 0);
    EXPECT_LE(na, 64);
    EXPECT_LE(nb, 64);
    int n = na < nb ? na : nb, same = 0, zero = 0;
    for (int i = 0; i < n; i++) {
        same += a[i] == b[i];
        zero += a[i] == 0;
    }
    EXPECT_LT(same, n);   /* two draws differ */
    EXPECT_LT(zero, n);
    io_req_init(&r, IO_OP_READ, QOS_DEFAULT, 0, a, 64);
    EXPECT_EQ(io_submit(g, &r), -ENOTSUP);
    free(a);
    free(b);
}
