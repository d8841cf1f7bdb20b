/*
 * A waker for a stackful task (see sr/wait.h): the task blocks in the
 * scheduler until a claimer fires the waker or its deadline passes.
 * Lives on the waiting task's stack for the duration of one wait.
 */
#ifndef SR_WAIT_TASK_H
#define SR_WAIT_TASK_H

#include <kernel/sched.h>
#include <kernel/spinlock.h>
#include <kernel/task.h>
#include <sr/wait.h>

struct task;

struct task_waker {
    struct waker w;
    spinlock_t lock;            /* orders fire's sched_wake against blocking */
    bool on_list_lock;          /* single-list wait: the list's lock does that */
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
 * and IRQs masked (flags from spin_lock_irqsave); blocks until DONE or the
 * deadline (then n is withdrawn and the result is -ETIMEDOUT); returns with
 * the lock released and IRQs restored. tw must come from task_waker_init. */
int32_t task_waker_wait_on(struct task_waker *tw, struct wait_node *n, uint64_t flags,
                           uint64_t deadline_ns);

/* Remove n from its list under that list's lock (no-op if not linked). */
void wait_node_unlink(struct wait_node *n);

/* --- inline ------------------------------------------------------------------ */

void task_waker_fire_(struct waker *w);

static inline void task_waker_init(struct task_waker *tw)
{
    struct task *cur = sched_current();
    tw->w = (struct waker){.which = -1, .qos = cur->qos, .fire = task_waker_fire_};
    tw->lock = (spinlock_t)SPINLOCK_INIT;
    tw->on_list_lock = false;
    tw->interruptible = false;
    tw->task = cur;
}

#endif
