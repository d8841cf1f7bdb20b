/*
 * Stackless tasks and their executors (see sr/async.h).
 *
 * Executor: one per core and QoS class, a stackful task pinned to the core
 * at that class, created on first use and never destroyed. It polls ready
 * tasks in FIFO order; with none ready it blocks in the scheduler, and the
 * waker that queues a task wakes it (sched_wake).
 *
 * Two ready lists: the *local* list belongs to the executor task alone (no
 * lock): a waker running in the executor task itself (a child's completion
 * resuming its parent, a yield, a channel operation of one of its tasks,
 * async_start of a task homed here) pushes there with a few plain stores.
 * Every other waker (another core, another task of this core, an interrupt)
 * pushes on the *shared* list under the executor's lock; the executor moves
 * the shared list behind its local one whenever it finds it non-empty, so
 * remote wake-ups are not starved by local ones.
 *
 * A task's sched state (atomic):
 *   IDLE (parked) -> QUEUED (on a ready list) -> RUNNING (being polled) ->
 *   IDLE, or NOTIFIED (woken while running: queued again when the poll
 *   returns). A spawned task is RUNNING until async_start (nothing can
 *   make an unstarted task ready), which either polls it inline as it is
 *   or sets IDLE and queues it.
 * Who moves it: a waker that claimed the task's waker (exactly one per
 * wait) or async_start (once) moves IDLE -> QUEUED and RUNNING -> NOTIFIED;
 * the executor moves QUEUED -> RUNNING and RUNNING -> IDLE (a compare-and-
 * swap that fails if a remote waker made it NOTIFIED meanwhile). Remote
 * wakers do their part under the executor's lock.
 * Inline first polls: async_start called by the executor task itself
 * polls the new task at once (exec_poll, as exec_main would) instead of
 * queueing it; e->inline_owner (the executor task, NULL during such a
 * poll) keeps that to one level, so the executor's stack
 * holds at most one nested poll.
 * Memory: a task's block comes from its heap size class (heap_class_alloc,
 * the heap's per-core slab cache) and goes back the same way, except on
 * the executor task itself: there a task of at most ASYNC_CACHE_BYTES is
 * taken from, and a block of that class given back to, the executor's own
 * cache of free blocks (a plain list: no lock, no IRQ masking, no atomics;
 * the executor task is pinned). It holds at most what the executor's own
 * children used at once, and is cut to ASYNC_CACHE_MAX blocks whenever the
 * executor goes to sleep.
 * Flags: CANCEL is set only while DONE is not (async_cancel's compare-
 * and-swap), so a task that ended with CANCEL set was cancelled first.
 * Lock order: list locks (channels, task joiners) -> executor lock -> run
 * queue lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/mutex.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <sr/async.h>
#include <sr/select.h>
#include <sr/wait_task.h>

enum { S_IDLE = ASYNC_S_IDLE, S_QUEUED = ASYNC_S_QUEUED, S_RUNNING = ASYNC_S_RUNNING,
       S_NOTIFIED = ASYNC_S_NOTIFIED };

#define EXEC_STACK (16 * 1024)

struct async_exec async_execs_[PLAT_MAX_CPUS][QOS_COUNT];
uint8_t async_cache_class_ = HEAP_NO_CLASS;
#define execs async_execs_
static struct mutex exec_create_lock = MUTEX_INIT;

static inline struct async_exec *exec_of(const struct async_task *t)
{
    return async_exec_of_(t);
}

/* Are a and b homed on the same executor (core and class)? */
static inline bool same_exec(const struct async_task *a, const struct async_task *b)
{
    return a->exec == b->exec;
}

static inline void list_push(struct async_list *l, struct async_task *t) { async_list_push_(l, t); }

static inline uint8_t sched_state(const struct async_task *t)
{
    return atomic_load_explicit(&((struct async_task *)t)->sched, memory_order_relaxed);
}

static inline void set_sched(struct async_task *t, uint8_t s)
{
    atomic_store_explicit(&t->sched, s, memory_order_relaxed);
}

/* Is the caller e's executor task itself (not an interrupt on top of it)? */
static inline bool on_executor(const struct async_exec *e)
{
    return e->task == sched_current() && !this_cpu()->in_irq;
}

/* Make t runnable (fired: publish the waker's DONE too); the executor
 * task's own wakes are inline (async_make_ready_, sr/async.h). Everyone
 * else publishes DONE under the executor lock, so the task cannot finish
 * and be freed before this returns. */
