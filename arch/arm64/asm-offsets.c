/*
 * Structure offsets for assembly. Compiled to assembly only; each DEFINE
 * leaves a "->NAME value" marker that scripts/gen-asm-offsets.sh turns into
 * a #define in build/<board>/gen/asm-offsets.h.
 */
#include <stddef.h>
#include <arch/frame.h>

#define DEFINE(sym, val) __asm__ volatile("\n.ascii \"->" #sym " %0\"" : : "i"(val))

void asm_offsets(void);
void asm_offsets(void)
{
    DEFINE(FRAME_X, offsetof(struct arch_frame, x));
    DEFINE(FRAME_X30, offsetof(struct arch_frame, x[30]));
    DEFINE(FRAME_FP_SAVED, offsetof(struct arch_frame, fp_saved));
    DEFINE(FRAME_SP, offsetof(struct arch_frame, sp));
    DEFINE(FRAME_ELR, offsetof(struct arch_frame, elr));
    DEFINE(FRAME_SPSR, offsetof(struct arch_frame, spsr));
    DEFINE(FRAME_ESR, offsetof(struct arch_frame, esr));
    DEFINE(FRAME_FAR, offsetof(struct arch_frame, far));
    DEFINE(FRAME_FPSR, offsetof(struct arch_frame, fpsr));
    DEFINE(FRAME_FPCR, offsetof(struct arch_frame, fpcr));
    DEFINE(FRAME_Q, offsetof(struct arch_frame, q));
    DEFINE(FRAME_SIZE, sizeof(struct arch_frame));
    DEFINE(COOP_FRAME_SIZE, sizeof(struct arch_coop_frame));
    _Static_assert(offsetof(struct arch_coop_frame, lr) == offsetof(struct arch_coop_frame, fp) + 8,
                   "fp/lr stored as a pair");
    _Static_assert(offsetof(struct arch_coop_frame, x) == 64 && sizeof(struct arch_coop_frame) == 160,
                   "switch.S stores d8-d15 at 0, x19-x30 at 64");
    _Static_assert(sizeof(struct arch_frame) % 16 == 0, "frame keeps SP 16-byte aligned");
    _Static_assert(sizeof(struct arch_min_frame) == 16 && sizeof(struct arch_first_frame) == 32 &&
                       sizeof(struct arch_restart_frame) == 32,
                   "switch.S pops 16 bytes, arch_task_entry and arch_restart_entry 16 more");
    _Static_assert(offsetof(struct arch_frame, elr) == offsetof(struct arch_frame, sp) + 8,
                   "sp/elr stored as a pair");
    _Static_assert(offsetof(struct arch_frame, fp_saved) == offsetof(struct arch_frame, x[30]) + 8,
                   "x30/fp_saved stored as a pair");
    _Static_assert(offsetof(struct arch_frame, fpcr) == offsetof(struct arch_frame, fpsr) + 4,
                   "fpsr/fpcr stored as a pair of words");
    _Static_assert(offsetof(struct arch_frame, q) % 16 == 0, "q stored with 16-byte alignment");
}
