/*
 * Run-queue primitives shared by the scheduler files (private to
 * kernel/sched/): the bands, the hardware timer that follows slice ends and
 * timer deadlines, class charging, and the wake-up decisions. All inline:
 * they are on the switch, wake and timer-interrupt paths. Callers hold
 * rq->lock unless a function says otherwise.
 */
#ifndef KERNEL_SCHED_RQ_H
#define KERNEL_SCHED_RQ_H

#include <stdatomic.h>
#include <arch/cpu.h>
#include <arch/timer.h>
#include <kernel/irq.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include "deadline.h"
#include "migrate.h"
#include "sched_internal.h"

/* Scheduler bookkeeping time (run time, slices, stamps): the relaxed
 * counter read; run_timers decides expiry with arch_counter. */
static inline uint64_t now_ticks(void) { return arch_counter_relaxed(); }

/* Starvation bounds count a band's wait from the later of when it last
 * became non-empty and when its class last ran (band_since). A class
 * stops running when the running class changes (charge_class stamps it).
 * A band filling up while its class runs, or above the running class (it
 * runs next), needs no stamp; one filling up below the running class
 * does: band_filled. */
static inline void band_filled(struct runqueue *rq, unsigned b)
{
    if (b > rq->run_class && !(rq->band_mask & (1u << b)))
        rq->band_since[b] = now_ticks();
}

/* --- run queue ---------------------------------------------------------------- */

/*
 * The runnext slot (as Go's scheduler's runnext). Invariant: rq->runnext,
 * when set, is the core's only ready task: a plain (not deadline) task in
 * TASK_READY, counted in nr_ready (== 1) and band_mask (== its band's bit,
 * as if queued, so other cores' views, stealing, preemption and the
 * starvation bounds see it), linked in no band list (every list is empty).
 * A plain task made ready on a core with nothing else ready goes there (one
 * store instead of a list insertion); the next task queued there first
 * moves it into its band's list (rq_runnext_flush), so the order of the
 * bands and within each band is exactly the lists' order. The pick takes
 * it directly; remove and steal know it.
 */

/* The runnext task joins its band's list (as its only member). */
static inline void rq_runnext_flush(struct runqueue *rq)
{
    struct task *t = rq->runnext;
    unsigned b = t->qos;
    t->next = t->prev = NULL;
    rq->head[b] = rq->tail[b] = t;
    rq->runnext = NULL;
}

/* Take the runnext task off the queue (it is the only ready task). */
static inline void rq_take_runnext(struct runqueue *rq)
{
    rq->runnext = NULL;
    rq->band_mask = 0;
    rq->nr_ready = 0;
}

/* The first ready task of band b, runnext included, or NULL. */
static inline struct task *rq_first_of_band(const struct runqueue *rq, unsigned b)
{
    struct task *t = rq->runnext;
    return t ? (t->qos == b ? t : NULL) : rq->head[b];
}

/* A deadline task within budget goes into band 0 ahead of the plain tasks,
 * after the deadline tasks due no later than it (EDF, FIFO among equals). */
static void rq_enqueue_dl(struct runqueue *rq, struct task *t)
{
    band_filled(rq, 0);
    if (rq->runnext)
        rq_runnext_flush(rq);
    struct task *x = rq->head[0];
    while (x && (x->flags & TASK_F_DL) && !dl_earlier(t, x))
        x = x->next;
    t->next = x;
    t->prev = x ? x->prev : rq->tail[0];
    if (t->prev)
        t->prev->next = t;
    else
        rq->head[0] = t;
    if (x)
        x->prev = t;
    else
        rq->tail[0] = t;
    rq->band_mask |= 1u;
    rq->nr_ready++;
    t->state = TASK_READY;
}

/* rq_append's runnext case, for a caller that knows nothing is ready and
 * t's band needs no stamp (band_filled). */
static inline __attribute__((always_inline)) void rq_append_runnext(struct runqueue *rq,
                                                                    struct task *t)
{
    t->state = TASK_READY;
    rq->runnext = t;
    rq->band_mask = 1u << t->qos;
    rq->nr_ready = 1;
}

/* rq_append's list way, nothing else changed: t (its state set) at the
 * tail of band b, runnext first moved into its list. */
