/*
 * The policies the simulator compares.
 *   sr         SR's policy: every decision is a call into kernel/sched/policy*.c
 *              (placement, preemption, class choice with starvation bounds,
 *              stealing, misfit/down migration, deadline EDF), with QoS
 *              inheritance and the app model.
 *   fifo       QoS-blind: one global FIFO queue, round robin by slice, no
 *              preemption.
 *   qos_pinned user-interactive/initiated only on the largest cores,
 *              background only on the smallest, the rest anywhere (idle core
 *              first, else least queued, lowest id); strict class priority
 *              with preemption; idle cores steal what they may run.
 *   eas_like   no QoS: CFS-like fairness (least virtual runtime first, waking
 *              sleepers credited up to 3 ms, wake-up preemption beyond 1 ms),
 *              placement by utilisation fit then the least energy the
 *              placement adds at the OPP it causes (EAS compute_energy),
 *              misfit up-migration and stealing by idle cores.
 */
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

/* --- shared -------------------------------------------------------------------------- */

static struct sim_task *take_min_seq(struct sim *s, struct sim_core *c, int qos)
{
    struct sim_task *best = NULL;
    struct sim_task *head = s->pol->global_queue ? s->global_q : c->qhead;
    for (struct sim_task *t = head; t; t = t->qnext) {
        if (qos >= 0 && sim_eff_qos(s, t) != qos)
            continue;
        if (!best || t->seq < best->seq)
            best = t;
    }
    if (best)
        sim_queue_remove(s, c, best);
    return best;
}

/* --- sr: the image's policy --------------------------------------------------------------- */

static int sr_place(struct sim *s, struct sim_task *t)
{
    struct sched_core_view v[PLAT_MAX_CPUS];
    sim_views(s, v);
    struct sched_task_view tv = {
        .qos = sim_eff_qos(s, t),
        .util = t->util.avg,
        .affinity = t->dl ? 1u << t->dl_cpu : 0,
        .prev_cpu = t->last_cpu,
    };
    return sched_policy_place(s->m, v, &tv, t->last_cpu >= 0 ? t->last_cpu : 0);
}

static struct sched_prio sr_prio(const struct sim *s, const struct sim_task *t)
{
    return (struct sched_prio){sim_eff_qos(s, t), t->dl && !t->dls.demoted, t->dls.deadline_ns};
}

static bool sr_preempts(struct sim *s, struct sim_task *t, struct sim_core *c)
{
    struct sched_prio w = sr_prio(s, t), cur = sr_prio(s, c->cur);
    return sched_policy_preempts(&w, &cur);
}

static struct sim_task *sr_pick(struct sim *s, struct sim_core *c)
{
    struct sim_task *dl = NULL;
    uint32_t mask = 0;
    uint64_t oldest[QOS_COUNT];
    for (int q = 0; q < QOS_COUNT; q++)
        oldest[q] = UINT64_MAX;
    for (struct sim_task *t = c->qhead; t; t = t->qnext) {
        if (t->dl && !t->dls.demoted) {
            if (!dl || t->dls.deadline_ns < dl->dls.deadline_ns)
                dl = t;
            continue;
        }
        uint8_t q = sim_eff_qos(s, t);
        mask |= 1u << q;
        if (t->enqueued < oldest[q])
            oldest[q] = t->enqueued;
    }
    if (dl) {
        sim_queue_remove(s, c, dl);
        return dl;
    }
    /* A class's clock starts at the later of its oldest wait and its last run. */
    for (int q = 0; q < QOS_COUNT; q++) {
        if (oldest[q] != UINT64_MAX && c->served[q] > oldest[q])
            oldest[q] = c->served[q];
    }
    int q = sched_policy_pick_class(mask, oldest, s->now);
    if (q < 0)
        return NULL;
    c->served[q] = s->now;
    return take_min_seq(s, c, q);
}

