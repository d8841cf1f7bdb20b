/* Stackless tasks: await timers, channels and tasks; join-all, select
 * (first-of), the timeout combinator, cancellation, QoS, size; an all-core
 * stress where every task is joined or cancelled and no memory leaks. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/sched_policy.h>
#include <kernel/waitq.h>
#include <sr/async.h>
#include <sr/chan.h>
#include <sr/select.h>
#include <sr_test.h>
#include "rt_test.h"

/* --- a sleeper ---------------------------------------------------------------- */

struct sleeper {
    struct async_task t;
    uint64_t ns;
    uint64_t woke_at;
    int64_t ret;
};

static int sleeper_poll(struct async_task *t)
{
    struct sleeper *s = (struct sleeper *)t;
    ASYNC_BEGIN(t);
    ASYNC_SLEEP(t, s->ns);
    s->woke_at = clock_ns();
    ASYNC_END(t, s->ret);
}

static struct sleeper *sleeper_new(uint64_t ns, int64_t ret, int cpu, enum qos qos)
{
    struct async_attr attr = {.qos = qos, .cpu = cpu};
    struct sleeper *s = ASYNC_NEW(struct sleeper, sleeper_poll, &attr);
    if (s) {
        s->ns = ns;
        s->ret = ret;
    }
    return s;
}

TEST(async, a_task_costs_at_most_256_bytes)
{
    EXPECT_LE(sizeof(struct async_task), 192);
    struct sleeper *s = sleeper_new(0, 0, -1, QOS_DEFAULT);
    EXPECT_TRUE(s != NULL);
    EXPECT_LE(heap_usable_size(s), 256);
    async_free_unstarted(&s->t);
    struct async_attr bad = {.qos = QOS_COUNT, .cpu = -1};
    EXPECT_TRUE(async_new(sleeper_poll, sizeof(struct sleeper), &bad) == NULL);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_TRUE(async_new(sleeper_poll, 8, NULL) == NULL);
}

TEST(async, sleep_on_the_core_timer_then_join_from_a_stackful_task)
{
    uint64_t t0 = clock_ns();
    struct sleeper *s = sleeper_new(2 * MS, 42, other_core(0), QOS_DEFAULT);
    async_start(&s->t);
    int64_t v = 0;
    EXPECT_EQ(async_join(&s->t, &v), ASYNC_COMPLETED);   /* frees s */
    EXPECT_EQ(v, 42);
    EXPECT_GE(clock_ns() - t0, 2 * MS);
}

/* --- await channels -------------------------------------------------------------- */

struct pump {
    struct async_task t;
    struct chan *in, *out;
    uint64_t n, i, sum;
    uint64_t buf;
};

/* Receives n numbers from in (if any), sends i*i to out (if any). */
static int pump_poll(struct async_task *t)
{
    struct pump *p = (struct pump *)t;
    int r;
    ASYNC_BEGIN(t);
    for (p->i = 0; p->i < p->n; p->i++) {
        if (p->in) {
            ASYNC_AWAIT(t, r, chan_recv_await(t, p->in, &p->buf));
            if (r < 0)
                ASYNC_RETURN(t, r);
            p->sum += p->buf;
        }
        if (p->out) {
            p->buf = p->i * p->i;
            ASYNC_AWAIT(t, r, chan_send_await(t, p->out, &p->buf));
            if (r < 0)
                ASYNC_RETURN(t, r);
        }
    }
    ASYNC_END(t, (int64_t)p->sum);
}

static struct pump *pump_new(struct chan *in, struct chan *out, uint64_t n, int cpu, enum qos qos)
{
    struct async_attr attr = {.qos = qos, .cpu = cpu};
    struct pump *p = ASYNC_NEW(struct pump, pump_poll, &attr);
    p->in = in;
    p->out = out;
    p->n = n;
    return p;
}

/* A stackful receiver of n numbers from shared_c: their sum. */
static struct chan *recv_sum_c;
static int64_t recv_sum(void *arg)
{
    uint64_t sum = 0, x;
    for (uintptr_t i = 0; i < (uintptr_t)arg; i++) {
        if (chan_recv(recv_sum_c, &x, WAIT_FOREVER) != 0)
            return -1;
        sum += x;
    }
    return (int64_t)sum;
}

TEST(async, await_channels_between_cores_and_with_stackful_tasks)
{
    enum { N = 1000 };
    struct chan *c = chan_create(sizeof(uint64_t), 4);
    struct pump *prod = pump_new(NULL, c, N, other_core(0), QOS_DEFAULT);
    struct pump *cons = pump_new(c, NULL, N, other_core(1), QOS_UTILITY);
    async_start(&cons->t);
    async_start(&prod->t);
    struct join_watch *w[2] = {join_watch_start(NULL, &prod->t), join_watch_start(NULL, &cons->t)};
    int64_t v = -1;
    if (!JOINED_OR_LOST(w[0], &v, "the stackless producer") ||
        !JOINED_OR_LOST(w[1], &v, "the stackless consumer")) {
        close_and_reap(c, w, 2);
        return;
    }
    uint64_t want = 0;
    for (uint64_t i = 0; i < N; i++)
        want += i * i;
    EXPECT_EQ((uint64_t)v, want);

    /* A stackful receiver of a stackless sender, on the same core. */
    recv_sum_c = c;
    w[1] = join_watch_start(spawn_on(recv_sum, (void *)(uintptr_t)100, cpu_id(), QOS_DEFAULT), NULL);
    prod = pump_new(NULL, c, 100, -1, QOS_DEFAULT);
    async_start(&prod->t);
    w[0] = join_watch_start(NULL, &prod->t);
    if (!JOINED_OR_LOST(w[0], &v, "the stackless sender") ||
        !JOINED_OR_LOST(w[1], &v, "the stackful receiver")) {
        close_and_reap(c, w, 2);
        return;
    }
    want = 0;
    for (uint64_t i = 0; i < 100; i++)
        want += i * i;
    EXPECT_EQ((uint64_t)v, want);
    chan_destroy(c);
}

/* --- await tasks, join-all ------------------------------------------------------ */

struct parent {
    struct async_task t;
    struct async_task *kids[8];
    int64_t values[8];
    unsigned n;
    int join_result;
    int64_t one;
};

static int parent_poll(struct async_task *t)
{
    struct parent *p = (struct parent *)t;
    int r;
    ASYNC_BEGIN(t);
    /* One child awaited alone, then join-all of the rest. */
    p->kids[0] = &sleeper_new(1 * MS, 1000, -1, QOS_DEFAULT)->t;
    async_start(p->kids[0]);
    ASYNC_AWAIT(t, r, async_join_await(t, p->kids[0], &p->one));
    if (r != ASYNC_COMPLETED)
        ASYNC_RETURN(t, -1);
    for (unsigned i = 0; i < p->n; i++) {
        /* Different cores, sleeps and classes; they end in another order. */
        p->kids[i] = &sleeper_new((p->n - i) * 300000, (int64_t)i * 10, other_core(i),
                                  i % 2 ? QOS_UTILITY : QOS_DEFAULT)->t;
        async_start(p->kids[i]);
    }
    ASYNC_AWAIT(t, p->join_result, async_join_all(t, p->kids, p->values, p->n));
    ASYNC_END(t, 7);
}

