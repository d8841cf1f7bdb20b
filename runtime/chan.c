/*
 * Bounded MPMC channels (see sr/chan.h): one spinlock (IRQs masked) over a
 * ring and two QoS-ordered wait lists. Invariants: a live receiver waits
 * only while the ring is empty, a live sender only while it is full (a
 * rendezvous channel is always both); every transfer to or from a waiter
 * happens under the lock after claiming it, so it is exactly once.
 */
#include <errno.h>
#include <stdlib.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>
#include <sr/async.h>
#include <sr/chan.h>
#include <sr/wait_task.h>

struct chan *chan_create(size_t elem_size, uint32_t cap)
{
    uint32_t slots = ring_slots_for(cap);
    if (elem_size == 0 || elem_size > 65536 || (cap && !slots)) {
        errno = EINVAL;
        return NULL;
    }
    size_t hdr = (sizeof(struct chan) + 15) & ~(size_t)15;
    struct chan *c = malloc(hdr + (size_t)slots * elem_size);
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    *c = (struct chan){.lock = SPINLOCK_INIT};
    c->ring = (struct ring){.cap = cap, .mask = slots ? slots - 1 : 0,
                            .elem = (uint32_t)elem_size, .slots = (uint8_t *)c + hdr};
    c->recvq.lock = c->sendq.lock = &c->lock;
    return c;
}

void chan_destroy(struct chan *c) { free(c); }

/* --- under the lock ------------------------------------------------------------- */

static bool recv_locked(struct chan *c, void *buf, int32_t *res)
{
    struct wait_node *s;
    if (!ring_empty(&c->ring)) {
        ring_pop(&c->ring, buf);
        if ((s = wait_list_claim(&c->sendq, 0))) {   /* room now: take a waiting sender's */
            ring_push(&c->ring, s->data);
            waker_fire(s->waker);
        }
        *res = 0;
        return true;
    }
    if ((s = wait_list_claim(&c->sendq, 0))) {       /* rendezvous */
        ring_copy(buf, s->data, c->ring.elem);
        waker_fire(s->waker);
        *res = 0;
        return true;
    }
    if (c->closed) {
        *res = -EPIPE;
        return true;
    }
    return false;
}

static bool send_locked(struct chan *c, const void *msg, int32_t *res)
{
    if (c->closed) {
        *res = -EPIPE;
        return true;
    }
    struct wait_node *r;
    if ((r = wait_list_claim(&c->recvq, 0))) {       /* straight to a waiting receiver */
        ring_copy(r->data, msg, c->ring.elem);
        waker_fire(r->waker);
        *res = 0;
        return true;
    }
    if (!ring_full(&c->ring)) {
        ring_push(&c->ring, msg);
        *res = 0;
        return true;
    }
    return false;
}

/* The common cases, inline: nobody waits on the other side. */
static inline bool send_fast(struct chan *c, const void *msg)
{
    if (c->closed || c->recvq.head || ring_full(&c->ring))
        return false;
    ring_push(&c->ring, msg);
    return true;
}

static inline bool recv_fast(struct chan *c, void *buf)
{
    if (ring_empty(&c->ring) || c->sendq.head)
        return false;
    ring_pop(&c->ring, buf);
    return true;
}

/* Drop waiters that were completed through another list (a select). */
static bool has_live(struct wait_list *l)
{
    struct wait_node *n;
    while ((n = l->head) && waker_state(n->waker) != WAKER_WAITING)
        wait_list_remove(n);
    return n != NULL;
}

/* --- stackful ----------------------------------------------------------------- */

/* Queue on list and block; returns the wait's result. Entered with the lock
 * held and IRQs masked (flags), returns with both released. */
static int block_on(struct wait_list *list, void *data, uint64_t flags, uint64_t timeout_ns)
{
    uint64_t deadline = waitq_deadline(timeout_ns);
    struct task_waker tw;
    struct wait_node n;
    task_waker_init(&tw);
    waker_arm(&tw.w, tw.w.qos);
    wait_node_init(&n, &tw.w, 0, data);
    wait_list_add(list, &n);
    return task_waker_wait_on(&tw, &n, flags, deadline);
}

int chan_send(struct chan *c, const void *msg, uint64_t timeout_ns)
{
    int32_t r;
    uint64_t flags = spin_lock_irqsave(&c->lock);
    if (send_fast(c, msg)) {
        spin_unlock_irqrestore(&c->lock, flags);
        return 0;
    }
    if (send_locked(c, msg, &r)) {
        spin_unlock_irqrestore(&c->lock, flags);
        sched_resched_if_needed();
        return r;
    }
    return block_on(&c->sendq, (void *)msg, flags, timeout_ns);
}

