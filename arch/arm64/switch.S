/*
 * Task context switch.
 *
 * A switched-out task's sp points at one of three records on its own stack:
 *  - a cooperative frame (arch_switch, struct arch_coop_frame): d8-d15 and
 *    x19-x30, 160 bytes, the callee-saved state of a task that called
 *    schedule();
 *  - a min frame (arch_switch_min in arch/switch_min.h, struct
 *    arch_min_frame): x29 and the resume address, 16 bytes, left by an
 *    inline yield whose compiler kept everything else itself; a new task's
 *    first frame is one too (struct arch_first_frame);
 *  - a full struct arch_frame (written there by sched_irq_exit through
 *    arch_frame_save_preempted): a task that was preempted by an interrupt,
 *    every register including q0-q31 (fp_saved set).
 * The saved sp's low bits tell which: 0 cooperative, 3 (TASK_SP_MIN_TAG)
 * min, 1 (TASK_SP_FULL) full.
 */
#include <arch/asm.h>
#include <arch/frame.h>
#include "asm-offsets.h"

    .text
/* void arch_resume(uint64_t saved_sp): resume a record (the idle task's
 * first start). */
FUNCTION(arch_resume)
    mov     x1, x0
    b       arch_switch_resume_any
END(arch_resume)

/* Resume address of a struct arch_restart_frame: sp is just above its min
 * part, at fn; enter fn with sp back at the record's start, below it. */
FUNCTION(arch_restart_entry)
    ldr     x9, [sp]
    sub     sp, sp, #16
    br      x9
END(arch_restart_entry)

/*
 * void arch_switch(struct task *prev, uint64_t next_sp)
 * IRQs masked, in EL1t. Saves the caller's callee-saved state as a struct
 * arch_coop_frame (arch/frame.h), publishes its sp at prev +
 * ARCH_SWITCH_SP_OFFSET, then clears the byte at prev, its on-cpu flag
 * (release: another core may run prev from here on), then resumes next.
 * d8-d15 are consecutive registers, so two ST1s of four 64-bit lanes move
 * them.
 */
