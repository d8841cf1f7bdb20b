/*
 * Bounded MPMC channels (see sr/chan.h): a lock-free ring (sr/mpmc_ring.h)
 * for the uncontended try_send / try_recv, one spinlock (IRQs masked) over
 * two QoS-ordered wait lists for everything else.
 *
 * Invariants, under the lock:
 * - A wait list is non-empty only while MPMC_WAITERS is set in both ring
 *   words, so no fast operation can start then: with waiters, the ring
 *   changes only through the slow paths here, plus the fast operations
 *   that had claimed a position before the flag was set (in flight).
 * - After settle(): a live receiver waits only while no message is
 *   published, a live sender only while the ring is full (a rendezvous
 *   channel is always both); after a close with nothing left in the ring,
 *   no receiver waits.
 * - Waiters are queued only if what they wait for comes through the lock:
 *   either no operation is in flight at the position they need, or that
 *   operation's slot is watched (mpmc_watch_head / _tail) and its publish
 *   reports to chan_settle_. Whoever queues a waiter and every settle that
 *   leaves waiters queued watches again (the operation they wait for moves
 *   on as they are served).
 * Every transfer to or from a waiter happens under the lock after claiming
 * it, so it is exactly once (a stackful single-list waiter is claimed by
 * taking it off its list: task_wait_take_listed_). Whoever is about to
 * queue a waiter sets MPMC_WAITERS first, or finds it set, and only then
 * looks at the ring (arm); a sender may first, without arming, fail on a
 * closed channel or hand its message to a queued receiver (which looks at
 * no slot: send_op, send_handoff_or_arm). Slow paths clear the flag again
 * once both lists are empty and the ring is neither empty nor full
 * (sync_flags).
 *
 * The blocking calls inline only their common ways (the fast operation,
 * the hand-off to a parked receiver, the park on an empty armed channel)
 * and leave the rest, with the lock held, to out-of-line functions: small
 * frames on the paths a ping-pong takes. A lone untimed stackful receiver
 * on an armed, empty channel parks in the channel's own record (struct
 * chan_rx_record) without the lock, publishing itself in the record's word
 * (sr/chan_rx.h); a sender takes it from the word without the lock. Every
 * lock holder here adopts such a receiver first (chan_lock, and a select's
 * arm), so that under the lock it is an ordinary waiter on recvq and the
 * invariants above hold as they did: while it stays parked without the
 * lock, the ring is armed and empty, nothing is claimed, the channel is
 * open and no other waiter is queued.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>
#include <sr/async.h>
#include <sr/chan.h>
#include <sr/chan_rx.h>
#include <sr/wait_task.h>

/* The record's constant fields (see struct chan_rx_record); free. */
static void rx_record_init(struct chan *c)
{
    struct chan_rx_record *rx = &c->rx;
    atomic_init(&rx->word, CHAN_RX_FREE);
    rx->tw.w = (struct waker){.state = WAKER_IDLE, .which = 0, .kind = WAKER_KIND_TASK_UNTIMED,
                              .fire = task_waker_fire_listed_};
    rx->node = (struct wait_node){.waker = &rx->tw.w, .list = &c->recvq, .index = 0};
}

struct chan *chan_create(size_t elem_size, uint32_t cap)
{
    if (elem_size == 0 || elem_size > 65536 || (cap && !ring_slots_for(cap))) {
        errno = EINVAL;
        return NULL;
    }
    size_t hdr = (sizeof(struct chan) + 63) & ~(size_t)63;
    size_t bytes = (hdr + mpmc_ring_bytes(cap, (uint32_t)elem_size) + 63) & ~(size_t)63;
    struct chan *c = aligned_alloc(64, bytes);
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    memset(c, 0, sizeof(*c));
    c->lock = (spinlock_t)SPINLOCK_INIT;
    mpmc_ring_init(&c->ring, (uint8_t *)c + hdr, cap, (uint32_t)elem_size);
    c->recvq.lock = c->sendq.lock = &c->lock;
    rx_record_init(c);
    return c;
}

void chan_destroy(struct chan *c) { free(c); }

void chan_reopen(struct chan *c)
{
    mpmc_ring_init(&c->ring, c->ring.slots, c->ring.cap, c->ring.elem);
    c->recvq.head = c->recvq.tail = NULL;
    c->sendq.head = c->sendq.tail = NULL;
    rx_record_init(c);
}

/* --- the lock and the record ---------------------------------------------------- */

/* Link the record for task t, which parked without the lock and whose word
 * this lock holder just made t | CHAN_RX_LINKED: from here on it is a listed
 * waiter like any other (its waker WAITING, its data t's buffer). */
static __attribute__((noinline)) void rx_link(struct chan *c, struct task *t)
{
    struct chan_rx_record *rx = &c->rx;
    rx->tw.task = t;
    rx->tw.w.qos = t->qos;
    rx->node.data = (void *)(uintptr_t)t->wait_arg;
    atomic_store_explicit(&rx->tw.w.state, WAKER_WAITING, memory_order_relaxed);
    wait_list_add(&c->recvq, &rx->node);
}

/* Right after taking the lock: adopt a receiver parked without it
 * (chan_rx_adopt: either this sees its word, or it sees the lock held and
 * withdraws, chan_recv_begin_). So while the lock is held, nobody stays
 * parked without it, and every lock holder sees the record's receiver on
 * recvq as before. A sender's lock-free take may win the word first: then
 * there is nothing to adopt. */
static inline void rx_adopt(struct chan *c)
{
    uintptr_t t = chan_rx_adopt(&c->rx.word);
    if (__builtin_expect(t != 0, 0))
        rx_link(c, (struct task *)t);
}

