/*
 * Scheduler internals shared by kernel/sched and kernel/sync.
 *
 * Locking: each core's run queue has one spinlock, always taken with IRQs
 * masked; it protects the queue, current, the core's timer heap and the
 * state of tasks queued there. A wait queue's lock may be held while taking
 * a run-queue lock, never the reverse.
 *
 * Switch protocol: the run-queue lock is NOT held across a context switch.
 * Instead a task is "on_cpu" from the moment it is chosen until its
 * registers are saved; the switch code clears on_cpu (release) after saving.
 * Nobody else runs a task whose on_cpu is set (stealing skips it), and a
 * task is only ever woken onto the run queue of its own core.
 */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arch/frame.h>
#include <kernel/mm.h>
#include <kernel/platform.h>
#include <kernel/sched_policy.h>
#include <kernel/spinlock.h>
#include <kernel/task.h>
#include <kernel/timerq.h>

enum task_state {
    TASK_RUNNING = 0,   /* current on some core */
    TASK_READY,         /* in a run queue */
    TASK_BLOCKED,       /* waiting (wait queue, sleep, join) */
    TASK_DEAD,          /* ended, not yet joined */
    TASK_MOVING,        /* between run queues (woken onto or stolen to another
                           core): in no queue; t->cpu is still the old core
                           until the mover enqueues it under the new lock */
};

/* task->flags: only what takes a switch off its common path, so that a
 * task with none of them has flags 0 (see task->switch_key). One AND with
 * an immediate tests any of them. */
#define TASK_F_IDLE      (1u << 0)   /* a core's idle context (boot stack) */
#define TASK_F_DL        (1u << 1)   /* deadline task within budget (kernel/sched/deadline.h) */
#define TASK_F_APP       (1u << 2)   /* belongs to an app: charge its run time there */

/* task->life: what its end and release must do (task.c). */
#define TASK_LIFE_DETACHED  (1u << 0)
#define TASK_LIFE_HOOKS     (1u << 1)   /* spawned with a deadline or an on_end: its end and
                                           its release look at its task_ext */
#define TASK_LIFE_APP       (1u << 2)   /* joined an app: leaves it when released */
#define TASK_LIFE_OWN_STACK (1u << 3)   /* not the default stack size: never cached */

/* task->cancel bits: REQUESTED is set once by task_cancel and never cleared;
 * INTERRUPTIBLE is set by the task itself, under the lock of the wait queue
 * it is about to block on, for the length of an interruptible wait. */
#define TASK_CANCEL_REQUESTED      (1u << 0)
#define TASK_CANCEL_INTERRUPTIBLE  (1u << 1)
/* POINT is set by the task itself for the length of a cancellation point
 * (task_cancel_point_enter/leave): a wait under task_ext(t)->cancel_lock. */
#define TASK_CANCEL_POINT          (1u << 2)

struct mutex;
struct waitq;

/* Wait results (wait_result). */
#define WAIT_OK          0
#define WAIT_TIMEOUT     (-1)
#define WAIT_OWNER_DIED  (-2)
#define WAIT_CANCELLED   (-3)        /* task_cancel ended an interruptible wait */
#define WAIT_PENDING     INT32_MIN   /* still blocked: nobody has ended the wait */

