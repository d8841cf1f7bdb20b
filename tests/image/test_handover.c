/*
 * Stress tests for the lock hand-overs and stack-resident wait records
 * (review14, docs/performance.md): timeouts racing wakes on the semaphore
 * and condvar ways that release the lock inside the wake-up and skip the
 * timer test of an untimed wait; actor requests whose reply box lives on
 * the requester's stack, racing timeouts, handler faults, a discarding
 * stop and cancellation; channel waits that return without taking the lock
 * again. Each counts exactly (every unit, message and request once) and
 * probes the stack the wait used after it returned: a waker that touched a
 * stack record late would change the probe's bytes.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <kernel/clock.h>
#include <kernel/condvar.h>
#include <kernel/mutex.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <kernel/waitq.h>
#include <sr/actor.h>
#include <sr/chan.h>
#include <sr_test.h>
#include "image_test.h"
#include "rt_test.h"

#define US 1000ull

/* Fill the stack just below the caller's frame (where the wait that just
 * returned had its frames and records), let a few microseconds pass, and
 * count the bytes that changed meanwhile: 0 unless something still wrote
 * to a record of that wait after it returned. */
static __attribute__((noinline)) uint32_t stack_probe(void)
{
    volatile uint8_t area[1024];
    for (uint32_t i = 0; i < sizeof(area); i++)
        area[i] = (uint8_t)(0x5a ^ i);
    uint64_t until = clock_ns() + 3 * US;
    while (clock_ns() < until)
        arch_cpu_relax();
    uint32_t changed = 0;
    for (uint32_t i = 0; i < sizeof(area); i++)
        changed += area[i] != (uint8_t)(0x5a ^ i);
    return changed;
}

/* Every wait's end leaves the task's timer unqueued (sched_block_waitq and
 * the untimed hand-off skip the look on that ground): 1 if it is queued. */
static uint32_t timer_left(void)
{
    return timer_queued(&task_current()->timer);
}

/* A small xorshift: the spacing of posts and sends, per task. */
static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void spin_ns(uint64_t ns)
{
    uint64_t until = clock_ns() + ns;
    while (clock_ns() < until)
        arch_cpu_relax();
}

static int online_cores(int *cpus)
{
    int n = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c))
            cpus[n++] = c;
    return n;
}

/* --- semaphore: posts racing timeouts, timed and untimed waits mixed ------------ */

enum { SEM_PAIRS = 4, SEM_POSTS = 300 };

struct sem_pair {
    struct semaphore s;
    uint32_t got, timeouts, wrong, corrupt, timers;
};

/* Every third wait untimed (sched_block_waitq, no timer test at its end),
 * the others 5..20 us: a timed wait ended by a post while its timer fires,
 * then an untimed one, then a timed one arming the same timer again. */
static int64_t sem_pair_waiter(void *arg)
{
    struct sem_pair *p = arg;
    for (uint32_t i = 0; p->got < SEM_POSTS; i++) {
        uint64_t to = i % 3 == 2 ? WAIT_FOREVER : (5 + 5 * (i % 4)) * US;
        int r = sem_wait(&p->s, to);
        if (r == 0)
            p->got++;
        else if (r == WAIT_TIMEOUT && to != WAIT_FOREVER)
            p->timeouts++;
        else
            p->wrong++;
        p->timers += timer_left();
        p->corrupt += stack_probe();
    }
    return 0;
}

static int64_t sem_pair_poster(void *arg)
{
    struct sem_pair *p = arg;
    uint32_t seed = (uint32_t)(uintptr_t)arg | 1;
    for (uint32_t i = 0; i < SEM_POSTS; i++) {
        spin_ns((next_rand(&seed) % 50) * US);
        sem_post(&p->s);
    }
    return 0;
}

