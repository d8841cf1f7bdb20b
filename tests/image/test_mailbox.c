/* Actor mailboxes (sr/mailbox.h): QoS order of waiting senders, close,
 * the sleeping reader, and senders on every core through a small mailbox. */
#include <errno.h>
#include <stdatomic.h>
#include <kernel/clock.h>
#include <kernel/percpu.h>
#include <kernel/waitq.h>
#include <sr/mailbox.h>
#include <sr_test.h>
#include "image_test.h"
#include "rt_test.h"

struct mmsg {
    uint32_t sender, seq;
    uint64_t check;
};

static struct mailbox *box;

struct sender_arg {
    uint32_t id, n;
    uint64_t timeout_ns;            /* per send; 0: forever */
    _Atomic uint32_t delivered;     /* sends that returned 0 */
    _Atomic uint32_t timed_out;
    int last;                       /* the last send's result */
};

static int64_t sender_main(void *arg)
{
    struct sender_arg *s = arg;
    for (uint32_t i = 0; i < s->n; i++) {
        struct mmsg m = {.sender = s->id, .seq = atomic_load(&s->delivered),
                         .check = (uint64_t)s->id * 7919 + atomic_load(&s->delivered)};
        int r = mailbox_send(box, s->id, &m, waitq_deadline(s->timeout_ns));
        s->last = r;
        if (r == 0)
            atomic_fetch_add(&s->delivered, 1);
        else if (r == -ETIMEDOUT)
            atomic_fetch_add(&s->timed_out, 1);
        else
            return r;
    }
    return 0;
}

/* Senders of three classes wait on a full mailbox (capacity 1); as the
 * reader makes room one message at a time, the most important class goes
 * first, FIFO within a class. */
TEST(actor_mailbox, waiting_senders_are_served_highest_class_first)
{
    box = mailbox_create(sizeof(struct mmsg), 1);
    EXPECT_TRUE(box != NULL);
    struct mmsg m = {.sender = 99}, out;
    uint64_t word = 0;
    EXPECT_EQ(mailbox_try_send(box, 99, &m), 0);
    EXPECT_EQ(mailbox_try_send(box, 99, &m), -EAGAIN);     /* full says full */
    static const enum qos classes[] = {QOS_BACKGROUND, QOS_UTILITY, QOS_USER_INITIATED,
                                       QOS_UTILITY};
    struct sender_arg args[4];
    struct task *t[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct sender_arg){.id = (uint32_t)i, .n = 1};
        t[i] = spawn_on(sender_main, &args[i], -1, classes[i]);
        wait_for_waiters(&box->sendq, i + 1);               /* queued in this order */
    }
    EXPECT_EQ(mailbox_len(box), 1);
    static const uint32_t expect[] = {99, 2, 1, 3, 0};
    for (int i = 0; i < 5; i++) {
        EXPECT_EQ(mailbox_recv(box, &word, &out), 0);
        EXPECT_EQ(out.sender, expect[i]);
        EXPECT_EQ(word, expect[i]);
    }
    for (int i = 0; i < 4; i++) {
        int64_t v = -1;
        EXPECT_EQ(task_join(t[i], &v), TASK_EXITED);
        EXPECT_EQ(v, 0);
        EXPECT_EQ(atomic_load(&args[i].delivered), 1);
    }
    EXPECT_EQ(mailbox_len(box), 0);
    mailbox_destroy(box);
}

static int64_t reader_main(void *arg)
{
    uint64_t *got = arg, word;
    struct mmsg m;
    int r;
    while ((r = mailbox_recv(box, &word, &m)) == 0)
        *got += m.seq + 1;
    return r;
}

/* Closing fails waiting senders and later sends with -EPIPE; the reader,
 * asleep or not, reads what was queued and then gets -EPIPE. */
