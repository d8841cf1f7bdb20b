/*
 * A waker for a stackful task (see sr/wait.h): the task blocks in the
 * scheduler until a claimer fires the waker or its deadline passes.
 * Lives on the waiting task's stack for the duration of one wait.
 */
#ifndef SR_WAIT_TASK_H
#define SR_WAIT_TASK_H

#include <errno.h>
#include <kernel/clock.h>
#include <kernel/sched.h>
#include <kernel/spinlock.h>
#include <kernel/task.h>
#include <sr/wait.h>

struct task;

struct task_waker {
    struct waker w;
    spinlock_t lock;            /* orders fire's sched_wake against blocking (task_waker_wait
                                   only: a single-list wait has the list's lock do that) */
    bool interruptible;         /* a cancellation point: task_cancel ends the wait */
    struct task *task;
};

/* For the current task, at its QoS; the waker is left IDLE (waker_arm it
 * once its nodes are about to be queued). Not interruptible: set
 * interruptible to make the wait a cancellation point, which task_cancel
 * (or an earlier cancel) ends with -ECANCELED, like a timeout: a waker that
 * fired first wins, so a message is never lost or duplicated. */
static inline void task_waker_init(struct task_waker *tw);
/* Block until the waker is DONE or until deadline_ns (absolute clock_ns,
 * 0 = none), in which case the task claims it itself with -ETIMEDOUT.
 * Returns waker.result. Nodes that did not fire are still queued: remove
 * them (under their lists' locks) afterwards. Task context, IRQs enabled. */
int32_t task_waker_wait(struct task_waker *tw, uint64_t deadline_ns);

/* The fast form for a wait on one list (node n queued there, waker armed),
 * whose claimers fire under that list's lock: entered with that lock held
 * since n was queued (so the waker is still WAITING) and IRQs masked (flags
 * from spin_lock_irqsave); blocks until DONE or the deadline (then n is
 * withdrawn and the result is -ETIMEDOUT; -ECANCELED likewise for an
 * interruptible wait); returns with the lock released and IRQs restored.
 * tw must come from task_waker_init. */
static inline int32_t task_waker_wait_on(struct task_waker *tw, struct wait_node *n, uint64_t flags,
                                         uint64_t deadline_ns);
/* The whole single-list wait of the current task: waker and node on this
 * stack frame, n queued on l (QoS order) with data, then task_waker_wait_on.
 * Entered with l's lock held and IRQs masked (flags); returns the result
 * with both released. Either way, it returns only once whoever ended the
 * wait has released l's lock (a wait without deadline or cancellation
 * point sees that by the lock word reading free, without taking it). Such
 * a wait's waker is of kind WAKER_KIND_TASK_UNTIMED: its taker may wake it
 * after the release (task_waker_wake_unlock_). */
static inline int32_t task_wait_listed(struct wait_list *l, void *data, uint64_t flags,
                                       uint64_t deadline_ns, bool interruptible);

/* Remove n from its list under that list's lock (no-op if not linked). */
void wait_node_unlink(struct wait_node *n);

/* --- inline ------------------------------------------------------------------ */

/* task_waker_fire_ orders its wake-up against the waiter with tw->lock;
 * task_waker_fire_listed_ is the fire of a single-list wait, whose waiter
 * holds or waits for the list's lock that the claimer holds. */
void task_waker_fire_(struct waker *w);
void task_waker_fire_listed_(struct waker *w);

static inline void task_waker_init(struct task_waker *tw)
{
    struct task *cur = sched_current();
    tw->w = (struct waker){.which = -1, .qos = cur->qos, .fire = task_waker_fire_};
    tw->lock = (spinlock_t)SPINLOCK_INIT;
    tw->interruptible = false;
    tw->task = cur;
}

/* One turn of a wait, under lock (IRQs masked): block unless the deadline
 * has passed or, at a cancellation point, the task is cancelled. Returns
 * with lock held, and what ends the wait other than its waker: -ETIMEDOUT,
 * -ECANCELED, or 0 (woken, or spuriously: look at the waker again). */
