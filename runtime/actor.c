/*
 * Actors and one-for-one supervisors (see sr/actor.h).
 *
 * Shapes: the mailbox (sr/mailbox.h, a lock-free MPSC ring whose one
 * reader, the actor, sleeps on one flag) carries the payload and, as the
 * message's word, the request's reply box (0 for a plain send). A reply
 * box is the reply slot of one request: the requester's task, the state,
 * the result, where the reply goes (the requester's buffer) and where the
 * message is. The handler writes its reply into the actor's outbox; the
 * post copies it to the requester's buffer under the lock, while the
 * requester is still there (WAITING). The box's state is guarded by the
 * mailbox's lock (sr/mailbox.h), and a requester delivers its request and
 * blocks for the reply in one hold of that lock (actor_request,
 * request_send_wait), so whoever sees the box finds its requester blocked
 * on it (or timed out): the post wakes it without a flag. A request
 * without a timeout to a reader asleep on an empty mailbox is handed over
 * (mailbox_hand_locked: no ring slot) and the reader woken in the same
 * step: its word alone, the actor reading the message where the requester
 * has it (the box says where; the requester waits until the post). The
 * actor posts a reply and sleeps for its next message in one hold too,
 * waking the requester, and a request handed over meanwhile is handled
 * without a look at the ring.
 *
 * The replying side (the actor, or its supervisor after a fault) sets the
 * result and wakes the requester once, if the box is still WAITING; a
 * requester that times out marks it LEFT under the same lock, so a late
 * reply leaves it alone; a side that will not reply sets -EPIPE or
 * -EFAULT. Who keeps the box afterwards is decided by that state change,
 * under the lock, without a count of owners: the replying side that finds
 * it WAITING makes it DONE and never touches it again, so the requester,
 * which reads the result after DONE, is its last user; a requester that
 * leaves has let go of it, so the replying side that finds it LEFT is the
 * last. Where a box lives: a request without a timeout cannot leave, so
 * its box is in the requester's frame; a timed request's is the actor's,
 * and its last user keeps it for the actor's next request: as its spare
 * (one atomic exchange each way), else in its pool (a channel of
 * pointers; freed when the pool is full). So a late reply or a requester
 * waiting on an actor that died is never a use after free nor a hang, and
 * a request allocates nothing in the steady state.
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
#include <kernel/sched.h>
#include <kernel/spinlock.h>
#include <kernel/waitq.h>
#include <sr/actor.h>
#include <sr/chan.h>
#include <sr/mailbox.h>
#include <sr/ring.h>
#include <sr/restart_window.h>
#include <sr/sleeper.h>

/* The handler's reply bytes start zeroed; the outbox holds at least
 * REPLY_MIN bytes, so a small reply is zeroed with fixed-size stores. */
#define REPLY_MIN 64

enum { BOX_WAITING, BOX_DONE, BOX_LEFT };

/* A request's reply slot (see above). */
struct reply_box {
    uint32_t state;                 /* BOX_WAITING -> DONE (answered, refused or not
                                       delivered) or LEFT; under the mailbox's lock */
    int32_t result;                 /* DONE: the handler's value, or an error */
    struct task *requester;         /* blocked on the box from its delivery until DONE or
                                       its timeout */
    void *reply;                    /* the requester's reply_size bytes, or NULL: written
                                       by the post of a value >= 0 while WAITING */
    const void *msg;                /* where the handler reads the message: the actor's inbox
                                       (copied there from the ring or by the hand-off), or the
                                       requester's own buffer (handed over without a copy) */
    struct mailbox *mb;             /* the actor's (for the requester's own use) */
};

