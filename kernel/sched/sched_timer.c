/*
 * Scheduler time: sleeps and wait timeouts, kernel timers, and the per-core
 * timer interrupt that fires them and ends time slices. Each core's timer
 * heap is under its run-queue lock; only a core programs its own timer.
 */
#include <kernel/irq.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/platform.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>
#include <kernel/waitq_inline.h>
#include "sched_internal.h"
#include "sched_rq.h"

/* The first tick at or after ns: a deadline is never reached early. */
static uint64_t ns_to_ticks_ceil(uint64_t ns)
{
    uint64_t f = arch_counter_freq();
    return (uint64_t)(((unsigned __int128)ns * f + 999999999u) / 1000000000u);
}

void sched_program_timer(struct runqueue *rq)
{
    if (rq != this_rq()) {
        /* Only a core can program its own timer: ask it to. */
        rq->reprogram = true;
        ipi_send(IPI_WAKE, rq_cpu(rq));
        return;
    }
    program_local_timer(rq);
}

int sched_timer_add_locked(struct runqueue *rq, struct timer *tm)
{
    tm->cpu = (int16_t)rq_cpu(rq);
    if (timerq_insert(&rq->timers, tm) != 0)
        return -1;
    sched_program_timer(rq);
    return 0;
}

uint64_t sched_ns_to_ticks(uint64_t ns) { return ns_to_ticks_ceil(ns); }

/* Is t still blocked in the wait numbered seq? Read state first: a task
 * bumps wait_seq before it blocks again (sched_block), so a BLOCKED seen
 * here comes with that wait's number. */
static bool in_wait(const struct task *t, uint32_t seq)
{
    if (t->state != TASK_BLOCKED)
        return false;
    atomic_thread_fence(memory_order_acquire);
    return t->wait_seq == seq;
}

/* --- timeouts and sleeping ------------------------------------------------------ */

/* Under rq->lock (t's, taken with flags), t BLOCKED in a wait on wq: if
 * wq's lock is free, take t off wq with result if its wait is still
 * pending (and, for a cancel, interruptible), release wq's lock, then rq's
 * (waking t if taken: it runs only after both are released), and return
 * true; false with both as they were if wq's lock is held (the lock order
 * is queue, then run queue: the caller lets rq's go and tries again).
 * While t is blocked in that wait it cannot run, so it cannot leave the
 * wait nor free a wait queue in its frame (a semaphore on its stack). */
static bool end_queued_wait_locked(struct runqueue *rq, struct task *t, struct waitq *wq,
                                   int32_t result, uint64_t flags)
{
    if (!spin_trylock(&wq->lock))
        return false;
    bool take = t->wait_result == WAIT_PENDING &&   /* else a waker took it */
                (result != WAIT_CANCELLED ||
                 (atomic_load(&t->cancel) & TASK_CANCEL_INTERRUPTIBLE));
    if (take) {
        waitq_unlink(wq, t);
        t->wait_result = result;
    }
    spin_unlock(&wq->lock);
    if (take)
        sched_wake_locked(rq, t, result, flags);
    else
        spin_unlock_irqrestore(&rq->lock, flags);
    return true;
}

/* A wait's deadline passed (no lock held: run_timers popped the timer).
 * Decided under t's run-queue lock while t is still BLOCKED in that wait
 * (end_queued_wait_locked): a plain sleep is woken, a wait-queue wait taken
 * off its queue unless a waker took it first. */
static void block_timeout(void *arg, uint32_t seq)
{
    struct task *t = arg;
    if (t->wait_seq != seq)
        return;   /* that wait already ended */
    for (;;) {
        uint64_t flags;
        struct runqueue *rq = sched_lock_task(t, &flags);
        if (!in_wait(t, seq)) {
            spin_unlock_irqrestore(&rq->lock, flags);
            return;
        }
        struct waitq *wq = t->waiting_on;   /* set before t blocked, kept until it runs */
        if (!wq) {
            sched_wake_locked(rq, t, WAIT_TIMEOUT, flags);
            return;
        }
        if (end_queued_wait_locked(rq, t, wq, WAIT_TIMEOUT, flags))
            return;
        spin_unlock_irqrestore(&rq->lock, flags);
        arch_cpu_relax();
    }
}

