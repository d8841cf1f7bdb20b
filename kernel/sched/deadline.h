/*
 * Deadline tasks, the scheduler's side (private to kernel/sched/). The API
 * is in kernel/deadline.h; the policy (admission, charging) in policy_dl.c.
 *
 * Invariant: a deadline task within its budget has TASK_F_DL and sits in
 * band 0 (user-interactive), ahead of the band's plain tasks and in order of
 * absolute deadline among its deadline tasks (EDF). Once its budget for the
 * period is spent it loses TASK_F_DL and is a plain task of its effective
 * class until its next release. It is pinned to the core admission chose.
 * Everything here runs under the run-queue lock of the task's core.
 */
#ifndef KERNEL_SCHED_DEADLINE_H
#define KERNEL_SCHED_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <kernel/sched.h>
#include <kernel/sched_policy.h>

struct task_dl {
    struct sched_dl_params p;
    struct sched_dl_task s;       /* this period: release, deadline, budget used, counts */
    uint64_t deadline_ticks;      /* s.deadline_ns in counter ticks: the EDF key */
    uint64_t charged_ticks;       /* the task's cpu_ticks already charged to s */
    uint64_t periods;             /* activations begun */
    struct timer replenish;       /* next release, armed while demoted */
    int cpu;                      /* where its bandwidth is reserved */
    bool reserved;                /* bandwidth still held (until the task ends) */
};

static inline struct task_dl *dl_of(const struct task *t) { return task_ext(t)->dl; }

/* EDF order between two deadline tasks. */
static inline bool dl_earlier(const struct task *a, const struct task *b)
{
    return dl_of(a)->deadline_ticks < dl_of(b)->deadline_ticks;
}

/* Charge t (TASK_F_DL) up to its total run time cpu_ticks. On an overrun,
 * t loses TASK_F_DL, the overrun is counted, its replenishment is armed on
 * rq's timer queue, and the band it now belongs to is returned; -1 while
 * it is still within budget. */
int dl_charge(struct runqueue *rq, struct task *t, uint64_t cpu_ticks);
/* Counter ticks t may still run in this period on its core (>= 1). */
uint64_t dl_budget_left_ticks(const struct task *t);

/* Provided by sched.c and sched_timer.c for deadline.c. */
struct runqueue *sched_lock_task(struct task *t, uint64_t *flags);
/* Under rq->lock: t (on rq) now belongs to band (TASK_F_DL already set or
 * cleared by the caller): requeue or reslice it and preempt as needed. */
void sched_reband_locked(struct runqueue *rq, struct task *t, unsigned band);
/* Under rq->lock: queue tm on rq's timer heap; -1 (nothing queued) when
 * the heap cannot grow. */
int sched_timer_add_locked(struct runqueue *rq, struct timer *tm);
uint64_t sched_ns_to_ticks(uint64_t ns);

/* For task.c: admission at spawn (0, -EINVAL, -EBUSY or -ENOMEM; on success
 * t is pinned, in band 0 with TASK_F_DL), the end of the task (bandwidth
 * back), and freeing its state. */
void dl_init(void);
int dl_task_admit(struct task *t, const struct sched_dl_params *p);
void dl_task_end(struct task *t);
void dl_task_free(struct task *t);

#endif
