/*
 * Apps: groups of tasks with a foreground/background state. While an app is
 * in the background its tasks run at most at utility class (SCHED_BG_APP_QOS),
 * unless spawned with qos_exempt (e.g. audio); bringing it back restores
 * their own classes. A task joins an app at spawn (task_attr.app) and leaves
 * it when it ends. Effective class = max(own as the app allows, classes lent
 * by tasks blocked on it): see kernel/sched/qos.c.
 */
#ifndef KERNEL_APP_H
#define KERNEL_APP_H

#include <stdbool.h>
#include <kernel/sched_policy.h>

struct task;
struct task_ext;

struct app {
    const char *name;            /* not copied */
    struct sched_app state;      /* foreground flag the policy reads */
    struct task_ext *tasks;      /* members, under the QoS lock */
    int ntasks;
    struct sched_energy energy;  /* members' busy time x core power, added atomically */
};

/* NULL when out of memory. */
struct app *app_create(const char *name, bool foreground);
/* Moves every member to its class for the new state at once. */
void app_set_foreground(struct app *a, bool foreground);
bool app_is_foreground(const struct app *a);
/* 0, or -EBUSY while tasks still belong to it. */
int app_destroy(struct app *a);
/* Busy time of its tasks (past and present) and its modelled energy, in
 * picojoules (busy ns x the power in mW of each core it ran on), as of
 * each task's last switch-out. */
void app_energy(const struct app *a, struct sched_energy *out);

/* Scheduler side (kernel/sched/qos.c). */
void qos_join_app(struct task *t, struct app *a, enum qos own, bool exempt);
void qos_leave_app(struct task *t);
/* waiter blocks on a resource holder owns: lend its class along the chain. */
void qos_wait_on(struct task *waiter, struct task *holder);
/* waiter stopped waiting (acquired, timed out, or was handed the resource). */
void qos_wait_done(struct task *waiter);
/* t's own class changed (task_set_qos). */
void qos_set_own(struct task *t, enum qos own);
/* t (TASK_F_APP) ran ticks on cpu: charge its app (switch-out path). */
void qos_account(const struct task *t, uint64_t ticks, int cpu);

#endif
