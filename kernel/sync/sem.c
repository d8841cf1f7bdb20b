/* Counting semaphore (see kernel/sem.h): a post with waiters hands its unit
 * straight to the first waiter; the count only grows when nobody waits. */
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/task.h>
#include <kernel/waitq_inline.h>

/* A post to a waiter releases the lock in the wake-up (a tail call, which
 * also acts on the reschedule the wake may owe). */
void sem_post(struct semaphore *s)
{
    uint64_t flags = spin_lock_irqsave(&s->wq.lock);
    if (waitq_wake_one_unlock(&s->wq, WAIT_OK, flags))
        return;
    s->count++;
    spin_unlock_irqrestore(&s->wq.lock, flags);
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

/* sem_wait's wait with a timeout, out of line: its deadline's call would
 * give the untimed way a frame. */
static __attribute__((noinline)) int sem_wait_timed(struct semaphore *s, uint64_t flags,
                                                    uint64_t timeout_ns)
{
    return waitq_wait_inline(&s->wq, flags, waitq_deadline_after(timeout_ns));
}

/* sem_wait's untimed wait up to its switch (kernel/sem.h): the fast path,
 * or the begin of a min-frame wait (kernel/waitq_inline.h). */
struct sched_block_switch sem_wait_begin_(struct semaphore *s)
{
    uint64_t flags = spin_lock_irqsave(&s->wq.lock);
    if (s->count > 0) {
        s->count--;
        spin_unlock_irqrestore(&s->wq.lock, flags);
        return (struct sched_block_switch){NULL, {.result = 0}};
    }
    return waitq_wait_min_begin(&s->wq, flags);   /* a tail call: sched_block_waitq_begin */
}

int sem_wait_(struct semaphore *s, uint64_t timeout_ns)
{
    uint64_t flags = spin_lock_irqsave(&s->wq.lock);
    if (s->count > 0) {
        s->count--;
        spin_unlock_irqrestore(&s->wq.lock, flags);
        return 0;
    }
    if (timeout_ns != WAIT_FOREVER)
        return sem_wait_timed(s, flags, timeout_ns);
    return waitq_wait_inline(&s->wq, flags, 0);   /* a tail call: sched_block_waitq */
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
