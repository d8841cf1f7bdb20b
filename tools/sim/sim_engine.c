/*
 * The discrete-event engine: time jumps to the next completion, slice end,
 * release, spawn or app event; at each stop the finished work advances its
 * program, new work is placed by the policy, and cores reschedule. Idle cores
 * balance after every stop (a model of the "kick an idle core" IPI).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* --- small helpers -------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x ? x : 1;
}

/* Deterministic per (seed, stream, counter): the same task draws the same
 * work under every policy. */
static uint64_t draw(uint64_t seed, uint64_t stream, uint64_t n)
{
    return mix(seed ^ mix(stream * 0x9e3779b97f4a7c15ull + n));
}

static void sample(struct sim_samples *s, uint64_t v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = realloc(s->v, (size_t)s->cap * sizeof(*s->v));
        if (!s->v) {
            fprintf(stderr, "sim: out of memory\n");
            exit(1);
        }
    }
    s->v[s->n++] = v;
}

uint8_t sim_eff_qos(const struct sim *s, const struct sim_task *t)
{
    return s->pol->inherit ? t->q.eff : t->tpl->qos;
}

bool sim_allowed(const struct sim_task *t, int cpu)
{
    return !t->dl || t->dl_cpu == cpu;
}

uint32_t sim_capacity_now(const struct sim *s, int cpu)
{
    return s->m->core[cpu].opp[s->core[cpu].opp].capacity;
}

static uint32_t cap_of(const struct sim *s, int cpu)
{
    return sim_capacity_now(s, cpu);
}

static uint64_t wall_left(const struct sim *s, const struct sim_core *c)
{
    uint64_t cap = cap_of(s, c->id);
    return c->overhead + (c->cur->left * SCHED_CAPACITY_MAX + cap - 1) / cap;
}

/* --- queues ----------------------------------------------------------------------- */

void sim_queue_add(struct sim *s, struct sim_core *c, struct sim_task *t)
{
    t->state = T_READY;
    if (s->pol->global_queue) {
        t->qnext = s->global_q;
        s->global_q = t;
        s->global_n++;
        t->cpu = -1;
        return;
    }
    t->qnext = c->qhead;
    c->qhead = t;
    c->nready++;
    t->cpu = c->id;
}

void sim_queue_remove(struct sim *s, struct sim_core *c, struct sim_task *t)
{
    struct sim_task **pp = s->pol->global_queue ? &s->global_q : &c->qhead;
    for (; *pp; pp = &(*pp)->qnext) {
        if (*pp == t) {
            *pp = t->qnext;
            t->qnext = NULL;
            if (s->pol->global_queue)
                s->global_n--;
            else
                c->nready--;
            return;
        }
    }
    fprintf(stderr, "sim: internal error: task %d not on its queue\n", t->id);
    abort();
}

/* Adds t's class clamps on core i to the view (largest floor and ceiling). */
static void add_clamps(const struct sim *s, int i, const struct sim_task *t,
                       struct sched_core_view *v)
{
    if (!s->pol->clamps)
        return;
    struct sched_clamp k = sched_energy_clamp(&s->m->core[i], sim_eff_qos(s, t),
                                              t->dl && !t->dls.demoted);
    v->clamp_floor = k.floor > v->clamp_floor ? k.floor : v->clamp_floor;
    v->clamp_ceiling = k.ceiling > v->clamp_ceiling ? k.ceiling : v->clamp_ceiling;
}

void sim_views(struct sim *s, struct sched_core_view *v)
{
    for (int i = 0; i < s->ncores; i++) {
        struct sim_core *c = &s->core[i];
        v[i] = (struct sched_core_view){.online = true, .cur_qos = QOS_COUNT};
        if (c->cur) {
            sched_util_update(&c->cur->util, s->now, cap_of(s, i));
            v[i].cur_qos = sim_eff_qos(s, c->cur);
            v[i].cur_dl = c->cur->dl && !c->cur->dls.demoted;
            v[i].cur_util = c->cur->util.avg;
            v[i].util_at[v[i].cur_qos] += c->cur->util.avg;
            add_clamps(s, i, c->cur, &v[i]);
        }
        for (struct sim_task *t = c->qhead; t; t = t->qnext) {
            v[i].ready_mask |= 1u << sim_eff_qos(s, t);
            v[i].nr_ready++;
            v[i].util_at[sim_eff_qos(s, t)] += t->util.avg;
            add_clamps(s, i, t, &v[i]);
        }
    }
}