struct task {
    union {
        struct {
            _Atomic uint8_t on_cpu;  /* registers live on a core (first: the switch clears it) */
            uint8_t state;           /* enum task_state */
        };
        uint16_t cpu_state;      /* on_cpu | state << 8: one store sets both where both
                                    change (a switch to the task, TASK_CPU_STATE) */
    };
    union {
        uint8_t pinned;          /* while alive: its affinity allows exactly one core,
                                    the one it is on (task_pin_note, task_set_affinity,
                                    sched_task_arrive keep it so) */
        uint8_t status;          /* enum task_status once dead */
    };
    _Atomic uint8_t cancel;      /* TASK_CANCEL_* (task_cancel, interruptible waits) */
    union {
        struct {
            uint8_t qos;         /* band */
            uint8_t flags;       /* TASK_F_* */
        };
        uint16_t switch_key;     /* qos | flags << 8: two tasks whose keys are equal and
                                    at most 0xff are plain tasks of one band */
    };
    uint8_t life;                /* TASK_LIFE_* */
    int8_t cpu;                  /* core it runs or is queued on */
    uint64_t sp;                 /* saved stack pointer while switched out (| TASK_SP_FULL) */
    struct task *next, *prev;    /* run queue or wait queue links */
    uint32_t affinity;           /* allowed cores, 0 = any */
    uint32_t id;
    uint32_t wait_seq;           /* wait number: bumped as each wait that may arm a
                                    timeout (sched_block's) ends, so a timeout armed
                                    for an earlier wait matches no later one */
    int32_t wait_result;
    struct waitq *waiting_on;    /* wait queue it is blocked on, set by every wait a timeout
                                    or a cancel may end (timed or interruptible; an untimed
                                    one may leave it NULL); NULL outside a wait (the waiter
                                    sets and clears it itself) */
    struct task *joiner;         /* blocked in task_join on this task */
    spinlock_t exit_lock;        /* orders exit against join */
    union {
        int64_t value;           /* exit value, once dead */
        uint64_t wait_arg;       /* what a primitive needs while waiting (event flags) */
    };
    void *tls;                   /* TPIDR_EL0 of this task */
    struct mm_stack stack;
    struct timer timer;          /* sleeps and wait timeouts */
    struct mutex *held;          /* mutexes held, most recent first */
    uint64_t cpu_ticks;          /* accounting, in counter ticks (while it runs: up to its
                                    core's rq->run_start) */
    uint32_t switches;
    uint32_t util;               /* task_ext's util.avg as of its last refresh: what another
                                    core's racy view reads (a task struct stays mapped, its
                                    stack is unmapped once it exits) */
    char name[TASK_NAME_LEN];
};

/*
 * Colder per-task scheduling state, kept at the very top of the task's own
 * stack (above its TLS block; stacks grow down, away from it) so the TCB
 * stays within 192 bytes. Idle tasks have none.
 */
struct task_ext {
    struct sched_qos_task qos;   /* own class, app, inheritance (effective class = t->qos) */
    struct sched_util util;      /* decaying average of the running fraction; until its
                                    first update, stamp_ns holds the counter at spawn
                                    | TASK_UTIL_STAMP_TICKS (converted where read) */
    uint64_t util_ticks;         /* cpu_ticks when util was last brought up to date */
    struct task *task;           /* back pointer (inheritance chains hold task_ext) */
    struct task_ext *app_next;   /* next member of its app (kernel/app.h) */
    struct task_dl *dl;          /* deadline parameters and state, or NULL */
    task_end_fn on_end;          /* task_attr.on_end, or NULL */
    void *on_end_arg;
    spinlock_t *cancel_lock;     /* the lock of its cancellation point, while in one */
    uint32_t migrations;         /* accounting: times moved to another core */
};
_Static_assert(offsetof(struct task, on_cpu) == 0 && offsetof(struct task, sp) == ARCH_SWITCH_SP_OFFSET,
               "the switches (arch/arm64/switch.S, arch_switch_min) find them there");
/* task->cpu_state for on_cpu and state s. */
#define TASK_CPU_STATE(on_cpu, s) ((uint16_t)((on_cpu) | (s) << 8))
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && offsetof(struct task, state) == 1,
               "cpu_state: on_cpu its low byte, state its high one");
_Static_assert(offsetof(struct task_ext, qos) == 0, "a sched_qos_task is its task_ext");
#define TASK_UTIL_STAMP_TICKS (1ull << 63)

static inline struct task_ext *task_ext(const struct task *t)
{
    return (struct task_ext *)((t->stack.base + t->stack.size - sizeof(struct task_ext)) & ~15ull);
}

