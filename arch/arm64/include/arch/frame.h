/*
 * The exception frame: everything an interrupted context had in registers.
 * Built on the per-core exception stack (SP_EL1) by vectors.S on every
 * exception and restored from it on return, so a handler may edit it (resume
 * elsewhere, change x0, ...). Layout offsets reach assembly via asm-offsets.
 *
 * The FP/SIMD part (q0-q31, FPSR, FPCR) is valid only when fp_saved is set.
 * Synchronous exceptions (and SErrors, FIQs) save it on entry. An IRQ from
 * EL1t does not: the interrupted context's FP/SIMD state stays in the
 * registers while FP/SIMD traps at EL1 (CPACR_EL1.FPEN), and is stored into
 * the frame only when it must be: by the trap, when a handler touches
 * FP/SIMD first, or by arch_frame_save_preempted, when the interrupt
 * switches the task out. Every return loads the FP/SIMD part iff fp_saved.
 */
#ifndef ARCH_FRAME_H
#define ARCH_FRAME_H

/* Which of the 16 vectors fired: kind = group (from where) * 4 + type. */
#define EXC_FROM_EL1T     0
#define EXC_FROM_EL1H     1
#define EXC_FROM_LOWER64  2
#define EXC_FROM_LOWER32  3
#define EXC_SYNC          0
#define EXC_IRQ           1
#define EXC_FIQ           2
#define EXC_SERROR        3

/* A switched task's record (struct task) starts with the byte a switch
 * clears once its registers are saved (its on-cpu flag) and keeps its saved
 * sp at this offset (switch.S, arch/switch_min.h). */
#define ARCH_SWITCH_SP_OFFSET 8

#ifndef __ASSEMBLY__
#include <stdint.h>

struct arch_frame {
    uint64_t x[31];          /* x0..x30 (x29 = frame pointer, x30 = link) */
    uint64_t fp_saved;       /* nonzero: fpsr, fpcr and q hold the context's FP/SIMD state
                              * (after x30: the IRQ entry clears it with the same store) */
    uint64_t sp;             /* the interrupted context's stack pointer */
    uint64_t elr;            /* where it resumes */
    uint64_t spsr;
    uint64_t esr;            /* syndrome (sync exceptions and SErrors; not written for IRQs) */
    uint64_t far;            /* fault address (aborts; not written for IRQs) */
    uint32_t fpsr;           /* FP/SIMD state, valid iff fp_saved */
    uint32_t fpcr;
    __uint128_t q[32];
};

/* A cooperative switch's record on the task's stack (switch.S, arch_switch):
 * d8-d15 first (two ST1s move them), then x19-x28, the frame pointer and
 * the return address. */
struct arch_coop_frame {
    uint64_t d[8];           /* d8..d15 (low halves: AAPCS64 preserves only those) */
    uint64_t x[10];          /* x19..x28 */
    uint64_t fp;             /* x29 */
    uint64_t lr;             /* x30: where the switch returns */
};

/* A min frame (arch/switch_min.h; saved sp tagged 3): x29 and where the
 * switch resumes. A new task's first record is one that "returns" into
 * arch_task_entry, with the task's function and argument just above it. */
struct arch_min_frame {
    uint64_t fp;             /* x29 */
    uint64_t lr;             /* resume address */
};
struct arch_first_frame {
    struct arch_min_frame min;   /* fp 0 (the frame chain ends), lr arch_task_entry */
    uint64_t fn, arg;            /* popped by arch_task_entry */
};
/* A record that is never consumed (the idle task's, kernel/sched/sched_idle.c):
 * resuming it "returns" into arch_restart_entry, which enters fn with sp
 * just below the record. */
struct arch_restart_frame {
    struct arch_min_frame min;   /* fp 0, lr arch_restart_entry */
    uint64_t fn, unused;
};

/*
 * In an IRQ taken from EL1t whose exit will switch the interrupted task out
 * (kernel/sched, sched_irq_exit): store the task's whole context into dst
 * (on its own stack): x0-x30, sp, elr and spsr from f, and its FP/SIMD
 * state, from f if f->fp_saved else from the registers; dst->fp_saved = 1.
 * Leaves FP/SIMD usable for the rest of the exception (the registers no
 * longer hold anything the task needs). dst and f do not overlap.
 */
void arch_frame_save_preempted(struct arch_frame *dst, const struct arch_frame *f);

/*
 * eret target (EL1t, DAIF masked) with x0 = a full frame, e.g. one that
 * arch_frame_save_preempted wrote: resume the context it holds where it
 * lies, without copying it to the exception stack (vectors.S).
 */
void exception_resume_frame(const struct arch_frame *f);

/* Called by vectors.S for every exception but an IRQ from EL1t; may edit *frame. */
void arch_exception_dispatch(struct arch_frame *frame, unsigned kind);
/* Called by vectors.S for an IRQ from EL1t; may edit *frame. */
void arch_irq_dispatch(struct arch_frame *frame);

/* FP/SIMD traps taken by interrupt handlers (the lazy save), all cores. */
uint64_t arch_fp_irq_traps(void);
#endif

#endif