struct actor {
    struct actor_spec spec;
    char name[TASK_NAME_LEN];
    struct supervisor *sup;
    struct mailbox *mailbox;        /* payloads; word: the reply box or 0 */
    struct chan *ended;             /* never carries a message: closed when the actor has ended */
    struct reply_box *_Atomic spare; /* a released reply box, for the next request */
    struct chan *replies;           /* more released reply boxes (of struct reply_box *) */
    void *state;
    uint8_t *inbox;                 /* the message being handled (actor task only) */
    uint8_t *outbox;                /* the reply being written (actor task only): the post
                                       copies it to the requester; zeroed whenever no
                                       handler runs (zeroed again after each, and as each
                                       incarnation starts: a fault may leave it written) */
    struct reply_box *in_flight;    /* reply box of the request being handled: written by
                                       the actor's task, read by the supervisor once it has
                                       joined that task (the join orders them) */
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

/* The outbox's reply_size bytes zeroed (REPLY_MIN with fixed-size stores
 * if that covers them). */
static inline void outbox_zero(uint8_t *out, uint32_t reply_size)
{
    if (reply_size <= REPLY_MIN)
        memset(out, 0, REPLY_MIN);
    else
        memset(out, 0, reply_size);
}

/* The spare was taken: keep b in the pool, else free it. */
static __attribute__((noinline)) void box_keep_more(struct actor *a, struct reply_box *b)
{
    if (chan_try_send(a->replies, &b) != 0)
        free(b);
}

/* b's last user is done with it: keep it for a's next request as the
 * spare (one compare-and-swap), else in the pool, else free it. No lock
 * held (freeing may block). */
static inline void box_keep(struct actor *a, struct reply_box *b)
{
    struct reply_box *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&a->spare, &none, b, memory_order_release,
                                                 memory_order_relaxed))
        box_keep_more(a, b);
}

/* No spare: a box from the pool, else a new one; NULL if out of memory. */
static __attribute__((noinline)) struct reply_box *box_get_more(struct actor *a)
{
    struct reply_box *b;
    if (chan_try_recv(a->replies, &b) == 0)
        return b;
    return malloc(sizeof(*b));
}

/* A reply box of the actor's for a request. */
static inline struct reply_box *box_get(struct actor *a)
{
    struct reply_box *b = atomic_exchange_explicit(&a->spare, NULL, memory_order_acquire);
    if (__builtin_expect(!b, 0))
        b = box_get_more(a);
    return b;
}

/* Lock held: the requester gets result (DONE), unless it left (true: the
 * caller is the box's last user and box_keeps it once the lock is
 * released). After DONE the box is the requester's: nothing of it is read
 * once the requester is woken (the caller wakes it, read before, under
 * the same lock hold). */
static inline bool reply_set_locked(struct reply_box *b, int32_t result)
{
    if (__builtin_expect(b->state != BOX_WAITING, 0))
        return true;
    b->result = result;
    b->state = BOX_DONE;
    return false;
}

/* The actor's post of its handler's value st, lock held (reply_set_locked):
 * a value >= 0 brings the reply, in the outbox, to the requester's buffer
 * (still there: it was WAITING); then the outbox is zeroed again for the
 * next message (see struct actor). */
static inline bool reply_post_handled_locked(const struct actor *a, struct reply_box *b,
                                             int32_t st)
{
    uint8_t *out = a->outbox;   /* read once: the copy's stores may alias anything */
    uint32_t reply_size = a->spec.reply_size;
    bool left = reply_set_locked(b, st);
    void *reply = b->reply;
    if (__builtin_expect(!left, 1) && reply && st >= 0)
        ring_copy(reply, out, reply_size);
    outbox_zero(out, reply_size);
    return left;
}

/* A side that will not reply (refusals: result < 0), under the mailbox's
 * lock: reply_set_locked and the wake; one wake, so the requester never
 * misses it nor sees it after leaving. True as reply_set_locked. */
static inline bool reply_post_locked(struct reply_box *b, int32_t result)
{
    struct task *requester = b->requester;
    if (reply_set_locked(b, result))
        return true;
    sched_wake(requester, WAIT_OK);   /* blocked on b, unless it timed out: then a no-op */
    return false;
}

