/*
 * Exception dispatch and reporting. IRQs go to the kernel's irq_handle()
 * (then, from EL1t, sched_irq_exit()); an interrupt handler's FP/SIMD trap
 * is counted and resumed (vectors.S did the work); other synchronous
 * exceptions first get a chance to be recovered (semihosting probe, then
 * the kernel's fault_recover()); anything else is reported in full and ends
 * in panic_exception().
 */
#include <stdatomic.h>
#include <stdio.h>
#include <arch/backtrace.h>
#include <arch/boot.h>
#include <arch/exception.h>
#include <arch/semihost.h>
#include <arch/sysreg.h>

static const char *const ec_names[64] = {
    [EC_UNKNOWN] = "Unknown reason / undefined instruction",
    [EC_WFX] = "Trapped WFI/WFE",
    [EC_FP_ACCESS] = "FP/SIMD access trapped",
    [EC_ILLEGAL_STATE] = "Illegal execution state",
    [EC_SVC64] = "SVC (AArch64)",
    [EC_HVC64] = "HVC (AArch64)",
    [EC_SMC64] = "SMC (AArch64)",
    [EC_SYSREG] = "Trapped MSR/MRS/system instruction",
    [EC_IABT_LOWER] = "Instruction abort (lower EL)",
    [EC_IABT_CUR] = "Instruction abort (same EL)",
    [EC_PC_ALIGN] = "PC alignment fault",
    [EC_DABT_LOWER] = "Data abort (lower EL)",
    [EC_DABT_CUR] = "Data abort (same EL)",
    [EC_SP_ALIGN] = "SP alignment fault",
    [EC_FP_EXC64] = "FP exception (AArch64)",
    [EC_SERROR] = "SError",
    [EC_BREAKPT_LOWER] = "Breakpoint (lower EL)",
    [EC_BREAKPT_CUR] = "Breakpoint (same EL)",
    [EC_SSTEP_LOWER] = "Software step (lower EL)",
    [EC_SSTEP_CUR] = "Software step (same EL)",
    [EC_WATCHPT_LOWER] = "Watchpoint (lower EL)",
    [EC_WATCHPT_CUR] = "Watchpoint (same EL)",
    [EC_BRK64] = "BRK instruction (AArch64)",
};

const char *arch_esr_class_name(uint64_t esr)
{
    const char *n = ec_names[ESR_EC(esr)];
    return n ? n : "Reserved/unhandled exception class";
}

/* Fault status code (DFSC/IFSC) of an abort, as words. */
static const char *abort_status(unsigned fsc, int *level)
{
    *level = -1;
    switch (fsc & 0x3c) {
    case 0x00: *level = fsc & 3; return "address size fault";
    case 0x04: *level = fsc & 3; return "translation fault";
    case 0x08: *level = fsc & 3; return "access flag fault";
    case 0x0c: *level = fsc & 3; return "permission fault";
    }
    switch (fsc) {
    case 0x10: return "synchronous external abort";
    case 0x11: return "synchronous tag check fault";
    case 0x21: return "alignment fault";
    case 0x30: return "TLB conflict abort";
    default: return "other fault";
    }
}

static const char *const kind_names[4] = {"synchronous exception", "IRQ", "FIQ", "SError"};
static const char *const from_names[4] = {"EL1 (SP_EL0)", "EL1 (SP_EL1, in a handler)",
                                          "lower EL (AArch64)", "lower EL (AArch32)"};

void arch_exception_report(const struct arch_frame *f, unsigned kind)
{
    uint64_t esr = f->esr;
    unsigned ec = ESR_EC(esr);

    printf("SR: %s from %s\n", kind_names[kind & 3], from_names[(kind >> 2) & 3]);
    printf("  ESR 0x%08llx: EC 0x%02x %s", (unsigned long long)esr, ec, arch_esr_class_name(esr));
    if (ec == EC_DABT_CUR || ec == EC_DABT_LOWER || ec == EC_IABT_CUR || ec == EC_IABT_LOWER) {
        int level;
        const char *what = abort_status(esr & 0x3f, &level);
        printf(": %s", what);
        if (level >= 0)
            printf(" at level %d", level);
        if (ec == EC_DABT_CUR || ec == EC_DABT_LOWER)
            printf(", %s", (esr & BIT(6)) ? "write" : "read");
    }
    printf("\n  FAR 0x%016llx  ELR 0x%016llx  SPSR 0x%08llx\n", (unsigned long long)f->far,
           (unsigned long long)f->elr, (unsigned long long)f->spsr);
    for (int i = 0; i < 31; i += 2) {
        if (i == 30)
            printf("  x30 0x%016llx  sp  0x%016llx\n", (unsigned long long)f->x[30],
                   (unsigned long long)f->sp);
        else
            printf("  x%-2d 0x%016llx  x%-2d 0x%016llx\n", i, (unsigned long long)f->x[i],
                   i + 1, (unsigned long long)f->x[i + 1]);
    }
    printf("  backtrace (link addresses; sr.elf has the same):\n");
    arch_backtrace_print(f->elr, f->x[30], f->x[29], f->sp);
    /* If the PC itself was bad, the caller is in x30. */
    if (ec == EC_IABT_CUR || ec == EC_PC_ALIGN)
        arch_backtrace_print(f->x[30], 0, 0, 0);
}

/* The semihosting probe trapped as UNDEFINED: no semihosting here. */
static bool semihost_probe_fixup(struct arch_frame *f)
{
    if (ESR_EC(f->esr) != EC_UNKNOWN || f->elr != (uint64_t)semihost_trap_insn)
        return false;
    f->x[0] = (uint64_t)-1;
    f->elr += 4;
    return true;
}

/* FP/SIMD traps from interrupt handlers (vectors.S has stored the state
 * they would have clobbered): counted, then resumed with FP/SIMD on. */
static _Atomic uint64_t fp_irq_traps;

uint64_t arch_fp_irq_traps(void) { return atomic_load_explicit(&fp_irq_traps, memory_order_relaxed); }

void arch_irq_dispatch(struct arch_frame *f)
{
    irq_handle(f);
    sched_irq_exit(f);
}

void arch_exception_dispatch(struct arch_frame *f, unsigned kind)
{
    unsigned type = kind & 3, group = kind >> 2;

    if (type == EXC_IRQ) {
        irq_handle(f);   /* from EL1h: never preempts (EL1t has arch_irq_dispatch) */
        return;
    }
    if (type == EXC_SYNC && group == EXC_FROM_EL1H && ESR_EC(f->esr) == EC_FP_ACCESS) {
        atomic_fetch_add_explicit(&fp_irq_traps, 1, memory_order_relaxed);
        return;
    }
    if (type == EXC_SYNC && (semihost_probe_fixup(f) || fault_recover(f, kind)))
        return;
    panic_exception(f, kind);
}
