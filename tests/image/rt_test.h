/* Helpers shared by the runtime suites (test_chan.c, test_async.c). */
#ifndef RT_TEST_H
#define RT_TEST_H

#include <stdlib.h>
#include <kernel/clock.h>
#include <kernel/mm.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr/async.h>
#include <sr/chan.h>
#include <sr/wait.h>
#include <sr_test.h>

#define MS (1000ull * 1000)

static inline struct task *spawn_on(task_fn fn, void *arg, int cpu, enum qos qos)
{
    struct task_attr attr = {.name = "rt-test", .qos = qos,
                             .affinity = cpu >= 0 ? 1u << cpu : 0};
    return task_spawn(fn, arg, &attr);
}

/* How long a test waits for a task whose end a wake-up it checks decides,
 * before it calls the wake-up lost: far above what a correct run needs on
 * a loaded, shared 2-core host (microseconds for one wake-up, well under a
 * second for the longest watched run, the all-core stress), and far below
 * the harness's 60 s watchdog. */
#define LOST_WAKE_NS (5000 * MS)

/* A join with a bound, for tests whose point is that a wait ends: a lost
 * wake-up then fails the test by name instead of hanging the run. A joiner
 * task on the caller's core does the untimed join (task_join or
 * async_join) and posts `ended`; join_within waits for that post at most
 * ns. The block is the heap's and freed only with a join that happened: a
 * watch that missed its bound keeps its joiner, blocked on the watched task
 * and nothing else, and the block, for good. */
struct join_watch {
    struct semaphore ended;
    struct task *task;              /* stackful, or NULL */
    struct async_task *atask;       /* stackless, or NULL */
    struct task *joiner;
    int status;                     /* enum task_status or enum async_status */
    int64_t value;
};

static inline int64_t join_watch_main(void *arg)
{
    struct join_watch *j = arg;
    if (j->task)
        j->status = (int)task_join(j->task, &j->value);
    else
        j->status = (int)async_join(j->atask, &j->value);
    sem_post(&j->ended);
    return 0;
}

/* Watch the end of stackful t or (t NULL) stackless at. NULL, with a
 * failure recorded, if the watch cannot be had (the task is then left
 * unjoined). */
static inline struct join_watch *join_watch_start(struct task *t, struct async_task *at)
{
    struct join_watch *j = calloc(1, sizeof(*j));
    if (!j) {
        test_fail(__FILE__, __LINE__, "no memory for a join watch");
        return NULL;
    }
    sem_init(&j->ended, 0);
    j->task = t;
    j->atask = at;
    struct task_attr attr = {.name = "join-watch", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    j->joiner = task_spawn(join_watch_main, j, &attr);
    if (!j->joiner) {
        test_fail(__FILE__, __LINE__, "cannot spawn a join watch");
        free(j);
        return NULL;
    }
    return j;
}

/* Wait at most ns for the watched task's end (j NULL: false). true: it
 * ended and was joined (*status and *value set if not NULL), the watch
 * freed. false: it has not ended; the watch stays (wait again, e.g. after
 * a close that should end its wait). */
static inline bool join_within(struct join_watch *j, uint64_t ns, int *status, int64_t *value)
{
    if (!j || sem_wait(&j->ended, ns) != 0)
        return false;
    task_join(j->joiner, NULL);
    if (status)
        *status = j->status;
    if (value)
        *value = j->value;
    free(j);
    return true;
}

/* Join w's task within LOST_WAKE_NS: true (w set NULL, *value set if not
 * NULL; a task that faulted or was cancelled is a failure too), else false
 * with "<what> never returned: lost wake-up" recorded at the caller's line and
 * w kept, for close_and_reap. */
#define JOINED_OR_LOST(w, value, what) joined_or_lost_(&(w), (value), (what), __FILE__, __LINE__)
static inline bool joined_or_lost_(struct join_watch **w, int64_t *value, const char *what,
                                   const char *file, int line)
{
    int status = -1;
    if (!join_within(*w, LOST_WAKE_NS, &status, value)) {
        test_fail(file, line, "%s never returned: lost wake-up", what);
        return false;
    }
    *w = NULL;
    if (status != 0)
        test_fail(file, line, "%s ended with status %d", what, status);
    return true;
}

/* The cleanup after a lost wake-up on c: close c (every wait still listed
 * on it ends with -EPIPE), then give each task still watched in w[0..n)
 * (NULL: joined already) the bound again. c is destroyed only if they all
 * ended: a task still blocked keeps c (leaked), so that nothing it may
 * touch later is freed under it. */
static inline void close_and_reap(struct chan *c, struct join_watch **w, int n)
{
    /* A lock held for good (its holder killed by a fault under it) would
     * keep the close spinning: see it taken and released once, within the
     * bound, first; if it never is, c and the tasks are left as they are. */
    uint64_t end = clock_ns() + LOST_WAKE_NS;
    for (;;) {
        uint64_t flags = arch_irq_save();
        bool free_now = spin_trylock(&c->lock);
        if (free_now)
            spin_unlock(&c->lock);
        arch_irq_restore(flags);
        if (free_now)
            break;
        if (clock_ns() > end) {
            test_fail(__FILE__, __LINE__, "the channel's lock stays held (channel and tasks left)");
            return;
        }
        task_sleep_ns(MS);
    }
    chan_close(c);
    bool all = true;
    for (int i = 0; i < n; i++)
        if (w[i] && !join_within(w[i], LOST_WAKE_NS, NULL, NULL)) {
            test_fail(__FILE__, __LINE__, "a task stayed blocked after the close (its channel kept)");
            all = false;
        }
    if (all)
        chan_destroy(c);
}

/* Join stackful t, the only task of the test left waiting on c, within
 * LOST_WAKE_NS: true (*value set if not NULL), else the lost wake-up
 * recorded at the caller's line, c closed and reaped (close_and_reap) and
 * false: the caller must then return without touching c. */
#define JOINED_OR_REAPED(c, t, value, what)                                       \
    joined_or_reaped_((c), (t), (value), (what), __FILE__, __LINE__)
static inline bool joined_or_reaped_(struct chan *c, struct task *t, int64_t *value,
                                     const char *what, const char *file, int line)
{
    struct join_watch *w = join_watch_start(t, NULL);
    if (joined_or_lost_(&w, value, what, file, line))
        return true;
    close_and_reap(c, &w, 1);
    return false;
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

/* Wait until count(obj) is at least n, sleeping (so tasks of any class get
 * to run); a failure at the caller's file and line if it is not within
 * LOST_WAKE_NS (a wait that never queued: fail, do not hang). */
static inline void wait_for_count_(int (*count)(void *), void *obj, int n, const char *what,
                                   const char *file, int line)
{
    uint64_t end = clock_ns() + LOST_WAKE_NS;
    for (int have; (have = count(obj)) < n; task_sleep_ns(50000))
        if (clock_ns() > end) {
            test_fail(file, line, "%d %s, not %d, after the bound", have, what, n);
            return;
        }
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

static inline int list_waiters_of_(void *l) { return list_waiters(l); }
static inline int chan_receivers_of_(void *c) { return chan_receivers(c); }
/* Wait until wait list l has n waiters / channel c has n receivers waiting. */
#define wait_for_waiters(l, n) \
    wait_for_count_(list_waiters_of_, (l), (n), "waiters queued", __FILE__, __LINE__)
#define wait_for_receivers(c, n) \
    wait_for_count_(chan_receivers_of_, (c), (n), "receivers waiting", __FILE__, __LINE__)

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
