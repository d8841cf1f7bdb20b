/* Structured concurrency scopes (see sr/scope.h).
 *
 * Locking: s->wq.lock guards the scope (children list, live count, cause,
 * first error, nested list). Cancellation goes down the tree holding the
 * parent's lock while taking a nested scope's (parent before child, never
 * the other way), and from a scope's lock into the wait-queue locks of the
 * children it cancels (task_cancel). A child's record is written by its end
 * (child_ended, under the lock) and freed only by the owner in scope_close,
 * after every child has ended. */
#include <errno.h>
#include <stdlib.h>
#include <arch/cpu.h>
#include <kernel/clock.h>
#include <kernel/sched.h>
#include <sr/scope.h>

struct scope_child {
    struct scope_child *next;
    struct scope *scope;
    struct task *task;              /* stackful child, once spawned */
    struct scope_async *async;      /* stackless child */
    struct scope_result result;
    bool joined;
};

static bool child_ended_already(const struct scope_child *c)
{
    return c->result.reason != SCOPE_RUNNING;
}

/* Under s's lock: cancel s's running children and nested scopes. */
static void cancel_locked(struct scope *s, enum scope_cause cause)
{
    if (s->cause != SCOPE_NOT_CANCELLED)
        return;
    s->cause = cause;
    for (struct scope_child *c = s->head; c; c = c->next) {
        if (child_ended_already(c))
            continue;
        if (c->task)
            task_cancel(c->task);
        else if (c->async)
            async_cancel(&c->async->t);
        /* neither: being spawned; the spawner sees the cause and cancels it */
    }
    enum scope_cause down = scope_cause_down(cause);
    for (struct scope *n = s->nested; n; n = n->nested_next) {
        uint64_t f = spin_lock_irqsave(&n->wq.lock);
        cancel_locked(n, down);
        spin_unlock_irqrestore(&n->wq.lock, f);
    }
}

/* A child ended (its own context, its fault handler's, or its executor's). */
static void child_ended(struct scope_child *c, enum task_status st, int64_t v)
{
    struct scope *s = c->scope;
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    /* Past the scope's deadline, its timeout has happened whether or not
     * the timer has run yet: a child that timed out on that same deadline
     * (a nested scope inherits it) ended by the scope's timeout, not by an
     * error of its own. */
    if (s->cause == SCOPE_NOT_CANCELLED && s->deadline_ns && clock_ns() >= s->deadline_ns)
        cancel_locked(s, SCOPE_BY_DEADLINE);
    bool faulted = st == TASK_FAULTED;
    enum scope_reason why = scope_classify(s->cause, faulted, v);
    c->result = (struct scope_result){why, faulted ? 0 : v};
    if (scope_is_error(s->cause, why, v)) {
        s->errors++;
        if (!s->first_error)
            s->first_error = c;
        if (s->policy == SCOPE_FIRST_ERROR)
            cancel_locked(s, SCOPE_BY_ERROR);
    }
    if (--s->live == 0)
        waitq_wake_all(&s->wq, WAIT_OK);
    spin_unlock_irqrestore(&s->wq.lock, f);
}

static void task_child_ended(void *arg, enum task_status st, int64_t v)
{
    child_ended(arg, st, v);
}

static void deadline_fire(void *arg, uint32_t seq)
{
    (void)seq;
    struct scope *s = arg;
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    cancel_locked(s, SCOPE_BY_DEADLINE);
    spin_unlock_irqrestore(&s->wq.lock, f);
    atomic_store_explicit(&s->timer_done, 1, memory_order_release);   /* last touch of s */
}

int scope_open(struct scope *s, struct scope *parent, const struct scope_attr *attr)
{
    static const struct scope_attr none = {0};
    if (!attr)
        attr = &none;
    *s = (struct scope){.wq = WAITQ_INIT, .parent = parent, .policy = attr->policy};
    timer_init(&s->timer);
    uint64_t now = clock_ns();
    uint64_t dl = scope_deadline(attr->deadline_ns, attr->timeout_ns, now, 0);
    uint64_t pf = 0;
    if (parent) {
        /* s is complete before it joins the parent's list (and so can be
         * cancelled from there). */
        pf = spin_lock_irqsave(&parent->wq.lock);
        dl = scope_deadline(dl, 0, now, parent->deadline_ns);
        if (parent->cause != SCOPE_NOT_CANCELLED)
            s->cause = scope_cause_down(parent->cause);
    }
    s->deadline_ns = dl;
    if (dl && dl <= now && s->cause == SCOPE_NOT_CANCELLED)
        s->cause = SCOPE_BY_DEADLINE;
    if (parent) {
        s->nested_next = parent->nested;
        parent->nested = s;
        spin_unlock_irqrestore(&parent->wq.lock, pf);
    }
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    if (dl > now && s->cause == SCOPE_NOT_CANCELLED) {
        s->timer.fn = deadline_fire;
        s->timer.arg = s;
        s->timer_armed = true;
        sched_timer_arm(&s->timer, dl);
    }
    spin_unlock_irqrestore(&s->wq.lock, f);
    return 0;
}

/* Add a record for a child about to start; NULL (errno) if it cannot. */
static struct scope_child *child_add(struct scope *s)
{
    struct scope_child *c = calloc(1, sizeof(*c));
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    c->scope = s;
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    if (s->tail)
        s->tail->next = c;
    else
        s->head = c;
    s->tail = c;
    s->live++;
    s->spawned++;
    spin_unlock_irqrestore(&s->wq.lock, f);
    return c;
}

