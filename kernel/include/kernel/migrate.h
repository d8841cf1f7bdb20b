/*
 * Active migration of running tasks (kernel/sched/migrate.c): a misfit task
 * (default class or higher whose utilisation does not fit its core) moves up
 * to an idle larger core, a running utility or background task moves down to
 * an idle smaller one, as sched_policy_pull_running decides; affinity is
 * always respected. Counts since boot, for tests and the shell.
 */
#ifndef KERNEL_MIGRATE_H
#define KERNEL_MIGRATE_H

#include <stdint.h>

struct migrate_stats {
    uint64_t requested;   /* running tasks asked to move */
    uint64_t up;          /* moved to a larger core */
    uint64_t down;        /* moved to a smaller core */
    uint64_t dropped;     /* requests found stale at the switch (target busy, task changed) */
};

void migrate_get_stats(struct migrate_stats *out);

#endif
