/* Placement, preemption, class choice and stealing (see kernel/sched_policy.h). */
#include <kernel/sched_policy.h>

static const uint64_t starvation_ms[QOS_COUNT] = {0, 10, 20, 50, 100};

uint64_t sched_policy_starvation_bound(unsigned qos)
{
    return qos < QOS_COUNT ? starvation_ms[qos] * 1000 * 1000 : 0;
}

static inline bool idle(const struct sched_core_view *c)
{
    return c->cur_qos >= QOS_COUNT && c->nr_ready == 0;
}

/* The task starts at once there: the core is idle, or runs a lower class
 * (not a deadline task) and nothing of the task's class or higher waits. */
static bool runs_at_once(const struct sched_core_view *c, unsigned qos)
{
    if (idle(c))
        return true;
    uint32_t same_or_higher = (2u << qos) - 1;
    return !c->cur_dl && c->cur_qos > qos && !(c->ready_mask & same_or_higher);
}

static int lowest_level(const struct sched_core_model *m)
{
    return m->nlevels > 0 ? m->nlevels - 1 : 0;
}

/* Background may use a core above the lowest level only when every allowed
 * online lowest-level core has SCHED_BG_SPILL_QUEUE tasks waiting. */
static bool efficiency_saturated(const struct sched_core_model *m,
                                 const struct sched_core_view *v, uint32_t affinity)
{
    int low = lowest_level(m);
    for (int c = 0; c < m->ncores; c++) {
        if (v[c].online && sched_affinity_allows(affinity, c) && m->core[c].level == low &&
            v[c].nr_ready < SCHED_BG_SPILL_QUEUE)
            return false;
    }
    return true;
}

/*
 * A lexicographic cost per candidate core, packed into one integer (most
 * significant first); the smallest wins, ties to the task's previous core,
 * then the caller's core, then the lowest id.
 *   interactive (UI, UIN): at once, fits, level (largest first), idle, queue
 *   others:                at once, fits (with the core's load), the power
 *                          the placement adds at the OPP it causes
 *                          (sched_energy_place_cost), queue
 * Fields: bit 63 waits, bit 62 does not fit; then level (8 bits) and the
 * idle/queue term (54 bits), or the added power in uW (30 bits, saturated)
 * and the queue length (32 bits).
 */
static uint64_t cost_of(const struct sched_core_model *m, const struct sched_core_view *v,
                        int cpu, const struct sched_task_view *t)
{
    const struct sched_core_info *ci = &m->core[cpu];
    const struct sched_core_view *c = &v[cpu];
    uint64_t k = runs_at_once(c, t->qos) ? 0 : 1ull << 63;
    if (t->qos <= QOS_USER_INITIATED) {
        if (!sched_util_fits(t->util, ci->capacity))
            k |= 1ull << 62;
        uint64_t queue = (idle(c) ? 0 : 1) + (uint64_t)c->nr_ready * 2;   /* < 2^34 */
        return k | (uint64_t)ci->level << 54 | queue;
    }
    if (!sched_util_fits(sched_view_util(c, t->qos) + t->util, ci->capacity))
        k |= 1ull << 62;
    uint64_t power = sched_energy_place_cost(m, v, cpu, t, true);
    if (power > (1u << 30) - 1)
        power = (1u << 30) - 1;
    return k | power << 32 | c->nr_ready;
}

int sched_policy_place(const struct sched_core_model *m, const struct sched_core_view *v,
                       const struct sched_task_view *t, int this_cpu)
{
    bool bg_confined = t->qos == QOS_BACKGROUND && m->nlevels > 1 &&
                       !efficiency_saturated(m, v, t->affinity);
    int low = lowest_level(m);
    int best = -1;
    uint64_t best_cost = 0;
    /* The allowed cores (PLAT_MAX_CPUS is 32: a mask holds them all). */
    uint32_t cand = t->affinity ? t->affinity : ~0u;
    if (m->ncores < 32)
        cand &= (1u << m->ncores) - 1;
    for (; cand; cand &= cand - 1) {
        int c = __builtin_ctz(cand);
        if (!v[c].online)
            continue;
        if (bg_confined && m->core[c].level != low)
            continue;
        uint64_t k = cost_of(m, v, c, t);
        bool tie_wins = best >= 0 && k == best_cost && best != t->prev_cpu &&
                        (c == t->prev_cpu || (c == this_cpu && best != this_cpu));
        if (best < 0 || k < best_cost || tie_wins) {
            best = c;
            best_cost = k;
        }
    }
    return best;
}

