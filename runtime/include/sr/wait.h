/*
 * Waiters and wakers: the one way anything in runtime/ waits for anything.
 *
 * A *waker* stands for one waiting entity during one wait (a stackful task
 * blocked in chan_recv, a stackless task at an await point, a select over
 * several events). A *wait node* puts that waker on one *wait list* (a
 * channel's receivers, a task's joiners, ...); a waker may have several
 * nodes at once (select). Whoever completes the wait *claims* the waker
 * (one atomic compare-and-swap: exactly one claimer wins, even when a
 * channel, a timer and a cancellation race), does the transfer the wait was
 * for (e.g. copies a message into node->data), then *fires* it: fire() marks
 * it WAKER_DONE and makes its owner run (sched_wake for a stackful task,
 * the ready list of its executor for a stackless one; other owners, e.g.
 * actors or fork-join, bring their own fire function).
 *
 * States: IDLE -> (waker_arm) WAITING -> (waker_claim) CLAIMED -> (fire)
 * DONE -> (owner consumes the result) IDLE. A stackful single-list wait
 * without deadline or cancellation point may also be taken WAITING ->
 * IDLE, its result 0 (task_waker_wake_unlock_, sr/wait_task.h).
 *
 * Rules:
 * - Lists are ordered by the waker's QoS (highest class first) and FIFO
 *   within a class, so the wake path always serves the most important
 *   waiter first.
 * - A list is guarded by the lock its owner names (list->lock, opaque here so
 *   this file builds on the host). Claim, transfer and fire happen with that
 *   lock held; the waiter's clean-up (removing nodes that did not fire) takes
 *   the same lock, which orders it after any transfer in flight.
 * - Nodes that a claimer finds already claimed elsewhere (a select that was
 *   completed by another list) are unlinked and skipped.
 *
 * Pure code (C11 atomics only): built into the image and the host tests.
 */
#ifndef SR_WAIT_H
#define SR_WAIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum waker_state {
    WAKER_IDLE = 0,
    WAKER_WAITING = 1,
    WAKER_CLAIMED = 2,   /* a claimer is transferring; DONE follows at once */
    WAKER_DONE = 3,
};

struct waker {
    _Atomic uint32_t state;     /* enum waker_state */
    int32_t result;             /* set by the claimer: 0 or a negative errno */
    int16_t which;              /* index of the node that fired, -1 for none */
    uint8_t qos;                /* the waiter's QoS class (0 = highest) */
    uint8_t kind;               /* enum waker_kind: which fire this is, for inline dispatch */
    /* Called by the claimer after the transfer, with the list's lock held:
     * store WAKER_DONE (release) and make the owner run. Must not block. */
    void (*fire)(struct waker *w);
};

/* What a claimer may do in place of calling fire (one byte test on the
 * wake path instead of comparing function pointers). Set together with
 * fire by the waker's initialiser; 0 (any other fire) is always correct. */
enum waker_kind {
    WAKER_KIND_FN = 0,              /* call fire */
    WAKER_KIND_TASK_LISTED = 1,     /* fire is task_waker_fire_listed_ (sr/wait_task.h) */
    WAKER_KIND_ASYNC = 2,           /* fire is async_fire_ (sr/async.h) */
    /* A TASK_LISTED waker whose wait has no deadline and no
     * cancellation point, so only a claimer ends it: a claimer that took it
     * off may also wake it after releasing the list's lock
     * (task_waker_wake_unlock_, sr/wait_task.h). Includes the TASK_LISTED
     * bit: every test for that bit still holds. */
    WAKER_KIND_TASK_UNTIMED = 1 | 4,
};

struct wait_list;

struct wait_node {
    struct wait_node *next, *prev;
    struct waker *waker;
    struct wait_list *list;     /* list it was added to; kept after removal */
    void *data;                 /* what the primitive transfers (message buffer) */
    int16_t index;              /* reported in waker->which when this node fires */
    uint8_t linked;
};

struct wait_list {
    struct wait_node *head, *tail;
    void *lock;                 /* the spinlock_t guarding this list */
};

#ifndef container_of
#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))
#endif

