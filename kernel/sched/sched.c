/*
 * Per-core schedulers: run queues with five strict-priority bands, round
 * robin within a band, tickless time slices, preemption from the IRQ exit
 * path, cross-core wake-ups with an SGI only when the target must
 * reschedule, idle cores in WFI, and work stealing by idle cores.
 * See kernel/sched.h for the locking and switch protocol.
 *
 * This file: switching, blocking, wake-ups, preemption from interrupts, the
 * idle loop and stealing. Run-queue primitives: sched_rq.h; placement and
 * utilisation: sched_place.c; timers, sleeps and timeouts: sched_timer.c;
 * per-core statistics and energy: sched_stats.c.
 */
#include <stdio.h>
#include <string.h>
#include <arch/cpu.h>
#include <arch/exception.h>
#include <arch/timer.h>
#include <kernel/app.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/panic.h>
#include <kernel/sched.h>
#include <kernel/sched_policy.h>
#include <kernel/smp.h>
#include <kernel/waitq.h>
#include "deadline.h"
#include "migrate.h"
#include "sched_internal.h"
#include "sched_rq.h"

struct runqueue runqueues[PLAT_MAX_CPUS];
static struct task idle_tasks[PLAT_MAX_CPUS];
/* Bit c: core c is running its idle task (a hint for wake-ups to steal). */
_Atomic uint32_t sched_idle_mask;

/* The shortest starvation bound in counter ticks (sched_init). */
static uint64_t starvation_min_ticks;

/* With several bands waiting: the band to run next by the policy's
 * starvation bounds (sched_policy_pick_class), b being the highest. A
 * deadline task within budget at the head of band 0 always goes first. */
__attribute__((noinline)) unsigned sched_pick_band(struct runqueue *rq, uint32_t mask,
                                                    unsigned b, uint64_t now)
{
    if (b == 0 && rq->head[0] && (rq->head[0]->flags & TASK_F_DL))
        return 0;
    /* Cheap filter: no lower band has waited as long as the shortest bound. */
    uint64_t oldest = now;
    for (uint32_t m = mask & ~(1u << b); m; m &= m - 1) {
        unsigned q = (unsigned)__builtin_ctz(m);
        if (q != rq->run_class && rq->band_since[q] < oldest)
            oldest = rq->band_since[q];
    }
    if (now - oldest <= starvation_min_ticks)
        return b;
    uint64_t since_ns[QOS_COUNT] = {0};
    for (uint32_t m = mask; m; m &= m - 1) {
        unsigned q = (unsigned)__builtin_ctz(m);
        /* The class running until now (its task just re-queued) has not waited. */
        since_ns[q] = arch_ticks_to_ns(q == rq->run_class ? now : rq->band_since[q]);
    }
    int q = sched_policy_pick_class(mask, since_ns, arch_ticks_to_ns(now));
    return q < 0 ? b : (unsigned)q;
}

/* Take the first task of the band that runs next off the queue (the highest
 * non-empty one unless a lower one is overdue); NULL if none. (The band's
 * class runs now: charge_class stamps band_since when it stops.) */
static inline struct task *rq_pop_first(struct runqueue *rq, uint64_t now)
{
    struct task *t = rq->runnext;
    if (t) {
        rq_take_runnext(rq);
        return t;
    }
    uint32_t mask = rq->band_mask;
    if (!mask)
        return NULL;
    unsigned b = __builtin_ctz(mask);
    if (mask & (mask - 1))
        b = sched_pick_band(rq, mask, b, now);
    return rq_pop_band(rq, b);
}

/* A time slice in counter ticks (sched_init). */
uint64_t sched_slice_ticks;

/* Entering or leaving the idle task: the sched_idle_mask hint follows. (Idle time
 * is the idle task's cpu_ticks; busy time is the rest.) */
static inline void note_idle_change(struct runqueue *rq, struct task *next)
{
    uint32_t bit = 1u << rq_cpu(rq);
    if (next->flags & TASK_F_IDLE)
        atomic_fetch_or_explicit(&sched_idle_mask, bit, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&sched_idle_mask, ~bit, memory_order_relaxed);
}

/* The flags that take a switch off its common path: a deadline task
 * (budget), an app member (its run time is charged to the app). */
#define SWITCH_RARE_FLAGS (TASK_F_DL | TASK_F_APP)

/* switch_to's uncommon work, out of line: prev ran for ran ticks. */
static __attribute__((noinline)) void switch_to_rare(struct runqueue *rq, struct task *prev,
                                                     struct task *next, uint64_t ran,
                                                     uint64_t now)
{
    if (prev->flags & TASK_F_APP)
        qos_account(prev, ran, rq_cpu(rq));
    if (prev->flags & TASK_F_DL) {
        int q = dl_charge(rq, prev, prev->cpu_ticks);
        if (q >= 0)
            sched_reband_locked(rq, prev, (unsigned)q);   /* overran: its own class from now on */
    }
    charge_class(rq, class_of(next), now);
    if ((next->flags | prev->flags) & TASK_F_IDLE)
        note_idle_change(rq, next);
    rq_start_slice(rq, next, now);
}

/* switch_to's common case, neither task having SWITCH_RARE_FLAGS: the idle
 * hint when the idle task comes or goes, the class charge, next's slice. */
