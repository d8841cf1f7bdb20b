/*
 * Fork-join parallelism on work-stealing deques (runtime/forkjoin.c).
 *
 * A call from an ordinary task starts a job: one helper task per allowed
 * core (pinned there, at the caller's QoS class), each with its own deque
 * (sr/deque.h). Helpers pop their own deque and steal from the others'; one
 * with nothing to do sleeps on its semaphore until work is pushed or what it
 * waits for completes (no spinning). The caller sleeps until the job ends,
 * then joins the helpers: when the call returns nothing of the job remains.
 *
 * A call made inside a job (from fn, a or b) runs in that job: the work is
 * forked onto the calling helper's deque, and a helper waiting for forked
 * work that a thief took runs other work meanwhile, so nesting never
 * deadlocks. Closures must not block for long on each other (they run on
 * a few helpers), but may block on anything else.
 *
 * QoS rule (which cores get a helper), for the caller's class c, using the
 * scheduler's core model (sched_core_model) and its steal rules:
 *   - background: the efficiency cores (lowest capacity level) only;
 *   - utility: the efficiency cores, plus each performance core (any higher
 *     level) that is idle when the job starts: the policy lets an idle
 *     performance core take utility work, never a busy one;
 *   - default and above: every online core;
 *   - below default, cores where deadline tasks hold reservations
 *     (task_dl_cores) are left out unless no other core remains.
 * Iterations of a job run only on its helpers, so only on those cores. With
 * one capacity level every rule gives every online core.
 *
 * Every entry point returns 0; -EINVAL for a NULL function (nothing runs);
 * or -ENOMEM when a new job could not get its memory or any helper (then
 * none of the work has run).
 */
#ifndef SR_FORKJOIN_H
#define SR_FORKJOIN_H

#include <stddef.h>
#include <stdint.h>

/* Runs iterations [lo, hi) of a parallel_for (lo < hi, hi - lo <= grain). */
typedef void (*fj_range_fn)(int64_t lo, int64_t hi, void *arg);
/* A closure for fj_join. */
typedef void (*fj_fn)(void *arg);
/* Folds iterations [lo, hi) into *acc (a value of the reduction's size). */
typedef void (*fj_fold_fn)(int64_t lo, int64_t hi, void *acc, void *arg);
/* *into = *into (+) *from, for an associative (+); the left operand is the
 * lower range, so (+) need not commute. */
typedef void (*fj_combine_fn)(void *into, const void *from, void *arg);

/* Largest reduction value (bytes). */
#define FJ_REDUCE_MAX 64
/* Slots per helper's deque; a fork into a full deque runs inline instead. */
#define FJ_DEQUE_CAP 256
/* Stack of each helper task (nested joins and helping while waiting). */
#define FJ_STACK_SIZE (64 * 1024)

/* Calls fn on disjoint chunks covering [begin, end), each of at most grain
 * iterations (grain 0 is taken as 1), possibly in parallel; returns when all
 * have run. An empty range (end <= begin) runs nothing and returns 0. */
int parallel_for(int64_t begin, int64_t end, int64_t grain, fj_range_fn fn, void *arg);

/* Runs a(arg_a) and b(arg_b), possibly in parallel; returns when both have. */
int fj_join(fj_fn a, void *arg_a, fj_fn b, void *arg_b);

/* result = identity (+) fold over [begin, end), chunks as parallel_for,
 * each chunk folded into a copy of identity, combined in index order.
 * size <= FJ_REDUCE_MAX, else -EINVAL (result untouched). */
int parallel_reduce(int64_t begin, int64_t end, int64_t grain, void *result, size_t size,
                    const void *identity, fj_fold_fn fold, fj_combine_fn combine, void *arg);

/* Which cores a job of class qos started now would use (the rule above):
 * bit per logical CPU. */
uint32_t fj_allowed_cores(unsigned qos);

#endif