static inline __attribute__((always_inline)) void rq_link_tail(struct runqueue *rq,
                                                               struct task *t, unsigned b)
{
    if (rq->runnext)
        rq_runnext_flush(rq);
    t->next = NULL;
    t->prev = rq->tail[b];
    if (rq->tail[b])
        rq->tail[b]->next = t;
    else
        rq->head[b] = t;
    rq->tail[b] = t;
    rq->band_mask |= 1u << b;
    rq->nr_ready++;
}

/* A task that is not a deadline task joins the tail of its band: runnext
 * if nothing else is ready. */
static inline __attribute__((always_inline)) void rq_append(struct runqueue *rq, struct task *t)
{
    unsigned b = t->qos;
    band_filled(rq, b);
    if (__builtin_expect(!rq->band_mask, 1)) {   /* the common case: laid out first */
        rq_append_runnext(rq, t);
        return;
    }
    t->state = TASK_READY;
    rq_link_tail(rq, t, b);
}

/* rq_append of a task already TASK_READY (a new one: sched_start_here). */
static inline __attribute__((always_inline)) void rq_append_ready(struct runqueue *rq,
                                                                  struct task *t)
{
    unsigned b = t->qos;
    band_filled(rq, b);
    if (__builtin_expect(!rq->band_mask, 1)) {
        /* runnext, band_mask 1 << b and nr_ready 1 in one pair of stores. */
        _Static_assert(offsetof(struct runqueue, band_mask) == offsetof(struct runqueue, runnext) + 8 &&
                           offsetof(struct runqueue, nr_ready) == offsetof(struct runqueue, band_mask) + 4 &&
                           __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                       "runnext, band_mask, nr_ready adjacent");
        struct { struct task *runnext; uint64_t mask_ready; } v = {t, (uint64_t)(1u << b) | 1ull << 32};
        __builtin_memcpy(&rq->runnext, &v, sizeof(v));
        return;
    }
    rq_link_tail(rq, t, b);
}

/* Under rq->lock: t (not a deadline task) at the head of its band, ahead
 * of the tasks queued in it since t was woken (in runnext if nothing else
 * is ready: see rq_append). */
static inline void rq_push_front(struct runqueue *rq, struct task *t)
{
    if (!rq->band_mask) {
        rq_append(rq, t);
        return;
    }
    unsigned b = t->qos;
    band_filled(rq, b);
    if (rq->runnext)
        rq_runnext_flush(rq);
    t->prev = NULL;
    t->next = rq->head[b];
    if (rq->head[b])
        rq->head[b]->prev = t;
    else
        rq->tail[b] = t;
    rq->head[b] = t;
    rq->band_mask |= 1u << b;
    rq->nr_ready++;
    t->state = TASK_READY;
}

static inline __attribute__((always_inline)) void rq_enqueue(struct runqueue *rq, struct task *t)
{
    if (t->flags & TASK_F_DL)
        rq_enqueue_dl(rq, t);
    else
        rq_append(rq, t);
}

static inline void rq_remove(struct runqueue *rq, struct task *t)
{
    if (t == rq->runnext) {
        rq_take_runnext(rq);
        return;
    }
    unsigned b = t->qos;
    if (t->prev)
        t->prev->next = t->next;
    else
        rq->head[b] = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        rq->tail[b] = t->prev;
    if (!rq->head[b])
        rq->band_mask &= ~(1u << b);
    rq->nr_ready--;
}

/* Take the first task of band b (not empty) off the queue. */
static inline struct task *rq_pop_band(struct runqueue *rq, unsigned b)
{
    struct task *t = rq->head[b];
    struct task *n = t->next;
    rq->head[b] = n;
    if (n) {
        n->prev = NULL;
    } else {
        rq->tail[b] = NULL;
        rq->band_mask &= ~(1u << b);
    }
    rq->nr_ready--;
    return t;
}

static inline int rq_cpu(const struct runqueue *rq) { return rq->cpu; }

/* --- timers: the hardware timer follows the earliest of slice end and timer heap */

/* Invariant: the hardware timer fires no later than the earliest of
 * slice_end and the heap's first deadline. Every new deadline goes through
 * arm_by, which rewrites the timer only when the deadline is earlier than
 * what it holds: a later or vanished deadline just costs one early
 * interrupt, after which run_timers reprograms it (timer_armed is cleared
 * by the interrupt). Local core only. */
