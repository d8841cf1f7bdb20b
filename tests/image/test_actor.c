/* Actors and supervision (sr/actor.h). */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <kernel/percpu.h>
#include <kernel/sem.h>
#include <kernel/waitq.h>
#include <sr/actor.h>
#include <sr/chan.h>
#include <sr_test.h>
#include "image_test.h"
#include "rt_test.h"

enum kind {
    K_DATA, K_TOTALS, K_ADD, K_GET, K_POISON, K_GATE, K_SLOW, K_ECHO, K_SEEN, K_SCRIBBLE,
    K_ZEROED, K_SCRIBBLE_POISON
};

struct amsg {
    uint32_t kind, sender, seq, x;
};

struct areply {
    uint64_t total;
    uint32_t order_errors, value, qos, pad;
};

/* One state for every test actor (a test uses the parts it needs). */
struct astate {
    uint32_t next[PLAT_MAX_CPUS];   /* next seq expected from each sender */
    uint64_t total;
    uint32_t order_errors;
    uint32_t n;
};

static _Atomic uint32_t inits;
static struct chan *gate;           /* K_GATE blocks on it until a test sends */

static int astate_init(void *state, void *arg)
{
    struct astate *st = state;
    st->n = (uint32_t)(uintptr_t)arg;
    atomic_fetch_add(&inits, 1);
    return 0;
}

/* K_SLOW's reply waits for a post here: the asker's 1 ms timeout has
 * ended its ask by then, however the host delays either side (a 5 ms
 * sleep here could end first on an asker's vCPU stalled that long). */
static struct semaphore slow_go = SEM_INIT(0);

static int ahandle(struct actor *self, void *state, const void *msg, void *reply)
{
    (void)self;
    struct astate *st = state;
    const struct amsg *m = msg;
    struct areply *r = reply;
    switch (m->kind) {
    case K_DATA:
        if (m->sender >= PLAT_MAX_CPUS || m->seq != st->next[m->sender])
            st->order_errors++;
        else
            st->next[m->sender]++;
        st->total++;
        return 0;
    case K_TOTALS:
        r->total = st->total;
        r->order_errors = st->order_errors;
        for (int i = 0; i < PLAT_MAX_CPUS; i++)
            r->value += st->next[i] == m->x;   /* senders that delivered all x */
        return 0;
    case K_ADD:
        st->n += m->x;
        return 0;
    case K_GET:
        r->value = st->n;
        r->qos = task_qos(task_current());
        return 7;
    case K_POISON:
        return (int)*(volatile int *)opaque_ptr(0);
    case K_GATE: {
        uint8_t b;
        chan_recv(gate, &b, WAIT_FOREVER);
        return 0;
    }
    case K_SLOW:   /* replies once the asker has timed out (slow_go), or after 5 s */
        sem_wait(&slow_go, 5000 * MS);
        return 1;
    case K_ECHO:
        r->value = m->x + 1;
        return (int)m->x;
    case K_SCRIBBLE:          /* every reply byte written; returns x */
    case K_SCRIBBLE_POISON:   /* the same, then a fault */
        memset(reply, 0xa5, sizeof(struct areply));
        if (m->kind == K_SCRIBBLE_POISON)
            return (int)*(volatile int *)opaque_ptr(0);
        return (int)m->x;
    case K_ZEROED: {          /* value: were the reply bytes all zero on entry? */
        const uint8_t *b = reply;
        uint32_t zero = 1;
        for (size_t i = 0; i < sizeof(struct areply); i++)
            zero &= b[i] == 0;
        r->value = zero;
        return 0;
    }
    case K_SEEN:   /* K_DATA handled from this sender so far; order errors */
        if (m->sender >= PLAT_MAX_CPUS)
            return -EINVAL;
        r->value = st->next[m->sender];
        r->order_errors = st->order_errors;
        return (int)m->seq;
    }
    return -EINVAL;
}

static struct actor_spec spec_of(const char *name, enum qos qos, uint32_t cap, uint32_t n0)
{
    return (struct actor_spec){.name = name, .qos = qos, .msg_size = sizeof(struct amsg),
                               .reply_size = sizeof(struct areply), .mailbox_cap = cap,
                               .state_size = sizeof(struct astate), .init = astate_init,
                               .handle = ahandle, .arg = (void *)(uintptr_t)n0};
}

