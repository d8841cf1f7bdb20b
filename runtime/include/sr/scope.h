/*
 * Structured concurrency: scopes (task groups).
 *
 * A scope owns the tasks spawned into it, stackful (scope_spawn) and
 * stackless (scope_spawn_async). Its owner opens it, spawns children, and
 * closes it; scope_wait / scope_close do not return before every child has
 * ended and been joined, so children never outlive their scope.
 *
 *     struct scope s;
 *     struct scope_attr a = {.timeout_ns = 50 * 1000000};   // 50 ms
 *     scope_open(&s, NULL, &a);
 *     struct scope_child *c1 = scope_spawn(&s, fetch, &req1, NULL);
 *     struct scope_child *c2 = scope_spawn(&s, fetch, &req2, NULL);
 *     int err = scope_wait(&s);           // 0, or why the scope failed
 *     struct scope_result r = scope_child_result(c1);
 *     if (r.reason == SCOPE_EXITED) use(r.value);
 *     scope_close(&s);                    // frees the child records
 *
 * Results. A child ends with a value: >= 0 is success, a negative errno a
 * failure (the convention of async awaits). Its struct scope_result says why
 * it ended (enum scope_reason): EXITED with value >= 0; FAILED with a
 * negative errno; CANCELLED (it returned -ECANCELED after a cancel);
 * TIMED_OUT (it returned -ECANCELED after its scope's deadline cancelled
 * it, or -ETIMEDOUT of its own); FAULTED (killed by a fault).
 *
 * Cancellation reaches every child that has not ended, and every nested
 * scope (recursively): stackful children through task_cancel (they poll
 * task_cancelled(); their interruptible waits, e.g. sem_wait_interruptible,
 * end with WAIT_CANCELLED), stackless ones through async_cancel (their
 * awaits end with -ECANCELED). It is cooperative: a child ends when it
 * returns. A child spawned into a cancelled scope is cancelled at once.
 *
 * Deadlines. A scope with a deadline (absolute, or a timeout from its
 * opening) is cancelled when it passes, by a timer on the opening core's
 * timer heap; a nested scope's deadline is the earlier of its own and its
 * parent's.
 *
 * Errors. An error is a child that FAILED, FAULTED, or TIMED_OUT of its own
 * (-ETIMEDOUT while its scope was not cancelled). With SCOPE_FIRST_ERROR
 * (default) the first error cancels its siblings; with SCOPE_COLLECT_ALL the
 * others run on and every error is counted. scope_first_error names the
 * first one.
 *
 * Rules. One owner task opens, spawns into, waits on and closes a scope
 * (children may cancel it). A nested scope is opened with its parent (by a
 * child of the parent, usually) and closed before the parent is. Stackless
 * children are made with scope_async_new and their poll function receives
 * the async_task inside the struct scope_async at their struct's start.
 */
#ifndef SR_SCOPE_H
#define SR_SCOPE_H

#include <stdbool.h>
#include <stdint.h>
#include <kernel/task.h>
#include <kernel/timerq.h>
#include <kernel/waitq.h>
#include <sr/async.h>
#include <sr/scope_policy.h>

struct scope_result {
    enum scope_reason reason;
    int64_t value;          /* what it returned */
};

struct scope_attr {
    uint64_t deadline_ns;   /* absolute (clock_ns), 0 = none */
    uint64_t timeout_ns;    /* from scope_open, 0 = none (the earlier one wins) */
    enum scope_policy policy;
};

struct scope_child;

struct scope {
    struct waitq wq;                /* its lock guards the scope; the owner waits here */
    struct scope *parent;
    struct scope *nested, *nested_next;   /* open nested scopes; link in the parent's list */
    struct scope_child *head, *tail;      /* children, in spawn order */
    struct scope_child *first_error;
    struct timer timer;             /* the deadline */
    _Atomic int timer_done;         /* the deadline callback has finished */
    uint64_t deadline_ns;           /* effective (inherited), 0 = none */
    uint32_t live;                  /* children spawned, not yet ended */
    uint32_t spawned, errors;
    enum scope_policy policy;
    enum scope_cause cause;
    bool timer_armed;
};

/* Stackless children start with this (in place of a bare struct async_task). */
struct scope_async {
    struct async_task t;
    async_poll_fn body;             /* the user's poll function */
    struct scope_child *child;
};

/* Open s (attr NULL: no deadline, SCOPE_FIRST_ERROR), nested in parent if
 * not NULL (inherits its deadline and, if it is cancelled, starts
 * cancelled). A deadline already past opens it cancelled. Returns 0. */
int scope_open(struct scope *s, struct scope *parent, const struct scope_attr *attr);
/* Spawn a stackful child: task_spawn(fn, arg, attr) (attr NULL: defaults;
 * attr->detached and attr->on_end must be unset). Its record, or NULL with
 * errno (EINVAL, ENOMEM). */
struct scope_child *scope_spawn(struct scope *s, task_fn fn, void *arg, const struct task_attr *attr);
/* A stackless child: as async_new (the struct begins with struct
 * scope_async; poll receives &it->t), not yet started. */
struct scope_async *scope_async_new(async_poll_fn poll, size_t size, const struct async_attr *attr);
#define SCOPE_ASYNC_NEW(type, poll, attr) ((type *)scope_async_new((poll), sizeof(type), (attr)))
/* Start a from scope_async_new as a child of s (the scope joins and frees it). */
struct scope_child *scope_spawn_async(struct scope *s, struct scope_async *a);

/* Cancel every child and nested scope (any task; idempotent). */
void scope_cancel(struct scope *s);
/* Wait until every child spawned so far has ended; join them. 0 if the scope
 * had no error and was not cancelled; else the first error's code (FAILED:
 * its value, FAULTED: -EFAULT, TIMED_OUT: -ETIMEDOUT), or -ETIMEDOUT
 * (deadline) / -ECANCELED (scope_cancel, or cancelled by its parent). */
int scope_wait(struct scope *s);
/* scope_wait, then free the child records (their handles die) and leave
 * the parent. Returns what scope_wait returned. */
int scope_close(struct scope *s);

/* A child's result (reason SCOPE_RUNNING until it has ended). */
struct scope_result scope_child_result(const struct scope_child *c);
/* The first error's child, or NULL. */
struct scope_child *scope_first_error(struct scope *s);
/* Errors so far (every error in SCOPE_COLLECT_ALL). */
uint32_t scope_error_count(struct scope *s);
enum scope_cause scope_cancel_cause(struct scope *s);

#endif
