/*
 * A sleeper: one stackful task waits for one kind of event whose state its
 * owner keeps beside it under a spinlock of the owner's. Lighter than a
 * waker (sr/wait_task.h: claims, several sources, cancellation) and than a
 * kernel wait queue (a list of waiters): the mailbox's one reader
 * (sr/mailbox.h) is exactly one waiting task for one event.
 *
 * Protocol, all under the owner's lock (IRQs masked): the waiter announces
 * (sleeper_announce), checks the event, and either withdraws
 * (sleeper_withdraw) or blocks (sleeper_block, which releases the lock
 * once the task is BLOCKED). The side that brings the event records it and
 * calls sleeper_wake: it wakes the task only if it is announced, and then
 * clears the announcement, so a wait is woken once and no wake reaches a
 * later wait. After a timeout (WAIT_TIMEOUT) the waiter takes the lock
 * again and withdraws before anything else; the event may have come
 * meanwhile (its wake found the task awake and did nothing).
 *
 * `asleep` is stored seq_cst: a lock-free side that publishes and then
 * loads it (sleeper_announced) sees the waiter, or the waiter, checking
 * after announcing, sees what was published.
 */
#ifndef SR_SLEEPER_H
#define SR_SLEEPER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <arch/cpu.h>
#include <kernel/sched.h>
#include <kernel/spinlock.h>

struct sleeper {
    _Atomic uint32_t asleep;    /* announced and not yet woken (changes under the lock) */
    struct task *task;          /* the announced task */
};

static inline void sleeper_announce(struct sleeper *s)
{
    s->task = sched_current();
    atomic_store(&s->asleep, 1);
}

static inline void sleeper_withdraw(struct sleeper *s)
{
    atomic_store_explicit(&s->asleep, 0, memory_order_relaxed);
}

/* Announced, lock held, IRQs masked with flags: block until sleeper_wake
 * (WAIT_OK) or deadline_ns (absolute clock_ns, 0 = none: WAIT_TIMEOUT).
 * Returns with the lock released and IRQs restored. */
static inline int32_t sleeper_block(spinlock_t *lock, uint64_t flags, uint64_t deadline_ns)
{
    int32_t r = sched_block(lock, deadline_ns);
    arch_irq_restore(flags);
    return r;
}

/* Lock held: the announced task, its announcement cleared (one wake per
 * wait), or NULL if none is announced. */
static inline struct task *sleeper_take(struct sleeper *s)
{
    if (!atomic_load_explicit(&s->asleep, memory_order_relaxed))
        return NULL;
    atomic_store_explicit(&s->asleep, 0, memory_order_relaxed);
    return s->task;
}

/* Lock held: is a task announced? (sleeper_take's test, for a caller that
 * decides more before it takes.) */
static inline bool sleeper_announced_locked(struct sleeper *s)
{
    return atomic_load_explicit(&s->asleep, memory_order_relaxed);
}

/* Lock held, sleeper_announced_locked(s) seen under it: sleeper_take. */
static inline struct task *sleeper_take_announced(struct sleeper *s)
{
    atomic_store_explicit(&s->asleep, 0, memory_order_relaxed);
    struct task *t = s->task;
    if (!t)
        __builtin_unreachable();   /* set by every announcement */
    return t;
}

/* Lock-free hint (seq_cst): is a task announced? */
static inline bool sleeper_announced(struct sleeper *s) { return atomic_load(&s->asleep); }

/* Lock held: wake the announced task, if any (true). The caller calls
 * sched_resched_if_needed() once it has released the lock and restored IRQs. */
static inline bool sleeper_wake(struct sleeper *s)
{
    struct task *t = sleeper_take(s);
    if (t)
        sched_wake(t, WAIT_OK);
    return t != NULL;
}

#endif
