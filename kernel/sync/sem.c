/* Counting semaphore (see kernel/sem.h): a post with waiters hands its unit
 * straight to the first waiter; the count only grows when nobody waits. */
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/task.h>
#include <kernel/waitq_inline.h>

void sem_post(struct semaphore *s)
{
    uint64_t flags = spin_lock_irqsave(&s->wq.lock);
    if (!waitq_wake_one_inline(&s->wq, WAIT_OK))
        s->count++;
    spin_unlock_irqrestore(&s->wq.lock, flags);
    sched_resched_if_needed();
}

bool sem_trywait(struct semaphore *s)
{
    uint64_t flags = spin_lock_irqsave(&s->wq.lock);
    bool got = s->count > 0;
    if (got)
        s->count--;
    spin_unlock_irqrestore(&s->wq.lock, flags);
    return got;
}

int sem_wait(struct semaphore *s, uint64_t timeout_ns)
{
    uint64_t flags = spin_lock_irqsave(&s->wq.lock);
    if (s->count > 0) {
        s->count--;
        spin_unlock_irqrestore(&s->wq.lock, flags);
        return 0;
    }
    return waitq_wait_inline(&s->wq, flags, waitq_deadline(timeout_ns));
}

int sem_wait_interruptible(struct semaphore *s, uint64_t timeout_ns)
{
    uint64_t flags = spin_lock_irqsave(&s->wq.lock);
    if (task_cancelled()) {
        spin_unlock_irqrestore(&s->wq.lock, flags);
        return WAIT_CANCELLED;
    }
    if (s->count > 0) {
        s->count--;
        spin_unlock_irqrestore(&s->wq.lock, flags);
        return 0;
    }
    return waitq_wait_interruptible(&s->wq, flags, waitq_deadline(timeout_ns));
}
