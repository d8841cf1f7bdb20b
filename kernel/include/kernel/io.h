/*
 * The I/O model: one submission/completion interface for every driver.
 *
 * A request (struct io_req) carries the operation, a buffer, the requester's
 * QoS class and where its completion goes. io_submit hands it to a device;
 * it never blocks and never drops: 0 means the request is owned by the
 * device layer until it completes, -EAGAIN means the device's queue is full
 * (nothing changed, try later), other negative errnos reject bad requests.
 * Waiting requests start in QoS order as device slots free (kernel/ioq.h).
 *
 * Completion, in the interrupt path of the device (any core):
 *   result   bytes transferred (>= 0) or a negative errno (-EIO device
 *            error or misbehaving device, -ECANCELED, -ETIMEDOUT, ...);
 *   done     if set, called once in that context (completion style; it must
 *            not block);
 *   io_poll  turns true (poll style, for stackless waiters);
 *   io_wait  returns (blocking style, for stackful tasks): the waiter sleeps
 *            on the request's wait queue and sched_wake makes it runnable on
 *            its own core. No style ever spins on the device.
 * After completion the request and its buffer belong to the requester again
 * once io_poll says true (or io_wait returned). A done callback runs before
 * that: it may pass the result on, but must not free or resubmit r itself
 * (the completer sets DONE after it returns).
 *
 * Buffers are reached by the device directly: they must be in RAM's identity
 * map (heap or page allocations), never on a task stack (-EFAULT).
 */
#ifndef KERNEL_IO_H
#define KERNEL_IO_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <kernel/ioq.h>
#include <kernel/mm.h>
#include <kernel/spinlock.h>
#include <kernel/task.h>
#include <kernel/waitq.h>

enum io_op {
    IO_OP_READ = 0,     /* blk: read len bytes at byte offset pos */
    IO_OP_WRITE,        /* blk: write len bytes at pos */
    IO_OP_FLUSH,        /* blk: make earlier writes durable */
    IO_OP_RANDOM,       /* rng: fill up to len bytes (result = bytes given) */
    IO_OP_SEND,         /* net tx: send the Ethernet frame buf[0..len) */
    IO_OP_RECV,         /* net rx: the next frame into buf (result = its length) */
    IO_OP_COUNT,
};

enum io_class { IO_DEV_BLK = 0, IO_DEV_RNG, IO_DEV_NET_TX, IO_DEV_NET_RX, IO_DEV_CLASSES };

#define IO_REQ_DONE    1u        /* completed; the completer is done with it */
#define IO_REQ_WAITER  2u        /* a task sleeps (or is about to) on wq */

struct io_req;
typedef void (*io_done_fn)(struct io_req *r);

/* Completed requests waiting for delivery (FIFO, through done_next). */
struct io_done_list {
    struct io_req *head, *tail;
};

struct io_req {
    /* What the submit and completion fast paths touch comes first: one
     * 64-byte line. complete at offset 0: the atomics on it (which take no
     * offset) and the plain accesses share the request's address. */
    _Atomic uint32_t complete;   /* IO_REQ_DONE (the poll flag) | IO_REQ_WAITER */
    /* Set by the requester (io_req_init zeroes the rest). */
    uint8_t op;                  /* enum io_op */
    uint8_t qos;                 /* enum qos of the requester */
    uint32_t len;
    void *buf;
    io_done_fn done;             /* optional completion callback */
    /* Results. */
    int32_t result;
    /* Device layer. */
    struct io_dev *dev;
    struct ioq_entry q;          /* its class, state and dispatch order first */
    /* Set by the requester, read by drivers and callbacks. */
    uint64_t pos;                /* byte offset on the device */
    void *ctx;                   /* for done */
    uint32_t slot;               /* driver's tag while at the device */
    uint32_t wait_blocks;        /* times io_wait slept on this request */
    struct io_req *done_next;
    struct waitq wq;             /* the blocked requester, if any */
};

_Static_assert(offsetof(struct io_req, q) + offsetof(struct ioq_entry, seq) <= 64,
               "the fast paths' fields of a request share one line");

/* A device's driver operations; all run with the device lock held, IRQs
 * masked. What they complete goes through io_complete_locked. */
struct io_dev_ops {
    /* Is r acceptable (op, range, alignment, buffer)? 0 or -errno. Pure (it
     * may run with or without the lock). io_submit calls it only for a
     * request that must wait; one that starts at once is validated by start. */
    int (*check)(struct io_dev *d, const struct io_req *r);
    /* Give r to the device (a slot is free). First validate r as check does
     * (a request straight from io_submit skipped check). 0: the device took
     * r; > 0: it took r and completed requests (one it can finish at once).
     * -errno: r refused, nothing changed: io_submit returns the errno to the
     * submitter, a request that waited completes with it. */
    int (*start)(struct io_dev *d, struct io_req *r);
    /* Cancel r although it is at the device, if the driver still holds it
     * (e.g. a receive waiting for a frame): complete it with result, true.
     * NULL or false: it stays (cancel says -EBUSY). */
    bool (*cancel)(struct io_dev *d, struct io_req *r, int32_t result);
    /* r is at the device and its time is up: stop the device touching any
     * buffer and complete everything it holds. NULL: the device cannot be
     * stopped, r completes when it completes. */
    void (*abort)(struct io_dev *d, struct io_req *r);
};

