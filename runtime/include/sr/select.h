/*
 * Select: wait for the first of several events (channel receive, channel
 * send, a stackless task's end), with an optional timeout; for stackful
 * tasks (sel_wait) and stackless ones (sel_await, the first-of combinator).
 *
 *     struct sel_case c[2];
 *     struct sel s;
 *     chan_case_recv(&c[0], a, &msg_a);
 *     chan_case_recv(&c[1], b, &msg_b);
 *     sel_init(&s, c, 2);
 *     int i = sel_wait(&s, 1000000);   // case index, or -ETIMEDOUT
 *     // s.result: 0, or -EPIPE if case i's channel is closed
 *
 * Semantics: all the cases' locks are taken (in address order); if some
 * cases can complete now, the one sel_pick chooses (rotating priority, see
 * sr/sel_pick.h) does, and only that one. Otherwise the select queues one
 * wait node per case and the first case that becomes ready completes (the
 * waker claim makes it exactly one); the others are withdrawn. A struct sel
 * keeps its rotation between calls: reuse it for fairness across calls.
 * Receive on a closed channel and send on a closed channel complete at once
 * with result -EPIPE; a task case completes when the task has ended (it is
 * not joined: join it afterwards).
 */
#ifndef SR_SELECT_H
#define SR_SELECT_H

#include <stdbool.h>
#include <stdint.h>
#include <kernel/spinlock.h>
#include <sr/sel_pick.h>
#include <sr/wait.h>

struct sel_case;
struct async_task;

/* What a kind of case does; every hook runs with the case's lock held. */
struct sel_kind {
    spinlock_t *(*lock)(const struct sel_case *c);
    bool (*ready)(struct sel_case *c);                     /* could complete now */
    bool (*perform)(struct sel_case *c, int32_t *result);  /* complete now, or false */
    struct wait_list *(*list)(struct sel_case *c);         /* where to wait */
    /* Optional, for objects with lock-free fast paths (channels): arm runs
     * before ready/perform and makes those paths defer to the lock, so that
     * what ready saw cannot change unnoticed before a node is queued;
     * disarm runs before the lock is released and undoes it unless
     * somebody waits. */
    void (*arm)(struct sel_case *c);
    void (*disarm)(struct sel_case *c);
};

struct sel_case {
    const struct sel_kind *kind;
    void *obj;                      /* the channel or task */
    void *buf;                      /* message to send / room to receive into */
    struct wait_node node;
};

struct sel {
    struct sel_case *cases;
    uint16_t n, next;               /* next: where sel_pick starts */
    int16_t which;                  /* case taken by the last select */
    int32_t result;                 /* that case's result */
};

/* n in 1..SEL_MAX. */
void sel_init(struct sel *s, struct sel_case *cases, unsigned n);
/* Stackful: the case index, or -ETIMEDOUT after timeout_ns (WAIT_FOREVER
 * = 0: no timeout), or -EINVAL. */
int sel_wait(struct sel *s, uint64_t timeout_ns);
/* The same, and a cancellation point (like chan_recv_interruptible): if
 * the calling task is cancelled (task_cancel, e.g. by its scope) while it
 * waits, or was before it had to wait, it returns -ECANCELED and no case
 * has completed (no message moved either way). A select that can complete
 * at once does so as usual. */
int sel_wait_interruptible(struct sel *s, uint64_t timeout_ns);
/* Without waiting: the case index, or -EAGAIN if none can complete now. */
int sel_try(struct sel *s);
/* Stackless (inside ASYNC_AWAIT): the case index, or -ETIMEDOUT (with
 * ASYNC_AWAIT_TIMEOUT) / -ECANCELED. */
int sel_await(struct async_task *self, struct sel *s);

/* A case: task t has ended (async.c). */
void async_case_done(struct sel_case *c, struct async_task *t);

#endif
