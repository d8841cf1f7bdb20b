/*
 * Sleeping mutex with an owner. Uncontended lock/unlock is one CAS each plus
 * the owner's held-list push/pop; contended unlock hands the mutex directly
 * to the first waiter (FIFO, no barging).
 *
 * Owner death policy (robust mutexes): when a task ends or is killed while
 * holding mutexes, each is released; the next owner's lock call returns
 * WAIT_OWNER_DIED (it does own the mutex) so it can repair the protected
 * state. Nothing is leaked silently and nobody waits forever.
 */
#ifndef KERNEL_MUTEX_H
#define KERNEL_MUTEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <kernel/waitq.h>

struct task;

struct mutex {
    _Atomic uintptr_t owner;     /* owning task | MUTEX_WAITERS, 0 = free */
    struct waitq wq;
    struct mutex *next_held;     /* owner's list of held mutexes */
    bool owner_died;             /* released by a dying owner, not yet re-owned */
};

#define MUTEX_WAITERS ((uintptr_t)1)
#define MUTEX_INIT {0, WAITQ_INIT, 0, false}

static inline void mutex_init(struct mutex *m) { *m = (struct mutex)MUTEX_INIT; }

/* Out-of-line halves of the inline fast paths below. */
int mutex_lock_slow(struct mutex *m, uint64_t timeout_ns);
void mutex_unlock_slow(struct mutex *m);
void mutex_held_remove(struct task *t, struct mutex *m);

#include <kernel/sched.h>

/* 0, or WAIT_OWNER_DIED (acquired; the previous owner died holding it).
 * Uncontended: one CAS and a push on the owner's held list. */
static inline int mutex_lock(struct mutex *m)
{
    struct task *cur = sched_current();
    uintptr_t expected = 0;
    if (__builtin_expect(atomic_compare_exchange_strong_explicit(
                             &m->owner, &expected, (uintptr_t)cur, memory_order_acquire,
                             memory_order_relaxed), 1)) {
        m->next_held = cur->held;
        cur->held = m;
        if (__builtin_expect(!m->owner_died, 1))
            return 0;
    }
    return mutex_lock_slow(m, WAIT_FOREVER);
}

/* Uncontended: a pop from the held list and one CAS. */
static inline void mutex_unlock(struct mutex *m)
{
    struct task *cur = sched_current();
    if (__builtin_expect(cur->held == m, 1))
        cur->held = m->next_held;
    else
        mutex_held_remove(cur, m);
    uintptr_t expected = (uintptr_t)cur;
    if (__builtin_expect(!atomic_compare_exchange_strong_explicit(
                             &m->owner, &expected, 0, memory_order_release,
                             memory_order_relaxed), 0))
        mutex_unlock_slow(m);
}
/* 0, WAIT_OWNER_DIED (acquired), or WAIT_TIMEOUT (not acquired). */
int mutex_lock_timeout(struct mutex *m, uint64_t timeout_ns);
bool mutex_trylock(struct mutex *m);
struct task *mutex_owner(const struct mutex *m);
/* Release everything t holds (t is ending). */
void mutex_release_all_held(struct task *t);

#endif