TEST(async, await_a_task_then_join_all)
{
    struct async_attr attr = {.qos = QOS_DEFAULT, .cpu = other_core(0)};
    struct parent *p = ASYNC_NEW(struct parent, parent_poll, &attr);
    p->n = 8;
    async_start(&p->t);
    /* p is joined below; its fields stay valid until then. */
    while (!async_done(&p->t))
        task_sleep_ns(1 * MS);
    EXPECT_EQ(p->one, 1000);
    EXPECT_EQ(p->join_result, 0);
    for (unsigned i = 0; i < p->n; i++) {
        EXPECT_TRUE(p->kids[i] == NULL);
        EXPECT_EQ(p->values[i], (int64_t)i * 10);
    }
    int64_t v;
    EXPECT_EQ(async_join(&p->t, &v), ASYNC_COMPLETED);
    EXPECT_EQ(v, 7);
}

/* --- select (first-of) and the timeout combinator ------------------------------------ */

struct chooser {
    struct async_task t;
    struct chan *a, *b;
    struct async_task *kid;
    struct sel_case cs[3];
    struct sel s;
    uint64_t ba, bb;
    int picks[4];
    int timeout_r, late_r;
};

static int chooser_poll(struct async_task *t)
{
    struct chooser *c = (struct chooser *)t;
    int r;
    ASYNC_BEGIN(t);
    /* Timeout combinator on an empty channel. */
    ASYNC_AWAIT_TIMEOUT(t, 1 * MS, c->timeout_r, chan_recv_await(t, c->a, &c->ba));
    /* First-of: two channels and a task. The task (a 1 ms sleeper) ends
     * first; then the channels, which the test fills meanwhile. */
    chan_case_recv(&c->cs[0], c->a, &c->ba);
    chan_case_recv(&c->cs[1], c->b, &c->bb);
    async_case_done(&c->cs[2], c->kid);
    sel_init(&c->s, c->cs, 3);
    ASYNC_AWAIT(t, c->picks[0], sel_await(t, &c->s));
    c->s.n = 2;   /* the task case is done: drop it */
    ASYNC_AWAIT(t, c->picks[1], sel_await(t, &c->s));
    ASYNC_AWAIT(t, c->picks[2], sel_await(t, &c->s));
    /* Nothing left: the select times out. */
    ASYNC_AWAIT_TIMEOUT(t, 1 * MS, c->picks[3], sel_await(t, &c->s));
    /* A value that arrives within the timeout is taken (10 s: room for a
     * host stall between the test seeing picks[3] and its send). */
    ASYNC_AWAIT_TIMEOUT(t, 10000 * MS, c->late_r, chan_recv_await(t, c->b, &c->bb));
    ASYNC_AWAIT(t, r, async_join_await(t, c->kid, NULL));
    ASYNC_END(t, r);
}

/* Wait (bounded) until another core's task sets *p. */
static void wait_nonzero(volatile int *p)
{
    uint64_t end = clock_ns() + 2000 * MS;
    while (*p == 0 && clock_ns() < end)
        task_sleep_ns(100000);
}

/* async_join for a test that reads its task's struct afterwards: async_join
 * frees the task, so once it has ended (async_done, acquire; waited for
 * with short sleeps, at most LOST_WAKE_NS) its size bytes are copied to
 * copy and then it is joined. The caller reads the copy. */
static enum async_status join_keeping_copy(struct async_task *t, void *copy, size_t size,
                                           int64_t *value)
{
    uint64_t end = clock_ns() + LOST_WAKE_NS;
    while (!async_done(t) && clock_ns() < end)
        task_sleep_ns(100000);
    EXPECT_TRUE(async_done(t));   /* else a lost wake-up: the join below hangs */
    memcpy(copy, t, size);
    return async_join(t, value);
}

TEST(async, select_first_of_and_timeout_combinator)
{
    struct chooser *c = ASYNC_NEW(struct chooser, chooser_poll, NULL);
    c->a = chan_create(sizeof(uint64_t), 2);
    c->b = chan_create(sizeof(uint64_t), 2);
    struct sleeper *kid = sleeper_new(3 * MS, 5, other_core(1), QOS_DEFAULT);
    c->kid = &kid->t;
    async_start(c->kid);
    async_start(&c->t);
    wait_nonzero(&c->picks[0]);
    uint64_t x = 11;
    EXPECT_EQ(chan_send(c->a, &x, WAIT_FOREVER), 0);
    x = 22;
    EXPECT_EQ(chan_send(c->b, &x, WAIT_FOREVER), 0);
    wait_nonzero(&c->picks[3]);
    x = 33;
    EXPECT_EQ(chan_send(c->b, &x, WAIT_FOREVER), 0);
    int64_t v = -1;
    struct chooser ended;
    EXPECT_EQ(join_keeping_copy(&c->t, &ended, sizeof(ended), &v), ASYNC_COMPLETED);
    c = &ended;
    EXPECT_EQ(v, ASYNC_COMPLETED);
    EXPECT_EQ(c->timeout_r, -ETIMEDOUT);
    EXPECT_EQ(c->picks[0], 2);
    /* Both channels ready: rotation starts after the last pick (2 -> 0). */
    EXPECT_EQ(c->picks[1], 0);
    EXPECT_EQ(c->picks[2], 1);
    EXPECT_EQ(c->ba, 11);
    EXPECT_EQ(c->picks[3], -ETIMEDOUT);
    EXPECT_EQ(c->late_r, 0);
    EXPECT_EQ(c->bb, 33);
    EXPECT_EQ(chan_receivers(c->a) + chan_receivers(c->b), 0);
    chan_destroy(c->a);
    chan_destroy(c->b);
}

/* --- cancellation -------------------------------------------------------------- */

static _Atomic int cancel_seen;

struct waiter_task {
    struct async_task t;
    struct chan *c;
    uint64_t buf;
    int r1, r2;
};

static int waiter_poll(struct async_task *t)
{
    struct waiter_task *w = (struct waiter_task *)t;
    ASYNC_BEGIN(t);
    ASYNC_AWAIT(t, w->r1, chan_recv_await(t, w->c, &w->buf));   /* forever */
    ASYNC_SLEEP(t, 1000 * MS);                                  /* returns at once */
    ASYNC_AWAIT(t, w->r2, chan_recv_await(t, w->c, &w->buf));   /* so does this */
    atomic_fetch_add(&cancel_seen, 1);
    ASYNC_END(t, w->r1);
}

