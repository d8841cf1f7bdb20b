/*
 * Single-producer single-consumer channels (see sr/chan.h): a lock-free
 * ring; the lock and wait lists are touched only when a side has to wait.
 * Lost wake-ups are excluded Dekker-style: a waiter sets its *_waiting flag,
 * fences, then re-checks the ring; the other side changes the ring, fences,
 * then checks the flag. A woken side retries its operation (notification,
 * not hand-off: it is the only one on its side, so nobody takes its turn).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>
#include <sr/async.h>
#include <sr/chan.h>
#include <sr/wait_task.h>

struct chan_spsc *chan_spsc_create(size_t elem_size, uint32_t cap)
{
    uint32_t slots = ring_slots_for(cap);
    if (elem_size == 0 || elem_size > 65536 || !slots) {
        errno = EINVAL;
        return NULL;
    }
    size_t hdr = (sizeof(struct chan_spsc) + 63) & ~(size_t)63;
    struct chan_spsc *q = aligned_alloc(64, hdr + (((size_t)slots * elem_size + 63) & ~(size_t)63));
    if (!q) {
        errno = ENOMEM;
        return NULL;
    }
    memset(q, 0, sizeof(*q));
    q->ring.cap = cap;
    q->ring.mask = slots - 1;
    q->ring.elem = (uint32_t)elem_size;
    q->ring.slots = (uint8_t *)q + hdr;
    q->recvq.lock = q->sendq.lock = &q->lock;
    return q;
}

void chan_spsc_destroy(struct chan_spsc *q) { free(q); }

/* The other side sleeps (its flag was seen after a fence): wake it. */
void chan_spsc_wake_(struct chan_spsc *q, bool senders)
{
    struct wait_list *list = senders ? &q->sendq : &q->recvq;
    uint64_t flags = spin_lock_irqsave(&q->lock);
    struct wait_node *n = wait_list_claim(list, 0);
    if (n)
        waker_fire(n->waker);
    if (wait_list_empty(list))
        atomic_store_explicit(senders ? &q->send_waiting : &q->recv_waiting, 0,
                              memory_order_relaxed);
    spin_unlock_irqrestore(&q->lock, flags);
    sched_resched_if_needed();
}

/* The ring looked empty: -EAGAIN, or drain what the producer pushed before
 * closing, then -EPIPE. */
int chan_spsc_recv_empty_(struct chan_spsc *q, void *buf)
{
    if (!atomic_load_explicit(&q->closed, memory_order_acquire))
        return -EAGAIN;
    if (!spsc_pop(&q->ring, buf))
        return -EPIPE;
    return 0;
}

int chan_spsc_close(struct chan_spsc *q)
{
    if (atomic_exchange(&q->closed, 1))
        return -EPIPE;
    q->ring.cap = 0;                     /* later pushes fail: see chan_spsc_try_send */
    q->ring.limit = atomic_load_explicit(&q->ring.tail, memory_order_relaxed);
    uint64_t flags = spin_lock_irqsave(&q->lock);
    wait_list_claim_all(&q->recvq, 0);   /* it retries and sees closed */
    atomic_store_explicit(&q->recv_waiting, 0, memory_order_relaxed);
    spin_unlock_irqrestore(&q->lock, flags);
    sched_resched_if_needed();
    return 0;
}

/* Would the side waiting on list be able to go on? */
static bool side_ready(struct chan_spsc *q, bool send)
{
    if (atomic_load(&q->closed))
        return true;
    uint32_t n = spsc_count(&q->ring);
    return send ? n < q->ring.cap : n > 0;
}

/* Queue node (armed waker) and raise the flag, unless the ring changed
 * meanwhile: then nothing is queued and false is returned. */
