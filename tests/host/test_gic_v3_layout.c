/*
 * drivers/irq/gic_v3_layout.c against a model of redistributor frames:
 * RK3399's layout (one region, 0x20000 stride, MPIDRs 0x0-0x3 and
 * 0x100-0x101 in frame order), a VLPI stride, several regions, a DT stride,
 * Aff3, and the SGI / IROUTER encodings.
 */
#include <stdint.h>
#include <string.h>

#include <arch/io.h>
#include <kernel/platform.h>

#include "../../drivers/irq/gic_v3_layout.h"
#include "host_test.h"

#define MAX_FRAMES 16

struct rd_model {
    uintptr_t base[MAX_FRAMES];
    uint64_t typer[MAX_FRAMES];
    int n;
    int stray_reads;     /* reads of anything but a listed frame's GICR_TYPER */
};

static uint64_t rd_read(void *ctx, uintptr_t addr, int width)
{
    struct rd_model *m = ctx;
    for (int i = 0; i < m->n; i++)
        if (width == 8 && addr == m->base[i] + GICR_TYPER)
            return m->typer[i];
    m->stray_reads++;
    return 0;
}

static void rd_write(void *ctx, uintptr_t addr, int width, uint64_t v)
{
    (void)addr, (void)width, (void)v;
    ((struct rd_model *)ctx)->stray_reads++;
}

static struct rd_model model;
static const struct host_mmio_model mmio = {rd_read, rd_write, &model};

/* Adds a frame at base for mpidr; flags = VLPIS / LAST. */
static void frame(uintptr_t base, uint64_t mpidr, uint64_t flags)
{
    model.base[model.n] = base;
    model.typer[model.n++] = (uint64_t)gic_v3_typer_affinity(mpidr) << 32 | flags;
}

TEST(gic_v3_layout, rk3399_redistributors_by_mpidr)
{
    static const uint64_t mpidr[6] = {0x0, 0x1, 0x2, 0x3, 0x100, 0x101};
    memset(&model, 0, sizeof(model));
    for (int i = 0; i < 6; i++)
        frame(0xfef00000 + 0x20000 * (uintptr_t)i, mpidr[i], i == 5 ? GICR_TYPER_LAST : 0);
    host_mmio_set_model(&mmio);
    struct plat_gic g = {.version = 3, .nredist = 1,
                         .redist = {{0xfef00000, 0xc0000}}};
    for (int i = 0; i < 6; i++)
        EXPECT_EQ(gic_v3_find_rdist(&g, mpidr[i]), 0xfef00000 + 0x20000 * (uint64_t)i);
    EXPECT_EQ(gic_v3_find_rdist(&g, 0x4), 0);     /* no such core: stops at Last */
    EXPECT_EQ(gic_v3_find_rdist(&g, 0x102), 0);
    EXPECT_EQ(model.stray_reads, 0);
    host_mmio_set_model(NULL);
}

TEST(gic_v3_layout, vlpi_stride_regions_and_dt_stride)
{
    memset(&model, 0, sizeof(model));
    /* Region 0: two cores with VLPIS (0x40000 apart); region 1: two more. */
    frame(0x10100000, 0x0, GICR_TYPER_VLPIS);
    frame(0x10140000, 0x1, GICR_TYPER_VLPIS | GICR_TYPER_LAST);
    frame(0x10200000, 0x10000, 0);
    frame(0x10280000, 0x10001, GICR_TYPER_LAST);    /* at the DT's 0x80000 stride */
    host_mmio_set_model(&mmio);
    struct plat_gic g = {.version = 3, .nredist = 2,
                         .redist = {{0x10100000, 0x80000}, {0x10200000, 0x100000}}};
    EXPECT_EQ(gic_v3_find_rdist(&g, 0x1), 0x10140000);
    EXPECT_EQ(gic_v3_find_rdist(&g, 0x10000), 0x10200000);
    g.redist_stride = 0x80000;                      /* the DT's stride wins */
    EXPECT_EQ(gic_v3_find_rdist(&g, 0x10001), 0x10280000);
    EXPECT_EQ(model.stray_reads, 0);
    host_mmio_set_model(NULL);
}

TEST(gic_v3_layout, aff3_is_matched_in_its_own_field)
{
    memset(&model, 0, sizeof(model));
    frame(0x20000000, 0x0000000001ull, 0);          /* Aff0 = 1 */
    frame(0x20020000, 0x0100000001ull, GICR_TYPER_LAST); /* Aff3 = 1, Aff0 = 1 */
    host_mmio_set_model(&mmio);
    struct plat_gic g = {.version = 3, .nredist = 1, .redist = {{0x20000000, 0x40000}}};
    EXPECT_EQ(gic_v3_typer_affinity(0x0100000001ull), 0x01000001u);
    EXPECT_EQ(gic_v3_find_rdist(&g, 0x0100000001ull), 0x20020000);
    EXPECT_EQ(gic_v3_find_rdist(&g, 0x1), 0x20000000);
    host_mmio_set_model(NULL);
}

TEST(gic_v3_layout, sgi_and_irouter_encodings)
{
    /* MPIDR 0x101 (RK3399's second A72): Aff1 = 1, target list bit 1. */
    EXPECT_EQ(gic_v3_sgi1r(5, 0x101), (1ull << 1) | (1ull << 16) | (5ull << 24));
    EXPECT_EQ(gic_v3_sgi1r(0, 0x3), 1ull << 3);
    /* Aff0 = 17: range selector 1, bit 1; Aff2 and Aff3 in their fields. */
    EXPECT_EQ(gic_v3_sgi1r(1, 0x0200030011ull),
              (1ull << 1) | (1ull << 24) | (3ull << 32) | (1ull << 44) | (2ull << 48));
    EXPECT_EQ(gic_v3_irouter(0x101), 0x101);
    EXPECT_EQ(gic_v3_irouter(0x0200030011ull), 0x0200030011ull);
    EXPECT_EQ(gic_v3_irouter(0x81000100ull), 0x100);  /* U/MT/RES1 bits dropped */
}
