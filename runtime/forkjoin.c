/*
 * Fork-join on per-core helper tasks with work-stealing deques (see
 * sr/forkjoin.h for the contract and the QoS rule).
 *
 * Invariants:
 *  - A forked item lives in its forker's stack frame; the forker does not
 *    return before the item has run: it pops it back (and runs it) or, if a
 *    thief took it, waits until the thief marks it done. A thief touches the
 *    item no more after marking it done.
 *  - When a forker syncs, every item it pushed later is resolved, so its pop
 *    returns its own item or NULL (taken by a thief).
 *  - While waiting, a helper only steals from other helpers (never pops its
 *    own deque: older items there belong to its outer frames).
 *  - Sleeping is a semaphore wait after announcing it (a bit in
 *    job->sleeping, or the waiter in item->state) and re-checking for work:
 *    a pusher or completer that sees the announcement posts, so no wake-up
 *    is lost; an extra post only costs one more look for work.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <kernel/app.h>
#include <kernel/deadline.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/platform.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr/deque.h>
#include <sr/forkjoin.h>

struct fj_worker;

/* item->state: pending, done, or the worker sleeping until it is done. */
#define FJ_PENDING ((uintptr_t)0)
#define FJ_DONE    ((uintptr_t)1)

struct fj_item {
    void (*run)(struct fj_item *it);
    _Atomic uintptr_t state;
};

struct fj_job;

struct fj_worker {
    struct deque dq;
    struct fj_job *job;
    struct task *task;        /* NULL if its helper could not be spawned */
    struct semaphore wake;
    int index;
    _Atomic(void *) slots[FJ_DEQUE_CAP];
};

struct fj_job {
    int n;
    _Atomic uint32_t sleeping;    /* bit i: worker i announced it sleeps */
    _Atomic bool done;            /* the root has run: helpers exit */
    struct semaphore finished;    /* the caller waits here */
    struct fj_worker w[];
};

_Static_assert(PLAT_MAX_CPUS <= 32, "job->sleeping has a bit per core");

/* The helper the current task is, or NULL outside any job. */
static _Thread_local struct fj_worker *fj_self;

/* --- QoS rule -------------------------------------------------------------------- */

/* Racy snapshot, as the scheduler's own view: nothing runs or waits there. */
static bool core_idle(int cpu)
{
    const struct runqueue *rq = &runqueues[cpu];
    const struct task *cur = rq->current;
    return (!cur || (cur->flags & TASK_F_IDLE)) && rq->nr_ready == 0;
}

uint32_t fj_allowed_cores(unsigned qos)
{
    uint32_t online = smp_online_mask();
    const struct sched_core_model *m = sched_core_model();
    if (m->nlevels <= 1 || qos < QOS_UTILITY)
        return online;
    uint32_t mask = 0;
    for (int c = 0; c < platform.ncpus; c++) {
        if (!(online & (1u << c)))
            continue;
        bool efficiency = m->core[c].level == m->nlevels - 1;
        if (efficiency || (qos == QOS_UTILITY && core_idle(c)))
            mask |= 1u << c;
    }
    /* Cores owing deadline tasks their bandwidth stay free of helpers,
     * unless nothing else is left. */
    uint32_t free_of_dl = mask & ~task_dl_cores();
    return free_of_dl ? free_of_dl : mask;
}

/* --- stealing, sleeping, waiting --------------------------------------------------- */

static void wake_one_sleeper(struct fj_job *j)
{
    uint32_t m = atomic_load_explicit(&j->sleeping, memory_order_relaxed);
    while (m) {
        uint32_t bit = m & -m;
        if (atomic_fetch_and(&j->sleeping, ~bit) & bit) {
            sem_post(&j->w[__builtin_ctz(bit)].wake);
            return;
        }
        m = atomic_load_explicit(&j->sleeping, memory_order_relaxed);
    }
}

/* Push it on w's deque; false (nothing pushed) when the deque is full. */
static inline bool fork_item(struct fj_worker *w, struct fj_item *it)
{
    atomic_store_explicit(&it->state, FJ_PENDING, memory_order_relaxed);
    if (deque_push(&w->dq, it) != DEQUE_OK)
        return false;
    /* Pairs with the sleeper's announce-then-look (store-load order). */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->job->sleeping, memory_order_relaxed))
        wake_one_sleeper(w->job);
    return true;
}

