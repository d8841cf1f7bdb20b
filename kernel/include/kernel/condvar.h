/* Condition variable over a struct mutex. */
#ifndef KERNEL_CONDVAR_H
#define KERNEL_CONDVAR_H

#include <stdint.h>
#include <kernel/mutex.h>
#include <kernel/waitq.h>

struct condvar {
    struct waitq wq;
};

#define CONDVAR_INIT {WAITQ_INIT}
static inline void condvar_init(struct condvar *c) { *c = (struct condvar)CONDVAR_INIT; }

/* Atomically release m and wait; m is held again on return (even on
 * timeout). 0, or WAIT_TIMEOUT; spurious wake-ups do not happen, but a
 * condition must still be re-checked (another task may run first). */
int condvar_wait(struct condvar *c, struct mutex *m, uint64_t timeout_ns);
void condvar_signal(struct condvar *c);
void condvar_broadcast(struct condvar *c);

#endif
