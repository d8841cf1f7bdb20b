/* Channel waits as cancellation points (chan_*_interruptible): a cancel
 * ends them with -ECANCELED and moves no message; plain waits are not
 * interrupted; a scope's cancel reaches children blocked on channels; and
 * cancels racing an all-core stream lose and duplicate nothing. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr/chan.h>
#include <sr/scope.h>
#include <sr_test.h>
#include "rt_test.h"

static struct chan *cc;

static int64_t recv_interruptible(void *arg)
{
    (void)arg;
    uint64_t v = 0;
    int r = chan_recv_interruptible(cc, &v, WAIT_FOREVER);
    return r == 0 ? (int64_t)v : r;
}

static int64_t recv_plain(void *arg)
{
    (void)arg;
    uint64_t v = 0;
    int r = chan_recv(cc, &v, WAIT_FOREVER);
    return r == 0 ? (int64_t)v : r;
}

static int64_t send_interruptible(void *arg)
{
    uint64_t v = (uint64_t)(uintptr_t)arg;
    return chan_send_interruptible(cc, &v, WAIT_FOREVER);
}

TEST(chancancel, cancel_ends_a_blocked_receive_and_takes_nothing)
{
    cc = chan_create(sizeof(uint64_t), 4);
    struct task *t = spawn_on(recv_interruptible, NULL, other_core(0), QOS_DEFAULT);
    wait_for_receivers(cc, 1);
    task_cancel(t);
    struct join_watch *w[1] = {join_watch_start(t, NULL)};
    int64_t v = 0;
    if (!JOINED_OR_LOST(w[0], &v, "the cancelled receiver")) {
        close_and_reap(cc, w, 1);
        return;
    }
    EXPECT_EQ(v, -ECANCELED);
    EXPECT_EQ(chan_receivers(cc), 0);   /* its node was withdrawn */
    uint64_t m = 7, out = 0;
    EXPECT_EQ(chan_send(cc, &m, WAIT_FOREVER), 0);
    EXPECT_EQ(chan_len(cc), 1);               /* nobody took it */
    EXPECT_EQ(chan_try_recv(cc, &out), 0);
    EXPECT_EQ(out, 7);
    chan_destroy(cc);
}

TEST(chancancel, cancel_ends_a_blocked_send_and_delivers_nothing)
{
    cc = chan_create(sizeof(uint64_t), 1);
    uint64_t first = 1, out = 0;
    EXPECT_EQ(chan_send(cc, &first, WAIT_FOREVER), 0);   /* full from here */
    struct task *t = spawn_on(send_interruptible, (void *)2, other_core(0), QOS_DEFAULT);
    wait_for_waiters(&cc->sendq, 1);
    task_cancel(t);
    struct join_watch *w[1] = {join_watch_start(t, NULL)};
    int64_t v = 0;
    if (!JOINED_OR_LOST(w[0], &v, "the cancelled sender")) {
        close_and_reap(cc, w, 1);
        return;
    }
    EXPECT_EQ(v, -ECANCELED);
    EXPECT_EQ(chan_try_recv(cc, &out), 0);
    EXPECT_EQ(out, 1);
    EXPECT_EQ(chan_try_recv(cc, &out), -EAGAIN);   /* the cancelled 2 never arrived */
    chan_destroy(cc);
}

/* Cancels itself, then: 0 if a send and a receive that need no wait
 * complete and the receive that would wait fails with -ECANCELED. */
static int64_t cancelled_self(void *arg)
{
    (void)arg;
    task_cancel(task_current());
    uint64_t m = 5, out = 0;
    if (chan_send_interruptible(cc, &m, WAIT_FOREVER) != 0)       /* room: no wait */
        return 1;
    if (chan_recv_interruptible(cc, &out, WAIT_FOREVER) != 0 || out != 5)   /* no wait */
        return 2;
    if (chan_recv_interruptible(cc, &out, WAIT_FOREVER) != -ECANCELED)
        return 3;
    return 0;
}

TEST(chancancel, a_cancelled_task_fails_only_waits_it_would_have_to_make)
{
    cc = chan_create(sizeof(uint64_t), 2);
    int64_t v = -1;
    EXPECT_EQ(task_join(spawn_on(cancelled_self, NULL, -1, QOS_DEFAULT), &v), TASK_EXITED);
    EXPECT_EQ(v, 0);
    EXPECT_EQ(chan_receivers(cc), 0);
    chan_destroy(cc);
}

TEST(chancancel, plain_waits_are_not_interrupted)
{
    cc = chan_create(sizeof(uint64_t), 4);
    struct task *t = spawn_on(recv_plain, NULL, other_core(0), QOS_DEFAULT);
    wait_for_receivers(cc, 1);
    task_cancel(t);
    task_sleep_ns(2 * MS);
    EXPECT_EQ(chan_receivers(cc), 1);   /* still waiting */
    uint64_t m = 42;
    struct join_watch *w[1] = {join_watch_start(t, NULL)};
    EXPECT_EQ(chan_send(cc, &m, WAIT_FOREVER), 0);
    int64_t v = 0;
    if (!JOINED_OR_LOST(w[0], &v, "the receiver sent to")) {
        close_and_reap(cc, w, 1);
        return;
    }
    EXPECT_EQ(v, 42);
    chan_destroy(cc);
}