static struct supervisor *sup_of(uint32_t max_restarts)
{
    struct sup_spec ss = {.name = "test-sup", .qos = QOS_DEFAULT, .max_children = 4,
                          .max_restarts = max_restarts, .window_ns = 60000 * MS};
    return sup_start(&ss);
}

static int send_kind(struct actor *a, uint32_t kind, uint32_t x)
{
    struct amsg m = {.kind = kind, .x = x};
    return actor_send(a, &m, WAIT_FOREVER);
}

static int ask(struct actor *a, uint32_t kind, uint32_t x, struct areply *r, uint64_t timeout)
{
    struct amsg m = {.kind = kind, .x = x};
    return actor_request(a, &m, r, timeout);
}

/* Hold the actor inside a K_GATE message until gate_open. */
static void gate_close(struct actor *a)
{
    gate = chan_create(1, 1);
    send_kind(a, K_GATE, 0);
    wait_for_receivers(gate, 1);
}

static void gate_open(void)
{
    uint8_t b = 1;
    chan_send(gate, &b, WAIT_FOREVER);
}

static void gate_free(void)
{
    chan_destroy(gate);
    gate = NULL;
}

/* --- order and exactly-once under senders on every core ------------------------ */

enum { PER_SENDER = 50 };
static struct actor *order_actor;

static int64_t order_sender(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < PER_SENDER; i++) {
        struct amsg m = {.kind = K_DATA, .sender = id, .seq = i};
        if (actor_send(order_actor, &m, WAIT_FOREVER) != 0)
            return -1;
    }
    return PER_SENDER;
}

TEST(actor, order_and_exactly_once_from_senders_on_every_core)
{
    struct supervisor *s = sup_of(0);
    struct actor_spec sp = spec_of("order", QOS_DEFAULT, 64, 0);
    order_actor = sup_start_child(s, &sp);
    EXPECT_TRUE(order_actor != NULL);
    struct task *t[PLAT_MAX_CPUS];
    int n = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c)) {
            t[n] = spawn_on(order_sender, (void *)(uintptr_t)n, c, QOS_DEFAULT);
            n++;
        }
    for (int i = 0; i < n; i++) {
        int64_t v = 0;
        EXPECT_EQ(task_join(t[i], &v), TASK_EXITED);
        EXPECT_EQ(v, PER_SENDER);
    }
    struct areply r = {0};
    EXPECT_EQ(ask(order_actor, K_TOTALS, PER_SENDER, &r, WAIT_FOREVER), 0);
    EXPECT_EQ(r.total, (uint64_t)n * PER_SENDER);
    EXPECT_EQ(r.order_errors, 0);
    EXPECT_EQ(r.value, (uint32_t)n);          /* every sender's last seq arrived */
    EXPECT_EQ(actor_handled(order_actor), (uint64_t)n * PER_SENDER + 1);
    EXPECT_EQ(sup_stop(s), 0);
}

/* Clients on every core (one on the actor's own core, where a request to
 * the sleeping actor is handed over and the core handed with it) each
 * alternate a send of their next K_DATA and a request (with and without a
 * timeout: handed over by reference or copied) asking how many of theirs
 * the actor has handled: always all of them, the request after its
 * sender's sends, whichever way each went (ring or hand-off). */
enum { SEEN_ROUNDS = 300 };
static struct actor *seen_actor;

static int64_t seen_client(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < SEEN_ROUNDS; i++) {
        struct amsg m = {.kind = K_DATA, .sender = id, .seq = i};
        if (actor_send(seen_actor, &m, WAIT_FOREVER) != 0)
            return -1;
        struct amsg q = {.kind = K_SEEN, .sender = id, .seq = i};
        struct areply r = {.value = 0xdead};
        int v = actor_request(seen_actor, &q, &r, (i & 1) ? 10000 * MS : WAIT_FOREVER);
        if (v != (int)i || r.value != i + 1 || r.order_errors != 0)
            return -2 - (int64_t)i;
    }
    return SEEN_ROUNDS;
}

