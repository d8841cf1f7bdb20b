/* Time and the per-core one-shot timer (the virtual generic timer's PPI). */
#ifndef KERNEL_CLOCK_H
#define KERNEL_CLOCK_H

#include <stdint.h>
#include <kernel/platform.h>

int clock_init(const struct platform *plat);   /* boot CPU: register the PPI */
void clock_init_cpu(void);                      /* each core: enable its PPI */
uint64_t clock_ns(void);                        /* monotonic, same on all cores */
/* Call fn(arg) in IRQ context on this core after ns (replaces a pending one). */
void clock_oneshot(uint64_t ns, void (*fn)(void *), void *arg);
void clock_cancel(void);

#endif
