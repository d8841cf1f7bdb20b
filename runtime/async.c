/*
 * Stackless tasks and their executors (see sr/async.h).
 *
 * Executor: one per core and QoS class, a stackful task pinned to the core
 * at that class, created on first use and never destroyed. It pops ready
 * tasks (FIFO) and polls them; with none ready it blocks in the scheduler,
 * and the waker that queues a task wakes it (sched_wake). A task's sched
 * state, under the executor's lock:
 *   IDLE (parked, or never started) -> QUEUED (on the ready list) ->
 *   RUNNING (being polled) -> IDLE, or NOTIFIED (woken while running:
 *   queued again when the poll returns).
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

enum { S_IDLE, S_QUEUED, S_RUNNING, S_NOTIFIED };

#define ASYNC_F_DONE      (1u << 0)
#define ASYNC_F_CANCEL    (1u << 1)
#define ASYNC_F_DETACHED  (1u << 2)
#define ASYNC_F_STARTED   (1u << 3)
#define ASYNC_F_ENDED_CANCELLED (1u << 4)   /* cancel was requested before it ended */

#define EXEC_STACK (16 * 1024)

struct async_exec {
    spinlock_t lock;
    struct async_task *head, *tail;
    bool sleeping;                   /* blocked in exec_main: wake it on queueing */
    _Atomic bool created;
    struct task *task;
    uint64_t polls, completed;
} __attribute__((aligned(64)));

static struct async_exec execs[PLAT_MAX_CPUS][QOS_COUNT];
static struct mutex exec_create_lock = MUTEX_INIT;

static inline struct async_exec *exec_of(const struct async_task *t)
{
    return &execs[t->cpu][t->qos];
}

static inline void ready_push(struct async_exec *e, struct async_task *t)
{
    t->next = NULL;
    if (e->tail)
        e->tail->next = t;
    else
        e->head = t;
    e->tail = t;
    t->sched = S_QUEUED;
}

/* Make t runnable; if fired, publish DONE under the executor lock (so the
 * task cannot finish and be freed before this returns). */
static void make_ready(struct async_task *t, bool fired)
{
    struct async_exec *e = exec_of(t);
    uint64_t flags = spin_lock_irqsave(&e->lock);
    if (fired)
        waker_set_done(&t->waker);
    if (t->sched == S_IDLE) {
        ready_push(e, t);
        if (e->sleeping) {
            e->sleeping = false;
            sched_wake(e->task, WAIT_OK);
        }
    } else if (t->sched == S_RUNNING) {
        t->sched = S_NOTIFIED;
    }
    spin_unlock_irqrestore(&e->lock, flags);
}

static void async_fire(struct waker *w)
{
    make_ready(container_of(w, struct async_task, waker), true);
}

/* The task's poll returned ASYNC_DONE: publish, wake joiners, maybe free. */
static void complete(struct async_exec *e, struct async_task *t)
{
    uint64_t flags = spin_lock_irqsave(&t->lock);
    /* Under t->lock nobody else sets flags but async_cancel (CANCEL, which
     * may land after this load: then it came too late to count). */
    uint8_t f = atomic_load_explicit(&t->flags, memory_order_relaxed);
    atomic_fetch_or(&t->flags, ASYNC_F_DONE | ((f & ASYNC_F_CANCEL) ? ASYNC_F_ENDED_CANCELLED : 0));
    wait_list_claim_all(&t->joiners, 0);
    spin_unlock_irqrestore(&t->lock, flags);
    e->completed++;
    if (f & ASYNC_F_DETACHED)
        free(t);
}

static int64_t exec_main(void *arg)
{
    struct async_exec *e = arg;
    uint64_t flags = spin_lock_irqsave(&e->lock);
    for (;;) {
        struct async_task *t = e->head;
        if (!t) {
            e->sleeping = true;
            sched_block(&e->lock, 0);   /* releases the lock; IRQs stay masked */
            spin_lock(&e->lock);
            continue;
        }
        e->head = t->next;
        if (!e->head)
            e->tail = NULL;
        t->sched = S_RUNNING;
        e->polls++;
        spin_unlock_irqrestore(&e->lock, flags);

        int r = t->poll(t);

        if (r != ASYNC_PENDING) {
            complete(e, t);
            flags = spin_lock_irqsave(&e->lock);
            continue;
        }
        /* Back to IDLE, or straight back on the list if woken meanwhile; the
         * lock stays held for the next pop. */
        flags = spin_lock_irqsave(&e->lock);
        if (t->sched == S_NOTIFIED)
            ready_push(e, t);
        else
            t->sched = S_IDLE;
    }
    return 0;
}

/* The executor of (cpu, qos), created on first use. */
static struct async_exec *exec_get(int cpu, unsigned qos)
{
    struct async_exec *e = &execs[cpu][qos];
    if (atomic_load_explicit(&e->created, memory_order_acquire))
        return e;
    mutex_lock(&exec_create_lock);
    if (!atomic_load_explicit(&e->created, memory_order_relaxed)) {
        static const char *const band[QOS_COUNT] = {"uin", "uini", "def", "util", "bg"};
        char name[TASK_NAME_LEN];
        snprintf(name, sizeof(name), "async%d/%s", cpu, band[qos]);
        e->lock = (spinlock_t)SPINLOCK_INIT;
        struct task_attr attr = {.name = name, .qos = (enum qos)qos, .stack_size = EXEC_STACK,
                                 .affinity = 1u << cpu, .detached = true};
        e->task = task_spawn(exec_main, e, &attr);
        if (!e->task)
            panic("async: cannot create the executor of cpu %d class %u", cpu, qos);
        atomic_store_explicit(&e->created, true, memory_order_release);
    }
    mutex_unlock(&exec_create_lock);
    return e;
}

