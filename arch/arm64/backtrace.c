/*
 * Frame-pointer backtraces. Everything is built with frame pointers except
 * in leaf functions (-momit-leaf-frame-pointer): x29 points at a {previous
 * x29, return address} record on the stack. A walk stops at a null,
 * misaligned, non-ascending or far-away record, so a corrupt stack ends the
 * trace instead of faulting the reporter.
 */
#include <stdbool.h>
#include <stdio.h>
#include <arch/backtrace.h>
#include <arch/boot.h>
#include <kernel/ksyms.h>

#define BACKTRACE_MAX_DEPTH  32
#define BACKTRACE_MAX_SPAN   (1u << 20)   /* a trace never spans more than 1 MiB of stack */

static void print_frame(int depth, uint64_t pc)
{
    uint64_t off;
    const char *name = ksyms_lookup(pc, &off);
    uint64_t link = pc - boot_info.link_slide;

    if (name)
        printf("    #%-2d 0x%016llx %s+0x%llx\n", depth, (unsigned long long)link, name,
               (unsigned long long)off);
    else
        printf("    #%-2d 0x%016llx ?\n", depth, (unsigned long long)link);
}

/* How far into a function its prologue is looked for. */
#define PROLOGUE_SCAN_MAX  64

/* Had the function around pc set its frame pointer when it stopped at pc?
 * Functions with a frame record set x29 with "add x29, sp, #imm" (mov x29,
 * sp) early on; one that has not (a leaf, or one stopped in its prologue:
 * a stack overflow faults on the first store) still has its caller's record
 * in x29 and its return address in x30. A linear scan: a prologue that GCC
 * moved past an early return (shrink-wrapping) may be misjudged, which
 * costs one line of the trace, never a fault. */
static bool frame_set(uint64_t pc)
{
    uint64_t off;
    if (!ksyms_lookup(pc, &off) || (off & 3))
        return true;   /* unknown code: trust the chain */
    const uint32_t *insn = (const uint32_t *)(pc - off);
    uint64_t n = off / 4 < PROLOGUE_SCAN_MAX ? off / 4 : PROLOGUE_SCAN_MAX;
    for (uint64_t i = 0; i < n; i++)
        if ((insn[i] & 0xff8003ffu) == 0x910003fdu)   /* add x29, sp, #imm{, lsl #12} */
            return true;
    return false;
}

void arch_backtrace_print(uint64_t pc, uint64_t lr, uint64_t fp, uint64_t stack_lo)
{
    int depth = 0;
    uint64_t lo = stack_lo ? stack_lo : fp;

    print_frame(depth++, pc);
    if (lr && !frame_set(pc))
        print_frame(depth++, lr - 4);   /* its caller; fp is the caller's record */
    while (fp && depth < BACKTRACE_MAX_DEPTH) {
        if ((fp & 7) || fp < lo || fp - lo > BACKTRACE_MAX_SPAN)
            break;
        const uint64_t *rec = (const uint64_t *)fp;
        uint64_t next = rec[0], lr = rec[1];
        if (!lr)
            break;
        print_frame(depth++, lr - 4);   /* the call instruction, not the return address */
        if (next <= fp)
            break;
        fp = next;
    }
}

void arch_backtrace_here(void)
{
    uint64_t fp = (uint64_t)__builtin_frame_address(0);
    arch_backtrace_print((uint64_t)__builtin_return_address(0) - 4, 0, ((uint64_t *)fp)[0], fp);
}
