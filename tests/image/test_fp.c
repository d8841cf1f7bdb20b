/* FP/SIMD state is per task: q0-q31, FPCR and FPSR of a task preempted by
 * the timer come back intact whether it resumes from an interrupt exit
 * (another preempted task gave way) or from a cooperative switch (another
 * task ended), while the task that ran meanwhile loaded values of its own
 * into every one of those registers. Interrupts do not save FP/SIMD
 * (arch/arm64/vectors.S): a handler that uses it traps, and the trap saves
 * the interrupted task's state first; preemption, migration and plain
 * interrupts keep every register too. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <arch/frame.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/sem.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <kernel/uart.h>
#include <sr/chan.h>
#include <sr_test.h>

struct fp_regs {
    __uint128_t v[32];
    uint64_t fpcr, fpsr;
};

#define FP_QPAIR(op, a, b, off) #op " q" #a ", q" #b ", [%[r], #" #off "]\n"
#define FP_ALL(op)                                                                       \
    FP_QPAIR(op, 0, 1, 0) FP_QPAIR(op, 2, 3, 32) FP_QPAIR(op, 4, 5, 64)                  \
    FP_QPAIR(op, 6, 7, 96) FP_QPAIR(op, 8, 9, 128) FP_QPAIR(op, 10, 11, 160)             \
    FP_QPAIR(op, 12, 13, 192) FP_QPAIR(op, 14, 15, 224) FP_QPAIR(op, 16, 17, 256)        \
    FP_QPAIR(op, 18, 19, 288) FP_QPAIR(op, 20, 21, 320) FP_QPAIR(op, 22, 23, 352)        \
    FP_QPAIR(op, 24, 25, 384) FP_QPAIR(op, 26, 27, 416) FP_QPAIR(op, 28, 29, 448)        \
    FP_QPAIR(op, 30, 31, 480)
#define FP_CLOBBERS                                                                      \
    "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",     \
    "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",  \
    "v25", "v26", "v27", "v28", "v29", "v30", "v31"

_Static_assert(offsetof(struct fp_regs, fpcr) == 512, "the asm below stores FPCR at 512");

/* Every register from *r, FPCR and FPSR included. */
#define FP_LOAD FP_ALL(ldp) "msr fpcr, %[fpcr]\n" "msr fpsr, %[fpsr]\n"
/* After FP_ALL(stp): FPCR/FPSR into *r, then both left at zero for the C
 * code that follows. */
#define FP_CTRL_SAVE_CLEAR                                                               \
    "mrs x9, fpcr\n" "mrs x10, fpsr\n" "str x9, [%[r], #512]\n" "str x10, [%[r], #520]\n" \
    "msr fpcr, xzr\n" "msr fpsr, xzr\n"

/* The holder counts while it spins; the other task releases it. */
static _Atomic uint64_t holder_spins, released;

/* Load r into the FP/SIMD registers, spin until released (the timer
 * preempts it meanwhile), store the registers back into r, then leave
 * FPCR/FPSR at zero for the C code that follows. */
static void hold_until_released(struct fp_regs *r)
{
    __asm__ volatile(FP_LOAD
                     "1: ldr x9, [%[spins]]\n"
                     "add x9, x9, #1\n"
                     "str x9, [%[spins]]\n"
                     "ldr x9, [%[rel]]\n"
                     "cbz x9, 1b\n" FP_ALL(stp)
                     FP_CTRL_SAVE_CLEAR
                     :
                     : [r] "r"(r), [fpcr] "r"(r->fpcr), [fpsr] "r"(r->fpsr),
                       [spins] "r"(&holder_spins), [rel] "r"(&released)
                     : "x9", "x10", "memory", FP_CLOBBERS);
}

/* Load r, release the holder, spin until the holder has run again (so this
 * task was preempted), store the registers back into r. */
static void release_and_hold(struct fp_regs *r)
{
    __asm__ volatile(FP_LOAD
                     "ldr x10, [%[spins]]\n"
                     "mov x9, #1\n"
                     "str x9, [%[rel]]\n"
                     "1: ldr x9, [%[spins]]\n"
                     "cmp x9, x10\n"
                     "b.eq 1b\n" FP_ALL(stp)
                     FP_CTRL_SAVE_CLEAR
                     :
                     : [r] "r"(r), [fpcr] "r"(r->fpcr), [fpsr] "r"(r->fpsr),
                       [spins] "r"(&holder_spins), [rel] "r"(&released)
                     : "x9", "x10", "memory", FP_CLOBBERS);
}

/* Distinct contents per task and register. FPCR: rounding mode +inf
 * (holder) or -inf (other); FPSR: the cumulative saturation flag QC set
 * for the holder only. */
static void fill(struct fp_regs *r, uint64_t salt, uint64_t fpcr, uint64_t fpsr)
{
    for (int i = 0; i < 32; i++) {
        uint64_t lo = salt * 0x0101010101010101ull ^ (uint64_t)i * 0x9e3779b97f4a7c15ull;
        r->v[i] = ((__uint128_t)~lo << 64) | lo;
    }
    r->fpcr = fpcr;
    r->fpsr = fpsr;
}

#define FPCR_RMODE_PLUS  (1ull << 22)
#define FPCR_RMODE_MINUS (2ull << 22)
#define FPSR_QC          (1ull << 27)

static struct fp_regs holder_want, holder_got, other_want, other_got;

static int64_t holder(void *arg)
{
    (void)arg;
    holder_got = holder_want;
    hold_until_released(&holder_got);
    struct task_stats st;
    task_get_stats(task_current(), &st);
    return st.switches;
}

static int64_t other(void *arg)
{
    (void)arg;
    /* Runs its registers only once the holder spins with its own. */
    while (atomic_load(&holder_spins) == 0)
        task_yield();
    other_got = other_want;
    release_and_hold(&other_got);
    struct task_stats st;
    task_get_stats(task_current(), &st);
    return st.switches;
}