struct runqueue {
    spinlock_t lock;
    struct task *head[QOS_COUNT], *tail[QOS_COUNT];
    struct task *runnext;        /* the only ready task, kept out of its band's list
                                    (kernel/sched/sched_rq.h), or NULL */
    uint32_t band_mask;          /* bit b: band b non-empty (runnext counts) */
    uint32_t nr_ready;           /* ready tasks (runnext counts) */
    struct task *current;
    struct task *idle;
    int cpu;                     /* the core this queue belongs to */
    bool need_resched;
    bool reprogram;              /* another core changed our timer deadlines */
    uint64_t timer_armed;        /* deadline the hardware timer holds, 0 = none */
    uint64_t slice_end;          /* counter ticks; 0: no slice running */
    uint64_t band_since[QOS_COUNT + 1];  /* ticks: the later of when band b last became
                                            non-empty and when its class last ran
                                            (starvation bounds); [QOS_COUNT]: idle */
    struct timerq timers;
    uint64_t started;            /* counter at sched_init_cpu; busy = elapsed - idle */
    uint64_t class_ticks[QOS_COUNT + 1];   /* time run per class; [QOS_COUNT]: charge_class's
                                              slot for the idle task's stretches, not kept
                                              up (switch_from_idle skips it) and never read:
                                              idle time is the idle task's cpu_ticks */
    uint64_t class_since;        /* the running class (run_class, below) has run since then,
                                    not yet in class_ticks: charged when the class changes */
    uint64_t run_start;          /* counter when the current task began running here */
    uint64_t switches;           /* (after run_start: one pair for a switch's accounting) */
    uint64_t wfi_ticks;          /* time asleep in WFI (part of idle) */
    _Atomic uint64_t wfi_since;  /* counter when the current WFI began, 0 if awake */
    /* Active migration (kernel/sched/migrate.h); move_* under lock. */
    struct task *move_task;      /* the running task asked to move at its next preemption */
    int move_to;                 /* ... to this core */
    uint32_t watch_cpus;         /* cores of another capacity (set at boot) */
    uint8_t watch_qos;           /* bit q: a running task of class q may have to move from
                                    here: its slices run even alone (set at boot) */
    /* The local wake-up's test (kernel/sched/sched_rq.h, rq_local_wake_init):
     * a task's first 8 bytes (on_cpu to cpu), masked with wake_mask, equal
     * wake_key when it is blocked on this core, pinned, not a deadline task
     * and of the running class. The key is laid out as those bytes, its
     * class byte being run_class itself, so it follows the running class
     * with no store of its own. */
    uint64_t wake_mask_idle;     /* wake_mask without the class byte (the idle hand-off's
                                    test, wake_key_idle_diff); set at boot, just before
                                    wake_key: one load pair */
    union {
        uint64_t wake_key;
        struct {
            uint8_t wake_on_cpu;     /* masked out */
            uint8_t wake_state;      /* TASK_BLOCKED */
            uint8_t wake_pinned;     /* 1 */
            uint8_t wake_cancel;     /* masked out */
            uint8_t run_class;       /* the running task's class (QOS_COUNT: idle), charged
                                        (charge_class) wherever it or its class changes */
            uint8_t wake_flags;      /* 0 (only TASK_F_DL is looked at) */
            uint8_t wake_life;       /* masked out */
            int8_t wake_cpu;         /* this queue's core */
        };
    };
    uint64_t wake_mask;
    /* The idle hint (sched_idle_mask) and this core's bit of it, set at
     * boot (sched_init): leaving idle loads both instead of the core
     * number, a shift and the global's address. */
    _Atomic uint32_t *idle_mask;
    uint32_t idle_bit;
} __attribute__((aligned(64)));

extern struct runqueue runqueues[PLAT_MAX_CPUS];

#include <kernel/percpu.h>
/* Only valid once the core has its per-CPU state (always, for tasks). */
static inline struct runqueue *this_rq(void) { return this_cpu()->rq; }
/* The running task lives in TPIDRRO_EL0 (unused: SR has no EL0), written on
 * every switch, so finding it is one instruction. */