struct io_dev {
    spinlock_t lock;
    struct ioq q;
    const struct io_dev_ops *ops;
    void *priv;
    enum io_class cls;
    uint32_t irq;                /* INTID its completions come from, 0 if none */
    char name[24];
    struct io_dev *next;
    struct io_done_list done;    /* completions listed under lock; empty whenever the
                                  * lock is free (every unlock after a listing is
                                  * io_dev_unlock, which delivers them) */
    struct waitq space;          /* io_sync callers waiting for queue room */
    _Atomic uint32_t room_gen;   /* bumped (under lock) whenever room appears after a refusal */
    /* Block devices: geometry from the device's config. */
    uint64_t capacity;           /* bytes */
    uint32_t block_size;         /* bytes, power of two */
    /* Network devices: the station address from the device's config. */
    uint8_t mac[6];
    /* Counters (submitted and completed follow from the queue's: io_dev_submitted). */
    uint64_t errors, refused_full;
};

/* Counters of the blocking and polling paths (for the "no polling" proof). */
struct io_stats {
    uint64_t waits;              /* io_wait calls */
    uint64_t blocks;             /* times a waiter slept */
    uint64_t busy_waits;         /* times a waiter looped without sleeping */
    uint64_t polls_pending;      /* io_poll calls that found it not done */
};
void io_get_stats(struct io_stats *out);

/* A fresh request (everything else zero). */
void io_req_init(struct io_req *r, enum io_op op, enum qos qos, uint64_t pos, void *buf,
                 uint32_t len);
/* Hand r to d. Inline (below): the generic checks, then one lock round trip
 * around the driver's start (which validates r) when nothing waits and a
 * slot is free; a request that must wait is validated by ops->check. */
static inline int io_submit(struct io_dev *d, struct io_req *r);
/* Block until r completes or timeout_ns passes (WAIT_FOREVER: no limit).
 * On timeout a waiting request is taken out and an active one aborted
 * (ops->abort); either way r then completes with -ETIMEDOUT. Returns
 * r->result. */
int32_t io_wait(struct io_req *r, uint64_t timeout_ns);
/* Poll style: has r completed (and may the requester reuse it)? Inline
 * (below): one acquire load when it has. */
static inline bool io_poll(struct io_req *r);
/* Cancel r: a waiting request (or one the driver can take back, see
 * ops->cancel) completes with -ECANCELED (0 returned); -EBUSY if it is at
 * the device (it completes normally), -EALREADY if it has completed. */
int io_cancel(struct io_req *r);
/* Submit, then wait: the blocking call, retrying after completions while the
 * queue is full. */
int32_t io_sync(struct io_dev *d, struct io_req *r, uint64_t timeout_ns);

/* Hold back / release a device's queue (requests wait in QoS order). */
void io_plug(struct io_dev *d);
void io_unplug(struct io_dev *d);

/* Requests d accepted (io_submit returned 0) and requests it completed, as
 * its queue counts them: every accepted request was started (dispatched),
 * still waits, or was taken out waiting (removed, completed at once); a
 * started one completed once it no longer holds a slot. Unlocked reads: a
 * snapshot, exact while d is quiet. */
static inline uint64_t io_dev_submitted(const struct io_dev *d)
{
    return d->q.dispatched + d->q.nwaiting + d->q.removed;
}
static inline uint64_t io_dev_completed(const struct io_dev *d)
{
    return d->q.finished + d->q.removed;
}

/* The index-th device of a class (registration order), or NULL. */
struct io_dev *io_dev_find(enum io_class cls, int index);

/* Boot, main task: probe the virtio-mmio devices the platform describes
 * (drivers/virtio); each bound device prints a line. Returns how many. */
struct platform;
int virtio_init(const struct platform *plat);

/* --- for drivers ------------------------------------------------------------- */
/* Set up a device's lock and queue: depth = requests the device takes at
 * once, cap = how many more may wait (ops and priv set by the caller). */
void io_dev_init(struct io_dev *d, uint32_t depth, uint32_t cap);
/* d misbehaved or was reset (d->lock held): every request from now on,
 * waiting ones included, fails -EIO. */
static inline void io_dev_fail(struct io_dev *d) { ioq_close(&d->q); }
static inline bool io_dev_failed(const struct io_dev *d) { return d->q.closed; }
/* Make an initialised device findable (name, cls and geometry set). */
void io_dev_register(struct io_dev *d);
/* Append r to a completion list (FIFO). */
static inline void io_done_add(struct io_done_list *done, struct io_req *r)
{
    r->done_next = NULL;
    if (done->tail)
        done->tail->done_next = r;
    else
        done->head = r;
    done->tail = r;
}
/* Poll-style delivery: DONE in one compare-and-swap from 0, true, when no
 * task sleeps on r (WAITER clear); that CAS is the completer's last touch of
 * r, so the requester may reuse it at once. false: a waiter is there, wake
 * it with io_wake_waiter (which sets DONE under r->wq.lock). */