static inline __attribute__((always_inline)) int32_t
task_wait_turn_(spinlock_t *lock, uint64_t deadline_ns, bool point)
{
    bool expired = deadline_ns && clock_ns() >= deadline_ns;
    bool cancelled = point && task_cancelled();
    if (!expired && !cancelled) {
        /* BLOCKED is set before lock is released: a fire that comes after
         * finds the task blocked and wakes it. */
        int32_t r = sched_block(lock, deadline_ns);
        spin_lock(lock);
        if (__builtin_expect(r == WAIT_OK, 1))
            return 0;
        /* Only a deadline times out, only a point is cancelled: a wait with
         * neither (constants when inlined) tests no result. */
        expired = deadline_ns && r == WAIT_TIMEOUT;
        cancelled = point && r == WAIT_CANCELLED;
    }
    return cancelled ? -ECANCELED : expired ? -ETIMEDOUT : 0;
}

/* Wait until lock reads free: whoever held it when this was called has
 * released it since. */
static inline void task_wait_lock_released_(spinlock_t *lock)
{
    while (__builtin_expect(atomic_load_explicit(&lock->locked, memory_order_acquire), 0))
        arch_cpu_relax();
}

/* task_waker_wait_on once tw's fire is task_waker_fire_listed_, on the
 * lock of n's list; point: tw is interruptible. */
static inline __attribute__((always_inline)) int32_t
task_waker_wait_listed_(struct task_waker *tw, struct wait_node *n, spinlock_t *lock,
                        uint64_t flags, uint64_t deadline_ns, bool point)
{
    if (!deadline_ns && !point) {
        /* Only a claimer ends this wait, and it makes the waker DONE with
         * lock held and wakes the task there; or a taker makes it IDLE
         * (result 0) and wakes it right after releasing the lock
         * (task_waker_wake_unlock_): then the task cannot run before that
         * wake-up, and the lock is released already. So once DONE is seen, lock
         * reading free means that claimer has released it: it has made its
         * wake-up and left what the lock guards (which the caller may
         * destroy next), and the lock need not be taken again. (DONE was
         * stored after the claimer took the lock, and read here before the
         * lock word: that read cannot see the word from before that
         * taking.) A spurious wake-up (still WAITING) looks again under
         * the lock. */
        uint32_t s;
        for (;;) {
            /* The untimed block in one frame (IRQs restored, so
             * the look below and the lock-word wait run with flags' IRQ
             * state). */
            sched_block_unlock(lock, flags);
            s = waker_state(&tw->w);
            if (__builtin_expect(s != WAKER_WAITING, 1))
                break;
            flags = spin_lock_irqsave(lock);
            s = waker_state(&tw->w);
            if (s != WAKER_WAITING) {
                spin_unlock_irqrestore(lock, flags);
                break;
            }
        }
        /* IDLE: a taker (task_waker_wake_unlock_) moved the message and
         * released the lock before the wake-up: the result is 0. */
        if (s == WAKER_IDLE)
            return 0;
        task_wait_lock_released_(lock);
        return tw->w.result;
    }
    if (point)
        task_cancel_point_enter(lock);
    /* Under the list's lock the waker is WAITING or DONE, never CLAIMED:
     * claim, transfer and fire all happen with that lock held. WAITING on
     * entry (lock held since n was queued): the first turn needs no look. */
    do {
        int32_t why = task_wait_turn_(lock, deadline_ns, point);
        if (why && waker_claim(&tw->w, -1, why)) {
            wait_list_remove(n);
            waker_set_done(&tw->w);
        }
    } while (waker_state(&tw->w) == WAKER_WAITING);
    spin_unlock_irqrestore(lock, flags);
    if (point)
        task_cancel_point_leave();
    return tw->w.result;
}