int chan_recv(struct chan *c, void *buf, uint64_t timeout_ns)
{
    int32_t r;
    uint64_t flags = spin_lock_irqsave(&c->lock);
    if (recv_fast(c, buf)) {
        spin_unlock_irqrestore(&c->lock, flags);
        return 0;
    }
    if (recv_locked(c, buf, &r)) {
        spin_unlock_irqrestore(&c->lock, flags);
        sched_resched_if_needed();
        return r;
    }
    return block_on(&c->recvq, buf, flags, timeout_ns);
}

int chan_try_send(struct chan *c, const void *msg)
{
    int32_t r = -EAGAIN;
    uint64_t flags = spin_lock_irqsave(&c->lock);
    if (send_fast(c, msg)) {
        spin_unlock_irqrestore(&c->lock, flags);
        return 0;
    }
    send_locked(c, msg, &r);
    spin_unlock_irqrestore(&c->lock, flags);
    sched_resched_if_needed();
    return r;
}

int chan_try_recv(struct chan *c, void *buf)
{
    int32_t r = -EAGAIN;
    uint64_t flags = spin_lock_irqsave(&c->lock);
    if (recv_fast(c, buf)) {
        spin_unlock_irqrestore(&c->lock, flags);
        return 0;
    }
    recv_locked(c, buf, &r);
    spin_unlock_irqrestore(&c->lock, flags);
    sched_resched_if_needed();
    return r;
}

int chan_close(struct chan *c)
{
    uint64_t flags = spin_lock_irqsave(&c->lock);
    bool was = c->closed;
    c->closed = true;
    if (!was) {
        wait_list_claim_all(&c->recvq, -EPIPE);   /* the ring is empty if any wait */
        wait_list_claim_all(&c->sendq, -EPIPE);
    }
    spin_unlock_irqrestore(&c->lock, flags);
    sched_resched_if_needed();
    return was ? -EPIPE : 0;
}

uint32_t chan_len(struct chan *c)
{
    uint64_t flags = spin_lock_irqsave(&c->lock);
    uint32_t n = ring_count(&c->ring);
    spin_unlock_irqrestore(&c->lock, flags);
    return n;
}

/* --- stackless ------------------------------------------------------------------ */

static int await_op(struct async_task *self, struct chan *c, void *data, bool send)
{
    if (async_waiting(self)) {
        if (!async_wait_over(self))
            return ASYNC_PENDING;
        if (self->waker.which < 0)   /* timeout or cancel: withdraw the node */
            wait_node_unlink(&self->node);
        return async_wait_end(self);
    }
    int32_t r = async_cancelled(self);
    if (r)
        return r;
    uint64_t flags = spin_lock_irqsave(&c->lock);
    if (send ? send_locked(c, data, &r) : recv_locked(c, data, &r)) {
        spin_unlock_irqrestore(&c->lock, flags);
        return r;
    }
    waker_arm(&self->waker, self->qos);
    wait_node_init(&self->node, &self->waker, 0, data);
    wait_list_add(send ? &c->sendq : &c->recvq, &self->node);
    spin_unlock_irqrestore(&c->lock, flags);
    return async_wait_park(self);
}

int chan_send_await(struct async_task *self, struct chan *c, const void *msg)
{
    return await_op(self, c, (void *)msg, true);
}

int chan_recv_await(struct async_task *self, struct chan *c, void *buf)
{
    return await_op(self, c, buf, false);
}

/* --- select cases ----------------------------------------------------------------- */

static spinlock_t *case_lock(const struct sel_case *sc) { return &((struct chan *)sc->obj)->lock; }

static bool recv_ready(struct sel_case *sc)
{
    struct chan *c = sc->obj;
    return !ring_empty(&c->ring) || c->closed || has_live(&c->sendq);
}

static bool recv_perform(struct sel_case *sc, int32_t *res) { return recv_locked(sc->obj, sc->buf, res); }
static struct wait_list *recv_list(struct sel_case *sc) { return &((struct chan *)sc->obj)->recvq; }

static bool send_ready(struct sel_case *sc)
{
    struct chan *c = sc->obj;
    return c->closed || !ring_full(&c->ring) || has_live(&c->recvq);
}

static bool send_perform(struct sel_case *sc, int32_t *res) { return send_locked(sc->obj, sc->buf, res); }
static struct wait_list *send_list(struct sel_case *sc) { return &((struct chan *)sc->obj)->sendq; }

static const struct sel_kind recv_kind = {case_lock, recv_ready, recv_perform, recv_list};
static const struct sel_kind send_kind = {case_lock, send_ready, send_perform, send_list};

void chan_case_recv(struct sel_case *sc, struct chan *c, void *buf)
{
    *sc = (struct sel_case){.kind = &recv_kind, .obj = c, .buf = buf};
}

void chan_case_send(struct sel_case *sc, struct chan *c, const void *msg)
{
    *sc = (struct sel_case){.kind = &send_kind, .obj = c, .buf = (void *)msg};
}
