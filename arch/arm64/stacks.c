/* Per-core boot and exception stacks and the boot hand-off record (BSS). */
#include <arch/boot.h>

char boot_stacks[ARCH_MAX_CPUS + 1][BOOT_STACK_SIZE] __attribute__((aligned(16)));
char exc_stacks[ARCH_MAX_CPUS + 1][EXC_STACK_SIZE] __attribute__((aligned(16)));
struct boot_info boot_info;
uint64_t spin_table_mpidrs[ARCH_MAX_CPUS];