/* The channel's lock, taken as every path here takes it (IRQs masked; the
 * state before returned): the record adopted. */
static inline uint64_t chan_lock(struct chan *c)
{
    uint64_t flags = spin_lock_irqsave(&c->lock);
    rx_adopt(c);
    return flags;
}

/* --- under the lock ------------------------------------------------------------- */

/* Fire a claimed waiter: a stackful one in a single-list wait (chan_send /
 * chan_recv) inline, a stackless one as async_waker_fire_from does, any
 * other through its fire. Returns true if it only queued a stackless
 * waiter on self's executor (no reschedule can be owed for it). */
static inline __attribute__((always_inline)) bool fire_waiter(const struct async_task *self,
                                                             struct waker *w)
{
    if (__builtin_expect(w->kind & WAKER_KIND_TASK_LISTED, !self)) {   /* self: a poll's peer */
        task_waker_wake_listed_(w);
        return false;
    }
    return async_waker_fire_from(self, w);
}

static bool is_closed(struct chan *c) { return mpmc_tail_flags(&c->ring) & MPMC_CLOSED; }

/* Drop waiters that were completed through another list (a select). */
static bool has_live(struct wait_list *l)
{
    struct wait_node *n;
    while ((n = l->head) && waker_state(n->waker) != WAKER_WAITING)
        wait_list_remove(n);
    return n != NULL;
}

/* Serve the waiters from the ring: published messages to waiting receivers,
 * waiting senders' messages into free room; have the operations in flight
 * that those left wait for report (a watch that finds the operation done
 * serves again); then fail the receivers of a closed, drained channel. The
 * claims cannot come to nothing: with waiters queued (flag set) nobody else
 * takes the message or the room first. */
static void settle_waiters(struct chan *c)
{
    struct wait_node *n;
    for (;;) {
        if (has_live(&c->recvq) && mpmc_can_pop(&c->ring)) {
            if ((n = wait_list_claim(&c->recvq, 0))) {
                mpmc_pop_locked(&c->ring, n->data);
                fire_waiter(NULL, n->waker);
            }
            continue;
        }
        if (has_live(&c->sendq) && mpmc_can_push(&c->ring)) {
            if ((n = wait_list_claim(&c->sendq, 0))) {
                mpmc_push_locked(&c->ring, n->data);
                fire_waiter(NULL, n->waker);
            }
            continue;
        }
        /* has_live dropped dead heads: a head now is a live waiter. */
        if ((c->recvq.head && !mpmc_watch_head(&c->ring)) ||
            (c->sendq.head && !mpmc_watch_tail(&c->ring)))
            continue;
        break;
    }
    if (c->recvq.head && is_closed(c) && mpmc_drained(&c->ring))
        wait_list_claim_all(&c->recvq, -EPIPE);
}

static inline void settle(struct chan *c)
{
    if (c->recvq.head || c->sendq.head)
        settle_waiters(c);
}

/* Clear MPMC_WAITERS once nobody waits, and only while the ring is neither
 * empty nor full: those are the states where waiters come back at once
 * (a ping-pong over a one-slot channel), and clearing the flag each time
 * would cost two read-modify-writes per operation for nothing. Until then
 * the operations take the slow path, which is always correct. */
static inline void sync_flags(struct chan *c)
{
    if (c->ring.cap <= 1)
        return;   /* its count is always 0 or >= cap */
    if ((c->recvq.head && has_live(&c->recvq)) || (c->sendq.head && has_live(&c->sendq)))
        return;
    uint32_t n = mpmc_count(&c->ring);
    if (n == 0 || n >= c->ring.cap)
        return;
    mpmc_clear_waiters(&c->ring);
}

/* recv_locked / send_locked need no settle() first: a message or room that
 * appeared while waiters were queued came from a fast operation that had
 * claimed before the flag was set, and the waiters watched it (or the one
 * before it, whose settle watches the next): it settles right after. self: the
 * stackless task whose poll calls (NULL: anyone else), so that a waiter of
 * its own executor is woken on the local list (async_waker_fire_from).
 * to_wait: the caller queues itself if they return false, so what it would
 * wait for in the ring is watched (see top; waiters already queued watched
 * it before: they need no settle here either). */
static inline __attribute__((always_inline)) bool recv_locked(struct chan *c, void *buf, int32_t *res,
                                                             const struct async_task *self, bool to_wait)
{
    struct wait_node *s;
    if (to_wait ? mpmc_pop_or_watch(&c->ring, buf) : mpmc_pop_locked(&c->ring, buf)) {
        if (c->sendq.head)
            settle_waiters(c);                       /* room now: take a waiting sender's */
        *res = 0;
        return true;
    }
    if ((s = wait_list_claim(&c->sendq, 0))) {       /* rendezvous */
        struct waker *w = s->waker;                  /* loaded before the copy's stores */
        ring_copy(buf, s->data, c->ring.elem);
        fire_waiter(self, w);
        *res = 0;
        return true;
    }
    if (is_closed(c) && mpmc_drained(&c->ring)) {
        *res = -EPIPE;
        return true;
    }
    return false;
}

/* The first half of send_locked, which needs no flag set (it looks at no
 * ring slot; a queued receiver means the flags are set already): closed,
 * or straight to a waiting receiver. Returns SEND_LATER if neither, else
 * SEND_DONE, or SEND_DONE_LOCAL if the receiver was only queued on self's
 * executor (fire_waiter: no reschedule to look for after the unlock). */
