/* Select and SPSC waits as cancellation points (sel_wait_interruptible,
 * chan_spsc_*_interruptible): a cancel ends a blocked wait with -ECANCELED,
 * completes no case and moves no message; other waiters on the same
 * channels are unaffected; a cancelled task still completes what needs no
 * wait. */
#include <errno.h>
#include <kernel/waitq.h>
#include <sr/chan.h>
#include <sr/select.h>
#include <sr_test.h>
#include "rt_test.h"

static struct chan *wa, *wb;
static struct chan_spsc *wq;

/* Selects over "receive from wa" and "send 9 to wb"; the received value,
 * 1000 + case index for the send case, or the negative error. */
static int64_t select_two(void *arg)
{
    (void)arg;
    uint64_t in = 0, out = 9;
    struct sel_case c[2];
    struct sel s;
    chan_case_recv(&c[0], wa, &in);
    chan_case_send(&c[1], wb, &out);
    sel_init(&s, c, 2);
    int i = sel_wait_interruptible(&s, WAIT_FOREVER);
    return i == 0 ? (int64_t)in : i > 0 ? 1000 + i : i;
}

/* Selects over "receive from wa" only, with sel_wait_interruptible when
 * arg is INTERRUPTIBLE, else plain sel_wait (not a cancellation point). */
#define INTERRUPTIBLE ((void *)1)
static int64_t select_recv(void *arg)
{
    uint64_t in = 0;
    struct sel_case c;
    struct sel s;
    chan_case_recv(&c, wa, &in);
    sel_init(&s, &c, 1);
    int i = arg == INTERRUPTIBLE ? sel_wait_interruptible(&s, WAIT_FOREVER)
                                 : sel_wait(&s, WAIT_FOREVER);
    return i == 0 ? (int64_t)in : i;
}

TEST(waitcancel, cancel_ends_a_blocked_select_and_moves_nothing)
{
    wa = chan_create(sizeof(uint64_t), 2);
    wb = chan_create(sizeof(uint64_t), 1);
    uint64_t first = 1, m = 7, out = 0;
    EXPECT_EQ(chan_send(wb, &first, WAIT_FOREVER), 0);   /* wb full: its send case waits */
    struct task *x = spawn_on(select_two, NULL, other_core(0), QOS_DEFAULT);
    wait_for_receivers(wa, 1);
    wait_for_waiters(&wb->sendq, 1);
    struct task *y = spawn_on(select_recv, INTERRUPTIBLE, other_core(1), QOS_DEFAULT);
    wait_for_receivers(wa, 2);
    task_cancel(x);
    int64_t vx = 0, vy = 0;
    EXPECT_EQ(task_join(x, &vx), TASK_EXITED);
    EXPECT_EQ(vx, -ECANCELED);
    EXPECT_EQ(chan_receivers(wa), 1);   /* y's node only */
    EXPECT_EQ(list_waiters(&wb->sendq), 0);   /* x's nodes withdrawn */
    EXPECT_EQ(chan_len(wb), 1);               /* x's 9 was not delivered */
    EXPECT_EQ(chan_send(wa, &m, WAIT_FOREVER), 0);
    EXPECT_EQ(task_join(y, &vy), TASK_EXITED);
    EXPECT_EQ(vy, 7);                         /* the uncancelled select got it */
    EXPECT_EQ(chan_len(wa), 0);
    EXPECT_EQ(chan_try_recv(wb, &out), 0);
    EXPECT_EQ(out, 1);
    EXPECT_EQ(chan_try_recv(wb, &out), -EAGAIN);
    chan_destroy(wa);
    chan_destroy(wb);
}

/* Cancels itself: a select with a ready case still completes it; one that
 * would wait fails. 0 if so. */
static int64_t cancelled_select(void *arg)
{
    (void)arg;
    task_cancel(task_current());
    int64_t v = select_two(NULL);   /* wa holds 5: no wait */
    if (v != 5)
        return 1;
    if (select_two(NULL) != -ECANCELED)   /* wa empty, wb full */
        return 2;
    return 0;
}

TEST(waitcancel, a_cancelled_select_fails_only_if_it_has_to_wait)
{
    wa = chan_create(sizeof(uint64_t), 2);
    wb = chan_create(sizeof(uint64_t), 1);
    uint64_t m = 5;
    EXPECT_EQ(chan_send(wa, &m, WAIT_FOREVER), 0);
    EXPECT_EQ(chan_send(wb, &m, WAIT_FOREVER), 0);
    int64_t v = -1;
    EXPECT_EQ(task_join(spawn_on(cancelled_select, NULL, -1, QOS_DEFAULT), &v), TASK_EXITED);
    EXPECT_EQ(v, 0);
    EXPECT_EQ(chan_receivers(wa) + list_waiters(&wb->sendq), 0);
    EXPECT_EQ(chan_len(wa), 0);
    EXPECT_EQ(chan_len(wb), 1);
    chan_destroy(wa);
    chan_destroy(wb);
}

