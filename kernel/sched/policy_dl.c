/* Deadline class: admission, budget and misses (see kernel/sched_policy.h). */
#include <kernel/sched_policy.h>

const char *sched_dl_strerror(int err)
{
    switch (err) {
    case SCHED_DL_OK:
        return "ok";
    case SCHED_DL_EINVAL:
        return "deadline parameters invalid: need 0 < budget <= deadline <= period";
    case SCHED_DL_EOVERLOAD:
        return "deadline overload: no allowed core has that bandwidth left";
    }
    return "unknown deadline error";
}

static uint64_t rel_deadline(const struct sched_dl_params *p)
{
    return p->deadline_ns ? p->deadline_ns : p->period_ns;
}

static bool valid(const struct sched_dl_params *p)
{
    uint64_t d = rel_deadline(p);
    return p->period_ns && p->budget_ns && p->budget_ns <= d && d <= p->period_ns;
}

/* Density on a core of this capacity, in 1/2^20 (rounded up); capped above
 * one core so that it never overflows. */
static uint32_t density(const struct sched_dl_params *p, uint32_t capacity)
{
    unsigned __int128 num = (unsigned __int128)p->budget_ns * SCHED_CAPACITY_MAX * SCHED_DL_BW_ONE;
    unsigned __int128 den = (unsigned __int128)rel_deadline(p) * capacity;
    unsigned __int128 d = (num + den - 1) / den;
    return d > 2 * (uint64_t)SCHED_DL_BW_ONE ? 2 * SCHED_DL_BW_ONE : (uint32_t)d;
}

static const uint32_t bw_limit = (uint32_t)((uint64_t)SCHED_DL_BW_ONE * SCHED_DL_MAX_BW_PCT / 100);

int sched_dl_admit(const struct sched_core_model *m, struct sched_dl_bw *bw,
                   const struct sched_dl_params *p, uint32_t affinity, uint32_t online)
{
    if (!valid(p))
        return SCHED_DL_EINVAL;
    int best = -1;
    for (int c = 0; c < m->ncores && c < 32; c++) {
        if (!(online & (1u << c)) || !sched_affinity_allows(affinity, c))
            continue;
        uint32_t need = density(p, m->core[c].capacity);
        if (bw->used[c] + need > bw_limit)
            continue;
        if (best < 0 || m->core[c].epw < m->core[best].epw ||
            (m->core[c].epw == m->core[best].epw && bw->used[c] < bw->used[best]))
            best = c;
    }
    if (best < 0)
        return SCHED_DL_EOVERLOAD;
    bw->used[best] += density(p, m->core[best].capacity);
    return best;
}

void sched_dl_release_bw(const struct sched_core_model *m, struct sched_dl_bw *bw,
                         const struct sched_dl_params *p, int cpu)
{
    uint32_t d = density(p, m->core[cpu].capacity);
    bw->used[cpu] = bw->used[cpu] > d ? bw->used[cpu] - d : 0;
}

void sched_dl_new_period(struct sched_dl_task *s, const struct sched_dl_params *p,
                         uint64_t release_ns)
{
    s->release_ns = release_ns;
    s->deadline_ns = release_ns + rel_deadline(p);
    s->used = 0;
    s->demoted = false;
}

bool sched_dl_charge(struct sched_dl_task *s, const struct sched_dl_params *p,
                     uint64_t ran_ns, uint32_t capacity)
{
    s->used += ran_ns * capacity / SCHED_CAPACITY_MAX;
    if (s->demoted || s->used <= p->budget_ns)
        return false;
    s->demoted = true;
    s->overruns++;
    return true;
}

bool sched_dl_complete(struct sched_dl_task *s, uint64_t now)
{
    if (now <= s->deadline_ns)
        return true;
    s->misses++;
    return false;
}
