/* Condition variable (see kernel/condvar.h). The condvar's lock is taken
 * before the mutex is released, so a signal between the two cannot be lost. */
#include <kernel/condvar.h>
#include <kernel/sched.h>
#include <kernel/waitq_inline.h>

int condvar_wait(struct condvar *c, struct mutex *m, uint64_t timeout_ns)
{
    uint64_t deadline = waitq_deadline(timeout_ns);
    uint64_t flags = spin_lock_irqsave(&c->wq.lock);
    mutex_unlock(m);
    int r = waitq_wait(&c->wq, flags, deadline);
    mutex_lock(m);
    return r;
}

/* As sem_post: a waiter's wake-up releases the lock and reschedules. */
void condvar_signal(struct condvar *c)
{
    uint64_t flags = spin_lock_irqsave(&c->wq.lock);
    if (!waitq_wake_one_unlock(&c->wq, WAIT_OK, flags))
        spin_unlock_irqrestore(&c->wq.lock, flags);
}

void condvar_broadcast(struct condvar *c)
{
    uint64_t flags = spin_lock_irqsave(&c->wq.lock);
    waitq_wake_all(&c->wq, WAIT_OK);
    spin_unlock_irqrestore(&c->wq.lock, flags);
    sched_resched_if_needed();
}
