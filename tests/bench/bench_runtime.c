/* Runtime microbenchmarks: channels and stackless tasks (issue 6 targets). */
#include <stdatomic.h>
#include <stdlib.h>
#include <kernel/clock.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <kernel/waitq.h>
#include <sr/async.h>
#include <sr/chan.h>
#include "bench.h"

struct msg32 {
    uint64_t w[4];
};

static int bench_cpu(void)
{
    for (int c = platform.ncpus - 1; c >= 0; c--)
        if (smp_cpu_online(c) && c != cpu_id())
            return c;
    return cpu_id();
}

/* One try_send and one try_recv of a 32-byte message on an MPMC channel. */
BENCH(chan_send_recv, "insn/pair", 40, BENCH_AT_MOST)
{
    enum { N = 100000 };
    struct chan *c = chan_create(sizeof(struct msg32), 16);
    struct msg32 m = {{1, 2, 3, 4}}, out = {{0}};
    uint64_t sum = 0;
    chan_try_send(c, &m);
    chan_try_recv(c, &out);
    uint64_t t0 = clock_ns();
    for (int i = 0; i < N; i++) {
        m.w[0] = (uint64_t)i;
        chan_try_send(c, &m);
        chan_try_recv(c, &out);
        sum += out.w[0];
    }
    uint64_t t1 = clock_ns();
    chan_destroy(c);
    if (sum != (uint64_t)N * (N - 1) / 2 || out.w[3] != 4)
        return bench_invalid("chan_send_recv", "messages lost");
    return (t1 - t0) / N;
}

/* The same on a single-producer single-consumer channel. */
BENCH(spsc_send_recv, "insn/pair", 40, BENCH_AT_MOST)
{
    enum { N = 100000 };
    struct chan_spsc *q = chan_spsc_create(sizeof(struct msg32), 16);
    struct msg32 m = {{1, 2, 3, 4}}, out = {{0}};
    uint64_t sum = 0;
    chan_spsc_try_send(q, &m);
    chan_spsc_try_recv(q, &out);
    uint64_t t0 = clock_ns();
    for (int i = 0; i < N; i++) {
        m.w[0] = (uint64_t)i;
        chan_spsc_try_send(q, &m);
        chan_spsc_try_recv(q, &out);
        sum += out.w[0];
    }
    uint64_t t1 = clock_ns();
    chan_spsc_destroy(q);
    if (sum != (uint64_t)N * (N - 1) / 2 || out.w[3] != 4)
        return bench_invalid("spsc_send_recv", "messages lost");
    return (t1 - t0) / N;
}

/* Round trip between two stackful tasks on one core over two capacity-1
 * channels: every receive blocks, every send wakes and switches. */
static struct chan *ping, *pong;
static _Atomic uint64_t pp_start, pp_end;

static int64_t pinger(void *arg)
{
    int n = (int)(intptr_t)arg;
    struct msg32 m = {{0}};
    atomic_store(&pp_start, clock_ns());
    for (int i = 0; i < n; i++) {
        m.w[0] = (uint64_t)i;
        chan_send(ping, &m, WAIT_FOREVER);
        chan_recv(pong, &m, WAIT_FOREVER);
        if (m.w[0] != (uint64_t)i + 1)
            return -1;
    }
    atomic_store(&pp_end, clock_ns());
    return n;
}

static int64_t ponger(void *arg)
{
    int n = (int)(intptr_t)arg;
    struct msg32 m;
    for (int i = 0; i < n; i++) {
        chan_recv(ping, &m, WAIT_FOREVER);
        m.w[0]++;
        chan_send(pong, &m, WAIT_FOREVER);
    }
    return n;
}

BENCH(chan_pingpong_same, "insn/roundtrip", 250, BENCH_AT_MOST)
{
    enum { N = 10000 };
    ping = chan_create(sizeof(struct msg32), 1);
    pong = chan_create(sizeof(struct msg32), 1);
    uint32_t here = 1u << bench_cpu();
    struct task_attr a = {.name = "ping", .qos = QOS_DEFAULT, .affinity = here};
    struct task_attr b = {.name = "pong", .qos = QOS_DEFAULT, .affinity = here};
    struct task *tb = task_spawn(ponger, (void *)(intptr_t)N, &b);
    struct task *ta = task_spawn(pinger, (void *)(intptr_t)N, &a);
    int64_t va = 0, vb = 0;
    task_join(ta, &va);
    task_join(tb, &vb);
    chan_destroy(ping);
    chan_destroy(pong);
    if (va != N || vb != N)
        return bench_invalid("chan_pingpong_same", "round trips lost");
    return (atomic_load(&pp_end) - atomic_load(&pp_start)) / N;
}

