/* Structured concurrency scopes: children never outlive their scope; cancel
 * reaches blocked children (stackful and stackless) and nested scopes;
 * deadlines cancel and are inherited; the first error cancels siblings (or
 * every error is collected); a faulting child is reported as faulted; an
 * all-core stress with exact counts and no leak. */
#include <errno.h>
#include <stdatomic.h>
#include <kernel/clock.h>
#include <kernel/sem.h>
#include <sr/scope.h>
#include <sr_test.h>
#include "image_test.h"
#include "rt_test.h"

/* --- children ------------------------------------------------------------------ */

static _Atomic int ended;   /* children that have run to their end */

/* Sleeps arg microseconds, then returns arg. */
static int64_t sleeper(void *arg)
{
    task_sleep_ns((uint64_t)(uintptr_t)arg * 1000);
    atomic_fetch_add(&ended, 1);
    return (int64_t)(uintptr_t)arg;
}

/* Waits on a semaphore nobody posts: ends only when cancelled. */
static struct semaphore never = SEM_INIT(0);

static int64_t blocker(void *arg)
{
    (void)arg;
    int r = sem_wait_interruptible(&never, WAIT_FOREVER);
    atomic_fetch_add(&ended, 1);
    return r == WAIT_CANCELLED ? -ECANCELED : 1;
}

/* Sleeps arg microseconds, then fails with -EIO. */
static int64_t failer(void *arg)
{
    task_sleep_ns((uint64_t)(uintptr_t)arg * 1000);
    atomic_fetch_add(&ended, 1);
    return -EIO;
}

static int64_t faulter(void *arg)
{
    task_sleep_ns((uint64_t)(uintptr_t)arg * 1000);
    return *(volatile int64_t *)opaque_ptr(0);
}

static struct task_attr on_core(int i)
{
    return (struct task_attr){.name = "scope-kid", .qos = QOS_DEFAULT,
                              .affinity = 1u << other_core(i)};
}

/* A stackless child: sleeps ns (an hour, i.e. until cancelled, if 0; not
 * at all if SNOOZE_NONE), then returns ret; a cancelled sleep returns
 * -ECANCELED. */
#define SNOOZE_NONE 1
struct snoozer {
    struct scope_async sa;
    uint64_t ns, until;
    int64_t ret;
};

static int snoozer_poll(struct async_task *t)
{
    struct snoozer *z = (struct snoozer *)t;
    int r;
    ASYNC_BEGIN(t);
    if (z->ns == SNOOZE_NONE) {
        atomic_fetch_add(&ended, 1);
        ASYNC_RETURN(t, z->ret);
    }
    z->until = clock_ns() + (z->ns ? z->ns : 3600000 * MS);
    ASYNC_AWAIT(t, r, async_sleep_until(t, z->until));
    atomic_fetch_add(&ended, 1);
    ASYNC_END(t, r < 0 ? r : z->ret);
}

static struct scope_child *spawn_snoozer(struct scope *s, uint64_t ns, int64_t ret, int cpu)
{
    struct async_attr a = {.qos = QOS_DEFAULT, .cpu = cpu};
    struct snoozer *z = SCOPE_ASYNC_NEW(struct snoozer, snoozer_poll, &a);
    if (!z)
        return NULL;
    z->ns = ns;
    z->ret = ret;
    return scope_spawn_async(s, &z->sa);
}

static enum scope_reason reason(struct scope_child *c) { return scope_child_result(c).reason; }
static int64_t value(struct scope_child *c) { return scope_child_result(c).value; }

/* --- semantics ------------------------------------------------------------------ */

