/* Sleeping mutex (see kernel/mutex.h). */
#include <kernel/app.h>
#include <kernel/mutex.h>
#include <kernel/panic.h>
#include <kernel/sched.h>

struct task *mutex_owner(const struct mutex *m)
{
    return (struct task *)(atomic_load_explicit(&m->owner, memory_order_relaxed) & ~MUTEX_WAITERS);
}

static inline void held_push(struct task *t, struct mutex *m)
{
    m->next_held = t->held;
    t->held = m;
}

void mutex_held_remove(struct task *t, struct mutex *m)
{
    struct mutex **pp = &t->held;
    while (*pp && *pp != m)
        pp = &(*pp)->next_held;
    if (*pp)
        *pp = m->next_held;
}

/* Just became the owner (fast path, after a wait, or by hand-off). */
static int acquired(struct mutex *m, struct task *cur)
{
    held_push(cur, m);
    if (m->owner_died) {
        m->owner_died = false;
        return WAIT_OWNER_DIED;
    }
    return 0;
}

bool mutex_trylock(struct mutex *m)
{
    struct task *cur = sched_current();
    uintptr_t expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&m->owner, &expected, (uintptr_t)cur,
                                                 memory_order_acquire, memory_order_relaxed))
        return false;
    held_push(cur, m);
    return true;
}

static int lock_slow(struct mutex *m, struct task *cur, uint64_t deadline)
{
    uint64_t flags = spin_lock_irqsave(&m->wq.lock);
    for (;;) {
        uintptr_t o = atomic_load_explicit(&m->owner, memory_order_relaxed);
        if (o == 0) {
            uintptr_t want = (uintptr_t)cur | (waitq_empty(&m->wq) ? 0 : MUTEX_WAITERS);
            if (atomic_compare_exchange_weak_explicit(&m->owner, &o, want, memory_order_acquire,
                                                      memory_order_relaxed)) {
                int r = acquired(m, cur);
                spin_unlock_irqrestore(&m->wq.lock, flags);
                return r;
            }
            continue;
        }
        if ((o & ~MUTEX_WAITERS) == (uintptr_t)cur)
            panic("mutex %p: recursive lock by task %s", (void *)m, cur->name);
        if (!(o & MUTEX_WAITERS) &&
            !atomic_compare_exchange_weak_explicit(&m->owner, &o, o | MUTEX_WAITERS,
                                                   memory_order_relaxed, memory_order_relaxed))
            continue;
        break;
    }
    /* Lend our class to the owner (and whoever it waits for) while we wait. */
    qos_wait_on(cur, (struct task *)(atomic_load_explicit(&m->owner, memory_order_relaxed) &
                                     ~MUTEX_WAITERS));
    int32_t r = waitq_wait(&m->wq, flags, deadline);
    qos_wait_done(cur);
    if (r == WAIT_TIMEOUT)
        return WAIT_TIMEOUT;
    /* Handed over by the unlocker: we are the owner. */
    held_push(cur, m);
    return r == WAIT_OWNER_DIED ? WAIT_OWNER_DIED : 0;
}

/* After the inline fast path: either the CAS failed (contended), or it
 * succeeded on a mutex whose previous owner died (already on our list). */
int mutex_lock_slow(struct mutex *m, uint64_t timeout_ns)
{
    struct task *cur = sched_current();
    if (mutex_owner(m) == cur && cur->held == m && m->owner_died) {
        m->owner_died = false;
        return WAIT_OWNER_DIED;
    }
    return lock_slow(m, cur, waitq_deadline(timeout_ns));
}

int mutex_lock_timeout(struct mutex *m, uint64_t timeout_ns)
{
    struct task *cur = sched_current();
    uintptr_t expected = 0;
    if (atomic_compare_exchange_strong_explicit(&m->owner, &expected, (uintptr_t)cur,
                                                memory_order_acquire, memory_order_relaxed))
        return acquired(m, cur);
    return lock_slow(m, cur, waitq_deadline(timeout_ns));
}

/* Give m to its first waiter (result tells it why) or free it. */
static void hand_off(struct mutex *m, int32_t result, bool died)
{
    uint64_t flags = spin_lock_irqsave(&m->wq.lock);
    struct task *w = m->wq.head;
    if (!w) {
        m->owner_died = died;
        atomic_store_explicit(&m->owner, 0, memory_order_release);
    } else {
        uintptr_t next = (uintptr_t)w | (w->next ? MUTEX_WAITERS : 0);
        atomic_store_explicit(&m->owner, next, memory_order_release);
        /* w owns it now: the others lend to w instead of the old owner. */
        qos_wait_done(w);
        for (struct task *x = w->next; x; x = x->next)
            qos_wait_on(x, w);
        waitq_wake_one(&m->wq, result);
    }
    spin_unlock_irqrestore(&m->wq.lock, flags);
}

/* The release CAS failed: waiters are queued (or the caller is not the owner). */
void mutex_unlock_slow(struct mutex *m)
{
    struct task *cur = sched_current();
    if (mutex_owner(m) != cur)
        panic("mutex %p unlocked by %s, which does not own it", (void *)m, cur->name);
    hand_off(m, WAIT_OK, false);
    sched_resched_if_needed();
}

void mutex_release_all_held(struct task *t)
{
    while (t->held) {
        struct mutex *m = t->held;
        t->held = m->next_held;
        hand_off(m, WAIT_OWNER_DIED, true);
    }
}
