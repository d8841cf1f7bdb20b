/*
 * The idle task of each core and work stealing: reap ended tasks, take
 * work from the busiest core the policy picks (affinity respected), or
 * sleep in WFI with IRQs masked and dispatch the interrupt that ends it
 * here; leave for the task it made ready without saving registers (the
 * idle loop restarts from its fixed record next time).
 */
#include <arch/cpu.h>
#include <arch/timer.h>
#include <kernel/app.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/irq_inline.h>
#include <kernel/panic.h>
#include <kernel/sched.h>
#include <kernel/sched_policy.h>
#include <kernel/smp.h>
#include "deadline.h"
#include "migrate.h"
#include "sched_internal.h"
#include "sched_rq.h"
#include "sched_switch.h"

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
    sched_task_arrive(got, me);   /* pinned again if it may run only here */
    rq_enqueue(rq, got);
    spin_unlock(&rq->lock);
    return true;
}

static _Noreturn void idle_loop(void);

/* Out of the lock (IRQs masked): leave this core's idle task for next (the
 * current task already), saving nothing: the idle task's record is fixed
 * (sched_idle_loop), and switching back to it starts idle_loop afresh. */
static inline __attribute__((always_inline)) _Noreturn void idle_leave(struct task *idle,
                                                                      struct task *next)
{
    switch_current(next);
    arch_switch_final_min(idle, next->sp);   /* a min frame resumed inline */
}

/* idle_switch's general case (several bands, or a deadline or app task
 * first): pick_and_set. Returns when idle runs on. */
static __attribute__((noinline)) void idle_switch_general(struct runqueue *rq, struct task *idle,
                                                          uint64_t now)
{
    idle->state = TASK_READY;   /* never queued */
    struct task *next = pick_and_set(rq, idle, now);
    spin_unlock(&rq->lock);
    if (next != idle)
        idle_leave(idle, next);
}

/* The idle loop's way to the tasks queued here: schedule_on for prev =
 * this core's idle task (never queued, nothing kept across the switch).
 * Returns when idle runs on. Inline: the common case, one band waiting
 * with a plain task first (switch_from_idle). */
static inline __attribute__((always_inline)) void idle_switch(struct runqueue *rq,
                                                              struct task *idle)
{
    spin_lock(&rq->lock);
    uint64_t now = now_ticks();
    struct task *next = rq->runnext;
    if (next) {   /* the only ready task */
        if (__builtin_expect(next->flags & SWITCH_RARE_FLAGS, 0)) {
            idle_switch_general(rq, idle, now);
            return;
        }
        rq_take_runnext(rq);
    } else {
        uint32_t mask = rq->band_mask;
        unsigned b = (unsigned)__builtin_ctz(mask | (1u << 31));
        if (__builtin_expect(!mask || (mask & (mask - 1)) ||
                             (rq->head[b]->flags & SWITCH_RARE_FLAGS), 0)) {
            idle_switch_general(rq, idle, now);
            return;
        }
        next = rq_pop_band(rq, b);
    }
    switch_from_idle(rq, idle, next, now, switch_from_idle_slice(rq, next, rq->band_mask));
    spin_unlock(&rq->lock);
    idle_leave(idle, next);
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
    const bool eoi_icc = irq_chip_eoi_is_icc();   /* the dispatch's EOI inline, no test */
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
            if (arch_timer_fired()) {
                irq_run_asserted(platform.timer.virt_irq);
            } else {
                irq_dispatch_idle(this_cpu(), eoi_icc);
                /* The hand-off's way out (wake_onto_idle), straight after
                 * the dispatch (no branch back to the test below). */
                if (__builtin_expect(rq->current != idle && !rq->need_resched, 1))
                    idle_leave(idle, rq->current);
            }
        }
        if (rq->current != idle)
            idle_leave(idle, rq->need_resched ? idle_handoff_repick(rq) : rq->current);
        if (rq->nr_ready || rq->need_resched)
            idle_switch(rq, idle);
    }
}

/* The boot context of each core becomes its idle task here. Its record
 * is built once, just below this function's frame, and never changes: a
 * min frame resuming arch_restart_entry, which enters idle_loop with sp
 * just below the record (struct arch_restart_frame), so nothing the loop
 * pushes overwrites it. Every switch to the idle task starts the loop
 * afresh; every switch away saves nothing (idle_leave). */
_Noreturn void sched_idle_loop(void)
{
    uint64_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    arch_irq_disable();
    struct arch_restart_frame *f = (struct arch_restart_frame *)((sp - sizeof(*f)) & ~15ull);
    f->min.fp = 0;
    f->min.lr = (uint64_t)arch_restart_entry;
    f->fn = (uint64_t)idle_loop;
    f->unused = 0;
    struct task *idle = this_rq()->idle;
    idle->sp = (uint64_t)f | TASK_SP_MIN_TAG;
    arch_resume(idle->sp);
}
