/*
 * Wake-ups (see kernel/sched.h): a blocked task made ready on the core the
 * policy places it on, with an SGI only when that core must reschedule and
 * a nudge to an idle core that could steal it; the local common case
 * decided without calls; a wake from the idle loop's own interrupt making
 * the task current at once; the same wake-up for interrupt handlers
 * (sched_wake_irq: IRQs already masked, the result stored by the taker,
 * the idle loop's hand-off tested first); QoS changes and task starts.
 * The blocking side and the switches: sched.c.
 */
#include <arch/cpu.h>
#include <arch/timer.h>
#include <kernel/app.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/panic.h>
#include <kernel/sched.h>
#include <kernel/sched_policy.h>
#include <kernel/smp.h>
#include "deadline.h"
#include "migrate.h"
#include "sched_internal.h"
#include "sched_rq.h"
#include "sched_switch.h"

/* In task context with IRQs enabled, act on a reschedule this core owes. */
static inline __attribute__((always_inline)) void preempt_point(uint64_t irq_flags)
{
    if (irq_flags & ARCH_DAIF_I)
        return;   /* the caller's caller is in a masked section: it acts later */
    struct runqueue *rq = this_rq();
    if (!rq->need_resched || this_cpu()->in_irq || (rq->current->flags & TASK_F_IDLE))
        return;
    arch_irq_disable();
    schedule();
    arch_irq_restore(irq_flags);
}

void sched_resched_now(void) { preempt_point(read_sysreg(daif)); }

void sched_affinity_changed(struct task *t)
{
    uint64_t flags;
    struct runqueue *rq = sched_lock_task(t, &flags);
    bool ready = t->state == TASK_READY;
    /* Moved now: queued, not a deadline task (its reservation is per core),
     * registers saved (a preempted task still switching out stays: no core
     * may load them before they are stored), and a core it may use online. */
    if (!ready || (t->flags & TASK_F_DL) || sched_affinity_allows(t->affinity, rq->cpu) ||
        atomic_load_explicit(&t->on_cpu, memory_order_acquire) ||
        !(t->affinity & smp_online_mask())) {
        if (ready)
            nudge_idle_core(t, rq_cpu(rq));   /* an idle core it now allows may steal it */
        spin_unlock_irqrestore(&rq->lock, flags);
        return;
    }
    rq_remove(rq, t);
    sched_util_refresh(t);
    int to = sched_place(t, rq->cpu, cpu_id());
    t->state = TASK_MOVING;   /* no waker or stealer touches it now */
    spin_unlock(&rq->lock);
    sched_move_in(t, to);
    arch_irq_restore(flags);
    preempt_point(flags);
}

/* Under rq->lock: queue t and tell whoever must act (rq's core if t should
 * run now, else an idle core that could steal it). */
static inline __attribute__((always_inline)) void make_ready(struct runqueue *rq, struct task *t)
{
    rq_enqueue(rq, t);
    if (should_preempt(rq, t))
        kick(rq);
    else
        nudge_idle_core(t, rq_cpu(rq));
}

void sched_reband_locked(struct runqueue *rq, struct task *t, unsigned band)
{
    /* rq's current task keeps the core until its switch, whatever its state
     * (BLOCKED or DEAD on its way out, READY if woken first): its class is
     * the running one, which a switch to an equal switch key charges no more
     * (schedule_pick_on, sched_yield_begin) and the wake key reads. */
    if (rq->current == t)
        charge_class(rq, band, now_ticks());
    if (t->state == TASK_READY) {
        rq_remove(rq, t);   /* from the band it was queued in */
        t->qos = (uint8_t)band;
        make_ready(rq, t);
        return;
    }
    t->qos = (uint8_t)band;
    if (t->state != TASK_RUNNING || rq->current != t)
        return;   /* a blocked task is queued by its wake-up */
    if (t->flags & TASK_F_DL) {
        /* A fresh budget while running: run on unless an earlier deadline waits. */
        struct task *x = rq->head[0];
        if (x && (x->flags & TASK_F_DL) && dl_earlier(x, t))
            kick(rq);
        else if (rq == this_rq())
            rq_start_slice(rq, t, now_ticks());
    } else if (rq->band_mask & ((2u << band) - 1)) {
        kick(rq);   /* out of budget: whatever waits in its band or above goes first */
    }
}