TEST(async, cancel_ends_the_pending_and_every_later_await)
{
    struct chan *c = chan_create(sizeof(uint64_t), 1);
    struct waiter_task *w = ASYNC_NEW(struct waiter_task, waiter_poll,
                                      &((struct async_attr){.qos = QOS_DEFAULT, .cpu = other_core(0)}));
    w->c = c;
    atomic_store(&cancel_seen, 0);
    async_start(&w->t);
    wait_for_receivers(c, 1);
    async_cancel(&w->t);
    int64_t v = 0;
    int r1, r2;
    while (!async_done(&w->t))
        task_sleep_ns(50000);
    r1 = w->r1;
    r2 = w->r2;
    EXPECT_EQ(async_join(&w->t, &v), ASYNC_CANCELLED);
    EXPECT_EQ(v, -ECANCELED);
    EXPECT_EQ(r1, -ECANCELED);
    EXPECT_EQ(r2, -ECANCELED);
    EXPECT_EQ(atomic_load(&cancel_seen), 1);
    EXPECT_EQ(chan_receivers(c), 0);
    /* Nothing was consumed: a message sent now stays. */
    uint64_t x = 5;
    EXPECT_EQ(chan_try_send(c, &x), 0);
    EXPECT_EQ(chan_len(c), 1);

    /* Cancelling an hour-long sleeper ends it now (the join returns) and
     * takes its timer off the core's heap. */
    struct sleeper *s = sleeper_new(3600000 * MS, 3, other_core(1), QOS_DEFAULT);
    async_start(&s->t);
    task_sleep_ns(1 * MS);
    async_cancel(&s->t);
    EXPECT_EQ(async_join(&s->t, &v), ASYNC_CANCELLED);
    EXPECT_EQ(v, 3);   /* the sleep returned -ECANCELED; the task returned its value */
    chan_destroy(c);
}

/* --- QoS: executors are per class, under the scheduler's strict bands ----------- */

static _Atomic int qos_order[4];
static _Atomic int qos_next;
static _Atomic uint64_t markers_queued_ns, markers_last_ns;

struct marker {
    struct async_task t;
    int id;
};

static int marker_poll(struct async_task *t)
{
    struct marker *m = (struct marker *)t;
    atomic_store(&qos_order[atomic_fetch_add(&qos_next, 1)], m->id);
    atomic_store(&markers_last_ns, clock_ns());
    return ASYNC_DONE;
}

static int64_t start_markers(void *arg)
{
    struct async_task **ts = arg;
    /* Queued while this user-interactive task runs: nothing of a lower class
     * can run here before it blocks. */
    atomic_store(&markers_queued_ns, clock_ns());
    for (int i = 0; i < 4; i++)
        async_start(ts[i]);
    return 0;
}

/* Strict priority holds while no waiting class is past its starvation bound
 * (sched_policy_starvation_bound: 10 ms for user-initiated, the shortest
 * here). Under TCG a descheduled vCPU can make guest time jump past it,
 * and then the overdue class rightly runs first; such a round is run again
 * (up to ROUNDS), and the order is checked on a round that stayed within
 * the bound. */
TEST(async, higher_class_tasks_run_first_on_a_core)
{
    enum { ROUNDS = 10 };
    int cpu = other_core(0);
    static const enum qos q[4] = {QOS_BACKGROUND, QOS_UTILITY, QOS_DEFAULT, QOS_USER_INITIATED};
    /* Executors exist already? Make sure (their creation blocks on a mutex). */
    for (int i = 0; i < 4; i++) {
        struct sleeper *s = sleeper_new(0, 0, cpu, q[i]);
        async_start(&s->t);
        async_join(&s->t, NULL);
    }
    uint64_t bound = sched_policy_starvation_bound(QOS_USER_INITIATED);
    for (int round = 0; round < ROUNDS; round++) {
        struct async_task *ts[4];
        for (int i = 0; i < 4; i++) {
            struct marker *m = ASYNC_NEW(struct marker, marker_poll,
                                         &((struct async_attr){.qos = q[i], .cpu = cpu}));
            m->id = i;
            ts[i] = &m->t;
        }
        atomic_store(&qos_next, 0);
        struct task *st = spawn_on(start_markers, ts, cpu, QOS_USER_INTERACTIVE);
        task_join(st, NULL);
        for (int i = 0; i < 4; i++)
            async_join(ts[i], NULL);
        EXPECT_EQ(atomic_load(&qos_next), 4);
        if (atomic_load(&markers_last_ns) - atomic_load(&markers_queued_ns) >= bound)
            continue;   /* a class may have been overdue: not a strict-priority round */
        EXPECT_EQ(atomic_load(&qos_order[0]), 3);
        EXPECT_EQ(atomic_load(&qos_order[1]), 2);
        EXPECT_EQ(atomic_load(&qos_order[2]), 1);
        EXPECT_EQ(atomic_load(&qos_order[3]), 0);
        return;
    }
    printf("# no round stayed within the %llu ns bound: order not checked\n",
           (unsigned long long)bound);
}

/* --- all-core stress ---------------------------------------------------------------- */

/* Per core: pumps forward numbers through a chain of channels; extra
 * sleepers are cancelled. Conservation: every number sent arrives once
 * (sum and count), every task is joined, cancelled ones too; no leak. */
enum { AS_PER_CORE = 2, AS_MSGS = 50, AS_SLEEPERS = 8 };

static void as_run(void)
{
    int ncores = smp_online_count();
    int online[PLAT_MAX_CPUS], k = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c))
            online[k++] = c;
    int nchain = ncores * AS_PER_CORE;
    struct chan **ch = calloc((size_t)nchain + 1, sizeof(*ch));
    struct pump **pumps = calloc((size_t)nchain + 1, sizeof(*pumps));
    struct sleeper **sl = calloc((size_t)ncores * AS_SLEEPERS, sizeof(*sl));
    for (int i = 0; i <= nchain; i++)
        ch[i] = chan_create(sizeof(uint64_t), (uint32_t)(i % 3));   /* rendezvous too */
    /* pump[0] produces i*i into ch[0]; pump[j] forwards ch[j-1] -> ch[j] as
     * (i*i), summing what it gets; the test drains ch[nchain-1]. */
    for (int j = 0; j < nchain; j++) {
        pumps[j] = pump_new(j ? ch[j - 1] : NULL, ch[j], AS_MSGS, online[j % ncores],
                            j % 2 ? QOS_UTILITY : QOS_DEFAULT);
        async_start(&pumps[j]->t);
    }
    for (int i = 0; i < ncores * AS_SLEEPERS; i++) {
        sl[i] = sleeper_new(i % 2 ? 3600000 * MS : 0, i, online[i % ncores], QOS_DEFAULT);
        async_start(&sl[i]->t);
    }
    uint64_t got = 0, sum = 0, x;
    while (chan_recv(ch[nchain - 1], &x, WAIT_FOREVER) == 0) {
        sum += x;
        if (++got == AS_MSGS)
            break;
    }
    int cancelled = 0, completed = 0;
    for (int i = 0; i < ncores * AS_SLEEPERS; i++) {
        if (i % 2)
            async_cancel(&sl[i]->t);
        int64_t v = -1;
        enum async_status s = async_join(&sl[i]->t, &v);
        cancelled += s == ASYNC_CANCELLED;
        completed += s == ASYNC_COMPLETED && v == i;
    }
    uint64_t want = 0;
    for (uint64_t i = 0; i < AS_MSGS; i++)
        want += i * i;
    EXPECT_EQ(got, AS_MSGS);
    EXPECT_EQ(sum, want);
    EXPECT_EQ(cancelled, ncores * AS_SLEEPERS / 2);
    EXPECT_EQ(completed, ncores * AS_SLEEPERS / 2);
    int joined = 0;
    for (int j = 0; j < nchain; j++) {
        int64_t v = -1;
        EXPECT_EQ(async_join(&pumps[j]->t, &v), ASYNC_COMPLETED);
        joined++;
        if (j)
            EXPECT_EQ((uint64_t)v, want);   /* each stage received every number once */
    }
    EXPECT_EQ(joined, nchain);
    for (int i = 0; i <= nchain; i++) {
        EXPECT_EQ(chan_len(ch[i]), 0);
        chan_destroy(ch[i]);
    }
    free(ch);
    free(pumps);
    free(sl);
}

