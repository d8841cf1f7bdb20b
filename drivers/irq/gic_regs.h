/* GIC distributor registers common to GICv2 and GICv3 (offsets from GICD). */
#ifndef DRIVERS_GIC_REGS_H
#define DRIVERS_GIC_REGS_H

#define GICD_CTLR           0x0000
#define GICD_TYPER          0x0004
#define GICD_IGROUPR        0x0080
#define GICD_ISENABLER      0x0100
#define GICD_ICENABLER      0x0180
#define GICD_ICPENDR        0x0280
#define GICD_IPRIORITYR     0x0400
#define GICD_ITARGETSR      0x0800   /* v2 */
#define GICD_ICFGR          0x0c00
#define GICD_SGIR           0x0f00   /* v2 */
#define GICD_IROUTER        0x6000   /* v3, 64-bit per SPI */
#define GICD_PIDR2          0xffe8   /* v3 layout */

#define GICD_TYPER_LINES(t) ((((t) & 0x1f) + 1) * 32)

#define GIC_PRIO_DEFAULT    0xa0
#define GIC_PRIO_MASK_ALL   0xf0     /* PMR: let every priority above 0xf0 in */

/*
 * Per-INTID operations on a register bank with the distributor's layout: the
 * distributor itself, or (GICv3) a redistributor's SGI/PPI frame.
 */
#include <stdbool.h>
#include <arch/io.h>

static inline void gic_bank_enable(uintptr_t bank, uint32_t intid, bool on)
{
    mmio_write32(bank + (on ? GICD_ISENABLER : GICD_ICENABLER) + (intid / 32) * 4,
                 1u << (intid % 32));
}

static inline void gic_bank_set_priority(uintptr_t bank, uint32_t intid, uint8_t prio)
{
    mmio_write8(bank + GICD_IPRIORITYR + intid, prio);
}

static inline void gic_bank_set_edge(uintptr_t bank, uint32_t intid, bool edge)
{
    uintptr_t reg = bank + GICD_ICFGR + (intid / 16) * 4;
    uint32_t bit = 2u << ((intid % 16) * 2);
    uint32_t v = mmio_read32(reg);
    mmio_write32(reg, edge ? v | bit : v & ~bit);
}

#endif