/* Where a woken task runs (under its run-queue lock): the policy's choice,
 * with its utilisation brought up to date. Shortcuts: a pinned task stays;
 * a task whose registers are still live on its core (on_cpu: switching out
 * right now) stays; on uniform cores, so does one that runs at once on its
 * own core (its cache is there). */
static inline __attribute__((always_inline)) int place_woken(struct runqueue *rq, struct task *t)
{
    if (t->pinned || atomic_load_explicit(&t->on_cpu, memory_order_relaxed))
        return rq->cpu;
    struct task *cur = rq->current;
    if (sched_model.nlevels <= 1 && sched_affinity_allows(t->affinity, rq->cpu) &&
        ((cur->flags & TASK_F_IDLE) || t->qos < cur->qos))
        return rq->cpu;
    sched_util_refresh(t);
    return sched_place(t, rq->cpu, cpu_id());
}

/* Lock the run queue t is on, once it is on one: t->cpu cannot change
 * under that lock unless t is MOVING (then its mover holds it). */
struct runqueue *sched_lock_task(struct task *t, uint64_t *flags)
{
    for (;;) {
        struct runqueue *rq = &runqueues[t->cpu];
        *flags = spin_lock_irqsave(&rq->lock);
        if (rq == &runqueues[t->cpu] && t->state != TASK_MOVING)
            return rq;
        spin_unlock_irqrestore(&rq->lock, *flags);
        arch_cpu_relax();
    }
}

void sched_move_in(struct task *t, int to)
{
    struct runqueue *rq = &runqueues[to];
    uint64_t flags = spin_lock_irqsave(&rq->lock);
    sched_task_arrive(t, to);
    make_ready(rq, t);
    spin_unlock_irqrestore(&rq->lock, flags);
}

/* wake_locked's way out when the policy chose another core (to != rq's):
 * move t there, then release (restoring flags). */
static __attribute__((noinline)) void wake_elsewhere(struct runqueue *rq, struct task *t, int to,
                                                     uint64_t flags)
{
    t->state = TASK_MOVING;   /* no other waker or mover touches it now */
    spin_unlock(&rq->lock);
    sched_move_in(t, to);
    arch_irq_restore(flags);
}

/* Under rq->lock, t blocked on rq's core: make it ready where the policy
 * says, then release the lock (restoring flags) and let the caller's core
 * switch if it must. */
static inline __attribute__((always_inline)) void wake_locked(struct runqueue *rq, struct task *t,
                                                              int32_t result, uint64_t flags)
{
    t->wait_result = result;
    int to = place_woken(rq, t);
    if (to == rq->cpu) {
        make_ready(rq, t);
        spin_unlock_irqrestore(&rq->lock, flags);
    } else {
        wake_elsewhere(rq, t, to, flags);
    }
    preempt_point(flags);
}

/* Under rq->lock (t->cpu's queue): the general wake-up. Returns 0 (so
 * that sched_wake_unlock's ways end in tail calls). */
static __attribute__((noinline)) int wake_general(struct runqueue *rq, struct task *t,
                                                  int32_t result, uint64_t flags)
{
    if (t->state != TASK_BLOCKED) {
        spin_unlock_irqrestore(&rq->lock, flags);
        return 0;
    }
    wake_locked(rq, t, result, flags);
    return 0;
}

void sched_wake_locked(struct runqueue *rq, struct task *t, int32_t result, uint64_t flags)
{
    wake_general(rq, t, result, flags);
}

/* Under this core's rq->lock, a task now waiting behind the running one
 * (in its band or a lower one, whose starvation bound the slice ends
 * check): start the running task's slice if none runs. */
static inline __attribute__((always_inline)) void slice_for_waiters(struct runqueue *rq)
{
    if (__builtin_expect(!rq->slice_end, 0)) {
        rq->slice_end = now_ticks() + sched_slice_ticks;
        arm_by(rq, rq->slice_end);
    }
}

/* Under this core's rq->lock: queue t (not a deadline task) here and
 * decide what make_ready would, without calls: a reschedule of this core
 * (need_resched), a slice for the running task if t joins its band, or
 * the idle core to nudge (returned; -1 if none) so it steals t. */
static inline __attribute__((always_inline)) int ready_local(struct runqueue *rq, struct task *t,
                                                             bool pinned)
{
    rq_append(rq, t);
    unsigned b = t->qos;
    struct task *cur = rq->current;
    if ((cur->flags & TASK_F_IDLE) || b < cur->qos) {
        rq->need_resched = true;
        return -1;
    }
    slice_for_waiters(rq);
    if (pinned)
        return -1;
    return idle_core_for(t, rq->cpu);
}