TEST(async, stress_all_cores_joined_or_cancelled_no_leak)
{
    as_run();   /* warms executors, slab pages, timer heaps */
    uint64_t before = free_pages_settled();
    as_run();
    EXPECT_EQ(free_pages_settled(), before);
}

/* --- SPSC awaits, yield, detach ------------------------------------------------- */

struct spsc_end {
    struct async_task t;
    struct chan_spsc *q;
    bool producer;
    uint64_t i, n, sum, buf;
    int yields;
};

static int spsc_end_poll(struct async_task *t)
{
    struct spsc_end *e = (struct spsc_end *)t;
    int r;
    ASYNC_BEGIN(t);
    if (e->producer) {
        for (e->i = 0; e->i < e->n; e->i++) {
            e->buf = e->i + 1;
            ASYNC_AWAIT(t, r, chan_spsc_send_await(t, e->q, &e->buf));
            if (r < 0)
                ASYNC_RETURN(t, r);
            if (e->i % 64 == 0) {
                ASYNC_YIELD(t);
                e->yields++;
            }
        }
        chan_spsc_close(e->q);
        ASYNC_RETURN(t, (int64_t)e->n);
    }
    for (;;) {
        ASYNC_AWAIT(t, r, chan_spsc_recv_await(t, e->q, &e->buf));
        if (r < 0)
            break;
        e->sum += e->buf;
    }
    ASYNC_END(t, r == -EPIPE ? (int64_t)e->sum : r);
}

static _Atomic int detached_ran;

static int detached_poll(struct async_task *t)
{
    ASYNC_BEGIN(t);
    ASYNC_SLEEP(t, 100000);
    atomic_fetch_add(&detached_ran, 1);
    ASYNC_END(t, 0);
}

TEST(async, spsc_awaits_yield_and_detached_tasks)
{
    enum { N = 1000 };
    struct chan_spsc *q = chan_spsc_create(sizeof(uint64_t), 4);
    struct spsc_end *p = ASYNC_NEW(struct spsc_end, spsc_end_poll,
                                   &((struct async_attr){.qos = QOS_DEFAULT, .cpu = other_core(0)}));
    struct spsc_end *c = ASYNC_NEW(struct spsc_end, spsc_end_poll,
                                   &((struct async_attr){.qos = QOS_UTILITY, .cpu = other_core(1)}));
    p->q = c->q = q;
    p->producer = true;
    p->n = N;
    async_start(&c->t);
    async_start(&p->t);
    int64_t vp = 0, vc = 0;
    int yields;
    while (!async_done(&p->t))
        task_sleep_ns(50000);
    yields = p->yields;
    EXPECT_EQ(async_join(&p->t, &vp), ASYNC_COMPLETED);
    EXPECT_EQ(async_join(&c->t, &vc), ASYNC_COMPLETED);
    EXPECT_EQ(vp, N);
    EXPECT_EQ(vc, (int64_t)N * (N + 1) / 2);
    EXPECT_EQ(yields, (N + 63) / 64);
    chan_spsc_destroy(q);

    /* Detached tasks free themselves: before and after they end. */
    atomic_store(&detached_ran, 0);
    struct async_task *d1 = async_new(detached_poll, sizeof(struct async_task), NULL);
    struct async_task *d2 = async_new(detached_poll, sizeof(struct async_task), NULL);
    async_start(d1);
    async_detach(d1);   /* likely still asleep */
    async_start(d2);
    while (!async_done(d2))
        task_sleep_ns(50000);
    async_detach(d2);   /* already ended: freed here */
    while (atomic_load(&detached_ran) < 2)
        task_sleep_ns(50000);
    EXPECT_EQ(atomic_load(&detached_ran), 2);
}

/* --- inline first polls ---------------------------------------------------------- */

static _Atomic int grandchild_done_at_start;

/* A child: value 10 at once, or (waits) the value received on its channel
 * plus 20, or (nests) starts a grandchild on its own executor and reports
 * whether that one had ended when async_start returned. */
struct kid {
    struct async_task t;
    struct chan *in;
    bool nests;
    struct async_task *g;
    uint64_t got;
    int64_t gv;
};

static int kid_poll(struct async_task *t)
{
    struct kid *k = (struct kid *)t;
    int r;
    ASYNC_BEGIN(t);
    if (k->in) {
        ASYNC_AWAIT(t, r, chan_recv_await(t, k->in, &k->got));
        ASYNC_RETURN(t, r < 0 ? r : (int64_t)k->got + 20);
    }
    if (k->nests) {
        k->g = async_new(kid_poll, sizeof(struct kid), NULL);
        async_start(k->g);
        atomic_store(&grandchild_done_at_start, async_done(k->g));
        ASYNC_AWAIT(t, r, async_join_await(t, k->g, &k->gv));
        ASYNC_RETURN(t, r == ASYNC_COMPLETED ? 30 + k->gv : -1);
    }
    ASYNC_END(t, 10);
}

struct starter {
    struct async_task t;
    struct chan *c;
    struct kid *a, *b, *n;
    bool a_done_at_start, b_done_at_start;
    int64_t va, vb, vn;
    int ra, rb, rn;
};

static int starter_poll(struct async_task *t)
{
    struct starter *s = (struct starter *)t;
    uint64_t five = 5;
    ASYNC_BEGIN(t);
    s->a = ASYNC_NEW(struct kid, kid_poll, NULL);
    async_start(&s->a->t);
    s->a_done_at_start = async_done(&s->a->t);   /* ended inside async_start */
    s->b = ASYNC_NEW(struct kid, kid_poll, NULL);
    s->b->in = s->c;
    async_start(&s->b->t);
    s->b_done_at_start = async_done(&s->b->t);   /* parked on the channel */
    if (chan_try_send(s->c, &five) != 0)
        ASYNC_RETURN(t, -1);
    s->n = ASYNC_NEW(struct kid, kid_poll, NULL);
    s->n->nests = true;
    async_start(&s->n->t);
    ASYNC_AWAIT(t, s->ra, async_join_await(t, &s->a->t, &s->va));
    ASYNC_AWAIT(t, s->rb, async_join_await(t, &s->b->t, &s->vb));
    ASYNC_AWAIT(t, s->rn, async_join_await(t, &s->n->t, &s->vn));
    ASYNC_END(t, 0);
}

/* Started by a task of its own executor, a child's first poll runs inside
 * async_start: one that completes at once has ended when async_start
 * returns, one that must wait is parked and resumed as usual; a child
 * started from such an inline poll is queued (one level only). */
