/*
 * Per-CPU state, indexed by logical CPU id (= the CPU's index in the DT's
 * /cpus, never its MPIDR). TPIDR_EL1 points at the running core's entry.
 */
#ifndef KERNEL_PERCPU_H
#define KERNEL_PERCPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <arch/cpu.h>
#include <kernel/platform.h>
#include <kernel/timerq.h>

#define CONSOLE_LINE_MAX 200

struct fault_catch;
struct smp_call;

struct runqueue;
struct task;

/* Ended tasks a core keeps whole for its next spawns (kernel/sched/task.c). */
#define PERCPU_TASK_CACHE 4

struct percpu {
    int cpu;                          /* logical id */
    struct runqueue *rq;              /* this core's run queue (kernel/sched) */
    uint64_t mpidr;
    _Atomic bool online;
    _Atomic(struct smp_call *) call;  /* pending cross-call, set by another core */
    struct fault_catch *fault_catch;  /* armed by FAULT_CATCH on this core */
    uint64_t irqs;                    /* interrupts taken */
    uint32_t in_irq;                  /* nesting depth of interrupt handling */
    uint64_t timer_irqs;              /* of which: its own generic timer */
    struct timer oneshot;             /* clock_oneshot's timer */
    void (*oneshot_fn)(void *);
    void *oneshot_arg;
    int line_len;                     /* console line being assembled */
    const void *line_owner;           /* the task whose line it is */
    char line[CONSOLE_LINE_MAX];
    void *tls;                        /* TPIDR_EL0 of this core's boot (idle) context */
    uint32_t ntasks_cached;           /* task.c's cache: tasks_cached[0, n) */
    uint32_t next_task_id;            /* task.c: this core's next task id (cpu + 1, then
                                         steps of PLAT_MAX_CPUS), IRQs masked */
    struct task *tasks_cached[PERCPU_TASK_CACHE];
    uint32_t cpu_bit;                 /* 1 << cpu (task.c: "pinned here" in one compare) */
    uint64_t spawn_word;              /* task.c: the first word of a task spawned pinned
                                         here (READY, pinned, this cpu), set at boot */
    uint32_t spawn_tls_zero_off;      /* task.c: its spawn_layout, at this base pointer; */
    uint32_t spawn_ext_off;           /* ext_off 0 when the fast spawn is off */
    uint64_t spawn_entry;             /* task.c: a first frame's lr (arch_task_entry),
                                         read with the two offsets as one pair */
} __attribute__((aligned(64)));

extern struct percpu percpu[PLAT_MAX_CPUS];

/* NULL before the boot CPU has identified itself. */
static inline struct percpu *this_cpu(void) { return (struct percpu *)arch_percpu_ptr(); }
static inline int cpu_id(void)
{
    struct percpu *p = this_cpu();
    return p ? p->cpu : -1;
}

#endif
