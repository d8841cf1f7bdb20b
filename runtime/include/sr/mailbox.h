/*
 * Mailboxes: bounded multi-producer single-consumer queues of fixed-size
 * messages for stackful tasks, each message carrying one 64-bit word (the
 * actor puts a request's reply box there). The queue is a lock-free
 * struct mpsc_ring (sr/mpsc_ring.h).
 *
 * The one reader (whoever calls mailbox_recv; one task at a time) sleeps
 * on one flag (struct sleeper, sr/sleeper.h): a sender wakes it only when
 * that flag is set (one load after each send otherwise).
 * Senders that find the mailbox full wait in a wait list (sr/wait.h), so
 * the most important class is served first; the reader takes the lock
 * only when `senders_waiting` is set. A woken sender retries its send
 * (notification, not hand-off: whoever sends first gets the room).
 *
 * The lock is also there for waits its owner keeps beside the reader
 * (the actor's requesters, each on its reply): a requester then hands its
 * message over, wakes the reader and sleeps for its reply in one critical
 * section (mailbox_hand_locked), and the reader posts a reply and sleeps
 * for the next message in another (mailbox_sleep_locked).
 *
 * Hand-off: a sender holding the lock that finds the reader asleep and
 * nothing claimed in the ring gives it the message directly: copied into
 * the buffer the reader sleeps with, its word left in `handed`, the reader
 * taken for waking. The reader looked at the ring under the lock before
 * sleeping and nothing was claimed since, so it has read everything sent
 * before: the order is the one the ring would have given. The message
 * takes no room in the ring (the reader holds it, as one it has popped).
 *
 * Results: 0; -EAGAIN (try: full); -ETIMEDOUT; -EPIPE (closed; the reader
 * gets it once the mailbox is closed and everything sent before is read).
 * Close: later sends fail with -EPIPE, waiting senders fail with -EPIPE,
 * what was queued stays to be read.
 */
#ifndef SR_MAILBOX_H
#define SR_MAILBOX_H

#include <errno.h>
#include <stdint.h>
#include <kernel/spinlock.h>
#include <sr/mpsc_ring.h>
#include <sr/sleeper.h>
#include <sr/wait.h>

struct mailbox {
    struct mpsc_ring ring;
    spinlock_t lock;                /* the reader's sleep, sendq, and both flags' changes */
    struct sleeper reader;          /* the reader, while it sleeps */
    void *reader_buf;               /* while the reader sleeps: where a handed message goes */
    _Atomic uint64_t handed;        /* the word of a message handed to the reader (not 0), until
                                       it takes it; 0 if none */
    _Atomic uint32_t senders_waiting; /* sendq is not empty */
    struct wait_list sendq;         /* senders waiting for room */
};

/* cap (1..MPSC_CAP_MAX) messages of elem (1..65536) bytes; NULL (errno
 * EINVAL/ENOMEM). mailbox_destroy: nobody may use or wait on it. */
struct mailbox *mailbox_create(uint32_t elem, uint32_t cap);
void mailbox_destroy(struct mailbox *mb);

/* Send msg (elem bytes) with word: wait for room until deadline_ns
 * (absolute clock_ns, 0 = forever). */
static inline int mailbox_send(struct mailbox *mb, uint64_t word, const void *msg,
                               uint64_t deadline_ns);
static inline int mailbox_try_send(struct mailbox *mb, uint64_t word, const void *msg);
/* The reader: the next message and its word; blocks while the mailbox is
 * empty and open; -EPIPE once closed and drained. */
static inline int mailbox_recv(struct mailbox *mb, uint64_t *word, void *buf);
/* 0 if it closed it, -EPIPE if it was closed already. */
int mailbox_close(struct mailbox *mb);
/* The lock (see top). */
static inline spinlock_t *mailbox_lock(struct mailbox *mb) { return &mb->lock; }
/* mailbox_try_send without the wake: after a 0, the caller wakes the
 * reader if it sleeps (lock held: sleeper_take(&mb->reader), no flag race
 * left, the reader announces and looks at the ring under the lock). */
static inline int mailbox_try_push(struct mailbox *mb, uint64_t word, const void *msg);
/* Lock held: hand msg and word (not 0) to the reader if it sleeps and
 * nothing is claimed in the ring (see top); returns the reader's task, its
 * announcement taken, for the caller to wake (sched_wake or
 * sched_wake_block, before releasing the lock). NULL if it did not: the
 * caller pushes instead. A closed mailbox has its bit in tail: never.
 * msg NULL: the word alone is handed over (the caller's protocol tells the
 * reader where the bytes are). */
static inline struct task *mailbox_hand_locked(struct mailbox *mb, uint64_t word,
                                               const void *msg)
{
    if (__builtin_expect(!sleeper_announced_locked(&mb->reader), 0))
        return NULL;
    /* Relaxed: claims of sends that came before this one (this task's own,
     * or ones it learned of) happen before it; any other claim is concurrent
     * with it, and may be ordered after it. */
    uint64_t h = atomic_load_explicit(&mb->ring.head, memory_order_relaxed);
    if (__builtin_expect(atomic_load_explicit(&mb->ring.tail, memory_order_relaxed) != h, 0))
        return NULL;
    if (msg)
        ring_copy(mb->reader_buf, msg, mb->ring.elem);
    atomic_store_explicit(&mb->handed, word, memory_order_release);   /* see mailbox_woken */
    return sleeper_take_announced(&mb->reader);
}
/* Messages queued now (a snapshot). */
static inline uint32_t mailbox_len(struct mailbox *mb) { return mpsc_count(&mb->ring); }