FUNCTION(arch_switch)
    sub     sp, sp, #COOP_FRAME_SIZE
    mov     x9, sp
    str     x9, [x0, #ARCH_SWITCH_SP_OFFSET]
    st1     {v8.1d-v11.1d}, [x9], #32
    st1     {v12.1d-v15.1d}, [x9], #32
    stp     x19, x20, [x9, #0]
    stp     x21, x22, [x9, #16]
    stp     x23, x24, [x9, #32]
    stp     x25, x26, [x9, #48]
    stp     x27, x28, [x9, #64]
    stp     x29, x30, [x9, #80]
    stlrb   wzr, [x0]
    /* falls through into arch_switch_resume_any */
END(arch_switch)

/* x1 = a switched-out task's saved sp, whatever its record (a cooperative
 * frame; | TASK_SP_FULL a full frame; | TASK_SP_MIN_TAG a min frame):
 * resume it. (arch_switch_min, arch/switch_min.h, branches here.) */
FUNCTION(arch_switch_resume_any)
    tbnz    x1, #0, resume_tagged
    mov     sp, x1
    /* falls through into arch_switch_resume */
END(arch_switch_resume_any)

/* Pop a cooperative frame from sp and return into the code that saved it.
 * Also an eret target. */
FUNCTION(arch_switch_resume)
    ld1     {v8.1d-v11.1d}, [sp], #32
    ld1     {v12.1d-v15.1d}, [sp], #32
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     x19, x20, [sp], #96
    ret
END(arch_switch_resume)

/*
 * Eret target in place of arch_switch_resume when an exception switches
 * from one task to a cooperatively switched (or new) one (kernel/sched,
 * resume_from_exception): the FP/SIMD registers still hold the state of
 * the task the exception left, preempted (kept in its frame) or killed.
 * Zero every part of it the pop does not overwrite: q0-q7, q16-q31, FPSR
 * and FPCR (the pop's 64-bit loads of d8-d15 zero their upper halves).
 * FP/SIMD is on (every exception return turns it on).
 */
FUNCTION(arch_switch_resume_clean)
    adr     x30, arch_switch_resume
    /* falls through into fp_zero_rest */
END(arch_switch_resume_clean)

/* Zero q0-q7, q16-q31, FPSR and FPCR, then return to x30. */
LOCAL_FUNCTION(fp_zero_rest)
    movi    v0.2d, #0
    movi    v1.2d, #0
    movi    v2.2d, #0
    movi    v3.2d, #0
    movi    v4.2d, #0
    movi    v5.2d, #0
    movi    v6.2d, #0
    movi    v7.2d, #0
    movi    v16.2d, #0
    movi    v17.2d, #0
    movi    v18.2d, #0
    movi    v19.2d, #0
    movi    v20.2d, #0
    movi    v21.2d, #0
    movi    v22.2d, #0
    movi    v23.2d, #0
    movi    v24.2d, #0
    movi    v25.2d, #0
    movi    v26.2d, #0
    movi    v27.2d, #0
    movi    v28.2d, #0
    movi    v29.2d, #0
    movi    v30.2d, #0
    movi    v31.2d, #0
    msr     fpsr, xzr
    msr     fpcr, xzr
    ret
END(fp_zero_rest)

/*
 * void arch_switch_final(struct task *prev, uint64_t next_sp)
 * arch_switch for a prev whose record needs nothing written: a task that
 * has ended and hands the core over (never resumed), or the idle task
 * (its record is fixed). Saves nothing and publishes no sp. Clearing
 * prev's on-cpu byte (release) lets prev's stack be reused at once, so it is the
 * last access to that stack; then next resumes as in arch_switch.
 */
FUNCTION(arch_switch_final)
    stlrb   wzr, [x0]
    b       arch_switch_resume_any
END(arch_switch_final)

/* x1 = a tagged saved sp: a min frame (| 3: pop x29 and the resume
 * address) or a full frame (| TASK_SP_FULL). */
LOCAL_FUNCTION(resume_tagged)
    tbz     x1, #1, resume_full_frame
    and     sp, x1, #~3
    ldp     x29, x30, [sp], #16
    ret
END(resume_tagged)

/* Eret target for a min frame at sp after an exception (resume_from_exception):
 * clear all of the FP/SIMD state first (the frame keeps none of it). */
FUNCTION(arch_switch_resume_min_clean)
    movi    v8.2d, #0
    movi    v9.2d, #0
    movi    v10.2d, #0
    movi    v11.2d, #0
    movi    v12.2d, #0
    movi    v13.2d, #0
    movi    v14.2d, #0
    movi    v15.2d, #0
    adr     x30, 1f
    b       fp_zero_rest
1:  ldp     x29, x30, [sp], #16
    ret
END(arch_switch_resume_min_clean)

/* x1 = a full frame on the next task's stack (| TASK_SP_FULL): resume it
 * in place (vectors.S). */
LOCAL_FUNCTION(resume_full_frame)
    bic     x0, x1, #1                  // TASK_SP_FULL
    b       exception_resume_frame
END(resume_full_frame)

/* First instructions of every task, "returned" into from its first min
 * frame (struct arch_first_frame): its function and argument above it.
 * As the function returns, task_exit: task_exit_begin does all but the
 * last switch, which it returns in x0, x1 (struct sched_exit_switch):
 * arch_switch_final in place, with the min-frame resume (the joiner's, as
 * a rule) tested first as arch_switch_min does. */
FUNCTION(arch_task_entry)
    ldp     x9, x0, [sp], #16
    msr     daifclr, #2
    blr     x9
    bl      task_exit_begin
    stlrb   wzr, [x0]                   // the last access to this stack
    tbz     x1, #1, arch_switch_resume_any
    and     sp, x1, #~3                 // a min frame: pop it here
    ldp     x29, x30, [sp], #16
    ret
END(arch_task_entry)
