/*
 * Scope policy, pure (host-tested): how a child's end is classified, which
 * ends are errors, what a scope's wait returns, and a nested scope's
 * effective deadline. The mechanism is runtime/scope.c (sr/scope.h).
 */
#ifndef SR_SCOPE_POLICY_H
#define SR_SCOPE_POLICY_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

enum scope_reason {
    SCOPE_RUNNING = 0,      /* not ended yet */
    SCOPE_EXITED,           /* returned value >= 0 */
    SCOPE_FAILED,           /* returned a negative errno (value) */
    SCOPE_CANCELLED,        /* returned -ECANCELED after a cancel */
    SCOPE_TIMED_OUT,        /* cancelled by the deadline, or returned -ETIMEDOUT */
    SCOPE_FAULTED,          /* killed by a fault (value 0) */
};

enum scope_policy {
    SCOPE_FIRST_ERROR = 0,  /* the first error cancels the siblings */
    SCOPE_COLLECT_ALL = 1,  /* errors are collected; nothing is cancelled for them */
};

/* Why a scope was cancelled (the first cause wins). */
enum scope_cause { SCOPE_NOT_CANCELLED = 0, SCOPE_BY_CANCEL, SCOPE_BY_DEADLINE, SCOPE_BY_ERROR };

/* A child ended (faulted, or returned v) in a scope cancelled for cause. */
static inline enum scope_reason scope_classify(enum scope_cause cause, bool faulted, int64_t v)
{
    if (faulted)
        return SCOPE_FAULTED;
    if (v >= 0)
        return SCOPE_EXITED;
    if (v == -ECANCELED)
        return cause == SCOPE_BY_DEADLINE ? SCOPE_TIMED_OUT : SCOPE_CANCELLED;
    if (v == -ETIMEDOUT)
        return SCOPE_TIMED_OUT;
    return SCOPE_FAILED;
}

/* Is that end an error of the scope? Failures and faults are; a timeout is
 * when the child timed out of its own (the scope was not cancelled). */
static inline bool scope_is_error(enum scope_cause cause, enum scope_reason why, int64_t v)
{
    return why == SCOPE_FAILED || why == SCOPE_FAULTED ||
           (why == SCOPE_TIMED_OUT && v == -ETIMEDOUT && cause == SCOPE_NOT_CANCELLED);
}

/* A cancel passed down to a nested scope: a deadline stays a deadline,
 * anything else is a plain cancel. */
static inline enum scope_cause scope_cause_down(enum scope_cause cause)
{
    return cause == SCOPE_BY_DEADLINE ? SCOPE_BY_DEADLINE : SCOPE_BY_CANCEL;
}

/* What scope_wait returns: the first error's code (FAILED: its value,
 * FAULTED: -EFAULT, TIMED_OUT: -ETIMEDOUT), else by the cancel cause. */
static inline int scope_wait_code(bool have_error, enum scope_reason why, int64_t v,
                                  enum scope_cause cause)
{
    if (have_error)
        return why == SCOPE_FAULTED ? -EFAULT : why == SCOPE_TIMED_OUT ? -ETIMEDOUT : (int)v;
    return cause == SCOPE_BY_DEADLINE ? -ETIMEDOUT : cause == SCOPE_BY_CANCEL ? -ECANCELED : 0;
}

/* The earliest of an absolute deadline, now + timeout and the parent's
 * (each 0 = none); 0 if none. */
static inline uint64_t scope_deadline(uint64_t deadline_ns, uint64_t timeout_ns, uint64_t now,
                                      uint64_t parent_ns)
{
    uint64_t dl = deadline_ns;
    if (timeout_ns && (!dl || now + timeout_ns < dl))
        dl = now + timeout_ns;
    if (parent_ns && (!dl || parent_ns < dl))
        dl = parent_ns;
    return dl;
}

#endif
