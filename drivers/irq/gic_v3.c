/*
 * GICv3 (arm,gic-v3): memory-mapped distributor with affinity routing,
 * one redistributor per core (found by matching GICR_TYPER's affinity
 * against the core's MPIDR, walking every region the DT lists at the DT's
 * stride or the one GICR_TYPER implies: gic_v3_layout.c), and the ICC
 * system-register CPU interface. All interrupts are non-secure group 1.
 */
#include <stdbool.h>
#include <arch/io.h>
#include <arch/sysreg.h>
#include <kernel/irq.h>
#include <kernel/irq_inline.h>
#include <kernel/percpu.h>
#include "gic_regs.h"
#include "gic_v3_layout.h"

#define GICD_CTLR_RWP       (1u << 31)
#define GICD_CTLR_ARE       (1u << 4)
#define GICD_CTLR_GRP1      (1u << 1)

#define GICR_WAKER          0x0014
#define GICR_WAKER_SLEEP    (1u << 1)
#define GICR_WAKER_ASLEEP   (1u << 2)
#define GICR_SGI_OFFSET     0x10000     /* SGI/PPI frame follows RD_base */

#define ICC_IAR1_EL1        S3_0_C12_C12_0
#define ICC_BPR1_EL1        S3_0_C12_C12_3
#define ICC_CTLR_EL1        S3_0_C12_C12_4
#define ICC_SRE_EL1         S3_0_C12_C12_5
#define ICC_IGRPEN1_EL1     S3_0_C12_C12_7
#define ICC_PMR_EL1         S3_0_C4_C6_0
#define ICC_SGI1R_EL1       S3_0_C12_C11_5

#define WAIT_LIMIT          1000000

static uintptr_t dist;
static uint32_t nlines;
static const struct platform *plat;
static uintptr_t rdist[PLAT_MAX_CPUS];   /* RD_base per logical CPU */

static bool gicv3_match(const struct plat_gic *g) { return g->version == 3; }

static void dist_wait_rwp(void)
{
    for (int i = 0; i < WAIT_LIMIT && (mmio_read32(dist + GICD_CTLR) & GICD_CTLR_RWP); i++)
        arch_cpu_relax();
}

static int gicv3_init(const struct platform *p)
{
    plat = p;
    dist = p->gic.dist.base;
    mmio_write32(dist + GICD_CTLR, 0);
    dist_wait_rwp();
    nlines = GICD_TYPER_LINES(mmio_read32(dist + GICD_TYPER));
    if (nlines > IRQ_MAX)
        nlines = IRQ_MAX;
    for (uint32_t i = IRQ_SPI_BASE; i < nlines; i += 32) {
        mmio_write32(dist + GICD_ICENABLER + i / 8, ~0u);
        mmio_write32(dist + GICD_ICPENDR + i / 8, ~0u);
        mmio_write32(dist + GICD_IGROUPR + i / 8, ~0u);
    }
    for (uint32_t i = IRQ_SPI_BASE; i < nlines; i++)
        gic_bank_set_priority(dist, i, GIC_PRIO_DEFAULT);
    dist_wait_rwp();
    mmio_write32(dist + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_GRP1);
    dist_wait_rwp();
    /* SPIs go to the boot CPU until routed elsewhere. */
    for (uint32_t i = IRQ_SPI_BASE; i < nlines; i++)
        mmio_write64(dist + GICD_IROUTER + 8 * i, gic_v3_irouter(arch_mpidr()));
    return 0;
}

static int gicv3_init_cpu(int cpu)
{
    uintptr_t rd = gic_v3_find_rdist(&plat->gic, arch_mpidr());
    if (!rd)
        return -1;
    rdist[cpu] = rd;

    uint32_t waker = mmio_read32(rd + GICR_WAKER) & ~GICR_WAKER_SLEEP;
    mmio_write32(rd + GICR_WAKER, waker);
    for (int i = 0; i < WAIT_LIMIT && (mmio_read32(rd + GICR_WAKER) & GICR_WAKER_ASLEEP); i++)
        arch_cpu_relax();

    uintptr_t sgi = rd + GICR_SGI_OFFSET;
    mmio_write32(sgi + GICD_ICENABLER, ~0u);
    mmio_write32(sgi + GICD_ICPENDR, ~0u);
    mmio_write32(sgi + GICD_IGROUPR, ~0u);
    for (uint32_t i = 0; i < IRQ_SPI_BASE; i++)
        gic_bank_set_priority(sgi, i, GIC_PRIO_DEFAULT);

    write_sysreg(ICC_SRE_EL1, read_sysreg(ICC_SRE_EL1) | 1);
    isb();
    write_sysreg(ICC_PMR_EL1, GIC_PRIO_MASK_ALL);
    write_sysreg(ICC_BPR1_EL1, 0);
    write_sysreg(ICC_CTLR_EL1, 0);
    write_sysreg(ICC_IGRPEN1_EL1, 1);
    isb();
    return 0;
}

static uint32_t gicv3_ack(uint32_t *raw)
{
    *raw = (uint32_t)read_sysreg(ICC_IAR1_EL1);
    dsb(sy);
    return *raw & 0xffffff;
}

static void gicv3_eoi(uint32_t raw) { irq_eoi_icc(raw); }

/* SGIs/PPIs live in the calling core's redistributor, SPIs in the distributor. */
static uintptr_t bank_base(uint32_t intid)
{
    return intid < IRQ_SPI_BASE ? rdist[cpu_id()] + GICR_SGI_OFFSET : dist;
}

static void gicv3_enable(uint32_t intid) { gic_bank_enable(bank_base(intid), intid, true); }

static void gicv3_disable(uint32_t intid)
{
    gic_bank_enable(bank_base(intid), intid, false);
    if (intid >= IRQ_SPI_BASE)
        dist_wait_rwp();
}

static void gicv3_set_priority(uint32_t intid, uint8_t prio)
{
    gic_bank_set_priority(bank_base(intid), intid, prio);
}

static void gicv3_set_edge(uint32_t intid, bool edge) { gic_bank_set_edge(bank_base(intid), intid, edge); }

static void gicv3_route(uint32_t spi, int cpu)
{
    if (spi >= IRQ_SPI_BASE && spi < nlines)
        mmio_write64(dist + GICD_IROUTER + 8 * spi, gic_v3_irouter(plat->cpus[cpu].mpidr));
}

static void gicv3_send_sgi(uint32_t sgi, int cpu)
{
    uint64_t v = gic_v3_sgi1r(sgi, plat->cpus[cpu].mpidr);
    dsb(ishst);
    write_sysreg(ICC_SGI1R_EL1, v);
    isb();
}

static const struct irqchip gicv3 = {
    .name = "GICv3",
    .match = gicv3_match,
    .init = gicv3_init,
    .init_cpu = gicv3_init_cpu,
    .ack = gicv3_ack,
    .eoi = gicv3_eoi,
    .eoi_icc = true,
    .enable = gicv3_enable,
    .disable = gicv3_disable,
    .set_priority = gicv3_set_priority,
    .set_edge = gicv3_set_edge,
    .route = gicv3_route,
    .send_sgi = gicv3_send_sgi,
};
IRQCHIP_DRIVER(gicv3);
