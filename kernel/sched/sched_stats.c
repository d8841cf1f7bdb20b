/* Per-core busy/idle/class time and the energy estimate built from it. */
#include <kernel/platform.h>
#include <kernel/sched.h>
#include <kernel/sched_policy.h>
#include "sched_internal.h"
#include "sched_rq.h"

void sched_cpu_stats(int cpu, struct sched_cpu_stats *out)
{
    struct runqueue *rq = &runqueues[cpu];
    uint64_t flags = spin_lock_irqsave(&rq->lock);
    uint64_t now = now_ticks();
    uint64_t idle = rq->idle->cpu_ticks;
    if (rq->current == rq->idle)
        idle += now - rq->run_start;
    out->busy_ns = arch_ticks_to_ns(now - rq->started - idle);
    out->idle_ns = arch_ticks_to_ns(idle);
    out->switches = rq->switches;
    uint64_t since = atomic_load_explicit(&rq->wfi_since, memory_order_relaxed);
    out->wfi_ns = arch_ticks_to_ns(rq->wfi_ticks + (since && since < now ? now - since : 0));
    for (int q = 0; q < QOS_COUNT; q++) {
        uint64_t ticks = rq->class_ticks[q];
        if (rq->run_class == (unsigned)q)
            ticks += now - rq->class_since;
        out->class_busy_ns[q] = arch_ticks_to_ns(ticks);
    }
    out->nr_ready = rq->nr_ready;
    spin_unlock_irqrestore(&rq->lock, flags);
}

void sched_energy(struct sched_energy_report *out)
{
    *out = (struct sched_energy_report){0};
    for (int c = 0; c < platform.ncpus; c++) {
        struct sched_cpu_stats st;
        sched_cpu_stats(c, &st);
        uint64_t mw = sched_model.core[c].power_mw;
        for (int q = 0; q < QOS_COUNT; q++) {
            out->core_busy_ns[c] += st.class_busy_ns[q];
            out->class_busy_ns[q] += st.class_busy_ns[q];
            out->class_pj[q] += st.class_busy_ns[q] * mw;
        }
        out->core_pj[c] = out->core_busy_ns[c] * mw;
        out->total_pj += out->core_pj[c];
    }
}
