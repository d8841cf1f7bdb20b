/* Counting semaphore with FIFO hand-off to waiters. */
#ifndef KERNEL_SEM_H
#define KERNEL_SEM_H

#include <stdint.h>
#include <kernel/waitq.h>

struct semaphore {
    struct waitq wq;   /* its lock also guards count */
    int32_t count;
};

#define SEM_INIT(n) {WAITQ_INIT, (n)}
static inline void sem_init(struct semaphore *s, int32_t n) { *s = (struct semaphore)SEM_INIT(n); }

void sem_post(struct semaphore *s);
/* 0, or WAIT_TIMEOUT (timeout_ns 0 = WAIT_FOREVER). */
int sem_wait_(struct semaphore *s, uint64_t timeout_ns);
#ifndef SR_HOST   /* host builds use this header's types only */
#include <kernel/waitq_inline.h>
struct sched_block_switch sem_wait_begin_(struct semaphore *s);
/* sem_wait_; inline when the wait is untimed (timeout_ns WAIT_FOREVER,
 * known at compile time): it switches with a min frame in the caller
 * (waitq_wait_min_finish), which keeps across the wait only what it
 * still needs. */
static inline __attribute__((always_inline)) int sem_wait(struct semaphore *s, uint64_t timeout_ns)
{
    if (!__builtin_constant_p(timeout_ns) || timeout_ns != WAIT_FOREVER)
        return sem_wait_(s, timeout_ns);
    return waitq_wait_min_finish(sem_wait_begin_(s));
}
#endif
bool sem_trywait(struct semaphore *s);
/* As sem_wait, but a cancelled task (task_cancel) gets WAIT_CANCELLED, at
 * once if it was cancelled before, without taking a unit. */
int sem_wait_interruptible(struct semaphore *s, uint64_t timeout_ns);

#endif
