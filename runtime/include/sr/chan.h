/*
 * Channels: bounded FIFO queues of fixed-size messages between tasks.
 *
 * struct chan is multi-producer multi-consumer: a lock-free ring (sr/mpmc_ring.h)
 * whose uncontended try_send / try_recv take no lock (one compare-and-swap,
 * the copy, one release read-modify-write whose old value says whether a
 * waiter asked to hear of it), plus
 * a spinlock and wait lists for those who wait; struct chan_spsc is
 * single-producer single-consumer and lock-free on its fast path. Both
 * offer, for stackful tasks, blocking send/receive with a timeout
 * (WAIT_FOREVER = 0: none) and try-variants, and for stackless
 * tasks await operations (use inside ASYNC_AWAIT; timeouts through
 * ASYNC_AWAIT_TIMEOUT). struct chan also takes part in select (sr/select.h).
 *
 * Results: 0; -EAGAIN (try: full / empty); -ETIMEDOUT; -EPIPE (closed);
 * -ECANCELED (stackless task cancelled; stackful task cancelled in an
 * _interruptible call).
 *
 * Close: chan_close makes every later send fail with -EPIPE, and fails the
 * senders waiting (their messages are not delivered). Receivers first drain
 * what is queued, then get -EPIPE. Closing twice returns -EPIPE.
 *
 * Waiting order: waiters are served highest QoS class first, FIFO within a
 * class. MPMC messages move directly between a sender and a waiting
 * receiver (and from a waiting sender into the ring as a receiver makes
 * room), so whoever completes a wait has its message: a timeout or a
 * cancellation never loses or duplicates one.
 *
 * Capacity 0 makes a rendezvous channel (a send completes when a receiver
 * takes the message).
 */
#ifndef SR_CHAN_H
#define SR_CHAN_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <kernel/spinlock.h>
#include <kernel/waitq.h>
#include <sr/async.h>
#include <sr/mpmc_ring.h>
#include <sr/ring.h>
#include <sr/select.h>
#include <sr/wait.h>
#include <sr/wait_task.h>

struct async_task;

/* The channel's own wait record, for the common park: a stackful receiver
 * in an untimed, uninterruptible chan_recv on an empty channel that no
 * other receiver waits on. Its state is one word (word, runtime/chan.c):
 * CHAN_RX_FREE; a task pointer, the task parked without the lock (it published
 * itself with a compare-and-swap; its buffer is its task's wait_arg), which
 * a sender takes with a compare-and-swap back to CHAN_RX_FREE and no lock, or
 * which anyone who takes the channel's lock adopts first (rx_adopt: the
 * pointer | CHAN_RX_LINKED, the record linked on recvq, its waker WAITING);
 * or a task pointer | CHAN_RX_LINKED, the record on recvq (adopted, or parked
 * under the lock), which only lock holders change. Linked, the record
 * works as chan16's did: chan_create sets its constant fields (the node's
 * waker, list and index, the waker's kind WAKER_KIND_TASK_UNTIMED and
 * fire); a taker makes its waker IDLE and the word CHAN_RX_FREE as it hands the
 * message over (task_waker_wake_unlock_), so it is free before its
 * receiver runs; a claim leaves it DONE, and its receiver frees it under
 * the lock. Every hand-over of a message into it sets its task's wait_arg
 * to 0, which is what the woken receiver tests. Unlinked, its node's links
 * are NULL (every unlink leaves them so). Its node's linked flag is not
 * kept: the record leaves its list only as the head, by a take or a claim,
 * never through wait_list_remove (has_live removes only heads that are not
 * WAITING, and the record is WAITING while linked). */
struct chan_rx_record {
    _Atomic uintptr_t word;         /* sr/chan_rx.h */
    struct wait_node node;
    struct task_waker tw;
};

struct chan {
    struct mpmc_ring ring;          /* MPMC_WAITERS set while either list is non-empty */
    spinlock_t lock;                /* the wait lists and every slow path */
    struct wait_list recvq, sendq;  /* live receivers only while no message is
                                       published, live senders only while full */
    struct chan_rx_record rx;       /* word: see there; the rest guarded by lock */
};

/* A channel of cap messages of elem_size bytes (1..65536); NULL (errno
 * EINVAL/ENOMEM) on failure. chan_destroy: nobody may use or wait on it. */
struct chan *chan_create(size_t elem_size, uint32_t cap);
void chan_destroy(struct chan *c);
/* Back to the state chan_create left c in (open, empty: what was queued is
 * dropped). Like chan_destroy: nobody may use or wait on c meanwhile. */
void chan_reopen(struct chan *c);

/* chan_send (below): chan_send_untimed_ when the send is untimed
 * (timeout_ns WAIT_FOREVER, known at compile time: no timeout is kept
 * for the slow ways), else this. */
int chan_send_(struct chan *c, const void *msg, uint64_t timeout_ns);
int chan_send_untimed_(struct chan *c, const void *msg);
static inline __attribute__((always_inline)) int chan_send(struct chan *c, const void *msg,
                                                           uint64_t timeout_ns)
{
    if (!__builtin_constant_p(timeout_ns) || timeout_ns != WAIT_FOREVER)
        return chan_send_(c, msg, timeout_ns);
    return chan_send_untimed_(c, msg);
}
/* chan_recv (below): inline when the receive is untimed (timeout_ns
 * WAIT_FOREVER, known at compile time), else this. */