enum { SEND_LATER, SEND_DONE, SEND_DONE_LOCAL };
static inline __attribute__((always_inline)) int send_handoff(struct chan *c, const void *msg,
                                                             int32_t *res,
                                                             const struct async_task *self)
{
    if (__builtin_expect(is_closed(c), 0)) {
        *res = -EPIPE;
        return SEND_DONE;
    }
    struct wait_node *r;
    if ((r = wait_list_claim(&c->recvq, 0))) {
        struct waker *w = r->waker;                  /* loaded before the copy's stores */
        ring_copy(r->data, msg, c->ring.elem);
        *res = 0;
        return fire_waiter(self, w) ? SEND_DONE_LOCAL : SEND_DONE;
    }
    return SEND_LATER;
}

/* The second half: into the ring, unless senders wait before this one. */
static inline __attribute__((always_inline)) bool send_ring(struct chan *c, const void *msg,
                                                           bool to_wait)
{
    return !has_live(&c->sendq) &&
           (to_wait ? mpmc_push_or_watch(&c->ring, msg) : mpmc_push_locked(&c->ring, msg));
}

static inline __attribute__((always_inline)) bool send_locked(struct chan *c, const void *msg, int32_t *res,
                                                             const struct async_task *self, bool to_wait)
{
    if (send_handoff(c, msg, res, self) != SEND_LATER)
        return true;
    if (send_ring(c, msg, to_wait)) {
        *res = 0;
        return true;
    }
    return false;
}

static inline __attribute__((always_inline)) void unlock_synced(struct chan *c, uint64_t flags)
{
    sync_flags(c);
    spin_unlock_irqrestore(&c->lock, flags);
    sched_resched_if_needed();
}

/* A sender that may wait, with the lock held (IRQ state flags): hand off
 * or fail at once as send_handoff does, releasing the lock and leaving the
 * flags as they are (a hand-off changes no slot, and a flag left set only
 * sends operations the slow way until a later unlock_synced clears it);
 * else arm (flag first, see top) and return false with the lock held. */
static inline __attribute__((always_inline)) bool send_handoff_or_arm(struct chan *c, const void *msg,
                                                                     int32_t *res,
                                                                     const struct async_task *self,
                                                                     uint64_t flags)
{
    int done = send_handoff(c, msg, res, self);
    if (done != SEND_LATER) {
        spin_unlock_irqrestore(&c->lock, flags);
        if (done != SEND_DONE_LOCAL)
            sched_resched_if_needed();
        return true;
    }
    mpmc_set_waiters(&c->ring);
    return false;
}

/* --- slow paths of the inline fast paths -------------------------------------------- */

void chan_settle_(struct chan *c)
{
    uint64_t flags = chan_lock(c);
    settle(c);
    unlock_synced(c, flags);
}

int chan_try_send_slow_(struct chan *c, const void *msg)
{
    int32_t r = -EAGAIN;
    uint64_t flags = chan_lock(c);
    send_locked(c, msg, &r, NULL, false);
    unlock_synced(c, flags);
    return r;
}

int chan_try_recv_slow_(struct chan *c, void *buf)
{
    /* Equal words: nothing claimed, not closed, no rendezvous: empty. Head
     * first: the tail read later can only be larger, so equal means the
     * ring was empty when head was read. */
    uint64_t h = atomic_load(&c->ring.head);
    if (atomic_load(&c->ring.tail) == h)
        return -EAGAIN;
    int32_t r = -EAGAIN;
    uint64_t flags = chan_lock(c);
    recv_locked(c, buf, &r, NULL, false);
    unlock_synced(c, flags);
    return r;
}

/* --- stackful ----------------------------------------------------------------- */

/* Queue on list and block; returns the wait's result. Entered with the lock
 * held and IRQs masked (flags), returns with both released. interruptible:
 * the wait is a cancellation point (sr/wait_task.h). */
static __attribute__((noinline)) int block_timed(struct wait_list *list, void *data,
                                                 uint64_t flags, uint64_t timeout_ns,
                                                 bool interruptible)
{
    return task_wait_listed(list, data, flags, waitq_deadline_after(timeout_ns), interruptible);
}

/* A wait without a deadline inline (no clock look, no timeout way: fewer
 * registers kept across the block), one with a deadline out of line. */
static inline __attribute__((always_inline)) int block_on(struct wait_list *list, void *data,
                                                         uint64_t flags, uint64_t timeout_ns,
                                                         bool interruptible)
{
    if (__builtin_expect(timeout_ns != WAIT_FOREVER, 0))
        return block_timed(list, data, flags, timeout_ns, interruptible);
    return task_wait_listed(list, data, flags, 0, interruptible);
}

/* A fast operation's result: true if done (settling if it was watched). */
static inline bool fast_done(struct chan *c, int res)
{
    if (res == MPMC_DONE_MARKED)
        chan_settle_(c);
    return res != MPMC_REFUSED;
}

/* The general blocking send, out of line, entered with the lock held (IRQ
 * state flags): hand off, fail, queue in the ring, or wait. */
static __attribute__((noinline)) int send_locked_or_wait(struct chan *c, const void *msg,
                                                         uint64_t flags, uint64_t timeout_ns,
                                                         bool interruptible)
{
    int32_t r;
    if (send_handoff_or_arm(c, msg, &r, NULL, flags))
        return r;
    if (send_ring(c, msg, true)) {
        unlock_synced(c, flags);
        return 0;
    }
    return block_on(&c->sendq, (void *)msg, flags, timeout_ns, interruptible);
}