/* The child could not start: its record goes, as if never added. */
static void child_remove(struct scope_child *c)
{
    struct scope *s = c->scope;
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    struct scope_child *prev = NULL;
    for (struct scope_child *p = s->head; p != c; p = p->next)
        prev = p;
    if (prev)
        prev->next = c->next;
    else
        s->head = c->next;
    if (s->tail == c)
        s->tail = prev;
    s->spawned--;
    if (--s->live == 0)
        waitq_wake_all(&s->wq, WAIT_OK);
    spin_unlock_irqrestore(&s->wq.lock, f);
    free(c);
}

struct scope_child *scope_spawn(struct scope *s, task_fn fn, void *arg, const struct task_attr *attr)
{
    struct task_attr a = attr ? *attr : (struct task_attr){.name = "scope-child", .qos = QOS_DEFAULT};
    if (a.detached || a.on_end) {
        errno = EINVAL;
        return NULL;
    }
    struct scope_child *c = child_add(s);
    if (!c)
        return NULL;
    a.on_end = task_child_ended;
    a.on_end_arg = c;
    struct task *t = task_spawn(fn, arg, &a);
    if (!t) {
        int err = errno;
        child_remove(c);
        errno = err;
        return NULL;
    }
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    c->task = t;
    bool cancel = s->cause != SCOPE_NOT_CANCELLED;
    spin_unlock_irqrestore(&s->wq.lock, f);
    if (cancel)
        task_cancel(t);   /* t is not joined before the owner's scope_wait */
    return c;
}

static int scope_async_poll(struct async_task *t)
{
    struct scope_async *a = (struct scope_async *)t;
    int r = a->body(t);
    if (r != ASYNC_PENDING)
        child_ended(a->child, TASK_EXITED, t->value);
    return r;
}

struct scope_async *scope_async_new(async_poll_fn poll, size_t size, const struct async_attr *attr)
{
    if (!poll || size < sizeof(struct scope_async) || (attr && attr->detached)) {
        errno = EINVAL;
        return NULL;
    }
    struct scope_async *a = (struct scope_async *)async_new(scope_async_poll, size, attr);
    if (a)
        a->body = poll;
    return a;
}

struct scope_child *scope_spawn_async(struct scope *s, struct scope_async *a)
{
    struct scope_child *c = child_add(s);
    if (!c)
        return NULL;
    a->child = c;
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    c->async = a;
    if (s->cause != SCOPE_NOT_CANCELLED)
        async_cancel(&a->t);
    spin_unlock_irqrestore(&s->wq.lock, f);
    async_start(&a->t);
    return c;
}

void scope_cancel(struct scope *s)
{
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    cancel_locked(s, SCOPE_BY_CANCEL);
    spin_unlock_irqrestore(&s->wq.lock, f);
}

int scope_wait(struct scope *s)
{
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    while (s->live) {
        waitq_wait(&s->wq, f, WAIT_FOREVER);
        f = spin_lock_irqsave(&s->wq.lock);
    }
    spin_unlock_irqrestore(&s->wq.lock, f);
    /* Every child has ended (told us so); join them, which only waits for
     * the last instructions of each. */
    for (struct scope_child *c = s->head; c; c = c->next) {
        if (c->joined)
            continue;
        c->joined = true;
        if (c->task)
            task_join(c->task, NULL);
        else
            async_join(&c->async->t, NULL);
    }
    struct scope_child *e = s->first_error;
    return scope_wait_code(e != NULL, e ? e->result.reason : SCOPE_RUNNING,
                           e ? e->result.value : 0, s->cause);
}

int scope_close(struct scope *s)
{
    int r = scope_wait(s);
    /* The deadline timer: taken off, or wait for its callback to finish. */
    if (s->timer_armed && !sched_timer_cancel(&s->timer))
        while (!atomic_load_explicit(&s->timer_done, memory_order_acquire))
            arch_cpu_relax();
    if (s->parent) {
        uint64_t f = spin_lock_irqsave(&s->parent->wq.lock);
        for (struct scope **p = &s->parent->nested; *p; p = &(*p)->nested_next)
            if (*p == s) {
                *p = s->nested_next;
                break;
            }
        spin_unlock_irqrestore(&s->parent->wq.lock, f);
    }
    while (s->head) {
        struct scope_child *c = s->head;
        s->head = c->next;
        free(c);
    }
    s->tail = NULL;
    s->first_error = NULL;
    return r;
}

struct scope_result scope_child_result(const struct scope_child *c)
{
    struct scope *s = c->scope;
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    struct scope_result r = c->result;
    spin_unlock_irqrestore(&s->wq.lock, f);
    return r;
}

struct scope_child *scope_first_error(struct scope *s)
{
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    struct scope_child *c = s->first_error;
    spin_unlock_irqrestore(&s->wq.lock, f);
    return c;
}

uint32_t scope_error_count(struct scope *s)
{
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    uint32_t n = s->errors;
    spin_unlock_irqrestore(&s->wq.lock, f);
    return n;
}

enum scope_cause scope_cancel_cause(struct scope *s)
{
    uint64_t f = spin_lock_irqsave(&s->wq.lock);
    enum scope_cause c = s->cause;
    spin_unlock_irqrestore(&s->wq.lock, f);
    return c;
}
