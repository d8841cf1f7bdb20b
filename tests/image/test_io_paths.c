/*
 * The I/O layer's fast and slow paths on a device that needs no hardware
 * (it holds what it is given and completes when the test says, as an
 * interrupt path would): poll-style requests delivered under the device lock,
 * callback and blocked-waiter requests delivered after it, a request in
 * flight refused when submitted again, and a failed device failing new and
 * waiting requests. Exact counts throughout; runs on every configuration.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <kernel/io.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>

static struct io_req *held;
static int starts, done_calls;
static uint64_t word;

static int hold_check(struct io_dev *d, const struct io_req *r)
{
    (void)d;
    return r->len ? 0 : -EINVAL;
}
static int hold_start(struct io_dev *d, struct io_req *r)
{
    int rc = hold_check(d, r);
    if (rc < 0)
        return rc;
    (void)d;
    held = r;
    starts++;
    return 0;
}
static const struct io_dev_ops hold_ops = {.check = hold_check, .start = hold_start};

static struct io_dev *hold_dev(void)
{
    static struct io_dev d;
    d = (struct io_dev){0};
    d.ops = &hold_ops;
    io_dev_init(&d, 2, 2);
    held = NULL;
    starts = done_calls = 0;
    return &d;
}

/* What an interrupt path does: complete r with len under the lock, then
 * unlock and deliver. Returns whether r sat on d's completion list at the unlock
 * (true: delivered after the unlock) and whether it was DONE before it. */
static bool complete_now(struct io_dev *d, struct io_req *r, bool *done_before_unlock)
{
    uint64_t flags = spin_lock_irqsave(&d->lock);
    io_complete_locked(d, r, (int32_t)r->len);
    bool listed = d->done.head == r && d->done.tail == r && d->q.listed;
    *done_before_unlock = atomic_load(&r->complete) & IO_REQ_DONE;
    io_dev_unlock(d, flags);
    return listed;
}

static void count_done(struct io_req *r)
{
    (void)r;
    done_calls++;
}

TEST(iopath, a_poll_request_is_done_before_the_unlock)
{
    struct io_dev *d = hold_dev();
    struct io_req r;
    io_req_init(&r, IO_OP_READ, QOS_DEFAULT, 0, &word, sizeof(word));
    for (int i = 0; i < 3; i++) {   /* the same request, reused at once */
        EXPECT_EQ(io_submit(d, &r), 0);
        EXPECT_TRUE(held == &r);
        EXPECT_EQ(ioq_active(&d->q), 1);
        EXPECT_TRUE(!io_poll(&r));
        bool early = false;
        EXPECT_TRUE(!complete_now(d, &r, &early));   /* never listed */
        EXPECT_TRUE(early);
        EXPECT_TRUE(io_poll(&r));
        EXPECT_EQ(r.result, (int32_t)sizeof(word));
    }
    EXPECT_EQ(starts, 3);
    EXPECT_EQ(ioq_active(&d->q), 0);
    EXPECT_EQ(io_dev_submitted(d), 3);
    EXPECT_EQ(io_dev_completed(d), 3);
    EXPECT_EQ(d->errors, 0);
}

TEST(iopath, a_callback_request_is_delivered_after_the_unlock_once)
{
    struct io_dev *d = hold_dev();
    struct io_req r;
    io_req_init(&r, IO_OP_READ, QOS_DEFAULT, 0, &word, sizeof(word));
    r.done = count_done;
    EXPECT_EQ(io_submit(d, &r), 0);
    bool early = true;
    EXPECT_TRUE(complete_now(d, &r, &early));   /* listed, delivered by the unlock */
    EXPECT_TRUE(!early);
    EXPECT_EQ(done_calls, 1);
    EXPECT_TRUE(io_poll(&r));
    EXPECT_EQ(io_dev_completed(d), 1);
}

struct waiter_arg {
    struct io_req *r;
    int32_t result;
};

static int64_t wait_for_it(void *arg)
{
    struct waiter_arg *w = arg;
    w->result = io_wait(w->r, WAIT_FOREVER);
    return 0;
}

TEST(iopath, a_blocked_waiter_is_woken_after_the_unlock)
{
    struct io_dev *d = hold_dev();
    struct io_req *r = malloc(sizeof(*r));
    io_req_init(r, IO_OP_READ, QOS_DEFAULT, 0, &word, sizeof(word));
    EXPECT_EQ(io_submit(d, r), 0);
    struct waiter_arg w = {r, 0};
    struct task_attr attr = {.name = "io-waiter", .qos = QOS_DEFAULT};
    struct task *t = task_spawn(wait_for_it, &w, &attr);
    EXPECT_TRUE(t != NULL);
    /* Until it sleeps on r (bounded: 2 s of guest time). */
    for (int i = 0; i < 2000 && atomic_load(&r->complete) != IO_REQ_WAITER; i++)
        task_sleep_ns(1000 * 1000);
    EXPECT_EQ(atomic_load(&r->complete), IO_REQ_WAITER);
    bool early = true;
    EXPECT_TRUE(complete_now(d, r, &early));    /* a waiter: never delivered under the lock */
    EXPECT_TRUE(!early);
    int64_t v = -1;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(w.result, (int32_t)sizeof(word));
    EXPECT_EQ(r->wait_blocks, 1);
    EXPECT_EQ(atomic_load(&r->complete), IO_REQ_DONE | IO_REQ_WAITER);
    free(r);
}