TEST(actor_mailbox, close_fails_senders_and_the_reader_drains_then_ends)
{
    box = mailbox_create(sizeof(struct mmsg), 2);
    struct mmsg m = {.seq = 0};
    uint64_t got = 0, word;
    /* A sleeping reader, woken by the close. */
    struct task *rd = spawn_on(reader_main, &got, -1, QOS_DEFAULT);
    while (!sleeper_announced(&box->reader))
        task_sleep_ns(50000);
    EXPECT_EQ(mailbox_send(box, 0, &m, 0), 0);               /* seq 0 */
    m.seq = 1;
    EXPECT_EQ(mailbox_send(box, 0, &m, 0), 0);
    while (mailbox_len(box) > 0)
        task_sleep_ns(50000);
    EXPECT_EQ(mailbox_close(box), 0);
    EXPECT_EQ(mailbox_close(box), -EPIPE);
    int64_t v = 0;
    EXPECT_EQ(task_join(rd, &v), TASK_EXITED);
    EXPECT_EQ(v, -EPIPE);
    EXPECT_EQ(got, 3);                                       /* 1 + 2: both, once */
    mailbox_destroy(box);

    /* Waiting senders and a queue to drain. */
    box = mailbox_create(sizeof(struct mmsg), 2);
    m.seq = 5;
    EXPECT_EQ(mailbox_try_send(box, 1, &m), 0);
    EXPECT_EQ(mailbox_try_send(box, 2, &m), 0);
    struct sender_arg a = {.id = 3, .n = 1};
    struct task *st = spawn_on(sender_main, &a, -1, QOS_DEFAULT);
    wait_for_waiters(&box->sendq, 1);
    EXPECT_EQ(mailbox_close(box), 0);
    EXPECT_EQ(task_join(st, &v), TASK_EXITED);
    EXPECT_EQ(v, -EPIPE);
    EXPECT_EQ(atomic_load(&a.delivered), 0);
    EXPECT_EQ(mailbox_try_send(box, 4, &m), -EPIPE);
    EXPECT_EQ(mailbox_send(box, 4, &m, 0), -EPIPE);
    struct mmsg out;
    EXPECT_EQ(mailbox_recv(box, &word, &out), 0);
    EXPECT_EQ(word, 1);
    EXPECT_EQ(mailbox_recv(box, &word, &out), 0);
    EXPECT_EQ(word, 2);
    EXPECT_EQ(mailbox_recv(box, &word, &out), -EPIPE);
    EXPECT_EQ(mailbox_recv(box, &word, &out), -EPIPE);
    mailbox_destroy(box);
}

/* A send that cannot get room in time says so and delivers nothing. */
TEST(actor_mailbox, a_send_times_out_on_a_full_mailbox_and_delivers_nothing)
{
    box = mailbox_create(sizeof(struct mmsg), 1);
    struct mmsg m = {.seq = 1}, out;
    uint64_t word;
    EXPECT_EQ(mailbox_send(box, 1, &m, 0), 0);
    uint64_t t0 = clock_ns();
    EXPECT_EQ(mailbox_send(box, 2, &m, waitq_deadline(2 * MS)), -ETIMEDOUT);
    EXPECT_TRUE(clock_ns() - t0 >= 2 * MS);
    EXPECT_EQ(list_waiters(&box->sendq), 0);                 /* withdrawn */
    EXPECT_EQ(mailbox_len(box), 1);
    EXPECT_EQ(mailbox_recv(box, &word, &out), 0);
    EXPECT_EQ(word, 1);
    EXPECT_EQ(mailbox_try_send(box, 3, &m), 0);              /* room again, no stale waiter */
    EXPECT_EQ(mailbox_recv(box, &word, &out), 0);
    EXPECT_EQ(word, 3);
    EXPECT_EQ(mailbox_len(box), 0);
    mailbox_destroy(box);
}

enum { STRESS_PER_SENDER = 3000 };

struct stress {
    struct sender_arg args[PLAT_MAX_CPUS];
    struct task *t[PLAT_MAX_CPUS];
    int64_t values[PLAT_MAX_CPUS];
    int n;
};

/* Joins every sender, then closes the mailbox (the reader ends with -EPIPE). */
static int64_t closer_main(void *arg)
{
    struct stress *st = arg;
    int64_t bad = 0;
    for (int i = 0; i < st->n; i++)
        bad += task_join(st->t[i], &st->values[i]) != TASK_EXITED;
    mailbox_close(box);
    return bad;
}

/* A sender on every core through a mailbox of 3: the reader sleeps and
 * senders wait over and over. Every delivered message arrives once and in
 * its sender's order; every other sender uses a short timeout, so sends
 * also time out, and those deliver nothing. */
TEST(actor_mailbox, senders_on_every_core_deliver_exactly_once_in_order)
{
    static struct stress st;
    box = mailbox_create(sizeof(struct mmsg), 3);
    st.n = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c)) {
            int i = st.n++;
            st.args[i] = (struct sender_arg){.id = (uint32_t)i, .n = STRESS_PER_SENDER,
                                             .timeout_ns = (i & 1) ? 20000 : 0};
            st.t[i] = spawn_on(sender_main, &st.args[i], c, QOS_DEFAULT);
        }
    struct task *closer = spawn_on(closer_main, &st, -1, QOS_DEFAULT);
    uint32_t next[PLAT_MAX_CPUS] = {0}, bad = 0;
    uint64_t total = 0, word;
    struct mmsg m;
    int r;
    while ((r = mailbox_recv(box, &word, &m)) == 0) {
        total++;
        if (m.sender >= (uint32_t)st.n || word != m.sender || m.seq != next[m.sender] ||
            m.check != (uint64_t)m.sender * 7919 + m.seq)
            bad++;
        else
            next[m.sender]++;
    }
    EXPECT_EQ(r, -EPIPE);
    int64_t v = -1;
    EXPECT_EQ(task_join(closer, &v), TASK_EXITED);
    EXPECT_EQ(v, 0);
    uint64_t delivered = 0;
    for (int i = 0; i < st.n; i++) {
        EXPECT_EQ(st.values[i], 0);
        EXPECT_EQ(next[i], atomic_load(&st.args[i].delivered));
        EXPECT_EQ(atomic_load(&st.args[i].delivered) + atomic_load(&st.args[i].timed_out),
                  STRESS_PER_SENDER);
        if (!(i & 1))
            EXPECT_EQ(atomic_load(&st.args[i].delivered), STRESS_PER_SENDER);
        delivered += atomic_load(&st.args[i].delivered);
    }
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(total, delivered);
    EXPECT_EQ(mailbox_len(box), 0);
    mailbox_destroy(box);
}

