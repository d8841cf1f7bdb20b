/* Scheduler internals shared by kernel/sched files (not a public API). */
#ifndef KERNEL_SCHED_INTERNAL_H
#define KERNEL_SCHED_INTERNAL_H

#include <stdatomic.h>
#include <kernel/sched.h>
#include <kernel/sched_policy.h>

/* The task whose sleep or wait timeout tm is, or NULL for other timers.
 * Under tm's run-queue lock. */
const struct task *sched_timer_task(const struct timer *tm);
/* Views of the online cores in mask; the others are shown offline. */
void sched_core_views(struct sched_core_view *v, uint32_t mask);
/* Under rq->lock, this core's: bring the running task's utilisation to now. */
void sched_util_refresh_current(struct runqueue *rq, uint64_t now);
/* t is TASK_MOVING with its registers saved: make it ready on core to
 * (counted as a migration). */
void sched_move_in(struct task *t, int to);
/* t (MOVING, off every queue) now belongs to core to, under to's lock: its
 * core, whether it is pinned there (task_set_affinity unpins a task re-pinned
 * away from the core it was on) and one more migration. Every move sets
 * them here: sched_move_in and a steal. */
static inline void sched_task_arrive(struct task *t, int to)
{
    t->cpu = (int8_t)to;
    t->pinned = t->affinity == 1u << to;
    task_ext(t)->migrations++;
}

/* --- state shared by the scheduler files (sched.c, sched_place.c, sched_timer.c) */

/* Bit c: core c is running its idle task (a hint for wake-ups to steal). */
extern _Atomic uint32_t sched_idle_mask;
static inline uint32_t sched_idle_cores(void)
{
    return atomic_load_explicit(&sched_idle_mask, memory_order_relaxed);
}
/* A time slice in counter ticks (set by sched_init). */
extern uint64_t sched_slice_ticks;
/* The policy's core model (capacities, power, levels), built by sched_place_init. */
extern struct sched_core_model sched_model;

/* sched_init's parts: the core model and utilisation bounds; the timer interrupt. */
void sched_place_init(void);
void sched_timer_init(void);

/* Where t should run (new: prev_cpu -1), by sched_policy_place with shortcuts
 * that agree with it. */
int sched_place(const struct task *t, int prev_cpu, int this_cpu);
/* t not running: bring its utilisation up to date where placement needs it. */
void sched_util_refresh(struct task *t);
/* With several bands waiting (mask, b the highest): the band to run next by
 * the starvation bounds. */
unsigned sched_pick_band(struct runqueue *rq, uint32_t mask, unsigned b, uint64_t now);
/* Program rq's core's timer for its earliest deadline (asks that core by IPI
 * when rq is another core's). Under rq->lock. */
void sched_program_timer(struct runqueue *rq);
/* Under rq->lock (t's queue), taken with IRQ state flags: wake t with result
 * if it is still blocked; releases the lock and acts on a reschedule owed. */
void sched_wake_locked(struct runqueue *rq, struct task *t, int32_t result, uint64_t flags);
/* sched_block's timeout: arm cur's timer on rq (this core) for its wait; and
 * take it off again once woken before it fired. */
void sched_block_arm_timeout(struct runqueue *rq, struct task *cur, uint64_t deadline_ns);
/* The same under rq->lock (rq this core's). */
void sched_block_arm_timeout_locked(struct runqueue *rq, struct task *cur, uint64_t deadline_ns);
void sched_block_cancel_timeout(struct task *cur);

#endif