TEST(scope, children_never_outlive_the_scope)
{
    enum { N = 12 };
    struct scope s;
    struct scope_child *c[N];
    atomic_store(&ended, 0);
    EXPECT_EQ(scope_open(&s, NULL, NULL), 0);
    for (int i = 0; i < N; i++) {
        struct task_attr a = on_core(i);
        c[i] = i % 3 == 2 ? spawn_snoozer(&s, (uint64_t)(i + 1) * 200000, i, other_core(i))
                          : scope_spawn(&s, sleeper, (void *)(uintptr_t)((i + 1) * 200), &a);
        EXPECT_TRUE(c[i] != NULL);
    }
    EXPECT_EQ(scope_wait(&s), 0);
    EXPECT_EQ(atomic_load(&ended), N);   /* every one ran to its end before scope_wait returned */
    for (int i = 0; i < N; i++) {
        EXPECT_EQ(reason(c[i]), SCOPE_EXITED);
        EXPECT_EQ(value(c[i]), i % 3 == 2 ? i : (i + 1) * 200);
    }
    EXPECT_EQ(scope_error_count(&s), 0);
    EXPECT_EQ(scope_cancel_cause(&s), SCOPE_NOT_CANCELLED);
    EXPECT_EQ(scope_close(&s), 0);
}

TEST(scope, cancel_reaches_blocked_children)
{
    enum { N = 8 };
    struct scope s;
    struct scope_child *c[N];
    atomic_store(&ended, 0);
    scope_open(&s, NULL, NULL);
    for (int i = 0; i < N; i++) {
        struct task_attr a = on_core(i);
        c[i] = i % 2 ? spawn_snoozer(&s, 0, 1, other_core(i)) : scope_spawn(&s, blocker, NULL, &a);
    }
    /* every stackful blocker is queued on the semaphore (or will not block) */
    while (never.wq.head == NULL)
        task_sleep_ns(50000);
    scope_cancel(&s);
    scope_cancel(&s);
    EXPECT_EQ(scope_wait(&s), -ECANCELED);
    EXPECT_EQ(atomic_load(&ended), N);
    for (int i = 0; i < N; i++) {
        EXPECT_EQ(reason(c[i]), SCOPE_CANCELLED);
        EXPECT_EQ(value(c[i]), -ECANCELED);
    }
    EXPECT_EQ(scope_error_count(&s), 0);
    EXPECT_TRUE(scope_first_error(&s) == NULL);
    EXPECT_EQ(scope_close(&s), -ECANCELED);
    EXPECT_TRUE(waitq_empty(&never.wq));
    /* spawned into a cancelled scope: cancelled at once */
    scope_open(&s, NULL, NULL);
    scope_cancel(&s);
    struct scope_child *late = scope_spawn(&s, blocker, NULL, NULL);
    struct scope_child *late_a = spawn_snoozer(&s, 0, 1, -1);
    EXPECT_EQ(scope_close(&s), -ECANCELED);
    (void)late;
    (void)late_a;
}

TEST(scope, deadline_cancels_children_as_timed_out)
{
    struct scope s;
    struct scope_attr a = {.timeout_ns = 3 * MS};
    uint64_t t0 = clock_ns();
    scope_open(&s, NULL, &a);
    EXPECT_EQ(s.deadline_ns >= t0 + 3 * MS, true);
    struct scope_child *b = scope_spawn(&s, blocker, NULL, NULL);
    struct scope_child *z = spawn_snoozer(&s, 0, 1, other_core(1));
    struct task_attr ta = on_core(2);
    struct scope_child *quick = scope_spawn(&s, sleeper, (void *)(uintptr_t)10, &ta);
    EXPECT_EQ(scope_wait(&s), -ETIMEDOUT);
    EXPECT_GE(clock_ns(), s.deadline_ns);   /* not before the deadline */
    EXPECT_EQ(scope_cancel_cause(&s), SCOPE_BY_DEADLINE);
    EXPECT_EQ(reason(b), SCOPE_TIMED_OUT);
    EXPECT_EQ(reason(z), SCOPE_TIMED_OUT);
    EXPECT_EQ(reason(quick), SCOPE_EXITED);
    EXPECT_EQ(value(quick), 10);
    EXPECT_EQ(scope_error_count(&s), 0);
    EXPECT_EQ(scope_close(&s), -ETIMEDOUT);
    /* a deadline already past: cancelled from the start */
    struct scope_attr past = {.deadline_ns = 1};
    scope_open(&s, NULL, &past);
    b = scope_spawn(&s, blocker, NULL, NULL);
    EXPECT_EQ(scope_close(&s), -ETIMEDOUT);
}

