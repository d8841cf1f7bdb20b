/*
 * GICv2 (arm,gic-400, arm,cortex-a15-gic): memory-mapped distributor and CPU
 * interface. SGIs target a GIC CPU-interface mask, which each core reads from
 * its banked GICD_ITARGETSR0 at init (it is not the logical id or the MPIDR).
 */
#include <stdbool.h>
#include <arch/io.h>
#include <kernel/irq.h>
#include <kernel/percpu.h>
#include "gic_regs.h"

#define GICC_CTLR   0x00
#define GICC_PMR    0x04
#define GICC_BPR    0x08
#define GICC_IAR    0x0c
#define GICC_EOIR   0x10

static uintptr_t dist, cpuif;
static uint32_t nlines;
static uint8_t cpu_mask[PLAT_MAX_CPUS];

static bool gicv2_match(const struct plat_gic *g) { return g->version == 2; }

static int gicv2_init(const struct platform *plat)
{
    dist = plat->gic.dist.base;
    cpuif = plat->gic.cpuif.base;
    mmio_write32(dist + GICD_CTLR, 0);
    nlines = GICD_TYPER_LINES(mmio_read32(dist + GICD_TYPER));
    if (nlines > IRQ_MAX)
        nlines = IRQ_MAX;
    for (uint32_t i = IRQ_SPI_BASE; i < nlines; i += 32) {
        mmio_write32(dist + GICD_ICENABLER + i / 8, ~0u);
        mmio_write32(dist + GICD_ICPENDR + i / 8, ~0u);
    }
    for (uint32_t i = IRQ_SPI_BASE; i < nlines; i++)
        gic_bank_set_priority(dist, i, GIC_PRIO_DEFAULT);
    mmio_write32(dist + GICD_CTLR, 1);
    return 0;
}

static int gicv2_init_cpu(int cpu)
{
    cpu_mask[cpu] = (uint8_t)mmio_read32(dist + GICD_ITARGETSR);
    mmio_write32(dist + GICD_ICENABLER, ~0u);   /* banked SGIs/PPIs off until asked for */
    mmio_write32(dist + GICD_ICPENDR, ~0u);
    for (uint32_t i = 0; i < IRQ_SPI_BASE; i++)
        gic_bank_set_priority(dist, i, GIC_PRIO_DEFAULT);
    mmio_write32(cpuif + GICC_PMR, GIC_PRIO_MASK_ALL);
    mmio_write32(cpuif + GICC_BPR, 0);
    mmio_write32(cpuif + GICC_CTLR, 1);
    return cpu_mask[cpu] ? 0 : -1;
}

static uint32_t gicv2_ack(uint32_t *raw)
{
    *raw = mmio_read32(cpuif + GICC_IAR);
    return *raw & 0x3ff;
}

static void gicv2_eoi(uint32_t raw) { mmio_write32(cpuif + GICC_EOIR, raw); }

static void gicv2_enable(uint32_t intid) { gic_bank_enable(dist, intid, true); }
static void gicv2_disable(uint32_t intid) { gic_bank_enable(dist, intid, false); }
static void gicv2_set_priority(uint32_t intid, uint8_t prio) { gic_bank_set_priority(dist, intid, prio); }
static void gicv2_set_edge(uint32_t intid, bool edge) { gic_bank_set_edge(dist, intid, edge); }

static void gicv2_route(uint32_t spi, int cpu)
{
    if (spi >= IRQ_SPI_BASE)
        mmio_write8(dist + GICD_ITARGETSR + spi, cpu_mask[cpu]);
}

static void gicv2_send_sgi(uint32_t sgi, int cpu)
{
    dsb(ishst);   /* the data the target will read is visible first */
    mmio_write32(dist + GICD_SGIR, ((uint32_t)cpu_mask[cpu] << 16) | (sgi & 0xf));
}

static const struct irqchip gicv2 = {
    .name = "GICv2",
    .match = gicv2_match,
    .init = gicv2_init,
    .init_cpu = gicv2_init_cpu,
    .ack = gicv2_ack,
    .eoi = gicv2_eoi,
    .enable = gicv2_enable,
    .disable = gicv2_disable,
    .set_priority = gicv2_set_priority,
    .set_edge = gicv2_set_edge,
    .route = gicv2_route,
    .send_sgi = gicv2_send_sgi,
};
IRQCHIP_DRIVER(gicv2);