static bool regs_equal(const struct fp_regs *a, const struct fp_regs *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

TEST(fp, preempted_tasks_keep_every_fp_simd_register_fpcr_and_fpsr)
{
    int cpu = cpu_id();
    for (int c = 0; c < platform.ncpus; c++)
        if (smp_cpu_online(c) && c != cpu_id())
            cpu = c;
    atomic_store(&holder_spins, 0);
    atomic_store(&released, 0);
    fill(&holder_want, 0x5a, FPCR_RMODE_PLUS, FPSR_QC);
    fill(&other_want, 0xc3, FPCR_RMODE_MINUS, 0);
    struct task_attr attr = {.name = "fp", .qos = QOS_DEFAULT, .affinity = 1u << cpu};
    struct task *h = task_spawn(holder, NULL, &attr);
    struct task *o = task_spawn(other, NULL, &attr);
    EXPECT_TRUE(h && o);
    if (!h || !o)
        return;
    int64_t h_switches = 0, o_switches = 0;
    EXPECT_EQ(task_join(h, &h_switches), TASK_EXITED);
    EXPECT_EQ(task_join(o, &o_switches), TASK_EXITED);
    /* The holder resumed from an interrupt exit (the other was preempted),
     * the other from a cooperative switch (the holder ended). */
    EXPECT_TRUE(regs_equal(&holder_got, &holder_want));
    EXPECT_TRUE(regs_equal(&other_got, &other_want));
    EXPECT_EQ(holder_got.fpcr, FPCR_RMODE_PLUS);
    EXPECT_EQ(other_got.fpsr, 0);
    EXPECT_GE(h_switches, 2);   /* switched in at start and after preemption */
    EXPECT_GE(o_switches, 2);
}

/* --- interrupts without the FP/SIMD save (irqfp) ------------------------------------ */

/* Load *r, count `spins` iterations down in registers, store the registers
 * back into *r (FPCR/FPSR left at zero). */
static void load_spin_store(struct fp_regs *r, uint64_t spins)
{
    __asm__ volatile(FP_LOAD
                     "mov x9, %[n]\n"
                     "1: subs x9, x9, #1\n"
                     "b.ne 1b\n" FP_ALL(stp)
                     FP_CTRL_SAVE_CLEAR
                     :
                     : [r] "r"(r), [fpcr] "r"(r->fpcr), [fpsr] "r"(r->fpsr), [n] "r"(spins)
                     : "x9", "x10", "memory", FP_CLOBBERS);
}

/* What an interrupt handler built with SIMD may do: write every vector
 * register, FPCR and FPSR, and leave them so. */
static __attribute__((noinline)) void clobber_fp_simd(void)
{
    __asm__ volatile("movi v0.16b, #0xa5\n" "movi v1.16b, #0xa5\n" "movi v2.16b, #0xa5\n" "movi v3.16b, #0xa5\n"
                     "movi v4.16b, #0xa5\n" "movi v5.16b, #0xa5\n" "movi v6.16b, #0xa5\n" "movi v7.16b, #0xa5\n"
                     "movi v8.16b, #0xa5\n" "movi v9.16b, #0xa5\n" "movi v10.16b, #0xa5\n" "movi v11.16b, #0xa5\n"
                     "movi v12.16b, #0xa5\n" "movi v13.16b, #0xa5\n" "movi v14.16b, #0xa5\n" "movi v15.16b, #0xa5\n"
                     "movi v16.16b, #0xa5\n" "movi v17.16b, #0xa5\n" "movi v18.16b, #0xa5\n" "movi v19.16b, #0xa5\n"
                     "movi v20.16b, #0xa5\n" "movi v21.16b, #0xa5\n" "movi v22.16b, #0xa5\n" "movi v23.16b, #0xa5\n"
                     "movi v24.16b, #0xa5\n" "movi v25.16b, #0xa5\n" "movi v26.16b, #0xa5\n" "movi v27.16b, #0xa5\n"
                     "movi v28.16b, #0xa5\n" "movi v29.16b, #0xa5\n" "movi v30.16b, #0xa5\n" "movi v31.16b, #0xa5\n"
                     "mov x9, #(3 << 22)\n"   /* round towards zero */
                     "msr fpcr, x9\n"
                     "mov x9, #1\n"           /* IOC */
                     "msr fpsr, x9\n"
                     :
                     :
                     : "x9", FP_CLOBBERS);
}

#define CB_ROUNDS      24
#define CB_INTERVAL_NS (300 * 1000)

static _Atomic int cb_left;
static _Atomic uint64_t cb_traps;
static bool cb_wake_ui;
static struct semaphore ui_sem;
static _Atomic int ui_rounds, ui_bad;
static struct fp_regs ui_want;

/* Runs in IRQ context on the holder's core, CB_ROUNDS times in a row: uses
 * SIMD (trapped: the interrupted task's registers are saved first) and
 * counts the trap it took (none if an earlier callback already took it in
 * the same interrupt: a host that stalls the vCPU may run two in one),
 * maybe wakes the higher-band ui task there (the interrupt then ends in a
 * preemption), re-arms itself, and on its last round releases the holder.
 * Itself uses no FP/SIMD register: the trap is clobber_fp_simd's. */
static void simd_callback(void *arg)
{
    (void)arg;
    uint64_t traps = arch_fp_irq_traps();
    clobber_fp_simd();
    atomic_fetch_add(&cb_traps, arch_fp_irq_traps() - traps);
    if (cb_wake_ui)
        sem_post(&ui_sem);
    if (atomic_fetch_sub(&cb_left, 1) > 1)
        clock_oneshot(CB_INTERVAL_NS, simd_callback, NULL);
    else
        atomic_store(&released, 1);
}

/* Higher band on the holder's core: on each wake-up fills every register
 * with its own values and checks they stay while it runs. */
static int64_t ui_task(void *arg)
{
    (void)arg;
    for (int i = 0; i < CB_ROUNDS; i++) {
        sem_wait(&ui_sem, WAIT_FOREVER);
        struct fp_regs got = ui_want;
        load_spin_store(&got, 2000);
        if (!regs_equal(&got, &ui_want))
            atomic_fetch_add(&ui_bad, 1);
        atomic_fetch_add(&ui_rounds, 1);
    }
    return 0;
}

/* Arms the callback chain on its own core, then holds its registers
 * until the last callback releases it. */
static int64_t callback_holder(void *arg)
{
    (void)arg;
    holder_got = holder_want;
    clock_oneshot(CB_INTERVAL_NS, simd_callback, NULL);
    hold_until_released(&holder_got);
    return 0;
}

static int other_online_cpu(int not1, int not2)
{
    for (int c = platform.ncpus - 1; c >= 0; c--)
        if (smp_cpu_online(c) && c != not1 && c != not2)
            return c;
    return -1;
}

static void run_simd_callbacks(bool wake_ui)
{
    int cpu = other_online_cpu(cpu_id(), -1);
    if (cpu < 0)
        cpu = cpu_id();
    atomic_store(&released, 0);
    atomic_store(&holder_spins, 0);
    atomic_store(&cb_left, CB_ROUNDS);
    atomic_store(&cb_traps, 0);
    atomic_store(&ui_rounds, 0);
    atomic_store(&ui_bad, 0);
    cb_wake_ui = wake_ui;
    sem_init(&ui_sem, 0);
    fill(&holder_want, 0x6b, FPCR_RMODE_PLUS, FPSR_QC);
    fill(&ui_want, 0x94, FPCR_RMODE_MINUS, 0);
    uint64_t traps = arch_fp_irq_traps();
    struct task *ui = NULL;
    if (wake_ui) {
        struct task_attr ua = {.name = "fp-ui", .qos = QOS_USER_INTERACTIVE, .affinity = 1u << cpu};
        ui = task_spawn(ui_task, NULL, &ua);
        EXPECT_TRUE(ui != NULL);
    }
    struct task_attr ha = {.name = "fp-cb", .qos = QOS_UTILITY, .affinity = 1u << cpu};
    struct task *h = task_spawn(callback_holder, NULL, &ha);
    EXPECT_TRUE(h != NULL);
    if (!h)
        return;
    EXPECT_EQ(task_join(h, NULL), TASK_EXITED);
    if (ui) {
        EXPECT_EQ(task_join(ui, NULL), TASK_EXITED);
        EXPECT_EQ(atomic_load(&ui_rounds), CB_ROUNDS);
        EXPECT_EQ(atomic_load(&ui_bad), 0);
    }
    /* Every callback interrupted a running task (the holder spins until
     * the last one), and each interrupt that ran one trapped once, at its
     * first SIMD instruction: at least one trap, at most one per callback,
     * and every trap is one a callback took (the kernel's own paths never
     * trap). Under icount (no stalls) all CB_ROUNDS trap. */
    uint64_t taken = atomic_load(&cb_traps);
    EXPECT_EQ(arch_fp_irq_traps() - traps, taken);
    EXPECT_GE(taken, 1);
    EXPECT_LE(taken, CB_ROUNDS);
    EXPECT_EQ(atomic_load(&cb_left), 0);
    EXPECT_TRUE(regs_equal(&holder_got, &holder_want));
    EXPECT_EQ(holder_got.fpcr, FPCR_RMODE_PLUS);
    EXPECT_EQ(holder_got.fpsr, FPSR_QC);
}

TEST(fp, irq_handler_using_simd_traps_once_and_leaves_the_task_registers)
{
    run_simd_callbacks(false);
}

/* The trap saved the holder's state into the interrupt's frame; the same
 * interrupt then switches the holder out: the preemption takes it from
 * there, not from the (clobbered) registers. */
TEST(fp, irq_handler_using_simd_then_preempting_keeps_both_tasks_registers)
{
    run_simd_callbacks(true);
}

#define PREEMPTS 6
#define SGIS     40

static struct fp_regs pre_want;
static _Atomic int pre_bad;

/* The last preemptor's job: hold the holder's core until the holder, which
 * may no longer run there, has been taken by the core it may run on. */
struct move_wait {
    struct task *holder;
    int to;
};

/* Higher band than the holder, pinned to its core: its own values in every
 * register while it runs; then, if asked, waits (wake-up SGIs) for the
 * other core to take the queued holder. */
static int64_t preemptor(void *arg)
{
    struct move_wait *mw = arg;
    struct fp_regs got = pre_want;
    load_spin_store(&got, 20000);
    if (!regs_equal(&got, &pre_want))
        atomic_fetch_add(&pre_bad, 1);
    uint64_t deadline = clock_ns() + 10000ull * 1000 * 1000;   /* bounds a hang only */
    while (mw && task_cpu(mw->holder) != mw->to && clock_ns() < deadline) {
        ipi_send(IPI_WAKE, mw->to);   /* its idle loop steals the holder */
        for (volatile int i = 0; i < 1000; i++)
            ;
    }
    return 0;
}

static int64_t spinning_holder(void *arg)
{
    (void)arg;
    holder_got = holder_want;
    hold_until_released(&holder_got);
    struct task_stats st;
    task_get_stats(task_current(), &st);
    return st.migrations;
}

static void send_sgis(int cpu)
{
    for (int i = 0; i < SGIS; i++)
        ipi_send(IPI_WAKE, cpu);
}

/* A task holding its values in every register is interrupted by SGIs and
 * its core's timer, preempted PREEMPTS times by a higher-band task that
 * uses every register, then migrated to another core (it may no longer run
 * on its own; preempted there, the idle core takes it) and interrupted
 * there: it keeps every register, FPCR and FPSR exactly, and nothing
 * traps (no handler used FP/SIMD). */
TEST(fp, preempted_interrupted_and_migrated_task_keeps_every_register)
{
    int c1 = other_online_cpu(cpu_id(), -1);
    if (c1 < 0)
        return;   /* one core: the callback tests cover what it can check */
    int c2 = other_online_cpu(cpu_id(), c1);
    atomic_store(&released, 0);
    atomic_store(&holder_spins, 0);
    atomic_store(&pre_bad, 0);
    fill(&holder_want, 0x2d, FPCR_RMODE_PLUS, FPSR_QC);
    fill(&pre_want, 0xe1, FPCR_RMODE_MINUS, 0);
    uint64_t traps = arch_fp_irq_traps();
    uint64_t irqs = atomic_load(&percpu[c1].irqs);
    struct task_attr ha = {.name = "fp-hold", .qos = QOS_UTILITY, .affinity = 1u << c1};
    struct task *h = task_spawn(spinning_holder, NULL, &ha);
    EXPECT_TRUE(h != NULL);
    if (!h)
        return;
    while (atomic_load(&holder_spins) == 0)
        task_yield();
    struct task_attr pa = {.name = "fp-pre", .qos = QOS_USER_INTERACTIVE, .affinity = 1u << c1};
    struct move_wait mw = {.holder = h, .to = c2};
    for (int i = 0; i < PREEMPTS; i++) {
        send_sgis(c1);
        bool last = i == PREEMPTS - 1 && c2 >= 0;
        if (last)
            task_set_affinity(h, 1u << c2);   /* the last preemption makes it move */
        struct task *p = task_spawn(preemptor, last ? &mw : NULL, &pa);
        EXPECT_TRUE(p != NULL);
        if (p)
            EXPECT_EQ(task_join(p, NULL), TASK_EXITED);
    }
    if (c2 >= 0) {
        EXPECT_EQ(task_cpu(h), c2);
        uint64_t spins = atomic_load(&holder_spins);
        while (atomic_load(&holder_spins) == spins)
            task_yield();   /* it runs there */
        send_sgis(c2);
    }
    atomic_store(&released, 1);
    int64_t migrations = -1;
    EXPECT_EQ(task_join(h, &migrations), TASK_EXITED);
    EXPECT_TRUE(regs_equal(&holder_got, &holder_want));
    EXPECT_EQ(holder_got.fpcr, FPCR_RMODE_PLUS);
    EXPECT_EQ(holder_got.fpsr, FPSR_QC);
    EXPECT_EQ(atomic_load(&pre_bad), 0);
    EXPECT_EQ(migrations, c2 >= 0 ? 1 : 0);
    EXPECT_GE(atomic_load(&percpu[c1].irqs) - irqs, PREEMPTS);   /* at least the wake-ups' SGIs */
    EXPECT_EQ(arch_fp_irq_traps() - traps, 0);
}

/* --- what a task finds in the registers (fprev) ------------------------------------- */

/* Every register, FPCR and FPSR, as they are, into *r. */
static inline __attribute__((always_inline)) void read_fp(struct fp_regs *r)
{
    __asm__ volatile(FP_ALL(stp) "mrs x9, fpcr\n" "mrs x10, fpsr\n"
                     "str x9, [%[r], #512]\n" "str x10, [%[r], #520]\n"
                     :
                     : [r] "r"(r)
                     : "x9", "x10", "memory");
}

/* How many of got's vector registers hold any of secret's values. */
static int secrets_seen(const struct fp_regs *got, const struct fp_regs *secret)
{
    int seen = 0;
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 32; j++)
            seen += got->v[i] == secret->v[j];
    return seen;
}