/* A child of the outer scope that opens a nested scope with its own
 * (later or earlier) timeout and one blocked child; returns the nested
 * scope's result after checking the inherited deadline. */
struct nest {
    struct scope *outer;
    uint64_t own_timeout;
    uint64_t deadline;             /* the nested scope's effective one */
    enum scope_reason kid_reason;
    uint64_t opened_ns, done_ns;   /* clock_ns() after its scope_open, before its return */
};

static int64_t nested_owner(void *arg)
{
    struct nest *n = arg;
    struct scope in;
    struct scope_attr a = {.timeout_ns = n->own_timeout};
    scope_open(&in, n->outer, &a);
    n->opened_ns = clock_ns();
    n->deadline = in.deadline_ns;
    struct scope_child *k = scope_spawn(&in, blocker, NULL, NULL);
    int r = scope_wait(&in);
    n->kid_reason = reason(k);
    scope_close(&in);
    n->done_ns = clock_ns();
    return r;
}

/* Two nested scopes in a collect-all outer one (400 ms): the late one
 * (10 s of its own) inherits the outer deadline, the early one (1 ms) keeps
 * its own and fails before the outer deadline. What needs the early one
 * to have opened and ended well inside the outer 400 ms is checked only
 * when its own notes say it did: a host stall of that length (its start
 * delayed past the outer deadline) makes the round run again, at most
 * three times. Returns whether the round counted. */
static bool nested_deadline_round(void)
{
    struct scope s;
    static struct nest late, early;
    /* collect-all: the early nested scope's -ETIMEDOUT (an error of the
     * outer scope's child) does not cancel the late one */
    struct scope_attr a = {.timeout_ns = 400 * MS, .policy = SCOPE_COLLECT_ALL};
    scope_open(&s, NULL, &a);
    late = (struct nest){.outer = &s, .own_timeout = 10000 * MS};
    early = (struct nest){.outer = &s, .own_timeout = 1 * MS};
    struct scope_child *cl = scope_spawn(&s, nested_owner, &late, NULL);
    struct scope_child *ce = scope_spawn(&s, nested_owner, &early, NULL);
    EXPECT_EQ(scope_wait(&s), -ETIMEDOUT);
    EXPECT_EQ(late.deadline, s.deadline_ns);        /* the parent's, earlier than its own */
    EXPECT_EQ(late.kid_reason, SCOPE_TIMED_OUT);
    EXPECT_EQ(value(cl), -ETIMEDOUT);
    EXPECT_EQ(reason(cl), SCOPE_TIMED_OUT);
    bool in_time = early.opened_ns + early.own_timeout < s.deadline_ns &&
                   early.done_ns < s.deadline_ns;
    if (in_time) {
        EXPECT_LT(early.deadline, s.deadline_ns);   /* its own, earlier than the parent's */
        EXPECT_EQ(early.kid_reason, SCOPE_TIMED_OUT);
        /* Both nested owners returned -ETIMEDOUT: the early one before the
         * outer deadline (an error of its own), the late one when it passed. */
        EXPECT_EQ(scope_error_count(&s), 1);
        EXPECT_EQ(value(ce), -ETIMEDOUT);
        EXPECT_EQ(reason(ce), SCOPE_TIMED_OUT);
    }
    scope_close(&s);
    EXPECT_TRUE(s.nested == NULL);
    return in_time;
}

TEST(scope, nested_scope_inherits_the_earlier_deadline)
{
    int round = 0;
    while (round < 3 && !nested_deadline_round())
        round++;
    EXPECT_LT(round, 3);   /* some round had the early scope inside the outer deadline */
}