static inline __attribute__((always_inline)) void switch_plain(struct runqueue *rq,
                                                               struct task *prev,
                                                               struct task *next, uint64_t now)
{
    if (__builtin_expect((prev->flags | next->flags) & TASK_F_IDLE, 0)) {
        note_idle_change(rq, next);
        charge_class(rq, class_of(next), now);
    } else {
        charge_class(rq, next->qos, now);
    }
    start_plain_slice(rq, next, now);
}

/* The part of every switch under rq->lock: next (off the queue, != prev)
 * becomes current; run time and counters. Returns how long prev ran. */
static inline __attribute__((always_inline)) uint64_t switch_account(struct runqueue *rq,
                                                                     struct task *prev,
                                                                     struct task *next,
                                                                     uint64_t now)
{
    next->state = TASK_RUNNING;
    /* A relaxed store of on_cpu = 1 as one STRB with an offset (GCC's
     * atomic store computes the address first). */
    __asm__ volatile("strb %w1, %0" : "=m"(*(uint8_t *)&next->on_cpu) : "r"(1));
    rq->current = next;
    rq->need_resched = false;
    uint64_t ran = now - prev->run_start;
    prev->cpu_ticks += ran;
    next->run_start = now;
    next->switches++;
    rq->switches++;
    return ran;
}

/* switch_to's common case for a hand-off (neither task having
 * SWITCH_RARE_FLAGS; next is not idle): prev gives the core to next while
 * nothing of next's band or above waits (next came from runnext, or an
 * exiting task hands over to its joiner). As switch_plain, except that next
 * inherits the slice that is running, as Go's runnext does, and one starts
 * only if none runs (start_plain_slice's rule: lower bands wait, or next is
 * migrate_watched). A slice is what lets band-mates in; none wait now, and
 * one queued later finds a slice running or starts one (ready_local,
 * should_preempt). Lower bands' starvation bounds are checked at its end
 * as at any slice's. So a wake -> block chain of tasks on one core shares
 * one slice and costs the timer nothing per switch; whoever runs when it
 * ends gets a whole slice from its own start (run_timers, slice_inherited). */
static inline __attribute__((always_inline)) void switch_handoff(struct runqueue *rq,
                                                                 uint32_t prev_flags,
                                                                 struct task *next, uint64_t now)
{
    if (__builtin_expect(prev_flags & TASK_F_IDLE, 0))
        note_idle_change(rq, next);
    charge_class(rq, next->qos, now);
    if (!rq->slice_end)
        start_plain_slice(rq, next, now);
}

/* Under rq->lock, next != prev and next off the queue: make next current
 * on this core, account the switch and start next's slice. */
static inline __attribute__((always_inline)) void switch_to(struct runqueue *rq,
                                                            struct task *prev,
                                                            struct task *next, uint64_t now)
{
    uint64_t ran = switch_account(rq, prev, next, now);
    if (__builtin_expect((prev->flags | next->flags) & SWITCH_RARE_FLAGS, 0))
        switch_to_rare(rq, prev, next, ran, now);
    else
        switch_plain(rq, prev, next, now);
}

/* Under rq->lock: the pick chose the task that was running; it runs on. */
static inline __attribute__((always_inline)) void keep_running(struct runqueue *rq, struct task *t, uint64_t now)
{
    t->state = TASK_RUNNING;
    rq->need_resched = false;
    if (!rq->slice_end)
        rq_start_slice(rq, t, now);
}

/* Under rq->lock: choose what runs next on this core and make it current.
 * prev stays queued/blocked as its state says. */
static inline __attribute__((always_inline)) struct task *
pick_and_set(struct runqueue *rq, struct task *prev, uint64_t now)
{
    struct task *next = rq_pop_first(rq, now);
    if (!next)
        next = rq->idle;
    if (next != prev)
        switch_to(rq, prev, next, now);
    else
        keep_running(rq, prev, now);
    return next;
}

static inline void switch_tls(struct task *next)
{
    __asm__ volatile("msr tpidr_el0, %0" : : "r"(next->tls));
}

/* The running task, read afresh (sched_current() may be reused from before
 * a switch, which would keep it live across the switch for nothing). */
static inline struct task *sched_current_fresh(void)
{
    return (struct task *)read_sysreg(tpidrro_el0);
}

/* Out of the lock: run next in place of prev (this core's current task). */
static inline __attribute__((always_inline)) void switch_go(struct task *prev, struct task *next)
{
    switch_tls(next);
    sched_set_current(next);
    arch_switch(&prev->sp, &prev->on_cpu, next->sp);
}

/* schedule_inline's way when several bands wait (starvation bounds) or
 * either task has SWITCH_RARE_FLAGS: the general pick and switch. */
static __attribute__((noinline)) void schedule_general(struct runqueue *rq, struct task *prev,
                                                       uint64_t now)
{
    struct task *next = pick_and_set(rq, prev, now);
    spin_unlock(&rq->lock);
    if (next != prev)
        switch_go(prev, next);
}

/* schedule() on rq, this core's queue, inlined where blocking is hot
 * (sched_block, the idle loop). Every way out ends in the switch, so nothing
 * of the caller's frame need live across it: a caller reads what it needs
 * again afterwards (sched_current()). The inline paths are the common ones:
 * the runnext task, or at most one band waiting, plain tasks. blocking: the
 * caller (sched_block) has made the running task BLOCKED, so it is not
 * queued (a waker may have made it READY since: it is queued then). */
