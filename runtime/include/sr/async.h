/*
 * Stackless async tasks: a state struct plus a poll function.
 *
 * A stackless task is a struct that begins with struct async_task, followed
 * by whatever state the task keeps across await points, and a poll function
 * that the task's executor calls whenever the task may make progress. The
 * poll function is written straight-line with the macros below, which turn
 * it into a resumable state machine (a switch on the resume point):
 *
 *     struct ticker { struct async_task t; struct chan *out; int i; };
 *
 *     static int ticker_poll(struct async_task *t)
 *     {
 *         struct ticker *k = (struct ticker *)t;
 *         int r;
 *         ASYNC_BEGIN(t);
 *         for (k->i = 0; k->i < 10; k->i++) {
 *             ASYNC_SLEEP(t, 1000000);                       // 1 ms, on the core's timer heap
 *             ASYNC_AWAIT(t, r, chan_send_await(t, k->out, &k->i));
 *             if (r < 0)
 *                 ASYNC_RETURN(t, r);                        // closed or cancelled
 *         }
 *         ASYNC_END(t, 0);
 *     }
 *
 *     struct ticker *k = ASYNC_NEW(struct ticker, ticker_poll, NULL);
 *     k->out = ch;
 *     async_start(&k->t);
 *     ...
 *     int64_t v;
 *     async_join(&k->t, &v);                                 // from a stackful task
 *
 * Rules of the poll function:
 * - Locals do not survive an await: anything needed after an await lives in
 *   the task's struct (k->i above). Buffers handed to an await (messages to
 *   send, space to receive into) must live there too.
 * - At most one ASYNC_* await per source line (the line is the resume point),
 *   and no await inside a switch statement of your own.
 * - Never block (no mutex_lock, task_sleep_ns, chan_recv): await instead.
 * - Await results: >= 0 success (a value or a case index), negative errno:
 *   -ETIMEDOUT (timeout), -ECANCELED (cancelled), -EPIPE (channel closed).
 * - The macros are optional: a poll written by hand keeps its own resume
 *   state and follows the same rules. An await op that returned
 *   ASYNC_PENDING is the task's one wait until it completes: the next
 *   await op the task calls must be that same op again (an op called while
 *   a wait is on resumes that wait). Before returning ASYNC_PENDING such a
 *   poll may keep going (no other await), e.g. start a task of its own
 *   executor, whose first poll runs inside async_start and may complete
 *   the pending wait at once: the task is then polled again after its
 *   poll returns, exactly once.
 *
 * Scheduling: every core has one executor per QoS class, itself a stackful
 * task of that class pinned to the core (created on first use). A stackless
 * task lives on one core (its home, chosen at creation) and is polled there
 * by the executor of its class, in FIFO order of readiness. So stackless
 * work obeys the same strict-priority QoS bands as stackful tasks, and an
 * executor with nothing ready sleeps in the scheduler (costs nothing) until
 * a waker makes one of its tasks ready. Timers are per-core: a sleeping
 * stackless task is one entry in its core's timer heap.
 *
 * Cancellation (async_cancel): the task's pending await, and every later
 * await, completes at once with -ECANCELED; the task is expected to return.
 * Its joiner then gets ASYNC_CANCELLED.
 *
 * Ownership: a task is joined exactly once (async_join, or an await of
 * async_join_await / async_join_all), or detached (freed when it ends).
 */
#ifndef SR_ASYNC_H
#define SR_ASYNC_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/spinlock.h>
#include <kernel/task.h>
#include <kernel/timerq.h>
#include <sr/wait.h>

#define ASYNC_PENDING   (-4096)     /* from an await op or a poll function: not yet
                                       (no errno; one compare with an immediate) */
#define ASYNC_DONE      0           /* from a poll function: finished (value set) */

struct async_task;
typedef int (*async_poll_fn)(struct async_task *t);

/* Field order: everything a spawn must set lies in the first 96 bytes
 * (zeroed in one go, then a few fields set); the rest is set when used. */