/* CPACR_EL1.FPEN == 0b11: FP/SIMD usable at EL1 (a trap from EL1t would kill). */
static bool fp_enabled(void)
{
    uint64_t cpacr;
    __asm__ volatile("mrs %0, cpacr_el1" : "=r"(cpacr));
    return ((cpacr >> 20) & 3) == 3;
}

static struct fp_regs secret, seen_regs[2];
static _Atomic int seen_fp_on;

/* Loads the secret into every register, FPCR and FPSR, then faults. */
static int64_t fault_with_fp_live(void *arg)
{
    (void)arg;
    __asm__ volatile(FP_LOAD "mov x9, #0\n" "ldr x9, [x9]\n"
                     :
                     : [r] "r"(&secret), [fpcr] "r"(secret.fpcr), [fpsr] "r"(secret.fpsr)
                     : "x9", "memory", FP_CLOBBERS);
    return 0;
}

/* On the victim's core: joins it (the kill resumes this task from the
 * fault's exception) and records the registers it finds right away. */
static int64_t join_victim(void *arg)
{
    struct task_attr *va = arg;
    struct task *v = task_spawn(fault_with_fp_live, NULL, va);
    if (!v)
        return -1;
    enum task_status how = task_join(v, NULL);
    read_fp(&seen_regs[0]);
    atomic_store(&seen_fp_on, fp_enabled());
    return how;
}