/* The replying side will not reply: the requester sees err. */
static void box_refuse(struct actor *a, struct reply_box *b, int err)
{
    spinlock_t *lock = mailbox_lock(a->mailbox);
    uint64_t flags = spin_lock_irqsave(lock);
    bool last = reply_post_locked(b, err);
    spin_unlock_irqrestore(lock, flags);
    sched_resched_if_needed();
    if (last)
        box_keep(a, b);
}

/* request_send_wait without a hand-off, lock held (IRQs masked with
 * flags): push to the ring (if it is full, wait for room with the lock
 * released, then try both again), wake the reader if it sleeps, and
 * block. A request that cannot be delivered (-EPIPE, or -ETIMEDOUT waiting
 * for room) is DONE with that result at once (WAIT_OK). */
static __attribute__((noinline)) int32_t request_push_wait(struct mailbox *mb,
                                                           struct reply_box *b,
                                                           const void *msg,
                                                           uint64_t deadline_ns,
                                                           uint64_t flags)
{
    spinlock_t *lock = mailbox_lock(mb);
    struct task *reader;
    for (;;) {
        int r = mailbox_try_push(mb, (uintptr_t)b, msg);
        if (r == 0) {
            reader = sleeper_take(&mb->reader);
            break;
        }
        spin_unlock_irqrestore(lock, flags);
        if (r == -EAGAIN)
            r = mailbox_wait_room_(mb, deadline_ns);
        if (r != 0) {
            b->state = BOX_DONE;   /* nobody else has seen it */
            b->result = r;
            return WAIT_OK;
        }
        flags = spin_lock_irqsave(lock);
        if ((reader = mailbox_hand_locked(mb, (uintptr_t)b, msg)))
            break;
    }
    int32_t w = reader ? sched_wake_block(reader, WAIT_OK, lock, deadline_ns)
                       : sched_block(lock, deadline_ns);
    arch_irq_restore(flags);
    return w;
}

/* The requester: deliver msg with its box b to mb and block until b is
 * posted or deadline_ns (0: none) passes. The lock is held from the
 * delivery to the block (sched_block releases it once the task is
 * BLOCKED), so nobody can post before the requester waits. A reader asleep
 * on an empty mailbox gets the message handed over and the core, if it is
 * here, at once (sched_wake_block). Returns the wait's result: WAIT_OK
 * once b is DONE (its result says what), else (WAIT_TIMEOUT) b may still
 * be WAITING. */
static inline int32_t request_send_wait(struct mailbox *mb, struct reply_box *b,
                                        const void *msg, void *reply, uint64_t deadline_ns)
{
    b->state = BOX_WAITING;
    b->requester = sched_current();
    b->reply = reply;
    spinlock_t *lock = mailbox_lock(mb);
    uint64_t flags = spin_lock_irqsave(lock);
    struct task *reader = mailbox_hand_locked(mb, (uintptr_t)b, msg);
    if (__builtin_expect(!reader, 0))
        return request_push_wait(mb, b, msg, deadline_ns, flags);
    int32_t w = sched_wake_block(reader, WAIT_OK, lock, deadline_ns);
    arch_irq_restore(flags);
    return w;
}

/* A wait for b's post ended otherwise than by the post (nothing else wakes
 * it; should something): wait on until b is DONE. */
static __attribute__((noinline)) void request_wait_posted(struct reply_box *b)
{
    struct mailbox *mb = b->mb;
    spinlock_t *lock = mailbox_lock(mb);
    uint64_t flags = spin_lock_irqsave(lock);
    while (b->state == BOX_WAITING) {
        sched_block(lock, 0);
        spin_lock(lock);
    }
    spin_unlock_irqrestore(lock, flags);
}

/* The box is DONE: its result (with the reply in place if it is the
 * handler's value); the box is the requester's now, kept for the next
 * request. */
static inline int request_answered(struct actor *a, struct reply_box *b)
{
    int r = b->result;
    box_keep(a, b);
    return r;
}

/* The requester's deadline passed: leave (LEFT, -ETIMEDOUT; the replying
 * side keeps the box and its late reply is dropped) unless the reply came
 * meanwhile (its wake found the requester awake). */
