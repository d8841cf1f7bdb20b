/*
 * Deadline tasks in the running system (kernel/deadline.h; invariants in
 * kernel/sched/deadline.h): admission at spawn, budget charging, demotion
 * on overrun, replenishment at the next release, and the period loop.
 */
#include <errno.h>
#include <string.h>
#include <arch/timer.h>
#include <kernel/clock.h>
#include <kernel/deadline.h>
#include <kernel/mm.h>
#include <kernel/panic.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include "deadline.h"

static struct slab_cache *dl_cache;
static spinlock_t bw_lock = SPINLOCK_INIT;
static struct sched_dl_bw bw;     /* bandwidth reserved per core, under bw_lock */

void dl_init(void)
{
    dl_cache = slab_cache_create("task_dl", sizeof(struct task_dl), 64);
    if (!dl_cache)
        panic("deadline: cannot create the task_dl cache");
}

const char *task_dl_strerror(int err)
{
    if (err == EINVAL)
        return sched_dl_strerror(SCHED_DL_EINVAL);
    if (err == EBUSY)
        return sched_dl_strerror(SCHED_DL_EOVERLOAD);
    return strerror(err);
}

/* t's run time so far, including the running stretch (under rq->lock). */
static uint64_t run_ticks(const struct runqueue *rq, const struct task *t)
{
    return t->cpu_ticks + (rq->current == t ? arch_counter() - rq->run_start : 0);
}

static void begin_period(struct task_dl *d, uint64_t release_ns)
{
    sched_dl_new_period(&d->s, &d->p, release_ns);
    d->deadline_ticks = sched_ns_to_ticks(d->s.deadline_ns);
    d->periods++;
}

int dl_task_admit(struct task *t, const struct sched_dl_params *p)
{
    struct task_dl *d = slab_alloc(dl_cache);
    if (!d)
        return -ENOMEM;
    *d = (struct task_dl){.p = *p};
    timer_init(&d->replenish);
    uint64_t flags = spin_lock_irqsave(&bw_lock);
    int cpu = sched_dl_admit(sched_core_model(), &bw, p, t->affinity, smp_online_mask());
    spin_unlock_irqrestore(&bw_lock, flags);
    if (cpu < 0) {
        slab_free(dl_cache, d);
        return cpu == SCHED_DL_EINVAL ? -EINVAL : -EBUSY;
    }
    d->cpu = cpu;
    d->reserved = true;
    begin_period(d, clock_ns());
    task_ext(t)->dl = d;
    t->affinity = 1u << cpu;
    task_pin_note(t);
    t->flags |= TASK_F_DL;
    t->qos = QOS_USER_INTERACTIVE;
    return 0;
}

void dl_task_end(struct task *t)
{
    struct task_dl *d = task_ext(t)->dl;
    if (!d || !d->reserved)
        return;
    uint64_t flags;
    struct runqueue *rq = sched_lock_task(t, &flags);
    timerq_remove(&rq->timers, &d->replenish);
    t->flags &= ~TASK_F_DL;
    spin_unlock_irqrestore(&rq->lock, flags);
    flags = spin_lock_irqsave(&bw_lock);
    sched_dl_release_bw(sched_core_model(), &bw, &d->p, d->cpu);
    d->reserved = false;
    spin_unlock_irqrestore(&bw_lock, flags);
}

void dl_task_free(struct task *t)
{
    struct task_dl *d = task_ext(t)->dl;
    if (d) {
        dl_task_end(t);   /* a task that never ran still holds its reservation */
        slab_free(dl_cache, d);
        task_ext(t)->dl = NULL;
    }
}

/* The next release of a demoted task: a fresh period and budget. The timer
 * runs on the task's own core (it is pinned), which therefore is not
 * running the task: it cannot end under us. */