static inline __attribute__((always_inline)) void schedule_on(struct runqueue *rq, bool blocking)
{
    spin_lock(&rq->lock);
    struct task *prev = rq->current;
    if (!blocking && prev->state == TASK_RUNNING) {
        if (prev->flags & TASK_F_IDLE)
            prev->state = TASK_READY;   /* idle: never queued */
        else
            rq_enqueue(rq, prev);
    }
    uint64_t now = now_ticks();
    /* Two tails, the hand-off's and the pick's, on purpose: one shared tail
     * choosing between switch_handoff and switch_plain cost 3 more
     * instructions per block (sem_pingpong_same 434 -> 440). */
    struct task *next = rq->runnext;
    if (next) {
        uint32_t prev_flags = prev->flags;
        if (__builtin_expect((prev_flags | next->flags) & SWITCH_RARE_FLAGS, 0)) {
            schedule_general(rq, prev, now);
            return;
        }
        rq_take_runnext(rq);
        if (next == prev) {
            keep_running(rq, prev, now);
            spin_unlock(&rq->lock);
            return;
        }
        switch_account(rq, prev, next, now);
        switch_handoff(rq, prev_flags, next, now);
        spin_unlock(&rq->lock);
        switch_go(prev, next);
        return;
    }
    uint32_t mask = rq->band_mask;
    uint32_t flags = prev->flags;
    if (mask)
        flags |= rq->head[__builtin_ctz(mask)]->flags;
    if (__builtin_expect((mask & (mask - 1)) || (flags & SWITCH_RARE_FLAGS), 0)) {
        schedule_general(rq, prev, now);
        return;
    }
    next = mask ? rq_pop_band(rq, __builtin_ctz(mask)) : rq->idle;
    if (next == prev) {
        keep_running(rq, prev, now);
        spin_unlock(&rq->lock);
        return;
    }
    switch_account(rq, prev, next, now);
    switch_plain(rq, prev, next, now);
    spin_unlock(&rq->lock);
    switch_go(prev, next);
    /* prev runs again here, possibly on another core. */
}

static inline __attribute__((always_inline)) void schedule_inline(void)
{
    schedule_on(this_rq(), false);
}

void schedule(void) { schedule_inline(); }

/* The band-mate a yield in band b gives way to in place (the first of the
 * band), or NULL when none waits or a higher band does. */
static inline struct task *yield_target(const struct runqueue *rq, unsigned b)
{
    struct task *t = rq->runnext;
    if (t)
        return t->qos == b ? t : NULL;   /* the only ready task */
    return (rq->band_mask & ((1u << b) - 1)) ? NULL : rq->head[b];
}

/* task_yield: the running task gives way to the next of its band. The
 * common case, a band-mate waiting, nothing better queued and neither task
 * idle, deadline or app-accounted, rotates the band in place (the first
 * waiter runs; the yielder goes to the tail, or to runnext when it is then
 * the only ready task, so two yielders just swap places there): same band,
 * so no class charge; the queue length and idle hint do not change. The new
 * task inherits the running slice (one starts if none runs); when that
 * slice ends, run_timers lengthens it to a whole slice from the new task's
 * start (slice_over), so the yield costs the timer nothing and the new task
 * still gets a full slice. Anything else takes schedule(). */
void task_yield(void)
{
    uint64_t flags = arch_irq_save();
    struct runqueue *rq = this_rq();
    spin_lock(&rq->lock);
    struct task *prev = rq->current;
    unsigned b = prev->qos;
    struct task *slot = rq->runnext;
    struct task *next = yield_target(rq, b);
    if (!next || ((prev->flags | next->flags) & (SWITCH_RARE_FLAGS | TASK_F_IDLE))) {
        spin_unlock(&rq->lock);
        schedule();
        arch_irq_restore(flags);
        return;
    }
    prev->state = TASK_READY;
    if (slot) {
        rq->runnext = prev;
    } else if (rq->nr_ready == 1) {
        rq->head[b] = rq->tail[b] = NULL;   /* next was the only ready task: */
        rq->runnext = prev;                 /* now prev is */
    } else {
        prev->next = NULL;
        prev->prev = rq->tail[b];
        rq->tail[b]->next = prev;
        rq->tail[b] = prev;
        rq->head[b] = next->next;
        next->next->prev = NULL;   /* next->next is at least prev */
    }

    uint64_t now = now_ticks();
    switch_account(rq, prev, next, now);
    if (!rq->slice_end) {
        rq->slice_end = now + sched_slice_ticks;
        arm_by(rq, rq->slice_end);
    }
    spin_unlock(&rq->lock);

    switch_tls(next);
    sched_set_current(next);
    arch_switch(&prev->sp, &prev->on_cpu, next->sp);
    arch_irq_restore(flags);
}

/* task_exit's hand-off to its joiner (see kernel/sched.h). j is BLOCKED on
 * this core only after its switch-out finished (this task runs here now), so
 * its registers are saved; the dead task's stack stays mapped until j sees
 * its on_cpu clear, which arch_switch does after saving into it. */
/* sched_exit_to's way under rq->lock when it is not the plain hand-off:
 * a deadline or app task on either side (switch_to_rare), or the joiner
 * elsewhere or outranked here (a plain wake and switch). */
static __attribute__((noinline)) _Noreturn void exit_to_locked(struct runqueue *rq,
                                                               struct task *prev,
                                                               struct task *j)
{
    if (j->cpu == rq->cpu && j->state == TASK_BLOCKED &&
        !(rq->band_mask & ((2u << j->qos) - 1))) {
        j->wait_result = WAIT_OK;
        uint64_t now = now_ticks();
        uint64_t ran = switch_account(rq, prev, j, now);
        switch_to_rare(rq, prev, j, ran, now);
        spin_unlock(&rq->lock);
        switch_go(prev, j);
    } else {
        spin_unlock(&rq->lock);
        sched_wake(j, WAIT_OK);
        schedule();
    }
    panic("sched_exit_to: dead task %s was scheduled again", prev->name);
}