static __attribute__((noinline)) int request_expired(struct actor *a, struct reply_box *b)
{
    spinlock_t *lock = mailbox_lock(a->mailbox);
    uint64_t flags = spin_lock_irqsave(lock);
    bool left = b->state == BOX_WAITING;
    if (left)
        b->state = BOX_LEFT;
    spin_unlock_irqrestore(lock, flags);
    return left ? -ETIMEDOUT : request_answered(a, b);
}

/* --- the actor's task -------------------------------------------------------------- */

/* Handle the message in inbox whose word is word; for a request, post
 * its reply and sleep for the next message in the same lock hold. Returns
 * the word of that next message if it was handed over (it is in inbox),
 * else 0. */
static inline __attribute__((always_inline)) uint64_t actor_handle(struct actor *a,
                                                                  struct mailbox *mb,
                                                                  uint8_t *inbox, uint64_t word)
{
    struct reply_box *rc = (struct reply_box *)(uintptr_t)word;
    const void *msg = rc ? rc->msg : inbox;
    if (atomic_load_explicit(&a->discard, memory_order_relaxed)) {
        if (rc)
            box_refuse(a, rc, -EPIPE);
        return 0;
    }
    /* A request's box stays valid until we post (and is ours to keep if
     * the requester has left). The outbox is zeroed (see struct actor). */
    a->in_flight = rc;
    int st = a->spec.handle(a, a->state, msg, a->outbox);
    a->in_flight = NULL;
    atomic_fetch_add_explicit(&a->handled, 1, memory_order_relaxed);
    if (!rc) {
        outbox_zero(a->outbox, a->spec.reply_size);
        return 0;
    }
    /* Post the reply and, if nothing is queued, sleep, under one lock:
     * the requester's wake and the sleep are one step. */
    uint64_t flags = spin_lock_irqsave(mailbox_lock(mb));
    struct task *requester = rc->requester;
    if (__builtin_expect(reply_post_handled_locked(a, rc, st), 0)) {
        spin_unlock_irqrestore(mailbox_lock(mb), flags);   /* the requester left */
        sched_resched_if_needed();
        box_keep(a, rc);
        return 0;
    }
    if (!requester)
        __builtin_unreachable();   /* set before the box was delivered */
    /* -EPIPE: mailbox_recv sees it too */
    uint64_t next;
    return mailbox_sleep_locked(mb, flags, requester, inbox, &next) > 0 ? next : 0;
}

static int64_t actor_main(void *arg)
{
    struct actor *a = arg;
    memset(a->state, 0, a->spec.state_size);
    outbox_zero(a->outbox, a->spec.reply_size);
    if (a->spec.init) {
        int r = a->spec.init(a->state, a->spec.arg);
        if (r < 0)
            return r;
    }
    struct mailbox *mb = a->mailbox;                /* fixed for the actor's life */
    uint8_t *inbox = a->inbox;
    for (;;) {
        uint64_t word;
        if (mailbox_recv(mb, &word, inbox) != 0)
            return 0;                               /* closed and drained */
        /* The words handed over stay in registers (word's address is taken). */
        uint64_t w = word;
        do
            w = actor_handle(a, mb, inbox, w);
        while (w != 0);
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
        mailbox_close(a->mailbox);
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
    /* The actor's task has ended: this is the mailbox's one reader now. */
    uint64_t word;
    mailbox_close(a->mailbox);
    while (mailbox_recv(a->mailbox, &word, a->inbox) == 0)
        if (word)
            box_refuse(a, (struct reply_box *)(uintptr_t)word, -EPIPE);
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
        mailbox_close(a->mailbox);
    }
}