void sched_cancel_waitq_wait(struct task *t)
{
    for (;;) {
        uint64_t flags;
        struct runqueue *rq = sched_lock_task(t, &flags);
        struct waitq *wq = t->waiting_on;
        /* No wait-queue wait, or one its waker ended (t READY, not yet
         * run): nothing to end. RUNNING with waiting_on set: queuing (it
         * holds wq's lock and will block, or see the cancel and leave) or
         * just woken (it clears waiting_on at once): look again. */
        if (!wq || (t->state != TASK_BLOCKED && t->state != TASK_RUNNING)) {
            spin_unlock_irqrestore(&rq->lock, flags);
            return;
        }
        if (t->state == TASK_BLOCKED && end_queued_wait_locked(rq, t, wq, WAIT_CANCELLED, flags))
            return;
        spin_unlock_irqrestore(&rq->lock, flags);
        arch_cpu_relax();
    }
}

const struct task *sched_timer_task(const struct timer *tm)
{
    return tm->fn == block_timeout ? tm->arg : NULL;
}

/* Under rq->lock: t's timeout timer (seq) expired on this core. A plain
 * sleep of a task of this core is made ready right here; anything else
 * (a wait-queue wait, or a task whose queue is another core's) needs the
 * callback without the lock. */
static bool wake_sleeper_locked(struct runqueue *rq, struct task *t, uint32_t seq)
{
    if (t->cpu != rq->cpu || !in_wait(t, seq) || t->waiting_on)
        return false;
    t->wait_result = WAIT_TIMEOUT;
    /* make_ready on this core's queue: no IPI to decide. */
    rq_enqueue(rq, t);
    if (should_preempt(rq, t))
        rq->need_resched = true;
    else
        nudge_idle_core(t, rq_cpu(rq));
    return true;
}

/* Under rq->lock, at the end of the slice plain task cur ran in, others
 * waiting: did cur start after the slice did (it inherited it: a yield, a
 * wake -> block or exit hand-off) and has it run less than a whole slice,
 * nothing of a higher band waiting? Then it runs on to a whole slice from
 * its start: every task gets a whole slice per turn, however it got the
 * core. */
static inline bool slice_inherited(const struct runqueue *rq, uint64_t now, uint32_t cur_band)
{
    return rq->band_mask && !(rq->band_mask & (cur_band - 1)) &&
           now - rq->run_start < sched_slice_ticks;
}

/* Fire expired timers of this core (in its timer interrupt, IRQs masked);
 * callbacks run without the rq lock. */
static void run_timers(struct runqueue *rq)
{
    for (;;) {
        spin_lock(&rq->lock);
        uint64_t now = arch_counter();
        struct timer *t;
        while ((t = timerq_pop_expired(&rq->timers, now)) && t->fn == block_timeout &&
               wake_sleeper_locked(rq, t->arg, t->seq))
            ;
        if (!t) {
            if (rq->slice_end && now >= rq->slice_end) {
                struct task *cur = rq->current;
                if (cur->flags & TASK_F_DL) {
                    /* Budget slice over: charge; an overrun demotes it. */
                    int q = dl_charge(rq, cur, cur->cpu_ticks + now - rq->run_start);
                    if (q >= 0) {
                        charge_class(rq, (unsigned)q, now);   /* it runs on in its own class */
                        cur->qos = (uint8_t)q;
                    }
                }
                rq->slice_end = 0;
                if (cur->flags & TASK_F_DL) {
                    rq_start_slice(rq, cur, now);   /* within budget: runs on (EDF) */
                } else {
                    /* Slice over: switch if the band (or a better one) has
                     * others, or a lower band is overdue; while lower bands
                     * wait, slices go on so their bounds are checked. */
                    uint32_t cur_band = 1u << cur->qos;
                    if (slice_inherited(rq, now, cur_band)) {
                        rq->slice_end = rq->run_start + sched_slice_ticks;
                    } else {
                        if (rq->band_mask & (cur_band | (cur_band - 1)))
                            rq->need_resched = true;
                        else if (rq->band_mask && sched_pick_band(rq, rq->band_mask | cur_band,
                                                                  cur->qos, now) != cur->qos)
                            rq->need_resched = true;
                        else if (migrate_watched(rq, cur))
                            migrate_tick(rq, cur, now);   /* may ask it to move: need_resched */
                        if (!rq->need_resched)
                            rq_start_slice(rq, cur, now);   /* none when alone and not watched */
                    }
                }
            }
            program_local_timer(rq);
            spin_unlock(&rq->lock);
            return;
        }
        /* Copied under the lock: once it is released the timer's owner may
         * arm it again (a new wait, a new seq). */
        void (*fn)(void *, uint32_t) = t->fn;
        void *arg = t->arg;
        uint32_t seq = t->seq;
        spin_unlock(&rq->lock);
        fn(arg, seq);
    }
}

