/* Event flags: 32 bits; tasks wait for any or all of a mask, optionally
 * consuming (clearing) the bits they waited for. */
#ifndef KERNEL_EVENT_H
#define KERNEL_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include <kernel/waitq.h>

struct event_flags {
    struct waitq wq;   /* its lock also guards bits */
    uint32_t bits;
};

#define EVENT_FLAGS_INIT {WAITQ_INIT, 0}
#define EVENT_ALL    (1u << 0)   /* wait for every bit of the mask (default: any) */
#define EVENT_CLEAR  (1u << 1)   /* clear the matched bits when the wait succeeds */

static inline void event_init(struct event_flags *e) { *e = (struct event_flags)EVENT_FLAGS_INIT; }

void event_set(struct event_flags *e, uint32_t bits);
void event_clear(struct event_flags *e, uint32_t bits);
uint32_t event_get(struct event_flags *e);
/* 0 with *got = the matching bits, or WAIT_TIMEOUT. */
int event_wait(struct event_flags *e, uint32_t mask, unsigned mode, uint64_t timeout_ns,
               uint32_t *got);

#endif
