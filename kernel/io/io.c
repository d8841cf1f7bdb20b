/*
 * The device layer of the I/O model (see kernel/io.h): submission into a
 * device's ioq under its lock, starting requests as slots free, and
 * delivering completions (callback, poll flag, wake of a blocked task).
 *
 * Lock order: a device's space wait queue, then the device lock; a request's
 * wait queue lock is taken only with neither held (delivery) or alone
 * (io_wait), so it nests under nothing.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <kernel/io.h>
#include <kernel/memzero.h>
#include <kernel/sched.h>

_Static_assert(IOQ_CLASSES == QOS_COUNT, "one ioq class per QoS class");

static struct io_dev *devices;
static spinlock_t devices_lock = SPINLOCK_INIT;
static struct {
    _Atomic uint64_t waits, blocks, busy_waits, polls_pending;
} stats;

#define IO_REQ(e) ((struct io_req *)((char *)(e) - offsetof(struct io_req, q)))

void io_get_stats(struct io_stats *out)
{
    out->waits = atomic_load(&stats.waits);
    out->blocks = atomic_load(&stats.blocks);
    out->busy_waits = atomic_load(&stats.busy_waits);
    out->polls_pending = atomic_load(&stats.polls_pending);
}

void io_req_init(struct io_req *r, enum io_op op, enum qos qos, uint64_t pos, void *buf,
                 uint32_t len)
{
    memzero_inline(r, sizeof(*r));   /* per request: not a memset call */
    r->op = (uint8_t)op;
    r->qos = (uint8_t)qos;
    r->pos = pos;
    r->buf = buf;
    r->len = len;
    waitq_init(&r->wq);
}

void io_dev_init(struct io_dev *d, uint32_t depth, uint32_t cap)
{
    d->lock = (spinlock_t)SPINLOCK_INIT;
    d->done = (struct io_done_list){0};
    waitq_init(&d->space);
    ioq_init(&d->q, depth, cap);
}

void io_dev_register(struct io_dev *d)
{
    uint64_t flags = spin_lock_irqsave(&devices_lock);
    struct io_dev **p = &devices;
    while (*p)
        p = &(*p)->next;
    d->next = NULL;
    *p = d;
    spin_unlock_irqrestore(&devices_lock, flags);
}

struct io_dev *io_dev_find(enum io_class cls, int index)
{
    uint64_t flags = spin_lock_irqsave(&devices_lock);
    struct io_dev *d = devices;
    for (; d; d = d->next)
        if (d->cls == cls && index-- == 0)
            break;
    spin_unlock_irqrestore(&devices_lock, flags);
    return d;
}

void io_wake_waiter(struct io_req *r)
{
    uint64_t flags = spin_lock_irqsave(&r->wq.lock);
    atomic_fetch_or_explicit(&r->complete, IO_REQ_DONE, memory_order_release);
    waitq_wake_all(&r->wq, WAIT_OK);
    spin_unlock_irqrestore(&r->wq.lock, flags);
}

/* Hand r's completion to its requester: callback, then DONE. Without a
 * waiter that is one compare-and-swap; with one, io_wake_waiter sets DONE
 * and wakes the task under r->wq.lock, so the waiter (which looks at DONE
 * only under that lock, see io_wait) cannot return and free r before the
 * completer's last touch, the lock's release. */
static void deliver(struct io_req *r)
{
    if (r->done)
        r->done(r);
    if (!io_deliver_polled(r))
        io_wake_waiter(r);
}

static void deliver_all(struct io_req *head)
{
    for (struct io_req *r = head, *next; r; r = next) {
        next = r->done_next;   /* before delivery: r may be reused at once */
        deliver(r);
    }
}

void io_poll_pending(void)
{
    atomic_fetch_add_explicit(&stats.polls_pending, 1, memory_order_relaxed);
}

/* With d->lock held: start every request that may start now. Returns
 * whether room appeared in a queue that refused a request. */
static bool pump(struct io_dev *d)
{
    struct ioq_entry *e;
    while (d->q.mask && (e = ioq_pop_ready(&d->q))) {
        struct io_req *r = IO_REQ(e);
        int rc = io_dev_failed(d) ? -EIO : d->ops->start(d, r);
        if (rc < 0)
            io_complete_locked(d, r, rc);
    }
    if (!ioq_take_room(&d->q))
        return false;
    atomic_fetch_add_explicit(&d->room_gen, 1, memory_order_release);
    return true;
}

void io_dev_unlock_slow(struct io_dev *d, uint64_t flags)
{
    bool room = pump(d);
    struct io_req *listed = d->done.head;   /* taken whole: delivered below, unlocked */
    d->done.head = d->done.tail = NULL;
    d->q.listed = 0;
    spin_unlock_irqrestore(&d->lock, flags);
    if (room) {
        uint64_t f = spin_lock_irqsave(&d->space.lock);
        waitq_wake_all(&d->space, WAIT_OK);
        spin_unlock_irqrestore(&d->space.lock, f);
    }
    deliver_all(listed);
}

int io_submit_refuse(const struct io_dev *d, const struct io_req *r)
{
    return !d || r->op >= IO_OP_COUNT ? -EINVAL : -EFAULT;
}

