/* What the boot sequence (kernel/main.c) learnt, for the rest of the kernel. */
#ifndef KERNEL_BOOT_H
#define KERNEL_BOOT_H

#include <stdint.h>
#include <kernel/platform.h>

#define BOOT_MAX_RAM_RANGES 32

struct boot_state {
    struct plat_range ram[BOOT_MAX_RAM_RANGES];   /* usable RAM, mapped RW+XN */
    int nram;
    const char *map_error;                        /* first mapping that failed */
    uint64_t all_online_ns;                       /* clock when bring-up finished */
};

extern struct boot_state boot_state;
extern const void *dtb_fdt;

/* What a boot can end in; each returns the exit status. */
int apps_main(void);    /* apps/ */
int tests_main(void);   /* tests/image/harness.c */
int bench_main(void);   /* tests/bench/bench_main.c */

#endif