/* The general blocking receive, likewise (the lock armed). */
static __attribute__((noinline)) int recv_locked_or_wait(struct chan *c, void *buf, uint64_t flags,
                                                         uint64_t timeout_ns, bool interruptible)
{
    int32_t r;
    if (recv_locked(c, buf, &r, NULL, true)) {
        unlock_synced(c, flags);
        return r;
    }
    return block_on(&c->recvq, buf, flags, timeout_ns, interruptible);
}

/* With the lock held (IRQ state flags), n the head of recvq, a stackful
 * receiver in an untimed, uninterruptible wait (kind
 * WAKER_KIND_TASK_UNTIMED), the channel open, the message copied to
 * n->data: hand it over. Taking n off is its claim
 * (task_wait_take_listed_), then task_waker_wake_unlock_ (its waker IDLE;
 * the scheduler releases the lock and wakes it). rec: n is the channel's
 * record and the only receiver, so the take clears head and tail, and its
 * waker is known. A take of the record (alone or not) also sets its
 * task's wait_arg to 0 (what its receiver tests) and frees its word. */
static inline __attribute__((always_inline)) void rx_handed_locked(struct chan *c)
{
    c->rx.tw.task->wait_arg = 0;
    chan_rx_free_locked(&c->rx.word);
}

static inline __attribute__((always_inline)) int handoff_untimed(struct chan *c, struct wait_node *n,
                                                                 uint64_t flags, bool rec)
{
    struct waker *w = rec ? &c->rx.tw.w : n->waker;
    if (rec) {
        c->recvq.head = c->recvq.tail = NULL;   /* its own links are NULL, its linked is not kept */
        rx_handed_locked(c);
    } else {
        task_wait_take_listed_(&c->recvq, n);
        if (n == &c->rx.node)   /* the record, behind or ahead of others */
            rx_handed_locked(c);
    }
    return task_waker_wake_unlock_(w, &c->lock, flags);   /* 0 */
}

/* handoff_untimed to a receiver other than the record alone, copy
 * included, out of line. */
static __attribute__((noinline)) int handoff_listed(struct chan *c, struct wait_node *n,
                                                    const void *msg, uint64_t flags)
{
    ring_copy(n->data, msg, c->ring.elem);
    return handoff_untimed(c, n, flags, false);
}

/* The hand-over to a receiver parked in the record without the lock, whose
 * word this sender has just taken (task t, back to CHAN_RX_FREE: another
 * receiver may park at once; t stays blocked until woken here, so its
 * buffer, its task's wait_arg, stays valid). IRQs masked (flags) from the
 * take on, so that t, should it run early (a spurious wake-up), waits only
 * for these few instructions (chan_recv_end_). The channel is open: the
 * receiver parked only on an open channel, and a close adopts it first.
 * Nothing of the channel is touched after wait_arg is 0 (the receiver may
 * return and destroy it). */
static __attribute__((noinline)) int rx_take_copy(struct task *t, const void *msg, uint32_t elem,
                                                  uint64_t flags)
{
    ring_copy((void *)(uintptr_t)t->wait_arg, msg, elem);
    __atomic_store_n(&t->wait_arg, 0, __ATOMIC_RELEASE);
    return sched_wake_masked(flags, t);
}

static inline __attribute__((always_inline)) int rx_take(struct chan *c, struct task *t,
                                                         const void *msg, uint64_t flags)
{
    uint32_t elem = c->ring.elem;
    if (__builtin_expect(elem != 32, 0))
        return rx_take_copy(t, msg, elem, flags);
    memcpy((void *)(uintptr_t)t->wait_arg, msg, 32);
    __atomic_store_n(&t->wait_arg, 0, __ATOMIC_RELEASE);
    return sched_wake_masked(flags, t);
}

/* A blocking send on a channel whose tail word has no flag: the fast push
 * (whose copy may call memcpy and whose publish may settle), and if it is
 * refused the general way. Out of line, so that chan_send keeps nothing
 * across a call on its other ways. */
static __attribute__((noinline)) int send_unflagged(struct chan *c, const void *msg,
                                                    uint64_t timeout_ns, bool interruptible)
{
    if (fast_done(c, mpmc_try_push(&c->ring, msg)))
        return 0;
    return send_locked_or_wait(c, msg, chan_lock(c), timeout_ns, interruptible);
}

/* A blocking send. Inline only the common way of a flagged channel: the
 * hand-off to a stackful receiver in an untimed, uninterruptible wait at
 * the head of an open channel (handoff_untimed: inline for the one
 * receiver parked in the channel's record, tested by its address, whose
 * waker and kind need no loads; out of line for any other). Anything
 * else, a stackless, select, timed or interruptible waiter at the head
 * included, goes to send_locked_or_wait with the lock held. */
/* send_op's way through the lock, out of line (so that the lock-free take
 * keeps nothing across a call). */
static __attribute__((noinline)) int send_flagged_locked(struct chan *c, const void *msg,
                                                         uint64_t timeout_ns, bool interruptible)
{
    uint64_t flags = chan_lock(c);
    struct wait_node *n = c->recvq.head;
    struct wait_node *rec = &c->rx.node;
    /* The record linked means the channel is open (no closed test): it
     * parks only on equal ring words (no position claimed, so no close
     * either), after which every push takes the lock (armed); a close
     * under the lock then finds the ring drained and fails every receiver
     * (settle), unlinking the record. */
    if (__builtin_expect((n == rec) & (c->recvq.tail == rec), 1)) {
        /* The copy inline only where it calls no memcpy: nothing is kept
         * across a call here but the wake-up's. */
        uint32_t elem = c->ring.elem;
        if (__builtin_expect(elem == 32, 1))
            memcpy(rec->data, msg, 32);
        else if (elem >= 4 && elem <= 64)
            ring_copy(rec->data, msg, elem);
        else
            return handoff_listed(c, rec, msg, flags);
        return handoff_untimed(c, rec, flags, true);
    }
    if (n && !is_closed(c) && n->waker->kind == WAKER_KIND_TASK_UNTIMED)
        return handoff_listed(c, n, msg, flags);
    return send_locked_or_wait(c, msg, flags, timeout_ns, interruptible);
}

