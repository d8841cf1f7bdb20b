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

#include <stddef.h>
#include <stdint.h>
#include <kernel/spinlock.h>
#include <kernel/task.h>
#include <kernel/timerq.h>
#include <sr/wait.h>

#define ASYNC_PENDING   INT32_MIN   /* from an await op or a poll function: not yet */
#define ASYNC_DONE      0           /* from a poll function: finished (value set) */

struct async_task;
typedef int (*async_poll_fn)(struct async_task *t);

struct async_task {
    async_poll_fn poll;
    struct async_task *next;        /* executor's ready list */
    struct waker waker;             /* this task's current wait */
    struct wait_node node;          /* its node for single-list waits */
    struct timer timer;             /* sleeps and await deadlines */
    struct wait_list joiners;       /* who awaits this task's end (under lock) */
    spinlock_t lock;                /* guards joiners and the DONE flag */
    int64_t value;                  /* result, once ended */
    uint64_t deadline_ns;           /* of the next await (ASYNC_AWAIT_TIMEOUT), 0 none */
    uint32_t episode;               /* bumped per wait: stale timer firings ignore */
    uint16_t resume;                /* resume point of the poll function */
    uint8_t cpu, qos;               /* home core and class */
    _Atomic uint8_t sched;          /* executor state (runtime/async.c) */
    _Atomic uint8_t flags;          /* ASYNC_F_* */
    uint8_t heap_class;             /* its block's heap size class (kernel/mm.h) */
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
 * on failure. Task context. */
struct async_task *async_new(async_poll_fn poll, size_t size, const struct async_attr *attr);
#define ASYNC_NEW(type, poll, attr) ((type *)async_new((poll), sizeof(type), (attr)))
/* Queue t on its home executor (creating the executor on first use).
 * Called by a task running on that same executor (a stackless parent
 * starting a child homed with it), t's first poll runs at once, inside
 * the call, instead of being queued: a child that completes on its first
 * poll is never queued, and one that has to wait is parked as usual. Only
 * one level of this inlining: a child started from such an inline poll is
 * queued. */
void async_start(struct async_task *t);
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
int async_join_await(struct async_task *self, struct async_task *t, int64_t *value);
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
int async_cancelled(struct async_task *self);   /* -ECANCELED or 0 */
int async_wait_park(struct async_task *self);   /* arms the deadline; ASYNC_PENDING */
static inline bool async_waiting(const struct async_task *self)
{
    return waker_state(&self->waker) != WAKER_IDLE;
}
static inline bool async_wait_over(const struct async_task *self)
{
    return waker_state(&self->waker) == WAKER_DONE;
}
int32_t async_wait_end(struct async_task *self);

/* Executor statistics of one core and class (tests, benchmarks). */
struct async_exec_stats {
    uint64_t polls, completed;       /* polls made, tasks ended */
};
void async_exec_stats(int cpu, enum qos qos, struct async_exec_stats *out);

#endif
