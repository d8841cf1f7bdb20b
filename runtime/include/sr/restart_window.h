/*
 * Restart intensity: at most max restarts within any window of window_ns
 * (pure policy, host-tested). A supervisor asks restart_window_allow at
 * each fault; true records a restart at now, false means the limit is
 * reached (max restarts already happened in (now - window_ns, now]) and it
 * must give up. max = 0 never allows a restart.
 */
#ifndef SR_RESTART_WINDOW_H
#define SR_RESTART_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#define RESTART_WINDOW_MAX 64   /* largest max */

struct restart_window {
    uint64_t stamps[RESTART_WINDOW_MAX];   /* the last count restart times, a ring */
    uint32_t max, count, head;             /* head: oldest stamp */
    uint64_t window_ns;
};

/* false if max > RESTART_WINDOW_MAX. */
static inline bool restart_window_init(struct restart_window *w, uint32_t max, uint64_t window_ns)
{
    if (max > RESTART_WINDOW_MAX)
        return false;
    *w = (struct restart_window){.max = max, .window_ns = window_ns};
    return true;
}

/* now must not go backwards between calls. */
static inline bool restart_window_allow(struct restart_window *w, uint64_t now)
{
    /* Forget restarts that left the window. */
    while (w->count && now - w->stamps[w->head] >= w->window_ns) {
        w->head = (w->head + 1) % RESTART_WINDOW_MAX;
        w->count--;
    }
    if (w->count >= w->max)
        return false;
    w->stamps[(w->head + w->count) % RESTART_WINDOW_MAX] = now;
    w->count++;
    return true;
}

#endif
