/*
 * Deadline tasks: periodic work with a budget per period and a deadline per
 * activation (a 120 Hz frame, a 10 ms audio buffer). Spawn one with
 * task_attr.deadline; admission control reserves its bandwidth on one core
 * (the cheapest allowed core that keeps every core's deadline bandwidth
 * within 90 %) or refuses it. Within budget it runs before every other task
 * of that core, earliest deadline first; a budget overrun demotes it to its
 * own class (task_attr.qos) for the rest of the period and is counted.
 *
 *     static int64_t frame_task(void *arg) {
 *         for (;;) { render(); task_dl_next_period(); }
 *     }
 *     struct sched_dl_params p = {.period_ns = 8333333, .budget_ns = 2000000};
 *     struct task_attr a = {.name = "frames", .qos = QOS_USER_INTERACTIVE, .deadline = &p};
 *     struct task *t = task_spawn(frame_task, NULL, &a);  // NULL + errno: see below
 */
#ifndef KERNEL_DEADLINE_H
#define KERNEL_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <kernel/sched_policy.h>

struct task;

/* task_spawn with attr->deadline fails with errno EINVAL (zero period or
 * budget, budget > deadline, deadline > period) or EBUSY (no allowed core
 * has the bandwidth left); task_dl_strerror(errno) names it. */
const char *task_dl_strerror(int err);

/* The current deadline task ends this activation and sleeps until its next
 * release. 0 if the activation finished by its deadline, -ETIMEDOUT if late
 * (counted as a miss), -EINVAL if the task has no deadline. A release that
 * already passed starts the next activation at once. */
int task_dl_next_period(void);

struct task_dl_stats {
    uint64_t periods;      /* activations begun */
    uint32_t misses;       /* activations finished after their deadline */
    uint32_t overruns;     /* activations that ran out of budget (demoted) */
    bool demoted;          /* now: out of budget until the next release */
    int cpu;               /* core its bandwidth is reserved on */
};
/* -EINVAL if t is not a deadline task. */
int task_dl_stats(const struct task *t, struct task_dl_stats *out);

/* Cores on which deadline bandwidth is reserved now (bit per logical CPU). */
uint32_t task_dl_cores(void);

#endif