int chan_recv_(struct chan *c, void *buf, uint64_t timeout_ns);
/* The same, and a cancellation point: if the calling task is cancelled
 * (task_cancel, e.g. by its scope) while it waits, or was before it had to
 * wait, the call returns -ECANCELED. A message goes through or not, never
 * half: a send that returns -ECANCELED delivered nothing, a receive that
 * returns it took nothing. Operations that need no wait complete as usual. */
int chan_send_interruptible(struct chan *c, const void *msg, uint64_t timeout_ns);
int chan_recv_interruptible(struct chan *c, void *buf, uint64_t timeout_ns);
/* chan_try_send(c, msg) / chan_try_recv(c, buf), without waiting: 0,
 * -EAGAIN (full / empty) or -EPIPE. Macros over the inline fast paths
 * below: when msg / buf points to a type whose size is the channel's
 * element size, the copy is that fixed size (inlined, no size dispatch). */
#define chan_try_send(c, msg) chan_try_send_hinted_((c), (msg), RING_SIZE_HINT(msg))
#define chan_try_recv(c, buf) chan_try_recv_hinted_((c), (buf), RING_SIZE_HINT(buf))
int chan_close(struct chan *c);
/* Messages queued now (a snapshot). */
uint32_t chan_len(struct chan *c);
/* Take c's lock as chan.c takes it: IRQs masked (their state returned),
 * and a receiver parked in c's record without the lock adopted onto recvq
 * (struct chan_rx_record). For whoever looks at c's wait lists from
 * outside (tests); release with spin_unlock_irqrestore(&c->lock, ...). */
uint64_t chan_lock_lists(struct chan *c);

#ifndef SR_HOST   /* host builds use this header's types only */
/* The untimed receive in two parts around a switch inline in its caller
 * with a min frame (arch/switch_min.h), as sem_wait's (kernel/sem.h): the
 * caller's compiler keeps across the switch only what it still needs.
 * chan_recv_begin_ (out of line) ends the receive itself (prev NULL,
 * result its result: 0 for a message, -EPIPE) or parks the task in the
 * channel's record and blocks (sched_block_prepared_begin, or
 * sched_block_unlock_begin when it parked under the lock): it returns the
 * switch, or prev NULL and SCHED_BLOCK_WOKEN when it blocked some other
 * way (IRQs masked, the general pick) and was woken. Woken, the receiver
 * finds its task's wait_arg 0 when a taker handed it its message (the
 * result is 0); anything else is chan_recv_end_'s (a claim's result, a
 * spurious wake-up). */
struct sched_block_switch chan_recv_begin_(struct chan *c, void *buf);
int chan_recv_end_(struct chan *c);
static inline __attribute__((always_inline)) int chan_recv(struct chan *c, void *buf,
                                                           uint64_t timeout_ns)
{
    if (!__builtin_constant_p(timeout_ns) || timeout_ns != WAIT_FOREVER)
        return chan_recv_(c, buf, timeout_ns);
    struct sched_block_switch b = chan_recv_begin_(c, buf);
    if (b.prev) {
        arch_switch_min(b.prev, b.next_sp);
        arch_irq_enable();
    } else if (b.result != SCHED_BLOCK_WOKEN) {
        return (int)b.result;
    }
    if (__builtin_expect(!sched_current()->wait_arg, 1))
        return 0;
    return chan_recv_end_(c);
}
#endif

/* Stackless: msg / buf must stay valid until the await completes. Inline:
 * a resumed await whose message a claimer moved returns without a call. */
static inline int chan_send_await(struct async_task *self, struct chan *c, const void *msg);
static inline int chan_recv_await(struct async_task *self, struct chan *c, void *buf);

/* Select cases. */
void chan_case_recv(struct sel_case *sc, struct chan *c, void *buf);
void chan_case_send(struct sel_case *sc, struct chan *c, const void *msg);

/* The MPMC fast paths, inline; the rest of chan.c is out of line. */
void chan_settle_(struct chan *c);
int chan_try_send_slow_(struct chan *c, const void *msg);
int chan_try_recv_slow_(struct chan *c, void *buf);

static inline int chan_try_send_hinted_(struct chan *c, const void *msg, size_t hint)
{
    int r = mpmc_try_push_hinted(&c->ring, msg, hint);
    if (__builtin_expect(r == MPMC_DONE, 1))
        return 0;
    if (r == MPMC_DONE_MARKED) {   /* a receiver waits for this message */
        chan_settle_(c);
        return 0;
    }
    return chan_try_send_slow_(c, msg);
}

static inline int chan_try_recv_hinted_(struct chan *c, void *buf, size_t hint)
{
    int r = mpmc_try_pop_hinted(&c->ring, buf, hint);
    if (__builtin_expect(r == MPMC_DONE, 1))
        return 0;
    if (r == MPMC_DONE_MARKED) {   /* a sender waits for this room */
        chan_settle_(c);
        return 0;
    }
    return chan_try_recv_slow_(c, buf);
}

