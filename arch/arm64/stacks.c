/* Per-core boot and exception stacks and the boot hand-off record (BSS). */
#include <arch/boot.h>

char boot_stacks[ARCH_MAX_CPUS + 1][BOOT_STACK_SIZE] __attribute__((aligned(16)));
/* Aligned to their size: vectors.S finds the top of the one it runs on (and
 * so the frame of an IRQ taken from EL1t) from SP_EL1 alone. */
char exc_stacks[ARCH_MAX_CPUS + 1][EXC_STACK_SIZE] __attribute__((aligned(EXC_STACK_SIZE)));
struct boot_info boot_info;
uint64_t spin_table_mpidrs[ARCH_MAX_CPUS];