TEST(actor, a_request_sees_every_send_before_it_whether_queued_or_handed_over)
{
    struct supervisor *s = sup_of(0);
    struct actor_spec sp = spec_of("seen", QOS_DEFAULT, 8, 0);
    sp.affinity = 1u << other_core(0);
    seen_actor = sup_start_child(s, &sp);
    EXPECT_TRUE(seen_actor != NULL);
    struct task *t[PLAT_MAX_CPUS];
    int n = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c)) {
            t[n] = spawn_on(seen_client, (void *)(uintptr_t)n, c, QOS_DEFAULT);
            n++;
        }
    for (int i = 0; i < n; i++) {
        int64_t v = 0;
        EXPECT_EQ(task_join(t[i], &v), TASK_EXITED);
        EXPECT_EQ(v, SEEN_ROUNDS);
    }
    EXPECT_EQ(actor_handled(seen_actor), (uint64_t)n * SEEN_ROUNDS * 2);
    EXPECT_EQ(actor_queued(seen_actor), 0);
    EXPECT_EQ(sup_stop(s), 0);
}

/* --- request/reply, QoS, timeouts ----------------------------------------------- */

TEST(actor, request_returns_the_handlers_value_and_reply_at_its_qos)
{
    struct supervisor *s = sup_of(0);
    struct actor_spec sp = spec_of("echo", QOS_UTILITY, 4, 40);
    struct actor *a = sup_start_child(s, &sp);
    struct areply r = {0};
    for (uint32_t i = 0; i < 100; i++) {
        EXPECT_EQ(ask(a, K_ECHO, i, &r, WAIT_FOREVER), (int)i);
        EXPECT_EQ(r.value, i + 1);
    }
    EXPECT_EQ(ask(a, K_GET, 0, &r, 10000 * MS), 7);   /* timed, but no verdict on time */
    EXPECT_EQ(r.value, 40);                    /* init's value */
    EXPECT_EQ(r.qos, QOS_UTILITY);
    EXPECT_EQ(ask(a, K_ECHO, 5, NULL, WAIT_FOREVER), 5);   /* reply not wanted */
    EXPECT_EQ(ask(a, 99, 0, &r, WAIT_FOREVER), -EINVAL);    /* handler's own error */
    EXPECT_EQ(actor_handled(a), 103);
    EXPECT_EQ(sup_stop(s), 0);
}

TEST(actor, full_mailbox_says_full_and_sends_and_requests_time_out)
{
    struct supervisor *s = sup_of(0);
    struct actor_spec sp = spec_of("full", QOS_DEFAULT, 2, 0);
    struct actor *a = sup_start_child(s, &sp);
    gate_close(a);
    struct amsg m = {.kind = K_ADD, .x = 1};
    EXPECT_EQ(actor_try_send(a, &m), 0);
    EXPECT_EQ(actor_try_send(a, &m), 0);
    EXPECT_EQ(actor_try_send(a, &m), -EAGAIN);
    EXPECT_EQ(actor_send(a, &m, 1 * MS), -ETIMEDOUT);
    struct areply r = {0};
    EXPECT_EQ(ask(a, K_GET, 0, &r, 1 * MS), -ETIMEDOUT);
    EXPECT_EQ(actor_queued(a), 2);
    gate_open();
    /* The two adds leave the mailbox, so the next request's send has room
     * and cannot be what times out, however slowly the actor gets going. */
    while (actor_queued(a) > 0)
        task_sleep_ns(50000);
    /* A request whose handler outlasts its timeout: the late reply is dropped. */
    EXPECT_EQ(ask(a, K_SLOW, 0, &r, 1 * MS), -ETIMEDOUT);
    sem_post(&slow_go);
    EXPECT_EQ(ask(a, K_GET, 0, &r, WAIT_FOREVER), 7);
    EXPECT_EQ(r.value, 2);                     /* the two adds that fit, once each */
    EXPECT_EQ(actor_handled(a), 5);            /* gate, 2 adds, slow, get */
    EXPECT_EQ(sup_stop(s), 0);
    gate_free();
}

