/*
 * Active migration, the scheduler's side (private to kernel/sched/; the
 * counts are in kernel/migrate.h, the rule is sched_policy_pull_running).
 *
 * In the spirit of Linux's active balance, driven from the busy core's
 * tick: a running task that may have to move (migrate_watched: its class
 * may leave this core's capacity level and its affinity allows it) keeps a
 * slice running even alone, and at each slice end (migrate_tick) its
 * utilisation is brought up to date and the policy is asked, for each idle
 * core it may use, whether that core would pull it
 * (sched_policy_pull_running, which picks among all the running tasks that
 * could go there). So a task that turns misfit, or a low-class task on a
 * large core when a small one goes idle, is noticed within one slice
 * (SCHED_SLICE_NS), and idle cores and unwatched tasks pay nothing. The
 * chosen task is asked to move (its core's move_task/move_to and
 * need_resched); the slice-end interrupt's exit (sched_irq_exit) takes the
 * request (migrate_take) and the task leaves as TASK_MOVING instead of being
 * queued; once its registers are saved (on_cpu clear) migrate_finish queues
 * it on the target core, which the enqueue wakes. A request the task
 * outlives (it blocked first) is checked again when taken: same task, target
 * still idle and allowed, else dropped.
 */
#ifndef KERNEL_SCHED_MIGRATE_H
#define KERNEL_SCHED_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include <kernel/sched.h>
#include "sched_internal.h"

/* sched_init, once the core model is built: each run queue's watch_qos and
 * watch_cpus. */
void migrate_init(void);

/* Should t, running on rq's core, be watched: its class may move from this
 * core (misfit up from a core with larger ones, low class down from a core
 * with smaller ones) and its affinity allows a core of another capacity. */
static inline bool migrate_watched(const struct runqueue *rq, const struct task *t)
{
    if (t->pinned || !((rq->watch_qos >> t->qos) & 1))
        return false;
    uint32_t a = t->affinity;
    return !a || (a & rq->watch_cpus);
}

/* Under rq->lock, this core's, at the end of a slice of cur (watched):
 * bring its utilisation up to date and, if the policy would pull it to an
 * idle core, ask it to move (need_resched: the interrupt's exit takes it). */
void migrate_tick(struct runqueue *rq, struct task *cur, uint64_t now);

/* Under rq->lock in sched_irq_exit, prev the preempted task: the core prev
 * must move to (the request is consumed), or -1 to queue it here. */
int migrate_take_slow(struct runqueue *rq, struct task *prev);
static inline int migrate_take(struct runqueue *rq, struct task *prev)
{
    if (__builtin_expect(!rq->move_task, 1))
        return -1;
    return migrate_take_slow(rq, prev);
}

/* t (TASK_MOVING, registers saved) left core from: queue it on core to. */
void migrate_finish(struct task *t, int from, int to);

#endif