TEST(handover, sem_posts_racing_timeouts_each_counted_once_timed_and_untimed_waits_mixed)
{
    static struct sem_pair pairs[SEM_PAIRS];
    int cpus[PLAT_MAX_CPUS];
    int n = online_cores(cpus);
    struct task *w[SEM_PAIRS], *p[SEM_PAIRS];
    uint32_t timeouts = 0;
    for (int i = 0; i < SEM_PAIRS; i++) {
        pairs[i] = (struct sem_pair){0};
        sem_init(&pairs[i].s, 0);
        w[i] = spawn_on(sem_pair_waiter, &pairs[i], cpus[(2 * i) % n], QOS_DEFAULT);
        p[i] = spawn_on(sem_pair_poster, &pairs[i], cpus[(2 * i + 1) % n], QOS_DEFAULT);
    }
    for (int i = 0; i < SEM_PAIRS; i++) {
        EXPECT_EQ(task_join(w[i], NULL), TASK_EXITED);
        EXPECT_EQ(task_join(p[i], NULL), TASK_EXITED);
        EXPECT_EQ(pairs[i].got, SEM_POSTS);
        EXPECT_EQ(pairs[i].wrong, 0);
        EXPECT_EQ(pairs[i].corrupt, 0);
        EXPECT_EQ(pairs[i].timers, 0);
        EXPECT_TRUE(!sem_trywait(&pairs[i].s));   /* no unit counted twice or left */
        timeouts += pairs[i].timeouts;
    }
    printf("  handover: %u timed sem waits timed out\n", (unsigned)timeouts);
}

/* --- a semaphore in the waiter's frame: its timeout never outlives it -------- */

enum { FRAME_PAIRS = 4, FRAME_ROUNDS = 200 };

struct frame_pair {
    struct semaphore *_Atomic posted_to;   /* the waiter's semaphore of this round */
    struct semaphore ready;                /* posted_to is set */
    struct semaphore done;                 /* the poster is done with it */
    uint32_t got, late, timeouts, wrong, corrupt, timers;
    uint32_t poster_wrong;                 /* the poster's own count */
};

/* One round in its own frame: a semaphore on this stack, a 5..20 us wait
 * on it raced by the poster's post; its frame is the next round's. */
static __attribute__((noinline)) void frame_round(struct frame_pair *p, uint32_t i)
{
    struct semaphore s;
    sem_init(&s, 0);
    atomic_store(&p->posted_to, &s);
    sem_post(&p->ready);
    int r = sem_wait(&s, (5 + 5 * (i % 4)) * US);
    if (sem_wait(&p->done, WAIT_FOREVER) != 0)   /* the poster has let go of s */
        p->wrong++;
    if (r == 0)
        p->got++;
    else if (r == WAIT_TIMEOUT && sem_trywait(&s))
        p->late++, p->timeouts++;
    else
        p->wrong++;
    if (sem_trywait(&s))
        p->wrong++;   /* one post per round, taken once */
    p->timers += timer_left();
}

static int64_t frame_waiter(void *arg)
{
    struct frame_pair *p = arg;
    for (uint32_t i = 0; i < FRAME_ROUNDS; i++) {
        frame_round(p, i);
        p->corrupt += stack_probe();
    }
    return 0;
}

static int64_t frame_poster(void *arg)
{
    struct frame_pair *p = arg;
    uint32_t seed = (uint32_t)(uintptr_t)arg | 1;
    for (uint32_t i = 0; i < FRAME_ROUNDS; i++) {
        if (sem_wait(&p->ready, WAIT_FOREVER) != 0)
            p->poster_wrong++;
        struct semaphore *s = atomic_exchange(&p->posted_to, NULL);
        spin_ns((next_rand(&seed) % 30) * US);
        sem_post(s);
        sem_post(&p->done);
    }
    return 0;
}

/* Timed waits on a semaphore in the waiter's own frame, posts racing their
 * timeouts: a timeout decides under the waiter's run-queue lock while the
 * waiter is still blocked (block_timeout), so it never touches the
 * semaphore once the waiter has left the frame. Each round's post is taken
 * once, by the wait or after its timeout. */