static inline __attribute__((always_inline)) int send_op(struct chan *c, const void *msg,
                                                         uint64_t timeout_ns, bool interruptible)
{
    if (!mpmc_tail_flagged(&c->ring))
        return send_unflagged(c, msg, timeout_ns, interruptible);
    /* A receiver parked in the record without the lock: take it (its
     * word back to CHAN_RX_FREE), else the lock. A plain load first, at an
     * offset (the compare-and-swap decides). */
    uintptr_t pw = *(volatile uintptr_t *)&c->rx.word;
    if (__builtin_expect(chan_rx_parked(pw), 1)) {
        uint64_t flags = arch_irq_save();
        if (__builtin_expect(chan_rx_take(&c->rx.word, pw), 1))
            return rx_take(c, (struct task *)pw, msg, flags);
        arch_irq_restore(flags);
    }
    return send_flagged_locked(c, msg, timeout_ns, interruptible);
}

/* Under the lock: armed already, and nothing to receive and nobody to
 * take it from. Armed: MPMC_WAITERS in head (so in tail too, see top), and
 * then head cannot move (no fast pop starts, locked ones wait for the
 * lock): one load serves both tests. Nothing: no position claimed (equal
 * words: a push that comes now takes the lock), the channel open
 * (MPMC_CLOSED, on tail only, would make them differ; MPMC_GATED, also on
 * tail only, is ignored) and no sender waiting. A receiver that finds this
 * waits without looking at a slot (what recv_locked would conclude). */
static inline bool recv_armed_must_wait(struct chan *c)
{
    uint64_t h = atomic_load(&c->ring.head);
    return (h & MPMC_WAITERS) && !((h ^ atomic_load(&c->ring.tail)) & ~(uint64_t)MPMC_GATED) &&
           !c->sendq.head;
}

/* The end of a park in the channel's record whose receiver, woken, did not
 * find its task's wait_arg 0 (a taker's hand-over): under the lock (which
 * adopts the record if cur is still parked without it: a spurious
 * wake-up), the record linked for cur and DONE is a claim's result, and
 * the record is freed here; linked and still WAITING, a spurious wake-up:
 * block again. Not linked for cur and wait_arg not 0: a lock-free taker
 * has taken the word and not yet copied (IRQs masked there): wait for it. */
int chan_recv_end_(struct chan *c)
{
    struct chan_rx_record *rx = &c->rx;
    struct task *cur = sched_current();
    int32_t r = 0;
    uint64_t flags = chan_lock(c);
    while (__atomic_load_n(&cur->wait_arg, __ATOMIC_ACQUIRE)) {
        if (atomic_load_explicit(&rx->word, memory_order_relaxed) !=
            ((uintptr_t)cur | CHAN_RX_LINKED)) {
            while (__atomic_load_n(&cur->wait_arg, __ATOMIC_ACQUIRE))
                arch_cpu_relax();
            break;
        }
        if (waker_state(&rx->tw.w) == WAKER_DONE) {
            r = rx->tw.w.result;
            atomic_store_explicit(&rx->tw.w.state, WAKER_IDLE, memory_order_relaxed);
            cur->wait_arg = 0;
            chan_rx_free_locked(&rx->word);
            break;
        }
        sched_block_unlock(&c->lock, flags);
        flags = chan_lock(c);
    }
    spin_unlock_irqrestore(&c->lock, flags);
    return r;
}

/* A blocking receive but the untimed one's common ways: the fast pop, else
 * the general way (recv_locked_or_wait), with a deadline or at a
 * cancellation point included. */
static inline __attribute__((always_inline)) int recv_op(struct chan *c, void *buf,
                                                         uint64_t timeout_ns, bool interruptible)
{
    if (!mpmc_head_flagged(&c->ring) && fast_done(c, mpmc_try_pop(&c->ring, buf)))
        return 0;
    uint64_t flags = chan_lock(c);
    mpmc_set_waiters(&c->ring);
    return recv_locked_or_wait(c, buf, flags, timeout_ns, interruptible);
}

/* recv_op with a deadline or a cancellation point, out of line. */
static __attribute__((noinline)) int recv_op_timed(struct chan *c, void *buf, uint64_t timeout_ns,
                                                   bool interruptible)
{
    return recv_op(c, buf, timeout_ns, interruptible);
}

/* Under the lock, armed: the untimed receive may park in the channel's
 * record (nothing to receive, nobody to take it from, no other receiver
 * waiting, the record free). */
static inline bool rx_record_may_park(struct chan *c)
{
    return recv_armed_must_wait(c) && !c->recvq.head &&
           atomic_load_explicit(&c->rx.word, memory_order_relaxed) == CHAN_RX_FREE;
}

/* Park the current task in the channel's record under the lock
 * (rx_record_may_park; IRQ state flags) and block up to the switch
 * (sched_block_unlock_begin). The word is taken with a compare-and-swap
 * (a receiver parking without the lock may race for it, and then sees the
 * lock held and withdraws); if that fails, the general way. Only the
 * fields chan_create did not set are stored; the list is empty and the
 * record's links NULL, so linking is the list's head and tail. */