TEST(iopath, a_request_in_flight_submitted_again_is_refused_untouched)
{
    struct io_dev *d = hold_dev();
    struct io_req r;
    io_req_init(&r, IO_OP_READ, QOS_DEFAULT, 0, &word, sizeof(word));
    EXPECT_EQ(io_submit(d, &r), 0);
    EXPECT_EQ(io_submit(d, &r), -EINVAL);      /* at the device */
    static struct io_dev other;
    other.ops = &hold_ops;
    io_dev_init(&other, 2, 2);
    EXPECT_EQ(io_submit(&other, &r), -EINVAL); /* nor to another device */
    EXPECT_TRUE(r.dev == d);                   /* still d's */
    EXPECT_EQ(io_dev_submitted(&other), 0);
    EXPECT_EQ(starts, 1);
    EXPECT_EQ(ioq_active(&d->q), 1);
    EXPECT_EQ(io_dev_submitted(d), 1);
    io_plug(d);
    struct io_req q;
    io_req_init(&q, IO_OP_READ, QOS_DEFAULT, 0, &word, sizeof(word));
    EXPECT_EQ(io_submit(d, &q), 0);            /* waits */
    EXPECT_EQ(io_submit(d, &q), -EINVAL);      /* waiting */
    EXPECT_EQ(ioq_waiting(&d->q), 1);
    bool early = false;
    complete_now(d, &r, &early);
    EXPECT_TRUE(early && io_poll(&r));
    io_unplug(d);                              /* q starts */
    EXPECT_TRUE(held == &q);
    complete_now(d, &q, &early);
    EXPECT_TRUE(io_poll(&q));
    EXPECT_EQ(starts, 2);
    EXPECT_EQ(io_dev_submitted(d), 2);
    EXPECT_EQ(io_dev_completed(d), 2);
}

TEST(iopath, a_failed_device_fails_waiting_and_new_requests)
{
    struct io_dev *d = hold_dev();
    struct io_req a, b;
    io_req_init(&a, IO_OP_READ, QOS_DEFAULT, 0, &word, sizeof(word));
    io_req_init(&b, IO_OP_READ, QOS_DEFAULT, 0, &word, sizeof(word));
    io_plug(d);
    EXPECT_EQ(io_submit(d, &a), 0);            /* waits */
    uint64_t flags = spin_lock_irqsave(&d->lock);
    io_dev_fail(d);
    spin_unlock_irqrestore(&d->lock, flags);
    EXPECT_TRUE(io_dev_failed(d));
    EXPECT_EQ(io_submit(d, &b), -EIO);
    io_unplug(d);                              /* a leaves the queue failed */
    EXPECT_TRUE(io_poll(&a));
    EXPECT_EQ(a.result, -EIO);
    EXPECT_EQ(starts, 0);                      /* the device never saw either */
    EXPECT_EQ(d->errors, 1);
    EXPECT_EQ(io_dev_submitted(d), 1);
    EXPECT_EQ(io_dev_completed(d), 1);
}

/* Validation on both paths: a request that would start at once is refused
 * by the driver's start (its slot given back), one that would wait by the
 * driver's check, a bad class by the I/O layer; each gets the errno, nothing
 * is counted, nothing waits, and the same request is accepted once fixed. */
TEST(iopath, a_bad_request_is_refused_on_either_path_and_nothing_counts)
{
    struct io_dev *d = hold_dev();
    struct io_req r;
    io_req_init(&r, IO_OP_READ, QOS_DEFAULT, 0, &word, 0);   /* hold_check: len 0 is bad */
    EXPECT_EQ(io_submit(d, &r), -EINVAL);      /* would start at once */
    EXPECT_EQ(starts, 0);
    EXPECT_EQ(ioq_active(&d->q), 0);
    EXPECT_EQ(r.q.state, IOQ_IDLE);
    EXPECT_TRUE(r.dev == NULL);
    io_plug(d);
    EXPECT_EQ(io_submit(d, &r), -EINVAL);      /* would wait */
    EXPECT_EQ(ioq_waiting(&d->q), 0);
    r.len = sizeof(word);
    r.qos = QOS_COUNT;                         /* no such class, either path */
    EXPECT_EQ(io_submit(d, &r), -EINVAL);
    io_unplug(d);
    EXPECT_EQ(io_submit(d, &r), -EINVAL);
    EXPECT_EQ(ioq_active(&d->q), 0);
    EXPECT_EQ(io_dev_submitted(d), 0);
    EXPECT_EQ(d->q.low_active, 0);
    r.qos = QOS_BACKGROUND;
    EXPECT_EQ(io_submit(d, &r), 0);            /* fixed: accepted, started */
    EXPECT_TRUE(held == &r);
    EXPECT_EQ(d->q.low_active, 1);
    bool early = false;
    complete_now(d, &r, &early);
    EXPECT_TRUE(early && io_poll(&r));
    EXPECT_EQ(io_dev_submitted(d), 1);
    EXPECT_EQ(io_dev_completed(d), 1);
    EXPECT_EQ(d->q.low_active, 0);
    r.len = 0;                                 /* refused again: still done, still d's */
    EXPECT_EQ(io_submit(d, &r), -EINVAL);
    EXPECT_TRUE(io_poll(&r) && r.dev == d);
    EXPECT_EQ(r.result, (int32_t)sizeof(word));
    EXPECT_EQ(io_dev_submitted(d), 1);
}