/* Runs an item taken from another deque (or the root), then marks it done
 * and wakes its forker if it sleeps on it. */
static void run_taken(struct fj_item *it)
{
    it->run(it);
    uintptr_t old = atomic_exchange(&it->state, FJ_DONE);
    if (old != FJ_PENDING && old != FJ_DONE)
        sem_post(&((struct fj_worker *)old)->wake);
}

/* An item from another helper's deque, or NULL when none has any. */
static struct fj_item *steal_other(struct fj_worker *w)
{
    struct fj_job *j = w->job;
    bool raced;
    do {
        raced = false;
        for (int k = 1; k < j->n; k++) {
            struct fj_worker *v = &j->w[(w->index + k) % j->n];
            void *x;
            int r = deque_steal(&v->dq, &x);
            if (r == DEQUE_OK)
                return x;
            raced |= r == DEQUE_RETRY;
        }
    } while (raced);
    return NULL;
}

static bool others_have_work(struct fj_worker *w)
{
    for (int k = 0; k < w->job->n; k++)
        if (k != w->index && deque_size(&w->job->w[k].dq) > 0)
            return true;
    return false;
}

/* Sleeps until work may have been pushed, the job ended, or awaited (if
 * any) is done. Returns at once when one of those already holds. */
static void doze(struct fj_worker *w, struct fj_item *awaited)
{
    struct fj_job *j = w->job;
    uint32_t bit = 1u << w->index;
    uintptr_t me = (uintptr_t)w;
    if (awaited) {
        uintptr_t expect = FJ_PENDING;
        if (!atomic_compare_exchange_strong(&awaited->state, &expect, me))
            return;   /* done already */
    }
    atomic_fetch_or(&j->sleeping, bit);
    atomic_thread_fence(memory_order_seq_cst);
    bool wake = atomic_load(&j->done) || others_have_work(w) ||
                (awaited && atomic_load(&awaited->state) == FJ_DONE);
    if (!wake)
        sem_wait(&w->wake, WAIT_FOREVER);
    atomic_fetch_and(&j->sleeping, ~bit);
    if (awaited) {
        uintptr_t expect = me;
        atomic_compare_exchange_strong(&awaited->state, &expect, FJ_PENDING);
    }
}

/* The forker's side of a fork: run it here if no thief took it, else help
 * with other work until the thief is done with it. */
static inline void sync_item(struct fj_worker *w, struct fj_item *it)
{
    void *x = deque_pop(&w->dq);
    if (x == it) {
        it->run(it);
        return;
    }
    if (x)
        panic("forkjoin: deque out of order (%p popped, %p expected)", x, (void *)it);
    while (atomic_load_explicit(&it->state, memory_order_acquire) != FJ_DONE) {
        struct fj_item *other = steal_other(w);
        if (other)
            run_taken(other);
        else
            doze(w, it);
    }
}

/* --- jobs ------------------------------------------------------------------------ */

struct root_item {
    struct fj_item it;
    void (*body)(struct fj_worker *w, void *ctx);
    void *ctx;
    struct fj_job *job;
};

static void root_run(struct fj_item *it)
{
    struct root_item *r = (struct root_item *)it;
    r->body(fj_self, r->ctx);
    struct fj_job *j = r->job;
    atomic_store(&j->done, true);
    for (int i = 0; i < j->n; i++)
        sem_post(&j->w[i].wake);
    sem_post(&j->finished);
}

static int64_t helper_main(void *arg)
{
    struct fj_worker *w = arg;
    struct fj_job *j = w->job;
    fj_self = w;
    while (!atomic_load_explicit(&j->done, memory_order_acquire)) {
        struct fj_item *x = deque_pop(&w->dq);
        if (!x)
            x = steal_other(w);
        if (x)
            run_taken(x);
        else
            doze(w, NULL);
    }
    fj_self = NULL;
    return 0;
}