enum { RR_PER_CORE = 400 };

struct rr_arg {
    struct actor *a;
    uint32_t id;
    uint64_t timeout_ns;
    uint32_t ok, timed_out, wrong;
};

static int64_t rr_requester(void *arg)
{
    struct rr_arg *p = arg;
    for (uint32_t i = 0; i < RR_PER_CORE; i++) {
        uint32_t x = p->id << 16 | i;
        struct areply r = {.value = 0xdead};
        int v = ask(p->a, K_ECHO, x, &r, p->timeout_ns);
        if (v == -ETIMEDOUT)
            p->timed_out++;
        else if (v == (int)x && r.value == x + 1)
            p->ok++;
        else
            p->wrong++;
    }
    return 0;
}

/* Requesters on every core share one actor; every other one gives up
 * after 20 us, so late replies land in boxes their requesters left, which
 * the next requests reuse. Each answered request gets its own reply, and
 * every request is handled exactly once (the mailbox has room for all:
 * sends never wait, so only the wait for the reply times out). */
TEST(actor, requests_from_every_core_get_their_own_replies_even_when_some_time_out)
{
    struct supervisor *s = sup_of(0);
    struct actor_spec sp = spec_of("rr", QOS_DEFAULT, PLAT_MAX_CPUS * RR_PER_CORE, 0);
    struct actor *a = sup_start_child(s, &sp);
    static struct rr_arg args[PLAT_MAX_CPUS];
    struct task *t[PLAT_MAX_CPUS];
    int n = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c)) {
            args[n] = (struct rr_arg){.a = a, .id = (uint32_t)n,
                                      .timeout_ns = (n & 1) ? 20000 : WAIT_FOREVER};
            t[n] = spawn_on(rr_requester, &args[n], c, QOS_DEFAULT);
            n++;
        }
    for (int i = 0; i < n; i++) {
        EXPECT_EQ(task_join(t[i], NULL), TASK_EXITED);
        EXPECT_EQ(args[i].wrong, 0);
        EXPECT_EQ(args[i].ok + args[i].timed_out, RR_PER_CORE);
        if (!(i & 1))
            EXPECT_EQ(args[i].ok, RR_PER_CORE);
    }
    struct areply r = {0};
    EXPECT_EQ(ask(a, K_ECHO, 1, &r, WAIT_FOREVER), 1);     /* after every late reply */
    EXPECT_EQ(actor_handled(a), (uint64_t)n * RR_PER_CORE + 1);
    EXPECT_EQ(sup_stop(s), 0);
}

/* A handler's reply bytes start zeroed whatever the one before did with
 * them: a plain send's, a refused value's, an answer's (untimed and timed)
 * and a faulted one's (the outbox is zeroed again after each and as each
 * incarnation starts). A negative value leaves the requester's buffer as
 * it was. */
TEST(actor, every_handler_finds_its_reply_bytes_zeroed)
{
    struct supervisor *s = sup_of(1);
    struct actor_spec sp = spec_of("zeroed", QOS_DEFAULT, 4, 0);
    struct actor *a = sup_start_child(s, &sp);
    struct areply r = {.value = 77};
    EXPECT_EQ(send_kind(a, K_SCRIBBLE, 0), 0);
    EXPECT_EQ(ask(a, K_ZEROED, 0, &r, WAIT_FOREVER), 0);
    EXPECT_EQ(r.value, 1u);
    r.value = 77;
    EXPECT_EQ(ask(a, K_SCRIBBLE, (uint32_t)-EINVAL, &r, WAIT_FOREVER), -EINVAL);
    EXPECT_EQ(r.value, 77u);                             /* no reply bytes */
    EXPECT_EQ(ask(a, K_ZEROED, 0, &r, 10000 * MS), 0);
    EXPECT_EQ(r.value, 1u);
    EXPECT_EQ(ask(a, K_SCRIBBLE, 0, &r, WAIT_FOREVER), 0);
    EXPECT_EQ(r.value, 0xa5a5a5a5u);                     /* the reply, copied */
    EXPECT_EQ(ask(a, K_ZEROED, 0, &r, WAIT_FOREVER), 0);
    EXPECT_EQ(r.value, 1u);
    EXPECT_EQ(ask(a, K_SCRIBBLE, 0, &r, 10000 * MS), 0);
    EXPECT_EQ(r.value, 0xa5a5a5a5u);
    EXPECT_EQ(ask(a, K_ZEROED, 0, &r, 10000 * MS), 0);
    EXPECT_EQ(r.value, 1u);
    r.value = 77;
    EXPECT_EQ(ask(a, K_SCRIBBLE_POISON, 0, &r, WAIT_FOREVER), -EFAULT);
    EXPECT_EQ(r.value, 77u);
    EXPECT_EQ(ask(a, K_ZEROED, 0, &r, WAIT_FOREVER), 0);   /* the restarted incarnation */
    EXPECT_EQ(r.value, 1u);
    EXPECT_EQ(actor_restarts(a), 1);
    EXPECT_EQ(sup_stop(s), 0);
}