static void replenish(void *arg, uint32_t seq)
{
    struct task *t = arg;
    uint64_t flags;
    struct runqueue *rq = sched_lock_task(t, &flags);
    struct task_dl *d = dl_of(t);
    if (d->reserved && d->s.demoted && (uint32_t)d->periods == seq) {
        begin_period(d, d->s.release_ns + d->p.period_ns);
        d->charged_ticks = run_ticks(rq, t);
        t->flags |= TASK_F_DL;
        sched_reband_locked(rq, t, QOS_USER_INTERACTIVE);
    }
    spin_unlock_irqrestore(&rq->lock, flags);
}

int dl_charge(struct runqueue *rq, struct task *t, uint64_t cpu_ticks)
{
    struct task_dl *d = dl_of(t);
    uint64_t ran = cpu_ticks - d->charged_ticks;
    d->charged_ticks = cpu_ticks;
    uint32_t capacity = sched_core_model()->core[d->cpu].capacity;
    if (!sched_dl_charge(&d->s, &d->p, arch_ticks_to_ns(ran), capacity))
        return -1;
    t->flags &= ~TASK_F_DL;
    d->replenish.deadline = sched_ns_to_ticks(d->s.release_ns + d->p.period_ns);
    d->replenish.fn = replenish;
    d->replenish.arg = t;
    d->replenish.seq = (uint32_t)d->periods;
    if (sched_timer_add_locked(rq, &d->replenish) != 0) {
        /* No memory for the replenishment: stay a deadline task rather
         * than be stranded below the budget for good. */
        t->flags |= TASK_F_DL;
        return -1;
    }
    return task_ext(t)->qos.eff;
}

uint64_t dl_budget_left_ticks(const struct task *t)
{
    const struct task_dl *d = dl_of(t);
    if (d->s.used >= d->p.budget_ns)
        return 1;
    uint32_t capacity = sched_core_model()->core[d->cpu].capacity;
    uint64_t left = (d->p.budget_ns - d->s.used) * SCHED_CAPACITY_MAX / (capacity ? capacity : 1);
    return sched_ns_to_ticks(left) + 1;   /* + 1: the charge then goes past the budget */
}

int task_dl_next_period(void)
{
    struct task *t = sched_current();
    struct task_dl *d = (t->flags & TASK_F_IDLE) ? NULL : task_ext(t)->dl;
    if (!d)
        return -EINVAL;
    uint64_t now = clock_ns();
    uint64_t flags;
    struct runqueue *rq = sched_lock_task(t, &flags);
    if (t->flags & TASK_F_DL)
        dl_charge(rq, t, run_ticks(rq, t));   /* the finished activation's last stretch */
    bool met = sched_dl_complete(&d->s, now);
    timerq_remove(&rq->timers, &d->replenish);
    uint64_t next = d->s.release_ns + d->p.period_ns;
    if (next < now)
        next = now;   /* late: the next activation starts at once */
    begin_period(d, next);
    d->charged_ticks = run_ticks(rq, t);
    t->flags |= TASK_F_DL;
    sched_reband_locked(rq, t, QOS_USER_INTERACTIVE);
    spin_unlock_irqrestore(&rq->lock, flags);
    task_sleep_until(next);
    return met ? 0 : -ETIMEDOUT;
}

uint32_t task_dl_cores(void)
{
    uint32_t mask = 0;
    uint64_t flags = spin_lock_irqsave(&bw_lock);
    for (int c = 0; c < PLAT_MAX_CPUS && c < 32; c++)
        if (bw.used[c])
            mask |= 1u << c;
    spin_unlock_irqrestore(&bw_lock, flags);
    return mask;
}

int task_dl_stats(const struct task *t, struct task_dl_stats *out)
{
    struct task_dl *d = (t->flags & TASK_F_IDLE) ? NULL : task_ext(t)->dl;
    if (!d)
        return -EINVAL;
    uint64_t flags;
    struct runqueue *rq = sched_lock_task((struct task *)t, &flags);
    *out = (struct task_dl_stats){.periods = d->periods, .misses = d->s.misses,
                                  .overruns = d->s.overruns, .demoted = d->s.demoted,
                                  .cpu = d->cpu};
    spin_unlock_irqrestore(&rq->lock, flags);
    return 0;
}
