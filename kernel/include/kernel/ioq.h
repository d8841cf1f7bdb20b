/*
 * The I/O queue: the pure bookkeeping of one device's requests (no locks, no
 * arch, no allocation; host-tested). The device layer (kernel/io.h) embeds an
 * ioq_entry in every request and holds its own lock around these calls.
 *
 * A queue has `depth` device slots (requests the device holds at once) and
 * room for `cap` waiting requests. ioq_push never drops: a full queue says
 * -EAGAIN and changes nothing. ioq_pop_ready hands out the next request to
 * start while a slot is free, in QoS order:
 *
 *  - the highest non-empty class first, FIFO within a class;
 *  - utility and background together never hold more than depth - reserve
 *    slots (reserve = depth / 4), so a flood of low-class I/O cannot fill
 *    the device ahead of user-interactive I/O;
 *  - aging: once IOQ_AGE_LIMIT dispatches in a row went past an older
 *    request of a lower class, the oldest waiting request goes next.
 *
 * Bounds: a request at the head of its class is dispatched within
 * IOQ_AGE_LIMIT + 1 dispatches after a slot it may use frees (so background
 * I/O is never starved), and at most one lower-class request per
 * IOQ_AGE_LIMIT dispatches ever goes ahead of a user-interactive one (so
 * background I/O cannot starve user-interactive I/O).
 */
#ifndef KERNEL_IOQ_H
#define KERNEL_IOQ_H

#include <stdbool.h>
#include <stdint.h>

#define IOQ_CLASSES    5          /* = QOS_COUNT, class 0 is the highest */
#define IOQ_LOW_CLASS  3          /* classes >= this share depth - reserve slots */
#define IOQ_AGE_LIMIT  8

enum ioq_state {
    IOQ_IDLE = 0,      /* not in the queue (new, or completed) */
    IOQ_WAITING,       /* queued, not yet at the device */
    IOQ_ACTIVE,        /* handed out by ioq_pop_ready, holds a device slot */
};

struct ioq_entry {
    union {
        struct {
            uint8_t cls;          /* QoS class, 0 highest */
            uint8_t state;        /* enum ioq_state */
        };
        uint16_t cls_state;       /* both, for one store: cls | state << 8 */
    };
    uint64_t dispatch_seq;        /* order ioq_pop_ready handed it out (1, 2, ...; of
                                   * the queue's dispatches), 0 while waiting; not
                                   * set by ioq_start_now (nothing waited) */
    uint64_t seq;                 /* push order (requests that waited) */
    struct ioq_entry *next, *prev;
};

struct ioq {
    struct ioq_entry *head[IOQ_CLASSES], *tail[IOQ_CLASSES];   /* first: indexed loads */
    /* The fast paths' gate, one load: ioq_start_now needs mask, plugged and
     * closed zero (IOQ_GATE_START); the owner's unlock needs mask, listed
     * and refused zero (IOQ_GATE_PUMP), else it takes its slow path. */
    union {
        struct {                  /* ordered so both masks are one run of bits */
            uint8_t refused;      /* a push was refused since ioq_take_room said true */
            uint8_t listed;       /* the owner's: completions wait for its unlock */
            uint8_t mask;         /* bit c: class c has waiting requests */
            uint8_t closed;       /* ioq_close: nothing starts at once any more */
            uint16_t plugged;     /* > 0: hold every request back (batching, tests) */
            uint16_t unused_;
        };
        uint64_t gate;
    };
    /* Slots in use: dispatched - finished (ioq_active), so a start counts
     * once and a finish once, with no separate in-use count to keep. */
    uint64_t dispatched;          /* requests handed to the device, ever */
    uint64_t finished;            /* of those, finished */
    uint32_t depth;               /* slots */
    uint32_t max_active;          /* high-water mark of ioq_active */
    uint32_t low_active, low_limit;
    uint32_t nwaiting, cap;       /* waiting requests, bound */
    uint32_t bypassed;            /* dispatches in a row past an older lower-class request */
    uint64_t seq;
    uint64_t full_count;          /* pushes refused */
    uint64_t removed;             /* waiting requests taken out by ioq_remove */
    uint64_t aged_count;          /* dispatches made by aging */
};

