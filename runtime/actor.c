/*
 * Actors and one-for-one supervisors (see sr/actor.h).
 *
 * Shapes: a mailbox message is an envelope (the request's reply box or
 * NULL, then the payload). A reply box is the reply slot of one request:
 * the requester's waker (sr/wait_task.h), the handler's status and the
 * reply bytes, which the handler writes in place. The requester arms the
 * waker, sends the envelope and waits on the waker alone; the replying
 * side (the actor, or its supervisor after a fault) claims the waker, sets
 * the status and fires it (one wake, no reply channel, no copy of the
 * reply on the actor's side). Whoever claims first wins: a requester that
 * times out claims it itself, so a late reply finds it claimed and leaves
 * the requester alone; a side that will not reply claims it with -EPIPE
 * or -EFAULT. A box has two owners, the requester and the replying side;
 * each drops its ownership when done (one atomic decrement), and the last
 * one keeps the box for the actor's next request: as its spare (one atomic
 * exchange each way), else in its pool (a channel of pointers; freed when
 * the pool is full). So a late
 * reply or a requester waiting on an actor that died is never a use after
 * free nor a hang, and a request allocates nothing in the steady state.
 *
 * Supervision: an actor's task cannot clean up after its own fault, so
 * each incarnation gets a watch task that joins it and posts the exit on
 * the supervisor's event channel. The supervisor task handles events one
 * at a time: it joins the watch, fails the request in flight (-EFAULT),
 * and restarts the child, ends it, or gives up. Invariants: only the
 * supervisor task spawns restarts and ends children; `live` (children not
 * yet ended) changes under s->lock; a child's task, watch and in-flight
 * reply are touched by the supervisor only after its watch has reported.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/spinlock.h>
#include <kernel/waitq.h>
#include <sr/actor.h>
#include <sr/chan.h>
#include <sr/ring.h>
#include <sr/restart_window.h>
#include <sr/wait_task.h>

/* The handler's reply bytes start zeroed; reply buffers hold at least
 * REPLY_MIN bytes, so a small reply is zeroed with fixed-size stores. */
#define REPLY_MIN 64

/* A request's reply slot and its owners (see above). */
struct reply_box {
    struct task_waker tw;           /* the requester's wait; result 0 or -errno */
    _Atomic uint32_t owners;        /* 2 while a request is out */
    int32_t status;                 /* the handler's return value */
    _Alignas(16) uint8_t payload[]; /* max(reply_size, REPLY_MIN) bytes */
};

struct envelope {
    struct reply_box *reply;        /* NULL: a plain send */
    uint8_t payload[];
};

struct actor {
    struct actor_spec spec;
    char name[TASK_NAME_LEN];
    struct supervisor *sup;
    struct chan *mailbox;
    struct chan *ended;             /* never carries a message: closed when the actor has ended */
    struct reply_box *_Atomic spare; /* a released reply box, for the next request */
    struct chan *replies;           /* more released reply boxes (of struct reply_box *) */
    void *state;
    struct envelope *inbox;         /* the message being handled (actor task only) */
    uint8_t *outbox;                /* reply bytes of a plain send (ignored) */
    struct reply_box *_Atomic in_flight; /* reply box of the request being handled */
    struct task *task, *watch;
    _Atomic uint32_t discard;       /* ACTOR_DISCARD requested */
    _Atomic uint32_t stopping;
    _Atomic uint64_t handled;
    _Atomic uint32_t restarts;
    int result;                     /* set before `ended` closes */
    _Atomic bool done;              /* ended */
};

enum { EV_EXIT, EV_STOP, EV_CHECK };

/* Released reply channels an actor keeps for its next requests. */
#define ACTOR_REPLY_POOL 4

struct sup_event {
    uint32_t kind;
    bool faulted;
    int64_t value;
    struct actor *child;
};

enum { SUP_RUNNING, SUP_STOPPING };

struct supervisor {
    struct sup_spec spec;
    char name[TASK_NAME_LEN];
    struct chan *events;
    struct chan *ended;             /* closed when the supervisor task ends */
    spinlock_t lock;                /* state, nchildren, live */
    uint32_t state, nchildren, live;
    struct actor **children;
    struct restart_window window;
    _Atomic uint32_t restarts;
    int result;
    struct task *task;
};