static inline void arm_by(struct runqueue *rq, uint64_t when)
{
    if (!rq->timer_armed || when < rq->timer_armed) {
        rq->timer_armed = when;
        arch_timer_arm(when);
    }
}

/* Under rq->lock, rq this core's: program the timer (sched_program_timer). */
static inline void program_local_timer(struct runqueue *rq)
{
    rq->reprogram = false;
    struct timer *first = timerq_peek(&rq->timers);
    uint64_t when = first ? first->deadline : 0;
    if (rq->slice_end && (!when || rq->slice_end < when))
        when = rq->slice_end;
    if (when)
        arm_by(rq, when);
}

/* Start a slice for next, not a deadline task, if others wait (in its
 * band, a lower one whose starvation bound the slice end checks, or after
 * a starvation pick a higher one) or it may have to move to a core of
 * another capacity (migrate_watched: its slice ends ask the policy);
 * tickless otherwise, and for idle. */
static inline __attribute__((always_inline)) void start_plain_slice(struct runqueue *rq, struct task *next, uint64_t now)
{
    if (!(next->flags & TASK_F_IDLE) && (rq->band_mask || migrate_watched(rq, next))) {
        rq->slice_end = now + sched_slice_ticks;
        arm_by(rq, rq->slice_end);
    } else {
        rq->slice_end = 0;
    }
}

/* Start next's slice: a deadline task's is what is left of its budget. */
static inline void rq_start_slice(struct runqueue *rq, struct task *next, uint64_t now)
{
    if (next->flags & TASK_F_DL) {
        rq->slice_end = now + dl_budget_left_ticks(next);
        arm_by(rq, rq->slice_end);
    } else {
        start_plain_slice(rq, next, now);
    }
}

/* Class time is charged lazily: rq->run_class has run since
 * rq->class_since, and class_ticks takes that stretch only when the class
 * that runs changes (switches within a band cost nothing here). */
static inline void charge_class(struct runqueue *rq, unsigned cls, uint64_t now)
{
    if (cls != rq->run_class) {
        rq->band_since[rq->run_class] = now;   /* that class ran until now */
        rq->class_ticks[rq->run_class] += now - rq->class_since;
        rq->class_since = now;
        rq->run_class = cls;
    }
}

static inline unsigned class_of(const struct task *t)
{
    return (t->flags & TASK_F_IDLE) ? QOS_COUNT : t->qos;
}

/* Under rq->lock: t just became ready on rq; does the core need to switch? */
static inline __attribute__((always_inline)) bool should_preempt(struct runqueue *rq, struct task *t)
{
    struct task *cur = rq->current;
    if (cur->flags & TASK_F_IDLE)
        return true;
    if (t->flags & TASK_F_DL)
        return !(cur->flags & TASK_F_DL) || dl_earlier(t, cur);
    if (t->qos < cur->qos)
        return true;
    if (!rq->slice_end) {
        /* Waiting behind the running task (its band or a lower one): start
         * the running task's slice. */
        rq->slice_end = now_ticks() + sched_slice_ticks;
        if (rq == this_rq())
            arm_by(rq, rq->slice_end);
        else
            sched_program_timer(rq);
    }
    return false;
}

static inline void kick(struct runqueue *rq)
{
    int cpu = rq_cpu(rq);
    rq->need_resched = true;
    if (cpu != cpu_id())
        ipi_send(IPI_WAKE, cpu);
}

/* An idle core other than busy_cpu that may run t (not pinned), or -1. */
static inline int idle_core_for(const struct task *t, int busy_cpu)
{
    uint32_t idle = sched_idle_cores() & ~(1u << busy_cpu);
    if (t->affinity)
        idle &= t->affinity;
    return idle ? __builtin_ctz(idle) : -1;
}

/* Work is waiting behind a busy core: wake an idle core that may run it,
 * so it steals (idle cores otherwise sleep until their next interrupt). */
static inline void nudge_idle_core(const struct task *t, int busy_cpu)
{
    if (t->pinned)
        return;   /* nobody else may take it */
    int c = idle_core_for(t, busy_cpu);
    if (c >= 0)
        ipi_send(IPI_WAKE, c);
}

/* --- the local wake-up's test (sched_wake.c) ----------------------------------- */

