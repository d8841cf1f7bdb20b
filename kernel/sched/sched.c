/*
 * Per-core schedulers: run queues with five strict-priority bands, round
 * robin within a band, tickless time slices, preemption from the IRQ exit
 * path, cross-core wake-ups with an SGI only when the target must
 * reschedule, idle cores in WFI, and work stealing by idle cores.
 * See kernel/sched.h for the locking and switch protocol.
 *
 * This file: schedule, yield, blocking, the hand-offs (exit to a joiner,
 * join of a child never run, a wake and a block in one step), preemption
 * from interrupts, set-up. Switching primitives: sched_switch.h; wake-ups:
 * sched_wake.c; the idle loop and stealing: sched_idle.c; run-queue
 * primitives: sched_rq.h; placement and utilisation: sched_place.c; timers,
 * sleeps and timeouts: sched_timer.c; per-core statistics and energy:
 * sched_stats.c.
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
#include "sched_switch.h"

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

/* A time slice in counter ticks (sched_init). */
uint64_t sched_slice_ticks;

/* switch_to's uncommon work, out of line: prev ran for ran ticks. */
__attribute__((noinline)) void sched_switch_rare(struct runqueue *rq, struct task *prev,
                                             struct task *next, uint64_t ran, uint64_t now)
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

/* What schedule_pick_on decided: next, the task to switch to from prev
 * (rq->lock released; next is rq->current, not yet in TLS or TPIDRRO:
 * the switch's caller does that, switch_go); next == prev, prev runs on
 * (released); or next NULL, rq->lock still held, for the general way,
 * schedule_general(rq, prev, now). */
struct sched_pick {
    struct task *prev, *next;
    uint64_t now;
};

/* schedule() on rq, this core's queue, up to the switch: inlined where
 * blocking is hot (sched_block, sched_block_waitq_begin). Every
 * way out ends in the switch, so nothing of the caller's frame need live
 * across it: a caller reads what it needs again afterwards
 * (sched_current()). The inline paths are the common ones: the runnext
 * task, or at most one band waiting, plain tasks. blocking: the caller
 * (sched_block) has made the running task BLOCKED, so it is not queued (a
 * waker may have made it READY since: it is queued then). prev_on_general:
 * when the pick chooses prev itself, leave that to the general way too (a
 * caller that keeps its rare ways out of its frame). cur: the running
 * task if the caller has it at hand, else NULL (rq->current is read). */
static inline __attribute__((always_inline)) struct sched_pick
schedule_pick_on(struct runqueue *rq, bool blocking, bool prev_on_general, struct task *cur)
{
    spin_lock(&rq->lock);
    struct task *prev = cur ? cur : rq->current;
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
        /* Plain tasks of one class (equal switch keys, flags 0): no rare
         * flag, no idle hint, no class charge (run_class is prev's class,
         * so next's too); tested first, in one go. */
        uint32_t key = prev->switch_key;
        if (__builtin_expect(!(((uint32_t)next->switch_key ^ key) | (key >> 8)) && next != prev,
                             1)) {
            rq_take_runnext(rq);
            switch_account(rq, prev, next, now);
            if (!rq->slice_end)
                start_plain_slice(rq, next, now);
            spin_unlock(&rq->lock);
            return (struct sched_pick){prev, next, now};
        }
        uint32_t prev_flags = prev->flags;
        if (__builtin_expect((prev_flags | next->flags) & SWITCH_RARE_FLAGS, 0) ||
            (prev_on_general && next == prev))
            return (struct sched_pick){prev, NULL, now};
        rq_take_runnext(rq);
        if (next == prev) {
            keep_running(rq, prev, now);
            spin_unlock(&rq->lock);
            return (struct sched_pick){prev, prev, now};
        }
        switch_account(rq, prev, next, now);
        switch_handoff(rq, blocking ? 0 : prev_flags, next, now);   /* idle never blocks */
        spin_unlock(&rq->lock);
        return (struct sched_pick){prev, next, now};
    }
    uint32_t mask = rq->band_mask;
    uint32_t flags = prev->flags;
    if (mask)
        flags |= rq->head[__builtin_ctz(mask)]->flags;
    if (__builtin_expect((mask & (mask - 1)) || (flags & SWITCH_RARE_FLAGS), 0))
        return (struct sched_pick){prev, NULL, now};
    if (prev_on_general) {
        next = mask ? rq->head[__builtin_ctz(mask)] : rq->idle;
        if (next == prev)
            return (struct sched_pick){prev, NULL, now};
        if (mask)
            rq_pop_band(rq, __builtin_ctz(mask));
    } else {
        next = mask ? rq_pop_band(rq, __builtin_ctz(mask)) : rq->idle;
        if (next == prev) {
            keep_running(rq, prev, now);
            spin_unlock(&rq->lock);
            return (struct sched_pick){prev, prev, now};
        }
    }
    switch_account(rq, prev, next, now);
    switch_plain(rq, prev, next, now);
    spin_unlock(&rq->lock);
    return (struct sched_pick){prev, next, now};
}