#ifdef SR_HOST   /* host tests: the current task of their modelled core */
struct task *sched_current(void);
#else
static inline struct task *sched_current(void)
{
    struct task *t;
    __asm__("mrs %0, tpidrro_el0" : "=r"(t));
    return t;
}
static inline void sched_set_current(struct task *t)
{
    __asm__ volatile("msr tpidrro_el0, %0" : : "r"(t));
}
#endif

/* Boot CPU: set up every run queue; then each core (boot CPU included)
 * turns its boot context into its idle task. */
void sched_init(void);
void sched_init_cpu(void);
/* The core's idle loop: runs tasks, sleeps in WFI when there are none. */
_Noreturn void sched_idle_loop(void);

/* Give up the CPU. IRQs must be masked. The caller has set current->state:
 * RUNNING (yield: stays runnable), BLOCKED (will be woken) or DEAD. */
void schedule(void);
/* The last switch of an ended task: arch_switch_final(prev,
 * next_sp), left to the caller so that it needs no frame of its own. */
struct sched_exit_switch {
    struct task *prev;   /* arch_switch_final's arguments */
    uint64_t next_sp;
};
/* The current task, cur, is dead (IRQs masked, its exit lock released) and j,
 * blocked in task_join and woken by nobody else, waits for it: wake j and
 * give up the CPU. j runs next on this core at once when nothing of its
 * band or above waits here (what the wake-up and schedule() would do, in
 * one step, as Linux's sync wake-up does): j is made current and the
 * switch to it returned; else a plain wake and switch, never returning. */
struct sched_exit_switch sched_exit_to(struct task *cur, struct task *j);
/* task_exit up to its last switch, which it returns (or does all of it
 * and never returns); arch_task_entry calls it as a task's function
 * returns, then switches (task.c). */
struct sched_exit_switch task_exit_begin(int64_t value);
/* sched_join_begin (kernel/task.h) registers the caller as the joiner of
 * t, this core's runnext task (ready, never run since, the only ready
 * task), blocks it and makes t current in one locked step: t cannot start
 * anywhere while this core's queue lock is held (a steal takes it), so no
 * exit_lock is needed. Any other join of a live t is task_join_wait's
 * (task.c, IRQs masked): register under t's exit_lock and block until
 * t's exit wakes the caller. */
void task_join_wait(struct task *t);
/* Make a blocked task runnable on its core (any context, IRQs any). */
void sched_wake(struct task *t, int32_t result);
/* sched_wake for an interrupt handler (IRQs masked, in IRQ context) whose
 * t was taken off its wait queue with its wait_result stored: the same
 * wake-up, without the IRQ state's save and restore or the result's
 * store, and the wake that hands an idle core to t at once (the handler
 * running in the idle loop's dispatch) decided first. */
void sched_wake_irq(struct task *t);
/* sched_wake for a waker holding wq_lock with IRQs masked
 * (irq_flags: what spin_lock_irqsave returned), t taken off that wait
 * queue with its wait_result stored (none for a task blocked in
 * sched_block_unlock or its begin): releases wq_lock, wakes t as
 * sched_wake does, restores irq_flags and acts on a reschedule owed.
 * (t last: the register order that spares the wake-up two moves.)
 * Returns 0: a caller that returns 0 after it ends in a tail call. */
int sched_wake_unlock(spinlock_t *wq_lock, uint64_t irq_flags, struct task *t);
/* sched_wake_unlock for a waker that holds no lock (IRQs masked, irq_flags
 * their state before): t claimed from a record without a lock, with the
 * same contract (no result stored; nobody else wakes it). Returns 0. */
int sched_wake_masked(uint64_t irq_flags, struct task *t);
/* Change t's QoS band (any state, any core, IRQs any): a queued task moves
 * to the new band's tail, a running one keeps running unless a better band
 * now waits, and whoever must act is told at once. */