bool sched_policy_preempts(const struct sched_prio *waking, const struct sched_prio *cur)
{
    if (waking->dl != cur->dl)
        return waking->dl;
    if (waking->dl)
        return waking->deadline < cur->deadline;
    return waking->qos < cur->qos;
}

int sched_policy_pick_class(uint32_t ready_mask, const uint64_t oldest_since[QOS_COUNT],
                            uint64_t now)
{
    ready_mask &= (1u << QOS_COUNT) - 1;
    if (!ready_mask)
        return -1;
    int top = __builtin_ctz(ready_mask);
    for (int q = top + 1; q < QOS_COUNT; q++) {
        uint64_t bound = sched_policy_starvation_bound((unsigned)q);
        if ((ready_mask & (1u << q)) && bound && now > oldest_since[q] &&
            now - oldest_since[q] > bound)
            return q;  /* the highest overdue class */
    }
    return top;
}

/* Classes an idle core may take from victim (see the header). */
static uint32_t stealable(const struct sched_core_model *m, const struct sched_core_view *v,
                          int me, int victim)
{
    uint32_t all = (1u << QOS_COUNT) - 1;
    if (m->nlevels <= 1 || m->core[me].level != 0)
        return all;
    uint32_t mask = all & ~(1u << QOS_BACKGROUND);
    if (m->core[victim].level == lowest_level(m) && v[victim].nr_ready >= SCHED_BG_SPILL_QUEUE)
        mask |= 1u << QOS_BACKGROUND;
    return mask;
}

struct sched_steal sched_policy_steal(const struct sched_core_model *m,
                                      const struct sched_core_view *v, int this_cpu)
{
    struct sched_steal s = {-1, -1};
    uint32_t most = 0;
    for (int c = 0; c < m->ncores; c++) {
        /* Classes above the one running there are about to preempt it, and
         * the first task queued on an idle core is about to run: they start
         * at once where they are, so they are not taken. */
        if (c == this_cpu || !sched_view_may_steal_from(&v[c]))
            continue;
        uint32_t take = v[c].ready_mask & ~sched_view_pending(&v[c]) &
                        stealable(m, v, this_cpu, c);
        if (!take)
            continue;
        int q = __builtin_ctz(take);
        if (s.victim < 0 || q < s.qos || (q == s.qos && v[c].nr_ready > most)) {
            s.victim = c;
            s.qos = q;
            most = v[c].nr_ready;
        }
    }
    return s;
}

int sched_policy_pull_running(const struct sched_core_model *m,
                              const struct sched_core_view *v, int this_cpu)
{
    uint32_t my_cap = m->core[this_cpu].capacity;
    int best = -1;
    unsigned best_qos = QOS_COUNT;
    for (int c = 0; c < m->ncores; c++) {
        const struct sched_core_view *o = &v[c];
        if (c == this_cpu || !o->online || o->cur_qos >= QOS_COUNT || o->cur_dl)
            continue;
        uint32_t cap = m->core[c].capacity;
        bool up = cap < my_cap && o->cur_qos <= QOS_DEFAULT &&
                  !sched_util_fits(o->cur_util, cap);
        bool down = cap > my_cap && o->cur_qos >= QOS_UTILITY;
        if ((up || down) && o->cur_qos < best_qos) {
            best = c;
            best_qos = o->cur_qos;
        }
    }
    return best;
}