TEST(handover, a_timeout_racing_a_post_never_touches_a_semaphore_in_a_frame_left)
{
    static struct frame_pair pairs[FRAME_PAIRS];
    int cpus[PLAT_MAX_CPUS];
    int n = online_cores(cpus);
    struct task *w[FRAME_PAIRS], *p[FRAME_PAIRS];
    uint32_t timeouts = 0;
    for (int i = 0; i < FRAME_PAIRS; i++) {
        pairs[i] = (struct frame_pair){0};
        sem_init(&pairs[i].ready, 0);
        sem_init(&pairs[i].done, 0);
        w[i] = spawn_on(frame_waiter, &pairs[i], cpus[(2 * i + 1) % n], QOS_DEFAULT);
        p[i] = spawn_on(frame_poster, &pairs[i], cpus[(2 * i) % n], QOS_DEFAULT);
    }
    for (int i = 0; i < FRAME_PAIRS; i++) {
        EXPECT_EQ(task_join(w[i], NULL), TASK_EXITED);
        EXPECT_EQ(task_join(p[i], NULL), TASK_EXITED);
        EXPECT_EQ(pairs[i].got + pairs[i].late, FRAME_ROUNDS);
        EXPECT_EQ(pairs[i].wrong, 0);
        EXPECT_EQ(pairs[i].poster_wrong, 0);
        EXPECT_EQ(pairs[i].corrupt, 0);
        EXPECT_EQ(pairs[i].timers, 0);
        timeouts += pairs[i].timeouts;
    }
    printf("  handover: %u waits on frame semaphores timed out\n", (unsigned)timeouts);
}

/* --- the same against task_cancel: an interruptible wait in a frame --------------- */

enum { CANCEL_DRIVERS = 4, CANCEL_ROUNDS = 50 };

struct cancel_round {
    struct semaphore *_Atomic posted_to;   /* the waiter's semaphore */
    struct semaphore ready, done;
};

/* 1: the post ended the wait; 2: the cancel did, and the post came after
 * it (taken from the semaphore); else a wrong outcome. */
static __attribute__((noinline)) int64_t cancel_round_wait(struct cancel_round *c)
{
    struct semaphore s;
    sem_init(&s, 0);
    atomic_store(&c->posted_to, &s);
    sem_post(&c->ready);
    int r = sem_wait_interruptible(&s, WAIT_FOREVER);
    if (sem_wait(&c->done, WAIT_FOREVER) != 0)   /* the driver has let go of s */
        return -1;
    int64_t v = r == 0 ? 1 : r == WAIT_CANCELLED && sem_trywait(&s) ? 2 : -2;
    if (sem_trywait(&s))
        v = -3;   /* one post, taken once */
    return v;
}

static int64_t cancel_round_waiter(void *arg)
{
    int64_t v = cancel_round_wait(arg);
    return stack_probe() ? -4 : v;
}

struct cancel_driver {
    int waiter_cpu;
    uint32_t posted, cancelled, wrong;
};

/* Rounds of: a waiter on another core, a post and a cancel at nearby
 * moments in either order. */
static int64_t cancel_driver(void *arg)
{
    struct cancel_driver *d = arg;
    uint32_t seed = (uint32_t)(uintptr_t)arg | 1;
    for (uint32_t i = 0; i < CANCEL_ROUNDS; i++) {
        struct cancel_round c;
        c.posted_to = NULL;
        sem_init(&c.ready, 0);
        sem_init(&c.done, 0);
        struct task *w = spawn_on(cancel_round_waiter, &c, d->waiter_cpu, QOS_DEFAULT);
        if (!w || sem_wait(&c.ready, WAIT_FOREVER) != 0) {
            d->wrong++;
            return 0;
        }
        struct semaphore *s = atomic_load(&c.posted_to);
        spin_ns((next_rand(&seed) % 10) * US);
        if (i & 1) {
            sem_post(s);
            spin_ns((next_rand(&seed) % 3) * US);
            task_cancel(w);
        } else {
            task_cancel(w);
            spin_ns((next_rand(&seed) % 3) * US);
            sem_post(s);
        }
        sem_post(&c.done);
        int64_t v = 0;
        if (task_join(w, &v) != TASK_EXITED)
            d->wrong++;
        else if (v == 1)
            d->posted++;
        else if (v == 2)
            d->cancelled++;
        else
            d->wrong++;
    }
    return 0;
}

/* task_cancel racing a post to an interruptible wait on a semaphore in the
 * waiter's frame: the cancel decides under the waiter's run-queue lock
 * while it is blocked (sched_cancel_waitq_wait), so it never touches the
 * semaphore once the waiter has left; each post is taken once. */
