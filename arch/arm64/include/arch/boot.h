/*
 * What the assembly entry code hands to C (kernel_main / kernel_secondary_main).
 */
#ifndef ARCH_BOOT_H
#define ARCH_BOOT_H

#define BOOT_STACK_SIZE      (16 * 1024)   /* per-core boot/idle stack (SP_EL0) */
#define EXC_STACK_SIZE       (16 * 1024)   /* per-core exception stack (SP_EL1) */
#define ARCH_MAX_CPUS        32

#ifndef __ASSEMBLY__
#include <stdint.h>

struct boot_info {
    uint64_t dtb;            /* x0 at entry (0 when the loader passed none) */
    uint64_t entry_el;       /* exception level the image was entered at */
    uint64_t image_start;    /* runtime (physical = virtual) address of _start */
    uint64_t image_end;      /* runtime address of _end (BSS included) */
    uint64_t link_slide;     /* runtime - link address; symbols print link addresses */
    uint64_t entry_counter;  /* CNTPCT at primary entry: boot-time measurements */
};

extern struct boot_info boot_info;

/* Linker-script symbols (runtime addresses once the image is relocated). */
extern char _start[], _end[];
extern char __text_start[], __text_end[];
extern char __rodata_start[], __rodata_end[];
extern char __data_start[], __bss_start[], __bss_end[];

/*
 * The value of an absolute linker-script symbol (a size, not an address).
 * Position-independent code forms symbol addresses PC-relatively, so every
 * symbol, absolute ones included, appears moved by the relocation slide;
 * the difference to the absolute symbol __link_zero (= 0) removes it.
 */
extern char __link_zero[];
static inline uint64_t link_constant(const char *sym)
{
    return (uint64_t)sym - (uint64_t)__link_zero;
}

/* Per-core stacks, indexed by logical CPU id (never by MPIDR); the boot CPU
 * uses the extra last slot (its id is unknown until the DT is read). */
extern char boot_stacks[ARCH_MAX_CPUS + 1][BOOT_STACK_SIZE];
extern char exc_stacks[ARCH_MAX_CPUS + 1][EXC_STACK_SIZE];

/* Entry point for secondaries started by PSCI CPU_ON (context_id = cpu id). */
void secondary_entry(void);
/* Entry point for secondaries released from a spin-table: finds its id
 * in spin_table_mpidrs[] (cleaned to PoC by the primary before release). */
void spin_table_entry(void);
extern uint64_t spin_table_mpidrs[ARCH_MAX_CPUS];

/* Switch TTBR0_EL1 with the MMU briefly off (identity map: VA == PA). */
void arch_mmu_switch(uint64_t ttbr0);
#endif

#endif