/* A task killed with its own values live in every FP/SIMD register: the
 * task its core resumes in its place (here: its joiner, switched in from
 * the fault's exception) finds none of them, FPCR/FPSR at zero, and
 * FP/SIMD usable. */
TEST(fp, task_killed_with_fp_live_leaves_nothing_to_the_next_task)
{
    int cpu = other_online_cpu(cpu_id(), -1);
    if (cpu < 0)
        cpu = cpu_id();
    fill(&secret, 0x77, FPCR_RMODE_PLUS, FPSR_QC);
    memset(seen_regs, 0, sizeof(seen_regs));
    atomic_store(&seen_fp_on, 0);
    struct task_attr va = {.name = "fp-dies", .qos = QOS_DEFAULT, .affinity = 1u << cpu};
    struct task_attr ja = {.name = "fp-joins", .qos = QOS_DEFAULT, .affinity = 1u << cpu};
    struct task *j = task_spawn(join_victim, &va, &ja);
    EXPECT_TRUE(j != NULL);
    if (!j)
        return;
    int64_t how = -1;
    EXPECT_EQ(task_join(j, &how), TASK_EXITED);
    EXPECT_EQ(how, TASK_FAULTED);
    EXPECT_EQ(secrets_seen(&seen_regs[0], &secret), 0);
    EXPECT_EQ(seen_regs[0].fpcr, 0);
    EXPECT_EQ(seen_regs[0].fpsr, 0);
    EXPECT_EQ(atomic_load(&seen_fp_on), 1);
}

static struct semaphore peek_sem;
static _Atomic int peek_waits;

/* Higher band than the spinning holder on its core: switched in by an
 * interrupt that preempts the holder, first as a new task, then waking
 * from a semaphore. Records the registers it finds each time, first
 * thing, then releases the holder. */
static int64_t peek_after_preemption(void *arg)
{
    (void)arg;
    read_fp(&seen_regs[0]);
    atomic_store(&seen_fp_on, fp_enabled());
    atomic_store(&peek_waits, 1);
    sem_wait(&peek_sem, WAIT_FOREVER);
    read_fp(&seen_regs[1]);
    atomic_store(&released, 1);
    return 0;
}

/* The holder on cpu (fn: holder, or another that spins as it does),
 * utility class, spinning with holder_want (filled from salt and fpcr,
 * FPSR_QC) in every register once this returns; the shared
 * flags and seen_regs reset. NULL (the test already failed) if it cannot
 * be spawned. */
static struct task *start_holder(int cpu, uint64_t salt, uint64_t fpcr, task_fn fn)
{
    atomic_store(&released, 0);
    atomic_store(&holder_spins, 0);
    atomic_store(&seen_fp_on, 0);
    memset(seen_regs, 0, sizeof(seen_regs));
    fill(&holder_want, salt, fpcr, FPSR_QC);
    struct task_attr ha = {.name = "fp-hold", .qos = QOS_UTILITY, .affinity = 1u << cpu};
    struct task *h = task_spawn(fn, NULL, &ha);
    EXPECT_TRUE(h != NULL);
    if (!h)
        return NULL;
    while (atomic_load(&holder_spins) == 0)
        task_yield();
    return h;
}

/* Until t (a higher band than the holder, on its core) has blocked and
 * switched out, then until the holder has spun again (its registers back
 * in place). The holder's spinning alone does not show that t blocked: a
 * host stall past the holder's starvation bound (50 ms for utility) gives
 * it a slice while t is still ready. */
static void wait_blocked_then_holder_spins(struct task *t)
{
    while (((volatile struct task *)t)->state != TASK_BLOCKED || atomic_load(&t->on_cpu))
        task_yield();
    uint64_t spins = atomic_load(&holder_spins);
    while (atomic_load(&holder_spins) == spins)
        task_yield();
}

/* A task preempted with its values in every register (kept for it in its
 * frame): the task the interrupt switches to, new or woken, finds none of
 * them and FPCR/FPSR at zero; the holder gets all of its own back. */
TEST(fp, preempted_task_values_never_reach_the_task_switched_in)
{
    int cpu = other_online_cpu(cpu_id(), -1);
    if (cpu < 0)
        return;   /* the holder would spin on the test's own core */
    atomic_store(&peek_waits, 0);
    sem_init(&peek_sem, 0);
    struct task *h = start_holder(cpu, 0x3c, FPCR_RMODE_PLUS, holder);
    if (!h)
        return;
    struct task_attr pa = {.name = "fp-peek", .qos = QOS_USER_INTERACTIVE, .affinity = 1u << cpu};
    struct task *p = task_spawn(peek_after_preemption, NULL, &pa);
    EXPECT_TRUE(p != NULL);
    if (p) {
        /* The peeker blocks and the holder runs again, then the wake-up
         * preempts the holder. */
        while (!atomic_load(&peek_waits))
            task_yield();
        wait_blocked_then_holder_spins(p);
        sem_post(&peek_sem);
        EXPECT_EQ(task_join(p, NULL), TASK_EXITED);
    } else {
        atomic_store(&released, 1);
    }
    EXPECT_EQ(task_join(h, NULL), TASK_EXITED);
    EXPECT_TRUE(regs_equal(&holder_got, &holder_want));
    for (int k = 0; k < 2; k++) {
        EXPECT_EQ(secrets_seen(&seen_regs[k], &holder_want), 0);
        EXPECT_EQ(seen_regs[k].fpcr, 0);
        EXPECT_EQ(seen_regs[k].fpsr, 0);
    }
    EXPECT_EQ(atomic_load(&seen_fp_on), 1);
}

/* --- a yield's min frame (arch_switch_min) resumed by an interrupt ------------------ */

static _Atomic int yield_live_bad, yield_min_seen, yield_one_switch;

/* The holder's band-mate on its core: keeps an integer and a double live
 * across a yield to the holder (a min frame: the compiler keeps them in
 * this frame), which runs on until its slice ends, so this task comes back
 * through the interrupt's switch. Records the registers it finds first
 * thing, then releases the holder. Returns how often the holder spun
 * meanwhile. */
