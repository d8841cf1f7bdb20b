/* FP/SIMD state is per task: q0-q31, FPCR and FPSR of a task preempted by
 * the timer come back intact whether it resumes from an interrupt exit
 * (another preempted task gave way) or from a cooperative switch (another
 * task ended), while the task that ran meanwhile loaded values of its own
 * into every one of those registers. */
#include <stdatomic.h>
#include <string.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <kernel/task.h>
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