TEST(async, children_started_on_their_executor_run_their_first_poll_inline)
{
    struct async_attr attr = {.qos = QOS_DEFAULT, .cpu = other_core(0)};
    struct starter *s = ASYNC_NEW(struct starter, starter_poll, &attr);
    s->c = chan_create(sizeof(uint64_t), 1);
    atomic_store(&grandchild_done_at_start, -1);
    async_start(&s->t);
    int64_t v = -1;
    struct starter ended;
    EXPECT_EQ(join_keeping_copy(&s->t, &ended, sizeof(ended), &v), ASYNC_COMPLETED);
    s = &ended;
    EXPECT_EQ(v, 0);
    EXPECT_TRUE(s->a_done_at_start);
    EXPECT_TRUE(!s->b_done_at_start);
    EXPECT_EQ(s->ra, ASYNC_COMPLETED);
    EXPECT_EQ(s->va, 10);
    EXPECT_EQ(s->rb, ASYNC_COMPLETED);
    EXPECT_EQ(s->vb, 25);
    EXPECT_EQ(s->rn, ASYNC_COMPLETED);
    EXPECT_EQ(s->vn, 40);   /* 30 + the grandchild's 10 */
    EXPECT_EQ(atomic_load(&grandchild_done_at_start), 0);   /* queued, not run inline */
    EXPECT_EQ(chan_len(s->c), 0);
    chan_destroy(s->c);
}

/* --- an executor's cache of task blocks ------------------------------------------ */

enum { REUSE_N = 40 };   /* more than an executor keeps once it sleeps */

/* Round 1: waits for a message under a timeout (its waker, node and timer
 * used), scribbles on its state, ends with 7 (or cancelled).
 * Round 2: on its first poll, checks that it starts as a new task. */
struct reuse_kid {
    struct async_task t;
    struct chan *c;
    uint64_t buf, scribble[2];
    bool fresh_ok;
};

static int reuse_used_poll(struct async_task *t)
{
    struct reuse_kid *k = (struct reuse_kid *)t;
    int r;
    ASYNC_BEGIN(t);
    k->scribble[0] = k->scribble[1] = ~0ull;
    ASYNC_AWAIT_TIMEOUT(t, 10000000000ull, r, chan_recv_await(t, k->c, &k->buf));
    ASYNC_END(t, r == 0 ? 7 : r);
}

static int reuse_fresh_poll(struct async_task *t)
{
    struct reuse_kid *k = (struct reuse_kid *)t;
    ASYNC_BEGIN(t);
    k->fresh_ok = !k->c && !k->buf && !k->scribble[0] && !k->scribble[1] && t->value == 0 &&
                  t->deadline_ns == 0 && !async_cancelled(t) && !async_waiting(t);
    ASYNC_SLEEP(t, 100000);   /* its timer works */
    ASYNC_END(t, k->fresh_ok ? 1 : 0);
}

struct reuser {
    struct async_task t;
    struct chan *c;
    struct reuse_kid *kids[REUSE_N];
    int i, r;
    int64_t v;
    uint64_t msg;
    int sevens, cancelled, fresh, completed;
};

static int reuser_poll(struct async_task *t)
{
    struct reuser *s = (struct reuser *)t;
    ASYNC_BEGIN(t);
    for (s->i = 0; s->i < REUSE_N; s->i++) {
        s->kids[s->i] = ASYNC_NEW(struct reuse_kid, reuse_used_poll, NULL);
        s->kids[s->i]->c = s->c;
        async_start(&s->kids[s->i]->t);
        if (s->i % 2)
            async_cancel(&s->kids[s->i]->t);
    }
    for (s->i = 0; s->i < REUSE_N / 2; s->i++)   /* one for each kid not cancelled */
        ASYNC_AWAIT(t, s->r, chan_send_await(t, s->c, &s->msg));
    for (s->i = 0; s->i < REUSE_N; s->i++) {
        ASYNC_AWAIT(t, s->r, async_join_await(t, &s->kids[s->i]->t, &s->v));
        s->sevens += s->r == ASYNC_COMPLETED && s->v == 7;
        s->cancelled += s->r == ASYNC_CANCELLED && s->v == -ECANCELED;
    }
    for (s->i = 0; s->i < REUSE_N; s->i++) {
        s->kids[s->i] = ASYNC_NEW(struct reuse_kid, reuse_fresh_poll, NULL);
        async_start(&s->kids[s->i]->t);
    }
    for (s->i = 0; s->i < REUSE_N; s->i++) {
        ASYNC_AWAIT(t, s->r, async_join_await(t, &s->kids[s->i]->t, &s->v));
        s->completed += s->r == ASYNC_COMPLETED;
        s->fresh += s->v == 1;
    }
    ASYNC_END(t, 0);
}

/* Blocks freed on an executor (its children joined there) are reused for
 * its next children, which start exactly as new ones: zeroed state, no
 * value, deadline, cancellation or wait; working timer and waker. */
TEST(async, blocks_reused_on_an_executor_start_like_new_tasks)
{
    struct async_attr attr = {.qos = QOS_DEFAULT, .cpu = other_core(0)};
    struct reuser *s = ASYNC_NEW(struct reuser, reuser_poll, &attr);
    s->c = chan_create(sizeof(uint64_t), 1);
    async_start(&s->t);
    int64_t v = -1;
    struct reuser ended;
    EXPECT_EQ(join_keeping_copy(&s->t, &ended, sizeof(ended), &v), ASYNC_COMPLETED);
    s = &ended;
    EXPECT_EQ(v, 0);
    EXPECT_EQ(s->sevens, REUSE_N / 2);
    EXPECT_EQ(s->cancelled, REUSE_N / 2);
    EXPECT_EQ(s->completed, REUSE_N);
    EXPECT_EQ(s->fresh, REUSE_N);
    chan_destroy(s->c);
}

/* --- wakes inside one executor and across -------------------------------------- */

struct fan {
    struct async_task t;
    struct chan *c;
    uint64_t buf, count, sum, timeout_ns;
    _Atomic int timeouts;
    int end;                  /* the result that ended it */
    int foreign_polls;        /* polls not run by its own executor task */
};

/* Receives until the channel fails; the first receive under timeout_ns
 * (if set). Notes every poll that runs anywhere but its executor task. */
static int fan_poll(struct async_task *t)
{
    struct fan *f = (struct fan *)t;
    int r;
    f->foreign_polls += async_exec_of_(t)->task != sched_current();
    ASYNC_BEGIN(t);
    for (;;) {
        if (f->timeout_ns) {
            ASYNC_AWAIT_TIMEOUT(t, f->timeout_ns, r, chan_recv_await(t, f->c, &f->buf));
            f->timeout_ns = 0;
            if (r == -ETIMEDOUT) {
                atomic_fetch_add(&f->timeouts, 1);
                continue;
            }
        } else {
            ASYNC_AWAIT(t, r, chan_recv_await(t, f->c, &f->buf));
        }
        if (r < 0) {
            f->end = r;
            ASYNC_RETURN(t, 0);
        }
        f->count++;
        f->sum += f->buf;
    }
    ASYNC_END(t, 0);
}