/* schedule_pick_on and the switch (arch_switch: a full cooperative frame). */
static inline __attribute__((always_inline)) void schedule_on(struct runqueue *rq, bool blocking)
{
    struct sched_pick p = schedule_pick_on(rq, blocking, false, NULL);
    if (__builtin_expect(!p.next, 0))
        schedule_general(rq, p.prev, p.now);
    else if (p.next != p.prev)
        switch_go(p.prev, p.next);
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

/* sched_yield_begin's general way, out of line (its frame stays off the
 * fast path): rq->lock held; the whole yield through schedule(). */
static __attribute__((noinline)) struct sched_yield_switch yield_general(struct runqueue *rq)
{
    spin_unlock(&rq->lock);
    schedule();
    return (struct sched_yield_switch){NULL, 0};
}

/* task_yield for a caller with IRQs masked (kernel/task.h): the whole
 * yield through schedule(); IRQs stay masked. */
void sched_yield_masked(void) { schedule(); }

/* task_yield's scheduler part (kernel/task.h): the running task gives way
 * to the next of its band. The common case, a caller with IRQs enabled, a
 * band-mate waiting, nothing better queued and neither task idle, deadline
 * or app-accounted, rotates the band in place (the first waiter runs; the
 * yielder goes to the tail, or to runnext when it is then the only ready
 * task, so two yielders just swap places there): same band, so no class
 * charge; the queue length and idle hint do not change. The new task
 * inherits the running slice (one starts if none runs); when that slice
 * ends, run_timers lengthens it to a whole slice from the new task's start
 * (slice_inherited), so the yield costs the timer nothing and the new task
 * still gets a full slice. The caller then switches (arch_switch_min).
 * Anything else is yield_general. */
struct sched_yield_switch sched_yield_begin(void)
{
    struct runqueue *rq = this_rq();
    spin_lock(&rq->lock);
    struct task *prev = rq->current;
    struct task *next = rq->runnext;
    /* The two yielders' case first, its test of its own (one shared test
     * after yield_target costs 2-3 more instructions per yield): equal
     * switch keys with flags 0, so plain tasks of one band. */
    uint32_t key = prev->switch_key;
    if (__builtin_expect(next && !(((uint32_t)next->switch_key ^ key) | (key >> 8)), 1)) {
        rq->runnext = prev;   /* the two swap places */
    } else {
        unsigned b = prev->qos;
        next = yield_target(rq, b);
        if (!next || ((prev->flags | next->flags) & (SWITCH_RARE_FLAGS | TASK_F_IDLE)))
            return yield_general(rq);
        if (rq->nr_ready == 1) {
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
    }
    prev->state = TASK_READY;

    /* need_resched is left as it is: a request another core made (its SGI
     * still pending here) stays for that interrupt's exit to act on. */
    uint64_t now = now_ticks();
    switch_account_keep_resched(rq, prev, next, now);
    if (!rq->slice_end) {
        rq->slice_end = now + sched_slice_ticks;
        arm_by(rq, rq->slice_end);
    }
    spin_unlock(&rq->lock);

    switch_current(next);
    return (struct sched_yield_switch){prev, next->sp};
}

/* Under rq->lock, this core's: may t, a task blocked waiting for cur, get
 * the core from cur in place (the exit hand-off to a joiner, a wake and a
 * block in one step)? t must be blocked on this core (switched out: cur
 * runs here) and would run next (nothing of its band or above ready): the
 * pick would choose it. */
static inline __attribute__((always_inline)) bool handoff_would_pick(const struct runqueue *rq,
                                                                     const struct task *t)
{
    uint32_t ready = rq->band_mask;
    return t->cpu == rq->cpu && t->state == TASK_BLOCKED &&
           (__builtin_expect(!ready, 1) || !(ready & ((2u << t->qos) - 1)));
}

/* task_exit's hand-off to its joiner (see kernel/sched.h). j is BLOCKED on
 * this core only after its switch-out finished (this task runs here now), so
 * its registers are saved; the dead task's stack stays in use until j sees
 * its on_cpu clear, which arch_switch_final does as its last access to it. */
/* sched_exit_to's way under rq->lock when it is not the plain hand-off:
 * a deadline or app task on either side (sched_switch_rare), or the joiner
 * elsewhere or outranked here (a plain wake and switch). */
static __attribute__((noinline)) _Noreturn void exit_to_locked(struct runqueue *rq,
                                                               struct task *prev,
                                                               struct task *j)
{
    if (handoff_would_pick(rq, j)) {
        j->wait_result = WAIT_OK;
        uint64_t now = now_ticks();
        uint64_t ran = switch_account(rq, prev, j, now);
        sched_switch_rare(rq, prev, j, ran, now);
        spin_unlock(&rq->lock);
        switch_go_final(prev, j);
    } else {
        spin_unlock(&rq->lock);
        /* j is BLOCKED once it has released the exit_lock it registered
         * under (task_join_wait; task_exit_begin may not have taken it). */
        spin_lock(&prev->exit_lock);
        spin_unlock(&prev->exit_lock);
        sched_wake(j, WAIT_OK);
        schedule();
    }
    panic("sched_exit_to: dead task %s was scheduled again", prev->name);
}

/* The plain hand-off when it is not the one-class way: the joiner on
 * another core, or outranked here, or a deadline or app task on either
 * side (exit_to_locked); else between tasks of two classes, or with lower
 * bands ready here. Out of line, so that the one-class way tests little. */
__attribute__((noinline)) struct sched_exit_switch
exit_handoff_other(struct runqueue *rq, struct task *prev, struct task *j)
{
    uint32_t ready = rq->band_mask;
    if (j->cpu != rq->cpu || (ready & ((2u << j->qos) - 1)) ||
        ((prev->flags | j->flags) & SWITCH_RARE_FLAGS))
        exit_to_locked(rq, prev, j);
    return exit_handoff(rq, prev, j, same_plain_class(prev, j));
}

struct sched_exit_switch sched_exit_to(struct task *prev, struct task *j)
{
    return sched_exit_to_inline(prev, j);
}

/* A wait of the current task begins: BLOCKED with release, after the
 * stores before it. The wait number is not bumped here: only sched_block's
 * waits arm a timeout (with the number the wait runs under), and each
 * bumps it as it ends (wait_end), before the task can block again; so
 * when in_wait (state, then number) sees this wait BLOCKED, it sees a
 * number no timeout armed for an earlier wait has, however late it runs. */
static inline __attribute__((always_inline)) void wait_begin_(struct task *cur, bool pending)
{
    if (pending)
        cur->wait_result = WAIT_PENDING;
    sched_block_prepare(cur);
}

/* The wait of a task whose waker stores its result: WAIT_PENDING until
 * then, which a timeout or cancel that would end it looks for. */
static inline __attribute__((always_inline)) void wait_begin(struct task *cur)
{
    wait_begin_(cur, true);
}

/* The wait of sched_block_unlock and its begin: no result (its waiter
 * learns how it ended from its waker; no timeout or cancel ends it), so
 * wait_result is left as it is. */
static inline __attribute__((always_inline)) void wait_begin_unlock(struct task *cur)
{
    wait_begin_(cur, false);
}

/* Running again after a wait of sched_block's (timed or not): a new wait
 * number, so that its timeout, if one was armed and fires however late,
 * matches no later wait (see wait_begin_); the timeout off the queue if it
 * did not fire; the wait's result. Nothing from before the switch is live
 * here. */
static inline __attribute__((always_inline)) int32_t wait_end(void)
{
    struct task *cur = sched_current_fresh();
    cur->wait_seq++;
    if (__builtin_expect(timer_queued(&cur->timer), 0))
        sched_block_cancel_timeout(cur);
    return cur->wait_result;
}

/* The joiner's wait in sched_join_begin, under this core's rq->lock
 * (the joiner's): BLOCKED, a plain store, no more. The one reader that
 * pairs state and wait number, in_wait, holds the blocked task's run-queue
 * lock, this one, so no release is needed; the wait number needs no bump
 * (this wait arms no timeout, and every wait that armed one bumped it as
 * it ended: see wait_begin_). wait_result is left as the last wait ended
 * it (never WAIT_PENDING once a task runs: whoever ends a wait stores its
 * result): only a wait-queue waiter's takers and a cancellation point's
 * cancel look for WAIT_PENDING, and neither may end a join; its exit
 * stores WAIT_OK. */
static inline __attribute__((always_inline)) void join_wait_begin(struct task *cur)
{
    *(volatile uint8_t *)&cur->state = TASK_BLOCKED;
}

/* sched_join_begin's way when t is not this core's runnext task (or a
 * deadline or app task is involved): rq->lock released, the whole wait. */
static __attribute__((noinline)) struct sched_yield_switch join_general(struct runqueue *rq,
                                                                        struct task *t)
{
    spin_unlock(&rq->lock);
    task_join_wait(t);
    return (struct sched_yield_switch){NULL, 0};
}

/* sched_join_begin's hand-off to t, this core's runnext task, under
 * rq->lock: prev registered as t's joiner and blocked, t current. */
static inline __attribute__((always_inline)) struct sched_yield_switch
join_handoff(struct runqueue *rq, struct task *prev, struct task *t, bool same)
{
    t->joiner = prev;
    join_wait_begin(prev);
    rq_take_runnext(rq);
    handoff_account(rq, prev, t, same);
    spin_unlock(&rq->lock);
    switch_current(t);
    return (struct sched_yield_switch){prev, t->sp};
}

/* join_handoff between tasks of two classes (or join_general when either
 * is a deadline or app task), out of line as exit_handoff_classes. */
static __attribute__((noinline)) struct sched_yield_switch
join_handoff_classes(struct runqueue *rq, struct task *prev, struct task *t)
{
    if ((prev->flags | t->flags) & SWITCH_RARE_FLAGS)
        return join_general(rq, t);
    return join_handoff(rq, prev, t, false);
}

/* task_join's scheduler part (kernel/task.h, IRQs masked). A child that
 * has ended needs nothing; a child in this core's runnext slot gets the
 * core at once, as sched_block and schedule_on's runnext hand-off would
 * give it (prev and t are not idle), the joiner left to switch with a min
 * frame; anything else is join_general. */
struct sched_yield_switch sched_join_begin(struct task *t)
{
    if (t->state == TASK_DEAD) {
        /* Ended already: no lock. (A racy byte read: a stale value only
         * sends it the locked way.) The exit stored DEAD with release after
         * its value and status; this fence orders what follows after it. */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        return (struct sched_yield_switch){NULL, 0};
    }
    struct runqueue *rq = this_rq();
    spin_lock(&rq->lock);
    struct task *prev = rq->current;
    if (__builtin_expect(rq->runnext != t, 0))
        return join_general(rq, t);
    if (__builtin_expect(!same_plain_class(prev, t), 0))
        return join_handoff_classes(rq, prev, t);
    return join_handoff(rq, prev, t, true);
}

int32_t sched_block(spinlock_t *wq_lock, uint64_t deadline_ns)
{
    struct runqueue *rq = this_rq();
    struct task *cur = rq->current;
    wait_begin(cur);
    if (deadline_ns)
        sched_block_arm_timeout(rq, cur, deadline_ns);
    if (wq_lock)
        spin_unlock(wq_lock);
    schedule_on(rq, true);
    return wait_end();
}

/* The untimed blocks (sched_block_waitq, sched_block_unlock): no timer to
 * arm, and none to take off afterwards: every wait's end (wait_end, or the
 * timeout firing) leaves the task's timer unqueued, so an untimed wait
 * finds none. */
static inline __attribute__((always_inline)) void block_untimed(spinlock_t *wq_lock,
                                                                bool pending)
{
    struct runqueue *rq = this_rq();
    wait_begin_(rq->current, pending);
    spin_unlock(wq_lock);
    schedule_on(rq, true);
}

/* waiting_on is cleared here, as waitq_wait does after sched_block, so the
 * waiter's whole wait takes one frame. */
int32_t sched_block_waitq(spinlock_t *wq_lock, uint64_t irq_flags)
{
    block_untimed(wq_lock, true);
    struct task *cur = sched_current_fresh();
    cur->waiting_on = NULL;
    arch_irq_restore(irq_flags);
    return cur->wait_result;
}

/* sched_block_waitq without the wait queue's tail (see sched.h). */
void sched_block_unlock(spinlock_t *lock, uint64_t irq_flags)
{
    block_untimed(lock, false);
    arch_irq_restore(irq_flags);
}

/* sched_block_waitq_begin's way for a caller with IRQs masked (the inline
 * part enables IRQs after its switch, so it is never given one): the
 * whole wait. */
static __attribute__((noinline)) struct sched_block_switch block_waitq_whole(spinlock_t *wq_lock,
                                                                             uint64_t irq_flags)
{
    return (struct sched_block_switch){NULL, {.result = sched_block_waitq(wq_lock, irq_flags)}};
}

/* sched_block_waitq_begin's way when the pick is not a plain switch to
 * another task (rq->lock held): the wake came first and the task runs on,
 * or the general way switches and it runs again; then sched_block_waitq's
 * tail, for a caller that had IRQs enabled. Out of line, so that the begin
 * needs no frame. */
static __attribute__((noinline)) struct sched_block_switch
block_waitq_general(struct runqueue *rq, struct task *prev, uint64_t now)
{
    schedule_general(rq, prev, now);
    struct task *cur = sched_current_fresh();
    cur->waiting_on = NULL;
    arch_irq_enable();
    return (struct sched_block_switch){NULL, {.result = cur->wait_result}};
}

/* block_waitq_whole for sched_block_unlock_begin: no wait queue's tail. */
static __attribute__((noinline)) struct sched_block_switch block_unlock_whole(spinlock_t *lock,
                                                                              uint64_t irq_flags)
{
    sched_block_unlock(lock, irq_flags);
    return (struct sched_block_switch){NULL, {.result = SCHED_BLOCK_WOKEN}};
}

/* block_waitq_general for sched_block_unlock_begin: no wait queue's tail. */
static __attribute__((noinline)) struct sched_block_switch
block_unlock_general(struct runqueue *rq, struct task *prev, uint64_t now)
{
    schedule_general(rq, prev, now);
    arch_irq_enable();
    return (struct sched_block_switch){NULL, {.result = SCHED_BLOCK_WOKEN}};
}

/* The body of sched_block_waitq_begin and sched_block_unlock_begin:
 * block_untimed with schedule_pick_on in place of schedule_on, up to the
 * switch, which the caller makes with arch_switch_min. begin is the
 * wait's begin (wait_begin, or wait_begin_unlock: no result; wait_begun
 * with lock the constant NULL for a prepared wait, which releases none). whole and
 * general are the rare ways (a masked caller; not a plain switch to another task),
 * which do the whole wait out of line, so that the begin needs no frame.
 * A macro, not an inline function: GCC makes the rare ways tail calls only
 * from the function's own return statements. */
#define BLOCK_UNTIMED_BEGIN(lock, irq_flags, begin, whole, general)              \
    do {                                                                         \
        if (__builtin_expect((irq_flags) & (1u << 7), 0))                        \
            return whole(lock, irq_flags);                                       \
        struct runqueue *rq_ = this_rq();                                        \
        struct task *cur_ = sched_current();                                     \
        if (!cur_)                                                               \
            __builtin_unreachable();   /* a task blocks: schedule_pick_on's cur */ \
        begin(cur_);                                                             \
        if (!__builtin_constant_p(lock) || (lock))   /* NULL: prepared, no lock */ \
            spin_unlock(lock);                                                   \
        struct sched_pick p_ = schedule_pick_on(rq_, true, true, cur_);          \
        if (__builtin_expect(!p_.next, 0))                                       \
            return general(rq_, p_.prev, p_.now);                                \
        switch_current(p_.next);                                                 \
        return (struct sched_block_switch){p_.prev, {.next_sp = p_.next->sp}};   \
    } while (0)

/* sched_block_waitq up to the switch (see kernel/sched.h); the caller
 * ends the wait (waitq_wait_min_end). */
struct sched_block_switch sched_block_waitq_begin(spinlock_t *wq_lock, uint64_t irq_flags)
{
    BLOCK_UNTIMED_BEGIN(wq_lock, irq_flags, wait_begin, block_waitq_whole, block_waitq_general);
}

/* sched_block_unlock up to the switch (see kernel/sched.h). */
struct sched_block_switch sched_block_unlock_begin(spinlock_t *lock, uint64_t irq_flags)
{
    BLOCK_UNTIMED_BEGIN(lock, irq_flags, wait_begin_unlock, block_unlock_whole,
                        block_unlock_general);
}

/* block_unlock_whole for sched_block_prepared_begin: cur BLOCKED already,
 * no lock. */
static __attribute__((noinline)) struct sched_block_switch block_prepared_whole(void *none,
                                                                                uint64_t irq_flags)
{
    (void)none;
    schedule_on(this_rq(), true);
    arch_irq_restore(irq_flags);
    return (struct sched_block_switch){NULL, {.result = SCHED_BLOCK_WOKEN}};
}

/* A prepared wait's begin stores nothing: the task is BLOCKED already. */
static inline __attribute__((always_inline)) void wait_begun(struct task *cur) { (void)cur; }

/* sched_block_unlock_begin for a task BLOCKED already, no lock (sched.h). */
struct sched_block_switch sched_block_prepared_begin(uint64_t irq_flags)
{
    BLOCK_UNTIMED_BEGIN((spinlock_t *)NULL, irq_flags, wait_begun, block_prepared_whole,
                        block_unlock_general);
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

/* wait_end of a wait without a deadline: its result. Such a wait armed no
 * timer, and no timer of cur's is queued outside a timed wait (every wait
 * that armed one takes it off its queue as it ends, wait_end; only cur
 * arms it), so there is none to cancel. */
static inline __attribute__((always_inline)) int32_t wait_end_untimed(void)
{
    return sched_current_fresh()->wait_result;
}

/* sched_wake_block's hand-off, cur BLOCKED (and its timeout armed if
 * timed), under rq->lock: release wq_lock, make t current, switch. cur is
 * not the idle task (it blocks), so switch_handoff's idle hint never
 * changes here. */
static inline __attribute__((always_inline)) void
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
    switch_handoff(rq, 0, t, now);
    spin_unlock(&rq->lock);
    switch_go(cur, t);
}

/* The hand-off of a wait with a timeout (out of line: the call to arm it
 * would make the common way save registers). */
static __attribute__((noinline)) int32_t wake_block_timed(struct runqueue *rq, struct task *cur,
                                                          struct task *t, int32_t result,
                                                          spinlock_t *wq_lock,
                                                          uint64_t deadline_ns)
{
    sched_block_arm_timeout_locked(rq, cur, deadline_ns);
    wake_block_handoff(rq, cur, t, result, wq_lock);
    return wait_end();
}

/* sched_wake_block (kernel/sched.h), inlined into its two entries. */
static inline __attribute__((always_inline)) int32_t
wake_block(struct task *t, int32_t result, spinlock_t *wq_lock, uint64_t deadline_ns)
{
    struct runqueue *rq = this_rq();
    spin_lock(&rq->lock);
    struct task *cur = rq->current;
    /* t's state and cpu change only under this lock when t is ours (as in
     * sched_wake). */
    if (__builtin_expect(!handoff_would_pick(rq, t) ||
                         ((cur->flags | t->flags) & SWITCH_RARE_FLAGS), 0))
        return wake_then_block(rq, t, result, wq_lock, deadline_ns);
    wait_begin(cur);
    if (__builtin_expect(deadline_ns != 0, 0))
        return wake_block_timed(rq, cur, t, result, wq_lock, deadline_ns);
    wake_block_handoff(rq, cur, t, result, wq_lock);
    return wait_end_untimed();
}

int32_t sched_wake_block_(struct task *t, int32_t result, spinlock_t *wq_lock,
                          uint64_t deadline_ns)
{
    return wake_block(t, result, wq_lock, deadline_ns);
}

int32_t sched_wake_block_ok_(struct task *t, spinlock_t *wq_lock)
{
    if (!wq_lock)
        __builtin_unreachable();   /* the entry's condition (kernel/sched.h) */
    return wake_block(t, WAIT_OK, wq_lock, 0);
}

/* --- preemption from interrupts ----------------------------------------------------- */

/* In an exception taken from prev (whose state is saved or no longer
 * needed): rewrite *f so that the exception return resumes next. */
static void resume_from_exception(struct arch_frame *f, struct task *prev, struct task *next)
{
    atomic_store_explicit(&prev->on_cpu, 0, memory_order_release);
    switch_current(next);
    if ((next->sp & TASK_SP_MIN_TAG) == TASK_SP_MIN_TAG) {
        /* A min frame (arch_switch_min): eret into its pop, which clears
         * all of the FP/SIMD state first. */
        f->sp = next->sp & ~TASK_SP_MIN_TAG;
        f->elr = (uint64_t)arch_switch_resume_min_clean;
    } else if (next->sp & TASK_SP_FULL) {
        /* Resume a preempted task: eret into the routine that loads its frame in place. */
        f->x[0] = next->sp & ~TASK_SP_FULL;
        f->elr = (uint64_t)exception_resume_frame;
    } else {
        /* Resume a cooperatively switched task: eret into the pop routine,
         * which first clears what prev left in the FP/SIMD registers. */
        f->sp = next->sp;
        f->elr = (uint64_t)arch_switch_resume_clean;
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
    /* prev's frame goes below its stack pointer: with no room for it above
     * the guard page, the store would fault here and take the system down. */
    if (__builtin_expect(f->sp - prev->stack.base < sizeof(*f) + 16, 0)) {
        spin_unlock(&rq->lock);
        sched_kill_current_no_room(f, sizeof(*f));
        return;
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
    for (int c = 0; c < PLAT_MAX_CPUS; c++) {
        runqueues[c].cpu = c;
        runqueues[c].idle_mask = &sched_idle_mask;   /* note_idle_change: one load pair */
        runqueues[c].idle_bit = 1u << c;
        rq_local_wake_init(&runqueues[c]);
        runqueues[c].wake_mask_idle =   /* wake_key_idle_diff: the key less its class byte */
            runqueues[c].wake_mask & ~(0xffull << (8 * offsetof(struct task, qos)));
    }
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
    idle->cpu = (int8_t)cpu;
    idle->affinity = 1u << cpu;
    task_pin_note(idle);
    idle->state = TASK_RUNNING;
    atomic_store(&idle->on_cpu, 1);
    idle->tls = this_cpu()->tls;
    timer_init(&idle->timer);
    rq->run_start = now_ticks();
    rq->started = rq->run_start;
    rq->class_since = rq->run_start;
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