TEST(chancancel, scope_cancel_reaches_children_blocked_on_channels)
{
    enum { N = 6 };
    cc = chan_create(sizeof(uint64_t), 1);
    struct scope s;
    struct scope_child *c[N];
    EXPECT_EQ(scope_open(&s, NULL, NULL), 0);
    for (int i = 0; i < N; i++) {
        struct task_attr a = {.name = "chan-child", .qos = QOS_DEFAULT,
                              .affinity = 1u << other_core(i)};
        c[i] = scope_spawn(&s, recv_interruptible, NULL, &a);
        EXPECT_TRUE(c[i] != NULL);
    }
    wait_for_receivers(cc, N);
    scope_cancel(&s);
    EXPECT_EQ(scope_wait(&s), -ECANCELED);
    for (int i = 0; i < N; i++) {
        EXPECT_EQ(scope_child_result(c[i]).reason, SCOPE_CANCELLED);
        EXPECT_EQ(scope_child_result(c[i]).value, -ECANCELED);
    }
    EXPECT_EQ(scope_close(&s), -ECANCELED);
    EXPECT_EQ(chan_receivers(cc), 0);
    chan_destroy(cc);
}

/* --- cancels racing a stream on every core ------------------------------------- */

enum { RACE_SENDERS = 8, RACE_PER_SENDER = 150, RACE_RECEIVERS = 8 };
static _Atomic uint8_t race_seen[RACE_SENDERS][RACE_PER_SENDER];
static _Atomic uint8_t race_sent[RACE_SENDERS][RACE_PER_SENDER];

/* Sends its messages with interruptible sends until done or cancelled;
 * marks what went through. */
static int64_t race_send(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    for (uint64_t i = 0; i < RACE_PER_SENDER; i++) {
        uint64_t m = id << 32 | i;
        int r = chan_send_interruptible(cc, &m, WAIT_FOREVER);
        if (r == -ECANCELED)
            return (int64_t)i;
        if (r != 0)
            return -1;
        atomic_store(&race_sent[id][i], 1);
    }
    return RACE_PER_SENDER;
}

static int64_t race_recv(void *arg)
{
    (void)arg;
    int64_t n = 0;
    for (;;) {
        uint64_t m;
        int r = chan_recv_interruptible(cc, &m, WAIT_FOREVER);
        if (r == -ECANCELED || r == -EPIPE)
            return n;
        if (r != 0 || (m >> 32) >= RACE_SENDERS || (m & 0xffffffff) >= RACE_PER_SENDER)
            return -1;
        atomic_fetch_add(&race_seen[m >> 32][m & 0xffffffff], 1);
        n++;
    }
}

/* Joins the n watched tasks w[] (each returns a count >= 0): true with
 * their sum in *sum; false once one of them never returns (a lost
 * wake-up, recorded; the rest of w still watched, for close_and_reap). */
static bool join_counts(struct join_watch **w, int n, int64_t *sum)
{
    *sum = 0;
    for (int i = 0; i < n; i++) {
        int64_t v = -1;
        if (!JOINED_OR_LOST(w[i], &v, "a sender or receiver of the stream"))
            return false;
        EXPECT_GE(v, 0);
        *sum += v;
    }
    return true;
}

/* Senders and receivers on every core; half the senders and half the
 * receivers are cancelled mid-stream. Every message a send reported sent
 * is received exactly once (by a receiver, or drained after the run), and
 * nothing else is. */
TEST(chancancel, cancels_racing_a_stream_lose_and_duplicate_nothing)
{
    cc = chan_create(sizeof(uint64_t), 8);
    memset(race_seen, 0, sizeof(race_seen));
    memset(race_sent, 0, sizeof(race_sent));
    struct task *s[RACE_SENDERS], *r[RACE_RECEIVERS];
    for (int i = 0; i < RACE_RECEIVERS; i++)
        r[i] = spawn_on(race_recv, NULL, other_core(i), i % 2 ? QOS_DEFAULT : QOS_UTILITY);
    for (int i = 0; i < RACE_SENDERS; i++)
        s[i] = spawn_on(race_send, (void *)(uintptr_t)i, other_core(i + 3), QOS_DEFAULT);
    task_sleep_ns(1 * MS);
    for (int i = 0; i < RACE_SENDERS; i += 2)
        task_cancel(s[i]);
    for (int i = 0; i < RACE_RECEIVERS; i += 2)
        task_cancel(r[i]);
    struct join_watch *w[RACE_SENDERS + RACE_RECEIVERS];   /* senders, then receivers */
    for (int i = 0; i < RACE_SENDERS; i++)
        w[i] = join_watch_start(s[i], NULL);
    for (int i = 0; i < RACE_RECEIVERS; i++)
        w[RACE_SENDERS + i] = join_watch_start(r[i], NULL);
    int64_t sent, received;
    if (!join_counts(w, RACE_SENDERS, &sent)) {
        close_and_reap(cc, w, RACE_SENDERS + RACE_RECEIVERS);
        return;
    }
    EXPECT_EQ(chan_close(cc), 0);
    if (!join_counts(w + RACE_SENDERS, RACE_RECEIVERS, &received)) {
        close_and_reap(cc, w, RACE_SENDERS + RACE_RECEIVERS);
        return;
    }
    uint64_t m;
    while (chan_try_recv(cc, &m) == 0) {   /* left behind by cancelled receivers */
        atomic_fetch_add(&race_seen[m >> 32][m & 0xffffffff], 1);
        received++;
    }
    EXPECT_EQ(received, sent);
    int wrong = 0, marked = 0;
    for (int i = 0; i < RACE_SENDERS; i++)
        for (int j = 0; j < RACE_PER_SENDER; j++) {
            wrong += atomic_load(&race_seen[i][j]) != atomic_load(&race_sent[i][j]);
            marked += atomic_load(&race_sent[i][j]);
        }
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(marked, sent);
    EXPECT_EQ(chan_receivers(cc) + list_waiters(&cc->sendq), 0);
    chan_destroy(cc);
}