void async_make_ready_shared_(struct async_exec *e, struct async_task *t, bool fired)
{
    uint64_t flags = spin_lock_irqsave(&e->lock);
    if (fired)
        waker_set_done(&t->waker);
    uint8_t s = S_RUNNING;
    if (!atomic_compare_exchange_strong_explicit(&t->sched, &s, S_NOTIFIED, memory_order_relaxed,
                                                 memory_order_relaxed) &&
        s == S_IDLE) {
        set_sched(t, S_QUEUED);
        t->next = NULL;
        struct async_task *tail = e->shared_tail;
        if (tail)
            tail->next = t;
        else
            atomic_store_explicit(&e->shared_head, t, memory_order_relaxed);
        e->shared_tail = t;
        if (e->sleeping) {
            e->sleeping = false;
            sched_wake(e->task, WAIT_OK);
        }
    }
    spin_unlock_irqrestore(&e->lock, flags);
}

static inline void make_ready(struct async_task *t, bool fired) { async_make_ready_(t, fired); }

void async_fire_(struct waker *w)
{
    make_ready(container_of(w, struct async_task, waker), true);
}

/* Give t's block back to the heap. */
static __attribute__((noinline)) void task_free(struct async_task *t)
{
    if (t->heap_class != HEAP_NO_CLASS)
        heap_class_free(t->heap_class, t);
    else
        free(t);
}

static inline unsigned cache_class(void) { return async_cache_class_; }

void async_task_free_(struct async_task *t) { task_free(t); }

static inline void exec_free(struct async_exec *e, struct async_task *t) { async_exec_free_(e, t); }

/* The task's poll returned ASYNC_DONE: publish, wake joiners, maybe free.
 * Whoever looks for DONE under t->lock (joiners, select cases) first sets
 * ASYNC_F_JOINERS (joiners_set_check_done). While it is clear, DONE is set
 * with one compare-and-swap and t is not touched again (a joiner seeing
 * DONE may free it at once); once it is set, DONE is set and the joiners
 * are woken under the lock, so a joiner that sees DONE under the lock
 * knows this is over. The compare-and-swap on the one flags word orders
 * the two cases, and DETACHED likewise (async_detach). */
void async_complete_slow_(struct async_exec *e, struct async_task *t)
{
    uint8_t f = atomic_load_explicit(&t->flags, memory_order_relaxed);
    while (!(f & ASYNC_F_JOINERS)) {
        if (atomic_compare_exchange_weak_explicit(&t->flags, &f, f | ASYNC_F_DONE, memory_order_release,
                                                  memory_order_relaxed)) {
            if (f & ASYNC_F_DETACHED)
                exec_free(e, t);
            return;
        }
    }
    uint64_t flags = spin_lock_irqsave(&t->lock);
    /* Under t->lock nobody else sets flags but async_cancel (CANCEL, not
     * once DONE is set). */
    f = atomic_fetch_or(&t->flags, ASYNC_F_DONE);
    wait_list_claim_all(&t->joiners, 0);
    spin_unlock_irqrestore(&t->lock, flags);
    if (f & ASYNC_F_DETACHED)
        exec_free(e, t);
}

/* Under t->lock, before looking at t's end: has it ended? (Sets
 * ASYNC_F_JOINERS: from now on complete() takes the lock.) */
static bool joiners_set_check_done(struct async_task *t)
{
    return atomic_fetch_or(&t->flags, ASYNC_F_JOINERS) & ASYNC_F_DONE;
}

void async_parked_(struct async_exec *e, struct async_task *t)
{
    uint8_t s = S_RUNNING;
    if (!atomic_compare_exchange_strong_explicit(&t->sched, &s, S_IDLE, memory_order_relaxed,
                                                 memory_order_relaxed)) {
        set_sched(t, S_QUEUED);   /* was NOTIFIED */
        list_push(&e->local, t);
    }
}

static inline void exec_poll(struct async_exec *e, struct async_task *t) { async_exec_poll_(e, t); }

/* Move the shared list behind the local one; with IRQs masked. */
static void take_shared(struct async_exec *e)
{
    spin_lock(&e->lock);
    struct async_task *h = atomic_load_explicit(&e->shared_head, memory_order_relaxed);
    if (h) {
        if (e->local.tail)
            e->local.tail->next = h;
        else
            e->local.head = h;
        e->local.tail = e->shared_tail;
        atomic_store_explicit(&e->shared_head, NULL, memory_order_relaxed);
        e->shared_tail = NULL;
    }
    spin_unlock(&e->lock);
}