static void sr_balance(struct sim *s, struct sim_core *c)
{
    struct sched_core_view v[PLAT_MAX_CPUS];
    sim_views(s, v);
    struct sched_steal st = sched_policy_steal(s->m, v, c->id);
    if (st.victim >= 0) {
        struct sim_core *vc = &s->core[st.victim];
        struct sim_task *best = NULL;
        for (struct sim_task *t = vc->qhead; t; t = t->qnext) {
            if (sim_eff_qos(s, t) == st.qos && sim_allowed(t, c->id) &&
                (!best || t->seq < best->seq))
                best = t;
        }
        if (best) {
            sim_migrate(s, best, c);
            return;
        }
    }
    int from = sched_policy_pull_running(s->m, v, c->id);
    if (from >= 0 && sim_allowed(s->core[from].cur, c->id))
        sim_migrate(s, s->core[from].cur, c);
}

/* --- fifo ----------------------------------------------------------------------------------- */

static int fifo_place(struct sim *s, struct sim_task *t)
{
    (void)s;
    (void)t;
    return -1;
}

static bool never(struct sim *s, struct sim_task *t, struct sim_core *c)
{
    (void)s;
    (void)t;
    (void)c;
    return false;
}

static struct sim_task *fifo_pick(struct sim *s, struct sim_core *c)
{
    return take_min_seq(s, c, -1);
}

static void no_balance(struct sim *s, struct sim_core *c)
{
    (void)s;
    (void)c;
}

/* --- qos_pinned ---------------------------------------------------------------------------- */

static bool pinned_allows(const struct sim *s, uint8_t qos, int cpu)
{
    int level = s->m->core[cpu].level, low = s->m->nlevels - 1;
    if (qos <= QOS_USER_INITIATED)
        return level == 0;
    if (qos == QOS_BACKGROUND)
        return level == low;
    return true;
}

static int pinned_place(struct sim *s, struct sim_task *t)
{
    uint8_t q = sim_eff_qos(s, t);
    int best = -1, best_cost = 0;
    for (int i = 0; i < s->ncores; i++) {
        if (!pinned_allows(s, q, i))
            continue;
        struct sim_core *c = &s->core[i];
        int cost;
        if (!c->cur && !c->nready)
            cost = 0;
        else if (c->cur && sim_eff_qos(s, c->cur) > q)
            cost = 1 + c->nready;
        else
            cost = 1000 + c->nready;
        if (best < 0 || cost < best_cost || (cost == best_cost && i == t->last_cpu)) {
            best = i;
            best_cost = cost;
        }
    }
    return best;
}

static bool pinned_preempts(struct sim *s, struct sim_task *t, struct sim_core *c)
{
    return sim_eff_qos(s, t) < sim_eff_qos(s, c->cur);
}

static struct sim_task *pinned_pick(struct sim *s, struct sim_core *c)
{
    int best = QOS_COUNT;
    for (struct sim_task *t = c->qhead; t; t = t->qnext) {
        if (sim_eff_qos(s, t) < best)
            best = sim_eff_qos(s, t);
    }
    return best < QOS_COUNT ? take_min_seq(s, c, best) : NULL;
}

static void pinned_balance(struct sim *s, struct sim_core *c)
{
    struct sim_task *best = NULL;
    for (int i = 0; i < s->ncores; i++) {
        if (i == c->id)
            continue;
        for (struct sim_task *t = s->core[i].qhead; t; t = t->qnext) {
            uint8_t q = sim_eff_qos(s, t);
            if (!pinned_allows(s, q, c->id))
                continue;
            if (!best || q < sim_eff_qos(s, best) ||
                (q == sim_eff_qos(s, best) && t->seq < best->seq))
                best = t;
        }
    }
    if (best)
        sim_migrate(s, best, c);
}

/* --- eas_like ----------------------------------------------------------------------------- */

#define EAS_SLEEPER_CREDIT  (3 * MS)
#define EAS_WAKEUP_GRAN     (1 * MS)

static uint64_t min_vruntime(struct sim *s)
{
    uint64_t min = UINT64_MAX;
    for (int i = 0; i < s->ncores; i++) {
        struct sim_core *c = &s->core[i];
        if (c->cur && c->cur->vruntime < min)
            min = c->cur->vruntime;
        for (struct sim_task *t = c->qhead; t; t = t->qnext) {
            if (t->vruntime < min)
                min = t->vruntime;
        }
    }
    return min;
}