/* A task's first 8 bytes (on_cpu, state, pinned, cancel, qos, flags, life,
 * cpu) as one load. */
_Static_assert(offsetof(struct task, cpu) + sizeof(int8_t) == 8, "on_cpu..cpu are the first 8 bytes");
static inline uint64_t task_wake_word(const struct task *t)
{
    uint64_t w;
    __builtin_memcpy(&w, t, sizeof(w));
    return w;
}

/* rq->wake_key's bytes other than run_class, and wake_mask (boot):
 * task_wake_word(t) & wake_mask then equals wake_key exactly when t is
 * BLOCKED, pinned, not a deadline task, on rq's core and of rq's running
 * class; its on_cpu, cancel and other flags are not looked at. */
#define WAKE_KEY_BYTE_(rqf, tf) \
    (offsetof(struct runqueue, rqf) - offsetof(struct runqueue, wake_key) == offsetof(struct task, tf))
_Static_assert(WAKE_KEY_BYTE_(wake_on_cpu, on_cpu) && WAKE_KEY_BYTE_(wake_state, state) &&
                   WAKE_KEY_BYTE_(wake_pinned, pinned) && WAKE_KEY_BYTE_(wake_cancel, cancel) &&
                   WAKE_KEY_BYTE_(run_class, qos) && WAKE_KEY_BYTE_(wake_flags, flags) &&
                   WAKE_KEY_BYTE_(wake_life, life) && WAKE_KEY_BYTE_(wake_cpu, cpu),
               "rq->wake_key is laid out as a task's first 8 bytes");
static inline void rq_local_wake_init(struct runqueue *rq)
{
    rq->wake_state = TASK_BLOCKED;
    rq->wake_pinned = 1;
    rq->wake_on_cpu = rq->wake_cancel = rq->wake_flags = rq->wake_life = 0;
    rq->wake_cpu = (int8_t)rq->cpu;
    struct task mask = {0};
    mask.state = mask.qos = mask.pinned = 0xff;
    mask.flags = TASK_F_DL;
    mask.cpu = -1;
    rq->wake_mask = task_wake_word(&mask);
}

/* t's first 8 bytes against rq's wake key: 0 exactly when t is blocked
 * here, pinned, not a deadline task and of the running class; else the
 * bits that differ (WAKE_DIFF_NOT_HERE: not blocked, or another core's). */
static inline uint64_t wake_key_diff(const struct runqueue *rq, const struct task *t)
{
    return (task_wake_word(t) & rq->wake_mask) ^ rq->wake_key;
}
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && offsetof(struct task, state) == 1 &&
                   offsetof(struct task, cpu) == 7, "state is the word's byte 1, cpu its top one");
#define WAKE_DIFF_NOT_HERE (0xff00ull | 0xffull << 56)

/* --- views for the policy ------------------------------------------------------ */

/* Utilisation of a task as last brought up to date (0 for idle tasks).
 * Never touches the task's stack, so it is safe on a racy current pointer. */
static inline uint32_t util_of(const struct task *t)
{
    return (t->flags & TASK_F_IDLE) ? 0 : t->util;
}

/* A racy snapshot is fine: policy decisions are hints, queues stay
 * consistent. Utilisation is that of the running task only (waiting tasks
 * are counted by nr_ready and ready_mask). */
static inline void core_view_one(struct sched_core_view *v, int c, uint32_t online)
{
    struct task *cur = runqueues[c].current;
    bool busy = cur && !(cur->flags & TASK_F_IDLE);
    /* Field by field: built -mgeneral-regs-only, GCC makes a compound
     * literal of this size a memset call. */
    v->online = (online >> c) & 1;
    v->cur_qos = busy ? cur->qos : QOS_COUNT;
    v->cur_dl = false;
    v->cur_util = busy ? util_of(cur) : 0;
    v->ready_mask = runqueues[c].band_mask;
    v->nr_ready = runqueues[c].nr_ready;
    _Static_assert(QOS_COUNT == 5, "util_at cleared element by element");
    v->util_at[0] = v->util_at[1] = v->util_at[2] = v->util_at[3] = v->util_at[4] = 0;
    v->clamp_floor = v->clamp_ceiling = 0;
    if (busy)
        v->util_at[cur->qos] = v->cur_util;
}

#endif