struct async_task {
    async_poll_fn poll;
    uint16_t resume;                /* resume point of the poll function */
    uint8_t exec;                   /* its executor: home core * QOS_COUNT + class */
    uint8_t qos;                    /* class */
    _Atomic uint8_t sched;          /* executor state (runtime/async.c) */
    _Atomic uint8_t flags;          /* ASYNC_F_* */
    uint8_t heap_class;             /* its block's heap size class (kernel/mm.h) */
    uint8_t started;                /* async_start ran (read by async_free_unstarted) */
    int64_t value;                  /* result, once ended */
    uint64_t deadline_ns;           /* of the next await (ASYNC_AWAIT_TIMEOUT), 0 none */
    struct waker waker;             /* this task's current wait */
    spinlock_t lock;                /* guards joiners and the DONE flag */
    struct wait_list joiners;       /* who awaits this task's end (under lock) */
    uint32_t episode;               /* bumped per wait: stale timer firings ignore */
    struct async_task *next;        /* executor's ready list (set when queued) */
    struct wait_node node;          /* its node for single-list waits (set when queued) */
    struct timer timer;             /* sleeps and await deadlines (index set at spawn) */
};

/* Exit status seen by joiners. */
enum async_status {
    ASYNC_COMPLETED = 0,            /* returned */
    ASYNC_CANCELLED = 1,            /* returned after async_cancel */
};

struct async_attr {
    enum qos qos;                   /* class (NULL attr: QOS_DEFAULT) */
    int cpu;                        /* home core; -1 = the calling core */
    bool detached;                  /* nobody joins: freed when it ends */
};

/* A zeroed task of size bytes (>= sizeof(struct async_task)) with its poll
 * function and attributes set, not yet started; NULL (errno ENOMEM/EINVAL)
 * on failure. Task context. (Inline, below.) */
static inline struct async_task *async_new(async_poll_fn poll, size_t size,
                                           const struct async_attr *attr);
#define ASYNC_NEW(type, poll, attr) ((type *)async_new((poll), sizeof(type), (attr)))
/* Queue t on its home executor (creating the executor on first use).
 * Called by a task running on that same executor (a stackless parent
 * starting a child homed with it), t's first poll runs at once, inside
 * the call, instead of being queued: a child that completes on its first
 * poll is never queued, and one that has to wait is parked as usual. Only
 * one level of this inlining: a child started from such an inline poll is
 * queued. */
static inline void async_start(struct async_task *t);
/* Free a task that was never started. */
void async_free_unstarted(struct async_task *t);

/* Request cancellation (any context, any core, any time before t is joined). */
void async_cancel(struct async_task *t);
/* Nobody will join t: freed when it ends. */
void async_detach(struct async_task *t);
/* From a stackful task: wait for t to end, store its value, free it. */
enum async_status async_join(struct async_task *t, int64_t *value);
/* Has t ended? (It still has to be joined.) */
bool async_done(struct async_task *t);

/* --- await operations (only inside ASYNC_AWAIT) ------------------------------ */
/* Sleep until clock_ns() >= deadline_ns: 0, or -ECANCELED. */
int async_sleep_until(struct async_task *self, uint64_t deadline_ns);
/* Wait for t to end, then free it: its status; *value gets its value. */
static inline int async_join_await(struct async_task *self, struct async_task *t, int64_t *value);
/* Join all n tasks (join-all): 0 once every one ended (each slot then NULL,
 * values[i] its value; values may be NULL), or -ETIMEDOUT / -ECANCELED with
 * the slots of those joined so far NULL and the others still to be joined. */
int async_join_all(struct async_task *self, struct async_task **tasks, int64_t *values, unsigned n);

/* --- poll-function macros ---------------------------------------------------- */
#define ASYNC_BEGIN(t)  switch ((t)->resume) { case 0:
#define ASYNC_END(t, v) ASYNC_RETURN(t, v); } return ASYNC_DONE
#define ASYNC_RETURN(t, v)                                                        \
    do {                                                                          \
        (t)->value = (v);                                                         \
        return ASYNC_DONE;                                                        \
    } while (0)