static __attribute__((noinline)) struct sched_block_switch
rx_record_park_locked(struct chan *c, void *buf, uint64_t flags)
{
    struct chan_rx_record *rx = &c->rx;
    struct task *cur = sched_current();
    if (!chan_rx_link_locked(&rx->word, (uintptr_t)cur))
        return (struct sched_block_switch){
            NULL, {.result = recv_locked_or_wait(c, buf, flags, WAIT_FOREVER, false)}};
    cur->wait_arg = (uintptr_t)buf;
    rx->tw.task = cur;
    rx->tw.w.qos = cur->qos;
    rx->node.data = buf;
    atomic_store_explicit(&rx->tw.w.state, WAKER_WAITING, memory_order_relaxed);
    c->recvq.head = c->recvq.tail = &rx->node;
    return sched_block_unlock_begin(&c->lock, flags);
}

/* The untimed receive's way through the lock (held, IRQ state flags):
 * arm, then park in the record if it may, else the general way, which
 * ends the receive here. */
static __attribute__((noinline)) struct sched_block_switch
recv_general_begin(struct chan *c, void *buf, uint64_t flags)
{
    mpmc_set_waiters(&c->ring);
    if (rx_record_may_park(c))
        return rx_record_park_locked(c, buf, flags);
    return (struct sched_block_switch){
        NULL, {.result = recv_locked_or_wait(c, buf, flags, WAIT_FOREVER, false)}};
}

/* chan_recv_begin_'s way on a channel whose head word has no flag, out of
 * line (so that the begin needs no frame): the fast pop, else the lock and
 * recv_general_begin. */
static __attribute__((noinline)) struct sched_block_switch recv_unflagged_begin(struct chan *c,
                                                                                void *buf)
{
    if (fast_done(c, mpmc_try_pop(&c->ring, buf)))
        return (struct sched_block_switch){NULL, {.result = 0}};
    return recv_general_begin(c, buf, chan_lock(c));
}

/* After publishing cur in the word: may it stay parked without the lock?
 * The lock free (a seq_cst load after the seq_cst compare-and-swap: see
 * rx_adopt; the acquire also shows this side everything the last holder
 * did), and then, as a lock holder would find it: armed, nothing claimed,
 * open, no sender and no receiver queued. From then on every lock holder
 * adopts it first, and no push can start without the lock (armed). */
static inline bool rx_park_holds(struct chan *c)
{
    if (atomic_load_explicit(&c->lock.locked, memory_order_seq_cst))
        return false;
    /* Plain loads at an offset, ordered after the acquire above. */
    uint64_t h = *(volatile uint64_t *)&c->ring.head;
    uint64_t t = *(volatile uint64_t *)&c->ring.tail;
    uintptr_t q = (uintptr_t)*(struct wait_node *volatile *)&c->sendq.head |
                  (uintptr_t)*(struct wait_node *volatile *)&c->recvq.head;
    return (h & MPMC_WAITERS) && !((h ^ t) & ~(uint64_t)MPMC_GATED) && !q;
}

/* The park without the lock did not hold (or never began: the record
 * busy): cur BLOCKED, its buffer in its wait_arg, IRQs masked (flags).
 * If cur's word is still in the
 * record, take it back: nobody can wake cur now, so it runs on and takes
 * the way through the lock. If not, a sender took it (its wake-up comes)
 * or a lock holder adopted it (cur is a listed waiter now): block. */
static __attribute__((noinline)) struct sched_block_switch rx_park_withdraw(struct chan *c,
                                                                            uint64_t flags,
                                                                            bool published)
{
    struct task *cur = sched_current();
    void *buf = (void *)(uintptr_t)cur->wait_arg;
    if (published && !chan_rx_withdraw(&c->rx.word, (uintptr_t)cur))
        return sched_block_prepared_begin(flags);
    sched_block_withdraw(cur);
    spin_lock(&c->lock);
    rx_adopt(c);
    return recv_general_begin(c, buf, flags);
}

/* The untimed receive up to its switch (sr/chan.h): on an armed channel,
 * the park in the record without the lock, inline: cur BLOCKED, its buffer
 * in its wait_arg, then the word from CHAN_RX_FREE to cur, then the test that
 * the park holds (rx_park_holds; else rx_park_withdraw). */
struct sched_block_switch chan_recv_begin_(struct chan *c, void *buf)
{
    if (!(*(volatile uint64_t *)&c->ring.head & MPMC_FLAGS))   /* mpmc_head_flagged, at an offset */
        return recv_unflagged_begin(c, buf);
    struct task *cur = sched_current();
    cur->wait_arg = (uintptr_t)buf;   /* its own field: IRQs may still come */
    uint64_t flags = arch_irq_save();
    sched_block_prepare(cur);
    if (__builtin_expect(!chan_rx_publish(&c->rx.word, (uintptr_t)cur), 0))
        return rx_park_withdraw(c, flags, false);
    if (__builtin_expect(!rx_park_holds(c), 0))
        return rx_park_withdraw(c, flags, true);
    return sched_block_prepared_begin(flags);
}

int chan_send_(struct chan *c, const void *msg, uint64_t timeout_ns)
{
    return send_op(c, msg, timeout_ns, false);
}

int chan_send_untimed_(struct chan *c, const void *msg)
{
    return send_op(c, msg, WAIT_FOREVER, false);
}

