/*
 * I/O model benchmarks (issue 5): the queue's own overhead with a device
 * that takes and completes requests at once, and 4 KiB reads from the
 * virtio-blk scratch disk that run_bench.py attaches.
 *
 * The read figures are guest instructions per read, every core counted:
 * elapsed time minus the time each core slept in WFI (sched_cpu_stats
 * wfi_ns). QEMU's device work runs outside the guest, and while every
 * vCPU sleeps waiting for it -icount sleep=off jumps the virtual clock
 * ahead, so elapsed time alone would measure those jumps; instructions
 * executed do not depend on them. What is counted: submit, notify, the
 * interrupt, completion, wake-up and the switch back to the reader.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/boot.h>
#include <kernel/clock.h>
#include <kernel/io.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include "bench.h"

/* A device that holds one request and completes it when told. */
static struct io_req *null_held;
static int null_check(struct io_dev *d, const struct io_req *r)
{
    (void)d;
    (void)r;
    return 0;
}
static int null_start(struct io_dev *d, struct io_req *r)
{
    (void)d;
    null_held = r;
    return 0;
}
static const struct io_dev_ops null_ops = {.check = null_check, .start = null_start};

static uint64_t buf_word;

/* Per request: submit (queue, start at the device), complete as the
 * interrupt path does, deliver, poll; the request is reused (poll style). */
BENCH(ioq_submit_complete, "insn/op", 100, BENCH_AT_MOST)
{
    enum { N = 100000 };
    static struct io_dev d;
    d.ops = &null_ops;
    io_dev_init(&d, 4, 16);
    static struct io_req r;
    uint64_t ok = 0, t0 = 0;
    io_req_init(&r, IO_OP_READ, QOS_DEFAULT, 0, &buf_word, sizeof(buf_word));
    for (int i = -1; i < N; i++) {
        if (i == 0)
            t0 = clock_ns();
        if (io_submit(&d, &r) != 0 || null_held != &r)
            break;
        null_held = NULL;
        uint64_t flags = spin_lock_irqsave(&d.lock);
        io_complete_locked(&d, &r, (int32_t)r.len);
        io_dev_unlock(&d, flags);
        ok += io_poll(&r) && r.result == sizeof(buf_word);
    }
    uint64_t t1 = clock_ns();
    if (ok != N + 1)
        return bench_invalid("ioq_submit_complete", "a request did not complete");
    return (t1 - t0) / N;
}

/* The queue's bookkeeping alone (no lock, no device layer): a request that
 * waits, is handed out and finishes. */
BENCH(ioq_queue_only, "insn/op", 0, BENCH_REPORT)
{
    enum { N = 100000 };
    static struct ioq q;
    static struct ioq_entry e;
    ioq_init(&q, 4, 16);
    uint64_t ok = 0, t0 = clock_ns();
    for (int i = 0; i < N; i++) {
        ioq_push(&q, &e, QOS_DEFAULT);
        ok += ioq_pop_ready(&q) == &e;
        ioq_finish(&q, &e);
    }
    uint64_t t1 = clock_ns();
    if (ok != N || ioq_active(&q) || ioq_waiting(&q))
        return bench_invalid("ioq_queue_only", "the queue lost track");
    return (t1 - t0) / N;
}

static struct io_dev *bench_disk(void)
{
    struct io_dev *d = io_dev_find(IO_DEV_BLK, 0);
    if (!d || d->capacity < (8u << 20))
        return NULL;
    return d;
}

/* Time all online cores have slept in WFI. */
static uint64_t all_cores_wfi_ns(void)
{
    uint64_t sum = 0;
    for (int c = 0; c < platform.ncpus; c++) {
        if (!smp_cpu_online(c))
            continue;
        struct sched_cpu_stats st;
        sched_cpu_stats(c, &st);
        sum += st.wfi_ns;
    }
    return sum;
}

struct qd_run {
    struct io_dev *d;
    int depth, total;
    int bad;
};

/* total reads of 4 KiB, depth of them in flight at all times. */
static int64_t qd_reader(void *arg)
{
    struct qd_run *q = arg;
    struct io_req *reqs = calloc((size_t)q->depth, sizeof(*reqs));
    uint8_t *bufs = malloc((size_t)q->depth * 4096);
    if (!reqs || !bufs)
        return -1;
    uint64_t blocks = q->d->capacity / 4096;
    for (int i = 0; i < q->total + q->depth; i++) {
        struct io_req *r = &reqs[i % q->depth];
        if (i >= q->depth && io_wait(r, WAIT_FOREVER) != 4096)
            q->bad++;
        if (i >= q->total)
            continue;
        io_req_init(r, IO_OP_READ, QOS_USER_INITIATED, (uint64_t)(i % (int)blocks) * 4096,
                    bufs + (i % q->depth) * 4096, 4096);
        if (io_submit(q->d, r) != 0)
            q->bad++;
    }
    free(reqs);
    free(bufs);
    return 0;
}

static uint64_t reads_at_depth(const char *name, int depth, int total)
{
    struct io_dev *d = bench_disk();
    if (!d)
        return bench_invalid(name, "no scratch disk (virtio-blk) attached");
    struct qd_run q = {.d = d, .depth = depth, .total = total};
    struct task_attr attr = {.name = "reader", .qos = QOS_USER_INITIATED,
                             .affinity = 1u << smp_boot_cpu()};
    int64_t v = -1;
    uint64_t wfi0 = all_cores_wfi_ns(), t0 = clock_ns();
    task_join(task_spawn(qd_reader, &q, &attr), &v);
    uint64_t t1 = clock_ns(), wfi1 = all_cores_wfi_ns();
    if (v != 0 || q.bad)
        return bench_invalid(name, "a read failed");
    uint64_t cores = (uint64_t)smp_online_count();
    uint64_t awake = (t1 - t0) * cores - (wfi1 - wfi0);
    return awake / (uint64_t)total;
}

/* One 4 KiB read at a time: submit -> device -> IRQ -> completion -> the
 * task runs again. */
BENCH(blk_read_4k, "insn/read", 0, BENCH_REPORT)
{
    return reads_at_depth("blk_read_4k", 1, 2000);
}

BENCH(blk_read_4k_qd8, "insn/read", 0, BENCH_REPORT)
{
    return reads_at_depth("blk_read_4k_qd8", 8, 4000);
}

BENCH(blk_read_4k_qd32, "insn/read", 0, BENCH_REPORT)
{
    return reads_at_depth("blk_read_4k_qd32", 32, 8000);
}