struct feeder {
    struct async_task t;
    struct chan *c;
    uint64_t i, n, buf;
};

/* Sends 1..n, then closes the channel. */
static int feeder_poll(struct async_task *t)
{
    struct feeder *f = (struct feeder *)t;
    int r;
    ASYNC_BEGIN(t);
    for (f->i = 1; f->i <= f->n; f->i++) {
        f->buf = f->i;
        ASYNC_AWAIT(t, r, chan_send_await(t, f->c, &f->buf));
        if (r < 0)
            ASYNC_RETURN(t, r);
    }
    chan_close(f->c);
    ASYNC_END(t, 0);
}

struct sink {
    struct chan *c;
    uint64_t count, sum;
};

static int64_t sink_main(void *arg)
{
    struct sink *s = arg;
    uint64_t x;
    int r;
    while ((r = chan_recv(s->c, &x, WAIT_FOREVER)) == 0) {
        s->count++;
        s->sum += x;
    }
    return r;
}

/* A stackless sender hands messages to waiters of its own executor
 * (queued on its local list from its poll), of another executor on the
 * same core (its shared list) and to a stackful task there; a waiter that
 * timed out and one cancelled while queued are withdrawn, and every
 * message arrives exactly once. */
TEST(async, a_sender_wakes_waiters_of_its_executor_of_others_and_stackful_exactly_once)
{
    enum { N = 3000, FANS = 6, TIMED = 4, CANCELLED = 5 };
    static const enum qos cls[FANS] = {QOS_DEFAULT, QOS_DEFAULT, QOS_DEFAULT, QOS_UTILITY,
                                       QOS_DEFAULT, QOS_UTILITY};
    int cpu = other_core(0);
    struct chan *c = chan_create(sizeof(uint64_t), 1);
    struct fan *f[FANS];
    for (int i = 0; i < FANS; i++) {
        struct async_attr attr = {.qos = cls[i], .cpu = cpu};
        f[i] = ASYNC_NEW(struct fan, fan_poll, &attr);
        f[i]->c = c;
    }
    f[TIMED]->timeout_ns = 200000;
    for (int i = 0; i < FANS; i++)
        async_start(&f[i]->t);
    struct sink s = {.c = c};
    struct task *st = spawn_on(sink_main, &s, cpu, QOS_DEFAULT);
    while (atomic_load(&f[TIMED]->timeouts) == 0)
        task_sleep_ns(50000);
    wait_for_receivers(c, FANS + 1);

    async_cancel(&f[CANCELLED]->t);
    int64_t v = -1;
    EXPECT_EQ(async_join(&f[CANCELLED]->t, &v), ASYNC_CANCELLED);
    EXPECT_EQ(f[CANCELLED]->end, -ECANCELED);
    EXPECT_EQ(f[CANCELLED]->count, 0);
    EXPECT_EQ(chan_receivers(c), FANS);

    struct async_attr attr = {.qos = QOS_DEFAULT, .cpu = cpu};
    struct feeder *fd = ASYNC_NEW(struct feeder, feeder_poll, &attr);
    fd->c = c;
    fd->n = N;
    async_start(&fd->t);
    /* Watched joins (w: the feeder, the fans, the stackful sink): a lost
     * wake-up fails the test by name. */
    struct join_watch *w[FANS + 2] = {join_watch_start(NULL, &fd->t)};
    for (int i = 0; i < FANS; i++)
        w[1 + i] = i == CANCELLED ? NULL : join_watch_start(NULL, &f[i]->t);
    w[FANS + 1] = join_watch_start(st, NULL);
    if (!JOINED_OR_LOST(w[0], &v, "the feeder")) {
        close_and_reap(c, w, FANS + 2);
        return;
    }
    EXPECT_EQ(v, 0);

    uint64_t count = 0, sum = 0;
    for (int i = 0; i < FANS; i++) {
        if (i == CANCELLED)
            continue;
        if (!JOINED_OR_LOST(w[1 + i], &v, "a stackless receiver")) {
            close_and_reap(c, w, FANS + 2);
            return;
        }
        EXPECT_EQ(f[i]->end, -EPIPE);
        EXPECT_EQ(f[i]->foreign_polls, 0);
        count += f[i]->count;
        sum += f[i]->sum;
    }
    EXPECT_EQ(atomic_load(&f[TIMED]->timeouts), 1);
    if (!JOINED_OR_LOST(w[FANS + 1], &v, "the stackful receiver")) {
        close_and_reap(c, w, FANS + 2);
        return;
    }
    EXPECT_EQ(v, -EPIPE);
    count += s.count;
    sum += s.sum;
    EXPECT_EQ(count, N);
    EXPECT_EQ(sum, (uint64_t)N * (N + 1) / 2);
    EXPECT_EQ(chan_receivers(c), 0);
    chan_destroy(c);
}

/* --- a timed await, then untimed ones --------------------------------------------- */

struct timed_then_plain {
    struct async_task t;
    struct chan *c;
    uint64_t buf;
    int r[4];
};

static int timed_then_plain_poll(struct async_task *t)
{
    struct timed_then_plain *p = (struct timed_then_plain *)t;
    ASYNC_BEGIN(t);
    /* 200 ms: room for a host stall between the test seeing it parked and the send */
    ASYNC_AWAIT_TIMEOUT(t, 200 * MS, p->r[0], chan_recv_await(t, p->c, &p->buf));   /* answered */
    ASYNC_AWAIT(t, p->r[1], chan_recv_await(t, p->c, &p->buf));   /* answered after 200 ms */
    ASYNC_AWAIT_TIMEOUT(t, 5 * MS, p->r[2], chan_recv_await(t, p->c, &p->buf));    /* times out */
    ASYNC_AWAIT(t, p->r[3], chan_recv_await(t, p->c, &p->buf));   /* answered after 5 ms */
    ASYNC_END(t, 0);
}

/* wait_for_receivers(c, 1), but giving up after 2 s (a receiver that
 * ended its awaits early leaves none: the test then fails, not hangs). */
static void wait_one_waiter(struct chan *c)
{
    uint64_t end = clock_ns() + 2000 * MS;
    while (chan_receivers(c) < 1 && clock_ns() < end)
        task_sleep_ns(50000);
}

/* A wait that armed its timer and ended by its message leaves nothing behind
 * (its timer is cancelled, a firing of it would be stale): the untimed
 * await after it outlasts its deadline and still gets its message; so does
 * the one after a timed await that timed out. */