static inline __attribute__((always_inline)) int32_t
task_waker_wait_on(struct task_waker *tw, struct wait_node *n, uint64_t flags, uint64_t deadline_ns)
{
    tw->w.fire = task_waker_fire_listed_;   /* claimers read both under the list's lock */
    tw->w.kind = WAKER_KIND_TASK_LISTED;
    int32_t r = task_waker_wait_listed_(tw, n, n->list->lock, flags, deadline_ns, tw->interruptible);
    atomic_store_explicit(&tw->w.state, WAKER_IDLE, memory_order_relaxed);
    return r;
}

/* With l's lock held, n = l->head a node that task_wait_listed queued
 * (waker kind WAKER_KIND_TASK_LISTED or _UNTIMED): take n off as its claim with
 * result 0. Such a waker changes state only under that lock (its claimers
 * fire there; its own timeout or cancellation claims there and unlinks n
 * at once), so while n is linked it is WAITING, with the result and which
 * (0, 0) that such a claim would store: no compare-and-swap, no stores
 * but the unlink. The caller transfers, then task_waker_wake_listed_
 * (DONE, the wake) or, for kind _UNTIMED, task_waker_wake_unlock_. */
static inline void task_wait_take_listed_(struct wait_list *l, struct wait_node *n)
{
    wait_list_unlink_head(l, n);
}

/* The body of task_waker_fire_listed_, for claimers that fire inline. */
static inline void task_waker_wake_listed_(struct waker *w)
{
    struct task *t = container_of(w, struct task_waker, w)->task;   /* read before DONE */
    waker_set_done(w);
    sched_wake(t, WAIT_OK);
}

/* task_waker_wake_listed_ for a waker of kind
 * WAKER_KIND_TASK_UNTIMED that the caller took off its list (and
 * transferred to) holding the list's lock with IRQs masked (flags from
 * spin_lock_irqsave): IDLE (the wait is over with result 0 and its taker
 * is gone once the task runs: the waiter's return is the test of that one
 * word, and nothing is left for it to reset), then sched_wake_unlock
 * releases lock, wakes the task and restores flags. Nothing but a claimer ends such a wait (no
 * timer, no cancel), and its task became BLOCKED before the lock its node
 * was queued under was released (sched_block_unlock), so once the node is
 * off the list no one else wakes the task and it cannot run before this
 * wake: the wake needs no lock (as a wait queue's, kernel/waitq_inline.h).
 * The waiter finds IDLE when it runs, and the lock word is not read at
 * all; nothing here touches what the lock guards after
 * the release (t is read before IDLE). Returns 0. */
static inline __attribute__((always_inline)) int
task_waker_wake_unlock_(struct waker *w, spinlock_t *lock, uint64_t flags)
{
    struct task *t = container_of(w, struct task_waker, w)->task;   /* read before IDLE */
    /* No wait_result: the task blocked in sched_block_unlock (or its
     * begin), which has none. */
    atomic_store_explicit(&w->state, WAKER_IDLE, memory_order_release);
    return sched_wake_unlock(lock, flags, t);   /* 0 */
}

static inline __attribute__((always_inline)) int32_t
task_wait_listed(struct wait_list *l, void *data, uint64_t flags, uint64_t deadline_ns,
                 bool interruptible)
{
    /* Only the fields a single-list wait reads: under l's lock nobody sees
     * the node before wait_list_add, which links it (next, prev, list,
     * linked); tw->lock and tw->interruptible are task_waker_wait's, and
     * the waker dies with this frame (left DONE, not IDLE). result 0 and
     * which 0 (its one node's index) are what a claim that moves a message
     * would set: a take (task_wait_take_listed_) leaves them so. */
    struct task *cur = sched_current();
    struct task_waker tw;
    struct wait_node n;
    uint8_t kind = !deadline_ns && !interruptible ? WAKER_KIND_TASK_UNTIMED
                                                  : WAKER_KIND_TASK_LISTED;
    tw.w = (struct waker){.state = WAKER_WAITING, .which = 0, .qos = cur->qos,
                          .kind = kind, .fire = task_waker_fire_listed_};
    tw.task = cur;
    wait_list_add_new(l, &n, &tw.w, 0, data);
    return task_waker_wait_listed_(&tw, &n, l->lock, flags, deadline_ns, interruptible);
}

#endif
