/*
 * Effective QoS in the running system: the policy's bookkeeping
 * (sched_qos_*, pure, kernel/sched_policy.h) applied to real tasks.
 *
 * A task's band (t->qos) is always its effective class: its own class as
 * its app's state allows, raised by what tasks blocked on it lend
 * (transitively). Every change to the bookkeeping goes through qos_lock and
 * ends with apply_chain(), which moves each task whose effective class
 * changed to its new band (sched_set_qos). Lock order: a wait queue's lock,
 * then qos_lock, then run-queue locks. Only contended locks, class changes
 * and app switches come here; no hot path does.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <arch/timer.h>
#include <kernel/app.h>
#include <kernel/sched.h>

static spinlock_t qos_lock = SPINLOCK_INIT;

static inline struct sched_qos_task *qos_of(struct task *t) { return &task_ext(t)->qos; }

/* Bring the bands of q and every holder it (transitively) waits on in line
 * with their effective classes. */
static void apply_chain(struct sched_qos_task *q)
{
    for (int depth = 0; q && depth < 64; q = q->waits_for, depth++) {
        struct task *t = ((struct task_ext *)q)->task;
        if (t->qos != q->eff)
            sched_set_qos(t, q->eff);
    }
}

void qos_wait_on(struct task *waiter, struct task *holder)
{
    if (!holder || (holder->flags & TASK_F_IDLE) || (waiter->flags & TASK_F_IDLE))
        return;
    uint64_t flags = spin_lock_irqsave(&qos_lock);
    if (sched_qos_block(qos_of(waiter), qos_of(holder)) == 0)
        apply_chain(qos_of(holder));
    spin_unlock_irqrestore(&qos_lock, flags);
}

void qos_wait_done(struct task *waiter)
{
    if (waiter->flags & TASK_F_IDLE)
        return;
    uint64_t flags = spin_lock_irqsave(&qos_lock);
    struct sched_qos_task *holder = qos_of(waiter)->waits_for;
    if (holder) {
        sched_qos_unblock(qos_of(waiter));
        apply_chain(holder);
    }
    spin_unlock_irqrestore(&qos_lock, flags);
}

void qos_set_own(struct task *t, enum qos own)
{
    uint64_t flags = spin_lock_irqsave(&qos_lock);
    qos_of(t)->own = (uint8_t)own;
    sched_qos_refresh(qos_of(t));
    apply_chain(qos_of(t));
    spin_unlock_irqrestore(&qos_lock, flags);
}

/* --- apps ---------------------------------------------------------------------- */

static inline struct app *app_of(const struct task_ext *x)
{
    return (struct app *)((char *)x->qos.app - offsetof(struct app, state));
}

struct app *app_create(const char *name, bool foreground)
{
    struct app *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->name = name;
    a->state.foreground = foreground;
    return a;
}

void qos_join_app(struct task *t, struct app *a, enum qos own, bool exempt)
{
    struct task_ext *x = task_ext(t);
    sched_qos_init(&x->qos, own, a ? &a->state : NULL, exempt);
    x->app_next = NULL;
    if (!a)
        return;
    uint64_t flags = spin_lock_irqsave(&qos_lock);
    x->app_next = a->tasks;
    a->tasks = x;
    a->ntasks++;
    spin_unlock_irqrestore(&qos_lock, flags);
    t->flags |= TASK_F_APP;
    t->life |= TASK_LIFE_APP;
}

void qos_leave_app(struct task *t)
{
    struct task_ext *x = task_ext(t);
    if (!x->qos.app)
        return;
    struct app *a = app_of(x);
    uint64_t flags = spin_lock_irqsave(&qos_lock);
    for (struct task_ext **pp = &a->tasks; *pp; pp = &(*pp)->app_next) {
        if (*pp == x) {
            *pp = x->app_next;
            a->ntasks--;
            break;
        }
    }
    spin_unlock_irqrestore(&qos_lock, flags);
}

void app_set_foreground(struct app *a, bool foreground)
{
    uint64_t flags = spin_lock_irqsave(&qos_lock);
    if (a->state.foreground != foreground) {
        a->state.foreground = foreground;
        for (struct task_ext *x = a->tasks; x; x = x->app_next) {
            sched_qos_refresh(&x->qos);
            apply_chain(&x->qos);
        }
    }
    spin_unlock_irqrestore(&qos_lock, flags);
}

bool app_is_foreground(const struct app *a) { return a->state.foreground; }

struct app *task_app(const struct task *t)
{
    return (t->flags & TASK_F_APP) ? app_of(task_ext(t)) : NULL;
}

void qos_account(const struct task *t, uint64_t ticks, int cpu)
{
    struct app *a = app_of(task_ext(t));
    uint64_t ns = arch_ticks_to_ns(ticks);
    __atomic_fetch_add(&a->energy.busy_ns, ns, __ATOMIC_RELAXED);
    __atomic_fetch_add(&a->energy.pj, ns * sched_core_model()->core[cpu].power_mw,
                       __ATOMIC_RELAXED);
}

void app_energy(const struct app *a, struct sched_energy *out)
{
    out->busy_ns = __atomic_load_n(&a->energy.busy_ns, __ATOMIC_RELAXED);
    out->pj = __atomic_load_n(&a->energy.pj, __ATOMIC_RELAXED);
}

int app_destroy(struct app *a)
{
    if (!a)
        return 0;
    if (a->ntasks)
        return -EBUSY;
    free(a);
    return 0;
}