static int64_t yield_to_holder(void *arg)
{
    uint64_t keep_x = 0x5eed0000u + (uint64_t)(uintptr_t)arg;
    double keep_d = 1.25 * (double)(uintptr_t)arg;
    uint64_t spins = atomic_load(&holder_spins);
    uint32_t switches = task_current()->switches;
    task_yield();
    uint64_t flags = arch_irq_save();   /* no preemption between here and the sp */
    read_fp(&seen_regs[0]);
    atomic_store(&seen_fp_on, fp_enabled());
    /* A task's saved sp stays as its last switch-out left it: the yield's,
     * if this is the one switch in since (a host stall of a slice right
     * before the yield or after it lets a slice end preempt it there). */
    uint64_t saved_sp = __atomic_load_n(&task_current()->sp, __ATOMIC_RELAXED);
    atomic_store(&yield_one_switch, task_current()->switches == switches + 1);
    arch_irq_restore(flags);
    atomic_store(&yield_min_seen, (saved_sp & TASK_SP_MIN_TAG) == TASK_SP_MIN_TAG);
    uint64_t after = atomic_load(&holder_spins);
    if (keep_x != 0x5eed0000u + (uint64_t)(uintptr_t)arg || keep_d != 1.25 * (double)(uintptr_t)arg)
        atomic_fetch_add(&yield_live_bad, 1);
    atomic_store(&released, 1);
    return (int64_t)(after - spins);
}

/* One round of the test below on cpu: a holder, the yielder beside it. */
static void yield_round(int cpu)
{
    atomic_store(&yield_live_bad, 0);
    atomic_store(&yield_min_seen, 0);
    struct task *h = start_holder(cpu, 0x5a, FPCR_RMODE_MINUS, holder);
    if (!h)
        return;
    /* Its band-mate runs when the holder's slice ends, then yields back. */
    struct task_attr ya = {.name = "fp-yield", .qos = QOS_UTILITY, .affinity = 1u << cpu};
    struct task *y = task_spawn(yield_to_holder, (void *)(uintptr_t)7, &ya);
    EXPECT_TRUE(y != NULL);
    if (!y) {
        atomic_store(&released, 1);
        task_join(h, NULL);
        return;
    }
    int64_t holder_ran = 0;
    EXPECT_EQ(task_join(y, &holder_ran), TASK_EXITED);
    EXPECT_EQ(task_join(h, NULL), TASK_EXITED);
    if (atomic_load(&yield_one_switch))
        EXPECT_EQ(atomic_load(&yield_min_seen), 1);
    EXPECT_GT(holder_ran, 0);
    EXPECT_EQ(atomic_load(&yield_live_bad), 0);
    EXPECT_TRUE(regs_equal(&holder_got, &holder_want));
    EXPECT_EQ(secrets_seen(&seen_regs[0], &holder_want), 0);
    EXPECT_EQ(seen_regs[0].fpcr, 0);
    EXPECT_EQ(seen_regs[0].fpsr, 0);
    EXPECT_EQ(atomic_load(&seen_fp_on), 1);
}

/* A task that yields to a band-mate spinning with its values in every
 * register, and gets the core back when the timer preempts it (its saved
 * sp was a min frame); it finds none of the holder's values,
 * FPCR/FPSR at zero, FP/SIMD usable, and its own live values intact; the
 * holder keeps all of its registers. */
TEST(fp, a_yield_resumed_by_a_preemption_finds_its_values_and_none_of_the_preempted)
{
    int cpu = other_online_cpu(cpu_id(), -1);
    if (cpu < 0)
        return;   /* the holder would spin on the test's own core */
    /* Until a round whose yield's switch was the yielder's only one (a few
     * tries: only a host stall at the wrong instant spoils one). */
    atomic_store(&yield_one_switch, 0);
    for (int tries = 0; tries < 5 && !atomic_load(&yield_one_switch); tries++)
        yield_round(cpu);
    EXPECT_EQ(atomic_load(&yield_one_switch), 1);
}

/* --- an untimed semaphore wait's min frame (waitq_wait_min_finish) -------------------- */

/* Ten integers and eight doubles derived from seed, kept live by the
 * caller across a wait: opaque to the compiler (an empty asm "writes"
 * them), so it must keep them somewhere across the switch rather than
 * recompute them. The arch_switch_min asm clobbers every register, so it
 * keeps them in the caller's frame; were a callee-saved register missing
 * from its list, the compiler would keep a value there, and another task's
 * value would come back in it. */
#define LIVE_X(i) uint64_t x##i = seed * 0x9e3779b97f4a7c15ull + (i)
#define LIVE_D(i) double d##i = (double)(seed & 0xffff) * 0.5 + (i)
#define LIVE_DECLARE(seed)                                                                  \
    LIVE_X(0); LIVE_X(1); LIVE_X(2); LIVE_X(3); LIVE_X(4);                                  \
    LIVE_X(5); LIVE_X(6); LIVE_X(7); LIVE_X(8); LIVE_X(9);                                  \
    LIVE_D(0); LIVE_D(1); LIVE_D(2); LIVE_D(3); LIVE_D(4); LIVE_D(5); LIVE_D(6); LIVE_D(7); \
    LIVE_OPAQUE()
#define LIVE_OPAQUE()                                                                       \
    do {                                                                                    \
        __asm__ volatile("" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4));            \
        __asm__ volatile("" : "+r"(x5), "+r"(x6), "+r"(x7), "+r"(x8), "+r"(x9));            \
        __asm__ volatile("" : "+w"(d0), "+w"(d1), "+w"(d2), "+w"(d3));                      \
        __asm__ volatile("" : "+w"(d4), "+w"(d5), "+w"(d6), "+w"(d7));                      \
    } while (0)
/* How many of them are not what LIVE_DECLARE(seed) made. */
#define LIVE_WRONG(seed)                                                                    \
    ({                                                                                      \
        LIVE_OPAQUE();                                                                      \
        uint64_t k_ = (seed) * 0x9e3779b97f4a7c15ull;                                       \
        double b_ = (double)((seed) & 0xffff) * 0.5;                                        \
        (x0 != k_) + (x1 != k_ + 1) + (x2 != k_ + 2) + (x3 != k_ + 3) + (x4 != k_ + 4) +    \
            (x5 != k_ + 5) + (x6 != k_ + 6) + (x7 != k_ + 7) + (x8 != k_ + 8) +             \
            (x9 != k_ + 9) + (d0 != b_) + (d1 != b_ + 1) + (d2 != b_ + 2) +                 \
            (d3 != b_ + 3) + (d4 != b_ + 4) + (d5 != b_ + 5) + (d6 != b_ + 6) +             \
            (d7 != b_ + 7);                                                                 \
    })

static uint64_t xhold_want[10], xhold_got[10];

/* hold_until_released with x19-x28 loaded from want too (an interrupt that
 * switches from the holder to another task leaves them there), stored
 * into got at the end. */
static void hold_x_until_released(struct fp_regs *r, const uint64_t *want, uint64_t *got)
{
    __asm__ volatile("ldp x19, x20, [%[w]]\n" "ldp x21, x22, [%[w], #16]\n"
                     "ldp x23, x24, [%[w], #32]\n" "ldp x25, x26, [%[w], #48]\n"
                     "ldp x27, x28, [%[w], #64]\n"
                     FP_LOAD
                     "1: ldr x9, [%[spins]]\n"
                     "add x9, x9, #1\n"
                     "str x9, [%[spins]]\n"
                     "ldr x9, [%[rel]]\n"
                     "cbz x9, 1b\n" FP_ALL(stp)
                     FP_CTRL_SAVE_CLEAR
                     "stp x19, x20, [%[g]]\n" "stp x21, x22, [%[g], #16]\n"
                     "stp x23, x24, [%[g], #32]\n" "stp x25, x26, [%[g], #48]\n"
                     "stp x27, x28, [%[g], #64]\n"
                     :
                     : [r] "r"(r), [fpcr] "r"(r->fpcr), [fpsr] "r"(r->fpsr),
                       [spins] "r"(&holder_spins), [rel] "r"(&released), [w] "r"(want),
                       [g] "r"(got)
                     : "x9", "x10", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
                       "x27", "x28", "memory", FP_CLOBBERS);
}

