/*
 * Select fairness, as pure policy: which ready case a select takes.
 *
 * Rotating priority: cases are tried in order starting at `start`, and the
 * select then moves start to one past the case it took. So a case that stays
 * ready is taken within n selections of becoming ready (no starvation), and
 * when every case is always ready they are taken in strict turn (exact,
 * testable counts). When a select has to wait, the first case to become
 * ready wins (the waker claim decides).
 */
#ifndef SR_SEL_PICK_H
#define SR_SEL_PICK_H

#include <stdint.h>

#define SEL_MAX 32   /* cases in one select */

/* The first set bit of ready (bit i = case i) at or after start, cyclically;
 * -1 if none. n <= SEL_MAX, start < n. */
static inline int sel_pick(uint32_t ready, unsigned n, unsigned start)
{
    if (!ready)
        return -1;
    uint32_t all = n >= 32 ? ~0u : (1u << n) - 1;
    ready &= all;
    uint32_t high = ready & ~((1u << start) - 1);
    if (start < 32 && high)
        return __builtin_ctz(high);
    return ready ? __builtin_ctz(ready) : -1;
}

/* Where the next select starts after taking case which. */
static inline unsigned sel_next_start(int which, unsigned n)
{
    return (unsigned)(which + 1) % n;
}

#endif