static void sup_on_exit(struct supervisor *s, const struct sup_event *ev)
{
    struct actor *a = ev->child;
    task_join(a->watch, NULL);
    a->task = a->watch = NULL;
    struct reply_box *rc = a->in_flight;   /* its task is joined (see struct actor) */
    a->in_flight = NULL;
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
    mailbox_destroy(a->mailbox);
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
           sp->mailbox_cap <= MPSC_CAP_MAX;
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
    a->mailbox = mailbox_create(spec->msg_size, spec->mailbox_cap);
    a->ended = chan_create(1, 1);
    a->replies = chan_create(sizeof(struct reply_box *), ACTOR_REPLY_POOL);
    a->state = malloc(spec->state_size ? spec->state_size : 1);
    a->inbox = malloc(spec->msg_size);
    a->outbox = malloc(reply_bytes(a));
    if (!a->mailbox || !a->ended || !a->replies || !a->state || !a->inbox || !a->outbox) {
        if (a->mailbox)
            mailbox_destroy(a->mailbox);
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

int actor_send(struct actor *a, const void *msg, uint64_t timeout_ns)
{
    return mailbox_send(a->mailbox, 0, msg, waitq_deadline(timeout_ns));
}

int actor_try_send(struct actor *a, const void *msg)
{
    return mailbox_try_send(a->mailbox, 0, msg);
}

/* actor_request with a timeout (or without one, 0, when it cannot be handed
 * over): in a box of the actor's (see top). */
static __attribute__((noinline)) int request_boxed(struct actor *a, const void *msg,
                                                   void *reply, uint64_t timeout_ns)
{
    struct reply_box *b = box_get(a);
    if (!b)
        return -ENOMEM;
    b->msg = a->inbox;   /* copied: the requester may leave */
    b->mb = a->mailbox;
    uint64_t deadline = waitq_deadline(timeout_ns);
    if (__builtin_expect(request_send_wait(a->mailbox, b, msg, reply, deadline) != WAIT_OK, 0)) {
        if (deadline)
            return request_expired(a, b);
        request_wait_posted(b);
    }
    return request_answered(a, b);
}

int actor_request(struct actor *a, const void *msg, void *reply, uint64_t timeout_ns)
{
    if (__builtin_expect(timeout_ns != WAIT_FOREVER, 0))
        return request_boxed(a, msg, reply, timeout_ns);
    /* No timeout: the requester waits until its box is posted, so the box
     * can be in this frame. This way is the hand-off's (request_send_wait
     * inline): the one to a reader that is not asleep or has messages
     * queued, with its push and maybe a wait for room, takes a box of the
     * actor's (request_boxed). */
    struct mailbox *mb = a->mailbox;
    struct reply_box b = {.state = BOX_WAITING, .requester = sched_current(), .reply = reply,
                          .msg = msg, .mb = mb};
    spinlock_t *lock = mailbox_lock(mb);
    uint64_t flags = spin_lock_irqsave(lock);
    struct task *reader = mailbox_hand_locked(mb, (uintptr_t)&b, NULL);   /* b.msg: in place */
    if (__builtin_expect(!reader, 0)) {
        spin_unlock_irqrestore(lock, flags);   /* nothing published */
        return request_boxed(a, msg, reply, WAIT_FOREVER);
    }
    int32_t w = sched_wake_block(reader, WAIT_OK, lock, 0);
    arch_irq_restore(flags);
    if (__builtin_expect(w != WAIT_OK, 0))
        request_wait_posted(&b);
    /* -EPIPE / -EFAULT (refused), or the handler's value with the reply in
     * place. */
    return b.result;
}

int actor_stop(struct actor *a, enum actor_stop_mode mode)
{
    if (mode == ACTOR_DISCARD)
        atomic_store(&a->discard, 1);
    atomic_store(&a->stopping, 1);
    mailbox_close(a->mailbox);
    uint8_t none;
    chan_recv(a->ended, &none, WAIT_FOREVER);       /* -EPIPE once it has ended */
    return a->result;
}

uint64_t actor_handled(struct actor *a) { return atomic_load(&a->handled); }
uint32_t actor_queued(struct actor *a) { return mailbox_len(a->mailbox); }
uint32_t actor_restarts(struct actor *a) { return atomic_load(&a->restarts); }
const char *actor_name(const struct actor *a) { return a->name; }