/* After a local wake-up, out of line: nudge an idle core (nudge >= 0) to
 * steal, then act on a reschedule this core owes. Returns 0. */
static __attribute__((noinline)) int wake_finish(int nudge)
{
    if (nudge >= 0)
        ipi_send(IPI_WAKE, nudge);
    sched_resched_now();
    return 0;
}

/* A local wake-up's end: release this core's rq->lock (restoring flags),
 * then nudge (nudge >= 0: ready_local's idle core) or reschedule if this
 * core owes it and the caller's IRQs were on. Returns 0. */
static inline __attribute__((always_inline)) int ready_done(struct runqueue *rq, int nudge,
                                                            uint64_t flags)
{
    bool resched = rq->need_resched;
    spin_unlock_irqrestore(&rq->lock, flags);
    if (__builtin_expect(nudge >= 0 || (resched && !(flags & ARCH_DAIF_I)), 0))
        return wake_finish(nudge);
    return 0;
}

/* Under this core's rq->lock (taken with IRQ state flags): make t ready
 * here (ready_local), release, then nudge or reschedule if needed. */
static inline __attribute__((always_inline)) int ready_here(struct runqueue *rq, struct task *t,
                                                            bool pinned, uint64_t flags)
{
    return ready_done(rq, ready_local(rq, t, pinned), flags);
}

/* The common local wake-up, tested first under this core's rq->lock: t
 * blocked on this core, pinned, not a deadline task and of the class
 * running here (wake_key_diff 0: rq->wake_key's class byte is
 * rq->run_class, the running task's class, QOS_COUNT while idle runs, so
 * neither an idle core nor a better task comes this way), nothing else
 * ready here. ready_local's decisions are then known: t goes to runnext;
 * no starvation stamp (its class runs), no preemption (a band-mate of the
 * running task), no idle core to nudge (pinned), no hand-off onto idle;
 * only the running task's slice may have to start. */
static inline __attribute__((always_inline)) void ready_plain_local(struct runqueue *rq,
                                                                    struct task *t)
{
    rq_append_runnext(rq, t);   /* its class runs: no stamp */
    slice_for_waiters(rq);
}

/* sched_wake's way when the interrupt that wakes t is being dispatched by
 * this core's idle loop (idle current, in_irq), nothing is queued here and
 * t, not a deadline task, stays here: the idle loop's pick would choose t,
 * so t becomes the current task at once, switched to as idle_switch would
 * (switch_from_idle), with no trip through the run queue. The idle loop
 * leaves for it once the dispatch returns (it finds rq->current not idle);
 * a wake-up later in the same dispatch sees t as the running task, and if
 * it asks for a reschedule, idle_handoff_repick undoes the handoff. Under
 * rq->lock, taken with IRQ state flags (masked: the idle loop's). Inline:
 * sched_wake's tail, in its frame. */
static inline __attribute__((always_inline)) void wake_onto_idle(struct runqueue *rq,
                                                                 struct task *idle,
                                                                 struct task *t, uint64_t flags)
{
    /* nothing queued: sched_wake checked */
    switch_from_idle(rq, idle, t, now_ticks(), switch_from_idle_slice(rq, t, 0));
    spin_unlock_irqrestore(&rq->lock, flags);
}

/* wake_key_diff for the idle loop's hand-off (sched_wake_irq): 0 exactly
 * when t is BLOCKED, pinned, not a deadline task and on rq's core, and rq
 * runs its idle task (run_class, the key's class byte, is QOS_COUNT only
 * then); t's own class is left out. One compare for every test the
 * hand-off makes of t and of the running task. */
static inline uint64_t wake_key_idle_diff(const struct runqueue *rq, const struct task *t)
{
    const unsigned cls_shift = 8 * offsetof(struct task, qos);
    return (task_wake_word(t) & rq->wake_mask_idle) ^ rq->wake_key ^
           ((uint64_t)QOS_COUNT << cls_shift);
}

/* How wake_here was called. WAKE_PLAIN: sched_wake (flags the IRQ state
 * to restore, result to store). WAKE_STORED: sched_wake_unlock (flags the
 * caller's IRQ state to restore, t's wait_result stored by its taker).
 * WAKE_IRQ: sched_wake_irq (flags 0: the caller's IRQs stay masked and it
 * is in an interrupt handler; wait_result stored by the taker). */
