/*
 * Scheduling policy: pure decisions over a snapshot of the cores, no locks,
 * no arch, no globals, so the same file builds into the image and the host
 * tests (and later a scheduling simulator). Mechanism lives in sched.c.
 *
 * Current rules (QoS-aware big/LITTLE placement replaces place in the next
 * issue; callers do not change):
 *  - place: the allowed online core with the least load (ready tasks plus one
 *    if it is running a task); ties go to the calling core, then the lowest id.
 *  - steal: an idle core takes from the allowed core with the most ready
 *    tasks, if that core has at least one waiting (the running task is not
 *    counted: a core with only its current task has nothing to give).
 */
#ifndef KERNEL_SCHED_POLICY_H
#define KERNEL_SCHED_POLICY_H

#include <stdbool.h>
#include <stdint.h>

struct sched_core_view {
    bool online;
    bool busy;            /* running a task (not idle) */
    uint32_t nr_ready;    /* queued, not running */
};

int sched_policy_place(const struct sched_core_view *cores, int ncores, unsigned qos,
                       uint32_t affinity, int this_cpu);
int sched_policy_victim(const struct sched_core_view *cores, int ncores, int this_cpu);

/* Wrappers in sched.c that build the view from the live run queues. */
int sched_place_new(unsigned qos, uint32_t affinity, int this_cpu);

#endif