static inline bool io_deliver_polled(struct io_req *r)
{
    uint32_t idle = 0;
    return atomic_compare_exchange_strong_explicit(&r->complete, &idle, IO_REQ_DONE,
                                                   memory_order_release, memory_order_relaxed);
}
/* With d->lock held: list r (completed, result set) on d's completions,
 * which the next io_dev_unlock delivers with no lock held. */
static inline void io_dev_list(struct io_dev *d, struct io_req *r)
{
    io_done_add(&d->done, r);
    d->q.listed = 1;
}
/* With d->lock held: r (at the device) finished with result. A request
 * without a callback and without a task asleep on it is delivered here
 * (io_deliver_polled; resubmitting it needs d->lock, still held); any
 * other is listed (io_dev_list) and io_dev_unlock delivers it. */
static inline void io_complete_locked(struct io_dev *d, struct io_req *r, int32_t result)
{
    ioq_finish(&d->q, &r->q);
    r->result = result;
    if (__builtin_expect(result < 0, 0))
        d->errors++;
    if (__builtin_expect(!r->done, 1) && io_deliver_polled(r))
        return;
    io_dev_list(d, r);
}
/* Start what may start, release d->lock (flags from spin_lock_irqsave),
 * then deliver the completions listed. Inline (below): with nothing
 * waiting, listed or refused it is the lock release. */
static inline void io_dev_unlock(struct io_dev *d, uint64_t flags);

/* --- inline fast paths (the out-of-line rest is in kernel/io/io.c) -------------- */

/* The slow halves: a poll that found r pending (counted), DONE and the
 * wake-up of a task blocked on r, and an unlock that must start waiting
 * requests, deliver listed completions or wake io_sync callers waiting for
 * room. Delivery (no lock held) is per request its callback, then DONE,
 * then the wake-up of a task asleep on it; poll-style requests were
 * delivered by io_complete_locked already, so most unlocks have none. */
__attribute__((cold)) void io_poll_pending(void);
void io_wake_waiter(struct io_req *r);
void io_dev_unlock_slow(struct io_dev *d, uint64_t flags);
/* With d->lock held (flags): r did not start at once (validate it: its
 * class, then ops->check; then queue it; the device failed: -EIO; the queue
 * is full: -EAGAIN; nothing changed on an error), or the driver refused it
 * at once (start_rc < 0: its slot is given back, start_rc returned) or
 * listed completions (start_rc > 0). Releases the lock. */
/* The errno of a request io_submit's first checks refuse: -EINVAL (no
 * device, no such operation) or -EFAULT (a buffer on a task stack). */
__attribute__((cold)) int io_submit_refuse(const struct io_dev *d, const struct io_req *r);
__attribute__((cold)) int io_submit_slow(struct io_dev *d, struct io_req *r, uint64_t flags,
                                         bool started, int start_rc);

static inline bool io_poll(struct io_req *r)
{
    if (__builtin_expect(atomic_load_explicit(&r->complete, memory_order_acquire) & IO_REQ_DONE, 1))
        return true;
    io_poll_pending();
    return false;
}

static inline void io_dev_unlock(struct io_dev *d, uint64_t flags)
{
    if (__builtin_expect(d->q.gate & IOQ_GATE_PUMP, 0)) {
        io_dev_unlock_slow(d, flags);
        return;
    }
    spin_unlock_irqrestore(&d->lock, flags);
}

static inline __attribute__((always_inline)) int io_submit(struct io_dev *d, struct io_req *r)
{
    /* Loaded up front so the checks below are one test (the errno is
     * worked out off the fast path); qos's range: ioq_start_now, or the
     * slow path. */
    unsigned op = r->op, qos = r->qos;
    uintptr_t buf = (uintptr_t)r->buf;
    if (__builtin_expect(!d || op >= IO_OP_COUNT || buf >= MM_STACK_REGION_BASE, 0))
        return io_submit_refuse(d, r);
    uint64_t flags = spin_lock_irqsave(&d->lock);
    if (__builtin_expect(ioq_start_now(&d->q, &r->q, qos), 1)) {
        /* Nothing waits and a slot is free: straight to the device. r was
         * idle, so resetting it here never touches a request still in
         * flight; reset before start, which may complete it at once. */
        atomic_store_explicit(&r->complete, 0, memory_order_relaxed);   /* result: at completion */
        int rc = d->ops->start(d, r);   /* validates r */
        if (__builtin_expect(rc != 0, 0))   /* refused, or completions listed */
            return io_submit_slow(d, r, flags, true, rc);
        r->dev = d;   /* accepted (a refused request keeps its old device) */
        spin_unlock_irqrestore(&d->lock, flags);
        return 0;
    }
    return io_submit_slow(d, r, flags, false, 0);   /* waits, plugged, full, failed, bad class */
}

#endif