/* The governor, after every scheduling stop: each frequency domain moves to
 * the OPP its cores' needs choose (sched_energy_domain_opp). A core's
 * utilisation is the larger of its own busy average (which sees short-lived
 * tasks that never build one) and its runnable tasks' sum (which sees a task
 * that just arrived), as Linux's per-CPU signal does; the averages are
 * current (advance), so the change applies from now on. */
static void govern(struct sim *s)
{
    struct sched_core_view v[PLAT_MAX_CPUS];
    uint32_t need[PLAT_MAX_CPUS];
    sim_views(s, v);
    for (int i = 0; i < s->ncores; i++) {
        uint32_t util = sched_view_util(&v[i], QOS_COUNT - 1);
        if (s->core[i].util.avg > util)
            util = s->core[i].util.avg;
        need[i] = sched_energy_need(util, v[i].clamp_floor, v[i].clamp_ceiling);
    }
    for (int d = 0; d < s->ncores; d++) {
        if (s->m->core[d].domain != d)
            continue;
        int k = sched_energy_domain_opp(s->m, d, need);
        for (int i = 0; i < s->ncores; i++) {
            if (s->m->core[i].domain == d)
                s->core[i].opp = k;
        }
    }
}

/* Stop t running on c (it stays runnable or not, the caller decides). */
static void unset_running(struct sim *s, struct sim_core *c)
{
    struct sim_task *t = c->cur;
    sched_util_update(&t->util, s->now, cap_of(s, c->id));
    c->cur = NULL;
    c->overhead = 0;
    c->resched = true;
}

void sim_migrate(struct sim *s, struct sim_task *t, struct sim_core *to)
{
    if (t->state == T_RUNNING) {
        struct sim_core *from = &s->core[t->cpu];
        unset_running(s, from);
    } else {
        sim_queue_remove(s, &s->core[t->cpu], t);
    }
    sim_queue_add(s, to, t);
    to->resched = true;
}

/* t becomes runnable: place it and decide on preemption. */
static void make_ready(struct sim *s, struct sim_task *t, bool latency)
{
    if (latency) {
        t->ready_since = s->now;
        t->latency_pending = true;
    }
    t->enqueued = s->now;
    t->seq = ++s->seq;
    if (s->pol->global_queue) {
        sim_queue_add(s, NULL, t);
        for (int i = 0; i < s->ncores; i++) {
            if (!s->core[i].cur) {
                s->core[i].resched = true;
                break;
            }
        }
        return;
    }
    sched_util_update(&t->util, s->now, 0);
    int cpu = s->pol->place(s, t);
    if (cpu < 0)
        cpu = 0;
    struct sim_core *c = &s->core[cpu];
    sim_queue_add(s, c, t);
    if (!c->cur || s->pol->preempts(s, t, c))
        c->resched = true;
}

/* A task's effective class changed: placement follows it. */
static void qos_changed(struct sim *s, struct sim_task *t)
{
    if (t->state == T_READY && !s->pol->global_queue) {
        sim_queue_remove(s, &s->core[t->cpu], t);
        uint64_t seq = t->seq, enq = t->enqueued;
        make_ready(s, t, false);
        t->seq = seq;
        t->enqueued = enq;
    } else if (t->state == T_RUNNING) {
        s->core[t->cpu].resched = true;
    }
}

/* Placement follows every class in a chain that changed. */
static void refresh_chain(struct sim *s, const uint8_t before[], struct sim_task **chain, int n)
{
    for (int i = 0; i < n; i++) {
        if (chain[i]->q.eff != before[i])
            qos_changed(s, chain[i]);
    }
}