static int eas_place(struct sim *s, struct sim_task *t)
{
    uint64_t mv = min_vruntime(s);
    if (mv != UINT64_MAX && mv > EAS_SLEEPER_CREDIT && t->vruntime < mv - EAS_SLEEPER_CREDIT)
        t->vruntime = mv - EAS_SLEEPER_CREDIT;
    struct sched_core_view v[PLAT_MAX_CPUS];
    sim_views(s, v);
    int best = -1, spare_best = -1;
    uint64_t best_e = 0;
    int64_t most_spare = INT64_MIN;
    struct sched_task_view tv = {.qos = QOS_DEFAULT, .util = t->util.avg, .prev_cpu = t->last_cpu};
    uint32_t util[PLAT_MAX_CPUS];
    for (int i = 0; i < s->ncores; i++)
        util[i] = sched_view_util(&v[i], QOS_COUNT - 1);   /* no classes: all of it */
    for (int i = 0; i < s->ncores; i++) {
        const struct sched_core_info *ci = &s->m->core[i];
        int64_t spare = (int64_t)ci->capacity - (int64_t)(util[i] + t->util.avg);
        if (spare > most_spare) {
            most_spare = spare;
            spare_best = i;
        }
        if (!sched_util_fits(util[i] + t->util.avg, ci->capacity))
            continue;
        /* EAS: the energy this placement adds at the OPP it causes; ties
         * (no utilisation yet) to energy per work, then the least loaded. */
        uint64_t e = sched_energy_place_cost(s->m, v, i, &tv, false);
        if (best < 0 || e < best_e ||
            (e == best_e && (ci->epw < s->m->core[best].epw ||
                             (ci->epw == s->m->core[best].epw &&
                              (util[i] < util[best] ||
                               (util[i] == util[best] && i == t->last_cpu)))))) {
            best = i;
            best_e = e;
        }
    }
    return best >= 0 ? best : spare_best;
}

static bool eas_preempts(struct sim *s, struct sim_task *t, struct sim_core *c)
{
    (void)s;
    return t->vruntime + EAS_WAKEUP_GRAN < c->cur->vruntime;
}

static struct sim_task *eas_pick(struct sim *s, struct sim_core *c)
{
    struct sim_task *best = NULL;
    for (struct sim_task *t = c->qhead; t; t = t->qnext) {
        if (!best || t->vruntime < best->vruntime ||
            (t->vruntime == best->vruntime && t->seq < best->seq))
            best = t;
    }
    if (best)
        sim_queue_remove(s, c, best);
    return best;
}

static void eas_balance(struct sim *s, struct sim_core *c)
{
    struct sched_core_view v[PLAT_MAX_CPUS];
    sim_views(s, v);
    uint32_t my_cap = s->m->core[c->id].capacity;
    /* Misfit: a running task that does not fit its smaller core. */
    for (int i = 0; i < s->ncores; i++) {
        struct sim_core *o = &s->core[i];
        if (o->cur && s->m->core[i].capacity < my_cap &&
            !sched_util_fits(o->cur->util.avg, s->m->core[i].capacity)) {
            sim_migrate(s, o->cur, c);
            return;
        }
    }
    int victim = -1;
    for (int i = 0; i < s->ncores; i++) {
        if (i != c->id && s->core[i].nready > 0 &&
            (victim < 0 || s->core[i].nready > s->core[victim].nready))
            victim = i;
    }
    if (victim >= 0) {
        struct sim_task *t = eas_pick(s, &s->core[victim]);
        sim_queue_add(s, c, t);
        c->resched = true;
    }
}

/* --- table ---------------------------------------------------------------------------------- */

/* Every policy runs under the same governor (sim_engine.c: govern); only sr
 * gives it class clamps, the baselines have no notion of them. */
static const struct sim_policy policies[] = {
    {"sr", true, true, false, true, sr_place, sr_preempts, sr_pick, sr_balance},
    {"fifo", false, false, true, false, fifo_place, never, fifo_pick, no_balance},
    {"qos_pinned", false, false, false, false, pinned_place, pinned_preempts, pinned_pick,
     pinned_balance},
    {"eas_like", false, false, false, false, eas_place, eas_preempts, eas_pick, eas_balance},
};

const char *const sim_policy_names[] = {"sr", "fifo", "qos_pinned", "eas_like"};
const int sim_policy_count = 4;

const struct sim_policy *sim_policy_find(const char *name)
{
    for (unsigned i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        if (strcmp(policies[i].name, name) == 0)
            return &policies[i];
    }
    return NULL;
}