int io_submit_slow(struct io_dev *d, struct io_req *r, uint64_t flags, bool started,
                   int start_rc)
{
    if (started) {
        if (start_rc < 0) {
            /* Refused: as if r had never come. Its poll state back: DONE if
             * it had completed before (it has a device then), else 0. */
            ioq_unstart(&d->q, &r->q);
            atomic_store_explicit(&r->complete, r->dev ? IO_REQ_DONE : 0, memory_order_relaxed);
            spin_unlock_irqrestore(&d->lock, flags);
            return start_rc;
        }
        r->dev = d;
        io_dev_unlock(d, flags);
        return 0;
    }
    int rc = r->qos >= IOQ_CLASSES ? -EINVAL : d->ops->check(d, r);
    if (rc == 0 && io_dev_failed(d))
        rc = -EIO;
    if (rc < 0) {
        spin_unlock_irqrestore(&d->lock, flags);
        return rc;
    }
    rc = ioq_push(&d->q, &r->q, r->qos);
    if (rc < 0) {
        if (rc == -EAGAIN)
            d->refused_full++;
        spin_unlock_irqrestore(&d->lock, flags);
        return rc;   /* -EINVAL: r is in flight already, left alone */
    }
    atomic_store_explicit(&r->complete, 0, memory_order_relaxed);
    r->dev = d;
    io_dev_unlock(d, flags);
    return 0;
}

/* Take r out before it reaches the device, completing it with result;
 * if it is at the device and may be aborted (timeout), abort it. */
static int withdraw(struct io_req *r, int32_t result, bool abort_active)
{
    struct io_dev *d = r->dev;
    uint64_t flags = spin_lock_irqsave(&d->lock);
    int rc = ioq_remove(&d->q, &r->q);
    if (rc == 0) {
        r->result = result;
        d->errors++;
        io_dev_list(d, r);
    } else if (rc == -EBUSY && d->ops->cancel && d->ops->cancel(d, r, result)) {
        rc = 0;
    } else if (rc == -EBUSY && abort_active && d->ops->abort) {
        /* Completes r (and the rest). r has a waiter (only io_wait aborts),
         * so it is listed, not delivered yet: its result may still change. */
        d->ops->abort(d, r);
        for (struct io_req *x = d->done.head; x; x = x->done_next)
            if (x == r)
                x->result = result;
    }
    io_dev_unlock(d, flags);
    return rc;
}

int io_cancel(struct io_req *r)
{
    if (!r->dev || (atomic_load(&r->complete) & IO_REQ_DONE))
        return -EALREADY;
    return withdraw(r, -ECANCELED, false);
}

int32_t io_wait(struct io_req *r, uint64_t timeout_ns)
{
    atomic_fetch_add_explicit(&stats.waits, 1, memory_order_relaxed);
    uint64_t deadline = waitq_deadline(timeout_ns);
    for (;;) {
        /* Under wq.lock, announce the waiter and look at DONE in one step:
         * either the completer's CAS from 0 failed on WAITER (it will take
         * wq.lock to set DONE and wake us, after we are queued), or we see
         * DONE (and the completer no longer touches r). */
        uint64_t flags = spin_lock_irqsave(&r->wq.lock);
        uint32_t st = atomic_fetch_or_explicit(&r->complete, IO_REQ_WAITER, memory_order_acq_rel);
        if (st & IO_REQ_DONE) {
            spin_unlock_irqrestore(&r->wq.lock, flags);   /* the completer let go of r */
            return r->result;
        }
        r->wait_blocks++;
        atomic_fetch_add_explicit(&stats.blocks, 1, memory_order_relaxed);
        int32_t w = waitq_wait(&r->wq, flags, deadline);
        if (w == WAIT_TIMEOUT && deadline) {
            deadline = 0;   /* from now on wait for the withdrawal's completion */
            withdraw(r, -ETIMEDOUT, true);
        } else if (!(atomic_load_explicit(&r->complete, memory_order_acquire) & IO_REQ_DONE)) {
            atomic_fetch_add_explicit(&stats.busy_waits, 1, memory_order_relaxed);
        }
    }
}

int32_t io_sync(struct io_dev *d, struct io_req *r, uint64_t timeout_ns)
{
    uint64_t deadline = waitq_deadline(timeout_ns);
    for (;;) {
        uint32_t gen = atomic_load_explicit(&d->room_gen, memory_order_acquire);
        int rc = io_submit(d, r);
        if (rc == 0)
            break;
        if (rc != -EAGAIN)
            return rc;
        /* Full: sleep until room appears, unless it already has since. */
        uint64_t flags = spin_lock_irqsave(&d->space.lock);
        if (atomic_load_explicit(&d->room_gen, memory_order_acquire) != gen) {
            spin_unlock_irqrestore(&d->space.lock, flags);
            continue;
        }
        if (waitq_wait(&d->space, flags, deadline) == WAIT_TIMEOUT)
            return -ETIMEDOUT;
    }
    uint64_t left = 0;
    if (deadline) {
        uint64_t now = waitq_deadline_after(0);
        left = deadline > now ? deadline - now : 1;
    }
    return io_wait(r, left);
}

void io_plug(struct io_dev *d)
{
    uint64_t flags = spin_lock_irqsave(&d->lock);
    ioq_plug(&d->q);
    spin_unlock_irqrestore(&d->lock, flags);
}

void io_unplug(struct io_dev *d)
{
    uint64_t flags = spin_lock_irqsave(&d->lock);
    ioq_unplug(&d->q);
    io_dev_unlock(d, flags);
}
