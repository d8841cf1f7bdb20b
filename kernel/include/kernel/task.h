/*
 * Stackful green tasks: the public API.
 *
 * A task runs a function on its own guarded stack with its own TLS (errno and
 * the rest of picolibc's per-thread state). Tasks are scheduled per core in
 * five strict-priority bands, one per QoS class, round-robin with a time slice
 * within a band, preempted by the per-core timer, and migrate between cores
 * by work stealing. Every task is joined or detached exactly once.
 */
#ifndef KERNEL_TASK_H
#define KERNEL_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* QoS classes, highest first; the value is the scheduler band. */
enum qos {
    QOS_USER_INTERACTIVE = 0,
    QOS_USER_INITIATED = 1,
    QOS_DEFAULT = 2,
    QOS_UTILITY = 3,
    QOS_BACKGROUND = 4,
    QOS_COUNT = 5,
};

#define TASK_STACK_DEFAULT  (16 * 1024)
#define TASK_STACK_MIN      (2 * 1024)
#define TASK_NAME_LEN       16

typedef int64_t (*task_fn)(void *arg);
/* Exit status seen by task_join. */
enum task_status {
    TASK_EXITED = 0,         /* returned or called task_exit */
    TASK_FAULTED = 1,        /* killed by a fault (reported on the console) */
};

/* Called once as a task ends (returned, exited or killed by a fault), in the
 * ending task's context or its fault handler's, IRQs masked: it must not
 * block; it may take spinlocks (irqsave) and wake tasks. */
typedef void (*task_end_fn)(void *arg, enum task_status status, int64_t value);

struct task_attr {
    const char *name;        /* copied (truncated to TASK_NAME_LEN - 1) */
    enum qos qos;            /* zero is QOS_USER_INTERACTIVE: set it (QOS_DEFAULT
                                for ordinary work); a NULL attr means QOS_DEFAULT */
    size_t stack_size;       /* 0 = TASK_STACK_DEFAULT; rounded up to pages */
    uint32_t affinity;       /* bit per logical CPU; 0 = any */
    bool detached;           /* nobody will join: freed when it exits */
    struct app *app;         /* the app it belongs to (kernel/app.h), or NULL */
    bool qos_exempt;         /* keeps its class while its app is in the background */
    const struct sched_dl_params *deadline;   /* periodic deadline task (kernel/deadline.h) */
    task_end_fn on_end;      /* told how the task ended (before its joiner), or NULL */
    void *on_end_arg;
};

struct task;
struct app;
struct sched_dl_params;

/* Create and start a task; NULL (errno ENOMEM/EINVAL) on failure. */
struct task *task_spawn(task_fn fn, void *arg, const struct task_attr *attr);
/* Nobody will join t: it is freed when it ends. */
void task_detach(struct task *t);
_Noreturn void task_exit(int64_t value);
#ifndef SR_HOST   /* host builds use this header's types only */
#include <arch/cpu.h>
#include <arch/switch_min.h>
/* task_yield's scheduler part (kernel/sched/sched.c), IRQs masked by a
 * caller that had them enabled: when the yield switches in place, the task
 * to switch out and the saved sp of the one now current; otherwise it did
 * the whole yield itself: {NULL, 0}. The caller enables IRQs after. */
struct sched_yield_switch {
    struct task *prev;
    uint64_t next_sp;
};
struct sched_yield_switch sched_yield_begin(void);
/* task_yield for a caller with IRQs masked: they stay masked. */
void sched_yield_masked(void);
/* Give way to the next ready task of the caller's band, if any. Inline, so
 * that the switch saves only what the caller keeps live across it
 * (arch_switch_min). */
static inline void task_yield(void)
{
    if (__builtin_expect(arch_irq_save() & ARCH_DAIF_I, 0)) {
        sched_yield_masked();
        return;
    }
    struct sched_yield_switch y = sched_yield_begin();
    if (y.prev)
        arch_switch_min(y.prev, y.next_sp);
    arch_irq_enable();
}
/* task_join's two out-of-line parts (kernel/sched), IRQs masked.
 * sched_join_begin: when t is this core's runnext task (never run), the
 * caller is registered as its joiner and BLOCKED, t made current, and the
 * switch to t left to the caller ({caller, t->sp}); otherwise the
 * wait, if t has not ended, is done in full and {NULL, 0} returned.
 * task_join_end: t has ended; its status and value, t freed, IRQs
 * restored to flags. */
struct sched_yield_switch sched_join_begin(struct task *t);
enum task_status task_join_end(struct task *t, int64_t *value, uint64_t flags);
/* Wait for t to end; returns its status and stores its value (0 if it
 * faulted). Frees t. Each task is joined at most once, never if detached.
 * Inline for the same reason as task_yield: the joiner's switch to a
 * child never run saves only what the caller keeps live. */
static inline enum task_status task_join(struct task *t, int64_t *value)
{
    uint64_t flags = arch_irq_save();
    struct sched_yield_switch s = sched_join_begin(t);
    if (s.prev)
        arch_switch_min(s.prev, s.next_sp);
    return task_join_end(t, value, flags);
}
#else
enum task_status task_join(struct task *t, int64_t *value);
#endif
/* Sleep at least ns nanoseconds (never wakes early). */
void task_sleep_ns(uint64_t ns);
/* Sleep until the monotonic clock (clock_ns) reaches deadline_ns. */
void task_sleep_until(uint64_t deadline_ns);
struct task *task_current(void);

/* Cooperative cancellation. task_cancel(t) (any task, any core, any time
 * before t is joined; idempotent) sets t's cancel flag, which t polls with
 * task_cancelled(), and ends t's interruptible wait, if it is in one or
 * enters one later, with WAIT_CANCELLED (see waitq_wait_interruptible and
 * sem_wait_interruptible). Ordinary waits are not interrupted. */
void task_cancel(struct task *t);
bool task_cancelled(void);

/* Change where t may run (0 = anywhere). A task queued on a core it may no
 * longer use moves at once; a blocked one goes where its wake-up places it
 * (and for active migration, kernel/migrate.h, from its next switch-in). A
 * running task is not forced off a core it may no longer use, and neither is
 * one woken or preempted while it is still switching out there (its
 * registers are live on that core): it runs there once more. */
void task_set_affinity(struct task *t, uint32_t affinity);
/* Change t's QoS class now, whatever it is doing: a waiting task requeues in
 * its new band (and preempts if it now outranks what runs), a running task
 * gives way if a better band waits. 0, or -EINVAL for a bad class. */
int task_set_qos(struct task *t, enum qos qos);
const char *task_name(const struct task *t);
enum qos task_qos(const struct task *t);
int task_cpu(const struct task *t);

/* Accounting (see also sched_cpu_stats). */
struct task_stats {
    uint64_t cpu_ns;         /* time spent running */
    uint32_t switches;       /* times switched in */
    uint32_t migrations;     /* times moved to another core */
};
void task_get_stats(const struct task *t, struct task_stats *out);

#endif