/* Snapshot of a waits-for chain's classes, to see whose changed. */
static int chain_of(struct sim_task *t, struct sim_task **out, uint8_t *eff, int max)
{
    int n = 0;
    for (struct sched_qos_task *q = &t->q; q && n < max; q = q->waits_for) {
        out[n] = (struct sim_task *)((char *)q - offsetof(struct sim_task, q));
        eff[n] = q->eff;
        n++;
    }
    return n;
}

/* --- the task programs --------------------------------------------------------------- */

static struct sim_task *new_task(struct sim *s, const struct sim_template *tpl)
{
    if (s->ntasks == s->cap_tasks) {
        s->cap_tasks = s->cap_tasks ? s->cap_tasks * 2 : 256;
        s->tasks = realloc(s->tasks, (size_t)s->cap_tasks * sizeof(*s->tasks));
    }
    struct sim_task *t = calloc(1, sizeof(*t));
    if (!t || !s->tasks) {
        fprintf(stderr, "sim: out of memory\n");
        exit(1);
    }
    t->id = s->ntasks;
    s->tasks[s->ntasks++] = t;
    t->tpl = tpl;
    t->state = T_SLEEPING;
    t->cpu = -1;
    t->last_cpu = -1;
    t->dl_cpu = -1;
    sched_qos_init(&t->q, tpl->qos, tpl->app >= 0 ? &s->apps[tpl->app] : NULL, tpl->exempt);
    t->util.stamp_ns = s->now;
    return t;
}

static uint64_t run_work(struct sim *s, struct sim_task *t, const struct sim_op *op)
{
    if (op->hi <= op->lo)
        return op->lo;
    uint64_t r = draw(s->rng, (uint64_t)t->id + 1, ((uint64_t)t->pc << 32) ^ ++t->seq);
    return op->lo + r % (op->hi - op->lo + 1);
}

static void wake_template(struct sim *s, int idx, const struct sim_task *waker);
static void end_activation(struct sim *s, struct sim_task *t);

static void grant(struct sim *s, struct sim_lock *l, struct sim_task *w)
{
    l->holder = w;
    if (w->tpl->qos == QOS_USER_INTERACTIVE) {
        uint64_t waited = s->now - w->lock_wait_start;
        if (waited > s->r->inversion_max_ns)
            s->r->inversion_max_ns = waited;
    }
    make_ready(s, w, true);
}

static void unlock(struct sim *s, struct sim_task *t, int id)
{
    struct sim_lock *l = &s->locks[id];
    if (l->holder != t)
        return;
    l->holder = NULL;
    if (s->pol->inherit) {
        for (int i = 0; i < l->nwaiters; i++)
            sched_qos_unblock(&l->waiters[i]->q);
    }
    if (l->nwaiters) {
        struct sim_task *w = l->waiters[0];
        memmove(l->waiters, l->waiters + 1, (size_t)--l->nwaiters * sizeof(l->waiters[0]));
        grant(s, l, w);
        if (s->pol->inherit) {
            for (int i = 0; i < l->nwaiters; i++)
                sched_qos_block(&l->waiters[i]->q, &w->q);
        }
    }
    if (s->pol->inherit && t->state == T_RUNNING)
        s->core[t->cpu].resched = true;   /* its boost may be gone */
}

/* Blocks t on lock id; true if it must wait. */
static bool lock(struct sim *s, struct sim_task *t, int id)
{
    struct sim_lock *l = &s->locks[id];
    if (!l->holder) {
        l->holder = t;
        return false;
    }
    if (l->nwaiters == (int)(sizeof(l->waiters) / sizeof(l->waiters[0]))) {
        fprintf(stderr, "sim: too many waiters on lock %d\n", id);
        exit(1);
    }
    l->waiters[l->nwaiters++] = t;
    t->lock_wait_start = s->now;
    t->state = T_BLOCKED;
    if (s->pol->inherit) {
        struct sim_task *chain[32];
        uint8_t before[32];
        int n = chain_of(l->holder, chain, before, 32);
        if (sched_qos_block(&t->q, &l->holder->q) == 0)
            refresh_chain(s, before, chain, n);
    }
    return true;
}