void sched_set_qos(struct task *t, unsigned qos);
/* Queue a new task (placement policy chooses the core); returns t (so a
 * spawn can end in a tail call). */
struct task *sched_start(struct task *t);
struct runqueue;
/* sched_start of a task that is not a deadline task, pinned to this core
 * (rq, this core's), already TASK_READY with cpu set (task_spawn's fast
 * way), for a caller that has masked IRQs: flags is what its
 * arch_irq_save returned; restored before returning. */
struct task *sched_start_here(struct task *t, struct runqueue *rq, uint64_t flags);

/* Called by the IRQ exit path with the interrupted EL1t frame: preempt the
 * current task if a reschedule is pending. */
void sched_irq_exit(struct arch_frame *f);
/* The current task faulted: report, kill it, resume another in its place
 * by rewriting *f. false if there is no task to kill (idle/boot context). */
bool sched_kill_current(struct arch_frame *f, const char *why);
/* In sched_irq_exit: the current task, interrupted with less stack left
 * above its guard page than its preemption frame needs, is killed as a
 * stack overflow (saving the frame would fault there, inside the
 * interrupt), reported with the room it had and a backtrace. */
void sched_kill_current_no_room(struct arch_frame *f, uint64_t frame_bytes);

/* IPI_WAKE arrived: reprogram this core's timer if another core asked. */
void sched_ipi(void);
/* t's affinity changed (task_set_affinity): a task queued on a core it may
 * no longer use moves now to where placement puts it; one that may stay is
 * left queued and an idle core it now allows is woken to steal it. */
void sched_affinity_changed(struct task *t);

/* Per-core time accounting. */
struct sched_cpu_stats {
    uint64_t busy_ns, idle_ns, switches;
    uint64_t wfi_ns;                     /* of idle_ns: asleep in WFI */
    uint64_t class_busy_ns[QOS_COUNT];   /* busy time by the class that ran */
    uint32_t nr_ready;
};
void sched_cpu_stats(int cpu, struct sched_cpu_stats *out);
/* Modelled energy since boot: busy time per core and per QoS class times
 * the power of the core it ran on (sched_core_model), in picojoules
 * (1 mW for 1 ns). Idle time is not charged. */
struct sched_energy_report {
    uint64_t core_busy_ns[PLAT_MAX_CPUS], core_pj[PLAT_MAX_CPUS];
    uint64_t class_busy_ns[QOS_COUNT], class_pj[QOS_COUNT];
    uint64_t total_pj;
};
void sched_energy(struct sched_energy_report *out);
/* The policy's view of the cores (capacity, power, levels), built at boot. */
const struct sched_core_model *sched_core_model(void);

/* Block the current task until woken or until deadline_ns (0 = none).
 * Called with IRQs masked and, if wq_lock is given, that lock held (it is
 * released before switching). Returns the wait result. */
int32_t sched_block(spinlock_t *wq_lock, uint64_t deadline_ns);
/* sched_block's untimed wait on a wait queue, its tail included:
 * the current task is queued on it (waiting_on set), wq_lock held, IRQs
 * masked (irq_flags: what spin_lock_irqsave returned). Blocks until woken,
 * then clears waiting_on, restores irq_flags; returns the wait result. */
int32_t sched_block_waitq(spinlock_t *wq_lock, uint64_t irq_flags);
/* What a block begin returns: with prev set, the switch that is left to
 * its inline caller, arch_switch_min(prev, next_sp), after which the
 * caller ends the wait; with prev NULL, the wait is over (IRQs restored)
 * and result is its result. */
struct sched_block_switch {
    struct task *prev;
    union {
        uint64_t next_sp;
        int64_t result;
    };
};
/* sched_block_waitq up to the switch, for a waiter that switches inline
 * with a min frame (waitq_wait_min_finish, kernel/waitq_inline.h); called
 * as sched_block_waitq. When another task runs next and irq_flags has
 * IRQs enabled, it releases wq_lock, makes that task current and returns
 * the switch; the caller then switches, clears waiting_on, enables IRQs
 * and returns its wait_result (waitq_wait_min_end). Otherwise it does the
 * whole wait (the wake came first, the general way, a masked caller),
 * IRQs restored as irq_flags had them. */