/* Before the executor sleeps: keep at most ASYNC_CACHE_MAX cached blocks. */
static void cache_trim(struct async_exec *e)
{
    struct async_task *t = e->cache;
    for (int n = 1; t && n < ASYNC_CACHE_MAX; n++)
        t = t->next;
    if (!t)
        return;
    struct async_task *extra = t->next;
    t->next = NULL;
    while ((t = extra)) {
        extra = t->next;
        task_free(t);
    }
}

static int64_t exec_main(void *arg)
{
    struct async_exec *e = arg;
    e->inline_owner = sched_current();
    for (;;) {
        if (atomic_load_explicit(&e->shared_head, memory_order_relaxed) || !e->local.head) {
            uint64_t flags = arch_irq_save();
            take_shared(e);
            if (!e->local.head) {
                arch_irq_restore(flags);
                cache_trim(e);
                flags = arch_irq_save();
                spin_lock(&e->lock);
                if (!atomic_load_explicit(&e->shared_head, memory_order_relaxed)) {
                    e->sleeping = true;
                    sched_block(&e->lock, 0);   /* releases the lock; IRQs stay masked */
                } else {
                    spin_unlock(&e->lock);
                }
                arch_irq_restore(flags);
                continue;
            }
            arch_irq_restore(flags);
        }
        struct async_task *t = e->local.head;
        e->local.head = t->next;
        if (!e->local.head)
            e->local.tail = NULL;
        set_sched(t, S_RUNNING);
        exec_poll(e, t);
    }
    return 0;
}

/* Create the executor of (cpu, qos) unless it exists. */
static __attribute__((noinline)) void exec_create(struct async_exec *e, int cpu, unsigned qos)
{
    mutex_lock(&exec_create_lock);
    if (!atomic_load_explicit(&e->created, memory_order_relaxed)) {
        static const char *const band[QOS_COUNT] = {"uin", "uini", "def", "util", "bg"};
        char name[TASK_NAME_LEN];
        snprintf(name, sizeof(name), "async%d/%s", cpu, band[qos]);
        e->lock = (spinlock_t)SPINLOCK_INIT;
        async_cache_class_ = (uint8_t)heap_class_of(ASYNC_CACHE_BYTES);
        struct task_attr attr = {.name = name, .qos = (enum qos)qos, .stack_size = EXEC_STACK,
                                 .affinity = 1u << cpu, .detached = true};
        e->spawn_word = async_spawn_word_((unsigned)cpu * QOS_COUNT + qos, qos, async_cache_class_);
        e->task = task_spawn(exec_main, e, &attr);
        if (!e->task)
            panic("async: cannot create the executor of cpu %d class %u", cpu, qos);
        atomic_store_explicit(&e->created, true, memory_order_release);
    }
    mutex_unlock(&exec_create_lock);
}

/* The executor of (cpu, qos), created on first use. */
static inline struct async_exec *exec_get(int cpu, unsigned qos)
{
    struct async_exec *e = &execs[cpu][qos];
    if (__builtin_expect(!atomic_load_explicit(&e->created, memory_order_acquire), 0))
        exec_create(e, cpu, qos);
    return e;
}

/* --- lifecycle ------------------------------------------------------------- */

struct async_task *async_new_slow_(async_poll_fn poll, size_t size, const struct async_attr *attr)
{
    unsigned qos = attr ? (unsigned)attr->qos : QOS_DEFAULT;
    int here = cpu_id();
    int cpu = attr && attr->cpu >= 0 ? attr->cpu : here;
    if (!poll || size < sizeof(struct async_task) || qos >= QOS_COUNT ||
        (cpu != here && (cpu >= platform.ncpus || !smp_cpu_online(cpu)))) {
        errno = EINVAL;
        return NULL;
    }
    /* On its executor, a small task's block is of the cached class (it
     * will likely be freed there, into the cache). */
    unsigned cls = size <= ASYNC_CACHE_BYTES && cpu == here && on_executor(&execs[here][qos])
                 ? cache_class() : heap_class_of(size);
    struct async_task *t = cls != HEAP_NO_CLASS ? heap_class_alloc(cls) : malloc(size);
    if (!t) {
        errno = ENOMEM;
        return NULL;
    }
    async_task_init_(t, poll, size,
                     async_spawn_word_((unsigned)cpu * QOS_COUNT + qos, qos, cls) |
                     (attr && attr->detached ? ASYNC_WORD_DETACHED : 0));
    return t;
}