/*
 * Runs t's zero-time ops from t->pc until it has work to do (t->left > 0,
 * returns true), blocks or ends its activation (returns false).
 */
static bool step_program(struct sim *s, struct sim_task *t)
{
    const struct sim_template *tpl = t->tpl;
    for (;;) {
        if (t->pc >= tpl->nops) {
            end_activation(s, t);
            if (t->state != T_RUNNING)
                return false;
            continue;   /* a hog (or a pending wake) starts again at once */
        }
        const struct sim_op *op = &tpl->ops[t->pc];
        switch (op->kind) {
        case OP_RUN:
            if (!t->in_run) {
                t->in_run = true;
                t->left = run_work(s, t, op);
                if (t->left)
                    return true;
            }
            t->in_run = false;
            t->left = 0;
            t->pc++;
            break;
        case OP_LOCK:
            t->pc++;
            if (lock(s, t, (int)op->lo))
                return false;
            break;
        case OP_UNLOCK:
            t->pc++;
            unlock(s, t, (int)op->lo);
            break;
        case OP_WAKE:
            t->pc++;
            wake_template(s, op->target, t);
            break;
        }
    }
}

static void activate(struct sim_task *t, uint64_t frame_deadline, bool counted)
{
    t->active = true;
    t->pc = 0;
    t->left = 0;
    t->in_run = false;
    t->frame_deadline = frame_deadline;
    t->frame_counted = counted;
}

static void end_activation(struct sim *s, struct sim_task *t)
{
    const struct sim_template *tpl = t->tpl;
    if (tpl->frame_end && t->frame_deadline && t->frame_counted && s->now > t->frame_deadline)
        s->r->frames_missed++;
    if (tpl->deadline)
        sched_dl_complete(&t->dls, s->now);
    t->pc = 0;
    t->left = 0;
    t->in_run = false;
    if (tpl->trigger == TRIG_HOG)
        return;
    if (t->pending > 0) {
        t->pending--;
        return;
    }
    t->active = false;
    t->state = tpl->trigger == TRIG_SPAWN ? T_DEAD : T_SLEEPING;
}

static void wake_template(struct sim *s, int idx, const struct sim_task *waker)
{
    struct sim_task *t = s->first_of[idx];
    if (!t)
        return;
    if (t->active) {
        t->pending++;
        return;
    }
    activate(t, waker->frame_deadline, waker->frame_counted);
    make_ready(s, t, true);
}

static bool app_foreground(const struct sim *s, const struct sim_template *tpl)
{
    return tpl->app < 0 || s->apps[tpl->app].foreground;
}

static void release(struct sim *s, struct sim_task *t)
{
    const struct sim_template *tpl = t->tpl;
    if (tpl->trigger == TRIG_HOG) {   /* a hog with a phase starts once, late */
        t->next_release = UINT64_MAX;
        activate(t, 0, false);
        make_ready(s, t, false);
        return;
    }
    t->next_release += tpl->period;
    bool counted = tpl->frame && app_foreground(s, tpl);
    if (tpl->deadline && !t->active)
        sched_dl_new_period(&t->dls, &t->dlp, s->now);
    if (counted)
        s->r->frames++;
    if (t->active) {   /* still busy with the previous one: this one is lost */
        if (counted)
            s->r->frames_missed++;
        if (tpl->deadline)
            t->dls.misses++;
        return;
    }
    activate(t, tpl->frame ? s->now + tpl->period : 0, counted);
    make_ready(s, t, true);
}

static void spawn(struct sim *s, int idx)
{
    const struct sim_template *tpl = &s->sc->tpl[idx];
    int n = tpl->rate_hz ? 1 : tpl->burst;
    for (int i = 0; i < n; i++) {
        struct sim_task *t = new_task(s, tpl);
        activate(t, 0, false);
        make_ready(s, t, true);
    }
    if (tpl->rate_hz) {
        double u = (double)(draw(s->rng, 1000 + (uint64_t)idx, s->now) >> 11) / 9007199254740992.0;
        double gap = -log(1.0 - u) * 1e9 / (double)tpl->rate_hz;
        s->next_spawn[idx] += (uint64_t)gap + 1;
    } else {
        s->next_spawn[idx] += tpl->period;
    }
}

