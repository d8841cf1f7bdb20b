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
 * The lock is also there for sleepers its owner keeps beside the reader
 * (the actor's requesters, each on its reply: sr/sleeper.h): a requester
 * then wakes the reader and sleeps for its reply in one critical section
 * (mailbox_try_push, mailbox_wake_reader_locked), and the reader posts a
 * reply and sleeps for the next message in another
 * (mailbox_sleep_locked).
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
/* mailbox_try_send without the wake: after a 0, the caller takes the lock
 * and calls mailbox_wake_reader_locked before it releases it. */
static inline int mailbox_try_push(struct mailbox *mb, uint64_t word, const void *msg);
/* Lock held: wake the reader if it sleeps (the caller calls
 * sched_resched_if_needed() once it has released the lock, unless it
 * blocks). Under the lock no flag race is left: the reader announces and
 * looks at the ring under it. */
static inline void mailbox_wake_reader_locked(struct mailbox *mb) { sleeper_wake(&mb->reader); }
/* Messages queued now (a snapshot). */
static inline uint32_t mailbox_len(struct mailbox *mb) { return mpsc_count(&mb->ring); }

/* --- inline fast paths; the waits and wakes are out of line ------------------- */

void mailbox_wake_reader_(struct mailbox *mb);
void mailbox_wake_sender_(struct mailbox *mb);
int mailbox_send_wait_(struct mailbox *mb, uint64_t word, const void *msg, uint64_t deadline_ns);
int mailbox_sleep_(struct mailbox *mb);
/* The reader, lock held and IRQs masked (flags): sleep as mailbox_sleep_
 * does, first waking wake (a sleeper under this lock, or NULL): if the
 * reader sleeps, the wake and the sleep are one step (sleeper_wake_block).
 * Returns with the lock released and IRQs restored (after a reschedule
 * check if it did not block): 0 (look again) or -EPIPE. Inline: the
 * actor's loop sleeps here after posting a reply, waking the requester. */
static inline int mailbox_sleep_locked(struct mailbox *mb, uint64_t flags, struct sleeper *wake)
{
    sleeper_announce(&mb->reader);
    enum mpsc_look look = mpsc_look(&mb->ring);
    if (__builtin_expect(look == MPSC_EMPTY, 1)) {
        /* Only a sender's or the closer's wake ends it (no deadline). */
        if (wake)
            sleeper_wake_block(wake, &mb->lock, flags, 0);
        else
            sleeper_block(&mb->lock, flags, 0);
        return 0;
    }
    sleeper_withdraw(&mb->reader);
    if (wake)
        sleeper_wake(wake);
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
    while (!mpsc_try_pop(&mb->ring, word, buf))
        if (mailbox_sleep_(mb) != 0)
            return -EPIPE;
    if (__builtin_expect(atomic_load_explicit(&mb->senders_waiting, memory_order_seq_cst), 0))
        mailbox_wake_sender_(mb);
    return 0;
}

#endif
