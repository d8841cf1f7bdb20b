/* Operating points, the governor and estimated energy (see kernel/sched_policy.h). */
#include <kernel/sched_policy.h>

static bool opp_fits(const struct sched_opp *o, uint32_t need)
{
    return sched_util_fits(need, o->capacity);
}

int sched_energy_opp_for(const struct sched_core_info *c, uint32_t need)
{
    int top = c->nopps > 0 ? c->nopps - 1 : 0;
    for (int k = 0; k < top; k++) {
        if (opp_fits(&c->opp[k], need))
            return k;
    }
    return top;
}

int sched_energy_domain_opp(const struct sched_core_model *m, int d, const uint32_t *need)
{
    uint32_t most = 0;
    for (int c = 0; c < m->ncores; c++) {
        if (m->core[c].domain == d && need[c] > most)
            most = need[c];
    }
    return d < m->ncores ? sched_energy_opp_for(&m->core[d], most) : 0;
}

uint64_t sched_energy_domain_power(const struct sched_core_model *m, int d, const uint32_t *util,
                                   const uint32_t *need)
{
    int k = sched_energy_domain_opp(m, d, need);
    uint64_t uw = 0;
    for (int c = 0; c < m->ncores; c++) {
        if (m->core[c].domain != d)
            continue;
        const struct sched_opp *o = &m->core[c].opp[k];
        uw += (uint64_t)o->power_uw * util[c] / o->capacity;
    }
    return uw;
}

/* The largest need OPP k still fits (need x 1.25 <= capacity). */
static uint32_t opp_need(const struct sched_core_info *c, int k)
{
    uint32_t need = (uint32_t)((uint64_t)c->opp[k].capacity * 1024 / 1280);
    return need ? need : 1;
}

static uint32_t efficient_need(const struct sched_core_info *c)
{
    return opp_need(c, c->efficient);
}

struct sched_clamp sched_energy_clamp(const struct sched_core_info *c, unsigned qos, bool dl)
{
    struct sched_clamp k = {0, SCHED_CAPACITY_MAX};
    if (dl) {
        k.floor = SCHED_CAPACITY_MAX;
    } else if (qos == QOS_USER_INTERACTIVE) {
        uint32_t speed = SCHED_UI_MIN_CAPACITY * 1024 / 1280, efficient = efficient_need(c);
        k.floor = speed > efficient ? speed : efficient;
    } else if (qos == QOS_BACKGROUND) {
        k.ceiling = efficient_need(c);
    } else if (qos >= QOS_DEFAULT && c->frugal < c->nopps - 1) {
        k.ceiling = opp_need(c, c->frugal);
    }
    return k;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

uint64_t sched_energy_place_cost(const struct sched_core_model *m,
                                 const struct sched_core_view *v, int cpu,
                                 const struct sched_task_view *t, bool clamps)
{
    const struct sched_core_info *ci = &m->core[cpu];
    uint32_t tu = t->util ? t->util : 1;   /* a new task: the least work, not none */
    if (ci->nopps < 2)   /* one frequency (the image): the task's own work at it */
        return (uint64_t)ci->opp[0].power_uw * tu / ci->opp[0].capacity;
    int d = ci->domain;
    uint32_t util[PLAT_MAX_CPUS], need[PLAT_MAX_CPUS];
    for (int c = 0; c < m->ncores; c++) {
        util[c] = need[c] = 0;
        if (m->core[c].domain != d || !v[c].online)
            continue;
        util[c] = sched_view_util(&v[c], QOS_COUNT - 1);
        need[c] = sched_energy_need(util[c], v[c].clamp_floor, v[c].clamp_ceiling);
    }
    uint64_t before = sched_energy_domain_power(m, d, util, need);
    const struct sched_core_view *here = &v[cpu];
    uint32_t floor = here->clamp_floor, ceiling = here->clamp_ceiling;
    if (clamps) {
        struct sched_clamp k = sched_energy_clamp(&m->core[cpu], t->qos, false);
        floor = max_u32(floor, k.floor);
        ceiling = max_u32(ceiling, k.ceiling);   /* the view's is 0 when idle */
    }
    util[cpu] += tu;
    need[cpu] = sched_energy_need(util[cpu], floor, ceiling);
    uint64_t after = sched_energy_domain_power(m, d, util, need);
    return after > before ? after - before : 0;
}
