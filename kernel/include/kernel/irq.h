/*
 * Interrupt mechanism: one handler per INTID (SGIs and PPIs: the same handler
 * on every core, running on the core that took it), dispatched from the
 * assembly IRQ entry through the interrupt controller driver.
 */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include <stdbool.h>
#include <stdint.h>
#include <kernel/platform.h>

#define IRQ_MAX         1020
#define IRQ_SGI_BASE    0
#define IRQ_PPI_BASE    16
#define IRQ_SPI_BASE    32
#define IRQ_SPURIOUS    1023

/* SGIs SR uses (0-7 are the non-secure ones every GIC gives to software). */
enum ipi {
    IPI_WAKE = 0,    /* just wake the target from WFI */
    IPI_CALL = 1,    /* a cross-call is waiting in the target's mailbox */
    IPI_TEST = 7,    /* reserved for the in-image tests */
};

typedef void (*irq_handler_t)(uint32_t intid, void *arg);

/* Driver operations of an interrupt controller. */
struct irqchip {
    const char *name;
    bool (*match)(const struct plat_gic *gic);
    int (*init)(const struct platform *plat);          /* distributor, boot CPU */
    int (*init_cpu)(int cpu);                          /* this core's interface */
    uint32_t (*ack)(uint32_t *raw);                    /* highest pending INTID; raw for eoi */
    void (*eoi)(uint32_t raw);
    bool eoi_icc;   /* eoi is irq_eoi_icc (kernel/irq_inline.h): the dispatch inlines it */
    void (*enable)(uint32_t intid);                    /* SGI/PPI: this core's */
    void (*disable)(uint32_t intid);
    void (*set_priority)(uint32_t intid, uint8_t prio);
    void (*set_edge)(uint32_t intid, bool edge);       /* SPIs and PPIs */
    void (*route)(uint32_t spi, int cpu);
    void (*send_sgi)(uint32_t sgi, int cpu);
};

#define IRQCHIP_DRIVER(var)                                                       \
    static const struct irqchip *const var##_entry                                \
        __attribute__((used, section("sr_irqchip_drivers"))) = &var

/* Bind the controller the platform describes and set up its distributor. */
int irq_init(const struct platform *plat);
/* Set up the calling core's CPU interface/redistributor. */
int irq_init_cpu(void);
const char *irq_chip_name(void);

int irq_register(uint32_t intid, irq_handler_t fn, void *arg);
void irq_enable(uint32_t intid);
void irq_disable(uint32_t intid);
void irq_set_priority(uint32_t intid, uint8_t prio);
void irq_set_edge(uint32_t intid, bool edge);
void irq_route(uint32_t spi, int cpu);
void ipi_send(enum ipi ipi, int cpu);

/* Run intid's handler as irq_handle would (counted, in IRQ context, IRQs
 * masked) without the controller, for a level-sensitive interrupt the
 * caller has seen asserted and whose handler lowers its line: nothing was
 * acknowledged and nothing stays pending. (The idle loop's fired timer.) */
void irq_run_asserted(uint32_t intid);

/* Count of interrupts taken for intid on all cores. */
uint64_t irq_count(uint32_t intid);

#endif
