/* Scheduler internals shared by kernel/sched files (not a public API). */
#ifndef KERNEL_SCHED_INTERNAL_H
#define KERNEL_SCHED_INTERNAL_H

#include <kernel/sched.h>
#include <kernel/sched_policy.h>

/* The task whose sleep or wait timeout tm is, or NULL for other timers.
 * Under tm's run-queue lock. */
const struct task *sched_timer_task(const struct timer *tm);
/* The idle_mask hint: bit c, core c runs its idle task. */
uint32_t sched_idle_cores(void);
/* Views of the online cores in mask; the others are shown offline. */
void sched_core_views(struct sched_core_view *v, uint32_t mask);
/* Under rq->lock, this core's: bring the running task's utilisation to now. */
void sched_util_refresh_current(struct runqueue *rq, uint64_t now);
/* t is TASK_MOVING with its registers saved: make it ready on core to
 * (counted as a migration). */
void sched_move_in(struct task *t, int to);

#endif