TEST(handover, a_cancel_racing_a_post_never_touches_a_semaphore_in_a_frame_left)
{
    static struct cancel_driver drivers[CANCEL_DRIVERS];
    int cpus[PLAT_MAX_CPUS];
    int n = online_cores(cpus);
    struct task *t[CANCEL_DRIVERS];
    for (int i = 0; i < CANCEL_DRIVERS; i++) {
        drivers[i] = (struct cancel_driver){.waiter_cpu = cpus[(2 * i + 1) % n]};
        t[i] = spawn_on(cancel_driver, &drivers[i], cpus[(2 * i) % n], QOS_DEFAULT);
    }
    uint32_t cancelled = 0;
    for (int i = 0; i < CANCEL_DRIVERS; i++) {
        EXPECT_EQ(task_join(t[i], NULL), TASK_EXITED);
        EXPECT_EQ(drivers[i].wrong, 0);
        EXPECT_EQ(drivers[i].posted + drivers[i].cancelled, CANCEL_ROUNDS);
        cancelled += drivers[i].cancelled;
    }
    printf("  handover: %u of %u interruptible waits ended by the cancel\n", (unsigned)cancelled,
           (unsigned)(CANCEL_DRIVERS * CANCEL_ROUNDS));
}

/* --- condvar: signals racing timeouts -------------------------------------------- */

enum { CV_PAIRS = 3, CV_TOKENS = 200 };

struct cv_pair {
    struct mutex m;
    struct condvar cv;
    uint32_t tokens;                /* under m */
    uint32_t taken, wrong, corrupt, timers, timeouts;
};

static int64_t cv_waiter(void *arg)
{
    struct cv_pair *p = arg;
    for (uint32_t i = 0; p->taken < CV_TOKENS; i++) {
        mutex_lock(&p->m);
        while (p->tokens == 0) {
            uint64_t to = i % 3 == 2 ? WAIT_FOREVER : (5 + 5 * (i % 4)) * US;
            int r = condvar_wait(&p->cv, &p->m, to);
            if (r == WAIT_TIMEOUT && to != WAIT_FOREVER)
                p->timeouts++;
            else if (r != 0)
                p->wrong++;
            p->timers += timer_left();
            i++;
        }
        p->tokens--;
        p->taken++;
        mutex_unlock(&p->m);
        p->corrupt += stack_probe();
    }
    return 0;
}

static int64_t cv_poster(void *arg)
{
    struct cv_pair *p = arg;
    uint32_t seed = (uint32_t)(uintptr_t)arg | 1;
    for (uint32_t i = 0; i < CV_TOKENS; i++) {
        spin_ns((next_rand(&seed) % 50) * US);
        mutex_lock(&p->m);
        p->tokens++;
        if (i & 1) {
            condvar_signal(&p->cv);   /* under the mutex, or after it: both ways */
            mutex_unlock(&p->m);
        } else {
            mutex_unlock(&p->m);
            condvar_signal(&p->cv);
        }
    }
    return 0;
}

TEST(handover, condvar_signals_racing_timeouts_lose_no_token)
{
    static struct cv_pair pairs[CV_PAIRS];
    int cpus[PLAT_MAX_CPUS];
    int n = online_cores(cpus);
    struct task *w[CV_PAIRS], *p[CV_PAIRS];
    uint32_t timeouts = 0;
    for (int i = 0; i < CV_PAIRS; i++) {
        pairs[i] = (struct cv_pair){0};
        mutex_init(&pairs[i].m);
        condvar_init(&pairs[i].cv);
        w[i] = spawn_on(cv_waiter, &pairs[i], cpus[(2 * i + 1) % n], QOS_DEFAULT);
        p[i] = spawn_on(cv_poster, &pairs[i], cpus[(2 * i) % n], QOS_DEFAULT);
    }
    for (int i = 0; i < CV_PAIRS; i++) {
        EXPECT_EQ(task_join(w[i], NULL), TASK_EXITED);
        EXPECT_EQ(task_join(p[i], NULL), TASK_EXITED);
        EXPECT_EQ(pairs[i].taken, CV_TOKENS);
        EXPECT_EQ(pairs[i].tokens, 0);
        EXPECT_EQ(pairs[i].wrong, 0);
        EXPECT_EQ(pairs[i].corrupt, 0);
        EXPECT_EQ(pairs[i].timers, 0);
        timeouts += pairs[i].timeouts;
    }
    printf("  handover: %u timed condvar waits timed out\n", (unsigned)timeouts);
}