static bool enqueue_waiter(struct chan_spsc *q, struct wait_node *n, bool send)
{
    struct wait_list *list = send ? &q->sendq : &q->recvq;
    _Atomic uint32_t *flag = send ? &q->send_waiting : &q->recv_waiting;
    uint64_t flags = spin_lock_irqsave(&q->lock);
    wait_list_add(list, n);
    atomic_store(flag, 1);   /* seq_cst store + fence: pairs with kick */
    atomic_thread_fence(memory_order_seq_cst);
    bool wait = !side_ready(q, send);
    if (!wait) {
        wait_list_remove(n);
        if (wait_list_empty(list))
            atomic_store_explicit(flag, 0, memory_order_relaxed);
    }
    spin_unlock_irqrestore(&q->lock, flags);
    return wait;
}

static void dequeue_waiter(struct chan_spsc *q, struct wait_node *n, bool send)
{
    struct wait_list *list = send ? &q->sendq : &q->recvq;
    uint64_t flags = spin_lock_irqsave(&q->lock);
    wait_list_remove(n);
    if (wait_list_empty(list))
        atomic_store_explicit(send ? &q->send_waiting : &q->recv_waiting, 0, memory_order_relaxed);
    spin_unlock_irqrestore(&q->lock, flags);
}

static int try_op(struct chan_spsc *q, void *data, bool send)
{
    return send ? chan_spsc_try_send(q, data) : chan_spsc_try_recv(q, data);
}

/* A cancelled interruptible wait leaves like a timed-out one: the waiter
 * moves messages itself (try_op), so one that leaves moved nothing. */
static int blocking_op(struct chan_spsc *q, void *data, bool send, uint64_t timeout_ns,
                       bool interruptible)
{
    uint64_t deadline = waitq_deadline(timeout_ns);
    for (;;) {
        int r = try_op(q, data, send);
        if (r != -EAGAIN)
            return r;
        struct task_waker tw;
        struct wait_node n;
        task_waker_init(&tw);
        tw.interruptible = interruptible;
        waker_arm(&tw.w, tw.w.qos);
        wait_node_init(&n, &tw.w, 0, NULL);
        if (!enqueue_waiter(q, &n, send))
            continue;
        int32_t why = task_waker_wait(&tw, deadline);
        if (why == -ETIMEDOUT || why == -ECANCELED) {
            dequeue_waiter(q, &n, send);
            return why;
        }
    }
}

int chan_spsc_send(struct chan_spsc *q, const void *msg, uint64_t timeout_ns)
{
    return blocking_op(q, (void *)msg, true, timeout_ns, false);
}

int chan_spsc_recv(struct chan_spsc *q, void *buf, uint64_t timeout_ns)
{
    return blocking_op(q, buf, false, timeout_ns, false);
}

int chan_spsc_send_interruptible(struct chan_spsc *q, const void *msg, uint64_t timeout_ns)
{
    return blocking_op(q, (void *)msg, true, timeout_ns, true);
}

int chan_spsc_recv_interruptible(struct chan_spsc *q, void *buf, uint64_t timeout_ns)
{
    return blocking_op(q, buf, false, timeout_ns, true);
}

static int await_op(struct async_task *self, struct chan_spsc *q, void *data, bool send)
{
    if (async_waiting(self)) {
        if (!async_wait_over(self))
            return ASYNC_PENDING;
        dequeue_waiter(q, &self->node, send);
        int r = async_wait_end(self);
        if (r < 0)
            return r;
    }
    for (;;) {
        int r = async_cancelled(self);
        if (r)
            return r;
        r = try_op(q, data, send);
        if (r != -EAGAIN)
            return r;
        waker_arm(&self->waker, self->qos);
        wait_node_init(&self->node, &self->waker, 0, NULL);
        if (enqueue_waiter(q, &self->node, send))
            return async_wait_park(self);
        /* Not queued: take the wait back, unless a cancel claimed it already. */
        if (!waker_claim(&self->waker, -1, 0))
            return ASYNC_PENDING;
        atomic_store_explicit(&self->waker.state, WAKER_IDLE, memory_order_relaxed);
    }
}

int chan_spsc_send_await(struct async_task *self, struct chan_spsc *q, const void *msg)
{
    return await_op(self, q, (void *)msg, true);
}

int chan_spsc_recv_await(struct async_task *self, struct chan_spsc *q, void *buf)
{
    return await_op(self, q, buf, false);
}
