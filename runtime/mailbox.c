/*
 * Mailboxes (see sr/mailbox.h): the waits and wakes. Every change of a flag
 * and of sendq happens under mb->lock; the flags are read without it by
 * the fast paths, Dekker-style against the ring (sr/mpsc_ring.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/sched.h>
#include <sr/mailbox.h>
#include <sr/wait_task.h>

struct mailbox *mailbox_create(uint32_t elem, uint32_t cap)
{
    if (elem == 0 || elem > 65536 || cap == 0 || cap > MPSC_CAP_MAX) {
        errno = EINVAL;
        return NULL;
    }
    size_t hdr = (sizeof(struct mailbox) + 63) & ~(size_t)63;
    struct mailbox *mb = aligned_alloc(64, hdr + mpsc_ring_bytes(cap, elem));
    if (!mb) {
        errno = ENOMEM;
        return NULL;
    }
    memset(mb, 0, sizeof(*mb));
    mpsc_ring_init(&mb->ring, (uint8_t *)mb + hdr, cap, elem);
    mb->lock = (spinlock_t)SPINLOCK_INIT;
    mb->sendq.lock = &mb->lock;
    return mb;
}

void mailbox_destroy(struct mailbox *mb) { free(mb); }

/* A sender saw the reader announced after publishing: wake it if it still
 * sleeps (sleeper_wake clears the flag, so one wake per sleep). */
void mailbox_wake_reader_(struct mailbox *mb)
{
    uint64_t flags = spin_lock_irqsave(&mb->lock);
    sleeper_wake(&mb->reader);
    spin_unlock_irqrestore(&mb->lock, flags);
    sched_resched_if_needed();
}

/* The reader made room and saw senders_waiting: notify the first sender. */
void mailbox_wake_sender_(struct mailbox *mb)
{
    uint64_t flags = spin_lock_irqsave(&mb->lock);
    struct wait_node *n = wait_list_claim(&mb->sendq, 0);
    if (n)
        waker_fire(n->waker);
    if (wait_list_empty(&mb->sendq))
        atomic_store_explicit(&mb->senders_waiting, 0, memory_order_relaxed);
    spin_unlock_irqrestore(&mb->lock, flags);
    sched_resched_if_needed();
}

/* mailbox_woken found nothing handed over (a sender's or the closer's
 * wake, or one from elsewhere): withdraw under the lock, then look again. */
uint64_t mailbox_woken_slow_(struct mailbox *mb)
{
    uint64_t flags = spin_lock_irqsave(&mb->lock);
    sleeper_withdraw(&mb->reader);
    uint64_t w = atomic_load_explicit(&mb->handed, memory_order_relaxed);
    atomic_store_explicit(&mb->handed, 0, memory_order_relaxed);
    spin_unlock_irqrestore(&mb->lock, flags);
    return w;
}

/* The reader found the ring empty: mailbox_sleep_locked (no wake). */
int mailbox_sleep_(struct mailbox *mb, void *buf, uint64_t *word)
{
    return mailbox_sleep_locked(mb, spin_lock_irqsave(&mb->lock), NULL, buf, word);
}

/* A push found the ring full: wait in sendq (QoS order) until the reader
 * makes room or the mailbox closes (0: try again) or the deadline passes
 * (-ETIMEDOUT). */
int mailbox_wait_room_(struct mailbox *mb, uint64_t deadline_ns)
{
    struct task_waker tw;
    struct wait_node n;
    task_waker_init(&tw);
    waker_arm(&tw.w, tw.w.qos);
    wait_node_init(&n, &tw.w, 0, NULL);
    uint64_t flags = spin_lock_irqsave(&mb->lock);
    wait_list_add(&mb->sendq, &n);
    atomic_store(&mb->senders_waiting, 1);
    if (mpsc_can_push(&mb->ring)) {
        wait_list_remove(&n);
        if (wait_list_empty(&mb->sendq))
            atomic_store_explicit(&mb->senders_waiting, 0, memory_order_relaxed);
        spin_unlock_irqrestore(&mb->lock, flags);
        return 0;
    }
    return task_waker_wait_on(&tw, &n, flags, deadline_ns) == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

/* The ring was full: wait for room, then try again. */
int mailbox_send_wait_(struct mailbox *mb, uint64_t word, const void *msg, uint64_t deadline_ns)
{
    for (;;) {
        int r = mailbox_wait_room_(mb, deadline_ns);
        if (r != 0)
            return r;
        r = mailbox_try_send(mb, word, msg);
        if (r != -EAGAIN)
            return r;
    }
}

int mailbox_close(struct mailbox *mb)
{
    if (!mpsc_close(&mb->ring))
        return -EPIPE;
    uint64_t flags = spin_lock_irqsave(&mb->lock);
    wait_list_claim_all(&mb->sendq, 0);   /* they retry and see it closed */
    atomic_store_explicit(&mb->senders_waiting, 0, memory_order_relaxed);
    sleeper_wake(&mb->reader);
    spin_unlock_irqrestore(&mb->lock, flags);
    sched_resched_if_needed();
    return 0;
}
