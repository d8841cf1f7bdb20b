/*
 * Exception vectors and the frame save/restore path.
 *
 * Code runs in EL1t (SP_EL0 = the running context's stack); every exception
 * is taken to EL1h on the per-core exception stack (SP_EL1), where the full
 * frame (struct arch_frame: x0-x30, sp, elr, spsr, esr, far, FP/SIMD) is built.
 * arch_exception_dispatch(frame, kind) may edit the frame; what is in it on
 * return is what the interrupted context resumes with (including SP_EL0 when it
 * came from EL1t). A fault while on SP_EL1 (EL1h) nests below the current frame.
 */
#include <arch/asm.h>
#include <arch/frame.h>
#include "asm-offsets.h"

.macro vector group, type
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #FRAME_X]
    mov     x1, #(\group * 4 + \type)
    b       exception_common
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

/* x0, x1 are saved; x1 = kind. */
LOCAL_FUNCTION(exception_common)
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
    str     x30, [sp, #FRAME_X30]

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
    mrs     x4, fpsr
    stp     x3, x4, [sp, #FRAME_FAR]
    mrs     x3, fpcr
    str     x3, [sp, #FRAME_FPCR]
    add     x3, sp, #FRAME_Q
    stp     q0, q1, [x3, #0]
    stp     q2, q3, [x3, #32]
    stp     q4, q5, [x3, #64]
    stp     q6, q7, [x3, #96]
    stp     q8, q9, [x3, #128]
    stp     q10, q11, [x3, #160]
    stp     q12, q13, [x3, #192]
    stp     q14, q15, [x3, #224]
    stp     q16, q17, [x3, #256]
    stp     q18, q19, [x3, #288]
    stp     q20, q21, [x3, #320]
    stp     q22, q23, [x3, #352]
    stp     q24, q25, [x3, #384]
    stp     q26, q27, [x3, #416]
    stp     q28, q29, [x3, #448]
    stp     q30, q31, [x3, #480]

    mov     x19, x1                     // kind, preserved across the call
    mov     x0, sp
    bl      arch_exception_dispatch
    b       exception_return
END(exception_common)

/*
 * Load the context in the frame at \base (a register other than x0-x4 and
 * x19; x30 is loaded last by the caller, base may be x30): FP/SIMD state,
 * elr, spsr, x0-x29, and SP_EL0 from frame.sp, either always (sp_el0 = 1)
 * or when x19 = kind says the exception came from EL1t (sp_el0 = 0).
 * Needs SPSel = 1 (MSR SP_EL0 is undefined otherwise).
 */
.macro restore_frame base, sp_el0
    add     x3, \base, #FRAME_Q
    ldp     q0, q1, [x3, #0]
    ldp     q2, q3, [x3, #32]
    ldp     q4, q5, [x3, #64]
    ldp     q6, q7, [x3, #96]
    ldp     q8, q9, [x3, #128]
    ldp     q10, q11, [x3, #160]
    ldp     q12, q13, [x3, #192]
    ldp     q14, q15, [x3, #224]
    ldp     q16, q17, [x3, #256]
    ldp     q18, q19, [x3, #288]
    ldp     q20, q21, [x3, #320]
    ldp     q22, q23, [x3, #352]
    ldp     q24, q25, [x3, #384]
    ldp     q26, q27, [x3, #416]
    ldp     q28, q29, [x3, #448]
    ldp     q30, q31, [x3, #480]
    ldr     x3, [\base, #FRAME_FPCR]
    msr     fpcr, x3
    ldr     x3, [\base, #FRAME_FPSR]
    msr     fpsr, x3
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