static int64_t x_holder(void *arg)
{
    (void)arg;
    holder_got = holder_want;
    hold_x_until_released(&holder_got, xhold_want, xhold_got);
    return 0;
}

static struct semaphore min_wait_sem;
static _Atomic int min_wait_bad, min_wait_seen;

/* What a waiter resumed from its min frame records first thing (FP/SIMD
 * registers before anything uses them, FP on, its record a min frame). */
static void note_min_wait_resume(void)
{
    read_fp(&seen_regs[0]);
    atomic_store(&seen_fp_on, fp_enabled());
    uint64_t saved_sp = __atomic_load_n(&task_current()->sp, __ATOMIC_RELAXED);
    atomic_store(&min_wait_seen, (saved_sp & TASK_SP_MIN_TAG) == TASK_SP_MIN_TAG);
}

/* Higher band than the holder on its core: keeps its values live across an
 * untimed wait, which the holder's preemption by the post's wake-up ends
 * (so it comes back through the interrupt's switch into its min frame);
 * records the registers it finds first thing, then releases the holder. */
static int64_t wait_on_holder_core(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    LIVE_DECLARE(seed);
    atomic_store(&peek_waits, 1);
    int r = sem_wait(&min_wait_sem, WAIT_FOREVER);
    note_min_wait_resume();
    atomic_store(&min_wait_bad, LIVE_WRONG(seed));
    atomic_store(&released, 1);
    return r;
}

static void post_min_wait_sem(void) { sem_post(&min_wait_sem); }

/* A holder spinning on core cpu (not the caller's; < 0: none, nothing
 * checked) with its values in every FP/SIMD register and in x19-x28 (from
 * salts xsalt, salt, fpcr); waiter, of a higher band on that core, blocks
 * in an untimed wait (peek_waits set first), which end_wait ends: its
 * wake-up preempts the holder. Checks what the waiter recorded
 * (note_min_wait_resume, min_wait_bad) and that the holder kept all of its
 * registers; returns the waiter's result. */
static int64_t check_min_wait_preempted_on(int cpu, task_fn waiter, void (*end_wait)(void),
                                           uint64_t xsalt, uint32_t salt, uint64_t fpcr)
{
    if (cpu < 0)
        return 0;   /* the holder would spin on the test's own core */
    atomic_store(&peek_waits, 0);
    atomic_store(&min_wait_bad, -1);
    atomic_store(&min_wait_seen, 0);
    for (int i = 0; i < 10; i++) {
        xhold_want[i] = xsalt + 0x10001ull * (uint64_t)(i + 1);
        xhold_got[i] = 0;
    }
    struct task *h = start_holder(cpu, salt, fpcr, x_holder);
    if (!h)
        return -1;
    struct task_attr wa = {.name = "fp-minwait", .qos = QOS_USER_INTERACTIVE,
                           .affinity = 1u << cpu};
    struct task *w = task_spawn(waiter, (void *)(uintptr_t)(xsalt >> 48), &wa);
    EXPECT_TRUE(w != NULL);
    if (!w) {
        atomic_store(&released, 1);
        task_join(h, NULL);
        return -1;
    }
    /* The waiter blocks, then the holder runs again. */
    while (!atomic_load(&peek_waits))
        task_yield();
    wait_blocked_then_holder_spins(w);
    EXPECT_EQ(((volatile struct task *)w)->state, TASK_BLOCKED);
    end_wait();
    int64_t r = -1;
    EXPECT_EQ(task_join(w, &r), TASK_EXITED);
    EXPECT_EQ(task_join(h, NULL), TASK_EXITED);
    EXPECT_EQ(atomic_load(&min_wait_seen), 1);
    EXPECT_EQ(atomic_load(&min_wait_bad), 0);
    EXPECT_TRUE(regs_equal(&holder_got, &holder_want));
    EXPECT_EQ(memcmp(xhold_got, xhold_want, sizeof(xhold_got)), 0);
    EXPECT_EQ(secrets_seen(&seen_regs[0], &holder_want), 0);
    EXPECT_EQ(seen_regs[0].fpcr, 0);
    EXPECT_EQ(seen_regs[0].fpsr, 0);
    EXPECT_EQ(atomic_load(&seen_fp_on), 1);
    return r;
}

/* check_min_wait_preempted_on another core than the caller's. */
static int64_t check_min_wait_preempted(task_fn waiter, void (*end_wait)(void), uint64_t xsalt,
                                        uint32_t salt, uint64_t fpcr)
{
    return check_min_wait_preempted_on(other_online_cpu(cpu_id(), -1), waiter, end_wait, xsalt,
                                       salt, fpcr);
}

/* An untimed semaphore wait (a min frame) ended by a post from another
 * core that makes the waiter preempt a holder spinning with its values in
 * every FP/SIMD register and in x19-x28: the waiter finds its own live
 * values intact, none of the holder's FP/SIMD values, FPCR/FPSR at zero;
 * the holder keeps all of its registers. */
TEST(fp, an_untimed_wait_resumed_by_a_preemption_keeps_its_values_and_finds_none_of_the_preempted)
{
    sem_init(&min_wait_sem, 0);
    EXPECT_EQ(check_min_wait_preempted(wait_on_holder_core, post_min_wait_sem,
                                       0xa5a5000000000000ull, 0x4b, FPCR_RMODE_PLUS),
              0);
}

static struct semaphore keep_go, keep_back;

/* Fill x19-x28 and d8-d15 (the callee-saved registers) with junk from
 * salt: what the next task switched in finds in them unless it restores
 * its own. */
static void scramble_callee_saved(uint64_t salt)
{
    __asm__ volatile("mov x19, %[s]\n" "add x20, x19, #1\n" "add x21, x19, #2\n"
                     "add x22, x19, #3\n" "add x23, x19, #4\n" "add x24, x19, #5\n"
                     "add x25, x19, #6\n" "add x26, x19, #7\n" "add x27, x19, #8\n"
                     "add x28, x19, #9\n" "fmov d8, x19\n" "fmov d9, x20\n"
                     "fmov d10, x21\n" "fmov d11, x22\n" "fmov d12, x23\n"
                     "fmov d13, x24\n" "fmov d14, x25\n" "fmov d15, x26\n"
                     :
                     : [s] "r"(salt)
                     : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
                       "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15");
}

/* The waiter's band-mate on its core: per round, junk in the callee-saved
 * registers, a post that makes the waiter ready here, then a wait that
 * hands the core to it (untimed: a min frame; every other round timed: a
 * full frame through sched_block, the waiter resumed from its min frame
 * either way). */
static int64_t scrambling_poster(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    /* volatile: in memory, so that a lost register shows up as a wrong
     * value below rather than as a loop that never ends */
    for (volatile int i = 0; i < rounds; i++) {
        scramble_callee_saved(0xdead0000ull + (uint64_t)i * 16);
        sem_post(&keep_go);
        int r = (i & 1) ? sem_wait(&keep_back, 60ull * 1000 * 1000 * 1000)
                        : sem_wait(&keep_back, WAIT_FOREVER);
        if (r != 0)
            return -1;
    }
    return rounds;
}

