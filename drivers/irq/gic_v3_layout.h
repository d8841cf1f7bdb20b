/*
 * GICv3 addressing by MPIDR, kept free of system registers so that it builds
 * and is tested on the host (tests/host/test_gic_v3_layout.c): no QEMU
 * assumptions, every value from the DT and from the GIC's own registers.
 */
#ifndef DRIVERS_GIC_V3_LAYOUT_H
#define DRIVERS_GIC_V3_LAYOUT_H

#include <stdint.h>
#include <kernel/platform.h>

#define GICR_TYPER          0x0008
#define GICR_TYPER_VLPIS    (1ull << 1)
#define GICR_TYPER_LAST     (1ull << 4)
#define GICR_FRAMES_SIZE    0x20000ull  /* RD_base + SGI_base */
#define GICR_VLPI_FRAMES    0x40000ull  /* ... + VLPI_base + reserved, with VLPIS */

/* GICD_IROUTER<n> value routing to the core with this MPIDR:
 * Aff3 at [39:32], Aff2.Aff1.Aff0 at [23:0] (as in the MPIDR itself). */
uint64_t gic_v3_irouter(uint64_t mpidr);

/* GICR_TYPER[63:32] of this core's redistributor: Aff3.Aff2.Aff1.Aff0. */
uint32_t gic_v3_typer_affinity(uint64_t mpidr);

/* ICC_SGI1R_EL1 value sending SGI sgi (0..15) to the one core with this MPIDR
 * (Aff0 >= 16 uses the range selector). */
uint64_t gic_v3_sgi1r(uint32_t sgi, uint64_t mpidr);

/*
 * RD_base of the redistributor serving mpidr: walks every region g lists, at
 * g->redist_stride or (stride 0) the stride GICR_TYPER.VLPIS implies, up to
 * the frame marked Last or the region's end. 0 when none matches.
 */
uintptr_t gic_v3_find_rdist(const struct plat_gic *g, uint64_t mpidr);

#endif