/* res = op, where op is an await operation called with t; the task is
 * suspended while op returns ASYNC_PENDING and op is called again when it
 * is woken. */
#define ASYNC_AWAIT(t, res, op)                                                   \
    do {                                                                          \
        (t)->resume = __LINE__;                                                   \
        __attribute__((fallthrough));                                             \
    case __LINE__: {                                                              \
        int async_r_ = (op);                                                      \
        if (async_r_ == ASYNC_PENDING)                                            \
            return ASYNC_PENDING;                                                 \
        (t)->deadline_ns = 0;                                                     \
        (res) = async_r_;                                                         \
    }                                                                             \
    } while (0)
/* The timeout combinator: as ASYNC_AWAIT, but the await ends with
 * -ETIMEDOUT if op has not completed within ns nanoseconds. */
#define ASYNC_AWAIT_TIMEOUT(t, ns, res, op)                                       \
    do {                                                                          \
        (t)->deadline_ns = async_deadline_after(ns);                              \
        ASYNC_AWAIT(t, res, op);                                                  \
    } while (0)
#define ASYNC_SLEEP(t, ns)                                                        \
    do {                                                                          \
        int async_s_;                                                             \
        (t)->deadline_ns = async_deadline_after(ns);                              \
        ASYNC_AWAIT(t, async_s_, async_sleep_until((t), (t)->deadline_ns));       \
        (void)async_s_;                                                           \
    } while (0)
/* Give other ready tasks of the executor a turn. */
#define ASYNC_YIELD(t)                                                            \
    do {                                                                          \
        int async_y_;                                                             \
        ASYNC_AWAIT(t, async_y_, async_yield_op(t));                              \
        (void)async_y_;                                                           \
    } while (0)

uint64_t async_deadline_after(uint64_t ns);
int async_yield_op(struct async_task *self);

/* --- for await operations of other modules (channels, select, ...) -----------
 * An operation that must wait: checks async_cancelled() first; under the
 * lock of the list it joins, waker_arm(&self->waker, self->qos) and queue
 * its node(s); after the lock, return async_wait_park(self). When called
 * again: async_waiting(self) says whether the wait is still on (return
 * ASYNC_PENDING); otherwise remove the nodes that did not fire (under their
 * locks) and take the result with async_wait_end(self). */
static inline int async_cancelled(struct async_task *self);   /* -ECANCELED or 0 */
/* Arms the deadline; ASYNC_PENDING. */
static inline int async_wait_park(struct async_task *self);
static inline bool async_waiting(const struct async_task *self)
{
    return waker_state(&self->waker) != WAKER_IDLE;
}
static inline bool async_wait_over(const struct async_task *self)
{
    return waker_state(&self->waker) == WAKER_DONE;
}
static inline int32_t async_wait_end(struct async_task *self);
/* Fire w as waker_fire does; a stackless task's waker fired on its own
 * executor is queued inline (no call through w->fire). */
static inline void async_waker_fire(struct waker *w);
/* The same from a poll of self (NULL: any context): a stackless waiter of
 * self's own executor is queued without asking which task runs. Returns
 * true if it was (then nobody was woken through the scheduler, so this
 * core owes no reschedule for it), false if w was fired any other way. */
static inline bool async_waker_fire_from(const struct async_task *self, struct waker *w);

/* --- inline fast paths; runtime/async.c has the rest ------------------------------
 * Internal to the runtime (names ending in _), here so that a stackless
 * parent's spawn, inline first poll and join of a child on its own
 * executor compile into the parent's poll function without calls. */

#define ASYNC_F_DONE      (1u << 0)
#define ASYNC_F_CANCEL    (1u << 1)   /* set only while DONE is not */
#define ASYNC_F_DETACHED  (1u << 2)
#define ASYNC_F_JOINERS   (1u << 3)   /* somebody looked for DONE under the lock */

enum { ASYNC_S_IDLE, ASYNC_S_QUEUED, ASYNC_S_RUNNING, ASYNC_S_NOTIFIED };

