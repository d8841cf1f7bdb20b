/* Actor microbenchmark (issue 6 target): one request/reply round trip. */
#include <kernel/clock.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <kernel/waitq.h>
#include <sr/actor.h>
#include "bench.h"

struct req32 {
    uint64_t w[4];
};

static int add_one(struct actor *self, void *state, const void *msg, void *reply)
{
    (void)self;
    (void)state;
    const struct req32 *m = msg;
    struct req32 *r = reply;
    r->w[0] = m->w[0] + 1;
    return 0;
}

static int other_cpu(void)
{
    for (int c = platform.ncpus - 1; c >= 0; c--)
        if (smp_cpu_online(c) && c != cpu_id())
            return c;
    return cpu_id();
}

struct rr_run {
    struct actor *a;
    uint64_t ns;
};

enum { RR_N = 10000 };

/* The requester: RR_N requests of 32 bytes, each answered with 32 bytes. */
static int64_t rr_client(void *arg)
{
    struct rr_run *run = arg;
    struct req32 m = {{0}}, r = {{0}};
    actor_request(run->a, &m, &r, WAIT_FOREVER);   /* warm the caches */
    uint64_t t0 = clock_ns();
    int64_t ok = 0;
    for (int i = 0; i < RR_N; i++) {
        m.w[0] = (uint64_t)i;
        ok += actor_request(run->a, &m, &r, WAIT_FOREVER) == 0 && r.w[0] == (uint64_t)i + 1;
    }
    run->ns = clock_ns() - t0;
    return ok;
}

/* Requester and actor on one core (the round trip includes two wakes and
 * two switches, like chan_pingpong_same, plus the reply channel). */
BENCH(actor_request_reply, "insn/roundtrip", 300, BENCH_AT_MOST)
{
    uint32_t here = 1u << other_cpu();
    struct sup_spec ss = {.name = "bench-sup", .qos = QOS_DEFAULT, .max_children = 1};
    struct supervisor *s = sup_start(&ss);
    struct actor_spec as = {.name = "adder", .qos = QOS_DEFAULT, .msg_size = sizeof(struct req32),
                            .reply_size = sizeof(struct req32), .mailbox_cap = 1,
                            .handle = add_one, .affinity = here};
    struct rr_run run = {.a = s ? sup_start_child(s, &as) : NULL};
    if (!run.a)
        return bench_invalid("actor_request_reply", "cannot start the actor");
    struct task_attr ca = {.name = "requester", .qos = QOS_DEFAULT, .affinity = here};
    int64_t ok = 0;
    task_join(task_spawn(rr_client, &run, &ca), &ok);
    if (sup_stop(s) != 0 || ok != RR_N)
        return bench_invalid("actor_request_reply", "replies lost or wrong");
    return run.ns / RR_N;
}