/* --- actors: stack boxes against timeouts, faults, stop and cancel ---------------- */

enum { HK_ECHO, HK_POISON, HK_GATE, HK_SPIN };

struct hmsg {
    uint32_t kind, x;
};

struct hreply {
    uint32_t value, pad[7];
};

static struct chan *hgate;   /* HK_GATE waits for a byte on it: 0 answer, 1 fault */

static int hhandle(struct actor *self, void *state, const void *msg, void *reply)
{
    (void)self;
    (void)state;
    const struct hmsg *m = msg;
    struct hreply *r = reply;
    switch (m->kind) {
    case HK_ECHO:
        r->value = m->x + 1;
        return (int)m->x;
    case HK_SPIN:
        spin_ns(2 * US);
        r->value = m->x + 1;
        return (int)m->x;
    case HK_POISON:
        return (int)*(volatile int *)opaque_ptr(0);
    case HK_GATE: {
        uint8_t b = 0;
        chan_recv(hgate, &b, WAIT_FOREVER);
        if (b)
            return (int)*(volatile int *)opaque_ptr(0);
        r->value = m->x + 1;
        return (int)m->x;
    }
    }
    return -EINVAL;
}

static struct actor_spec hspec(uint32_t cap)
{
    return (struct actor_spec){.name = "handover", .qos = QOS_DEFAULT,
                               .msg_size = sizeof(struct hmsg),
                               .reply_size = sizeof(struct hreply), .mailbox_cap = cap,
                               .handle = hhandle};
}

static struct supervisor *hsup(uint32_t max_restarts)
{
    struct sup_spec ss = {.name = "handover-sup", .qos = QOS_DEFAULT, .max_children = 2,
                          .max_restarts = max_restarts, .window_ns = 600000 * MS};
    return sup_start(&ss);
}

static int hask(struct actor *a, uint32_t kind, uint32_t x, struct hreply *r, uint64_t timeout)
{
    struct hmsg m = {.kind = kind, .x = x};
    return actor_request(a, &m, r, timeout);
}

enum { REQ_PER_CORE = 80, POISON_EVERY = 20 };

struct hreq_arg {
    struct actor *a;
    uint32_t id;
    bool poisons;
    uint32_t answered, timed_out, faulted, wrong, corrupt, timers;
};

/* Untimed requests (the box on this stack, the message read in place when
 * handed over) and 10 us ones (the actor's box), every POISON_EVERY-th of
 * a poisoning requester a fault in the handler. */
static int64_t hrequester(void *arg)
{
    struct hreq_arg *p = arg;
    for (uint32_t j = 0; j < REQ_PER_CORE; j++) {
        uint32_t x = p->id << 16 | j;
        struct hreply r = {.value = 0xdead};
        bool poison = p->poisons && j % POISON_EVERY == POISON_EVERY - 1;
        uint64_t to = !poison && j % 4 == 3 ? 10 * US : WAIT_FOREVER;
        int v = hask(p->a, poison ? HK_POISON : (j & 1) ? HK_SPIN : HK_ECHO, x, &r, to);
        if (poison && v == -EFAULT)
            p->faulted++;
        else if (!poison && v == (int)x && r.value == x + 1)
            p->answered++;
        else if (!poison && v == -ETIMEDOUT && to != WAIT_FOREVER)
            p->timed_out++;
        else
            p->wrong++;
        p->timers += timer_left();
        p->corrupt += stack_probe();
    }
    return 0;
}

/* Requesters on every core, untimed and timed, share one actor that one of
 * them makes fault now and then: every echo is answered with its own reply
 * or (timed) times out, every poisoned request gets -EFAULT, the actor
 * restarts once per fault, and nothing writes to a requester's stack after
 * its request returned. */
