/*
 * CPU feature detection done once, first thing on the boot CPU.
 *
 * Boards whose CPUs may lack the ARMv8.1 LSE atomics build with
 * -moutline-atomics: every C11 atomic then calls a libgcc helper that picks
 * LSE or LDXR/STXR on __aarch64_have_lse_atomics. libgcc's own initialiser
 * needs getauxval() (Linux); SR defines the flag and sets it from
 * ID_AA64ISAR0_EL1 before any atomic runs.
 */
#include <stdbool.h>
#include <arch/cpu.h>

bool __aarch64_have_lse_atomics;

void arch_cpu_features_init(void)
{
    __aarch64_have_lse_atomics = arch_has_lse();
}