static int64_t nested_canceller(void *arg)
{
    struct nest *n = arg;
    struct scope in;
    scope_open(&in, n->outer, NULL);
    struct scope_child *k = scope_spawn(&in, blocker, NULL, NULL);
    struct scope_child *z = spawn_snoozer(&in, 0, 1, -1);
    int r = scope_wait(&in);
    n->kid_reason = reason(k) == reason(z) ? reason(k) : SCOPE_RUNNING;
    scope_close(&in);
    return r;
}

TEST(scope, cancel_propagates_into_nested_scopes)
{
    struct scope s;
    static struct nest n;
    scope_open(&s, NULL, NULL);
    n = (struct nest){.outer = &s};
    struct scope_child *c = scope_spawn(&s, nested_canceller, &n, NULL);
    while (never.wq.head == NULL)
        task_sleep_ns(50000);
    scope_cancel(&s);
    EXPECT_EQ(scope_close(&s), -ECANCELED);
    EXPECT_EQ(n.kid_reason, SCOPE_CANCELLED);
    (void)c;
}

TEST(scope, first_error_cancels_siblings_and_is_returned)
{
    enum { BLOCKERS = 5 };
    struct scope s;
    struct scope_child *b[BLOCKERS];
    scope_open(&s, NULL, NULL);
    for (int i = 0; i < BLOCKERS; i++) {
        struct task_attr a = on_core(i);
        b[i] = scope_spawn(&s, blocker, NULL, &a);
    }
    struct scope_child *z = spawn_snoozer(&s, 0, 1, other_core(3));
    struct task_attr fa = on_core(5);
    struct scope_child *f = scope_spawn(&s, failer, (void *)(uintptr_t)500, &fa);
    EXPECT_EQ(scope_wait(&s), -EIO);
    EXPECT_TRUE(scope_first_error(&s) == f);
    EXPECT_EQ(reason(f), SCOPE_FAILED);
    EXPECT_EQ(value(f), -EIO);
    for (int i = 0; i < BLOCKERS; i++)
        EXPECT_EQ(reason(b[i]), SCOPE_CANCELLED);
    EXPECT_EQ(reason(z), SCOPE_CANCELLED);
    EXPECT_EQ(scope_error_count(&s), 1);
    EXPECT_EQ(scope_cancel_cause(&s), SCOPE_BY_ERROR);
    EXPECT_EQ(scope_close(&s), -EIO);
}

TEST(scope, collect_all_runs_everyone_and_counts_every_error)
{
    struct scope s;
    struct scope_attr a = {.policy = SCOPE_COLLECT_ALL};
    scope_open(&s, NULL, &a);
    struct scope_child *f[3], *ok[3];
    for (int i = 0; i < 3; i++) {
        struct task_attr ta = on_core(i);
        f[i] = scope_spawn(&s, failer, (void *)(uintptr_t)(100 * i), &ta);
        ok[i] = i < 2 ? scope_spawn(&s, sleeper, (void *)(uintptr_t)(2000 + 500 * i), &ta)
                      : spawn_snoozer(&s, 3 * MS, 42, other_core(i));
    }
    EXPECT_EQ(scope_wait(&s), -EIO);
    EXPECT_EQ(scope_error_count(&s), 3);
    EXPECT_EQ(scope_cancel_cause(&s), SCOPE_NOT_CANCELLED);
    struct scope_child *first = scope_first_error(&s);
    EXPECT_TRUE(first == f[0] || first == f[1] || first == f[2]);
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(reason(f[i]), SCOPE_FAILED);
        EXPECT_EQ(value(f[i]), -EIO);
        EXPECT_EQ(reason(ok[i]), SCOPE_EXITED);
        EXPECT_EQ(value(ok[i]), i < 2 ? 2000 + 500 * i : 42);
    }
    scope_close(&s);
}