int chan_recv_(struct chan *c, void *buf, uint64_t timeout_ns)
{
    if (timeout_ns != WAIT_FOREVER)
        return recv_op_timed(c, buf, timeout_ns, false);
    return chan_recv(c, buf, WAIT_FOREVER);
}

int chan_send_interruptible(struct chan *c, const void *msg, uint64_t timeout_ns)
{
    return send_op(c, msg, timeout_ns, true);
}

int chan_recv_interruptible(struct chan *c, void *buf, uint64_t timeout_ns)
{
    return recv_op_timed(c, buf, timeout_ns, true);
}

int chan_close(struct chan *c)
{
    uint64_t flags = chan_lock(c);
    bool was = is_closed(c);
    if (!was) {
        mpmc_close(&c->ring);
        wait_list_claim_all(&c->sendq, -EPIPE);
        settle(c);                                   /* what is queued still goes to receivers */
    }
    unlock_synced(c, flags);
    return was ? -EPIPE : 0;
}

uint32_t chan_len(struct chan *c) { return mpmc_count(&c->ring); }

uint64_t chan_lock_lists(struct chan *c) { return chan_lock(c); }

/* --- stackless ------------------------------------------------------------------ */

/* Queue self's node on list and park (the lock held, IRQ state flags).
 * The waker's QoS and the node's waker and index are set for good
 * (async_task_init_): waker_arm's state and the node's data only. */
static inline __attribute__((always_inline)) int await_park(struct async_task *self, struct chan *c,
                                                           struct wait_list *list, void *data,
                                                           uint64_t flags)
{
    atomic_store(&self->waker.state, WAKER_WAITING);   /* seq_cst, as waker_arm's */
    self->node.data = data;
    wait_list_add(list, &self->node);
    spin_unlock_irqrestore(&c->lock, flags);
    return async_wait_park(self);
}

/* An await's first call: complete it at once if it can, else queue self's
 * node and park. chan_send_await_start_ / chan_recv_await_start_ inline
 * only their common ways (the hand-off to a stackless receiver, the park
 * on an empty armed channel) and reach every other way by a tail call
 * into the functions below, so that they keep no frame. */

/* A send that is not the inline hand-off, with the lock held (IRQ state
 * flags): hand off or fail (send_handoff), else arm, and the ring or park. */
static __attribute__((noinline)) int send_await_locked(struct async_task *self, struct chan *c,
                                                       void *data, uint64_t flags)
{
    int32_t r;
    int done = send_handoff(c, data, &r, self);
    if (done != SEND_LATER) {
        spin_unlock_irqrestore(&c->lock, flags);
        if (done != SEND_DONE_LOCAL)
            sched_resched_if_needed();
        return r;
    }
    mpmc_set_waiters(&c->ring);
    if (send_ring(c, data, true)) {
        unlock_synced(c, flags);
        return 0;
    }
    return await_park(self, c, &c->sendq, data, flags);
}

/* A receive that is not a plain park, likewise: arm, then the ring or a
 * waiting sender, or park. */
static __attribute__((noinline)) int recv_await_locked(struct async_task *self, struct chan *c,
                                                       void *data, uint64_t flags)
{
    int32_t r;
    mpmc_set_waiters(&c->ring);
    if (recv_locked(c, data, &r, self, true)) {
        unlock_synced(c, flags);
        return r;
    }
    return await_park(self, c, &c->recvq, data, flags);
}

/* The two above for a start that found a receiver parked in the record
 * (without the lock) when it took the lock: adopted first, as chan_lock
 * does; out of line, so the starts test the word and keep no frame. */
static __attribute__((noinline)) int send_await_adopt_locked(struct async_task *self,
                                                             struct chan *c, void *data,
                                                             uint64_t flags)
{
    rx_adopt(c);
    return send_await_locked(self, c, data, flags);
}

static __attribute__((noinline)) int recv_await_adopt_locked(struct async_task *self,
                                                             struct chan *c, void *data,
                                                             uint64_t flags)
{
    rx_adopt(c);
    return recv_await_locked(self, c, data, flags);
}

/* A cancelled task's await, or one on a channel whose word on its side has
 * no flag: -ECANCELED, the fast operation, else the locked way. */
static __attribute__((noinline)) int await_unflagged(struct async_task *self, struct chan *c,
                                                     void *data, bool send)
{
    int32_t r = async_cancelled(self);
    if (r)
        return r;
    if (send ? !mpmc_tail_flagged(&c->ring) && fast_done(c, mpmc_try_push(&c->ring, data))
             : !mpmc_head_flagged(&c->ring) && fast_done(c, mpmc_try_pop(&c->ring, data)))
        return 0;
    uint64_t flags = chan_lock(c);
    return send ? send_await_locked(self, c, data, flags) : recv_await_locked(self, c, data, flags);
}

/* The inline hand-off's end for a receiver of self's executor that is
 * not parked (lock held, flags): its waker is DONE already; queue it, or
 * have it polled again if it is running (a wait it began in its poll,
 * which has not returned: make_ready's NOTIFIED). No reschedule is owed. */
static __attribute__((noinline)) int handoff_ready_unlock(struct async_task *self, struct chan *c,
                                                          struct async_task *t, uint64_t flags)
{
    async_make_ready_local_(async_exec_of_(self), t, false);
    spin_unlock_irqrestore(&c->lock, flags);
    return 0;
}