_Noreturn void sched_exit_to(struct task *j)
{
    struct runqueue *rq = this_rq();
    spin_lock(&rq->lock);
    struct task *prev = rq->current;
    if (__builtin_expect(j->cpu != rq->cpu || j->state != TASK_BLOCKED ||
                         (rq->band_mask & ((2u << j->qos) - 1)) ||
                         ((prev->flags | j->flags) & SWITCH_RARE_FLAGS), 0))
        exit_to_locked(rq, prev, j);
    /* The plain hand-off: neither task is idle (prev is dying, j blocked). */
    j->wait_result = WAIT_OK;
    uint64_t now = now_ticks();
    switch_account(rq, prev, j, now);
    switch_handoff(rq, 0, j, now);
    spin_unlock(&rq->lock);
    switch_go(prev, j);
    panic("sched_exit_to: dead task %s was scheduled again", sched_current_fresh()->name);
}

bool sched_join_runnext(struct task *t)
{
    struct runqueue *rq = this_rq();
    if (rq->runnext != t)
        return false;   /* a racy hint: checked again under the lock */
    spin_lock(&rq->lock);
    struct task *prev = rq->current;
    if (rq->runnext != t || ((prev->flags | t->flags) & SWITCH_RARE_FLAGS)) {
        spin_unlock(&rq->lock);
        return false;
    }
    /* As sched_block (a new wait number, then BLOCKED) and schedule_on's
     * runnext hand-off; prev and t are not idle. */
    t->joiner = prev;
    prev->wait_seq++;
    prev->wait_result = WAIT_PENDING;
    __atomic_store_n(&prev->state, TASK_BLOCKED, __ATOMIC_RELEASE);
    rq_take_runnext(rq);
    uint64_t now = now_ticks();
    switch_account(rq, prev, t, now);
    switch_handoff(rq, 0, t, now);
    spin_unlock(&rq->lock);
    switch_go(prev, t);
    return true;
}

/* --- wake-ups ---------------------------------------------------------------- */

/* In task context with IRQs enabled, act on a reschedule this core owes. */
static inline __attribute__((always_inline)) void preempt_point(uint64_t irq_flags)
{
    if (irq_flags & (1u << 7))
        return;   /* the caller's caller is in a masked section: it acts later */
    struct runqueue *rq = this_rq();
    if (!rq->need_resched || this_cpu()->in_irq || (rq->current->flags & TASK_F_IDLE))
        return;
    arch_irq_disable();
    schedule();
    arch_irq_restore(irq_flags);
}

void sched_resched_now(void) { preempt_point(read_sysreg(daif)); }