/* --- stop ------------------------------------------------------------------------ */

static struct actor *stop_target;
static int64_t requester(void *arg)
{
    (void)arg;
    struct areply r = {0};
    return ask(stop_target, K_GET, 0, &r, WAIT_FOREVER);
}

static int64_t stopper(void *arg)
{
    return actor_stop(stop_target, (enum actor_stop_mode)(uintptr_t)arg);
}

/* Gate the actor, queue 3 adds and a request, stop it in mode; returns the
 * request's result; *probes: adds that got in before the stop closed the
 * mailbox. */
static int64_t stop_with_queue(struct actor *a, enum actor_stop_mode mode, uint64_t *probes)
{
    *probes = 0;
    stop_target = a;
    gate_close(a);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(send_kind(a, K_ADD, 1), 0);
    struct task *rq = spawn_on(requester, NULL, -1, QOS_DEFAULT);
    while (actor_queued(a) < 4)
        task_sleep_ns(50000);
    struct task *st = spawn_on(stopper, (void *)(uintptr_t)mode, -1, QOS_DEFAULT);
    struct amsg m = {.kind = K_ADD, .x = 1};
    int r;
    while ((r = actor_try_send(a, &m)) != -EPIPE) {   /* until the stop has closed it */
        *probes += r == 0;
        task_sleep_ns(50000);
    }
    EXPECT_EQ(actor_send(a, &m, WAIT_FOREVER), -EPIPE);
    EXPECT_EQ(ask(a, K_GET, 0, NULL, WAIT_FOREVER), -EPIPE);
    gate_open();
    int64_t v = -1, rv = 0;
    EXPECT_EQ(task_join(st, &v), TASK_EXITED);
    EXPECT_EQ(v, 0);
    EXPECT_EQ(task_join(rq, &rv), TASK_EXITED);
    gate_free();
    return rv;
}

TEST(actor, stop_drains_what_is_queued_or_discards_it)
{
    struct supervisor *s = sup_of(0);
    struct actor_spec sp = spec_of("drain", QOS_DEFAULT, 8, 0);
    struct actor *drained = sup_start_child(s, &sp);
    sp.name = "discard";
    struct actor *discarded = sup_start_child(s, &sp);
    uint64_t probes;
    EXPECT_EQ(stop_with_queue(drained, ACTOR_DRAIN, &probes), 7);          /* answered */
    EXPECT_EQ(actor_handled(drained), 5 + probes);           /* gate, 3 adds, get, probes */
    EXPECT_EQ(stop_with_queue(discarded, ACTOR_DISCARD, &probes), -EPIPE); /* refused */
    EXPECT_EQ(actor_handled(discarded), 1);                      /* the gate only */
    EXPECT_EQ(actor_stop(drained, ACTOR_DRAIN), 0);              /* twice: same */
    EXPECT_EQ(sup_stop(s), 0);
}

/* --- supervision ------------------------------------------------------------------- */