enum wake_mode { WAKE_PLAIN, WAKE_STORED, WAKE_IRQ };

/* sched_wake's body once this core's rq->lock is held (IRQs masked; mode
 * says what flags and result are). The common wake-up is local: t blocked
 * on this core's queue and stays here (pinned, or its registers still live
 * here, or on uniform cores it runs at once). That path is decided under
 * the lock without calls, as make_ready and preempt_point would decide it;
 * everything else (another core's queue, a deadline task, a placement the
 * policy must choose) takes wake_locked. Returns 0 (see sched_wake_unlock). */
static inline __attribute__((always_inline)) int wake_here(struct percpu *p,
                                                           struct runqueue *rq,
                                                           struct task *t, int32_t result,
                                                           uint64_t flags, enum wake_mode mode)
{
    bool masked = mode == WAKE_IRQ;
    /* t->cpu of a BLOCKED task changes only under its queue's lock (MOVING
     * first): checked under this core's, it is this core's or another's. */
    bool elsewhere;
    if (masked) {
        /* The common case of an interrupt dispatched by the idle loop
         * (idle current: IRQs reach it only there), tested first: t
         * stays here (pinned), nothing is queued, so the idle loop's
         * pick would choose t; it becomes current at once (on_cpu is
         * clear: idle runs here). */
        if (__builtin_expect(!wake_key_idle_diff(rq, t) && !rq->band_mask, 1)) {
            switch_from_idle(rq, rq->idle, t, now_ticks(), false);   /* pinned, nothing queued */
            spin_unlock(&rq->lock);
            return 0;
        }
        elsewhere = t->cpu != rq->cpu || t->state != TASK_BLOCKED;
    } else {
        uint64_t diff = wake_key_diff(rq, t);
        if (__builtin_expect(!diff && !rq->band_mask, 1)) {
            ready_plain_local(rq, t);
            if (mode == WAKE_PLAIN)
                t->wait_result = result;
            return ready_done(rq, -1, flags);
        }
        elsewhere = diff & WAKE_DIFF_NOT_HERE;
    }
    if (__builtin_expect(elsewhere, 0)) {
        spin_unlock(&rq->lock);
        rq = &runqueues[t->cpu];
        spin_lock(&rq->lock);
        return wake_general(rq, t, mode == WAKE_PLAIN ? result : t->wait_result,
                            masked ? read_sysreg(daif) : flags);
    }
    struct task *cur = rq->current;
    bool pinned = t->pinned;
    if (masked && (cur->flags & TASK_F_IDLE) && !rq->band_mask && !(t->flags & TASK_F_DL) &&
        sched_model.nlevels <= 1 && sched_affinity_allows(t->affinity, rq->cpu)) {
        /* The hand-off for a task that is not pinned, on uniform cores. */
        switch_from_idle(rq, cur, t, now_ticks(), switch_from_idle_slice(rq, t, 0));
        spin_unlock(&rq->lock);
        return 0;
    }
    bool stays = pinned || atomic_load_explicit(&t->on_cpu, memory_order_relaxed) ||
                 (sched_model.nlevels <= 1 && sched_affinity_allows(t->affinity, rq->cpu) &&
                  ((cur->flags & TASK_F_IDLE) || t->qos < cur->qos));
    if (masked)
        flags = read_sysreg(daif);
    if (__builtin_expect(!stays || (t->flags & TASK_F_DL), 0)) {
        return wake_general(rq, t, mode == WAKE_PLAIN ? result : t->wait_result, flags);
    }
    if (mode == WAKE_PLAIN)
        t->wait_result = result;
    if ((cur->flags & TASK_F_IDLE) && !rq->band_mask && p->in_irq) {
        wake_onto_idle(rq, cur, t, flags);   /* the idle loop's interrupt woke t */
        return 0;
    }
    return ready_here(rq, t, pinned, flags);
}

void sched_wake(struct task *t, int32_t result)
{
    uint64_t flags = arch_irq_save();
    struct percpu *p = this_cpu();
    struct runqueue *rq = p->rq;
    spin_lock(&rq->lock);
    wake_here(p, rq, t, result, flags, WAKE_PLAIN);
}

/* The waker's IRQs are masked already (flags: their state before), so no
 * second save; wq_lock is released before rq->lock is taken (t is off its
 * queue with its result: no other waker, timeout or cancel can end its
 * wait, see waitq_inline.h), so the two locks are never held together. */