/* Runs body(worker, ctx) as a job: inline when already inside one, else on
 * fresh helpers on the allowed cores while the caller sleeps. */
static int fj_run(void (*body)(struct fj_worker *w, void *ctx), void *ctx)
{
    if (fj_self) {
        body(fj_self, ctx);
        return 0;
    }
    enum qos qos = task_qos(task_current());
    struct app *app = task_app(task_current());   /* helpers work for the caller's app */
    uint32_t cores = fj_allowed_cores(qos);
    int n = __builtin_popcount(cores);
    struct fj_job *j = n ? calloc(1, sizeof *j + (size_t)n * sizeof(struct fj_worker)) : NULL;
    if (!j)
        return -ENOMEM;
    j->n = n;
    sem_init(&j->finished, 0);
    int home = 0, cpu_of[PLAT_MAX_CPUS];
    for (int i = 0, c = 0; i < n; i++, c++) {
        while (!(cores & (1u << c)))
            c++;
        struct fj_worker *w = &j->w[i];
        deque_init(&w->dq, w->slots, FJ_DEQUE_CAP);
        sem_init(&w->wake, 0);
        w->job = j;
        w->index = i;
        cpu_of[i] = c;
        if (c == cpu_id())
            home = i;
    }
    struct root_item root = {.it = {.run = root_run}, .body = body, .ctx = ctx, .job = j};
    deque_push(&j->w[home].dq, &root.it);   /* nobody else runs yet */
    int started = 0;
    for (int i = 0; i < n; i++) {
        struct task_attr attr = {.name = "fj-helper", .qos = qos, .app = app,
                                 .stack_size = FJ_STACK_SIZE, .affinity = 1u << cpu_of[i]};
        j->w[i].task = task_spawn(helper_main, &j->w[i], &attr);
        started += j->w[i].task != NULL;
    }
    if (started == 0) {
        deque_pop(&j->w[home].dq);
        free(j);
        return -ENOMEM;
    }
    sem_wait(&j->finished, WAIT_FOREVER);
    for (int i = 0; i < n; i++)
        if (j->w[i].task)
            task_join(j->w[i].task, NULL);
    free(j);
    return 0;
}

/* --- parallel_for ------------------------------------------------------------------ */

struct pfor {
    fj_range_fn fn;
    void *arg;
    int64_t begin, end, grain;
};

struct pfor_item {
    struct fj_item it;
    const struct pfor *p;
    int64_t lo, hi;
};

static void pfor_range(struct fj_worker *w, const struct pfor *p, int64_t lo, int64_t hi);

static void pfor_run(struct fj_item *it)
{
    struct pfor_item *pi = (struct pfor_item *)it;
    pfor_range(fj_self, pi->p, pi->lo, pi->hi);
}

/* Splits at a multiple of grain from lo, so chunks are whole grains but the last. */
static inline uint64_t span(int64_t lo, int64_t hi) { return (uint64_t)hi - (uint64_t)lo; }

static inline int64_t split_point(int64_t lo, int64_t hi, int64_t grain)
{
    uint64_t chunks = span(lo, hi) / (uint64_t)grain + (span(lo, hi) % (uint64_t)grain != 0);
    return (int64_t)((uint64_t)lo + chunks / 2 * (uint64_t)grain);
}

static void pfor_range(struct fj_worker *w, const struct pfor *p, int64_t lo, int64_t hi)
{
    while (span(lo, hi) > (uint64_t)p->grain) {
        int64_t mid = split_point(lo, hi, p->grain);
        struct pfor_item right = {.it = {.run = pfor_run}, .p = p, .lo = mid, .hi = hi};
        if (!fork_item(w, &right.it)) {
            pfor_range(w, p, lo, mid);
            lo = mid;            /* no room: the right half here too */
            continue;
        }
        pfor_range(w, p, lo, mid);
        sync_item(w, &right.it);
        return;
    }
    p->fn(lo, hi, p->arg);
}

static void pfor_body(struct fj_worker *w, void *ctx)
{
    const struct pfor *p = ctx;
    pfor_range(w, p, p->begin, p->end);
}

