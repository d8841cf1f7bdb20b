/*
 * Exception vectors and the frame save/restore path.
 *
 * Code runs in EL1t (SP_EL0 = the running context's stack); every exception
 * is taken to EL1h on the per-core exception stack (SP_EL1), where the frame
 * (struct arch_frame: x0-x30, sp, elr, spsr, esr, far, FP/SIMD) is built.
 * arch_exception_dispatch(frame, kind) may edit the frame; what is in it on
 * return is what the interrupted context resumes with (including SP_EL0 when it
 * came from EL1t). A fault while on SP_EL1 (EL1h) nests below the current frame.
 *
 * FP/SIMD (frame.h): synchronous exceptions, SErrors and FIQs save q0-q31,
 * FPSR and FPCR on entry (their handlers may print, and picolibc uses SIMD).
 * An IRQ from EL1t saves only the general registers and turns FP/SIMD off
 * at EL1 (CPACR_EL1.FPEN = 0, then an ISB) for as long as it is handled:
 * the interrupted task's FP/SIMD state stays in the registers, and the
 * kernel (built -mgeneral-regs-only) never touches them. If a handler does,
 * the trap (EC 0x07, from EL1h) stores that state into the IRQ's frame,
 * marks it saved and turns FP/SIMD back on for the rest of the interrupt;
 * the IRQ frame is always the top one of the exception stack, which is
 * aligned to its size (stacks.c). Every way out of an IRQ is irq_entry's
 * ERET (a switch to another task rewrites the frame, sched_irq_exit), which
 * turns FP/SIMD on again first; ERET synchronizes the change.
 */
#include <arch/asm.h>
#include <arch/boot.h>
#include <arch/frame.h>
#include <arch/sysreg.h>
#include "asm-offsets.h"

/* An IRQ from EL1t has its own, lighter path (irq_entry). */
.macro vector group, type
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #FRAME_X]
.if \group == EXC_FROM_EL1T && \type == EXC_IRQ
    b       irq_entry
.else
    mov     x1, #(\group * 4 + \type)
    b       exception_common
.endif
.endm