int chan_send_await_start_(struct async_task *self, struct chan *c, const void *msg)
    __attribute__((nonnull(1)));
int chan_recv_await_start_(struct async_task *self, struct chan *c, void *buf)
    __attribute__((nonnull(1)));
int chan_await_resume_slow_(struct async_task *self);

/* A resumed channel await: a claimer that moved the message unlinked
 * self's node, so the wait just ends; a pending wait, a timeout or a
 * cancel (whose node is withdrawn) go out of line. Result 0 says the
 * message moved: a channel's claimers that fail a wait (a close) and the
 * timer's and a cancel's claims store a negative errno. A wait without a
 * deadline armed no timer (async_wait_park arms one only for a deadline,
 * which stays set until the await ends), so it ends with its waker IDLE
 * and nothing else (async_wait_end looks at the timer). */
static inline int chan_await_resume_(struct async_task *self, uint32_t state)
{
    if (state == WAKER_DONE && !self->deadline_ns && self->waker.result == 0) {
        atomic_store_explicit(&self->waker.state, WAKER_IDLE, memory_order_relaxed);
        return 0;
    }
    if (state == WAKER_DONE && self->waker.which >= 0)
        return async_wait_end(self);
    return chan_await_resume_slow_(self);
}

/* The waker's state is loaded once: IDLE, not in a wait (start one); else
 * a resumed wait, which the state tells ended or not. */
static inline int chan_send_await(struct async_task *self, struct chan *c, const void *msg)
{
    uint32_t s = waker_state(&self->waker);
    if (s != WAKER_IDLE)
        return chan_await_resume_(self, s);
    return chan_send_await_start_(self, c, msg);
}

static inline int chan_recv_await(struct async_task *self, struct chan *c, void *buf)
{
    uint32_t s = waker_state(&self->waker);
    if (s != WAKER_IDLE)
        return chan_await_resume_(self, s);
    return chan_recv_await_start_(self, c, buf);
}

/* --- single producer, single consumer --------------------------------------- */
struct chan_spsc {
    struct spsc_ring ring;
    spinlock_t lock;                /* guards the wait lists only */
    _Atomic uint32_t closed;
    _Atomic uint32_t recv_waiting, send_waiting;
    struct wait_list recvq, sendq;  /* at most one live node each */
};

/* Only the producer may close a chan_spsc (after its last send): closing
 * sets the ring's capacity and limit, which only the producer reads, to 0
 * and its tail, so the send fast path needs no closed check of its own. */
struct chan_spsc *chan_spsc_create(size_t elem_size, uint32_t cap);
void chan_spsc_destroy(struct chan_spsc *q);
/* Like chan_try_send / chan_try_recv (macros, fixed-size copies likewise). */
#define chan_spsc_try_send(q, msg) chan_spsc_try_send_hinted_((q), (msg), RING_SIZE_HINT(msg))
#define chan_spsc_try_recv(q, buf) chan_spsc_try_recv_hinted_((q), (buf), RING_SIZE_HINT(buf))
int chan_spsc_send(struct chan_spsc *q, const void *msg, uint64_t timeout_ns);
int chan_spsc_recv(struct chan_spsc *q, void *buf, uint64_t timeout_ns);
/* Cancellation points, as chan_send_interruptible / chan_recv_interruptible. */
int chan_spsc_send_interruptible(struct chan_spsc *q, const void *msg, uint64_t timeout_ns);
int chan_spsc_recv_interruptible(struct chan_spsc *q, void *buf, uint64_t timeout_ns);
int chan_spsc_close(struct chan_spsc *q);
int chan_spsc_send_await(struct async_task *self, struct chan_spsc *q, const void *msg);
int chan_spsc_recv_await(struct async_task *self, struct chan_spsc *q, void *buf);

/* The fast paths, inline. After changing the ring (a seq_cst store), a side
 * checks with a seq_cst load whether the other side sleeps: the pair is the
 * store-load fence of chan_spsc.c's protocol, at no extra instruction. */
void chan_spsc_wake_(struct chan_spsc *q, bool senders);
int chan_spsc_recv_empty_(struct chan_spsc *q, void *buf);

static inline int chan_spsc_try_send_hinted_(struct chan_spsc *q, const void *msg, size_t hint)
{
    if (!spsc_push_hinted(&q->ring, msg, hint))   /* closing made the ring's capacity 0 */
        return atomic_load_explicit(&q->closed, memory_order_relaxed) ? -EPIPE : -EAGAIN;
    if (atomic_load_explicit(&q->recv_waiting, memory_order_seq_cst))
        chan_spsc_wake_(q, false);
    return 0;
}

static inline int chan_spsc_try_recv_hinted_(struct chan_spsc *q, void *buf, size_t hint)
{
    if (!spsc_pop_hinted(&q->ring, buf, hint))
        return chan_spsc_recv_empty_(q, buf);
    if (atomic_load_explicit(&q->send_waiting, memory_order_seq_cst))
        chan_spsc_wake_(q, true);
    return 0;
}

#endif