/* --- lifecycle ------------------------------------------------------------- */

struct async_task *async_new(async_poll_fn poll, size_t size, const struct async_attr *attr)
{
    struct async_attr def = {.qos = QOS_DEFAULT, .cpu = -1};
    if (!attr)
        attr = &def;
    int cpu = attr->cpu < 0 ? cpu_id() : attr->cpu;
    if (!poll || size < sizeof(struct async_task) || (unsigned)attr->qos >= QOS_COUNT ||
        cpu >= platform.ncpus || (cpu != cpu_id() && !smp_cpu_online(cpu))) {
        errno = EINVAL;
        return NULL;
    }
    struct async_task *t = malloc(size);
    if (!t) {
        errno = ENOMEM;
        return NULL;
    }
    *t = (struct async_task){
        .poll = poll,
        .waker = {.which = -1, .fire = async_fire},
        .timer = {.index = -1},
        .cpu = (uint8_t)cpu,
        .qos = (uint8_t)attr->qos,
        .flags = attr->detached ? ASYNC_F_DETACHED : 0,
    };
    t->joiners.lock = &t->lock;
    if (size > sizeof(*t))
        memset(t + 1, 0, size - sizeof(*t));   /* the caller's state starts zeroed */
    return t;
}

void async_start(struct async_task *t)
{
    struct async_exec *e = exec_get(t->cpu, t->qos);
    (void)e;
    atomic_fetch_or(&t->flags, ASYNC_F_STARTED);
    make_ready(t, false);
    sched_resched_if_needed();
}

void async_free_unstarted(struct async_task *t)
{
    if (!(atomic_load(&t->flags) & ASYNC_F_STARTED))
        free(t);
}

bool async_done(struct async_task *t)
{
    return atomic_load_explicit(&t->flags, memory_order_acquire) & ASYNC_F_DONE;
}

static enum async_status status_of(struct async_task *t)
{
    return (atomic_load(&t->flags) & ASYNC_F_ENDED_CANCELLED) ? ASYNC_CANCELLED : ASYNC_COMPLETED;
}

void async_cancel(struct async_task *t)
{
    atomic_fetch_or(&t->flags, ASYNC_F_CANCEL);   /* seq_cst: pairs with async_wait_park */
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
        free(t);
}

enum async_status async_join(struct async_task *t, int64_t *value)
{
    uint64_t flags = spin_lock_irqsave(&t->lock);
    if (!(atomic_load(&t->flags) & ASYNC_F_DONE)) {
        struct task_waker tw;
        struct wait_node n;
        task_waker_init(&tw);
        waker_arm(&tw.w, tw.w.qos);
        wait_node_init(&n, &tw.w, 0, NULL);
        wait_list_add(&t->joiners, &n);
        task_waker_wait_on(&tw, &n, flags, 0);   /* fired under t->lock by complete() */
    } else {
        spin_unlock_irqrestore(&t->lock, flags);
    }
    enum async_status s = status_of(t);
    if (value)
        *value = t->value;
    free(t);
    return s;
}

/* --- waits of stackless tasks ----------------------------------------------- */

uint64_t async_deadline_after(uint64_t ns) { return clock_ns() + ns; }

int async_cancelled(struct async_task *self)
{
    return (atomic_load(&self->flags) & ASYNC_F_CANCEL) ? -ECANCELED : 0;
}

static void async_timer_fire(void *arg, uint32_t seq)
{
    struct async_task *t = arg;
    if (seq == t->episode && waker_claim(&t->waker, -1, -ETIMEDOUT))
        waker_fire(&t->waker);
}

int async_wait_park(struct async_task *self)
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

int32_t async_wait_end(struct async_task *self)
{
    if (timer_queued(&self->timer))
        sched_timer_cancel(&self->timer);
    self->episode++;
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
    if (atomic_load(&t->flags) & ASYNC_F_DONE)
        return true;
    waker_arm(&self->waker, self->qos);
    wait_node_init(&self->node, &self->waker, 0, NULL);
    wait_list_add(&t->joiners, &self->node);
    return false;
}

int async_join_await(struct async_task *self, struct async_task *t, int64_t *value)
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
        uint64_t flags = spin_lock_irqsave(&t->lock);
        bool done = join_or_queue(self, t);
        spin_unlock_irqrestore(&t->lock, flags);
        if (!done)
            return async_wait_park(self);
    }
    int s = status_of(t);
    if (value)
        *value = t->value;
    free(t);
    return s;
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
        free(t);
        tasks[i] = NULL;
    }
    return 0;
}

void async_exec_stats(int cpu, enum qos qos, struct async_exec_stats *out)
{
    struct async_exec *e = &execs[cpu][qos];
    uint64_t flags = spin_lock_irqsave(&e->lock);
    *out = (struct async_exec_stats){e->polls, e->completed};
    spin_unlock_irqrestore(&e->lock, flags);
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

static const struct sel_kind done_kind = {done_lock, done_ready, done_perform, done_list};

void async_case_done(struct sel_case *c, struct async_task *t)
{
    *c = (struct sel_case){.kind = &done_kind, .obj = t};
}