int sched_wake_unlock(spinlock_t *wq_lock, uint64_t flags, struct task *t)
{
    struct percpu *p = this_cpu();
    struct runqueue *rq = p->rq;
    spin_unlock(wq_lock);
    spin_lock(&rq->lock);
    return wake_here(p, rq, t, 0, flags, WAKE_STORED);
}

/* The same wake, for a waker that holds no lock (sched.h). */
int sched_wake_masked(uint64_t flags, struct task *t)
{
    struct percpu *p = this_cpu();
    struct runqueue *rq = p->rq;
    spin_lock(&rq->lock);
    return wake_here(p, rq, t, 0, flags, WAKE_STORED);
}


void sched_wake_irq(struct task *t)
{
    struct percpu *p = this_cpu();
    struct runqueue *rq = p->rq;
    spin_lock(&rq->lock);
    wake_here(p, rq, t, 0, 0, WAKE_IRQ);
}

void sched_set_qos(struct task *t, unsigned qos)
{
    uint64_t flags;
    struct runqueue *rq = sched_lock_task(t, &flags);
    /* A deadline task within budget stays in band 0; when it overruns it
     * takes its effective class, which the QoS code keeps up to date. */
    if (t->qos != qos && !(t->flags & TASK_F_DL)) {
        if (rq->current == t)   /* whatever its state: see sched_reband_locked */
            charge_class(rq, qos, now_ticks());
        if (t->state == TASK_READY) {
            rq_remove(rq, t);
            t->qos = (uint8_t)qos;
            make_ready(rq, t);
        } else {
            t->qos = (uint8_t)qos;
            /* Running and now outranked by a waiting band: switch soon. */
            if (t->state == TASK_RUNNING && (rq->band_mask & ((1u << qos) - 1)))
                kick(rq);
        }
    }
    spin_unlock_irqrestore(&rq->lock, flags);
    preempt_point(flags);
}

/* Placement, and the queue of the core it chose: any task (task_spawn's
 * fast way queues a task pinned to its own core with sched_start_here). */
struct task *sched_start(struct task *t)
{
    /* A task pinned to one online core goes there (place's first rule). */
    bool pinned = t->pinned && (smp_online_mask() & t->affinity);
    if (pinned)
        t->cpu = (int8_t)__builtin_ctz(t->affinity);
    else
        t->cpu = (int8_t)sched_place(t, -1, cpu_id());
    uint64_t flags = arch_irq_save();
    struct runqueue *rq = this_rq();
    if (t->cpu == rq->cpu && !(t->flags & TASK_F_DL)) {
        spin_lock(&rq->lock);
        ready_here(rq, t, pinned, flags);
        return t;
    }
    rq = &runqueues[t->cpu];
    spin_lock(&rq->lock);
    make_ready(rq, t);
    spin_unlock_irqrestore(&rq->lock, flags);
    preempt_point(flags);
    return t;
}

/* sched_start's reschedule owed to the new task, out of line. */
static __attribute__((noinline)) struct task *sched_start_resched(struct task *t)
{
    sched_resched_now();
    return t;
}

/* The common start (task_spawn's fast way): placement's first rule, a
 * plain task pinned to this core, the spawner's, without its calls or
 * tests. t is READY with its cpu this core's (kernel/sched.h). Queued
 * here as ready_local would (pinned: nobody to nudge), its reschedule
 * decided by the running class: run_class is the running task's class,
 * QOS_COUNT while idle runs, so "t's band is better" is ready_local's
 * "idle runs, or t outranks what runs" in one compare. */
struct task *sched_start_here(struct task *t, struct runqueue *rq, uint64_t flags)
{
    spin_lock(&rq->lock);
    if (__builtin_expect(t->qos == rq->run_class, 1)) {
        rq_append_ready(rq, t);   /* its class runs: no stamp (band_filled) */
        slice_for_waiters(rq);
    } else {
        rq_append_ready(rq, t);
        if (t->qos < rq->run_class)
            rq->need_resched = true;
        else
            slice_for_waiters(rq);
    }
    bool resched = rq->need_resched;
    spin_unlock_irqrestore(&rq->lock, flags);
    if (__builtin_expect(resched && !(flags & ARCH_DAIF_I), 0))
        return sched_start_resched(t);
    return t;
}

