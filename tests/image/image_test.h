/* Helpers for in-image tests. */
#ifndef IMAGE_TEST_H
#define IMAGE_TEST_H

#include <stdint.h>
#include <arch/cpu.h>
#include <arch/sysreg.h>

/* A pointer to a fixed address the compiler cannot reason about (so a
 * deliberate access to 0 or to an unmapped hole is compiled as written). */
static __attribute__((noinline, unused)) volatile void *opaque_ptr(uint64_t addr)
{
    __asm__("" : "+r"(addr));
    return (volatile void *)addr;
}

/* Sleep in WFI until an interrupt handler sets *flag. The check and the WFI
 * happen with IRQs masked (a pending interrupt still ends WFI), so an
 * interrupt that comes between them cannot leave the core asleep. */
static inline void wfi_until(volatile int *flag)
{
    for (;;) {
        uint64_t daif = arch_irq_save();
        if (*flag) {
            arch_irq_restore(daif);
            return;
        }
        wfi();
        arch_irq_restore(daif);   /* the pending interrupt is taken here */
    }
}

#endif