TEST(actor, poisoned_child_restarts_fresh_and_keeps_its_queued_messages)
{
    atomic_store(&inits, 0);
    struct supervisor *s = sup_of(5);
    struct actor_spec sp = spec_of("poisoned", QOS_DEFAULT, 8, 100);
    struct actor *a = sup_start_child(s, &sp);
    struct actor_spec hp = spec_of("healthy", QOS_DEFAULT, 8, 0);
    struct actor *h = sup_start_child(s, &hp);
    struct areply r = {0};
    EXPECT_EQ(send_kind(a, K_ADD, 3), 0);
    EXPECT_EQ(ask(a, K_GET, 0, &r, WAIT_FOREVER), 7);
    EXPECT_EQ(r.value, 103);
    /* A poisoned request fails with -EFAULT; the child restarts. */
    EXPECT_EQ(ask(a, K_POISON, 0, &r, WAIT_FOREVER), -EFAULT);
    EXPECT_EQ(ask(a, K_GET, 0, &r, WAIT_FOREVER), 7);
    EXPECT_EQ(r.value, 100);                   /* fresh state from init */
    /* Messages queued behind a poisoned send survive the restart. */
    EXPECT_EQ(send_kind(a, K_POISON, 0), 0);
    EXPECT_EQ(send_kind(a, K_ADD, 1), 0);
    EXPECT_EQ(send_kind(a, K_ADD, 1), 0);
    EXPECT_EQ(ask(a, K_GET, 0, &r, WAIT_FOREVER), 7);
    EXPECT_EQ(r.value, 102);
    EXPECT_EQ(actor_restarts(a), 2);
    EXPECT_EQ(actor_restarts(h), 0);
    EXPECT_EQ(sup_restarts(s), 2);
    EXPECT_EQ(atomic_load(&inits), 4);         /* 2 children + 2 restarts */
    EXPECT_EQ(ask(h, K_ECHO, 9, &r, WAIT_FOREVER), 9);   /* the sibling never noticed */
    EXPECT_EQ(actor_handled(h), 1);
    EXPECT_EQ(sup_stop(s), 0);
}

TEST(actor, temporary_child_is_not_restarted)
{
    struct supervisor *s = sup_of(5);
    struct actor_spec sp = spec_of("temp", QOS_DEFAULT, 8, 0);
    sp.restart = ACTOR_TEMPORARY;
    struct actor *a = sup_start_child(s, &sp);
    EXPECT_EQ(ask(a, K_POISON, 0, NULL, WAIT_FOREVER), -EFAULT);
    EXPECT_EQ(actor_stop(a, ACTOR_DRAIN), -EFAULT);   /* it had ended by a fault */
    EXPECT_EQ(ask(a, K_GET, 0, NULL, WAIT_FOREVER), -EPIPE);
    EXPECT_EQ(sup_restarts(s), 0);
    EXPECT_EQ(sup_stop(s), 0);
}

enum { LIMIT = 3 };

TEST(actor, restart_intensity_limit_gives_up_after_exactly_max_restarts)
{
    struct supervisor *s = sup_of(LIMIT);
    struct actor_spec sp = spec_of("crashy", QOS_DEFAULT, 8, 0);
    struct actor *a = sup_start_child(s, &sp);
    struct actor_spec hp = spec_of("bystander", QOS_DEFAULT, 8, 0);
    struct actor *h = sup_start_child(s, &hp);
    for (int i = 0; i <= LIMIT; i++)
        EXPECT_EQ(ask(a, K_POISON, 0, NULL, WAIT_FOREVER), -EFAULT);
    EXPECT_EQ(sup_wait(s), SUP_GAVE_UP);
    EXPECT_EQ(sup_restarts(s), LIMIT);
    EXPECT_EQ(actor_restarts(a), LIMIT);
    /* Every child is stopped: sends and requests are refused. */
    EXPECT_EQ(ask(a, K_GET, 0, NULL, WAIT_FOREVER), -EPIPE);
    EXPECT_EQ(ask(h, K_GET, 0, NULL, WAIT_FOREVER), -EPIPE);
    EXPECT_EQ(send_kind(h, K_ADD, 1), -EPIPE);
    EXPECT_EQ(actor_stop(h, ACTOR_DRAIN), 0);
    EXPECT_EQ(actor_stop(a, ACTOR_DRAIN), -EFAULT);
    struct actor_spec late = spec_of("late", QOS_DEFAULT, 8, 0);
    EXPECT_TRUE(sup_start_child(s, &late) == NULL);
    EXPECT_EQ(errno, EPIPE);
    EXPECT_EQ(sup_stop(s), SUP_GAVE_UP);
}

