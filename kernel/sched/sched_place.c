/*
 * Placement and utilisation: the core model the policy decides with, the
 * racy per-core views it reads, where a task runs (sched_place), and each
 * task's decaying utilisation, brought up to date where placement needs it.
 */
#include <kernel/clock.h>
#include <kernel/platform.h>
#include <kernel/sched.h>
#include <kernel/sched_policy.h>
#include <kernel/smp.h>
#include "sched_internal.h"
#include "sched_rq.h"

/* The policy's core model (capacities, power, levels), built at boot. */
struct sched_core_model sched_model;

const struct sched_core_model *sched_core_model(void) { return &sched_model; }

/* Views of the cores in mask (online ones); every other core is shown
 * offline, which the policy skips: callers pass the cores a decision can
 * involve (the task's allowed cores, the cores with waiting tasks), so the
 * view costs what those cores cost, not the whole SoC. */
void sched_core_views(struct sched_core_view *v, uint32_t mask)
{
    uint32_t online = smp_online_mask();
    for (int c = 0; c < platform.ncpus; c++) {
        if ((mask >> c) & 1)
            core_view_one(&v[c], c, online);
        else
            v[c].online = false;
    }
}

/* Where t should run (new: prev_cpu -1), by sched_policy_place. Shortcuts
 * that agree with it: a task allowed on one core goes there; on uniform
 * cores an idle allowed core (this one first) is where it runs at once
 * with the least energy. The full view is built otherwise. */
int sched_place(const struct task *t, int prev_cpu, int this_cpu)
{
    uint32_t allowed = smp_online_mask();
    if (t->affinity)
        allowed &= t->affinity;
    if (!allowed)
        return prev_cpu >= 0 ? prev_cpu : this_cpu;
    if (!(allowed & (allowed - 1)))
        return __builtin_ctz(allowed);
    if (sched_model.nlevels <= 1) {
        uint32_t idle = sched_idle_cores() & allowed;
        if (prev_cpu >= 0 && (idle & (1u << prev_cpu)))
            return prev_cpu;
        if (idle & (1u << this_cpu))
            return this_cpu;
        /* A core stays marked idle until it switches to what it was given:
         * prefer one with nothing queued yet, so a burst of spawns spreads
         * over the idle cores instead of piling onto the first. */
        for (uint32_t m = idle; m; m &= m - 1) {
            int c = __builtin_ctz(m);
            if (!__atomic_load_n(&runqueues[c].nr_ready, __ATOMIC_RELAXED))
                return c;
        }
        if (idle)
            return __builtin_ctz(idle);
    }
    struct sched_core_view v[PLAT_MAX_CPUS];
    sched_core_views(v, allowed);
    struct sched_task_view tv = {.qos = t->qos, .util = util_of(t), .affinity = t->affinity,
                                 .prev_cpu = prev_cpu};
    int cpu = sched_policy_place(&sched_model, v, &tv, this_cpu);
    if (cpu < 0)
        return prev_cpu >= 0 ? prev_cpu : this_cpu;
    return cpu;
}

/* Bring t's utilisation up to now: since its last update it ran for
 * cpu_ticks minus what was counted then, on its core's capacity, and waited
 * the rest; running (it is current) the run comes last, else first. */
static void util_advance(struct task *t, uint64_t cpu_ticks, bool running)
{
    struct task_ext *x = task_ext(t);
    uint64_t now = clock_ns();
    uint64_t ran = arch_ticks_to_ns(cpu_ticks - x->util_ticks);
    x->util_ticks = cpu_ticks;
    if (x->util.stamp_ns & TASK_UTIL_STAMP_TICKS)   /* first update: the spawn's counter */
        x->util.stamp_ns = arch_ticks_to_ns(x->util.stamp_ns & ~TASK_UTIL_STAMP_TICKS);
    uint64_t since = x->util.stamp_ns;
    if (ran > now - since)
        ran = now - since;
    uint32_t cap = sched_model.core[t->cpu].capacity;
    if (running) {
        sched_util_update(&x->util, now - ran, 0);
        sched_util_update(&x->util, now, cap);
    } else {
        sched_util_update(&x->util, since + ran, cap);
        sched_util_update(&x->util, now, 0);
    }
    t->util = x->util.avg;
}

/* Bounds for sched_util_refresh's shortcut (sched_init): the smallest capacity,
 * and the run time (ticks) that can raise a utilisation by at most 1: it
 * moves towards at most 1024 at a rate of at most 1024 ln 2 / half-life per
 * ns (0.7 > ln 2 keeps the bound safe). */
static uint32_t min_capacity;
static uint64_t util_unit_ticks;

/* t not running: called where placement needs it (wake-up), not on every
 * switch. Interactive placement reads the utilisation only as "fits the
 * core" (sched_policy_place); when even an upper bound of it (the last
 * value plus the most its run time since could add) fits the smallest
 * core, the refresh cannot change the choice and is left to a later one,
 * which counts that run time. */
void sched_util_refresh(struct task *t)
{
    if (t->qos <= QOS_USER_INITIATED) {
        uint64_t ran = t->cpu_ticks - task_ext(t)->util_ticks;
        uint64_t most = t->util + ran / util_unit_ticks + 2;   /* +2: rounding */
        if (most <= SCHED_CAPACITY_MAX && sched_util_fits((uint32_t)most, min_capacity))
            return;
    }
    util_advance(t, t->cpu_ticks, false);
}

void sched_util_refresh_current(struct runqueue *rq, uint64_t now)
{
    struct task *t = rq->current;
    util_advance(t, t->cpu_ticks + (now - rq->run_start), true);
}

void sched_place_init(void)
{
    sched_core_model_build(platform.cpus, platform.ncpus, NULL, &sched_model);
    sched_core_model_fixed_frequency(&sched_model);   /* no cpufreq: every core at its top OPP */
    min_capacity = SCHED_CAPACITY_MAX;
    for (int c = 0; c < sched_model.ncores; c++)
        if (sched_model.core[c].capacity < min_capacity)
            min_capacity = sched_model.core[c].capacity;
    util_unit_ticks = arch_ns_to_ticks(SCHED_UTIL_HALFLIFE_NS * 10 / (SCHED_CAPACITY_MAX * 7));
    if (!util_unit_ticks)
        util_unit_ticks = 1;
}