/* --- inline fast paths; the waits and wakes are out of line ------------------- */

void mailbox_wake_reader_(struct mailbox *mb);
void mailbox_wake_sender_(struct mailbox *mb);
int mailbox_send_wait_(struct mailbox *mb, uint64_t word, const void *msg, uint64_t deadline_ns);
int mailbox_wait_room_(struct mailbox *mb, uint64_t deadline_ns);
int mailbox_sleep_(struct mailbox *mb, void *buf, uint64_t *word);
uint64_t mailbox_woken_slow_(struct mailbox *mb);

/* The reader, woken from its sleep: take a message handed to it (its word;
 * the message is in the buffer it slept with), else 0. Every wake of the
 * sleep takes its announcement under the lock (sleeper_take: a hand-off,
 * a sender's or the closer's wake), so nothing is handed over once it
 * runs; a wake from elsewhere would find it still announced, and
 * mailbox_woken_slow_ withdraws it under the lock, taking a hand-off that
 * came first. The reader is never announced once this returns. */
static inline uint64_t mailbox_woken(struct mailbox *mb)
{
    /* Acquire: with the release that stored it, the message's bytes too. */
    uint64_t w = atomic_load_explicit(&mb->handed, memory_order_acquire);
    if (__builtin_expect(w == 0, 0))
        return mailbox_woken_slow_(mb);
    atomic_store_explicit(&mb->handed, 0, memory_order_relaxed);
    return w;
}

/* The reader, lock held and IRQs masked (flags): sleep until a sender
 * publishes or hands a message over (into buf), or the mailbox closes,
 * first waking wake (a task the caller took for waking under this lock, or
 * NULL): if the reader sleeps, the wake and the sleep are one step
 * (sched_wake_block). Returns with the lock released and IRQs restored
 * (after a reschedule check if it did not block): 1 (a message was handed
 * over: *word set, the message in buf), 0 (look again) or -EPIPE (closed
 * and drained). The flag is stored (seq_cst) before the ring is looked at
 * again, so a sender that published meanwhile is seen here or sees the
 * flag. Inline: the actor's loop sleeps here after posting a reply, waking
 * the requester. */
static inline int mailbox_sleep_locked(struct mailbox *mb, uint64_t flags, struct task *wake,
                                       void *buf, uint64_t *word)
{
    mb->reader_buf = buf;
    sleeper_announce(&mb->reader);
    enum mpsc_look look = mpsc_look(&mb->ring);
    if (__builtin_expect(look == MPSC_EMPTY, 1)) {
        /* A sender's wake (a hand-off's too) or the closer's ends it (no
         * deadline). */
        if (wake)
            sched_wake_block(wake, WAIT_OK, &mb->lock, 0);
        else
            sched_block(&mb->lock, 0);
        arch_irq_restore(flags);
        uint64_t w = mailbox_woken(mb);
        if (!w)
            return 0;
        *word = w;
        return 1;
    }
    sleeper_withdraw(&mb->reader);
    if (wake)
        sched_wake(wake, WAIT_OK);
    spin_unlock_irqrestore(&mb->lock, flags);
    sched_resched_if_needed();   /* the caller may have woken someone under the lock */
    return look == MPSC_ENDED ? -EPIPE : 0;
}

static inline int mailbox_try_push(struct mailbox *mb, uint64_t word, const void *msg)
{
    enum mpsc_push r = mpsc_try_push(&mb->ring, word, msg);
    if (__builtin_expect(r != MPSC_OK, 0))
        return r == MPSC_FULL ? -EAGAIN : -EPIPE;
    return 0;
}

static inline int mailbox_try_send(struct mailbox *mb, uint64_t word, const void *msg)
{
    int r = mailbox_try_push(mb, word, msg);
    if (__builtin_expect(r != 0, 0))
        return r;
    if (sleeper_announced(&mb->reader))
        mailbox_wake_reader_(mb);
    return 0;
}

static inline int mailbox_send(struct mailbox *mb, uint64_t word, const void *msg,
                               uint64_t deadline_ns)
{
    int r = mailbox_try_send(mb, word, msg);
    if (__builtin_expect(r == -EAGAIN, 0))
        return mailbox_send_wait_(mb, word, msg, deadline_ns);
    return r;
}

static inline int mailbox_recv(struct mailbox *mb, uint64_t *word, void *buf)
{
    while (!mpsc_try_pop(&mb->ring, word, buf)) {
        int r = mailbox_sleep_(mb, buf, word);
        if (r != 0)
            return r > 0 ? 0 : -EPIPE;   /* handed over: no room made, no sender to wake */
    }
    if (__builtin_expect(atomic_load_explicit(&mb->senders_waiting, memory_order_seq_cst), 0))
        mailbox_wake_sender_(mb);
    return 0;
}

#endif