struct sched_block_switch sched_block_waitq_begin(spinlock_t *wq_lock, uint64_t irq_flags);
/* The same untimed block for a waiter that is on no wait queue
 * (a runtime wait list's, which learns its result from its waker): lock
 * held, IRQs masked (irq_flags from spin_lock_irqsave); releases lock,
 * blocks until woken, restores irq_flags. No waiting_on, no result:
 * wait_result is left as it was (its waker need not store one). */
void sched_block_unlock(spinlock_t *lock, uint64_t irq_flags);
/* sched_block_unlock up to the switch, as sched_block_waitq_begin is
 * sched_block_waitq's (for a runtime wait list's waiter that switches
 * inline with a min frame): when another task runs next and irq_flags has
 * IRQs enabled, it releases lock, makes that task current and returns the
 * switch; the caller then switches (arch_switch_min), enables IRQs and
 * learns its result from its waker. Otherwise it does the whole block
 * (IRQs restored as irq_flags had them) and returns prev NULL, result
 * SCHED_BLOCK_WOKEN: the caller learns its result from its waker too. */
struct sched_block_switch sched_block_unlock_begin(spinlock_t *lock, uint64_t irq_flags);
/* A wait published without a lock (a record that a waker claims with a
 * compare-and-swap): the current task cur becomes BLOCKED (with release)
 * before it publishes itself, so that a waker that finds it at once finds
 * it blocked, as one that takes the lock after sched_block_unlock's
 * release does. Then either sched_block_prepared_begin, or, while no
 * waker can find it yet (never published, or withdrawn before any claimed
 * it), sched_block_withdraw: cur runs on as if it had not begun. IRQs
 * masked throughout. */
static inline __attribute__((always_inline)) void sched_block_prepare(struct task *cur)
{
    /* state and on_cpu as one halfword at the task pointer (STLRH takes no
     * offset): on_cpu stays 1, cur runs here. */
    __atomic_store_n(&cur->cpu_state, TASK_CPU_STATE(1, TASK_BLOCKED), __ATOMIC_RELEASE);
}
static inline void sched_block_withdraw(struct task *cur)
{
    __atomic_store_n(&cur->cpu_state, TASK_CPU_STATE(1, TASK_RUNNING), __ATOMIC_RELAXED);
}
/* sched_block_unlock_begin for a task already BLOCKED (sched_block_prepare)
 * and holding no lock: the same switch or whole block and results. */
struct sched_block_switch sched_block_prepared_begin(uint64_t irq_flags);
/* sched_block_unlock_begin's result when it blocked and was woken itself
 * (positive: no wait result, which is 0 or negative, is mistaken for it). */
#define SCHED_BLOCK_WOKEN 1

/* sched_wake(t, result) then sched_block(wq_lock, deadline_ns), in one step
 * (a request that wakes its server and waits for the reply, a reply that
 * wakes the requester and waits for the next request). Called as
 * sched_block is, the caller having taken t's wake-up as sched_wake's
 * callers do. When t is blocked on this core and would run next (nothing of
 * its band or above ready here, neither task a deadline or app task), the
 * core is handed straight to t, as an exiting task hands it to its joiner;
 * otherwise it is the two calls. Returns the current task's wait result. */
int32_t sched_wake_block_(struct task *t, int32_t result, spinlock_t *wq_lock,
                          uint64_t deadline_ns);