#define ASYNC_CACHE_BYTES 256   /* tasks up to this size come from an executor's cache */
#define ASYNC_CACHE_MAX   32    /* free blocks an idle executor keeps (trimmed when it sleeps) */

struct async_list {
    struct async_task *head, *tail;
};

/* One per core and class (runtime/async.c). */
struct async_exec {
    struct async_list local;         /* the executor task's own (no lock) */
    struct task *task;
    struct async_task *cache;        /* free blocks (executor task only), linked by next */
    uint64_t spawn_word;             /* a cached block's word at `resume` (async_task_reinit_) */
    struct task *inline_owner;       /* task, NULL while in an inline first poll */
    bool sleeping;                   /* blocked in exec_main: wake it on queueing */
    _Atomic bool created;
    spinlock_t lock;                 /* guards shared and sleeping */
    struct async_task *_Atomic shared_head;   /* read without the lock as a hint */
    struct async_task *shared_tail;
} __attribute__((aligned(64)));

extern struct async_exec async_execs_[PLAT_MAX_CPUS][QOS_COUNT];
extern uint8_t async_cache_class_;   /* heap class of ASYNC_CACHE_BYTES (set with an executor) */

struct async_task *async_new_slow_(async_poll_fn poll, size_t size, const struct async_attr *attr);
void async_start_slow_(struct async_exec *e, struct async_task *t);
void async_complete_slow_(struct async_exec *e, struct async_task *t);
void async_parked_(struct async_exec *e, struct async_task *t);
int async_join_await_slow_(struct async_task *self, struct async_task *t, int64_t *value);
void async_task_free_(struct async_task *t);
void async_fire_(struct waker *w);
void async_make_ready_shared_(struct async_exec *e, struct async_task *t, bool fired);
int async_wait_park_slow_(struct async_task *self);
int32_t async_wait_end_slow_(struct async_task *self);

_Static_assert(PLAT_MAX_CPUS * QOS_COUNT <= 256, "an executor index is a byte");

static inline struct async_exec *async_exec_of_(const struct async_task *t)
{
    return &async_execs_[0][0] + t->exec;
}

/* The word at `resume` of a fresh task: resume 0, exec, qos, sched RUNNING
 * (an unstarted task is never made ready: async_start sets its state), flags,
 * heap_class, started 0. */