void sched_ipi(void)
{
    struct runqueue *rq = this_rq();
    if (rq->reprogram) {
        spin_lock(&rq->lock);
        sched_program_timer(rq);
        spin_unlock(&rq->lock);
    }
}

static void sched_timer_irq(uint32_t intid, void *arg)
{
    (void)intid;
    (void)arg;
    struct percpu *p = this_cpu();
    arch_timer_disarm();
    p->rq->timer_armed = 0;
    p->timer_irqs++;
    run_timers(p->rq);
}

/* sched_block's timeout: arm cur's timer on this core for this wait. */
void sched_block_arm_timeout_locked(struct runqueue *rq, struct task *cur, uint64_t deadline_ns)
{
    cur->timer.deadline = ns_to_ticks_ceil(deadline_ns);
    cur->timer.fn = block_timeout;
    cur->timer.arg = cur;
    cur->timer.seq = cur->wait_seq;
    if (sched_timer_add_locked(rq, &cur->timer) != 0)
        panic("timer heap of cpu %d: out of memory", rq_cpu(rq));   /* as sched_timer_arm */
}

__attribute__((noinline)) void sched_block_arm_timeout(struct runqueue *rq, struct task *cur,
                                                        uint64_t deadline_ns)
{
    spin_lock(&rq->lock);
    sched_block_arm_timeout_locked(rq, cur, deadline_ns);
    spin_unlock(&rq->lock);
}

/* Woken from a wait with a timeout: take the timer off its queue if it has
 * not fired (if it has, or fires now, it no longer finds this wait: see
 * in_wait). */
__attribute__((noinline)) void sched_block_cancel_timeout(struct task *cur)
{
    struct runqueue *trq = &runqueues[cur->timer.cpu];
    spin_lock(&trq->lock);
    timerq_remove(&trq->timers, &cur->timer);
    spin_unlock(&trq->lock);
}

/* --- kernel timers ------------------------------------------------------------- */

void sched_timer_arm(struct timer *t, uint64_t deadline_ns)
{
    struct runqueue *rq = this_rq();
    uint64_t flags = spin_lock_irqsave(&rq->lock);
    timerq_remove(&rq->timers, t);
    t->deadline = ns_to_ticks_ceil(deadline_ns);
    if (sched_timer_add_locked(rq, t) != 0)
        panic("timer heap of cpu %d: out of memory", rq_cpu(rq));
    spin_unlock_irqrestore(&rq->lock, flags);
}

bool sched_timer_cancel(struct timer *t)
{
    if (!timer_queued(t))
        return false;
    struct runqueue *rq = &runqueues[t->cpu];
    uint64_t flags = spin_lock_irqsave(&rq->lock);
    bool queued = timer_queued(t);
    timerq_remove(&rq->timers, t);
    spin_unlock_irqrestore(&rq->lock, flags);
    return queued;
}

void sched_timer_init(void)
{
    if (irq_register(platform.timer.virt_irq, sched_timer_irq, NULL) != 0)
        panic("sched: timer interrupt already taken");
}