static void app_event(struct sim *s, const struct sim_app_event *e)
{
    s->apps[e->app].foreground = e->foreground;
    if (!s->pol->inherit)
        return;   /* the baselines have no app model */
    for (int i = 0; i < s->ntasks; i++) {
        struct sim_task *t = s->tasks[i];
        if (t->tpl->app != e->app || t->state == T_DEAD)
            continue;
        struct sim_task *chain[32];
        uint8_t before[32];
        int n = chain_of(t, chain, before, 32);
        sched_qos_refresh(&t->q);
        refresh_chain(s, before, chain, n);
    }
}

/* --- scheduling ------------------------------------------------------------------------ */

static void start(struct sim *s, struct sim_core *c, struct sim_task *t, struct sim_task *prev)
{
    if (t != prev)
        c->overhead = SIM_SWITCH_NS;   /* wake-up IPI, run queue and context switch */
    c->cur = t;
    t->state = T_RUNNING;
    t->cpu = c->id;
    if (t->last_cpu >= 0 && t->last_cpu != c->id)
        s->r->migrations++;
    t->last_cpu = c->id;
    sched_util_update(&t->util, s->now, 0);
    if (t->latency_pending) {
        t->latency_pending = false;
        sample(&s->r->wake[t->tpl->qos], s->now + c->overhead - t->ready_since);
    }
    c->slice_end = s->now + SIM_SLICE_NS;
}

static void schedule(struct sim *s, struct sim_core *c, bool slice_over)
{
    c->resched = false;
    struct sim_task *prev = c->cur;
    if (prev) {
        unset_running(s, c);
        c->resched = false;
        if (slice_over)
            prev->seq = ++s->seq;   /* round robin: to the back of its class */
        sim_queue_add(s, c, prev);
        prev->enqueued = s->now;
    }
    struct sim_task *next = s->pol->pick(s, c);
    if (next)
        start(s, c, next, prev);
    else
        c->cur = NULL;
}

/* After a stop: run the programs of tasks whose work finished. */
static void finish_work(struct sim *s)
{
    for (int i = 0; i < s->ncores; i++) {
        struct sim_core *c = &s->core[i];
        while (c->cur && c->cur->left == 0) {
            struct sim_task *t = c->cur;
            if (step_program(s, t))
                break;
            if (t->state != T_RUNNING && c->cur == t)
                unset_running(s, c);
        }
    }
}

static void advance(struct sim *s, uint64_t to)
{
    uint64_t dt = to - s->now;
    for (int i = 0; i < s->ncores && dt; i++) {
        struct sim_core *c = &s->core[i];
        struct sim_task *t = c->cur;
        sched_util_update(&c->util, to, t ? cap_of(s, i) : 0);
        if (!t)
            continue;
        uint32_t cap = cap_of(s, i);
        uint64_t lost = dt < c->overhead ? dt : c->overhead;
        c->overhead -= lost;
        uint64_t work = (dt - lost) * cap / SCHED_CAPACITY_MAX;
        if (work > t->left)
            work = t->left;
        t->left -= work;
        s->r->work_ns += work;
        c->busy_ns += dt;
        c->fj += dt * s->m->core[i].opp[c->opp].power_uw;
        struct sim_share *sh = &s->r->by[i][c->opp][t->tpl->qos];
        sh->busy_ns += dt;
        sh->work_ns += work;
        sh->energy_j += (double)dt * s->m->core[i].opp[c->opp].power_uw / 1e15;
        if (t->tpl->qos == QOS_BACKGROUND)
            s->r->bg_ns += dt;
        t->vruntime += dt;
        if (t->dl && sched_dl_charge(&t->dls, &t->dlp, dt, cap)) {
            s->r->audio_overruns++;
            c->resched = true;
        }
        sched_util_update(&t->util, to, cap);   /* at this OPP, before the governor moves it */
    }
    s->now = to;
}