int parallel_for(int64_t begin, int64_t end, int64_t grain, fj_range_fn fn, void *arg)
{
    if (!fn)
        return -EINVAL;
    if (end <= begin)
        return 0;
    struct pfor p = {.fn = fn, .arg = arg, .begin = begin, .end = end,
                     .grain = grain < 1 ? 1 : grain};
    return fj_run(pfor_body, &p);
}

/* --- fj_join ---------------------------------------------------------------------- */

struct join_item {
    struct fj_item it;
    fj_fn fn;
    void *arg;
};

struct join_ctx {
    fj_fn a, b;
    void *arg_a, *arg_b;
};

static void join_run(struct fj_item *it)
{
    struct join_item *ji = (struct join_item *)it;
    ji->fn(ji->arg);
}

static void join_body(struct fj_worker *w, void *ctx)
{
    const struct join_ctx *c = ctx;
    struct join_item right = {.it = {.run = join_run}, .fn = c->b, .arg = c->arg_b};
    if (!fork_item(w, &right.it)) {
        c->a(c->arg_a);
        c->b(c->arg_b);
        return;
    }
    c->a(c->arg_a);
    sync_item(w, &right.it);
}

int fj_join(fj_fn a, void *arg_a, fj_fn b, void *arg_b)
{
    if (!a || !b)
        return -EINVAL;
    struct join_ctx c = {.a = a, .b = b, .arg_a = arg_a, .arg_b = arg_b};
    return fj_run(join_body, &c);
}

/* --- parallel_reduce ---------------------------------------------------------------- */

struct reduce {
    fj_fold_fn fold;
    fj_combine_fn combine;
    void *arg;
    const void *identity;
    size_t size;
    int64_t begin, end, grain;
    void *acc;
};

struct reduce_item {
    struct fj_item it;
    const struct reduce *r;
    int64_t lo, hi;
    void *acc;
};

static void reduce_range(struct fj_worker *w, const struct reduce *r, int64_t lo, int64_t hi,
                         void *acc);

static void reduce_run(struct fj_item *it)
{
    struct reduce_item *ri = (struct reduce_item *)it;
    reduce_range(fj_self, ri->r, ri->lo, ri->hi, ri->acc);
}

/* Folds [lo, hi) into acc: the left half into acc, the right half into a
 * fresh identity, then acc (+)= right. */
static void reduce_range(struct fj_worker *w, const struct reduce *r, int64_t lo, int64_t hi,
                         void *acc)
{
    if (span(lo, hi) <= (uint64_t)r->grain) {
        r->fold(lo, hi, acc, r->arg);
        return;
    }
    int64_t mid = split_point(lo, hi, r->grain);
    _Alignas(16) unsigned char racc[FJ_REDUCE_MAX];
    memcpy(racc, r->identity, r->size);
    struct reduce_item right = {.it = {.run = reduce_run}, .r = r, .lo = mid, .hi = hi,
                                .acc = racc};
    if (fork_item(w, &right.it)) {
        reduce_range(w, r, lo, mid, acc);
        sync_item(w, &right.it);
    } else {
        reduce_range(w, r, lo, mid, acc);
        reduce_range(w, r, mid, hi, racc);
    }
    r->combine(acc, racc, r->arg);
}

static void reduce_body(struct fj_worker *w, void *ctx)
{
    const struct reduce *r = ctx;
    reduce_range(w, r, r->begin, r->end, r->acc);
}

int parallel_reduce(int64_t begin, int64_t end, int64_t grain, void *result, size_t size,
                    const void *identity, fj_fold_fn fold, fj_combine_fn combine, void *arg)
{
    if (size == 0 || size > FJ_REDUCE_MAX || !result || !identity || !fold || !combine)
        return -EINVAL;
    _Alignas(16) unsigned char acc[FJ_REDUCE_MAX];
    memcpy(acc, identity, size);
    int err = 0;
    if (end > begin) {
        struct reduce r = {.fold = fold, .combine = combine, .arg = arg, .identity = identity,
                           .size = size, .begin = begin, .end = end,
                           .grain = grain < 1 ? 1 : grain, .acc = acc};
        err = fj_run(reduce_body, &r);
    }
    if (!err)
        memcpy(result, acc, size);
    return err;
}