TEST(async, a_timed_await_leaves_no_timeout_to_the_untimed_ones_after_it)
{
    struct timed_then_plain *p = ASYNC_NEW(struct timed_then_plain, timed_then_plain_poll, NULL);
    EXPECT_TRUE(p != NULL);
    if (!p)
        return;
    p->c = chan_create(sizeof(uint64_t), 1);
    p->r[2] = 0;   /* -ETIMEDOUT once the third has timed out */
    async_start(&p->t);
    uint64_t x = 1;
    wait_one_waiter(p->c);                    /* parked, timer armed */
    EXPECT_EQ(chan_send(p->c, &x, 1000 * MS), 0);
    wait_one_waiter(p->c);                    /* the untimed await */
    task_sleep_ns(220 * MS);                              /* past the first deadline */
    x = 2;
    EXPECT_EQ(chan_send(p->c, &x, 1000 * MS), 0);
    /* The third times out (waited for, not slept on: a receiver stalled
     * past a fixed sleep would take the next message in its third await). */
    wait_nonzero(&p->r[2]);
    wait_one_waiter(p->c);                    /* the fourth */
    task_sleep_ns(10 * MS);                               /* past the third's deadline */
    x = 3;
    EXPECT_EQ(chan_send(p->c, &x, 1000 * MS), 0);
    int64_t v = -1;
    struct timed_then_plain ended;
    EXPECT_EQ(join_keeping_copy(&p->t, &ended, sizeof(ended), &v), ASYNC_COMPLETED);
    p = &ended;
    EXPECT_EQ(p->r[0], 0);
    EXPECT_EQ(p->r[1], 0);
    EXPECT_EQ(p->r[2], -ETIMEDOUT);
    EXPECT_EQ(p->r[3], 0);
    EXPECT_EQ(p->buf, 3);
    chan_destroy(p->c);
}

/* --- a hand-off past a select's claimed node ---------------------------------------- */

struct picker {
    struct async_task t;
    struct chan *a, *b;
    struct sel_case cs[2];
    struct sel s;
    uint64_t ba[4], bb[4], late[4];
    int pick, late_r;
};

/* Selects over receives on a and b, then receives once more on the channel
 * it did not pick (bounded: a lost message fails the test, not hangs it). */
static int picker_poll(struct async_task *t)
{
    struct picker *p = (struct picker *)t;
    ASYNC_BEGIN(t);
    chan_case_recv(&p->cs[0], p->a, p->ba);
    chan_case_recv(&p->cs[1], p->b, p->bb);
    sel_init(&p->s, p->cs, 2);
    ASYNC_AWAIT(t, p->pick, sel_await(t, &p->s));
    ASYNC_AWAIT_TIMEOUT(t, 200 * MS, p->late_r,
                        chan_recv_await(t, p->pick == 0 ? p->b : p->a, p->late));
    ASYNC_END(t, 0);
}

struct pair_sender {
    struct async_task t;
    struct chan *first, *second;
    uint64_t m1[4], m2[4];
    int r1, r2;
};

static int pair_sender_poll(struct async_task *t)
{
    struct pair_sender *s = (struct pair_sender *)t;
    ASYNC_BEGIN(t);
    ASYNC_AWAIT(t, s->r1, chan_send_await(t, s->first, s->m1));
    ASYNC_AWAIT(t, s->r2, chan_send_await(t, s->second, s->m2));
    ASYNC_END(t, 0);
}

/* A stackless select waits on two channels; a stackless sender of the same
 * executor sends on one (the hand-off claims the select and queues it
 * locally, with the case's index), then on the other in the same poll,
 * where the select's node, claimed already, is still at the head: that
 * send must go past it into the ring, and the select's next receive takes
 * it. Both orders, 8- and 32-byte messages; every message exactly once. */
TEST(async, a_hand_off_past_a_selects_claimed_node_loses_nothing)
{
    enum { ROUNDS = 20 };
    struct async_attr attr = {.qos = QOS_DEFAULT, .cpu = other_core(0)};
    for (int i = 0; i < ROUNDS; i++) {
        size_t elem = i % 2 ? 32 : 8;
        bool a_first = i % 4 < 2;
        struct chan *a = chan_create(elem, 1), *b = chan_create(elem, 1);
        struct picker *p = ASYNC_NEW(struct picker, picker_poll, &attr);
        struct pair_sender *s = ASYNC_NEW(struct pair_sender, pair_sender_poll, &attr);
        EXPECT_TRUE(a && b && p && s);
        if (!a || !b || !p || !s)
            return;
        p->a = a;
        p->b = b;
        async_start(&p->t);
        wait_one_waiter(a);
        wait_one_waiter(b);
        s->first = a_first ? a : b;
        s->second = a_first ? b : a;
        s->m1[0] = 100 + (uint64_t)i;
        s->m2[0] = 200 + (uint64_t)i;
        s->m1[3] = s->m2[3] = 7;
        async_start(&s->t);
        int64_t v = -1;
        struct pair_sender s_ended;
        EXPECT_EQ(join_keeping_copy(&s->t, &s_ended, sizeof(s_ended), &v), ASYNC_COMPLETED);
        EXPECT_EQ(s_ended.r1, 0);
        EXPECT_EQ(s_ended.r2, 0);
        struct picker p_ended;
        EXPECT_EQ(join_keeping_copy(&p->t, &p_ended, sizeof(p_ended), &v), ASYNC_COMPLETED);
        p = &p_ended;
        EXPECT_EQ(p->pick, a_first ? 0 : 1);
        EXPECT_EQ((a_first ? p->ba : p->bb)[0], 100 + (uint64_t)i);
        EXPECT_EQ(p->late_r, 0);
        EXPECT_EQ(p->late[0], 200 + (uint64_t)i);
        if (elem == 32) {
            EXPECT_EQ((a_first ? p->ba : p->bb)[3], 7);
            EXPECT_EQ(p->late[3], 7);
        }
        EXPECT_EQ(list_waiters(&a->recvq) + list_waiters(&b->recvq), 0);
        EXPECT_EQ(chan_len(a) + chan_len(b), 0);
        chan_destroy(a);
        chan_destroy(b);
    }
}

/* --- QoS order of stackless receivers, spawned from the heap and from a cache ----------- */

struct one_recv {
    struct async_task t;
    struct chan *c;
    uint64_t buf;
};

static int one_recv_poll(struct async_task *t)
{
    struct one_recv *o = (struct one_recv *)t;
    int r;
    ASYNC_BEGIN(t);
    ASYNC_AWAIT(t, r, chan_recv_await(t, o->c, &o->buf));
    ASYNC_END(t, r == 0 ? (int64_t)o->buf : r);
}

/* Spawns a receiver of its own class on its own executor (from the
 * executor's cache once one of its blocks was freed there), lets it park
 * (its first poll runs inline) and joins it. */
struct kid_parker {
    struct async_task t;
    struct chan *c;
    struct one_recv *kid;
    int64_t v;
};

static int kid_parker_poll(struct async_task *t)
{
    struct kid_parker *k = (struct kid_parker *)t;
    int r;
    ASYNC_BEGIN(t);
    k->kid = ASYNC_NEW(struct one_recv, one_recv_poll,
                       &((struct async_attr){.qos = k->t.qos, .cpu = -1}));
    if (!k->kid)
        ASYNC_RETURN(t, -ENOMEM);
    k->kid->c = k->c;
    async_start(&k->kid->t);
    ASYNC_AWAIT(t, r, async_join_await(t, &k->kid->t, &k->v));
    ASYNC_END(t, r == ASYNC_COMPLETED ? k->v : -1);
}

/* A utility-class receiver parks first (spawned by a stackless parent: its
 * block from the executor's cache after the first round), a default-class
 * one after it (from the heap): the first message goes to the
 * default-class one, the second to the other, every round. */