static uint64_t next_stop(struct sim *s, uint64_t end)
{
    uint64_t next = end;
    for (int i = 0; i < s->ncores; i++) {
        struct sim_core *c = &s->core[i];
        if (!c->cur)
            continue;
        uint64_t done = s->now + wall_left(s, c);
        if (done < next)
            next = done;
        if (c->slice_end < next)
            next = c->slice_end;
    }
    for (int i = 0; i < s->nperiodic; i++) {
        if (s->periodic[i]->next_release < next)
            next = s->periodic[i]->next_release;
    }
    for (int i = 0; i < s->sc->ntemplates; i++) {
        if (s->sc->tpl[i].trigger == TRIG_SPAWN && s->next_spawn[i] < next)
            next = s->next_spawn[i];
    }
    if (s->next_event < s->sc->nevents && s->sc->events[s->next_event].at < next)
        next = s->sc->events[s->next_event].at;
    return next > s->now ? next : s->now;
}

static bool someone_waits(const struct sim *s, const struct sim_core *c)
{
    return s->pol->global_queue ? s->global_n > 0 : c->nready > 0;
}

static void create_tasks(struct sim *s)
{
    for (int i = 0; i < s->sc->ntemplates; i++) {
        const struct sim_template *tpl = &s->sc->tpl[i];
        if (tpl->trigger == TRIG_SPAWN) {
            s->next_spawn[i] = tpl->phase;
            continue;
        }
        for (int k = 0; k < tpl->count; k++) {
            struct sim_task *t = new_task(s, tpl);
            if (tpl->deadline) {
                t->dlp = (struct sched_dl_params){tpl->period, tpl->budget, 0};
                if (s->pol->deadline) {
                    int cpu = sched_dl_admit(s->m, &s->dlbw, &t->dlp, 0,
                                             (uint32_t)((1ull << s->ncores) - 1));
                    if (cpu >= 0) {
                        t->dl = true;
                        t->dl_cpu = cpu;
                    } else {
                        if (!s->r->audio_refused++)
                            snprintf(s->r->refused_why, sizeof(s->r->refused_why), "%s: %s",
                                     tpl->name, sched_dl_strerror(cpu));
                    }
                }
            }
            if (!s->first_of[i])
                s->first_of[i] = t;
            if (tpl->trigger == TRIG_PERIODIC || (tpl->trigger == TRIG_HOG && tpl->phase)) {
                if (s->nperiodic == (int)(sizeof(s->periodic) / sizeof(s->periodic[0]))) {
                    fprintf(stderr, "sim: too many periodic tasks\n");
                    exit(1);
                }
                s->periodic[s->nperiodic++] = t;
                t->next_release = tpl->phase;
            } else if (tpl->trigger == TRIG_HOG) {
                activate(t, 0, false);
                make_ready(s, t, false);
            }
        }
    }
}

static bool resched_pending(const struct sim *s)
{
    for (int i = 0; i < s->ncores; i++) {
        const struct sim_core *c = &s->core[i];
        if (c->resched || (!c->cur && someone_waits(s, c)))
            return true;
    }
    return false;
}

/* Reschedule and balance until nothing changes (bounded: a policy that
 * ping-pongs tasks still makes progress at the next stop). */
static void settle(struct sim *s)
{
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < s->ncores; i++) {
            struct sim_core *c = &s->core[i];
            if (c->resched || (!c->cur && someone_waits(s, c)))
                schedule(s, c, false);
        }
        for (int i = 0; i < s->ncores && !s->pol->global_queue; i++) {
            struct sim_core *c = &s->core[i];
            if (c->cur)
                continue;
            s->pol->balance(s, c);
            if (someone_waits(s, c))
                schedule(s, c, false);   /* run it before another idle core pulls it */
        }
        if (!resched_pending(s))
            return;
    }
    for (int i = 0; i < s->ncores; i++) {   /* never leave a core idle with work queued */
        struct sim_core *c = &s->core[i];
        if (c->resched || (!c->cur && someone_waits(s, c)))
            schedule(s, c, false);
    }
}