int32_t sched_wake_block_ok_(struct task *t, spinlock_t *wq_lock);
static inline int32_t sched_wake_block(struct task *t, int32_t result, spinlock_t *wq_lock,
                                       uint64_t deadline_ns)
{
    /* The usual call (WAIT_OK, a lock, no deadline, known at compile time)
     * has an entry of its own that tests none of them. */
    if (__builtin_constant_p(result) && result == WAIT_OK && __builtin_constant_p(deadline_ns) &&
        deadline_ns == 0 && __builtin_constant_p(wq_lock != NULL) && wq_lock != NULL)
        return sched_wake_block_ok_(t, wq_lock);
    return sched_wake_block_(t, result, wq_lock, deadline_ns);
}

/* Cancellation points for waits that are not on a wait queue (the runtime's
 * wakers: channels, select, async joins). The waiter calls enter with
 * lock held (IRQs masked) before it first blocks with sched_block(lock),
 * and checks task_cancelled() under lock before each block (a cancel
 * that came first is seen there). Until leave (called once lock is
 * released), task_cancel wakes it from sched_block with WAIT_CANCELLED,
 * under lock, so a waker of the wait proper (also under lock) and the
 * canceller never both wake it. */
/* waitq_cancel's body (kernel/sync/waitq.c; sched_timer.c): end t's
 * interruptible wait-queue wait, if it is in one, deciding under t's
 * run-queue lock while t is blocked in it. */
void sched_cancel_waitq_wait(struct task *t);
void task_cancel_point_enter(spinlock_t *lock);
void task_cancel_point_leave(void);

/* After releasing locks in task context: switch now if this core owes a
 * reschedule (e.g. a higher-band task was just woken here). */
void sched_resched_now(void);
static inline void sched_resched_if_needed(void)
{
    if (this_rq()->need_resched)
        sched_resched_now();
}
/* The current task is dead (state set, joiner woken): resume another task in
 * its place by rewriting the exception frame *f. */
void sched_switch_from_dead(struct arch_frame *f);
/* Arm t (fn, arg, seq set by the caller) on this core's timer heap for
 * deadline_ns; its callback runs in IRQ context on this core. Cancel with
 * sched_timer_cancel from any core. */
void sched_timer_arm(struct timer *t, uint64_t deadline_ns);
/* True if it took t off its heap (its callback will not run); false if t
 * was not queued (it has fired, or its callback is about to run). */
bool sched_timer_cancel(struct timer *t);
/* Print every online core's running task, ready tasks and timers (with the
 * task each timeout belongs to), for diagnosing hangs. Task context; one
 * caller at a time. */
void sched_dump(void);
/* t->pinned from t->affinity (after every change of the affinity). */
static inline void task_pin_note(struct task *t)
{
    uint32_t a = t->affinity;
    t->pinned = a && !(a & (a - 1));
}
/* Boot CPU, after mm_init: the task object cache. */
void task_system_init(void);

/* Free this core's detached tasks that have ended (kernel/sched/task.c). */
void task_reap(void);

/* Time slice within a band. */
#define SCHED_SLICE_NS  (4ull * 1000 * 1000)

/* Context switch primitives (arch/arm64/switch.S). */
/* The low bits of a switched-out task's sp say what it points at: 0 a
 * cooperative frame, TASK_SP_FULL a full struct arch_frame (preempted by an
 * interrupt), TASK_SP_MIN_TAG (arch/switch_min.h) a min frame. */
#define TASK_SP_FULL 1ull
void arch_switch(struct task *prev, uint64_t next_sp);
/* Resume the record a saved sp points at (the idle task's first start). */
_Noreturn void arch_resume(uint64_t saved_sp);
void arch_restart_entry(void);  /* resume address of a struct arch_restart_frame */
/* arch_switch for a prev whose record needs nothing written (an ended task,
 * the idle task): saves nothing (switch.S). */
_Noreturn void arch_switch_final(struct task *prev, uint64_t next_sp);
void arch_task_entry(void);     /* first return target of a new task */
void arch_switch_resume(void);  /* eret target: pop a cooperative frame and return */
void arch_switch_resume_clean(void); /* the same, after zeroing the FP/SIMD state it does not load */
void arch_switch_resume_min_clean(void); /* pop a min frame after zeroing all FP/SIMD state */

#endif