/* --- memory ------------------------------------------------------------------------ */

static void lifecycle_round(void)
{
    struct supervisor *s = sup_of(2);
    struct actor_spec sp = spec_of("cycle", QOS_DEFAULT, 8, 0);
    sp.affinity = 1u << cpu_id();    /* its sleeps use this core's (warm) timer heap */
    struct actor *a = sup_start_child(s, &sp);
    struct actor *b = sup_start_child(s, &sp);
    struct areply r = {0};
    for (uint32_t i = 0; i < 50; i++)
        EXPECT_EQ(ask(b, K_ECHO, i, &r, WAIT_FOREVER), (int)i);
    EXPECT_EQ(ask(b, K_SLOW, 0, &r, 1 * MS), -ETIMEDOUT);   /* reply channel freed late */
    sem_post(&slow_go);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(ask(a, K_POISON, 0, NULL, WAIT_FOREVER), -EFAULT);
    EXPECT_EQ(sup_wait(s), SUP_GAVE_UP);
    EXPECT_EQ(sup_stop(s), SUP_GAVE_UP);
    s = sup_of(0);
    a = sup_start_child(s, &sp);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(send_kind(a, K_ADD, 1), 0);
    EXPECT_EQ(actor_stop(a, ACTOR_DRAIN), 0);
    EXPECT_EQ(sup_stop(s), 0);
}

/* The first round warms what stays allocated by design (slab pages, the
 * task cache's stacks, page tables); the second gives back every page. */
TEST(actor, supervisors_restarts_and_requests_leak_nothing)
{
    lifecycle_round();
    uint64_t before = free_pages_settled();
    lifecycle_round();
    EXPECT_EQ(free_pages_settled(), before);
}

/* A handler's own -ETIMEDOUT is its value, not the requester's timeout:
 * the requester gets it without the reply bytes, and the reply box of a
 * timed request goes back to the actor as after any answer (which side
 * keeps a box follows from its state alone). Were it left to nobody, the
 * 4000 requests after the warm-up would hold 4000 boxes (about 160 KiB)
 * and take pages. */
TEST(actor, a_handler_value_of_minus_etimedout_is_an_answer_and_its_box_is_reused)
{
    struct supervisor *s = sup_of(0);
    struct actor_spec sp = spec_of("etimedout", QOS_DEFAULT, 4, 0);
    struct actor *a = sup_start_child(s, &sp);
    struct areply r = {.value = 12345};
    /* Timed requests take the actor's boxes (untimed ones are in the
     * requester's frame: the same answer, nothing to keep). */
    uint64_t timeout = 10000 * MS;
    for (int i = 0; i < 100; i++)
        EXPECT_EQ(ask(a, K_ECHO, (uint32_t)-ETIMEDOUT, &r, timeout), -ETIMEDOUT);
    uint64_t before = free_pages_settled();
    int answered = 0;
    for (int i = 0; i < 4000; i++)
        answered += ask(a, K_ECHO, (uint32_t)-ETIMEDOUT, &r, timeout) == -ETIMEDOUT;
    EXPECT_EQ(answered, 4000);
    EXPECT_EQ(r.value, 12345u);                            /* no reply bytes for a negative value */
    EXPECT_EQ(free_pages_settled(), before);
    EXPECT_EQ(ask(a, K_ECHO, (uint32_t)-ETIMEDOUT, &r, WAIT_FOREVER), -ETIMEDOUT);
    EXPECT_EQ(r.value, 12345u);
    EXPECT_EQ(ask(a, K_ECHO, 3, &r, WAIT_FOREVER), 3);
    EXPECT_EQ(r.value, 4u);
    EXPECT_EQ(ask(a, K_ECHO, 5, &r, timeout), 5);
    EXPECT_EQ(r.value, 6u);
    EXPECT_EQ(actor_handled(a), 4103u);
    EXPECT_EQ(sup_stop(s), 0);
}