/* --- hand-off to the sleeping reader -------------------------------------------- */

enum { HANDED_MAX = 8 };

struct handed_log {
    _Atomic uint32_t n;
    uint64_t word[HANDED_MAX];
    uint32_t seq[HANDED_MAX];
};

/* Reads until the mailbox ends, logging each message's word and seq (a
 * buffer the message does not fill keeps seq 0xffffffff). */
static int64_t log_reader(void *arg)
{
    struct handed_log *lg = arg;
    for (;;) {
        struct mmsg m = {.seq = 0xffffffffu};
        uint64_t word = 0;
        int r = mailbox_recv(box, &word, &m);
        if (r != 0)
            return r;
        uint32_t i = atomic_load(&lg->n);
        if (i < HANDED_MAX) {
            lg->word[i] = word;
            lg->seq[i] = m.seq;
        }
        atomic_store(&lg->n, i + 1);
    }
}

/* Hand m (NULL: the word alone) over under the lock and wake the reader;
 * true if it was handed over. */
static bool hand(uint64_t word, const struct mmsg *m)
{
    spinlock_t *lock = mailbox_lock(box);
    uint64_t flags = spin_lock_irqsave(lock);
    struct task *t = mailbox_hand_locked(box, word, m);
    if (t)
        sched_wake(t, WAIT_OK);
    spin_unlock_irqrestore(lock, flags);
    sched_resched_if_needed();
    return t != NULL;
}

/* The reader has logged n messages and sleeps again. */
static void reader_asleep_after(struct handed_log *lg, uint32_t n)
{
    while (atomic_load(&lg->n) < n || !sleeper_announced(&box->reader))
        task_sleep_ns(50000);
}

/* A message is handed over only to a reader asleep with nothing claimed
 * behind it (it takes no ring slot, and arrives in the order the ring
 * would have given); with no message, the word alone. Without the
 * "nothing claimed" test the third message overtakes the second. */
TEST(actor_mailbox, a_message_is_handed_to_a_sleeping_reader_only_behind_nothing)
{
    box = mailbox_create(sizeof(struct mmsg), 2);
    static struct handed_log lg;
    atomic_store(&lg.n, 0);
    struct mmsg m = {.seq = 1};
    EXPECT_TRUE(!hand(10, &m));                      /* nobody asleep */
    EXPECT_EQ(mailbox_len(box), 0);
    struct task *rd = spawn_on(log_reader, &lg, other_core(0), QOS_DEFAULT);
    reader_asleep_after(&lg, 0);
    EXPECT_TRUE(hand(11, &m));
    EXPECT_EQ(mailbox_len(box), 0);                  /* no ring slot */
    reader_asleep_after(&lg, 1);
    m.seq = 2;
    EXPECT_EQ(mailbox_try_push(box, 12, &m), 0);     /* queued; the reader is not woken */
    m.seq = 3;
    EXPECT_TRUE(!hand(13, &m));                      /* it would overtake seq 2 */
    EXPECT_EQ(mailbox_len(box), 1);
    EXPECT_EQ(mailbox_try_send(box, 13, &m), 0);     /* behind it; wakes the reader */
    reader_asleep_after(&lg, 3);
    EXPECT_TRUE(hand(14, NULL));
    reader_asleep_after(&lg, 4);
    EXPECT_EQ(mailbox_close(box), 0);
    int64_t v = 0;
    EXPECT_EQ(task_join(rd, &v), TASK_EXITED);
    EXPECT_EQ(v, -EPIPE);
    EXPECT_TRUE(!hand(15, &m));                      /* closed */
    EXPECT_EQ(atomic_load(&lg.n), 4);
    static const uint64_t words[] = {11, 12, 13, 14};
    static const uint32_t seqs[] = {1, 2, 3, 0xffffffffu};
    for (int i = 0; i < 4; i++) {
        EXPECT_EQ(lg.word[i], words[i]);
        EXPECT_EQ(lg.seq[i], seqs[i]);
    }
    mailbox_destroy(box);
}