TEST(handover, actor_stack_boxes_survive_timeouts_and_handler_faults_from_every_core)
{
    struct supervisor *s = hsup(16);
    struct actor_spec sp = hspec(PLAT_MAX_CPUS * REQ_PER_CORE);
    struct actor *a = sup_start_child(s, &sp);
    static struct hreq_arg args[PLAT_MAX_CPUS];
    struct task *t[PLAT_MAX_CPUS];
    int cpus[PLAT_MAX_CPUS];
    int n = online_cores(cpus);
    for (int i = 0; i < n; i++) {
        args[i] = (struct hreq_arg){.a = a, .id = (uint32_t)i, .poisons = i == 1 % n};
        t[i] = spawn_on(hrequester, &args[i], cpus[i], QOS_DEFAULT);
    }
    uint32_t answered = 0, timed_out = 0;
    for (int i = 0; i < n; i++) {
        EXPECT_EQ(task_join(t[i], NULL), TASK_EXITED);
        EXPECT_EQ(args[i].wrong, 0);
        EXPECT_EQ(args[i].corrupt, 0);
        EXPECT_EQ(args[i].timers, 0);
        EXPECT_EQ(args[i].faulted, args[i].poisons ? REQ_PER_CORE / POISON_EVERY : 0);
        answered += args[i].answered;
        timed_out += args[i].timed_out;
    }
    EXPECT_EQ(answered + timed_out + REQ_PER_CORE / POISON_EVERY, (uint32_t)n * REQ_PER_CORE);
    printf("  handover: %u timed requests timed out, %u answered\n", (unsigned)timed_out,
           (unsigned)answered);
    struct hreply r = {0};
    EXPECT_EQ(hask(a, HK_ECHO, 5, &r, WAIT_FOREVER), 5);   /* after every late one */
    EXPECT_EQ(r.value, 6);
    /* Counted only now: the supervisor refuses a poisoned request before it
     * counts the restart, so the last requester may be joined before the
     * count; the echo above is answered by the incarnation launched after it. */
    EXPECT_EQ(actor_restarts(a), REQ_PER_CORE / POISON_EVERY);
    /* Every request but the poisoned ones was handled once, the timed-out
     * ones too (delivered before their requesters left). */
    EXPECT_EQ(actor_handled(a), (uint64_t)answered + timed_out + 1);
    EXPECT_EQ(sup_stop(s), 0);
}

struct stop_arg {
    struct actor *a;
    uint32_t id;
    uint32_t answered, refused, wrong, corrupt;
};

/* Untimed requests until the actor refuses them (-EPIPE). */
static int64_t until_refused(void *arg)
{
    struct stop_arg *p = arg;
    for (uint32_t j = 0;; j++) {
        uint32_t x = p->id << 16 | (j & 0xffff);
        struct hreply r = {.value = 0xdead};
        int v = hask(p->a, (j & 1) ? HK_SPIN : HK_ECHO, x, &r, WAIT_FOREVER);
        p->corrupt += stack_probe();
        if (v == -EPIPE) {
            p->refused++;
            return 0;
        }
        if (v == (int)x && r.value == x + 1)
            p->answered++;
        else
            p->wrong++;
    }
}

/* A discarding stop races requests handed over to the sleeping actor and
 * queued ones: each is answered or refused, none is lost or answered
 * twice, and every requester sees the refusal and returns. */
TEST(handover, discarding_stop_racing_handed_over_requests_answers_or_refuses_each_once)
{
    for (int round = 0; round < 3; round++) {
        struct supervisor *s = hsup(0);
        struct actor_spec sp = hspec(4);
        struct actor *a = sup_start_child(s, &sp);
        static struct stop_arg args[PLAT_MAX_CPUS];
        struct task *t[PLAT_MAX_CPUS];
        int cpus[PLAT_MAX_CPUS];
        int n = online_cores(cpus);
        for (int i = 0; i < n; i++) {
            args[i] = (struct stop_arg){.a = a, .id = (uint32_t)i};
            t[i] = spawn_on(until_refused, &args[i], cpus[i], QOS_DEFAULT);
        }
        task_sleep_ns((200 + 300 * round) * US);
        EXPECT_EQ(actor_stop(a, ACTOR_DISCARD), 0);
        uint32_t answered = 0;
        for (int i = 0; i < n; i++) {
            EXPECT_EQ(task_join(t[i], NULL), TASK_EXITED);
            EXPECT_EQ(args[i].refused, 1);
            EXPECT_EQ(args[i].wrong, 0);
            EXPECT_EQ(args[i].corrupt, 0);
            answered += args[i].answered;
        }
        EXPECT_EQ(actor_handled(a), answered);
        EXPECT_EQ(sup_stop(s), 0);
    }
}

