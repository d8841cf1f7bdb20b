/* Scheduler internals shared by kernel/sched files (not a public API). */
#ifndef KERNEL_SCHED_INTERNAL_H
#define KERNEL_SCHED_INTERNAL_H

#include <kernel/sched.h>

/* The task whose sleep or wait timeout tm is, or NULL for other timers.
 * Under tm's run-queue lock. */
const struct task *sched_timer_task(const struct timer *tm);

#endif
