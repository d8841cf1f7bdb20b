/* Select over channels and tasks (see sr/select.h). */
#include <errno.h>
#include <kernel/clock.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>
#include <sr/async.h>
#include <sr/select.h>
#include <sr/wait_task.h>

void sel_init(struct sel *s, struct sel_case *cases, unsigned n)
{
    *s = (struct sel){.cases = cases, .n = (uint16_t)n, .which = -1};
}

/* Take every case's lock once, in address order (IRQs already masked). */
static unsigned lock_all(const struct sel *s, spinlock_t **locks)
{
    unsigned k = 0;
    for (unsigned i = 0; i < s->n; i++) {
        spinlock_t *l = s->cases[i].kind->lock(&s->cases[i]);
        unsigned j = k;
        while (j > 0 && locks[j - 1] > l)
            j--;
        if (j > 0 && locks[j - 1] == l)
            continue;
        for (unsigned m = k; m > j; m--)
            locks[m] = locks[m - 1];
        locks[j] = l;
        k++;
    }
    for (unsigned i = 0; i < k; i++)
        spin_lock(locks[i]);
    return k;
}

static void arm_all(struct sel *s)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->cases[i].kind->arm)
            s->cases[i].kind->arm(&s->cases[i]);
}

static void disarm_all(struct sel *s)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->cases[i].kind->disarm)
            s->cases[i].kind->disarm(&s->cases[i]);
}

static void unlock_all(spinlock_t **locks, unsigned k)
{
    while (k)
        spin_unlock(locks[--k]);
}

/* With every lock held: complete the chosen ready case; its index or -1. */
static int try_locked(struct sel *s)
{
    uint32_t ready = 0;
    for (unsigned i = 0; i < s->n; i++)
        if (s->cases[i].kind->ready(&s->cases[i]))
            ready |= 1u << i;
    int i;
    while ((i = sel_pick(ready, s->n, s->next)) >= 0) {
        struct sel_case *c = &s->cases[i];
        if (c->kind->perform(c, &s->result)) {
            s->which = (int16_t)i;
            s->next = (uint16_t)sel_next_start(i, s->n);
            return i;
        }
        ready &= ~(1u << i);
    }
    return -1;
}

static void queue_locked(struct sel *s, struct waker *w)
{
    for (unsigned i = 0; i < s->n; i++) {
        struct sel_case *c = &s->cases[i];
        wait_node_init(&c->node, w, (int)i, c->buf);
        wait_list_add(c->kind->list(c), &c->node);
    }
}

/* After the wait: withdraw the nodes that did not fire (each under its
 * list's lock, which also orders us after the transfer of the one that did). */
static int finish(struct sel *s, const struct waker *w)
{
    for (unsigned i = 0; i < s->n; i++)
        wait_node_unlink(&s->cases[i].node);
    if (w->which < 0)
        return w->result;   /* timeout or cancellation */
    s->which = w->which;
    s->result = w->result;
    s->next = (uint16_t)sel_next_start(w->which, s->n);
    return w->which;
}

int sel_try(struct sel *s)
{
    if (s->n == 0 || s->n > SEL_MAX)
        return -EINVAL;
    spinlock_t *locks[SEL_MAX];
    uint64_t flags = arch_irq_save();
    unsigned k = lock_all(s, locks);
    arm_all(s);
    int i = try_locked(s);
    disarm_all(s);
    unlock_all(locks, k);
    arch_irq_restore(flags);
    sched_resched_if_needed();
    return i >= 0 ? i : -EAGAIN;
}

static int wait_op(struct sel *s, uint64_t timeout_ns, bool interruptible)
{
    if (s->n == 0 || s->n > SEL_MAX)
        return -EINVAL;
    uint64_t deadline = waitq_deadline(timeout_ns);
    spinlock_t *locks[SEL_MAX];
    uint64_t flags = arch_irq_save();
    unsigned k = lock_all(s, locks);
    arm_all(s);
    int i = try_locked(s);
    if (i >= 0) {
        disarm_all(s);
        unlock_all(locks, k);
        arch_irq_restore(flags);
        sched_resched_if_needed();
        return i;
    }
    struct task_waker tw;
    task_waker_init(&tw);
    tw.interruptible = interruptible;
    waker_arm(&tw.w, tw.w.qos);
    queue_locked(s, &tw.w);
    disarm_all(s);
    unlock_all(locks, k);
    arch_irq_restore(flags);
    task_waker_wait(&tw, deadline);
    return finish(s, &tw.w);
}

int sel_wait(struct sel *s, uint64_t timeout_ns) { return wait_op(s, timeout_ns, false); }

int sel_wait_interruptible(struct sel *s, uint64_t timeout_ns)
{
    return wait_op(s, timeout_ns, true);
}

int sel_await(struct async_task *self, struct sel *s)
{
    if (async_waiting(self)) {
        if (!async_wait_over(self))
            return ASYNC_PENDING;
        int r = finish(s, &self->waker);
        async_wait_end(self);
        return r;
    }
    if (s->n == 0 || s->n > SEL_MAX)
        return -EINVAL;
    int r = async_cancelled(self);
    if (r)
        return r;
    spinlock_t *locks[SEL_MAX];
    uint64_t flags = arch_irq_save();
    unsigned k = lock_all(s, locks);
    arm_all(s);
    int i = try_locked(s);
    if (i < 0) {
        waker_arm(&self->waker, self->qos);
        queue_locked(s, &self->waker);
    }
    disarm_all(s);
    unlock_all(locks, k);
    arch_irq_restore(flags);
    if (i >= 0)
        return i;
    return async_wait_park(self);
}