TEST(scope, a_faulting_child_is_faulted_and_the_others_cancelled)
{
    struct scope s;
    scope_open(&s, NULL, NULL);
    struct task_attr a0 = on_core(0), a1 = on_core(1);
    struct scope_child *b = scope_spawn(&s, blocker, NULL, &a0);
    struct scope_child *z = spawn_snoozer(&s, 0, 1, other_core(2));
    struct scope_child *f = scope_spawn(&s, faulter, (void *)(uintptr_t)300, &a1);
    EXPECT_EQ(scope_wait(&s), -EFAULT);
    EXPECT_TRUE(scope_first_error(&s) == f);
    EXPECT_EQ(reason(f), SCOPE_FAULTED);
    EXPECT_EQ(reason(b), SCOPE_CANCELLED);
    EXPECT_EQ(reason(z), SCOPE_CANCELLED);
    EXPECT_EQ(scope_close(&s), -EFAULT);
}

/* Stackless children only: values, an error of one cancelling the others. */
TEST(scope, stackless_children)
{
    enum { N = 16 };
    struct scope s;
    struct scope_child *c[N];
    scope_open(&s, NULL, NULL);
    for (int i = 0; i < N; i++)
        c[i] = spawn_snoozer(&s, (uint64_t)(i + 1) * 100000, 100 + i, other_core(i));
    EXPECT_EQ(scope_close(&s) == 0, true);
    scope_open(&s, NULL, NULL);
    for (int i = 0; i < N; i++)
        c[i] = spawn_snoozer(&s, i == 5 ? 500000 : 0, i == 5 ? -EPIPE : 0, other_core(i));
    EXPECT_EQ(scope_wait(&s), -EPIPE);
    for (int i = 0; i < N; i++)
        EXPECT_EQ(reason(c[i]), i == 5 ? SCOPE_FAILED : SCOPE_CANCELLED);
    scope_close(&s);
}

/* --- stress ------------------------------------------------------------------- */

enum { ST_ROUNDS = 12, ST_QUICK = 3, ST_BLOCK = 3 };
static _Atomic int st_exited, st_cancelled, st_failed, st_other, st_children;

/* One owner per core: rounds of a scope with quick and blocking children of
 * both kinds, ended by scope_cancel (even rounds) or a failing child (odd). */
static int64_t stress_owner(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int r = 0; r < ST_ROUNDS; r++) {
        struct scope s;
        scope_open(&s, NULL, NULL);
        struct scope_child *kids[2 * (ST_QUICK + ST_BLOCK) + 1];
        int n = 0;
        for (int i = 0; i < ST_QUICK; i++) {
            struct task_attr a = {.name = "st-q", .qos = QOS_DEFAULT};
            kids[n++] = scope_spawn(&s, sleeper, (void *)(uintptr_t)(i * 10), &a);
            kids[n++] = spawn_snoozer(&s, SNOOZE_NONE, 5, (me + i) % platform.ncpus);
        }
        for (int i = 0; i < ST_BLOCK; i++) {
            kids[n++] = scope_spawn(&s, blocker, NULL, NULL);
            kids[n++] = spawn_snoozer(&s, 0, 1, (me + i + 1) % platform.ncpus);
        }
        if (r % 2)
            kids[n++] = scope_spawn(&s, failer, (void *)(uintptr_t)(r * 7 % 50), NULL);
        else
            scope_cancel(&s);
        int expect = r % 2 ? -EIO : -ECANCELED;
        if (scope_wait(&s) != expect)
            atomic_fetch_add(&st_other, 1);
        for (int i = 0; i < n; i++) {
            if (!kids[i]) {
                atomic_fetch_add(&st_other, 1);
                continue;
            }
            atomic_fetch_add(&st_children, 1);
            switch (reason(kids[i])) {
            case SCOPE_EXITED: atomic_fetch_add(&st_exited, 1); break;
            case SCOPE_CANCELLED: atomic_fetch_add(&st_cancelled, 1); break;
            case SCOPE_FAILED: atomic_fetch_add(&st_failed, 1); break;
            default: atomic_fetch_add(&st_other, 1); break;
            }
        }
        scope_close(&s);
    }
    return 0;
}