/* Start a wait: state WAITING (sequentially consistent, so a canceller
 * that sets a flag and then claims cannot be missed). which and result are
 * not reset: a waker becomes DONE only through a claim, which sets both
 * (or, for a single-list stackful wait, a take that finds them set as the
 * claim would set them: task_wait_take_listed_, sr/wait_task.h). */
static inline void waker_arm(struct waker *w, unsigned qos)
{
    w->qos = (uint8_t)qos;
    atomic_store(&w->state, WAKER_WAITING);
}

/* Exactly one caller per wait gets true; it then owns the transfer and must
 * call waker_fire. */
static inline bool waker_claim(struct waker *w, int which, int32_t result)
{
    uint32_t expected = WAKER_WAITING;
    if (!atomic_compare_exchange_strong_explicit(&w->state, &expected, WAKER_CLAIMED,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return false;
    w->which = (int16_t)which;
    w->result = result;
    return true;
}

static inline void waker_fire(struct waker *w) { w->fire(w); }

static inline uint32_t waker_state(const struct waker *w)
{
    return atomic_load_explicit(&((struct waker *)w)->state, memory_order_acquire);
}

/* For fire functions: publish the result. */
static inline void waker_set_done(struct waker *w)
{
    atomic_store_explicit(&w->state, WAKER_DONE, memory_order_release);
}

static inline void wait_node_init(struct wait_node *n, struct waker *w, int index, void *data)
{
    n->next = n->prev = NULL;
    n->waker = w;
    n->list = NULL;
    n->data = data;
    n->index = (int16_t)index;
    n->linked = 0;
}

static inline bool wait_list_empty(const struct wait_list *l) { return !l->head; }

/* With the list's lock held: add n behind every waiter of its class or a
 * higher one. Inline: a wait is queued on the path that parks it. */
static inline void wait_list_add(struct wait_list *l, struct wait_node *n)
{
    struct wait_node *p = l->tail;
    n->list = l;
    n->linked = 1;
    if (__builtin_expect(!p, 1)) {   /* empty (the usual case of a one-waiter hand-off) */
        n->next = n->prev = NULL;
        l->head = l->tail = n;
        return;
    }
    unsigned q = n->waker->qos;
    while (p && p->waker->qos > q)   /* lower class (larger value) waits behind */
        p = p->prev;
    n->prev = p;
    n->next = p ? p->next : l->head;
    if (n->next)
        n->next->prev = n;
    else
        l->tail = n;
    if (p)
        p->next = n;
    else
        l->head = n;
}

/* wait_node_init and wait_list_add in one, each field stored once (the
 * links, list and linked are wait_list_add's). */
static inline void wait_list_add_new(struct wait_list *l, struct wait_node *n, struct waker *w,
                                     int index, void *data)
{
    n->waker = w;
    n->data = data;
    n->index = (int16_t)index;
    wait_list_add(l, n);
}

/* With n->list's lock held: unlink n if it is still linked. */
static inline void wait_list_remove(struct wait_node *n)
{
    if (!n->linked)
        return;
    struct wait_list *l = n->list;
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->next = n->prev = NULL;
    n->linked = 0;
}

/* With the lock held: unlink n, the list's head (its prev is NULL). Its
 * links are left NULL, as wait_list_remove leaves them. */
static inline void wait_list_unlink_head(struct wait_list *l, struct wait_node *n)
{
    struct wait_node *next = n->next;
    l->head = next;
    if (__builtin_expect(!next, 1)) {   /* the one-waiter hand-off */
        l->tail = NULL;
    } else {
        next->prev = NULL;
        n->next = NULL;
    }
    n->linked = 0;
}

/* With the lock held: unlink waiters from the head until one can be claimed
 * (with its own index and result); return it, or NULL when none is left.
 * The caller transfers, then calls waker_fire(n->waker). Inline: it is the
 * hand-over step of every wake-up. */
static inline struct wait_node *wait_list_claim(struct wait_list *l, int32_t result)
{
    struct wait_node *n;
    while ((n = l->head)) {
        wait_list_unlink_head(l, n);
        if (waker_claim(n->waker, n->index, result))
            return n;
    }
    return NULL;
}

/* With the lock held: claim and fire every waiter. Returns how many. */
int wait_list_claim_all(struct wait_list *l, int32_t result);

#endif
