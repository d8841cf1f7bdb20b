/* Placement and stealing decisions (see kernel/sched_policy.h). */
#include <kernel/sched_policy.h>

static inline bool allowed(uint32_t affinity, int cpu)
{
    return affinity == 0 || (cpu < 32 && (affinity & (1u << cpu)));
}

int sched_policy_place(const struct sched_core_view *cores, int ncores, unsigned qos,
                       uint32_t affinity, int this_cpu)
{
    (void)qos;
    int best = -1;
    uint32_t best_load = UINT32_MAX;
    for (int c = 0; c < ncores; c++) {
        if (!cores[c].online || !allowed(affinity, c))
            continue;
        uint32_t load = cores[c].nr_ready + (cores[c].busy ? 1 : 0);
        if (load < best_load || (load == best_load && c == this_cpu)) {
            best = c;
            best_load = load;
        }
    }
    return best;
}

int sched_policy_victim(const struct sched_core_view *cores, int ncores, int this_cpu)
{
    int victim = -1;
    uint32_t most = 0;
    for (int c = 0; c < ncores; c++) {
        if (c == this_cpu || !cores[c].online)
            continue;
        if (cores[c].nr_ready > most) {
            most = cores[c].nr_ready;
            victim = c;
        }
    }
    return victim;
}