/* \op (stp or ldp) q0-q31 with the 512 bytes at x\t1. */
.macro q_pairs op, t1
    \op     q0, q1, [x\t1, #0]
    \op     q2, q3, [x\t1, #32]
    \op     q4, q5, [x\t1, #64]
    \op     q6, q7, [x\t1, #96]
    \op     q8, q9, [x\t1, #128]
    \op     q10, q11, [x\t1, #160]
    \op     q12, q13, [x\t1, #192]
    \op     q14, q15, [x\t1, #224]
    \op     q16, q17, [x\t1, #256]
    \op     q18, q19, [x\t1, #288]
    \op     q20, q21, [x\t1, #320]
    \op     q22, q23, [x\t1, #352]
    \op     q24, q25, [x\t1, #384]
    \op     q26, q27, [x\t1, #416]
    \op     q28, q29, [x\t1, #448]
    \op     q30, q31, [x\t1, #480]
.endm

/* Store q0-q31, FPSR and FPCR into the frame at \base; x\t1-x\t3 scratch. */
.macro save_fp base, t1, t2, t3
    add     x\t1, \base, #FRAME_Q
    q_pairs stp, \t1
    mrs     x\t2, fpsr
    mrs     x\t3, fpcr
    stp     w\t2, w\t3, [x\t1, #(FRAME_FPSR - FRAME_Q)]
.endm

/* Load q0-q31, FPSR and FPCR from the frame at \base; x\t1-x\t3 scratch. */
.macro load_fp base, t1, t2, t3
    add     x\t1, \base, #FRAME_Q
    q_pairs ldp, \t1
    ldp     w\t2, w\t3, [x\t1, #(FRAME_FPSR - FRAME_Q)]
    msr     fpsr, x\t2
    msr     fpcr, x\t3
.endm

/* x2-x29 into the frame at sp (the vector stored x0, x1). */
.macro save_x2_x29
    stp     x2, x3, [sp, #FRAME_X + 16]
    stp     x4, x5, [sp, #FRAME_X + 32]
    stp     x6, x7, [sp, #FRAME_X + 48]
    stp     x8, x9, [sp, #FRAME_X + 64]
    stp     x10, x11, [sp, #FRAME_X + 80]
    stp     x12, x13, [sp, #FRAME_X + 96]
    stp     x14, x15, [sp, #FRAME_X + 112]
    stp     x16, x17, [sp, #FRAME_X + 128]
    stp     x18, x19, [sp, #FRAME_X + 144]
    stp     x20, x21, [sp, #FRAME_X + 160]
    stp     x22, x23, [sp, #FRAME_X + 176]
    stp     x24, x25, [sp, #FRAME_X + 192]
    stp     x26, x27, [sp, #FRAME_X + 208]
    stp     x28, x29, [sp, #FRAME_X + 224]
.endm

/*
 * Load the context in the frame at \base (a register other than x0-x4 and
 * x19; x30 is loaded last by the caller, base may be x30): FP/SIMD state if
 * the frame holds it (fp_saved; FP/SIMD is on whenever it does), elr, spsr,
 * x0-x29, and SP_EL0 from frame.sp, either always (sp_el0 = 1) or when
 * x19 = kind says the exception came from EL1t (sp_el0 = 0).
 * Needs SPSel = 1 (MSR SP_EL0 is undefined otherwise).
 */
.macro restore_frame base, sp_el0
    ldr     x3, [\base, #FRAME_FP_SAVED]
    cbz     x3, 2f
    load_fp \base, 2, 3, 4
2:
    ldp     x3, x4, [\base, #FRAME_SP]
    msr     elr_el1, x4
.if \sp_el0
    msr     sp_el0, x3
.else
    lsr     x2, x19, #2
    cmp     x2, #EXC_FROM_EL1T
    b.ne    1f
    msr     sp_el0, x3
1:
.endif
    ldr     x3, [\base, #FRAME_SPSR]
    msr     spsr_el1, x3

    ldp     x0, x1, [\base, #FRAME_X]
    ldp     x2, x3, [\base, #FRAME_X + 16]
    ldp     x4, x5, [\base, #FRAME_X + 32]
    ldp     x6, x7, [\base, #FRAME_X + 48]
    ldp     x8, x9, [\base, #FRAME_X + 64]
    ldp     x10, x11, [\base, #FRAME_X + 80]
    ldp     x12, x13, [\base, #FRAME_X + 96]
    ldp     x14, x15, [\base, #FRAME_X + 112]
    ldp     x16, x17, [\base, #FRAME_X + 128]
    ldp     x18, x19, [\base, #FRAME_X + 144]
    ldp     x20, x21, [\base, #FRAME_X + 160]
    ldp     x22, x23, [\base, #FRAME_X + 176]
    ldp     x24, x25, [\base, #FRAME_X + 192]
    ldp     x26, x27, [\base, #FRAME_X + 208]
    ldp     x28, x29, [\base, #FRAME_X + 224]
.endm

    .section .text.vectors, "ax"
    .balign 2048
FUNCTION(exception_vectors)
    vector EXC_FROM_EL1T, EXC_SYNC
    vector EXC_FROM_EL1T, EXC_IRQ
    vector EXC_FROM_EL1T, EXC_FIQ
    vector EXC_FROM_EL1T, EXC_SERROR
    vector EXC_FROM_EL1H, EXC_SYNC
    vector EXC_FROM_EL1H, EXC_IRQ
    vector EXC_FROM_EL1H, EXC_FIQ
    vector EXC_FROM_EL1H, EXC_SERROR
    vector EXC_FROM_LOWER64, EXC_SYNC
    vector EXC_FROM_LOWER64, EXC_IRQ
    vector EXC_FROM_LOWER64, EXC_FIQ
    vector EXC_FROM_LOWER64, EXC_SERROR
    vector EXC_FROM_LOWER32, EXC_SYNC
    vector EXC_FROM_LOWER32, EXC_IRQ
    vector EXC_FROM_LOWER32, EXC_FIQ
    vector EXC_FROM_LOWER32, EXC_SERROR
END(exception_vectors)

/*
 * An IRQ from EL1t (x0, x1 saved): the general registers only, FP/SIMD off
 * while the handlers run (see the top), then back on for the ERET.
 */
LOCAL_FUNCTION(irq_entry)
    msr     cpacr_el1, xzr              // FPEN = 0: FP/SIMD traps at EL1 ...
    save_x2_x29
    stp     x30, xzr, [sp, #FRAME_X30]  // fp_saved = 0: FP/SIMD stays in the registers
    mrs     x3, sp_el0
    mrs     x4, elr_el1
    stp     x3, x4, [sp, #FRAME_SP]
    mrs     x3, spsr_el1
    str     x3, [sp, #FRAME_SPSR]
    isb                                 // ... from here on
    mov     x0, sp
    bl      arch_irq_dispatch
    mov     x3, #CPACR_FPEN_NONE        // on again for whatever the ERET resumes
    msr     cpacr_el1, x3               // (fp_saved implies it is on already)
    restore_frame sp, 1
    ldr     x30, [sp, #FRAME_X30]
    add     sp, sp, #FRAME_SIZE
    eret
END(irq_entry)

/* Every other exception (x0, x1 saved; x1 = kind): the full frame. */
LOCAL_FUNCTION(exception_common)
    save_x2_x29
    mov     x2, #1
    stp     x30, x2, [sp, #FRAME_X30]   // fp_saved: FP/SIMD is stored below

    /* The interrupted SP: SP_EL0 for EL1t, else where SP_EL1 was. */
    lsr     x2, x1, #2
    cmp     x2, #EXC_FROM_EL1H
    add     x3, sp, #FRAME_SIZE
    mrs     x4, sp_el0
    csel    x3, x3, x4, eq
    mrs     x4, elr_el1
    stp     x3, x4, [sp, #FRAME_SP]
    mrs     x3, spsr_el1
    mrs     x4, esr_el1
    stp     x3, x4, [sp, #FRAME_SPSR]
    mrs     x3, far_el1
    str     x3, [sp, #FRAME_FAR]
    mrs     x3, cpacr_el1
    tbz     x3, #20, fp_off             // FPEN[0] clear: taken while an IRQ is handled
fp_on:
    save_fp sp, 3, 4, 5

    mov     x19, x1                     // kind, preserved across the call
    mov     x0, sp
    bl      arch_exception_dispatch
    b       exception_return

    /*
     * FP/SIMD is off: this exception interrupted an IRQ handler (EL1h) that
     * had not touched FP/SIMD yet, so the registers still hold the state of
     * the task the IRQ interrupted. Store it into the IRQ's frame, the top
     * one of this exception stack, and leave FP/SIMD on for the rest of the
     * IRQ. The FP access trap itself then returns through the usual path
     * (arch_exception_dispatch counts it). From EL1t it would be a bug: just
     * turn FP/SIMD on and report the exception as usual.
     */
fp_off:
    mov     x3, #CPACR_FPEN_NONE
    msr     cpacr_el1, x3
    isb
    cmp     x2, #EXC_FROM_EL1H
    b.ne    fp_on
    mov     x3, sp
    orr     x3, x3, #(EXC_STACK_SIZE - 1)
    sub     x3, x3, #(FRAME_SIZE - 1)   // top of the exception stack - FRAME_SIZE
    save_fp x3, 4, 5, 6
    mov     x4, #1
    str     x4, [x3, #FRAME_FP_SAVED]
    b       fp_on
END(exception_common)

/*
 * Restore the frame at sp (SP_EL1) and return from the exception.
 * x19 = kind: for EL1t kinds SP_EL0 is reloaded from frame.sp.
 */
FUNCTION(exception_return)
    restore_frame sp, 0
    ldr     x30, [sp, #FRAME_X30]
    add     sp, sp, #FRAME_SIZE
    eret
END(exception_return)

/*
 * void exception_resume_frame(const struct arch_frame *f): resume, in EL1t
 * with IRQs masked, the context a full frame holds where it lies (a
 * preempted task's frame on its own stack, switch.S), without copying it
 * to the exception stack. SP_EL1 stays at the top of this core's exception
 * stack, as whenever code runs in EL1t.
 */
FUNCTION(exception_resume_frame)
    msr     spsel, #1
    mov     x30, x0
    restore_frame x30, 1
    ldr     x30, [x30, #FRAME_X30]
    eret
END(exception_resume_frame)

    .text
/*
 * void arch_frame_save_preempted(struct arch_frame *dst, const struct arch_frame *f)
 * (frame.h): f is the frame of the IRQ being handled, dst a frame on the
 * interrupted task's stack. x0-x30, sp, elr, spsr from f; the FP/SIMD
 * state from f if the trap stored it there (FP/SIMD is on then), else from
 * the registers after turning FP/SIMD on. Clobbers no callee-saved register
 * (q registers are only read).
 */
FUNCTION(arch_frame_save_preempted)
    .irp off, 0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224
    ldp     x2, x3, [x1, #FRAME_X + \off]
    stp     x2, x3, [x0, #FRAME_X + \off]
    .endr
    ldr     x2, [x1, #FRAME_X30]
    mov     x3, #1
    stp     x2, x3, [x0, #FRAME_X30]    // fp_saved: filled in below
    ldp     x2, x3, [x1, #FRAME_SP]
    stp     x2, x3, [x0, #FRAME_SP]
    ldr     x2, [x1, #FRAME_SPSR]
    str     x2, [x0, #FRAME_SPSR]
    ldr     x2, [x1, #FRAME_FP_SAVED]
    cbnz    x2, 1f
    mov     x2, #CPACR_FPEN_NONE
    msr     cpacr_el1, x2
    isb
    save_fp x0, 2, 3, 4
    ret
1:  ldr     x2, [x1, #FRAME_FPSR]       // FPSR and FPCR
    str     x2, [x0, #FRAME_FPSR]
    add     x1, x1, #FRAME_Q
    add     x0, x0, #FRAME_Q
    mov     x4, #32
2:  ldp     x2, x3, [x1], #16
    stp     x2, x3, [x0], #16
    subs    x4, x4, #1
    b.ne    2b
    ret
END(arch_frame_save_preempted)