/* The same round trip between two stackless tasks on one executor. */
struct apinger {
    struct async_task t;
    struct chan *in, *out;
    int n, i;
    bool starts;
    uint64_t t0, t1;
    struct msg32 m;
};

static int apinger_poll(struct async_task *t)
{
    struct apinger *p = (struct apinger *)t;
    int r;
    ASYNC_BEGIN(t);
    p->t0 = clock_ns();
    for (p->i = 0; p->i < p->n; p->i++) {
        if (p->starts) {
            p->m.w[0] = (uint64_t)p->i;
            ASYNC_AWAIT(t, r, chan_send_await(t, p->out, &p->m));
            ASYNC_AWAIT(t, r, chan_recv_await(t, p->in, &p->m));
            if (r != 0 || p->m.w[0] != (uint64_t)p->i + 1)
                ASYNC_RETURN(t, -1);
        } else {
            ASYNC_AWAIT(t, r, chan_recv_await(t, p->in, &p->m));
            p->m.w[0]++;
            ASYNC_AWAIT(t, r, chan_send_await(t, p->out, &p->m));
        }
    }
    p->t1 = clock_ns();
    ASYNC_END(t, p->n);
}

BENCH(async_pingpong_same, "insn/roundtrip", 250, BENCH_AT_MOST)
{
    enum { N = 10000 };
    struct chan *c1 = chan_create(sizeof(struct msg32), 1);
    struct chan *c2 = chan_create(sizeof(struct msg32), 1);
    struct async_attr attr = {.qos = QOS_DEFAULT, .cpu = bench_cpu()};
    struct apinger *a = ASYNC_NEW(struct apinger, apinger_poll, &attr);
    struct apinger *b = ASYNC_NEW(struct apinger, apinger_poll, &attr);
    *a = (struct apinger){.t = a->t, .in = c2, .out = c1, .n = N, .starts = true};
    *b = (struct apinger){.t = b->t, .in = c1, .out = c2, .n = N};
    async_start(&b->t);
    async_start(&a->t);
    while (!async_done(&a->t) || !async_done(&b->t))
        task_sleep_ns(100000);
    uint64_t ns = a->t1 - a->t0;
    int64_t va = 0, vb = 0;
    async_join(&a->t, &va);
    async_join(&b->t, &vb);
    chan_destroy(c1);
    chan_destroy(c2);
    if (va != N || vb != N)
        return bench_invalid("async_pingpong_same", "round trips lost");
    return ns / N;
}

/* A stackless task spawns a stackless child on its own core and awaits its
 * end (allocation, queueing, poll, completion, wake, join, free). */
struct child {
    struct async_task t;
};

static int child_poll(struct async_task *t)
{
    t->value = 1;
    return ASYNC_DONE;
}

struct spawner {
    struct async_task t;
    int n, i;
    int64_t sum, v;
    struct async_task *kid;
    uint64_t t0, t1;
};

static int spawner_poll(struct async_task *t)
{
    struct spawner *s = (struct spawner *)t;
    int r;
    ASYNC_BEGIN(t);
    s->t0 = clock_ns();
    for (s->i = 0; s->i < s->n; s->i++) {
        s->kid = async_new(child_poll, sizeof(struct child), NULL);
        async_start(s->kid);
        ASYNC_AWAIT(t, r, async_join_await(t, s->kid, &s->v));
        if (r == ASYNC_COMPLETED)
            s->sum += s->v;
    }
    s->t1 = clock_ns();
    ASYNC_END(t, s->sum);
}

BENCH(async_spawn_await, "insn/op", 120, BENCH_AT_MOST)
{
    enum { N = 20000 };
    struct async_attr attr = {.qos = QOS_DEFAULT, .cpu = bench_cpu()};
    struct spawner *s = ASYNC_NEW(struct spawner, spawner_poll, &attr);
    s->n = N;
    async_start(&s->t);
    while (!async_done(&s->t))
        task_sleep_ns(100000);
    uint64_t ns = s->t1 - s->t0;
    int64_t v = 0;
    async_join(&s->t, &v);
    if (v != N)
        return bench_invalid("async_spawn_await", "children lost");
    return ns / N;
}

/* Memory of a common stackless task: the header plus 32 bytes of state, as
 * allocated (heap size class included). */
struct common_task {
    struct async_task t;
    uint64_t state[4];
};

BENCH(stackless_task_bytes, "bytes", 256, BENCH_AT_MOST)
{
    struct async_task *t = async_new(child_poll, sizeof(struct common_task), NULL);
    if (!t)
        return bench_invalid("stackless_task_bytes", "no memory");
    uint64_t bytes = heap_usable_size(t);
    async_free_unstarted(t);
    return bytes;
}