static void stress_run(void)
{
    int cpus = platform.ncpus;
    atomic_store(&st_exited, 0);
    atomic_store(&st_cancelled, 0);
    atomic_store(&st_failed, 0);
    atomic_store(&st_other, 0);
    atomic_store(&st_children, 0);
    atomic_store(&ended, 0);
    struct task *o[PLAT_MAX_CPUS];
    for (int c = 0; c < cpus; c++)
        o[c] = spawn_on(stress_owner, (void *)(intptr_t)c, c, QOS_DEFAULT);
    for (int c = 0; c < cpus; c++)
        EXPECT_EQ(task_join(o[c], NULL), TASK_EXITED);
    int scopes = cpus * ST_ROUNDS;
    EXPECT_EQ(atomic_load(&st_other), 0);
    EXPECT_EQ(atomic_load(&st_exited), scopes * 2 * ST_QUICK);
    EXPECT_EQ(atomic_load(&st_cancelled), scopes * 2 * ST_BLOCK);
    EXPECT_EQ(atomic_load(&st_failed), scopes / 2);
    EXPECT_EQ(atomic_load(&st_children), atomic_load(&ended));   /* every child ran to its end */
    EXPECT_EQ(atomic_load(&st_children), scopes * 2 * (ST_QUICK + ST_BLOCK) + scopes / 2);
    EXPECT_TRUE(waitq_empty(&never.wq));
}

TEST(scope, stress_all_cores_every_child_joined_or_cancelled_no_leak)
{
    stress_run();   /* warms executors, task caches, timer heaps */
    uint64_t before = free_pages_settled();
    stress_run();
    EXPECT_EQ(free_pages_settled(), before);
}

/* --- README's scope example in detail: which fetcher took the reply ------------------
 * (README's own text is compiled and run as readme.scope_fetchers.) */

static struct semaphore reply = SEM_INIT(0);

static int64_t fetch(void *arg)
{
    int r = sem_wait_interruptible(&reply, WAIT_FOREVER);
    if (r == WAIT_CANCELLED)
        return -ECANCELED;
    return (int64_t)(uintptr_t)arg;
}

struct watchdog { struct scope_async sa; uint64_t until; };

static int watchdog_poll(struct async_task *t)
{
    struct watchdog *w = (struct watchdog *)t;
    int r;
    ASYNC_BEGIN(t);
    w->until = clock_ns() + 5 * 1000000;
    ASYNC_AWAIT(t, r, async_sleep_until(t, w->until));
    ASYNC_END(t, r < 0 ? r : 0);
}

TEST(scope, one_reply_two_fetchers_and_a_watchdog_under_a_timeout)
{
    struct scope s;
    struct scope_attr a = {.timeout_ns = 20 * 1000000};
    scope_open(&s, NULL, &a);
    struct scope_child *f1 = scope_spawn(&s, fetch, (void *)1, NULL);
    struct scope_child *f2 = scope_spawn(&s, fetch, (void *)2, NULL);
    struct watchdog *w = SCOPE_ASYNC_NEW(struct watchdog, watchdog_poll, NULL);
    struct scope_child *wc = scope_spawn_async(&s, &w->sa);
    sem_post(&reply);
    EXPECT_EQ(scope_wait(&s), -ETIMEDOUT);
    /* One fetcher took the reply and exited with its number, the other timed
     * out; under a heavily loaded host the deadline may come before either
     * took it, then both timed out and the reply is still there. Either way
     * the reply is taken at most once and never lost. */
    int took = 0;
    struct scope_child *f[2] = {f1, f2};
    for (int i = 0; i < 2; i++) {
        struct scope_result r = scope_child_result(f[i]);
        if (r.reason == SCOPE_EXITED && r.value == i + 1)
            took++;
        else
            EXPECT_EQ(r.reason, SCOPE_TIMED_OUT);
    }
    EXPECT_EQ(took + reply.count, 1);
    EXPECT_TRUE(reason(wc) == SCOPE_EXITED || reason(wc) == SCOPE_TIMED_OUT);
    sem_init(&reply, 0);
    EXPECT_EQ(scope_close(&s), -ETIMEDOUT);
}