_Static_assert(offsetof(struct async_task, started) == offsetof(struct async_task, resume) + 7 &&
               offsetof(struct async_task, exec) == offsetof(struct async_task, resume) + 2 &&
               __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the byte fields after resume");
static inline uint64_t async_spawn_word_(unsigned exec, unsigned qos, unsigned cls)
{
    return (uint64_t)exec << 16 | (uint64_t)qos << 24 | (uint64_t)ASYNC_S_RUNNING << 32 |
           (uint64_t)cls << 48;
}
#define ASYNC_WORD_DETACHED ((uint64_t)ASYNC_F_DETACHED << 40)

/* Set up what a spawn sets in any block: everything before `next` except
 * the fields that keep their value while a block sits in an executor's
 * cache (async_task_init_ sets those). word: async_spawn_word_. */
static inline __attribute__((always_inline)) void
async_task_reinit_(struct async_task *t, async_poll_fn poll, size_t size, uint64_t word)
{
    t->poll = poll;
    memcpy(&t->resume, &word, sizeof(word));
    t->value = 0;
    t->deadline_ns = 0;
    atomic_init(&t->waker.state, WAKER_IDLE);   /* which, result: set by the claim */
    t->joiners.head = t->joiners.tail = NULL;
    if (size > sizeof(*t))
        memset(t + 1, 0, size - sizeof(*t));   /* the caller's state starts zeroed */
}

/* Set up a block from the heap. Its waker's QoS is its class, and its
 * node's waker and index are its own waker and 0, for good: every wait
 * stores the same (a cached block is reused only on its own executor, so
 * by a task of the same class), and a channel's park stores neither
 * (await_park, runtime/chan.c). */
static inline __attribute__((always_inline)) void
async_task_init_(struct async_task *t, async_poll_fn poll, size_t size, uint64_t word)
{
    t->waker = (struct waker){.which = -1, .qos = (uint8_t)(word >> 24), .kind = WAKER_KIND_ASYNC,
                              .fire = async_fire_};
    t->node.waker = &t->waker;
    t->node.index = 0;
    t->lock = (spinlock_t)SPINLOCK_INIT;
    t->joiners.lock = &t->lock;
    t->timer.index = -1;
    async_task_reinit_(t, poll, size, word);
}

/* On e's executor task: t's block back to e's cache, or to the heap. A
 * cached block is an ended task's: its waker's fire function, its lock
 * (free), its joiners' lock pointer and its timer (not queued) are as
 * async_task_init_ left them, so a spawn from the cache sets only the rest
 * (async_task_reinit_). */
static inline void async_exec_free_(struct async_exec *e, struct async_task *t)
{
    if (t->heap_class != (uint8_t)(e->spawn_word >> 48)) {
        async_task_free_(t);
        return;
    }
    t->next = e->cache;
    e->cache = t;
}

/* Poll t (off a ready list, or an inline first poll), then complete it
 * (DONE with one compare-and-swap unless joiners or a detach need the slow
 * path) or park it. Executor task only. */
static inline void async_exec_poll_(struct async_exec *e, struct async_task *t)
{
    if (t->poll(t) == ASYNC_PENDING) {
        async_parked_(e, t);
        return;
    }
    uint8_t f = atomic_load_explicit(&t->flags, memory_order_relaxed);
    if ((f & (ASYNC_F_JOINERS | ASYNC_F_DETACHED)) ||
        !atomic_compare_exchange_strong_explicit(&t->flags, &f, f | ASYNC_F_DONE, memory_order_release,
                                                 memory_order_relaxed))
        async_complete_slow_(e, t);
}

static inline struct async_task *async_new(async_poll_fn poll, size_t size,
                                           const struct async_attr *attr)
{
    /* Fast: a small task homed on the caller's core, spawned by that core's
     * executor task of its class, whose cache has a block. */
    unsigned qos = attr ? (unsigned)attr->qos : QOS_DEFAULT;
    if (poll && size - sizeof(struct async_task) <= ASYNC_CACHE_BYTES - sizeof(struct async_task) &&
        qos < QOS_COUNT && (!attr || attr->cpu < 0)) {
        struct percpu *p = this_cpu();
        struct async_exec *e = &async_execs_[p->cpu][qos];
        struct async_task *t = e->cache;
        if (t && e->task == sched_current() && !p->in_irq) {
            e->cache = t->next;
            async_task_reinit_(t, poll, size,
                               e->spawn_word | (attr && attr->detached ? ASYNC_WORD_DETACHED : 0));
            return t;
        }
    }
    return async_new_slow_(poll, size, attr);
}

static inline void async_start(struct async_task *t)
{
    /* Started by its own executor task (a stackless parent starting a child
     * homed with it): its first poll runs here, once level deep. */
    struct async_exec *e = async_exec_of_(t);
    struct task *cur = sched_current();
    t->started = 1;
    if (e->inline_owner == cur && !this_cpu()->in_irq) {
        e->inline_owner = NULL;   /* one level: a start from this poll queues */
        async_exec_poll_(e, t);   /* t is RUNNING since its spawn */
        e->inline_owner = cur;
        return;
    }
    async_start_slow_(e, t);
}

static inline int async_join_await(struct async_task *self, struct async_task *t, int64_t *value)
{
    /* Fast: not in a wait, not cancelled, t ended on self's executor (its
     * completion has returned: it ran on the executor task, as self's polls
     * do), so t is collected without its lock into that executor's cache. */
    uint8_t f;
    if (!async_waiting(self) && t->exec == self->exec &&
        !(atomic_load(&self->flags) & ASYNC_F_CANCEL) &&
        ((f = atomic_load_explicit(&t->flags, memory_order_acquire)) & ASYNC_F_DONE)) {
        if (value)
            *value = t->value;
        async_exec_free_(async_exec_of_(self), t);
        return (f & ASYNC_F_CANCEL) ? ASYNC_CANCELLED : ASYNC_COMPLETED;
    }
    return async_join_await_slow_(self, t, value);
}

/* --- waits (see "for await operations of other modules" above) ---------------- */

static inline int async_cancelled(struct async_task *self)
{
    return (atomic_load(&self->flags) & ASYNC_F_CANCEL) ? -ECANCELED : 0;
}

static inline int async_wait_park(struct async_task *self)
{
    /* The waker is WAITING and cancel sets its flag before claiming: one of
     * us sees the other (both seq_cst). With a deadline or a cancel: out of
     * line. */
    if (self->deadline_ns || (atomic_load(&self->flags) & ASYNC_F_CANCEL))
        return async_wait_park_slow_(self);
    return ASYNC_PENDING;
}

static inline int32_t async_wait_end(struct async_task *self)
{
    /* A wait that armed the timer (its seq is this episode: arming sets it,
     * ending such a wait bumps the episode) ends out of line, where the
     * timer is cancelled and the episode bumped, so that a firing of it in
     * flight is stale. Any other wait has no firing to outdate. */
    if (self->timer.seq == self->episode)
        return async_wait_end_slow_(self);
    int32_t r = self->waker.result;
    atomic_store_explicit(&self->waker.state, WAKER_IDLE, memory_order_relaxed);
    return r;
}

static inline void async_list_push_(struct async_list *l, struct async_task *t)
{
    t->next = NULL;
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
}

/* On e's executor task (not an interrupt on top of it), make t, homed on
 * e, runnable (fired: publish the waker's DONE too, before t can run): t
 * cannot be polled meanwhile (we are its poller), so a few plain stores
 * onto the local list do. */
/* async_make_ready_local_'s usual case, for a claimer that made t's waker
 * DONE itself: t parked (IDLE). */
static inline __attribute__((always_inline)) void async_queue_claimed_local_(struct async_exec *e, struct async_task *t)
{
    atomic_store_explicit(&t->sched, ASYNC_S_QUEUED, memory_order_relaxed);
    async_list_push_(&e->local, t);
}

static inline __attribute__((always_inline)) void async_make_ready_local_(struct async_exec *e, struct async_task *t, bool fired)
{
    if (fired)
        waker_set_done(&t->waker);
    uint8_t s = atomic_load_explicit(&t->sched, memory_order_relaxed);
    if (__builtin_expect(s == ASYNC_S_IDLE, 1)) {   /* parked: the usual wake */
        atomic_store_explicit(&t->sched, ASYNC_S_QUEUED, memory_order_relaxed);
        async_list_push_(&e->local, t);
    } else if (s == ASYNC_S_RUNNING) {
        atomic_store_explicit(&t->sched, ASYNC_S_NOTIFIED, memory_order_relaxed);
    }
}

/* Make t runnable from any context: its executor task's own wakes are
 * local, everyone else's go to the shared list under the executor lock. */
static inline void async_make_ready_(struct async_task *t, bool fired)
{
    struct async_exec *e = async_exec_of_(t);
    if (e->task != sched_current() || this_cpu()->in_irq)
        async_make_ready_shared_(e, t, fired);
    else
        async_make_ready_local_(e, t, fired);
}

static inline void async_waker_fire(struct waker *w)
{
    if (w->kind & WAKER_KIND_ASYNC)
        async_make_ready_(container_of(w, struct async_task, waker), true);
    else
        w->fire(w);
}

static inline __attribute__((always_inline)) bool
async_waker_fire_from(const struct async_task *self, struct waker *w)
{
    if (!(w->kind & WAKER_KIND_ASYNC)) {
        w->fire(w);
        return false;
    }
    struct async_task *t = container_of(w, struct async_task, waker);
    if (__builtin_expect(self && t->exec == self->exec, 1)) {   /* self's poll runs on that executor's task */
        async_make_ready_local_(async_exec_of_(t), t, true);
        return true;
    }
    async_make_ready_(t, true);
    return false;
}

#endif