/* Plain sel_wait is not a cancellation point. */
TEST(waitcancel, plain_select_is_not_interrupted)
{
    wa = chan_create(sizeof(uint64_t), 2);
    struct task *t = spawn_on(select_recv, NULL, other_core(0), QOS_DEFAULT);
    wait_for_receivers(wa, 1);
    task_cancel(t);
    task_sleep_ns(2 * MS);
    EXPECT_EQ(chan_receivers(wa), 1);   /* still waiting */
    uint64_t m = 42;
    EXPECT_EQ(chan_send(wa, &m, WAIT_FOREVER), 0);
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, 42);
    chan_destroy(wa);
}

/* --- SPSC ------------------------------------------------------------------- */

static int64_t spsc_recv_interruptible(void *arg)
{
    (void)arg;
    uint64_t v = 0;
    int r = chan_spsc_recv_interruptible(wq, &v, WAIT_FOREVER);
    return r == 0 ? (int64_t)v : r;
}

static int64_t spsc_send_interruptible(void *arg)
{
    uint64_t v = (uint64_t)(uintptr_t)arg;
    return chan_spsc_send_interruptible(wq, &v, WAIT_FOREVER);
}

TEST(waitcancel, cancel_ends_a_blocked_spsc_receive_and_takes_nothing)
{
    wq = chan_spsc_create(sizeof(uint64_t), 2);
    struct task *t = spawn_on(spsc_recv_interruptible, NULL, other_core(0), QOS_DEFAULT);
    wait_for_waiters(&wq->recvq, 1);
    task_cancel(t);
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, -ECANCELED);
    EXPECT_EQ(list_waiters(&wq->recvq), 0);
    EXPECT_EQ(atomic_load(&wq->recv_waiting), 0);
    uint64_t m = 11, out = 0;
    EXPECT_EQ(chan_spsc_try_send(wq, &m), 0);
    EXPECT_EQ(chan_spsc_try_recv(wq, &out), 0);   /* still there for the next receiver */
    EXPECT_EQ(out, 11);
    chan_spsc_destroy(wq);
}

TEST(waitcancel, cancel_ends_a_blocked_spsc_send_and_delivers_nothing)
{
    wq = chan_spsc_create(sizeof(uint64_t), 1);
    uint64_t first = 1, out = 0;
    EXPECT_EQ(chan_spsc_try_send(wq, &first), 0);   /* full from here */
    struct task *t = spawn_on(spsc_send_interruptible, (void *)2, other_core(0), QOS_DEFAULT);
    wait_for_waiters(&wq->sendq, 1);
    task_cancel(t);
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, -ECANCELED);
    EXPECT_EQ(list_waiters(&wq->sendq), 0);
    EXPECT_EQ(atomic_load(&wq->send_waiting), 0);
    EXPECT_EQ(chan_spsc_try_recv(wq, &out), 0);
    EXPECT_EQ(out, 1);
    EXPECT_EQ(chan_spsc_try_recv(wq, &out), -EAGAIN);   /* the cancelled 2 never arrived */
    chan_spsc_destroy(wq);
}

/* Cancels itself, then: 0 if an SPSC send and receive that need no wait
 * complete and the receive that would wait fails with -ECANCELED. */
static int64_t cancelled_spsc(void *arg)
{
    (void)arg;
    task_cancel(task_current());
    uint64_t m = 5, out = 0;
    if (chan_spsc_send_interruptible(wq, &m, WAIT_FOREVER) != 0)
        return 1;
    if (chan_spsc_recv_interruptible(wq, &out, WAIT_FOREVER) != 0 || out != 5)
        return 2;
    if (chan_spsc_recv_interruptible(wq, &out, WAIT_FOREVER) != -ECANCELED)
        return 3;
    return 0;
}

TEST(waitcancel, a_cancelled_task_fails_only_spsc_waits_it_would_have_to_make)
{
    wq = chan_spsc_create(sizeof(uint64_t), 2);
    int64_t v = -1;
    EXPECT_EQ(task_join(spawn_on(cancelled_spsc, NULL, -1, QOS_DEFAULT), &v), TASK_EXITED);
    EXPECT_EQ(v, 0);
    EXPECT_EQ(list_waiters(&wq->recvq), 0);
    chan_spsc_destroy(wq);
}