/* --- reply boxes ------------------------------------------------------------------- */

static size_t reply_bytes(const struct actor *a)
{
    return a->spec.reply_size > REPLY_MIN ? a->spec.reply_size : REPLY_MIN;
}

static void reply_zero(const struct actor *a, uint8_t *p)
{
    if (a->spec.reply_size <= REPLY_MIN)
        memset(p, 0, REPLY_MIN);
    else
        memset(p, 0, a->spec.reply_size);
}

/* One owner is done with b; the last one keeps it for a's next request:
 * as the spare (one exchange), else in the pool, else frees it. */
static void box_release(struct actor *a, struct reply_box *b)
{
    if (atomic_fetch_sub_explicit(&b->owners, 1, memory_order_acq_rel) != 1)
        return;
    struct reply_box *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&a->spare, &none, b, memory_order_release,
                                                 memory_order_relaxed) &&
        chan_try_send(a->replies, &b) != 0)
        free(b);
}

/* A reply box for a request (two owners), its waker armed for the caller. */
static struct reply_box *box_get(struct actor *a)
{
    struct reply_box *b = atomic_exchange_explicit(&a->spare, NULL, memory_order_acquire);
    if (!b && chan_try_recv(a->replies, &b) != 0) {
        b = aligned_alloc(16, (sizeof(*b) + reply_bytes(a) + 15) & ~(size_t)15);
        if (!b)
            return NULL;
    }
    atomic_store_explicit(&b->owners, 2, memory_order_relaxed);
    task_waker_init(&b->tw);
    waker_arm(&b->tw.w, b->tw.w.qos);
    return b;
}

/* The replying side: complete the requester's wait with result (0: the
 * reply bytes and status are set), unless it ended already (timeout);
 * then drop this side's ownership. */
static void reply_post(struct actor *a, struct reply_box *b, int32_t result, int status)
{
    if (waker_claim(&b->tw.w, 0, result)) {
        b->status = status;
        waker_fire(&b->tw.w);
    }
    box_release(a, b);
}

/* The replying side will not reply: the requester sees err. */
static void box_refuse(struct actor *a, struct reply_box *b, int err)
{
    reply_post(a, b, err, 0);
}

/* --- the actor's task -------------------------------------------------------------- */

static int64_t actor_main(void *arg)
{
    struct actor *a = arg;
    memset(a->state, 0, a->spec.state_size);
    if (a->spec.init) {
        int r = a->spec.init(a->state, a->spec.arg);
        if (r < 0)
            return r;
    }
    for (;;) {
        if (chan_recv(a->mailbox, a->inbox, WAIT_FOREVER) != 0)
            return 0;                               /* closed and drained */
        struct reply_box *rc = a->inbox->reply;
        if (atomic_load_explicit(&a->discard, memory_order_relaxed)) {
            if (rc)
                box_refuse(a, rc, -EPIPE);
            continue;
        }
        /* A request's reply is written in its box (ours until we release
         * it, even if the requester has timed out). */
        uint8_t *reply = rc ? rc->payload : a->outbox;
        reply_zero(a, reply);
        atomic_store_explicit(&a->in_flight, rc, memory_order_relaxed);
        int st = a->spec.handle(a, a->state, a->inbox->payload, reply);
        atomic_store_explicit(&a->in_flight, NULL, memory_order_relaxed);
        atomic_fetch_add_explicit(&a->handled, 1, memory_order_relaxed);
        if (rc)
            reply_post(a, rc, 0, st);
    }
}

static int64_t watch_main(void *arg)
{
    struct actor *a = arg;
    int64_t v = 0;
    struct sup_event ev = {.kind = EV_EXIT, .child = a};
    ev.faulted = task_join(a->task, &v) == TASK_FAULTED;
    ev.value = v;
    chan_send(a->sup->events, &ev, WAIT_FOREVER);   /* room for one per child */
    return 0;
}