#define IOQ_GATE_START 0x0000ffffffff0000ull   /* mask, closed, plugged */
#define IOQ_GATE_PUMP  0x0000000000ffffffull   /* refused, listed, mask */
_Static_assert(IOQ_CLASSES <= 8, "gate layout: one mask byte");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "cls_state: cls is the low byte");

/* Empty queue with depth device slots (>= 1) and room for cap waiting. */
void ioq_init(struct ioq *q, uint32_t depth, uint32_t cap);
/* Queue e (state IDLE, cls < IOQ_CLASSES). 0, -EAGAIN when cap requests
 * already wait, -EINVAL for a bad class or an entry already queued. */
int ioq_push(struct ioq *q, struct ioq_entry *e, unsigned cls);
/* The next request to start, its slot taken (state ACTIVE); NULL when none
 * may start now (empty, plugged, or no slot its class may use). */
struct ioq_entry *ioq_pop_ready(struct ioq *q);
/* Take a WAITING request out (state IDLE): 0, or -EBUSY if it is ACTIVE,
 * -EALREADY if it is not in the queue. */
int ioq_remove(struct ioq *q, struct ioq_entry *e);
/* Inline: the fast paths every request takes. */
static inline void ioq_activate_(struct ioq *q, struct ioq_entry *e)
{
    e->state = IOQ_ACTIVE;
    e->dispatch_seq = ++q->dispatched;
    uint32_t active = (uint32_t)(q->dispatched - q->finished);
    if (active > q->max_active)
        q->max_active = active;
    if (e->cls >= IOQ_LOW_CLASS)
        q->low_active++;
}

/* Fast path of push + pop: start e at once (state ACTIVE, true) if nothing
 * waits, the queue is neither plugged nor closed and a slot its class may use is free;
 * else false and nothing changed (push it). */
static inline bool ioq_start_now(struct ioq *q, struct ioq_entry *e, unsigned cls)
{
    uint32_t active = (uint32_t)(q->dispatched - q->finished);
    uint32_t depth = q->depth, max_active = q->max_active;   /* neighbours: one load */
    if ((q->gate & IOQ_GATE_START) || active >= depth || e->state != IOQ_IDLE)
        return false;
    if (cls >= IOQ_LOW_CLASS) {   /* the class range is checked here, off the common path */
        if (cls >= IOQ_CLASSES || q->low_active >= q->low_limit)
            return false;
        q->low_active++;
    }
    e->cls_state = (uint16_t)(cls | IOQ_ACTIVE << 8);
    q->dispatched++;
    active++;
    if (active > max_active)
        q->max_active = active;
    return true;
}

/* An ACTIVE request finished: its slot is free (state IDLE). Only a request
 * at the device finishes, once (the owner's invariant: its driver completes
 * what it was given); nothing else may be passed. */
static inline void ioq_finish(struct ioq *q, struct ioq_entry *e)
{
    e->state = IOQ_IDLE;
    q->finished++;
    if (e->cls >= IOQ_LOW_CLASS)
        q->low_active--;
}

/* Undo ioq_start_now (its owner refused e before anything else changed
 * the queue): e IDLE, its slot and dispatch number given back. */
static inline void ioq_unstart(struct ioq *q, struct ioq_entry *e)
{
    e->state = IOQ_IDLE;
    q->dispatched--;
    if (e->cls >= IOQ_LOW_CLASS)
        q->low_active--;
}

static inline uint32_t ioq_waiting(const struct ioq *q) { return q->nwaiting; }
static inline uint32_t ioq_active(const struct ioq *q)
{
    return (uint32_t)(q->dispatched - q->finished);
}
static inline void ioq_plug(struct ioq *q) { q->plugged++; }
/* No request starts at once any more (ioq_start_now false, for good);
 * ioq_pop_ready still hands waiting ones out (for the owner to fail them). */
static inline void ioq_close(struct ioq *q) { q->closed = 1; }
/* After a push was refused (-EAGAIN): true, once, when room has appeared
 * (fewer than cap wait), so the owner can wake the refused submitters. */
static inline bool ioq_take_room(struct ioq *q)
{
    if (!q->refused || q->nwaiting >= q->cap)
        return false;
    q->refused = 0;
    return true;
}
static inline void ioq_unplug(struct ioq *q) { if (q->plugged) q->plugged--; }

#endif
