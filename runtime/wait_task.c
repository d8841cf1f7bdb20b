/* Stackful task wakers (see sr/wait_task.h). */
#include <errno.h>
#include <kernel/clock.h>
#include <kernel/sched.h>
#include <kernel/task.h>
#include <sr/wait_task.h>

void task_waker_fire_listed_(struct waker *w) { task_waker_wake_listed_(w); }

void task_waker_fire_(struct waker *w)
{
    struct task_waker *tw = container_of(w, struct task_waker, w);
    struct task *t = tw->task;
    uint64_t flags = spin_lock_irqsave(&tw->lock);
    waker_set_done(w);
    sched_wake(t, WAIT_OK);
    spin_unlock_irqrestore(&tw->lock, flags);
}

int32_t task_waker_wait(struct task_waker *tw, uint64_t deadline_ns)
{
    uint64_t flags = spin_lock_irqsave(&tw->lock);
    bool point = tw->interruptible;
    if (point)
        task_cancel_point_enter(&tw->lock);
    for (;;) {
        uint32_t s = waker_state(&tw->w);
        if (s == WAKER_DONE)
            break;
        if (s == WAKER_WAITING) {
            int32_t why = task_wait_turn_(&tw->lock, deadline_ns, point);
            if (why && waker_claim(&tw->w, -1, why))
                waker_set_done(&tw->w);
            continue;
        }
        /* CLAIMED: a claimer is transferring and fires at once, under our lock. */
        spin_unlock(&tw->lock);
        arch_cpu_relax();
        spin_lock(&tw->lock);
    }
    spin_unlock_irqrestore(&tw->lock, flags);
    if (point)
        task_cancel_point_leave();
    atomic_store_explicit(&tw->w.state, WAKER_IDLE, memory_order_relaxed);
    return tw->w.result;
}

void wait_node_unlink(struct wait_node *n)
{
    if (!n->list)
        return;
    spinlock_t *lock = n->list->lock;
    uint64_t flags = spin_lock_irqsave(lock);
    wait_list_remove(n);
    spin_unlock_irqrestore(lock, flags);
}