/* Spawn an incarnation and its watch; 0 or -ENOMEM. */
static int actor_launch(struct actor *a)
{
    struct task_attr ta = {.name = a->name, .qos = a->spec.qos, .stack_size = a->spec.stack_size,
                           .affinity = a->spec.affinity};
    struct task_attr wa = {.name = "sup-watch", .qos = a->sup->spec.qos,
                           .stack_size = TASK_STACK_MIN};
    a->task = task_spawn(actor_main, a, &ta);
    if (!a->task)
        return -ENOMEM;
    a->watch = task_spawn(watch_main, a, &wa);
    if (!a->watch) {
        /* Nobody can report this incarnation's end: end it here. */
        atomic_store(&a->discard, 1);
        chan_close(a->mailbox);
        task_join(a->task, NULL);
        a->task = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* --- the supervisor's task ----------------------------------------------------------- */

static void post_event(struct supervisor *s, uint32_t kind)
{
    struct sup_event ev = {.kind = kind};
    chan_send(s->events, &ev, WAIT_FOREVER);
}

/* The child will not run again: refuse what is queued, wake actor_stop. */
static void child_end(struct supervisor *s, struct actor *a, int result)
{
    struct envelope *e = a->inbox;
    chan_close(a->mailbox);
    while (chan_try_recv(a->mailbox, e) == 0)
        if (e->reply)
            box_refuse(a, e->reply, -EPIPE);
    a->result = result;
    a->done = true;
    chan_close(a->ended);
    uint64_t flags = spin_lock_irqsave(&s->lock);
    s->live--;
    spin_unlock_irqrestore(&s->lock, flags);
}

static void sup_shutdown(struct supervisor *s, enum actor_stop_mode mode)
{
    uint64_t flags = spin_lock_irqsave(&s->lock);
    s->state = SUP_STOPPING;
    uint32_t n = s->nchildren;
    spin_unlock_irqrestore(&s->lock, flags);
    for (uint32_t i = 0; i < n; i++) {
        struct actor *a = s->children[i];
        if (a->done)
            continue;
        if (mode == ACTOR_DISCARD)
            atomic_store(&a->discard, 1);
        atomic_store(&a->stopping, 1);
        chan_close(a->mailbox);
    }
}

static void sup_on_exit(struct supervisor *s, const struct sup_event *ev)
{
    struct actor *a = ev->child;
    task_join(a->watch, NULL);
    a->task = a->watch = NULL;
    struct reply_box *rc = atomic_exchange(&a->in_flight, NULL);
    if (rc)
        box_refuse(a, rc, -EFAULT);
    bool failed = ev->faulted || ev->value != 0;
    if (!failed || atomic_load(&a->stopping) || a->spec.restart == ACTOR_TEMPORARY ||
        s->state != SUP_RUNNING) {
        child_end(s, a, failed ? -EFAULT : 0);
        return;
    }
    if (!restart_window_allow(&s->window, clock_ns())) {
        printf("sup %s: giving up: child %s failed %u times within %llu ns after %u restarts\n",
               s->name, a->name, (unsigned)s->spec.max_restarts + 1,
               (unsigned long long)s->spec.window_ns, (unsigned)atomic_load(&s->restarts));
        s->result = SUP_GAVE_UP;
        child_end(s, a, -EFAULT);
        sup_shutdown(s, ACTOR_DISCARD);
        return;
    }
    atomic_fetch_add(&s->restarts, 1);
    atomic_fetch_add(&a->restarts, 1);
    printf("sup %s: restarting child %s (restart %u)\n", s->name, a->name,
           (unsigned)atomic_load(&a->restarts));
    if (actor_launch(a) != 0) {
        printf("sup %s: giving up: cannot restart child %s (no memory)\n", s->name, a->name);
        s->result = SUP_GAVE_UP;
        child_end(s, a, -ENOMEM);
        sup_shutdown(s, ACTOR_DISCARD);
    }
}

static int64_t sup_main(void *arg)
{
    struct supervisor *s = arg;
    for (;;) {
        struct sup_event ev;
        chan_recv(s->events, &ev, WAIT_FOREVER);    /* nobody closes it */
        if (ev.kind == EV_EXIT)
            sup_on_exit(s, &ev);
        else if (ev.kind == EV_STOP && s->state == SUP_RUNNING)
            sup_shutdown(s, ACTOR_DRAIN);
        uint64_t flags = spin_lock_irqsave(&s->lock);
        bool over = s->state == SUP_STOPPING && s->live == 0;
        spin_unlock_irqrestore(&s->lock, flags);
        if (over)
            break;
    }
    chan_close(s->ended);
    return s->result;
}

/* --- public: supervisors ------------------------------------------------------------- */

static void copy_name(char *dst, const char *src, const char *dflt)
{
    strncpy(dst, src ? src : dflt, TASK_NAME_LEN - 1);
    dst[TASK_NAME_LEN - 1] = 0;
}

static void sup_free(struct supervisor *s)
{
    if (s->events)
        chan_destroy(s->events);
    if (s->ended)
        chan_destroy(s->ended);
    free(s->children);
    free(s);
}

struct supervisor *sup_start(const struct sup_spec *spec)
{
    if (!spec || spec->max_children == 0 || spec->qos >= QOS_COUNT) {
        errno = EINVAL;
        return NULL;
    }
    struct supervisor *s = calloc(1, sizeof(*s));
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    s->spec = *spec;
    s->lock = (spinlock_t)SPINLOCK_INIT;
    copy_name(s->name, spec->name, "sup");
    if (!restart_window_init(&s->window, spec->max_restarts, spec->window_ns)) {
        free(s);
        errno = EINVAL;
        return NULL;
    }
    /* Events: one exit per child at most, plus stop and checks. */
    s->events = chan_create(sizeof(struct sup_event), 2 * spec->max_children + 2);
    s->ended = chan_create(1, 1);
    s->children = calloc(spec->max_children, sizeof(*s->children));
    struct task_attr ta = {.name = s->name, .qos = spec->qos};
    if (!s->events || !s->ended || !s->children || !(s->task = task_spawn(sup_main, s, &ta))) {
        sup_free(s);
        errno = ENOMEM;
        return NULL;
    }
    return s;
}

/* Destroy the reply boxes kept for reuse, then the pool. */
static void replies_free(struct chan *pool)
{
    struct reply_box *b;
    while (chan_try_recv(pool, &b) == 0)
        free(b);
    chan_destroy(pool);
}

static void actor_free(struct actor *a)
{
    chan_destroy(a->mailbox);
    chan_destroy(a->ended);
    free(atomic_load(&a->spare));
    replies_free(a->replies);
    free(a->state);
    free(a->inbox);
    free(a->outbox);
    free(a);
}

static bool spec_ok(const struct actor_spec *sp)
{
    return sp && sp->handle && sp->msg_size >= 1 && sp->msg_size <= ACTOR_MSG_MAX &&
           sp->reply_size <= ACTOR_MSG_MAX && sp->mailbox_cap >= 1 && sp->qos < QOS_COUNT &&
           sp->mailbox_cap <= (1u << 20);
}

struct actor *sup_start_child(struct supervisor *s, const struct actor_spec *spec)
{
    if (!s || !spec_ok(spec)) {
        errno = EINVAL;
        return NULL;
    }
    struct actor *a = calloc(1, sizeof(*a));
    if (!a) {
        errno = ENOMEM;
        return NULL;
    }
    a->spec = *spec;
    a->sup = s;
    copy_name(a->name, spec->name, "actor");
    a->mailbox = chan_create(sizeof(struct envelope) + spec->msg_size, spec->mailbox_cap);
    a->ended = chan_create(1, 1);
    a->replies = chan_create(sizeof(struct reply_box *), ACTOR_REPLY_POOL);
    a->state = malloc(spec->state_size ? spec->state_size : 1);
    a->inbox = malloc(sizeof(struct envelope) + spec->msg_size);
    a->outbox = malloc(reply_bytes(a));
    if (!a->mailbox || !a->ended || !a->replies || !a->state || !a->inbox || !a->outbox) {
        if (a->mailbox)
            chan_destroy(a->mailbox);
        if (a->ended)
            chan_destroy(a->ended);
        if (a->replies)
            chan_destroy(a->replies);
        free(a->state);
        free(a->inbox);
        free(a->outbox);
        free(a);
        errno = ENOMEM;
        return NULL;
    }
    uint64_t flags = spin_lock_irqsave(&s->lock);
    int err = s->state != SUP_RUNNING ? EPIPE
            : s->nchildren == s->spec.max_children ? ENOSPC : 0;
    if (!err) {
        s->children[s->nchildren++] = a;
        s->live++;
    }
    spin_unlock_irqrestore(&s->lock, flags);
    if (err) {
        actor_free(a);
        errno = err;
        return NULL;
    }
    /* Registered: from here the supervisor owns a (and frees it in sup_stop). */
    if (actor_launch(a) != 0) {
        /* Never ran: end it as the supervisor would (the supervisor task may
         * read `done` concurrently only after sup_shutdown; it skips it). */
        child_end(s, a, -ENOMEM);
        post_event(s, EV_CHECK);
        errno = ENOMEM;
        return NULL;
    }
    return a;
}

int sup_wait(struct supervisor *s)
{
    uint8_t none;
    chan_recv(s->ended, &none, WAIT_FOREVER);       /* -EPIPE once it has ended */
    return s->result;
}

int sup_stop(struct supervisor *s)
{
    post_event(s, EV_STOP);
    int64_t v = 0;
    task_join(s->task, &v);
    for (uint32_t i = 0; i < s->nchildren; i++)
        actor_free(s->children[i]);
    sup_free(s);
    return (int)v;
}

uint32_t sup_restarts(struct supervisor *s) { return atomic_load(&s->restarts); }

/* --- public: actors ------------------------------------------------------------------ */

#define ENVELOPE_BYTES (sizeof(struct envelope) + ACTOR_MSG_MAX)

static void envelope_fill(struct envelope *e, const struct actor *a, const void *msg,
                          struct reply_box *rc)
{
    e->reply = rc;
    ring_copy(e->payload, msg, a->spec.msg_size);
}

int actor_send(struct actor *a, const void *msg, uint64_t timeout_ns)
{
    _Alignas(16) uint8_t buf[ENVELOPE_BYTES];
    struct envelope *e = (struct envelope *)buf;
    envelope_fill(e, a, msg, NULL);
    return chan_send(a->mailbox, e, timeout_ns);
}

int actor_try_send(struct actor *a, const void *msg)
{
    _Alignas(16) uint8_t buf[ENVELOPE_BYTES];
    struct envelope *e = (struct envelope *)buf;
    envelope_fill(e, a, msg, NULL);
    return chan_try_send(a->mailbox, e);
}

int actor_request(struct actor *a, const void *msg, void *reply, uint64_t timeout_ns)
{
    uint64_t deadline = waitq_deadline(timeout_ns);
    struct reply_box *rc = box_get(a);
    if (!rc)
        return -ENOMEM;
    _Alignas(16) uint8_t buf[ENVELOPE_BYTES];
    struct envelope *e = (struct envelope *)buf;
    envelope_fill(e, a, msg, rc);
    int r = chan_send(a->mailbox, e, timeout_ns);
    if (r != 0) {
        atomic_store_explicit(&rc->owners, 1, memory_order_relaxed);   /* not delivered: ours alone */
        box_release(a, rc);
        return r;
    }
    /* -ETIMEDOUT (we claimed the waker: a late reply leaves it alone),
     * -EPIPE / -EFAULT (refused), or 0 with the status and reply set. */
    r = task_waker_wait(&rc->tw, deadline);
    if (r == 0) {
        r = rc->status;
        if (reply && r >= 0)
            ring_copy(reply, rc->payload, a->spec.reply_size);
    }
    box_release(a, rc);
    return r;
}

int actor_stop(struct actor *a, enum actor_stop_mode mode)
{
    if (mode == ACTOR_DISCARD)
        atomic_store(&a->discard, 1);
    atomic_store(&a->stopping, 1);
    chan_close(a->mailbox);
    uint8_t none;
    chan_recv(a->ended, &none, WAIT_FOREVER);       /* -EPIPE once it has ended */
    return a->result;
}

uint64_t actor_handled(struct actor *a) { return atomic_load(&a->handled); }
uint32_t actor_queued(struct actor *a) { return chan_len(a->mailbox); }
uint32_t actor_restarts(struct actor *a) { return atomic_load(&a->restarts); }
const char *actor_name(const struct actor *a) { return a->name; }
