/* Core model: capacities, fallbacks, levels, power; energy accounting. */
#include <kernel/sched_policy.h>
#include <sr_test.h>

#include "sched_fixture.h"

TEST(sched_model, rk3399_from_the_dt)
{
    struct sched_core_model m;
    sched_fixture_model(rk3399_spec, 6, &m);
    EXPECT_EQ(m.ncores, 6);
    EXPECT_EQ(m.nlevels, 2);
    /* DMIPS/MHz x top MHz: 485 x 1416 against 1024 x 1800. */
    EXPECT_EQ(m.core[0].capacity, (485 * 1416 * 1024 + 1024 * 1800 / 2) / (1024 * 1800));
    EXPECT_EQ(m.core[0].capacity, 382);
    EXPECT_EQ(m.core[5].capacity, 1024);
    EXPECT_EQ(m.core[0].level, 1);
    EXPECT_EQ(m.core[4].level, 0);
    EXPECT_EQ(m.core[4].cluster, 1);
    /* 100 uW/MHz/V^2 x 1416 MHz x 1.125^2 V^2 = 179.2 mW; 436 x 1800 x 1.2^2 = 1130.1 mW. */
    EXPECT_EQ(m.core[0].power_mw, 179);
    EXPECT_EQ(m.core[4].power_mw, 1130);
    EXPECT_EQ(m.core[0].epw, 179 * 1024 / 382);
    EXPECT_EQ(m.core[4].epw, 1130);
    EXPECT_LT(m.core[0].epw, m.core[4].epw);
}

TEST(sched_model, big_cores_first_and_unequal_cores_in_a_cluster)
{
    const struct cpu_spec spec[5] = {
        {"arm,cortex-x1", 1024, 0, 0}, {"arm,cortex-a78", 900, 0, 1},
        {"arm,cortex-a78", 900, 0, 1}, {"arm,cortex-a55", 400, 0, 2},
        {"arm,cortex-a55", 410, 0, 2}, /* cores of one cluster need not be equal */
    };
    struct sched_core_model m;
    sched_fixture_model(spec, 5, &m);
    EXPECT_EQ(m.nlevels, 4);
    EXPECT_EQ(m.core[0].level, 0);
    EXPECT_EQ(m.core[1].level, 1);
    EXPECT_EQ(m.core[2].level, 1);
    EXPECT_EQ(m.core[4].level, 2);
    EXPECT_EQ(m.core[3].level, 3);
    /* 400 DMIPS/MHz at 1800 MHz against the X1's 1024 at 3000 MHz. */
    EXPECT_EQ(m.core[3].capacity, (400 * 1800 * 1024 + 1024 * 3000 / 2) / (1024 * 3000));
    /* No coefficient in the DT: the table's (A55: 120 x 1800 x 0.95^2 = 194.9). */
    EXPECT_EQ(m.core[3].power_mw, 195);
}

TEST(sched_model, fallback_table_by_compatible_when_dmips_absent)
{
    const struct cpu_spec spec[3] = {
        {"arm,cortex-a55", 0, 0, 0}, {"arm,cortex-x1", 0, 0, 1}, {"arm,cortex-a55", 0, 0, 0},
    };
    struct sched_core_model m;
    sched_fixture_model(spec, 3, &m);
    EXPECT_EQ(m.core[1].capacity, 1024);
    EXPECT_EQ(m.core[0].capacity, (260 * 1800 * 1024 + 800 * 3000 / 2) / (800 * 3000));
    EXPECT_EQ(m.core[0].level, 1);
    EXPECT_EQ(m.nlevels, 2);
}

TEST(sched_model, fallback_by_midr_part_number)
{
    struct plat_cpu cpus[2];
    memset(cpus, 0, sizeof(cpus));
    uint16_t parts[2] = {0xd03, 0xd08};   /* A53, A72; compatibles say nothing */
    struct sched_core_model m;
    sched_core_model_build(cpus, 2, parts, &m);
    EXPECT_EQ(m.core[1].capacity, 1024);
    EXPECT_EQ(m.core[0].capacity, (230 * 1416 * 1024 + 470 * 1800 / 2) / (470 * 1800));
    EXPECT_EQ(m.core[0].power_mw, 179);
}

TEST(sched_model, equal_when_nothing_is_known)
{
    const struct cpu_spec spec[3] = {
        {"acme,mystery", 0, 0, 0}, {"arm,cortex-a72", 0, 0, 0}, {"arm,cortex-a53", 0, 0, 0},
    };
    struct sched_core_model m;
    sched_fixture_model(spec, 3, &m);
    EXPECT_EQ(m.nlevels, 1);
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(m.core[i].capacity, 1024);
        EXPECT_EQ(m.core[i].level, 0);
    }
    EXPECT_EQ(m.core[0].power_mw, 150);   /* 100 x 1500 MHz x 1 V^2 */
}

TEST(sched_model, energy_is_busy_time_times_power)
{
    struct sched_energy e = {0, 0};
    sched_energy_add(&e, 1000000000ull, 950);     /* 1 s at 950 mW */
    sched_energy_add(&e, 500000000ull, 140);      /* 0.5 s at 140 mW */
    EXPECT_EQ(e.busy_ns, 1500000000ull);
    EXPECT_EQ(e.pj, 950000000000ull + 70000000000ull);   /* 1.02 J */
}

TEST(sched_model, bounds_on_the_cpu_count)
{
    struct plat_cpu cpus[PLAT_MAX_CPUS + 1];
    memset(cpus, 0, sizeof(cpus));
    struct sched_core_model m;
    sched_core_model_build(cpus, -3, NULL, &m);
    EXPECT_EQ(m.ncores, 0);
    EXPECT_EQ(m.nlevels, 0);
    sched_core_model_build(cpus, PLAT_MAX_CPUS + 1, NULL, &m);
    EXPECT_EQ(m.ncores, PLAT_MAX_CPUS);
    EXPECT_EQ(m.nlevels, 1);
}