static void settle_and_govern(struct sim *s)
{
    settle(s);
    govern(s);
}

void sim_run(const struct sim_config *cfg, const struct sim_scenario *sc,
             const struct sim_policy *pol, uint64_t seed, struct sim_result *r)
{
    struct sim *s = calloc(1, sizeof(*s));
    if (!s) {
        fprintf(stderr, "sim: out of memory\n");
        exit(1);
    }
    memset(r, 0, sizeof(*r));
    snprintf(r->policy, sizeof(r->policy), "%s", pol->name);
    snprintf(r->config, sizeof(r->config), "%s", cfg->name);
    snprintf(r->scenario, sizeof(r->scenario), "%s", sc->name);
    s->cfg = cfg;
    s->m = &cfg->model;
    s->sc = sc;
    s->pol = pol;
    s->r = r;
    s->rng = seed;
    s->ncores = cfg->model.ncores;
    for (int i = 0; i < s->ncores; i++) {
        s->core[i].id = i;
        s->core[i].opp = s->m->core[i].nopps - 1;
    }
    for (int i = 0; i < sc->napps; i++)
        s->apps[i].foreground = sc->app_fg[i];
    create_tasks(s);

    while (s->now < sc->duration) {
        settle_and_govern(s);
        uint64_t next = next_stop(s, sc->duration);
        advance(s, next);
        if (s->now >= sc->duration)
            break;
        finish_work(s);
        for (int i = 0; i < s->ncores; i++) {
            struct sim_core *c = &s->core[i];
            if (c->cur && s->now >= c->slice_end) {
                if (someone_waits(s, c))
                    schedule(s, c, true);
                else
                    c->slice_end = s->now + SIM_SLICE_NS;
            }
        }
        while (s->next_event < sc->nevents && sc->events[s->next_event].at <= s->now)
            app_event(s, &sc->events[s->next_event++]);
        for (int i = 0; i < s->nperiodic; i++) {
            if (s->periodic[i]->next_release <= s->now)
                release(s, s->periodic[i]);
        }
        for (int i = 0; i < sc->ntemplates; i++) {
            while (sc->tpl[i].trigger == TRIG_SPAWN && s->next_spawn[i] <= s->now)
                spawn(s, i);
        }
    }

    double fj = 0;
    for (int i = 0; i < s->ncores; i++) {
        fj += (double)s->core[i].fj;
        r->busy_ns += s->core[i].busy_ns;
        r->core_busy_ns[i] = s->core[i].busy_ns;
    }
    r->energy_j = fj / 1e15;
    r->capacity_ns = sc->duration * (uint64_t)s->ncores;
    for (int i = 0; i < sc->ntemplates; i++) {
        const struct sim_template *tpl = &sc->tpl[i];
        r->has_bg = r->has_bg || tpl->qos == QOS_BACKGROUND;
        r->has_audio = r->has_audio || tpl->deadline;
        for (int k = 0; k < tpl->nops; k++)
            r->has_lock = r->has_lock || tpl->ops[k].kind == OP_LOCK;
    }
    for (int i = 0; i < s->ntasks; i++) {
        struct sim_task *t = s->tasks[i];
        /* Work still in progress past its deadline at the end is late too. */
        if (t->active && t->frame_counted && t->frame_deadline && t->frame_deadline < s->now)
            r->frames_missed++;
        if (t->active && t->tpl->deadline && t->dls.deadline_ns < s->now)
            t->dls.misses++;
        if (t->state == T_BLOCKED && t->tpl->qos == QOS_USER_INTERACTIVE &&
            s->now - t->lock_wait_start > r->inversion_max_ns)
            r->inversion_max_ns = s->now - t->lock_wait_start;   /* still waiting */
        if (s->tasks[i]->tpl->deadline)
            r->audio_misses += (int)s->tasks[i]->dls.misses;
        free(s->tasks[i]);
    }
    free(s->tasks);
    free(s);
}

void sim_result_free(struct sim_result *r)
{
    for (int q = 0; q < QOS_COUNT; q++)
        free(r->wake[q].v);
}