/* Same-core untimed waits resumed by cooperative switches (the poster's own
 * min or full switch): the waiter's live values survive every one, each
 * wait ends with 0 and waiting_on cleared, and each round is one switch in
 * each direction. */
TEST(fp, untimed_waits_keep_the_waiters_values_across_cooperative_switches)
{
    enum { ROUNDS = 40 };
    sem_init(&keep_go, 0);
    sem_init(&keep_back, 0);
    struct task *me = sched_current();
    struct task_attr a = {.name = "fp-scramble", .qos = me->qos, .affinity = 1u << cpu_id()};
    struct task_stats before, after;
    task_get_stats(me, &before);
    struct task *t = task_spawn(scrambling_poster, (void *)(intptr_t)ROUNDS, &a);
    EXPECT_TRUE(t != NULL);
    if (!t)
        return;
    volatile int wrong = 0, bad = 0;   /* in memory, as the poster's counter */
    for (volatile int i = 0; i < ROUNDS; i++) {
        uint64_t seed = 0x77000u + (uint64_t)i;
        LIVE_DECLARE(seed);
        bad += sem_wait(&keep_go, WAIT_FOREVER) != 0;
        bad += task_current()->waiting_on != NULL;
        wrong += LIVE_WRONG(seed);
        sem_post(&keep_back);
    }
    task_get_stats(me, &after);
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, ROUNDS);
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(after.switches - before.switches, ROUNDS);
    EXPECT_EQ(keep_go.count, 0);
    EXPECT_EQ(keep_back.count, 0);
}

/* --- an untimed channel receive's min frame (chan_recv, sr/chan.h) ------------------ */

static struct chan *min_recv_chan;
static _Atomic int64_t min_recv_got;

/* wait_on_holder_core with an untimed chan_recv (parked in the channel's
 * record, switched out with a min frame) in place of the semaphore wait;
 * the message received is recorded too. */
static int64_t recv_on_holder_core(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    LIVE_DECLARE(seed);
    uint64_t m = 0;
    atomic_store(&peek_waits, 1);
    int r = chan_recv(min_recv_chan, &m, WAIT_FOREVER);
    note_min_wait_resume();
    atomic_store(&min_wait_bad, LIVE_WRONG(seed));
    atomic_store(&min_recv_got, (int64_t)m);
    atomic_store(&released, 1);
    return r;
}

static void send_min_recv(void)
{
    uint64_t m = 0x0123456789abcdefull;
    EXPECT_EQ(chan_send(min_recv_chan, &m, WAIT_FOREVER), 0);
}

/* An untimed channel receive (a min frame) ended by a send from another
 * core whose hand-off makes the receiver preempt a holder spinning with
 * its values in every FP/SIMD register and in x19-x28: the receiver gets
 * the message and finds its own live values intact, none of the holder's
 * FP/SIMD values, FPCR/FPSR at zero; the holder keeps all of its
 * registers. */
TEST(fp, an_untimed_receive_resumed_by_a_preemption_keeps_its_values_and_finds_none_of_the_preempted)
{
    atomic_store(&min_recv_got, 0);
    min_recv_chan = chan_create(sizeof(uint64_t), 1);
    EXPECT_TRUE(min_recv_chan != NULL);
    if (!min_recv_chan)
        return;
    EXPECT_EQ(check_min_wait_preempted(recv_on_holder_core, send_min_recv,
                                       0x5a5a000000000000ull, 0x6d, FPCR_RMODE_MINUS),
              0);
    chan_destroy(min_recv_chan);
    if (other_online_cpu(cpu_id(), -1) >= 0)
        EXPECT_EQ(atomic_load(&min_recv_got), (int64_t)0x0123456789abcdefull);
}

static struct chan *keep_go_chan, *keep_back_chan;

/* scrambling_poster over channels: per round, junk in the callee-saved
 * registers, the round's number sent (a hand-off that makes the receiver
 * ready here), then a receive that hands the core to it (untimed: a min
 * frame; every other round timed: a full frame). */
static int64_t scrambling_sender(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (volatile int i = 0; i < rounds; i++) {
        scramble_callee_saved(0xbeef0000ull + (uint64_t)i * 16);
        uint64_t m = 1000u + (uint64_t)i;
        if (chan_send(keep_go_chan, &m, WAIT_FOREVER) != 0)
            return -1;
        int r = (i & 1) ? chan_recv(keep_back_chan, &m, 60ull * 1000 * 1000 * 1000)
                        : chan_recv(keep_back_chan, &m, WAIT_FOREVER);
        if (r != 0 || m != 2000u + (uint64_t)i)
            return -2;
    }
    return rounds;
}

/* Same-core untimed receives resumed by cooperative switches (the
 * sender's own min or full switch): the receiver's live values survive
 * every one, each receive returns 0 with the round's message, and each
 * round is one switch in each direction. */
TEST(fp, untimed_receives_keep_the_receivers_values_across_cooperative_switches)
{
    enum { ROUNDS = 40 };
    keep_go_chan = chan_create(sizeof(uint64_t), 1);
    keep_back_chan = chan_create(sizeof(uint64_t), 1);
    EXPECT_TRUE(keep_go_chan && keep_back_chan);
    if (!keep_go_chan || !keep_back_chan)
        return;
    struct task *me = sched_current();
    struct task_attr a = {.name = "fp-scramble", .qos = me->qos, .affinity = 1u << cpu_id()};
    struct task_stats before, after;
    task_get_stats(me, &before);
    struct task *t = task_spawn(scrambling_sender, (void *)(intptr_t)ROUNDS, &a);
    EXPECT_TRUE(t != NULL);
    if (!t)
        return;
    volatile int wrong = 0, bad = 0;   /* in memory, as the sender's counter */
    for (volatile int i = 0; i < ROUNDS; i++) {
        uint64_t seed = 0x88000u + (uint64_t)i;
        LIVE_DECLARE(seed);
        uint64_t m = 0;
        bad += chan_recv(keep_go_chan, &m, WAIT_FOREVER) != 0;
        bad += m != 1000u + (uint64_t)i;
        wrong += LIVE_WRONG(seed);
        m = 2000u + (uint64_t)i;
        bad += chan_send(keep_back_chan, &m, WAIT_FOREVER) != 0;
    }
    task_get_stats(me, &after);
    int64_t v = 0;
    EXPECT_EQ(task_join(t, &v), TASK_EXITED);
    EXPECT_EQ(v, ROUNDS);
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(after.switches - before.switches, ROUNDS);
    EXPECT_EQ(chan_len(keep_go_chan), 0);
    EXPECT_EQ(chan_len(keep_back_chan), 0);
    chan_destroy(keep_go_chan);
    chan_destroy(keep_back_chan);
}

/* --- an untimed uart_read's min frame (kernel/uart.h) ------------------------------ */

/* The host feed's byte i for seed (scripts/serial_feed.py, test_uart.c). */
static uint8_t uart_feed_byte(unsigned seed, unsigned i)
{
    return (uint8_t)(33 + (seed * 31 + i * 7 + i / 94) % 94);
}

