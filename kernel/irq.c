/*
 * Interrupt handler table and dispatch. irq_handle() is called from the
 * assembly IRQ entry with IRQs masked; it drains every pending interrupt
 * (ack, handler, EOI) before returning. The idle loop dispatches one
 * interrupt itself after WFI (irq_dispatch_idle, kernel/irq_inline.h).
 */
#include <stdatomic.h>
#include <stddef.h>
#include <kernel/irq.h>
#include <kernel/irq_inline.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <arch/exception.h>

extern const struct irqchip *const __start_sr_irqchip_drivers[];
extern const struct irqchip *const __stop_sr_irqchip_drivers[];

const struct irqchip *irq_chip;
struct irq_slot irq_slots[IRQ_MAX];

int irq_init(const struct platform *plat)
{
    for (const struct irqchip *const *c = __start_sr_irqchip_drivers;
         c < __stop_sr_irqchip_drivers; c++) {
        if ((*c)->match(&plat->gic)) {
            irq_chip = *c;
            return irq_chip->init(plat);
        }
    }
    return -1;
}

int irq_init_cpu(void) { return irq_chip->init_cpu(cpu_id()); }
const char *irq_chip_name(void) { return irq_chip ? irq_chip->name : "none"; }

int irq_register(uint32_t intid, irq_handler_t fn, void *arg)
{
    if (intid >= IRQ_MAX || irq_slots[intid].fn)
        return -1;
    irq_slots[intid].arg = arg;
    irq_slots[intid].fn = fn;
    return 0;
}

void irq_enable(uint32_t intid) { irq_chip->enable(intid); }
void irq_disable(uint32_t intid) { irq_chip->disable(intid); }
void irq_set_priority(uint32_t intid, uint8_t prio) { irq_chip->set_priority(intid, prio); }
void irq_set_edge(uint32_t intid, bool edge) { irq_chip->set_edge(intid, edge); }
void irq_route(uint32_t spi, int cpu) { irq_chip->route(spi, cpu); }
void ipi_send(enum ipi ipi, int cpu) { irq_chip->send_sgi(ipi, cpu); }

uint64_t irq_count(uint32_t intid)
{
    return intid < IRQ_MAX ? atomic_load(&irq_slots[intid].count) : 0;
}

void irq_handle(struct arch_frame *f)
{
    (void)f;
    struct percpu *p = this_cpu();
    p->in_irq++;
    while (irq_dispatch_one(p))
        ;
    p->in_irq--;
}

void irq_run_asserted(uint32_t intid)
{
    struct percpu *p = this_cpu();
    struct irq_slot *s = &irq_slots[intid];
    p->in_irq++;
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    p->irqs++;
    s->fn(intid, s->arg);
    p->in_irq--;
}