TEST(async, stackless_receivers_are_served_highest_qos_first_also_from_the_cache)
{
    enum { ROUNDS = 4 };
    int cpu = other_core(0);
    struct chan *c = chan_create(sizeof(uint64_t), 1);
    struct one_recv *prev = NULL;
    int cached = 0;
    for (int i = 0; i < ROUNDS; i++) {
        struct kid_parker *k = ASYNC_NEW(struct kid_parker, kid_parker_poll,
                                         &((struct async_attr){.qos = QOS_UTILITY, .cpu = cpu}));
        struct one_recv *d = ASYNC_NEW(struct one_recv, one_recv_poll,
                                       &((struct async_attr){.qos = QOS_DEFAULT, .cpu = cpu}));
        EXPECT_TRUE(k && d);
        if (!k || !d)
            return;
        k->c = d->c = c;
        async_start(&k->t);
        wait_one_waiter(c);
        struct one_recv *kid = k->kid;   /* set before the kid parked (seen under c's lock) */
        async_start(&d->t);
        uint64_t end = clock_ns() + 2000 * MS;
        while (list_waiters(&c->recvq) < 2 && clock_ns() < end)
            task_sleep_ns(50000);
        uint64_t x = 100 + (uint64_t)i;
        EXPECT_EQ(chan_send(c, &x, 1000 * MS), 0);
        x = 200 + (uint64_t)i;
        EXPECT_EQ(chan_send(c, &x, 1000 * MS), 0);
        int64_t vd = -1, vk = -1;
        struct join_watch *w[2] = {join_watch_start(NULL, &d->t), join_watch_start(NULL, &k->t)};
        if (!JOINED_OR_LOST(w[0], &vd, "the default-class receiver") ||
            !JOINED_OR_LOST(w[1], &vk, "the utility-class receiver")) {
            close_and_reap(c, w, 2);
            return;
        }
        EXPECT_EQ(vd, 100 + i);
        EXPECT_EQ(vk, 200 + i);
        cached += kid == prev;   /* the block the last round's kid freed */
        prev = kid;
    }
    EXPECT_EQ(cached, ROUNDS - 1);
    EXPECT_EQ(list_waiters(&c->recvq), 0);
    chan_destroy(c);
}

/* --- a hand-written poll that keeps going after a pending await --------------- */

/* The poll function may be written by hand (the macros are optional), and
 * such a poll may keep going after an await returned ASYNC_PENDING. Here it
 * starts a sender of its own executor then; the sender's first poll runs at
 * once, inside async_start, and hands its message to the still-running
 * receiver's pending await. The hand-off must not queue the receiver then
 * (its executor queues it when the poll returns pending); queueing it too
 * would list it twice and poll it again after it ended. */
static _Atomic int self_recv_polls;   /* every poll of the receiver, this round */
static int self_sender_result, self_sender_done, self_sent_inline;   /* this round's */

struct inline_sender {
    struct async_task t;
    struct chan *c;
    uint8_t msg[32];
    /* detached: what it did goes to self_sender_result and _done */
};

static int inline_sender_poll(struct async_task *t)
{
    struct inline_sender *s = (struct inline_sender *)t;
    int r;
    ASYNC_BEGIN(t);
    ASYNC_AWAIT(t, r, chan_send_await(t, s->c, s->msg));
    self_sender_result = r;
    self_sender_done = 1;
    ASYNC_END(t, r);
}

struct self_recv {
    struct async_task t;
    struct chan *c;
    uint8_t buf[32];
    uint64_t seq;
};

static int self_recv_poll(struct async_task *t)
{
    struct self_recv *k = (struct self_recv *)t;
    if (atomic_fetch_add(&self_recv_polls, 1) >= 2)
        return ASYNC_DONE;   /* a third poll: the test fails on the count */
    int r;
    switch (t->resume) {
    case 0:
        r = chan_recv_await(t, k->c, k->buf);   /* nothing sent yet: pending */
        if (r != ASYNC_PENDING) {
            t->value = r == 0 ? -1000 : r;
            return ASYNC_DONE;
        }
        t->resume = 1;
        struct inline_sender *s = ASYNC_NEW(struct inline_sender, inline_sender_poll,
                                            &((struct async_attr){.qos = t->qos, .cpu = -1,
                                                                  .detached = true}));
        if (!s) {
            t->value = -ENOMEM;
            return ASYNC_DONE;
        }
        s->c = k->c;
        memcpy(s->msg, &k->seq, sizeof(k->seq));
        async_start(&s->t);   /* its first poll runs here, and sends */
        self_sent_inline = self_sender_done;
        return ASYNC_PENDING;
    default:
        r = chan_recv_await(t, k->c, k->buf);
        if (r == ASYNC_PENDING)
            return ASYNC_PENDING;
        uint64_t got;
        memcpy(&got, k->buf, sizeof(got));
        t->value = r == 0 ? (int64_t)got : r;
        return ASYNC_DONE;
    }
}

static int noop_poll(struct async_task *t)
{
    (void)t;
    return ASYNC_DONE;
}

/* 8 rounds, 8- and 32-byte messages: the message arrives exactly once, the
 * receiver is polled exactly twice (the pending start, the resume after
 * the hand-off), the sender completed inside its start, and a task started
 * on that executor afterwards runs (nothing left looping there); the
 * channel is empty and nobody is left queued. */
TEST(async, a_hand_written_poll_that_starts_a_sender_after_a_pending_receive_is_polled_twice)
{
    int cpu = other_core(0);
    for (int round = 0; round < 8; round++) {
        struct chan *c = chan_create(round & 1 ? 32 : sizeof(uint64_t), 1);
        struct self_recv *k = ASYNC_NEW(struct self_recv, self_recv_poll,
                                        &((struct async_attr){.qos = QOS_DEFAULT, .cpu = cpu}));
        EXPECT_TRUE(c && k);
        if (!c || !k)
            return;
        k->c = c;
        k->seq = 500 + (uint64_t)round;
        atomic_store(&self_recv_polls, 0);
        self_sender_result = 1;
        self_sender_done = self_sent_inline = 0;
        async_start(&k->t);
        struct join_watch *w[1] = {join_watch_start(NULL, &k->t)};
        int64_t v = -1;
        if (!JOINED_OR_LOST(w[0], &v, "the receiver")) {
            close_and_reap(c, w, 1);
            return;
        }
        EXPECT_EQ(v, 500 + round);
        EXPECT_EQ(self_sent_inline, 1);
        EXPECT_EQ(self_sender_result, 0);
        struct async_task *n = async_new(noop_poll, sizeof(struct async_task),
                                         &((struct async_attr){.qos = QOS_DEFAULT, .cpu = cpu}));
        EXPECT_TRUE(n != NULL);
        if (n) {
            async_start(n);
            w[0] = join_watch_start(NULL, n);
            if (!JOINED_OR_LOST(w[0], NULL, "a task after it on its executor")) {
                close_and_reap(c, w, 1);
                return;
            }
        }
        int polls = atomic_load(&self_recv_polls);
        EXPECT_EQ(polls, 2);
        EXPECT_EQ(chan_len(c), 0);
        EXPECT_EQ(list_waiters(&c->recvq), 0);
        chan_destroy(c);
    }
}
