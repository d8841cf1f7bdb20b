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
int sem_wait(struct semaphore *s, uint64_t timeout_ns);
bool sem_trywait(struct semaphore *s);
/* As sem_wait, but a cancelled task (task_cancel) gets WAIT_CANCELLED, at
 * once if it was cancelled before, without taking a unit. */
int sem_wait_interruptible(struct semaphore *s, uint64_t timeout_ns);

#endif