void async_start_slow_(struct async_exec *e, struct async_task *t)
{
    set_sched(t, S_IDLE);   /* RUNNING since its spawn (async_spawn_word_); not shared yet */
    if (on_executor(e)) {   /* inside an inline first poll: queue it */
        make_ready(t, false);
        return;
    }
    exec_get(t->exec / QOS_COUNT, t->qos);
    make_ready(t, false);
    sched_resched_if_needed();
}

void async_free_unstarted(struct async_task *t)
{
    if (!t->started)
        task_free(t);
}

bool async_done(struct async_task *t)
{
    return atomic_load_explicit(&t->flags, memory_order_acquire) & ASYNC_F_DONE;
}

/* Of an ended task: CANCEL is never set after DONE (async_cancel). */
static inline enum async_status status_of_flags(uint8_t f)
{
    return (f & ASYNC_F_CANCEL) ? ASYNC_CANCELLED : ASYNC_COMPLETED;
}

static enum async_status status_of(struct async_task *t)
{
    return status_of_flags(atomic_load(&t->flags));
}

void async_cancel(struct async_task *t)
{
    /* seq_cst: pairs with async_wait_park. An ended task is not cancelled. */
    uint8_t f = atomic_load_explicit(&t->flags, memory_order_relaxed);
    do {
        if (f & ASYNC_F_DONE)
            return;
    } while (!atomic_compare_exchange_weak(&t->flags, &f, f | ASYNC_F_CANCEL));
    if (waker_claim(&t->waker, -1, -ECANCELED))
        waker_fire(&t->waker);
    sched_resched_if_needed();
}

void async_detach(struct async_task *t)
{
    uint64_t flags = spin_lock_irqsave(&t->lock);
    uint8_t f = atomic_fetch_or(&t->flags, ASYNC_F_DETACHED);
    spin_unlock_irqrestore(&t->lock, flags);
    if (f & ASYNC_F_DONE)
        task_free(t);
}

enum async_status async_join(struct async_task *t, int64_t *value)
{
    uint64_t flags = spin_lock_irqsave(&t->lock);
    if (!joiners_set_check_done(t)) {
        task_wait_listed(&t->joiners, NULL, flags, 0, false);   /* fired under t->lock by complete() */
    } else {
        spin_unlock_irqrestore(&t->lock, flags);
    }
    enum async_status s = status_of(t);
    if (value)
        *value = t->value;
    task_free(t);
    return s;
}

/* --- waits of stackless tasks ----------------------------------------------- */

uint64_t async_deadline_after(uint64_t ns) { return clock_ns() + ns; }

static void async_timer_fire(void *arg, uint32_t seq)
{
    struct async_task *t = arg;
    if (seq == t->episode && waker_claim(&t->waker, -1, -ETIMEDOUT))
        waker_fire(&t->waker);
}

int async_wait_park_slow_(struct async_task *self)
{
    if (self->deadline_ns) {
        self->timer.fn = async_timer_fire;
        self->timer.arg = self;
        self->timer.seq = self->episode;
        sched_timer_arm(&self->timer, self->deadline_ns);
    }
    /* The waker is WAITING and cancel sets its flag before claiming: one of
     * us sees the other. */
    if (async_cancelled(self) && waker_claim(&self->waker, -1, -ECANCELED))
        waker_fire(&self->waker);
    return ASYNC_PENDING;
}

int32_t async_wait_end_slow_(struct async_task *self)
{
    sched_timer_cancel(&self->timer);   /* if still queued */
    self->episode++;                    /* a firing in flight is stale */
    int32_t r = self->waker.result;
    atomic_store_explicit(&self->waker.state, WAKER_IDLE, memory_order_relaxed);
    return r;
}

int async_sleep_until(struct async_task *self, uint64_t deadline_ns)
{
    if (async_waiting(self)) {
        if (!async_wait_over(self))
            return ASYNC_PENDING;
        int32_t r = async_wait_end(self);
        if (r == -ETIMEDOUT && clock_ns() >= deadline_ns)
            r = 0;   /* our own deadline, not an enclosing timeout */
        return r;
    }
    int r = async_cancelled(self);
    if (r)
        return r;
    if (clock_ns() >= deadline_ns)
        return 0;
    if (!self->deadline_ns || deadline_ns < self->deadline_ns)
        self->deadline_ns = deadline_ns;
    waker_arm(&self->waker, self->qos);
    return async_wait_park(self);
}