struct gated_arg {
    struct actor *a;
    uint64_t timeout;
    _Atomic int done;
    int result;
    uint32_t value;
};

static int64_t gated_requester(void *arg)
{
    struct gated_arg *p = arg;
    struct hreply r = {.value = 0xdead};
    p->result = hask(p->a, HK_GATE, 41, &r, p->timeout);
    p->value = r.value;
    atomic_store(&p->done, 1);
    return 0;
}

/* An untimed request handed over to the sleeping actor (its box and
 * message on the requester's stack) is not a cancellation point: a cancel
 * leaves it waiting, and it returns only with the answer, or with -EFAULT
 * once the supervisor has failed it after the handler faulted. A timed
 * request that left before the fault leaves its box to the supervisor,
 * which keeps it for the next request. */
TEST(handover, cancel_never_ends_an_untimed_request_and_a_fault_fails_it_only_after)
{
    hgate = chan_create(1, 1);
    struct supervisor *s = hsup(4);
    struct actor_spec sp = hspec(4);
    struct actor *a = sup_start_child(s, &sp);
    struct hreply r = {0};
    EXPECT_EQ(hask(a, HK_ECHO, 1, &r, WAIT_FOREVER), 1);   /* it is running */
    for (uint8_t fault = 0; fault <= 1; fault++) {
        static struct gated_arg g;
        g = (struct gated_arg){.a = a};
        struct task *t = spawn_on(gated_requester, &g, other_core(fault), QOS_DEFAULT);
        wait_for_receivers(hgate, 1);   /* the handler reads the requester's message */
        task_cancel(t);
        task_sleep_ns(1 * MS);
        EXPECT_EQ(atomic_load(&g.done), 0);
        chan_send(hgate, &fault, WAIT_FOREVER);
        EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
        EXPECT_EQ(g.result, fault ? -EFAULT : 41);
        EXPECT_EQ(g.value, fault ? 0xdead : 42u);
    }
    /* A timed request leaves, then its handler faults. */
    static struct gated_arg g;
    g = (struct gated_arg){.a = a, .timeout = 500 * US};
    struct task *t = spawn_on(gated_requester, &g, other_core(2), QOS_DEFAULT);
    EXPECT_EQ(task_join(t, NULL), TASK_EXITED);
    EXPECT_EQ(g.result, -ETIMEDOUT);
    EXPECT_EQ(g.value, 0xdead);
    uint8_t fault = 1;
    chan_send(hgate, &fault, WAIT_FOREVER);
    EXPECT_EQ(hask(a, HK_ECHO, 7, &r, WAIT_FOREVER), 7);
    EXPECT_EQ(r.value, 8);
    EXPECT_EQ(hask(a, HK_ECHO, 9, &r, 100 * MS), 9);   /* a box again (the spare) */
    EXPECT_EQ(r.value, 10);
    EXPECT_EQ(actor_restarts(a), 2);
    EXPECT_EQ(sup_stop(s), 0);
    chan_destroy(hgate);
    hgate = NULL;
}

/* --- channels: untimed waits that do not take the lock again ---------------------- */

enum { CH_SENDERS = 4, CH_RECEIVERS = 4, CH_PER_SENDER = 300 };

static struct chan *hchan;
static _Atomic uint8_t seen[CH_SENDERS][CH_PER_SENDER];

struct ch_arg {
    uint32_t id;
    uint32_t got, timeouts, wrong, corrupt, timers;
};

static int64_t ch_sender(void *arg)
{
    struct ch_arg *p = arg;
    uint32_t seed = p->id * 2654435761u | 1;
    for (uint32_t j = 0; j < CH_PER_SENDER; j++) {
        uint32_t v = p->id << 16 | j;
        if (next_rand(&seed) % 4 == 0)
            spin_ns((next_rand(&seed) % 10) * US);
        if (chan_send(hchan, &v, WAIT_FOREVER) != 0)
            p->wrong++;
        p->corrupt += stack_probe();
    }
    return 0;
}

/* Untimed receives (the inline park that returns once the lock reads
 * free), every fourth a 5 us one, until the end marker. */
