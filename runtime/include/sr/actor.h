/*
 * Actors with supervision.
 *
 * An actor is a stackful task (at the QoS class its spec names) that owns
 * a state and handles the messages of its mailbox one at a time, in the
 * order the mailbox received them. The mailbox is a struct mailbox
 * (sr/mailbox.h: bounded, lock-free MPSC, its one reader sleeping on one
 * flag) of fixed-size messages; it belongs to the actor, not to its task,
 * so it outlives a task that faults.
 *
 * Every actor runs under a supervisor: a task that starts its children,
 * learns when one faults (the kernel kills a faulting task; the supervisor
 * sees TASK_FAULTED when that task is joined) and restarts that child alone
 * (one-for-one) with a fresh state: zeroed, then spec->init. Restart
 * intensity: at most max_restarts restarts (all children together) within
 * any window_ns; the fault after that makes the supervisor give up: it
 * prints "sup <name>: giving up: ..." on the console, stops every child
 * (queued messages discarded) and ends with SUP_GAVE_UP. A lone actor is a
 * supervisor with one child (max_restarts 0: a fault ends it).
 *
 * Messages sent while a child restarts are kept in its mailbox and handled
 * by the new instance. The message being handled when the child faulted is
 * not redelivered: if it was a request, its requester gets -EFAULT.
 *
 * Handler contract: handle(self, state, msg, reply) runs in the actor's
 * task; msg is the message (msg_size bytes, valid during the call); reply
 * is reply_size zeroed bytes that go back to a requester (ignored for
 * plain sends); the int it returns is what actor_request returns (>= 0, or
 * a negative errno of the handler's choice). A fault in the handler kills
 * only this actor's task. init(state, arg) prepares a zeroed state; a
 * negative return counts as a fault (restart, subject to the intensity).
 *
 * Results of the calls below: 0 (or the handler's value); -EAGAIN (try:
 * mailbox full); -ETIMEDOUT; -EPIPE (the actor is stopped or stopping, or
 * ended before it replied); -EFAULT (the handler faulted on this request);
 * -ENOMEM; -EINVAL.
 *
 * Stop rule: actor_stop closes the mailbox (every later send gets -EPIPE)
 * and waits until the actor's task has ended. ACTOR_DRAIN: what is queued
 * is still handled; ACTOR_DISCARD: what is queued is dropped, its
 * requesters get -EPIPE. A stopped actor is not restarted. Handles stay
 * valid until sup_stop frees the supervisor and its children.
 */
#ifndef SR_ACTOR_H
#define SR_ACTOR_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <kernel/task.h>
#include <kernel/waitq.h>   /* WAIT_FOREVER */

#define ACTOR_MSG_MAX 256          /* largest msg_size and reply_size */
#define SUP_GAVE_UP   (-ELOOP)     /* sup_wait / sup_stop after a give-up */

struct actor;
struct supervisor;

typedef int (*actor_init_fn)(void *state, void *arg);
typedef int (*actor_handler_fn)(struct actor *self, void *state, const void *msg, void *reply);

enum actor_restart {
    ACTOR_PERMANENT = 0,   /* restarted after a fault */
    ACTOR_TEMPORARY = 1,   /* never restarted: a fault ends it */
};

enum actor_stop_mode {
    ACTOR_DRAIN = 0,
    ACTOR_DISCARD = 1,
};

struct actor_spec {
    const char *name;
    enum qos qos;              /* its task's class (set it: 0 is USER_INTERACTIVE) */
    uint32_t msg_size;         /* 1..ACTOR_MSG_MAX */
    uint32_t reply_size;       /* 0..ACTOR_MSG_MAX */
    uint32_t mailbox_cap;      /* 1.. (messages queued at most) */
    size_t state_size;         /* may be 0 */
    actor_init_fn init;        /* may be NULL (the state stays zeroed) */
    actor_handler_fn handle;
    void *arg;                 /* passed to init */
    enum actor_restart restart;
    size_t stack_size;         /* 0 = TASK_STACK_DEFAULT */
    uint32_t affinity;         /* 0 = any core */
};

struct sup_spec {
    const char *name;
    enum qos qos;              /* the supervisor's own class */
    uint32_t max_children;     /* 1.. */
    uint32_t max_restarts;     /* 0..RESTART_WINDOW_MAX (sr/restart_window.h) */
    uint64_t window_ns;
};

/* A running supervisor without children; NULL (errno EINVAL/ENOMEM). */
struct supervisor *sup_start(const struct sup_spec *spec);
/* Start a child; NULL (errno EINVAL, ENOMEM, ENOSPC: max_children reached,
 * EPIPE: the supervisor is stopping or gave up). */
struct actor *sup_start_child(struct supervisor *s, const struct actor_spec *spec);
/* Block until the supervisor has ended (it gave up, or sup_stop); returns
 * SUP_GAVE_UP or 0. */
int sup_wait(struct supervisor *s);
/* Stop every child (ACTOR_DRAIN), end the supervisor, free it and its
 * children (no handle may be used afterwards); returns what sup_wait does.
 * Called once, by the supervisor's owner. */
int sup_stop(struct supervisor *s);
/* Restarts done so far (all children). */
uint32_t sup_restarts(struct supervisor *s);

/* Fire-and-forget. actor_send blocks while the mailbox is full, at most
 * timeout_ns (WAIT_FOREVER = 0: no limit); actor_try_send never blocks. */
int actor_send(struct actor *a, const void *msg, uint64_t timeout_ns);
int actor_try_send(struct actor *a, const void *msg);
/* Send msg and wait for the handler's reply (reply_size bytes into reply,
 * which may be NULL, written only for a value >= 0), all within
 * timeout_ns. Returns the handler's value. A reply slot travels with the
 * request: the actor copies the reply into reply and wakes the requester
 * directly; a timed-out requester's late reply is dropped. Without a
 * timeout, the handler may read msg where the caller has it (it must stay
 * unchanged until this returns). A handler must not request its own actor
 * (it would wait for itself until the timeout). */
int actor_request(struct actor *a, const void *msg, void *reply, uint64_t timeout_ns);
/* See "Stop rule". Returns 0, or -EFAULT if it faulted while stopping. */
int actor_stop(struct actor *a, enum actor_stop_mode mode);
/* Messages handled so far (all its instances), messages queued now (a
 * snapshot), and its restarts. */
uint64_t actor_handled(struct actor *a);
uint32_t actor_queued(struct actor *a);
uint32_t actor_restarts(struct actor *a);
const char *actor_name(const struct actor *a);

#endif
