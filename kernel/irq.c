/*
 * Interrupt handler table and dispatch. irq_handle() is called from the
 * assembly IRQ entry with IRQs masked; it drains every pending interrupt
 * (ack, handler, EOI) before returning. The idle loop calls
 * irq_dispatch_idle() after WFI: it handles one interrupt (the idle loop's
 * next WFI returns at once while another is pending), which spares the ack
 * that would only find nothing more pending.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <kernel/irq.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <arch/exception.h>

extern const struct irqchip *const __start_sr_irqchip_drivers[];
extern const struct irqchip *const __stop_sr_irqchip_drivers[];

/* 32 bytes (aligned): a slot's address is the intid shifted, not multiplied. */
struct irq_slot {
    irq_handler_t fn;
    void *arg;
    _Atomic uint64_t count;
} __attribute__((aligned(32)));

static const struct irqchip *chip;
static struct irq_slot slots[IRQ_MAX];

int irq_init(const struct platform *plat)
{
    for (const struct irqchip *const *c = __start_sr_irqchip_drivers;
         c < __stop_sr_irqchip_drivers; c++) {
        if ((*c)->match(&plat->gic)) {
            chip = *c;
            return chip->init(plat);
        }
    }
    return -1;
}

int irq_init_cpu(void) { return chip->init_cpu(cpu_id()); }
const char *irq_chip_name(void) { return chip ? chip->name : "none"; }

int irq_register(uint32_t intid, irq_handler_t fn, void *arg)
{
    if (intid >= IRQ_MAX || slots[intid].fn)
        return -1;
    slots[intid].arg = arg;
    slots[intid].fn = fn;
    return 0;
}

void irq_enable(uint32_t intid) { chip->enable(intid); }
void irq_disable(uint32_t intid) { chip->disable(intid); }
void irq_set_priority(uint32_t intid, uint8_t prio) { chip->set_priority(intid, prio); }
void irq_set_edge(uint32_t intid, bool edge) { chip->set_edge(intid, edge); }
void irq_route(uint32_t spi, int cpu) { chip->route(spi, cpu); }
void ipi_send(enum ipi ipi, int cpu) { chip->send_sgi(ipi, cpu); }

uint64_t irq_count(uint32_t intid)
{
    return intid < IRQ_MAX ? atomic_load(&slots[intid].count) : 0;
}

/* Take one pending interrupt and run its handler; false if none was pending. */
static inline __attribute__((always_inline)) bool dispatch_one(struct percpu *p)
{
    uint32_t raw;
    uint32_t intid = chip->ack(&raw);
    if (intid >= IRQ_MAX)
        return false;   /* spurious: nothing (more) pending */
    struct irq_slot *s = &slots[intid];
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    p->irqs++;
    irq_handler_t fn = s->fn;
    if (fn)
        fn(intid, s->arg);
    chip->eoi(raw);
    if (!fn && intid >= IRQ_PPI_BASE) {
        /* Nobody wants it: silence it rather than storm. */
        chip->disable(intid);
    }
    return true;
}

void irq_handle(struct arch_frame *f)
{
    (void)f;
    struct percpu *p = this_cpu();
    p->in_irq++;
    while (dispatch_one(p))
        ;
    p->in_irq--;
}

void irq_dispatch_idle(void)
{
    struct percpu *p = this_cpu();
    uint32_t depth = p->in_irq;   /* kept in a register across the handler */
    p->in_irq = depth + 1;
    dispatch_one(p);   /* one at a time (see above) */
    p->in_irq = depth;
}

void irq_run_asserted(uint32_t intid)
{
    struct percpu *p = this_cpu();
    struct irq_slot *s = &slots[intid];
    p->in_irq++;
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    p->irqs++;
    s->fn(intid, s->arg);
    p->in_irq--;
}