static void uart_rx_discard(struct uart *u)
{
    char junk[64];
    while (uart_try_read(u, junk, sizeof(junk)) > 0)
        ;
}

#define MIN_READ_SEED 7
static _Atomic int64_t min_read_got;

/* wait_on_holder_core with an untimed uart_read of one byte (queued on the
 * UART's RX queue, switched out with a min frame) in place of the
 * semaphore wait; the byte (or the negative result) is recorded too. */
static int64_t read_on_holder_core(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    LIVE_DECLARE(seed);
    uint8_t b = 0;
    atomic_store(&peek_waits, 1);
    long n = uart_read(uart_console(), &b, 1, WAIT_FOREVER);
    note_min_wait_resume();
    atomic_store(&min_wait_bad, LIVE_WRONG(seed));
    atomic_store(&min_read_got, n == 1 ? (int64_t)b : -1000 + n);
    atomic_store(&released, 1);
    return n == 1 ? 0 : -1;
}

static void feed_min_read(void) { printf("SR: uart rx ready 1 %d\n", MIN_READ_SEED); }

/* On a core other than the UART interrupt's (arg): the check, with the
 * holder on the interrupt's core. */
static int64_t check_min_read_preempted(void *arg)
{
    return check_min_wait_preempted_on((int)(intptr_t)arg, read_on_holder_core, feed_min_read,
                                       0x3c3c000000000000ull, 0x27, FPCR_RMODE_PLUS);
}

/* An untimed uart_read (a min frame) ended by the RX interrupt, taken on
 * the reader's core while a holder spins there with its values in every
 * FP/SIMD register and in x19-x28: the handler's wake-up makes the reader
 * preempt the holder at the interrupt's exit, so it comes back through the
 * exception's switch into its min frame. It gets the host's byte, its own
 * live values intact, none of the holder's FP/SIMD values, FPCR/FPSR at
 * zero; the holder keeps all of its registers. */
TEST(fp, an_untimed_uart_read_resumed_by_a_preemption_keeps_its_values_and_finds_none_of_the_preempted)
{
    struct uart *u = uart_console();
    if (!u) {
        test_fail(__FILE__, __LINE__, "the console UART is not interrupt-driven");
        return;
    }
    struct uart_stats s;
    uart_stats(u, &s);
    int runner = other_online_cpu(s.irq_cpu, -1);
    if (runner < 0)
        return;   /* one core: the holder would spin on the check's own core */
    uart_rx_discard(u);
    atomic_store(&min_read_got, -1);
    struct task_attr a = {.name = "fp-minread", .qos = QOS_DEFAULT, .affinity = 1u << runner};
    int64_t r = -1;
    EXPECT_EQ(task_join(task_spawn(check_min_read_preempted, (void *)(intptr_t)s.irq_cpu, &a),
                        &r),
              TASK_EXITED);
    EXPECT_EQ(r, 0);
    EXPECT_EQ(atomic_load(&min_read_got), (int64_t)uart_feed_byte(MIN_READ_SEED, 0));
}

#define HANDOFF_READS 12
#define HANDOFF_SEED 9

static struct semaphore handoff_read_done;
static struct {
    _Atomic int wrong, bad;
} handoff_read;

/* On the UART interrupt's core: HANDOFF_READS untimed one-byte reads, each
 * with values live across it; each read's byte and result checked. */
static int64_t handoff_reader(void *arg)
{
    struct uart *u = arg;
    for (volatile int i = 0; i < HANDOFF_READS; i++) {
        uint64_t seed = 0x6100u + (uint64_t)i;
        LIVE_DECLARE(seed);
        uint8_t b = 0;
        long n = uart_read(u, &b, 1, WAIT_FOREVER);
        atomic_fetch_add(&handoff_read.wrong, LIVE_WRONG(seed));
        atomic_fetch_add(&handoff_read.bad, n != 1 || b != uart_feed_byte(HANDOFF_SEED + i, 0));
        sem_post(&handoff_read_done);
    }
    return 0;
}

/* Untimed reads on the UART interrupt's core, its only other task asleep,
 * so the interrupt is dispatched by the idle loop and its wake-up hands
 * the core to the reader (the benchmark's path): while it waits, the
 * reader's saved sp is a min frame; each read returns the count the
 * interrupt left (1) with the host's byte; its live values survive every
 * read; each read is exactly one interrupt wake-up and one switch in. */
TEST(fp, untimed_uart_reads_keep_their_values_across_the_idle_hand_off)
{
    struct uart *u = uart_console();
    if (!u) {
        test_fail(__FILE__, __LINE__, "the console UART is not interrupt-driven");
        return;
    }
    struct uart_stats s0, s1;
    uart_stats(u, &s0);   /* irq_cpu */
    uart_rx_discard(u);
    sem_init(&handoff_read_done, 0);
    atomic_store(&handoff_read.wrong, 0);
    atomic_store(&handoff_read.bad, 0);
    struct task_attr a = {.name = "fp-handoff-read", .qos = QOS_DEFAULT,
                          .affinity = 1u << s0.irq_cpu};
    /* The test's own polling and wake-ups stay off the reader's core (when
     * there is another), so that every switch of the reader is a read's. */
    struct task *me = task_current();
    uint32_t my_affinity = me->affinity;
    bool shared_core = smp_online_count() < 2;
    if (!shared_core)
        task_set_affinity(me, smp_online_mask() & ~(1u << s0.irq_cpu));
    struct task *r = task_spawn(handoff_reader, u, &a);
    EXPECT_TRUE(r != NULL);
    if (!r) {
        task_set_affinity(me, my_affinity);
        return;
    }
    int min_frames = 0;
    struct task_stats t0, t1;
    for (int i = 0; i < HANDOFF_READS; i++) {
        /* Until the reader waits, switched out (its sp published before
         * on_cpu's release); a byte asked for earlier would not wake it. */
        while (((volatile struct task *)r)->state != TASK_BLOCKED ||
               atomic_load_explicit(&r->on_cpu, memory_order_acquire))
            task_sleep_ns(100 * 1000);
        if (i == 0) {
            task_get_stats(r, &t0);
            uart_stats(u, &s0);
        }
        uint64_t sp = __atomic_load_n(&r->sp, __ATOMIC_RELAXED);
        min_frames += (sp & TASK_SP_MIN_TAG) == TASK_SP_MIN_TAG;
        printf("SR: uart rx ready 1 %d\n", HANDOFF_SEED + i);
        EXPECT_EQ(sem_wait(&handoff_read_done, 30000ull * 1000 * 1000), 0);
    }
    task_get_stats(r, &t1);
    uart_stats(u, &s1);
    EXPECT_EQ(task_join(r, NULL), TASK_EXITED);
    task_set_affinity(me, my_affinity);
    EXPECT_EQ(min_frames, HANDOFF_READS);
    EXPECT_EQ(atomic_load(&handoff_read.wrong), 0);
    EXPECT_EQ(atomic_load(&handoff_read.bad), 0);
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, HANDOFF_READS);
    EXPECT_EQ(s1.rx_wakeups - s0.rx_wakeups, HANDOFF_READS);
    if (shared_core)   /* one core: the test's own wake-ups may switch it too */
        EXPECT_GE(t1.switches - t0.switches, HANDOFF_READS);
    else
        EXPECT_EQ(t1.switches - t0.switches, HANDOFF_READS);
}