int async_yield_op(struct async_task *self)
{
    if (async_waiting(self)) {
        if (!async_wait_over(self))
            return ASYNC_PENDING;
        return async_wait_end(self);
    }
    int r = async_cancelled(self);
    if (r)
        return r;
    /* Fire ourselves: requeued behind whatever is ready now. */
    waker_arm(&self->waker, self->qos);
    if (waker_claim(&self->waker, -1, 0))
        waker_fire(&self->waker);
    return ASYNC_PENDING;
}

/* Under t->lock: is t done? If not, queue self's node on its joiners. */
static bool join_or_queue(struct async_task *self, struct async_task *t)
{
    if (joiners_set_check_done(t))
        return true;
    waker_arm(&self->waker, self->qos);
    wait_node_init(&self->node, &self->waker, 0, NULL);
    wait_list_add(&t->joiners, &self->node);
    return false;
}

/* After a join wait ended: t's complete() must be over before t is freed.
 * It fired us under t->lock; if it ran on our own executor it returned
 * before we were polled, and its claim unlinked our node, so the lock is
 * needed only for another executor's completion or a timeout/cancel. */
static void join_wait_done(struct async_task *self, struct async_task *t)
{
    if (self->waker.which >= 0 && same_exec(t, self))
        return;
    wait_node_unlink(&self->node);
}

int async_join_await_slow_(struct async_task *self, struct async_task *t, int64_t *value)
{
    uint8_t f;
    if (async_waiting(self)) {
        if (!async_wait_over(self))
            return ASYNC_PENDING;
        join_wait_done(self, t);
        int32_t r = async_wait_end(self);
        if (r < 0)
            return r;
        f = atomic_load_explicit(&t->flags, memory_order_acquire);
    } else {
        f = atomic_load(&self->flags);
        if (f & ASYNC_F_CANCEL)
            return -ECANCELED;
        /* Ended on self's own executor? Then its complete() has returned
         * (it ran on the executor task, as self's polls do): no lock. */
        if (!same_exec(t, self) ||
            !((f = atomic_load_explicit(&t->flags, memory_order_acquire)) & ASYNC_F_DONE)) {
            uint64_t flags = spin_lock_irqsave(&t->lock);
            bool done = join_or_queue(self, t);
            spin_unlock_irqrestore(&t->lock, flags);
            if (!done)
                return async_wait_park(self);
            f = atomic_load_explicit(&t->flags, memory_order_acquire);
        }
    }
    if (value)
        *value = t->value;
    /* self is polled by its executor task; t is freed to that executor's
     * cache if it is t's too. */
    if (same_exec(t, self))
        exec_free(exec_of(self), t);
    else
        task_free(t);
    return status_of_flags(f);
}

int async_join_all(struct async_task *self, struct async_task **tasks, int64_t *values, unsigned n)
{
    if (async_waiting(self)) {
        if (!async_wait_over(self))
            return ASYNC_PENDING;
        wait_node_unlink(&self->node);   /* takes t->lock: complete() is over */
        int32_t r = async_wait_end(self);
        if (r < 0)
            return r;
    } else {
        int r = async_cancelled(self);
        if (r)
            return r;
    }
    for (unsigned i = 0; i < n; i++) {
        struct async_task *t = tasks[i];
        if (!t)
            continue;
        uint64_t flags = spin_lock_irqsave(&t->lock);
        bool done = join_or_queue(self, t);
        spin_unlock_irqrestore(&t->lock, flags);
        if (!done)
            return async_wait_park(self);
        if (values)
            values[i] = t->value;
        task_free(t);
        tasks[i] = NULL;
    }
    return 0;
}

/* --- select case: a task has ended ------------------------------------------ */

static spinlock_t *done_lock(const struct sel_case *c)
{
    return &((struct async_task *)c->obj)->lock;
}

static bool done_ready(struct sel_case *c)
{
    return atomic_load(&((struct async_task *)c->obj)->flags) & ASYNC_F_DONE;
}

static bool done_perform(struct sel_case *c, int32_t *result)
{
    *result = 0;
    return done_ready(c);
}

static struct wait_list *done_list(struct sel_case *c)
{
    return &((struct async_task *)c->obj)->joiners;
}

/* complete() must see this case's node (or we its DONE). */
static void done_arm(struct sel_case *c)
{
    joiners_set_check_done((struct async_task *)c->obj);
}

static const struct sel_kind done_kind = {done_lock, done_ready, done_perform, done_list, done_arm, NULL};

void async_case_done(struct sel_case *c, struct async_task *t)
{
    *c = (struct sel_case){.kind = &done_kind, .obj = t};
}