void sched_nudge(const struct task *t) { nudge_idle_core(t, t->cpu); }

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
    if (t->state == TASK_READY) {
        rq_remove(rq, t);   /* from the band it was queued in */
        t->qos = (uint8_t)band;
        make_ready(rq, t);
        return;
    }
    if (t->state == TASK_RUNNING && rq->current == t)
        charge_class(rq, band, now_ticks());   /* the running class changes */
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
    if (sched_model.nlevels <= 1 &&
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
    t->cpu = (int16_t)to;
    task_ext(t)->migrations++;
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

/* Under rq->lock (t->cpu's queue): the general wake-up. */
__attribute__((noinline)) void sched_wake_locked(struct runqueue *rq, struct task *t,
                                                   int32_t result, uint64_t flags)
{
    if (t->state != TASK_BLOCKED) {
        spin_unlock_irqrestore(&rq->lock, flags);
        return;
    }
    wake_locked(rq, t, result, flags);
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
    if (!rq->slice_end) {
        /* Waiting behind the running task (its band or a lower one, whose
         * starvation bound the slice ends check): start its slice. */
        rq->slice_end = now_ticks() + sched_slice_ticks;
        arm_by(rq, rq->slice_end);
    }
    if (pinned)
        return -1;
    return idle_core_for(t, rq->cpu);
}

/* After a local wake-up, out of line: nudge an idle core (nudge >= 0) to
 * steal, then act on a reschedule this core owes. */
static __attribute__((noinline)) void wake_finish(int nudge)
{
    if (nudge >= 0)
        ipi_send(IPI_WAKE, nudge);
    sched_resched_now();
}

/* Under this core's rq->lock (taken with IRQ state flags): make t ready
 * here (ready_local), release, then nudge or reschedule if needed. */
static inline __attribute__((always_inline)) void ready_here(struct runqueue *rq, struct task *t,
                                                             bool pinned, uint64_t flags)
{
    int nudge = ready_local(rq, t, pinned);
    bool resched = rq->need_resched;
    spin_unlock_irqrestore(&rq->lock, flags);
    if (__builtin_expect(nudge >= 0 || (resched && !(flags & (1u << 7))), 0))
        wake_finish(nudge);
}

/* Under rq->lock: switch_to for prev = this core's idle task and next a
 * task off the queue that is neither idle nor a deadline task (switch_to_rare
 * does for it what switch_plain does): switch_account, then the idle hint,
 * the class charge and next's slice, without switch_plain's tests.
 * band_mask: rq->band_mask now (the caller's copy; its slice rule). */
static inline __attribute__((always_inline)) void switch_from_idle(struct runqueue *rq,
                                                                   struct task *idle,
                                                                   struct task *next,
                                                                   uint64_t now,
                                                                   uint32_t band_mask)
{
    /* start_plain_slice's rule, decided before the stores below. */
    bool slice = band_mask || migrate_watched(rq, next);
    idle->state = TASK_READY;   /* never queued */
    switch_account(rq, idle, next, now);
    atomic_fetch_and_explicit(&sched_idle_mask, ~(1u << rq_cpu(rq)), memory_order_relaxed);
    /* charge_class from idle's class: run_class is QOS_COUNT while the idle
     * task is current (every other charge is for a current task that is
     * not idle), and nothing reads band_since[QOS_COUNT]. */
    rq->class_ticks[QOS_COUNT] += now - rq->class_since;
    rq->class_since = now;
    rq->run_class = next->qos;
    if (slice) {   /* start_plain_slice */
        rq->slice_end = now + sched_slice_ticks;
        arm_by(rq, rq->slice_end);
    } else {
        rq->slice_end = 0;
    }
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
    switch_from_idle(rq, idle, t, now_ticks(), 0);   /* nothing queued: sched_wake checked */
    spin_unlock_irqrestore(&rq->lock, flags);
}

/* The common wake-up is local: t blocked on this core's queue and stays
 * here (pinned, or its registers still live here, or on uniform cores it
 * runs at once). That path is decided under the lock without calls, as
 * make_ready and preempt_point would decide it; everything else (another
 * core's queue, a deadline task, a placement the policy must choose) takes
 * wake_locked. */
void sched_wake(struct task *t, int32_t result)
{
    uint64_t flags = arch_irq_save();
    struct percpu *p = this_cpu();
    struct runqueue *rq = p->rq;
    spin_lock(&rq->lock);
    /* t->cpu of a BLOCKED task changes only under its queue's lock (MOVING
     * first): checked under this core's, it is this core's or another's. */
    if (__builtin_expect(t->cpu != rq->cpu || t->state != TASK_BLOCKED, 0)) {
        spin_unlock(&rq->lock);
        rq = &runqueues[t->cpu];
        spin_lock(&rq->lock);
        sched_wake_locked(rq, t, result, flags);
        return;
    }
    struct task *cur = rq->current;
    bool pinned = t->pinned;
    bool stays = pinned || atomic_load_explicit(&t->on_cpu, memory_order_relaxed) ||
                 (sched_model.nlevels <= 1 && ((cur->flags & TASK_F_IDLE) || t->qos < cur->qos));
    if (__builtin_expect(!stays || (t->flags & TASK_F_DL), 0)) {
        sched_wake_locked(rq, t, result, flags);
        return;
    }
    t->wait_result = result;
    if ((cur->flags & TASK_F_IDLE) && !rq->band_mask && p->in_irq) {
        wake_onto_idle(rq, cur, t, flags);   /* uart9: the idle loop's interrupt woke t */
        return;
    }
    ready_here(rq, t, pinned, flags);
}

void sched_set_qos(struct task *t, unsigned qos)
{
    uint64_t flags;
    struct runqueue *rq = sched_lock_task(t, &flags);
    /* A deadline task within budget stays in band 0; when it overruns it
     * takes its effective class, which the QoS code keeps up to date. */
    if (t->qos != qos && !(t->flags & TASK_F_DL)) {
        if (t->state == TASK_READY) {
            rq_remove(rq, t);
            t->qos = (uint8_t)qos;
            make_ready(rq, t);
        } else {
            if (t->state == TASK_RUNNING && rq->current == t)
                charge_class(rq, qos, now_ticks());
            t->qos = (uint8_t)qos;
            /* Running and now outranked by a waiting band: switch soon. */
            if (t->state == TASK_RUNNING && (rq->band_mask & ((1u << qos) - 1)))
                kick(rq);
        }
    }
    spin_unlock_irqrestore(&rq->lock, flags);
    preempt_point(flags);
}

/* sched_start's way for a task not pinned to this core, or a deadline
 * task: placement, and the queue of the core it chose. */
static __attribute__((noinline)) struct task *sched_start_general(struct task *t)
{
    /* A task pinned to one online core goes there (place's first rule). */
    bool pinned = t->pinned && (smp_online_mask() & t->affinity);
    if (pinned)
        t->cpu = (int16_t)__builtin_ctz(t->affinity);
    else
        t->cpu = (int16_t)sched_place(t, -1, cpu_id());
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

struct task *sched_start(struct task *t) { return sched_start_masked(t, arch_irq_save()); }

/* sched_start's reschedule owed to the new task, out of line. */
static __attribute__((noinline)) struct task *sched_start_resched(struct task *t)
{
    sched_resched_now();
    return t;
}

/* The common start, a plain task pinned to this core (the spawner's: it
 * is online), is placement's first rule without its calls: queued here
 * (ready_here), nobody to nudge. Everything else: sched_start_general. */
struct task *sched_start_masked(struct task *t, uint64_t flags)
{
    struct runqueue *rq = this_rq();
    int cpu = rq_cpu(rq);
    if (__builtin_expect(t->affinity != 1u << cpu || (t->flags & TASK_F_DL), 0)) {
        arch_irq_restore(flags);
        return sched_start_general(t);
    }
    t->cpu = (int16_t)cpu;
    spin_lock(&rq->lock);
    ready_local(rq, t, true);   /* pinned: no core to nudge */
    bool resched = rq->need_resched;
    spin_unlock_irqrestore(&rq->lock, flags);
    if (__builtin_expect(resched && !(flags & (1u << 7)), 0))
        return sched_start_resched(t);
    return t;
}

int32_t sched_block(spinlock_t *wq_lock, uint64_t deadline_ns)
{
    struct runqueue *rq = this_rq();
    struct task *cur = rq->current;
    /* A new wait number first, then BLOCKED with release (in_wait reads them
     * in the other order): a timeout armed for an earlier wait can no longer
     * match, however late it runs. */
    cur->wait_seq++;
    cur->wait_result = WAIT_PENDING;
    __atomic_store_n(&cur->state, TASK_BLOCKED, __ATOMIC_RELEASE);
    if (deadline_ns)
        sched_block_arm_timeout(rq, cur, deadline_ns);
    if (wq_lock)
        spin_unlock(wq_lock);
    schedule_on(rq, true);
    /* Running again: nothing of the above is live across the switch. */
    cur = sched_current_fresh();
    if (__builtin_expect(timer_queued(&cur->timer), 0))
        sched_block_cancel_timeout(cur);
    return cur->wait_result;
}


/* sched_wake_block when it is not the hand-off: the two calls, rq->lock
 * released first. */
static __attribute__((noinline)) int32_t wake_then_block(struct runqueue *rq, struct task *t,
                                                         int32_t result, spinlock_t *wq_lock,
                                                         uint64_t deadline_ns)
{
    spin_unlock(&rq->lock);
    sched_wake(t, result);
    return sched_block(wq_lock, deadline_ns);
}

/* sched_wake_block's hand-off, cur BLOCKED (and its timeout armed), under
 * rq->lock: release wq_lock, make t current, switch. */
static inline __attribute__((always_inline)) int32_t
wake_block_handoff(struct runqueue *rq, struct task *cur, struct task *t, int32_t result,
                   spinlock_t *wq_lock)
{
    /* A waker of cur that gets wq_lock now finds it BLOCKED with its
     * registers live (on_cpu) and queues it here once rq->lock is free. */
    if (wq_lock)
        spin_unlock(wq_lock);
    t->wait_result = result;
    uint64_t now = now_ticks();
    switch_account(rq, cur, t, now);
    switch_handoff(rq, cur->flags, t, now);
    spin_unlock(&rq->lock);
    switch_go(cur, t);
    /* Running again: as sched_block's end. */
    cur = sched_current_fresh();
    if (__builtin_expect(timer_queued(&cur->timer), 0))
        sched_block_cancel_timeout(cur);
    return cur->wait_result;
}

/* The hand-off of a wait with a timeout (out of line: the call to arm it
 * would make the common way save registers). */
static __attribute__((noinline)) int32_t wake_block_timed(struct runqueue *rq, struct task *cur,
                                                          struct task *t, int32_t result,
                                                          spinlock_t *wq_lock,
                                                          uint64_t deadline_ns)
{
    sched_block_arm_timeout_locked(rq, cur, deadline_ns);
    return wake_block_handoff(rq, cur, t, result, wq_lock);
}

int32_t sched_wake_block(struct task *t, int32_t result, spinlock_t *wq_lock,
                         uint64_t deadline_ns)
{
    struct runqueue *rq = this_rq();
    spin_lock(&rq->lock);
    struct task *cur = rq->current;
    /* t's state and cpu change only under this lock when t is ours (as in
     * sched_wake); a BLOCKED task of this core is switched out, since cur
     * runs here. */
    if (__builtin_expect(t->cpu != rq->cpu || t->state != TASK_BLOCKED ||
                         (rq->band_mask & ((2u << t->qos) - 1)) ||
                         ((cur->flags | t->flags) & SWITCH_RARE_FLAGS), 0))
        return wake_then_block(rq, t, result, wq_lock, deadline_ns);
    /* As sched_block: a new wait number, then BLOCKED with release. */
    cur->wait_seq++;
    cur->wait_result = WAIT_PENDING;
    __atomic_store_n(&cur->state, TASK_BLOCKED, __ATOMIC_RELEASE);
    if (__builtin_expect(deadline_ns != 0, 0))
        return wake_block_timed(rq, cur, t, result, wq_lock, deadline_ns);
    return wake_block_handoff(rq, cur, t, result, wq_lock);
}

/* --- preemption from interrupts ----------------------------------------------------- */

/* In an exception taken from prev (whose state is saved or no longer
 * needed): rewrite *f so that the exception return resumes next. */
static void resume_from_exception(struct arch_frame *f, struct task *prev, struct task *next)
{
    atomic_store_explicit(&prev->on_cpu, 0, memory_order_release);
    switch_tls(next);
    sched_set_current(next);
    if (next->sp & TASK_SP_FULL) {
        /* Resume a preempted task: eret into the routine that loads its frame in place. */
        f->x[0] = next->sp & ~TASK_SP_FULL;
        f->elr = (uint64_t)exception_resume_frame;
    } else {
        /* Resume a cooperatively switched task: eret into the pop routine. */
        f->sp = next->sp;
        f->elr = (uint64_t)arch_switch_resume;
    }
    f->spsr = 0x3c4;   /* EL1t, DAIF masked: the resumed frame or schedule() restores them */
    f->fp_saved = 0;   /* prev's FP/SIMD state is saved or dead: not loaded on the way out */
}

void sched_irq_exit(struct arch_frame *f)
{
    struct runqueue *rq = this_rq();
    if (!rq->need_resched)
        return;
    spin_lock(&rq->lock);
    struct task *prev = rq->current;
    if (prev->flags & TASK_F_IDLE) {
        spin_unlock(&rq->lock);
        return;   /* idle reschedules from its own loop */
    }
    int move_to = migrate_take(rq, prev);   /* asked to move: not queued here */
    if (move_to < 0)
        rq_enqueue(rq, prev);
    else
        prev->state = TASK_MOVING;
    struct task *next = pick_and_set(rq, prev, now_ticks());
    spin_unlock(&rq->lock);
    if (next == prev)
        return;

    /* Save prev's full state (FP/SIMD included) on its own stack. */
    struct arch_frame *saved = (struct arch_frame *)((f->sp - sizeof(*f)) & ~15ull);
    arch_frame_save_preempted(saved, f);
    prev->sp = (uint64_t)saved | TASK_SP_FULL;
    resume_from_exception(f, prev, next);
    if (move_to >= 0)
        migrate_finish(prev, rq_cpu(rq), move_to);   /* its registers are saved */
}

void sched_switch_from_dead(struct arch_frame *f)
{
    struct runqueue *rq = this_rq();
    spin_lock(&rq->lock);
    struct task *prev = rq->current;
    struct task *next = pick_and_set(rq, prev, now_ticks());
    spin_unlock(&rq->lock);
    resume_from_exception(f, prev, next);
}

/* --- idle and stealing ---------------------------------------------------------------- */

/* Views for an idle core's steal (core_view, showing only the other online
 * cores with waiting tasks); false when none of them has a task the policy
 * might let this core take, so an idle core looking for work costs little
 * when there is none. */
static bool steal_view(struct sched_core_view *v, int me)
{
    uint32_t online = smp_online_mask();
    uint32_t queued = 0;
    bool worth = false;
    for (uint32_t others = online & ~(1u << me); others; others &= others - 1) {
        int c = __builtin_ctz(others);
        if (!__atomic_load_n(&runqueues[c].band_mask, __ATOMIC_RELAXED))
            continue;
        core_view_one(&v[c], c, online);
        queued |= 1u << c;
        worth |= sched_view_may_steal_from(&v[c]);
    }
    if (!worth)
        return false;
    for (int c = 0; c < platform.ncpus; c++)
        if (!((queued >> c) & 1))
            v[c].online = false;
    return true;
}

/* Take one ready task that may run here from the busiest other core. */
static bool steal(struct runqueue *rq)
{
    int me = rq_cpu(rq);
    struct sched_core_view v[PLAT_MAX_CPUS];
    if (!steal_view(v, me))
        return false;
    struct sched_steal s = sched_policy_steal(&sched_model, v, me);
    if (s.victim < 0)
        return false;
    struct runqueue *vq = &runqueues[s.victim];
    struct task *got = NULL;
    spin_lock(&vq->lock);
    for (struct task *t = rq_first_of_band(vq, s.qos); t; t = t == vq->runnext ? NULL : t->next) {
        if (atomic_load_explicit(&t->on_cpu, memory_order_acquire))
            continue;
        if (!sched_affinity_allows(t->affinity, me))
            continue;
        rq_remove(vq, t);
        t->state = TASK_MOVING;
        got = t;
        break;
    }
    spin_unlock(&vq->lock);
    if (!got)
        return false;
    spin_lock(&rq->lock);
    got->cpu = (int16_t)me;
    task_ext(got)->migrations++;
    rq_enqueue(rq, got);
    spin_unlock(&rq->lock);
    return true;
}

/* Each core's idle task restarts idle_loop on this stack pointer whenever
 * it runs again (sched_idle_loop's frame, above it, stays as it was). */
static uint64_t idle_restart_sp[PLAT_MAX_CPUS];

static _Noreturn void idle_loop(void);

/* Out of the lock (IRQs masked): leave this core's idle task for next (the
 * current task already), saving nothing: idle restarts idle_loop on its
 * own stack when something switches back to it. */
static inline __attribute__((always_inline)) _Noreturn void idle_leave(struct task *idle,
                                                                      struct task *next,
                                                                      uint64_t restart_sp)
{
    switch_tls(next);
    sched_set_current(next);
    arch_switch_restart(&idle->sp, &idle->on_cpu, next->sp, restart_sp, idle_loop);
    __builtin_unreachable();
}

/* idle_switch's general case (several bands, or a deadline or app task
 * first): pick_and_set. Returns when idle runs on. */
static __attribute__((noinline)) void idle_switch_general(struct runqueue *rq, struct task *idle,
                                                          uint64_t now, uint64_t restart_sp)
{
    idle->state = TASK_READY;   /* never queued */
    struct task *next = pick_and_set(rq, idle, now);
    spin_unlock(&rq->lock);
    if (next != idle)
        idle_leave(idle, next, restart_sp);
}

/* The idle loop's way to the tasks queued here: schedule_on for prev =
 * this core's idle task (never queued, nothing kept across the switch).
 * Returns when idle runs on. Inline: the common case, one band waiting
 * with a plain task first (switch_from_idle). */
static inline __attribute__((always_inline)) void idle_switch(struct runqueue *rq,
                                                              struct task *idle,
                                                              uint64_t restart_sp)
{
    spin_lock(&rq->lock);
    uint64_t now = now_ticks();
    struct task *next = rq->runnext;
    if (next) {   /* the only ready task */
        if (__builtin_expect(next->flags & SWITCH_RARE_FLAGS, 0)) {
            idle_switch_general(rq, idle, now, restart_sp);
            return;
        }
        rq_take_runnext(rq);
    } else {
        uint32_t mask = rq->band_mask;
        unsigned b = (unsigned)__builtin_ctz(mask | (1u << 31));
        if (__builtin_expect(!mask || (mask & (mask - 1)) ||
                             (rq->head[b]->flags & SWITCH_RARE_FLAGS), 0)) {
            idle_switch_general(rq, idle, now, restart_sp);
            return;
        }
        next = rq_pop_band(rq, b);
    }
    switch_from_idle(rq, idle, next, now, rq->band_mask);
    spin_unlock(&rq->lock);
    idle_leave(idle, next, restart_sp);
}

/* The idle loop, after a dispatch in which wake_onto_idle made t current
 * while idle still ran, and another wake-up after it asked for a
 * reschedule (a better task, a migration request): t goes back to the
 * queue as if it had never been switched to (first in its band, where it
 * was woken first; its switch uncounted; its registers were saved all
 * along: on_cpu clear) and the pick runs with it as prev. The handler's
 * time since the handoff stays charged to t, as interrupt time is charged
 * to the running task. Returns the task to leave for (t again if the pick
 * keeps it). */
static __attribute__((noinline)) struct task *idle_handoff_repick(struct runqueue *rq)
{
    spin_lock(&rq->lock);
    struct task *t = rq->current;
    rq_push_front(rq, t);
    struct task *next = pick_and_set(rq, t, now_ticks());
    if (next != t) {
        t->switches--;
        rq->switches--;
        atomic_store_explicit(&t->on_cpu, 0, memory_order_release);
    }
    spin_unlock(&rq->lock);
    return next;
}

/* The idle task's body, entered afresh each time the idle task runs again:
 * reap, find work (or sleep until an interrupt), run it. IRQs stay masked
 * throughout: interrupts reach the idle task only through its own dispatch
 * below, never the exception path (wake_onto_idle relies on it). hot: GCC
 * otherwise treats a noreturn function as run once and keeps spin_lock,
 * charge_class and migrate_watched out of line here. */
static __attribute__((hot)) _Noreturn void idle_loop(void)
{
    struct runqueue *rq = this_rq();
    struct task *idle = rq->idle;
    uint64_t restart_sp = idle_restart_sp[rq_cpu(rq)];
    for (;;) {
        task_reap();
        if (!rq->nr_ready && !steal(rq)) {
            uint64_t t = now_ticks();
            atomic_store_explicit(&rq->wfi_since, t, memory_order_relaxed);
            wfi();
            atomic_store_explicit(&rq->wfi_since, 0, memory_order_relaxed);
            rq->wfi_ticks += now_ticks() - t;
            /* IRQs stay masked in idle: dispatch here. Our own timer needs
             * no controller round trip: its handler disarms it, which
             * lowers its line (see irq_run_asserted). */
            if (arch_timer_fired())
                irq_run_asserted(platform.timer.virt_irq);
            else
                irq_dispatch_idle();
        }
        if (rq->current != idle)
            idle_leave(idle, rq->need_resched ? idle_handoff_repick(rq) : rq->current,
                       restart_sp);
        if (rq->nr_ready || rq->need_resched)
            idle_switch(rq, idle, restart_sp);
    }
}

_Noreturn void sched_idle_loop(void)
{
    uint64_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    arch_irq_disable();
    idle_restart_sp[cpu_id()] = sp;
    idle_loop();
}

/* --- setup and stats --------------------------------------------------------------- */

void sched_init(void)
{
    sched_slice_ticks = arch_ns_to_ticks(SCHED_SLICE_NS);
    starvation_min_ticks = UINT64_MAX;
    for (unsigned q = 0; q < QOS_COUNT; q++) {
        uint64_t bound = sched_policy_starvation_bound(q);
        if (bound && arch_ns_to_ticks(bound) < starvation_min_ticks)
            starvation_min_ticks = arch_ns_to_ticks(bound);
    }
    for (int c = 0; c < PLAT_MAX_CPUS; c++)
        runqueues[c].cpu = c;
    sched_place_init();
    migrate_init();
    sched_timer_init();
}

void sched_init_cpu(void)
{
    int cpu = cpu_id();
    struct runqueue *rq = &runqueues[cpu];
    struct task *idle = &idle_tasks[cpu];
    snprintf(idle->name, sizeof(idle->name), "idle%d", cpu);
    idle->flags = TASK_F_IDLE;
    idle->qos = QOS_BACKGROUND;
    idle->cpu = (int16_t)cpu;
    idle->affinity = 1u << cpu;
    task_pin_note(idle);
    idle->state = TASK_RUNNING;
    atomic_store(&idle->on_cpu, 1);
    idle->tls = this_cpu()->tls;
    timer_init(&idle->timer);
    idle->run_start = now_ticks();
    rq->started = idle->run_start;
    rq->class_since = idle->run_start;
    rq->run_class = QOS_COUNT;
    /* The timer heap's first allocation at boot, not at the core's first
     * sleep: what a core holds after boot does not depend on its history. */
    if (timerq_reserve(&rq->timers, TIMERQ_INITIAL_CAP) != 0)
        panic("sched: no memory for the timer heap of cpu %d", cpu);
    rq->idle = idle;
    rq->current = idle;
    this_cpu()->rq = rq;
    sched_set_current(idle);
    atomic_fetch_or(&sched_idle_mask, 1u << cpu);
}