int chan_send_await_start_(struct async_task *self, struct chan *c, const void *msg)
{
    if (async_cancelled(self) || !mpmc_tail_flagged(&c->ring))
        return await_unflagged(self, c, (void *)msg, true);
    uint64_t flags = spin_lock_irqsave(&c->lock);
    if (__builtin_expect(chan_rx_parked(chan_rx_peek(&c->rx.word)), 0))
        return send_await_adopt_locked(self, c, (void *)msg, flags);
    /* Inline: a stackless receiver of self's executor at the head of an
     * open channel, a message whose copy calls no memcpy; anything else,
     * a lost claim included, goes the general way (send_handoff). */
    struct wait_node *n = c->recvq.head;
    uint32_t elem = c->ring.elem;
    if (__builtin_expect(!n || is_closed(c) || !(n->waker->kind & WAKER_KIND_ASYNC) ||
                         (elem != 32 && (elem < 4 || elem > 64)), 0))
        return send_await_locked(self, c, (void *)msg, flags);
    struct waker *w = n->waker;
    struct async_task *t = container_of(w, struct async_task, waker);
    if (__builtin_expect(t->exec != self->exec, 0))
        return send_await_locked(self, c, (void *)msg, flags);
    /* The claim (its timer or a cancel may race for it) makes the waker
     * DONE at once, its which and result stored after: only t reads
     * those, and t is polled by self's executor task, which is running
     * self's poll now (nobody else acts on DONE but fails a claim). */
    wait_list_unlink_head(&c->recvq, n);
    uint32_t waiting = WAKER_WAITING;
    if (__builtin_expect(!atomic_compare_exchange_strong_explicit(&w->state, &waiting, WAKER_DONE,
                                                                  memory_order_acq_rel,
                                                                  memory_order_relaxed), 0))
        return send_await_locked(self, c, (void *)msg, flags);
    w->which = n->index;
    w->result = 0;
    if (__builtin_expect(elem == 32, 1))
        memcpy(n->data, msg, 32);
    else
        ring_copy(n->data, msg, elem);
    /* Parked (its poll has returned, and only its claimer, this, queues
     * it): onto the local list with a few plain stores, and no reschedule
     * is owed. */
    if (__builtin_expect(atomic_load_explicit(&t->sched, memory_order_relaxed) != ASYNC_S_IDLE, 0))
        return handoff_ready_unlock(self, c, t, flags);
    async_queue_claimed_local_(async_exec_of_(self), t);
    spin_unlock_irqrestore(&c->lock, flags);
    return 0;
}

int chan_recv_await_start_(struct async_task *self, struct chan *c, void *buf)
{
    if (async_cancelled(self) || !mpmc_head_flagged(&c->ring))
        return await_unflagged(self, c, buf, false);
    uint64_t flags = spin_lock_irqsave(&c->lock);
    if (__builtin_expect(chan_rx_parked(chan_rx_peek(&c->rx.word)), 0))
        return recv_await_adopt_locked(self, c, buf, flags);
    if (__builtin_expect(!recv_armed_must_wait(c), 0))
        return recv_await_locked(self, c, buf, flags);
    return await_park(self, c, &c->recvq, buf, flags);
}

int chan_await_resume_slow_(struct async_task *self)
{
    if (!async_wait_over(self))
        return ASYNC_PENDING;
    if (self->waker.which < 0)   /* timeout or cancel: withdraw the node */
        wait_node_unlink(&self->node);
    return async_wait_end(self);
}

/* --- select cases ----------------------------------------------------------------- */

static spinlock_t *case_lock(const struct sel_case *sc) { return &((struct chan *)sc->obj)->lock; }

/* Not ready: the operation in flight that the case would wait for, if
 * any, is watched before the select queues (see top); an operation that
 * finished meanwhile makes the case ready. */
static bool recv_ready(struct sel_case *sc)
{
    struct chan *c = sc->obj;
    return mpmc_can_pop(&c->ring) || has_live(&c->sendq) ||
           (is_closed(c) && mpmc_drained(&c->ring)) || !mpmc_watch_head(&c->ring);
}

static bool recv_perform(struct sel_case *sc, int32_t *res)
{
    return recv_locked(sc->obj, sc->buf, res, NULL, false);
}
static struct wait_list *recv_list(struct sel_case *sc) { return &((struct chan *)sc->obj)->recvq; }

static bool send_ready(struct sel_case *sc)
{
    struct chan *c = sc->obj;
    return is_closed(c) || has_live(&c->recvq) ||
           (!has_live(&c->sendq) && (mpmc_can_push(&c->ring) || !mpmc_watch_tail(&c->ring)));
}

static bool send_perform(struct sel_case *sc, int32_t *res)
{
    return send_locked(sc->obj, sc->buf, res, NULL, false);
}
static struct wait_list *send_list(struct sel_case *sc) { return &((struct chan *)sc->obj)->sendq; }

/* The first call with the select's locks held (select.c: lock_all, then
 * arm_all): the record adopted there, as chan_lock does. */
static void case_arm(struct sel_case *sc)
{
    struct chan *c = sc->obj;
    rx_adopt(c);
    mpmc_set_waiters(&c->ring);
}
static void case_disarm(struct sel_case *sc) { sync_flags(sc->obj); }

static const struct sel_kind recv_kind = {case_lock, recv_ready, recv_perform, recv_list,
                                          case_arm, case_disarm};
static const struct sel_kind send_kind = {case_lock, send_ready, send_perform, send_list,
                                          case_arm, case_disarm};

void chan_case_recv(struct sel_case *sc, struct chan *c, void *buf)
{
    *sc = (struct sel_case){.kind = &recv_kind, .obj = c, .buf = buf};
}

void chan_case_send(struct sel_case *sc, struct chan *c, const void *msg)
{
    *sc = (struct sel_case){.kind = &send_kind, .obj = c, .buf = (void *)msg};
}
