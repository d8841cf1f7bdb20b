/* Helpers shared by the runtime suites (test_chan.c, test_async.c). */
#ifndef RT_TEST_H
#define RT_TEST_H

#include <kernel/mm.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr/chan.h>
#include <sr/wait.h>

#define MS (1000ull * 1000)

static inline struct task *spawn_on(task_fn fn, void *arg, int cpu, enum qos qos)
{
    struct task_attr attr = {.name = "rt-test", .qos = qos,
                             .affinity = cpu >= 0 ? 1u << cpu : 0};
    return task_spawn(fn, arg, &attr);
}

/* Waiters queued on l right now (l guarded by the spinlock it names). */
static inline int list_waiters(struct wait_list *l)
{
    spinlock_t *lock = l->lock;
    uint64_t flags = spin_lock_irqsave(lock);
    int n = 0;
    for (struct wait_node *w = l->head; w; w = w->next)
        n++;
    spin_unlock_irqrestore(lock, flags);
    return n;
}

/* Wait until l has n waiters (sleeping, so tasks of any class get to run). */
static inline void wait_for_waiters(struct wait_list *l, int n)
{
    while (list_waiters(l) < n)
        task_sleep_ns(50000);
}

/* Receivers waiting on c right now, one parked in its record without the
 * lock included (chan_lock_lists adopts it onto recvq). */
static inline int chan_receivers(struct chan *c)
{
    uint64_t flags = chan_lock_lists(c);
    int n = 0;
    for (struct wait_node *w = c->recvq.head; w; w = w->next)
        n++;
    spin_unlock_irqrestore(&c->lock, flags);
    return n;
}

/* Wait until c has n receivers waiting (as wait_for_waiters). */
static inline void wait_for_receivers(struct chan *c, int n)
{
    while (chan_receivers(c) < n)
        task_sleep_ns(50000);
}

/* The i-th online core other than the caller's, cyclically (the caller's
 * own core on a 1-CPU machine). */
static inline int other_core(int i)
{
    int others[PLAT_MAX_CPUS], n = 0;
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c) && c != cpu_id())
            others[n++] = c;
    return n ? others[i % n] : cpu_id();
}

/* Every page back in the shared pools, then the exact free count. */
static inline uint64_t free_pages_settled(void)
{
    mm_drain_caches();
    return mm_free_pages();
}

#endif
