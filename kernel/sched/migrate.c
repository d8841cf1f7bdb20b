/* Active migration of running tasks (see migrate.h and kernel/migrate.h). */
#include <arch/timer.h>
#include <kernel/irq.h>
#include <kernel/migrate.h>
#include <kernel/sched.h>
#include <kernel/sched_policy.h>
#include <kernel/smp.h>
#include "migrate.h"

static _Atomic uint64_t n_requested, n_up, n_down, n_dropped;

void migrate_init(void)
{
    const struct sched_core_model *m = sched_core_model();
    const uint32_t up_classes = (1u << (QOS_DEFAULT + 1)) - 1;   /* misfit: default or higher */
    const uint32_t down_classes = (1u << QOS_UTILITY) | (1u << QOS_BACKGROUND);
    for (int c = 0; c < m->ncores; c++) {
        uint32_t larger = 0, smaller = 0;
        for (int o = 0; o < m->ncores; o++) {
            if (m->core[o].capacity > m->core[c].capacity)
                larger |= 1u << o;
            else if (m->core[o].capacity < m->core[c].capacity)
                smaller |= 1u << o;
        }
        runqueues[c].watch_cpus = larger | smaller;
        runqueues[c].watch_qos = (uint8_t)((larger ? up_classes : 0) | (smaller ? down_classes : 0));
    }
}

/* The core whose running task the policy would move to core to (idle), or
 * -1. The policy sees only the cores whose running task may go there
 * (watched on its core and allowed on to): it knows nothing of affinity. */
static int pull_choice(int to)
{
    uint32_t busy = runqueues[to].watch_cpus & smp_online_mask() & ~sched_idle_cores();
    uint32_t movable = 0;
    for (; busy; busy &= busy - 1) {
        int c = __builtin_ctz(busy);
        /* A racy read: a task struct stays mapped, and the request is
         * checked again under that core's lock. */
        const struct task *cur = __atomic_load_n(&runqueues[c].current, __ATOMIC_RELAXED);
        if (!(cur->flags & TASK_F_IDLE) && migrate_watched(&runqueues[c], cur) && sched_affinity_allows(cur->affinity, to))
            movable |= 1u << c;
    }
    if (!movable)
        return -1;
    struct sched_core_view v[PLAT_MAX_CPUS];
    sched_core_views(v, movable);
    return sched_policy_pull_running(sched_core_model(), v, to);
}

/* Under rq->lock: ask rq's running task t to move to core to. */
static void request_locked(struct runqueue *rq, struct task *t, int to)
{
    rq->move_task = t;
    rq->move_to = to;
    rq->need_resched = true;
    atomic_fetch_add_explicit(&n_requested, 1, memory_order_relaxed);
}

void migrate_tick(struct runqueue *rq, struct task *cur, uint64_t now)
{
    sched_util_refresh_current(rq, now);
    uint32_t idle = sched_idle_cores() & rq->watch_cpus & smp_online_mask();
    if (cur->affinity)
        idle &= cur->affinity;
    for (; idle; idle &= idle - 1) {
        int to = __builtin_ctz(idle);
        if (pull_choice(to) == rq->cpu) {
            request_locked(rq, cur, to);
            return;
        }
    }
}

int migrate_take_slow(struct runqueue *rq, struct task *prev)
{
    struct task *t = rq->move_task;
    int to = rq->move_to;
    rq->move_task = NULL;
    if (t != prev || (prev->flags & TASK_F_DL) || !sched_affinity_allows(prev->affinity, to) ||
        !((sched_idle_cores() & smp_online_mask()) >> to & 1)) {
        atomic_fetch_add_explicit(&n_dropped, 1, memory_order_relaxed);
        return -1;
    }
    /* Its run here counts at this core's capacity. */
    sched_util_refresh_current(rq, arch_counter());
    return to;
}

void migrate_finish(struct task *t, int from, int to)
{
    const struct sched_core_model *m = sched_core_model();
    bool up = m->core[to].capacity > m->core[from].capacity;
    atomic_fetch_add_explicit(up ? &n_up : &n_down, 1, memory_order_relaxed);
    sched_move_in(t, to);
}

void migrate_get_stats(struct migrate_stats *out)
{
    out->requested = atomic_load_explicit(&n_requested, memory_order_relaxed);
    out->up = atomic_load_explicit(&n_up, memory_order_relaxed);
    out->down = atomic_load_explicit(&n_down, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&n_dropped, memory_order_relaxed);
}