static int64_t ch_receiver(void *arg)
{
    struct ch_arg *p = arg;
    for (uint32_t i = 0;; i++) {
        uint32_t v = 0;
        uint64_t to = i % 4 == 3 ? 5 * US : WAIT_FOREVER;
        int r = chan_recv(hchan, &v, to);
        p->timers += timer_left();
        p->corrupt += stack_probe();
        if (r == -ETIMEDOUT && to != WAIT_FOREVER) {
            p->timeouts++;
            continue;
        }
        if (r != 0) {
            p->wrong++;
            return 0;
        }
        if (v == UINT32_MAX)
            return 0;
        uint32_t s = v >> 16, j = v & 0xffff;
        if (s >= CH_SENDERS || j >= CH_PER_SENDER || atomic_fetch_add(&seen[s][j], 1) != 0)
            p->wrong++;
        p->got++;
    }
}

TEST(handover, channel_waits_racing_timeouts_take_every_message_once)
{
    hchan = chan_create(sizeof(uint32_t), 1);
    for (int s = 0; s < CH_SENDERS; s++)
        for (int j = 0; j < CH_PER_SENDER; j++)
            atomic_store(&seen[s][j], 0);
    static struct ch_arg sa[CH_SENDERS], ra[CH_RECEIVERS];
    struct task *st[CH_SENDERS], *rt[CH_RECEIVERS];
    int cpus[PLAT_MAX_CPUS];
    int n = online_cores(cpus);
    for (int i = 0; i < CH_RECEIVERS; i++) {
        ra[i] = (struct ch_arg){.id = (uint32_t)i};
        rt[i] = spawn_on(ch_receiver, &ra[i], cpus[(2 * i) % n], QOS_DEFAULT);
    }
    for (int i = 0; i < CH_SENDERS; i++) {
        sa[i] = (struct ch_arg){.id = (uint32_t)i};
        st[i] = spawn_on(ch_sender, &sa[i], cpus[(2 * i + 1) % n], QOS_DEFAULT);
    }
    /* Watched joins (senders, then receivers): a lost wake-up fails the
     * test by name; so does an end marker nobody takes in time. */
    struct join_watch *w[CH_SENDERS + CH_RECEIVERS];
    for (int i = 0; i < CH_SENDERS; i++)
        w[i] = join_watch_start(st[i], NULL);
    for (int i = 0; i < CH_RECEIVERS; i++)
        w[CH_SENDERS + i] = join_watch_start(rt[i], NULL);
    for (int i = 0; i < CH_SENDERS; i++) {
        if (!JOINED_OR_LOST(w[i], NULL, "a sender")) {
            close_and_reap(hchan, w, CH_SENDERS + CH_RECEIVERS);
            return;
        }
        EXPECT_EQ(sa[i].wrong, 0);
        EXPECT_EQ(sa[i].corrupt, 0);
    }
    uint32_t end = UINT32_MAX;
    for (int i = 0; i < CH_RECEIVERS; i++)
        if (chan_send(hchan, &end, LOST_WAKE_NS) != 0) {
            test_fail(__FILE__, __LINE__, "end marker %d never taken: lost wake-up", i);
            close_and_reap(hchan, w, CH_SENDERS + CH_RECEIVERS);
            return;
        }
    uint32_t got = 0, timeouts = 0;
    for (int i = 0; i < CH_RECEIVERS; i++) {
        if (!JOINED_OR_LOST(w[CH_SENDERS + i], NULL, "a receiver")) {
            close_and_reap(hchan, w, CH_SENDERS + CH_RECEIVERS);
            return;
        }
        EXPECT_EQ(ra[i].wrong, 0);
        EXPECT_EQ(ra[i].corrupt, 0);
        EXPECT_EQ(ra[i].timers, 0);
        got += ra[i].got;
        timeouts += ra[i].timeouts;
    }
    EXPECT_EQ(got, CH_SENDERS * CH_PER_SENDER);
    printf("  handover: %u timed channel receives timed out\n", (unsigned)timeouts);
    uint32_t once = 0;
    for (int s = 0; s < CH_SENDERS; s++)
        for (int j = 0; j < CH_PER_SENDER; j++)
            once += atomic_load(&seen[s][j]) == 1;
    EXPECT_EQ(once, CH_SENDERS * CH_PER_SENDER);
    chan_destroy(hchan);
    hchan = NULL;
}
