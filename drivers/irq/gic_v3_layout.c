/* GICv3 addressing by MPIDR (see gic_v3_layout.h). */
#include <arch/io.h>

#include "gic_v3_layout.h"

#define AFF012(m)  ((m) & 0xffffffull)
#define AFF3(m)    (((m) >> 32) & 0xffull)

uint64_t gic_v3_irouter(uint64_t mpidr)
{
    return AFF012(mpidr) | AFF3(mpidr) << 32;
}

uint32_t gic_v3_typer_affinity(uint64_t mpidr)
{
    return (uint32_t)(AFF012(mpidr) | AFF3(mpidr) << 24);
}

uint64_t gic_v3_sgi1r(uint32_t sgi, uint64_t mpidr)
{
    uint64_t aff0 = mpidr & 0xff, aff1 = (mpidr >> 8) & 0xff, aff2 = (mpidr >> 16) & 0xff;
    return (1ull << (aff0 % 16)) | aff1 << 16 | (uint64_t)(sgi & 0xf) << 24 | aff2 << 32 |
           (aff0 / 16) << 44 | AFF3(mpidr) << 48;
}

uintptr_t gic_v3_find_rdist(const struct plat_gic *g, uint64_t mpidr)
{
    uint32_t want = gic_v3_typer_affinity(mpidr);
    for (int r = 0; r < g->nredist; r++) {
        uintptr_t base = g->redist[r].base, end = base + g->redist[r].size;
        while (base < end) {
            uint64_t typer = mmio_read64(base + GICR_TYPER);
            if ((uint32_t)(typer >> 32) == want)
                return base;
            if (typer & GICR_TYPER_LAST)
                break;
            uint64_t stride = g->redist_stride;
            if (!stride)
                stride = (typer & GICR_TYPER_VLPIS) ? GICR_VLPI_FRAMES : GICR_FRAMES_SIZE;
            base += stride;
        }
    }
    return 0;
}
