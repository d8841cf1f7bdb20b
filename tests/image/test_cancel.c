/* task_cancel: the flag, interruptible waits (ended with WAIT_CANCELLED,
 * never entered once cancelled), ordinary waits left alone, and the race of
 * a waker, a timeout and a cancel on one wait: it ends exactly once. */
#include <stdatomic.h>
#include <stdio.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/task.h>
#include <sr_test.h>
#include "rt_test.h"

struct cancel_waiter {
    struct semaphore sem;
    struct semaphore started;
    int32_t result;
    bool saw_flag;
    uint64_t timeout_ns;
    bool interruptible;
};

static int64_t waiter_main(void *arg)
{
    struct cancel_waiter *w = arg;
    sem_post(&w->started);
    w->result = w->interruptible ? sem_wait_interruptible(&w->sem, w->timeout_ns)
                                 : sem_wait(&w->sem, w->timeout_ns);
    w->saw_flag = task_cancelled();
    return 0;
}

static struct task *start_waiter(struct cancel_waiter *w, bool interruptible, int cpu,
                                 uint64_t timeout_ns)
{
    sem_init(&w->sem, 0);
    sem_init(&w->started, 0);
    w->result = 12345;
    w->saw_flag = false;
    w->timeout_ns = timeout_ns;
    w->interruptible = interruptible;
    return spawn_on(waiter_main, w, cpu, QOS_DEFAULT);
}

static void wait_until_queued(struct semaphore *s)
{
    while (waitq_empty(&s->wq))
        task_sleep_ns(50000);
}

TEST(cancel, ends_an_interruptible_wait_forever)
{
    static struct cancel_waiter w;
    struct task *t = start_waiter(&w, true, other_core(0), WAIT_FOREVER);
    sem_wait(&w.started, WAIT_FOREVER);
    wait_until_queued(&w.sem);
    task_cancel(t);
    task_cancel(t);   /* idempotent */
    EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    EXPECT_EQ(w.result, WAIT_CANCELLED);
    EXPECT_TRUE(w.saw_flag);
    EXPECT_TRUE(waitq_empty(&w.sem.wq));
    EXPECT_EQ(w.sem.count, 0);
}

static int64_t cancel_self_then_wait(void *arg)
{
    struct cancel_waiter *w = arg;
    task_cancel(task_current());
    sem_post(&w->sem);   /* a unit is there, yet the cancelled wait does not take it */
    return sem_wait_interruptible(&w->sem, WAIT_FOREVER);
}

TEST(cancel, a_cancelled_task_does_not_enter_a_wait)
{
    static struct cancel_waiter w;
    sem_init(&w.sem, 0);
    struct task *t = spawn_on(cancel_self_then_wait, &w, -1, QOS_DEFAULT);
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, WAIT_CANCELLED);
    EXPECT_EQ(w.sem.count, 1);
}

TEST(cancel, leaves_an_ordinary_wait_alone)
{
    static struct cancel_waiter w;
    struct task *t = start_waiter(&w, false, other_core(0), WAIT_FOREVER);
    sem_wait(&w.started, WAIT_FOREVER);
    wait_until_queued(&w.sem);
    task_cancel(t);
    task_sleep_ns(2 * MS);
    EXPECT_EQ(w.result, 12345);   /* still waiting */
    sem_post(&w.sem);
    EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    EXPECT_EQ(w.result, 0);
    EXPECT_TRUE(w.saw_flag);
}

/* One wait, three enders at once: a post (on another core), its timeout
 * (about when the others come) and a cancel (this core). Whoever wins, the
 * post's unit is never lost nor taken twice: taken by the wait (result 0)
 * or left in the count; the wait ends once (the task runs on, its result
 * is one of the three). Many rounds, cores rotating. */
struct race {
    struct cancel_waiter w;
    _Atomic int go;
    int spin;
};

static int64_t race_poster(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->go))
        task_yield();
    for (volatile int i = 0; i < r->spin; i++)
        ;
    sem_post(&r->w.sem);
    return 0;
}

TEST(cancel, post_timeout_and_cancel_end_a_wait_exactly_once)
{
    enum { ROUNDS = 300 };
    static struct race r;
    int got[3] = {0, 0, 0};   /* posted-to, timed out, cancelled */
    int lost = 0, other = 0;
    for (int i = 0; i < ROUNDS; i++) {
        atomic_store(&r.go, 0);
        r.spin = (i * 37) % 2000;
        /* the poster first, waiting for go on another core */
        struct task *p = spawn_on(race_poster, &r, other_core(i + 1), QOS_DEFAULT);
        struct task *w = start_waiter(&r.w, true, other_core(i),
                                      10000 * (1 + (uint64_t)(i % 64)));   /* 10 us .. 640 us */
        sem_wait(&r.w.started, WAIT_FOREVER);
        atomic_store(&r.go, 1);
        for (volatile int k = 0; k < (i * 53) % 4000; k++)
            ;
        task_cancel(w);
        EXPECT_EQ(task_join(p, NULL), TASK_EXITED);
        EXPECT_EQ(task_join(w, NULL), TASK_EXITED);
        int32_t res = r.w.result;
        int left = r.w.sem.count;
        if (res == 0 && left == 0)
            got[0]++;
        else if (res == WAIT_TIMEOUT && left == 1)
            got[1]++;
        else if (res == WAIT_CANCELLED && left == 1)
            got[2]++;
        else if (left != 0 && left != 1)
            lost++;
        else
            other++;
        EXPECT_TRUE(waitq_empty(&r.w.sem.wq));
    }
    printf("# cancel race: %d posted, %d timed out, %d cancelled\n", got[0], got[1], got[2]);
    EXPECT_EQ(lost, 0);
    EXPECT_EQ(other, 0);
    EXPECT_EQ(got[0] + got[1] + got[2], ROUNDS);
}
