/*
 * Switching primitives shared by the scheduler files that switch tasks
 * (private to kernel/sched/): sched.c (schedule, yield, block, the
 * hand-offs, preemption from interrupts), sched_wake.c (wake-ups, the
 * wake onto an idle core), sched_idle.c (the idle loop) and task.c (the
 * exit's hand-off to its joiner, inline in task_exit_begin). The pick, the
 * accounting every switch does, and the switch itself. All inline: they
 * are the hot paths. Callers hold rq->lock, IRQs masked, unless a function
 * says otherwise.
 */
#ifndef KERNEL_SCHED_SWITCH_H
#define KERNEL_SCHED_SWITCH_H

#include <arch/cpu.h>
#include <kernel/sched.h>
#include "migrate.h"
#include "sched_internal.h"
#include "sched_rq.h"

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

/* Entering or leaving the idle task: the sched_idle_mask hint follows. (Idle time
 * is the idle task's cpu_ticks; busy time is the rest.) */
static inline void note_idle_change(struct runqueue *rq, struct task *next)
{
    if (next->flags & TASK_F_IDLE)
        atomic_fetch_or_explicit(rq->idle_mask, rq->idle_bit, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(rq->idle_mask, ~rq->idle_bit, memory_order_relaxed);
}

/* The flags that take a switch off its common path: a deadline task
 * (budget), an app member (its run time is charged to the app). */
#define SWITCH_RARE_FLAGS (TASK_F_DL | TASK_F_APP)

/* switch_to's uncommon work, out of line (sched.c): prev ran for ran ticks. */
void sched_switch_rare(struct runqueue *rq, struct task *prev, struct task *next, uint64_t ran,
                       uint64_t now);

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
 * becomes current; run time and counters. Returns how long prev ran. A
 * reschedule asked for before stays asked for (see switch_account). */
static inline __attribute__((always_inline)) uint64_t
switch_account_keep_resched(struct runqueue *rq, struct task *prev, struct task *next, uint64_t now)
{
    /* on_cpu = 1 (relaxed) and state RUNNING as one STRH at the task
     * pointer (GCC's atomic store would compute the address first), its
     * constant 1 shared with the stores around it. */
    *(volatile uint16_t *)&next->cpu_state = TASK_CPU_STATE(1, TASK_RUNNING);
    rq->current = next;
    /* rq->run_start and rq->switches as one pair (an LDP and an STP). */
    struct { uint64_t run_start, switches; } acct;
    _Static_assert(offsetof(struct runqueue, switches) == offsetof(struct runqueue, run_start) + 8,
                   "run_start, switches adjacent");
    __builtin_memcpy(&acct, &rq->run_start, sizeof(acct));
    uint64_t ran = now - acct.run_start;
    prev->cpu_ticks += ran;
    acct.run_start = now;
    acct.switches++;
    __builtin_memcpy(&rq->run_start, &acct, sizeof(acct));
    next->switches++;
    return ran;
}

/* switch_account_keep_resched for a switch that is the pick a reschedule
 * asked for: the request is met. (Leaving it set is always safe, only
 * slower: the next interrupt exit picks again and keeps what runs.) */
static inline __attribute__((always_inline)) uint64_t switch_account(struct runqueue *rq,
                                                                     struct task *prev,
                                                                     struct task *next,
                                                                     uint64_t now)
{
    rq->need_resched = false;
    return switch_account_keep_resched(rq, prev, next, now);
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
        sched_switch_rare(rq, prev, next, ran, now);
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

/* next becomes this core's running task: its TLS block (TPIDR_EL0, for
 * picolibc's errno and __thread) and the current-task register. */
static inline void switch_current(struct task *next)
{
    __asm__ volatile("msr tpidr_el0, %0" : : "r"(next->tls));
    sched_set_current(next);
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
    switch_current(next);
    arch_switch(prev, next->sp);
}

/* switch_go for a prev that has ended and never runs again (the exit
 * hand-offs): nothing of it is saved. */
static inline __attribute__((always_inline)) _Noreturn void switch_go_final(struct task *prev,
                                                                            struct task *next)
{
    switch_current(next);
    arch_switch_final(prev, next->sp);
}

/* Under rq->lock: switch_to for prev = this core's idle task and next a
 * task off the queue that is neither idle nor a deadline task (sched_switch_rare
 * does for it what switch_plain does): switch_account, then the idle hint,
 * the class charge and next's slice, without switch_plain's tests.
 * slice: start_plain_slice's rule, switch_from_idle_slice(rq, next,
 * rq->band_mask), decided by the caller (before the stores below; a caller
 * that knows next pinned and nothing queued passes false). */
static inline bool switch_from_idle_slice(const struct runqueue *rq, const struct task *next,
                                          uint32_t band_mask)
{
    return band_mask || migrate_watched(rq, next);
}

static inline __attribute__((always_inline)) void switch_from_idle(struct runqueue *rq,
                                                                   struct task *idle,
                                                                   struct task *next,
                                                                   uint64_t now, bool slice)
{
    idle->state = TASK_READY;   /* never queued */
    switch_account(rq, idle, next, now);
    atomic_fetch_and_explicit(rq->idle_mask, ~rq->idle_bit, memory_order_relaxed);
    /* charge_class from idle's class: run_class is QOS_COUNT while the idle
     * task is current (every other charge is for a current task that is
     * not idle), and nothing reads band_since[QOS_COUNT] or
     * class_ticks[QOS_COUNT]: idle's time is its cpu_ticks, charged above
     * (switch_account) over the same stretch, so only the new class's
     * start is stamped. */
    rq->class_since = now;
    rq->run_class = next->qos;
    if (slice) {   /* start_plain_slice */
        rq->slice_end = now + sched_slice_ticks;
        arm_by(rq, rq->slice_end);
    } else {
        rq->slice_end = 0;
    }
}

/* --- the exit's and the join's hand-offs (sched.c, task.c) -------------------------- */

/* Two plain tasks of one class (equal switch keys, flags 0: no rare
 * flag, and run_class, prev's class, is next's too), tested in one go as
 * schedule_pick_on's runnext hand-off does. */
static inline __attribute__((always_inline)) bool same_plain_class(const struct task *prev,
                                                                   const struct task *next)
{
    uint32_t key = prev->switch_key;
    return !(((uint32_t)next->switch_key ^ key) | (key >> 8));
}

/* The join's and the exit's hand-off of this core from prev (not idle) to
 * next, under rq->lock: switch_account without clearing need_resched (a
 * request made before stays for the interrupt exit or preemption point
 * that acts on it: leaving it is always safe, see switch_account), then
 * switch_handoff, whose class charge two tasks of one class (same) skip. */
static inline __attribute__((always_inline)) void handoff_account(struct runqueue *rq,
                                                                  struct task *prev,
                                                                  struct task *next, bool same)
{
    uint64_t now = now_ticks();
    switch_account_keep_resched(rq, prev, next, now);
    if (__builtin_expect(same, 1)) {
        if (!rq->slice_end)
            start_plain_slice(rq, next, now);
    } else {
        switch_handoff(rq, 0, next, now);
    }
}

/* The plain hand-off, a leaf: handoff_would_pick without its state test.
 * A joiner whose cpu is this core's while the exiting task runs here is
 * switched out; registered as the joiner, it is blocked in task_join, and
 * only this exit wakes it: BLOCKED. */
static inline __attribute__((always_inline)) struct sched_exit_switch
exit_handoff(struct runqueue *rq, struct task *prev, struct task *j, bool same)
{
    /* Neither task is idle (prev is dying, j blocked). j's wait_result is
     * not stored: a joiner of the runnext way left it as its last wait
     * ended it, and one blocked in task_join_wait's sched_block (whose
     * WAIT_PENDING only waitq takers and a cancel of a BLOCKED task in a
     * cancellation point look for: none can see j, it runs from here on)
     * stores WAIT_OK itself as it returns. */
    handoff_account(rq, prev, j, same);
    spin_unlock(&rq->lock);
    switch_current(j);
    return (struct sched_exit_switch){prev, j->sp};
}

/* Bytes 4 to 7 of both tasks (qos, flags, life, cpu) compared at once:
 * same_plain_class, and j's core is prev's (this one: prev runs here). */
static inline __attribute__((always_inline)) bool same_plain_class_here(const struct task *prev,
                                                                        const struct task *j)
{
    _Static_assert(offsetof(struct task, qos) == 4 && offsetof(struct task, flags) == 5 &&
                       offsetof(struct task, life) == 6 && offsetof(struct task, cpu) == 7 &&
                       __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                   "qos, flags, life, cpu");
    uint32_t wp, wj;
    __builtin_memcpy(&wp, &prev->qos, sizeof(wp));
    __builtin_memcpy(&wj, &j->qos, sizeof(wj));
    /* prev's flags (byte 1) shifted onto byte 3, whose difference (cpu)
     * must be 0 as well; byte 2 (life, and prev's qos shifted) left out. */
    return !(((wj ^ wp) | (wp << 16)) & 0xff00ffffu);
}

/* exit_handoff_other (sched.c): the exit's hand-off when it is not the
 * one-class way below. */
struct sched_exit_switch exit_handoff_other(struct runqueue *rq, struct task *prev,
                                            struct task *j);

/* sched_exit_to (kernel/sched.h), inline where the exit is hot (task.c's
 * task_exit_begin): no call between the exit and its hand-off. */
static inline __attribute__((always_inline)) struct sched_exit_switch
sched_exit_to_inline(struct task *prev, struct task *j)
{
    struct runqueue *rq = this_rq();
    spin_lock(&rq->lock);   /* prev is rq->current: it runs here */
    /* The one-class way: nothing ready here (so nothing outranks j), both
     * plain tasks of one class, j on this core. */
    if (__builtin_expect(rq->band_mask || !same_plain_class_here(prev, j), 0))
        return exit_handoff_other(rq, prev, j);
    return exit_handoff(rq, prev, j, true);
}

#endif
