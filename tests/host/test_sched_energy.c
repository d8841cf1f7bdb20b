/*
 * Operating points in the core model and the energy model on them
 * (kernel/sched/policy_model.c, policy_energy.c): RK3399 with the OPP tables
 * of its DT (Debian's rk3399-rockpro64.dtb).
 */
#include <kernel/sched_policy.h>
#include <sr_test.h>

#include "sched_fixture.h"

static const struct plat_opp a53_opps[6] = {
    {408, 825000}, {600, 825000}, {816, 850000}, {1008, 925000}, {1200, 1000000}, {1416, 1125000},
};
static const struct plat_opp a72_opps[8] = {
    {408, 825000},  {600, 825000},   {816, 825000},   {1008, 875000},
    {1200, 950000}, {1416, 1025000}, {1608, 1100000}, {1800, 1200000},
};

/* RK3399 as DT discovery leaves it, OPP tables included (phandles 1 and 2). */
static void rk3399_dvfs(struct sched_core_model *m)
{
    struct plat_cpu cpus[6];
    memset(cpus, 0, sizeof(cpus));
    for (int i = 0; i < 6; i++) {
        bool big = i >= 4;
        strncpy(cpus[i].compatible, big ? "arm,cortex-a72" : "arm,cortex-a53", PLAT_NAME_LEN - 1);
        cpus[i].dmips_mhz = big ? 1024 : 485;
        cpus[i].capacity = big ? 1024 : 485;
        cpus[i].power_coeff = big ? 436 : 100;
        cpus[i].has_power_coeff = true;
        cpus[i].cluster = big;
        cpus[i].opp_table = big ? 2 : 1;
        cpus[i].nopps = big ? 8 : 6;
        memcpy(cpus[i].opps, big ? a72_opps : a53_opps, sizeof(a72_opps[0]) * cpus[i].nopps);
    }
    sched_core_model_build(cpus, 6, NULL, m);
}

TEST(sched_energy, model_opps_capacity_power_domains)
{
    struct sched_core_model m;
    rk3399_dvfs(&m);
    const struct sched_core_info *l = &m.core[0], *b = &m.core[4];
    /* Top figures as without OPPs: capacity 382 / 1024, 179 / 1130 mW. */
    EXPECT_EQ(l->capacity, 382);
    EXPECT_EQ(b->capacity, 1024);
    EXPECT_EQ(l->power_mw, 179);
    EXPECT_EQ(b->power_mw, 1130);
    EXPECT_EQ(l->nopps, 6);
    EXPECT_EQ(b->nopps, 8);
    /* capacity x f / f_top; coefficient x MHz x V^2 in uW. */
    EXPECT_EQ(l->opp[0].capacity, 110);           /* 382 x 408 / 1416 */
    EXPECT_EQ(l->opp[0].power_uw, 27770);         /* 100 x 408 x 0.825^2 */
    EXPECT_EQ(l->opp[1].capacity, 162);
    EXPECT_EQ(l->opp[1].power_uw, 40838);
    EXPECT_EQ(l->opp[5].capacity, 382);
    EXPECT_EQ(l->opp[5].power_uw, 179213);
    EXPECT_EQ(b->opp[2].capacity, 464);           /* 1024 x 816 / 1800 */
    EXPECT_EQ(b->opp[2].power_uw, 242150);        /* 436 x 816 x 0.825^2 */
    EXPECT_EQ(b->opp[7].power_uw, 1130112);
    /* The most efficient: the fastest at the lowest voltage. */
    EXPECT_EQ(l->efficient, 1);                   /* 600 MHz at 825 mV */
    EXPECT_EQ(b->efficient, 2);                   /* 816 MHz at 825 mV */
    for (int i = 0; i < 6; i++)
        EXPECT_EQ(m.core[i].domain, i < 4 ? 0 : 4);
    EXPECT_EQ(m.nlevels, 2);
}

TEST(sched_energy, without_opp_tables_one_opp_and_own_domain)
{
    struct sched_core_model m;
    sched_fixture_model(rk3399_spec, 6, &m);
    for (int i = 0; i < 6; i++) {
        EXPECT_EQ(m.core[i].nopps, 1);
        EXPECT_EQ(m.core[i].domain, i);
        EXPECT_EQ(m.core[i].opp[0].capacity, m.core[i].capacity);
        EXPECT_EQ(sched_energy_opp_for(&m.core[i], 5000), 0);
    }
    EXPECT_EQ(m.core[0].opp[0].power_uw, 179213);
}

TEST(sched_energy, fixed_frequency_keeps_the_top_opp)
{
    struct sched_core_model m;
    rk3399_dvfs(&m);
    sched_core_model_fixed_frequency(&m);
    for (int i = 0; i < 6; i++) {
        EXPECT_EQ(m.core[i].nopps, 1);
        EXPECT_EQ(m.core[i].domain, i);
        EXPECT_EQ(m.core[i].opp[0].capacity, m.core[i].capacity);
    }
    EXPECT_EQ(m.core[4].opp[0].power_uw, 1130112);
}

TEST(sched_energy, governor_lowest_opp_covering_need_with_margin)
{
    struct sched_core_model m;
    rk3399_dvfs(&m);
    const struct sched_core_info *b = &m.core[4];
    EXPECT_EQ(sched_energy_opp_for(b, 0), 0);
    EXPECT_EQ(sched_energy_opp_for(b, 371), 2);   /* 371 x 1.25 = 463.75 <= 464 */
    EXPECT_EQ(sched_energy_opp_for(b, 372), 3);
    EXPECT_EQ(sched_energy_opp_for(b, 1024), 7);
    EXPECT_EQ(sched_energy_opp_for(b, 5000), 7);
    /* A domain follows its busiest core. */
    uint32_t need[6] = {10, 130, 0, 0, 900, 0};
    EXPECT_EQ(sched_energy_domain_opp(&m, 0, need), 2);   /* 130 x 1.25 > 162 */
    EXPECT_EQ(sched_energy_domain_opp(&m, 4, need), 7);
    /* Power: each core's utilisation x power / capacity at that OPP. */
    uint32_t util[6] = {100, 0, 0, 0, 0, 0};
    uint32_t need1[6] = {100, 0, 0, 0, 0, 0};
    EXPECT_EQ(sched_energy_domain_power(&m, 0, util, need1), 40838ull * 100 / 162);
    EXPECT_EQ(sched_energy_need(100, 460, 0), 460);
    EXPECT_EQ(sched_energy_need(600, 0, 129), 129);
    EXPECT_EQ(sched_energy_need(600, 0, 0), 600);
}

TEST(sched_energy, class_clamps)
{
    struct sched_core_model m;
    rk3399_dvfs(&m);
    struct sched_clamp k = sched_energy_clamp(&m.core[0], QOS_BACKGROUND, false);
    EXPECT_EQ(k.floor, 0);
    EXPECT_EQ(k.ceiling, 162 * 1024 / 1280);      /* the A53's 600 MHz */
    EXPECT_EQ(sched_energy_opp_for(&m.core[0], k.ceiling), m.core[0].efficient);
    k = sched_energy_clamp(&m.core[4], QOS_USER_INTERACTIVE, false);
    EXPECT_EQ(k.floor, SCHED_UI_MIN_CAPACITY * 1024 / 1280);
    EXPECT_EQ(k.ceiling, SCHED_CAPACITY_MAX);
    EXPECT_EQ(sched_energy_opp_for(&m.core[4], k.floor), 4);   /* 1200 MHz: 683 >= 576 */
    k = sched_energy_clamp(&m.core[4], QOS_DEFAULT, true);
    EXPECT_EQ(k.floor, SCHED_CAPACITY_MAX);
    k = sched_energy_clamp(&m.core[4], QOS_DEFAULT, false);
    EXPECT_EQ(k.floor, 0);
    EXPECT_EQ(k.ceiling, 464 * 1024 / 1280);      /* the A72's frugal 816 MHz */
    k = sched_energy_clamp(&m.core[4], QOS_UTILITY, false);
    EXPECT_EQ(k.ceiling, 464 * 1024 / 1280);
    k = sched_energy_clamp(&m.core[0], QOS_DEFAULT, false);
    EXPECT_EQ(k.ceiling, SCHED_CAPACITY_MAX);     /* an efficiency core: unclamped */
    k = sched_energy_clamp(&m.core[4], QOS_USER_INITIATED, false);
    EXPECT_EQ(k.floor, 0);
    EXPECT_EQ(k.ceiling, SCHED_CAPACITY_MAX);
}

static uint64_t epw(const struct sched_core_info *c, int k)
{
    return (uint64_t)c->opp[k].power_uw * 1024 / c->opp[k].capacity;
}

/* frugal: the highest OPP within the fit margin of the efficiency cores' top
 * OPP's energy per work. RK3399: the A53 at 1416 MHz costs 179213 uW per 382;
 * the A72 at 816 MHz 242150 per 464 (within x 1.25), at 1008 MHz 336514 per
 * 573 (just beyond). */
TEST(sched_energy, frugal_opp_against_the_efficiency_cores_top)
{
    struct sched_core_model m;
    rk3399_dvfs(&m);
    EXPECT_EQ(m.core[0].frugal, 5);
    EXPECT_EQ(m.core[4].frugal, 2);
    EXPECT_LE(epw(&m.core[4], 2) * 1024, epw(&m.core[0], 5) * 1280);
    EXPECT_GT(epw(&m.core[4], 3) * 1024, epw(&m.core[0], 5) * 1280);
    EXPECT_EQ(sched_energy_opp_for(&m.core[4], sched_energy_clamp(&m.core[4], QOS_DEFAULT,
                                                                  false).ceiling), 2);

    /* RK3588 (rk3588s.dtsi, rk3588-opp.dtsi): the A76 at 2.4 GHz costs about
     * what the A55 at 1.8 GHz does per unit of work: no cap. */
    static const struct plat_opp a55[5] = {
        {1008, 675000}, {1200, 712500}, {1416, 762500}, {1608, 850000}, {1800, 950000}};
    static const struct plat_opp a76[7] = {
        {1200, 675000}, {1416, 725000}, {1608, 762500}, {1800, 850000},
        {2016, 925000}, {2208, 987500}, {2400, 1000000}};
    struct plat_cpu cpus[8];
    memset(cpus, 0, sizeof(cpus));
    for (int i = 0; i < 8; i++) {
        bool big = i >= 4;
        strncpy(cpus[i].compatible, big ? "arm,cortex-a76" : "arm,cortex-a55", PLAT_NAME_LEN - 1);
        cpus[i].dmips_mhz = big ? 1024 : 530;
        cpus[i].capacity = big ? 1024 : 530;
        cpus[i].power_coeff = big ? 416 : 228;
        cpus[i].has_power_coeff = true;
        cpus[i].cluster = big ? 1 + (i >= 6) : 0;
        cpus[i].opp_table = (uint32_t)cpus[i].cluster + 1;
        cpus[i].nopps = big ? 7 : 5;
        memcpy(cpus[i].opps, big ? a76 : a55, sizeof(a55[0]) * cpus[i].nopps);
    }
    sched_core_model_build(cpus, 8, NULL, &m);
    for (int c = 0; c < 8; c++) {
        EXPECT_EQ(m.core[c].frugal, m.core[c].nopps - 1);
        EXPECT_EQ(sched_energy_clamp(&m.core[c], QOS_DEFAULT, false).ceiling, SCHED_CAPACITY_MAX);
    }
    /* One OPP per core (the image): nothing to cap. */
    rk3399_dvfs(&m);
    sched_core_model_fixed_frequency(&m);
    EXPECT_EQ(m.core[4].frugal, 0);
    EXPECT_EQ(sched_energy_clamp(&m.core[4], QOS_DEFAULT, false).ceiling, SCHED_CAPACITY_MAX);
}

/* Four background hogs on the A53s, capped at 600 MHz; the A72s idle. */
static void hogs_on_littles(const struct sched_core_model *m, struct sched_core_view *v)
{
    sched_fixture_idle(v, 6);
    for (int c = 0; c < 4; c++) {
        sched_fixture_run(v, c, QOS_BACKGROUND, 160);
        v[c].clamp_ceiling = sched_energy_clamp(&m->core[c], QOS_BACKGROUND, false).ceiling;
    }
}

TEST(sched_energy, placement_counts_the_opp_it_causes)
{
    struct sched_core_model m;
    rk3399_dvfs(&m);
    struct sched_core_view v[6];
    hogs_on_littles(&m, v);
    struct sched_task_view t = {.qos = QOS_DEFAULT, .util = 100, .prev_cpu = -1};
    /* On an A53 it lifts the hogs' cap: the domain goes from 600 to 1416 MHz. */
    uint64_t little = sched_energy_place_cost(&m, v, 0, &t, true);
    uint64_t big = sched_energy_place_cost(&m, v, 4, &t, true);
    EXPECT_EQ(big, 121075ull * 100 / 232);        /* the A72 at 408 MHz */
    EXPECT_GT(little, big);
    int cpu = sched_policy_place(&m, v, &t, 0);
    EXPECT_TRUE(cpu == 4 || cpu == 5);
    /* Another background task fits under the cap: it costs its own work at 600 MHz. */
    struct sched_task_view bg = {.qos = QOS_BACKGROUND, .util = 100, .prev_cpu = -1};
    v[1].util_at[QOS_BACKGROUND] = 0;
    v[1].cur_qos = QOS_COUNT;
    v[1].clamp_ceiling = 0;
    EXPECT_EQ(sched_energy_place_cost(&m, v, 1, &bg, true), 40838ull * 100 / 162);

    /* A new task (no utilisation yet) counts as the least work: on idle
     * cores the A53 at 408 MHz (27770 uW / 110) beats the A72 (121075 / 232);
     * next to the capped hogs it would still lift their ceiling. */
    struct sched_task_view fresh = {.qos = QOS_DEFAULT, .util = 0, .prev_cpu = -1};
    struct sched_core_view idle6[6];
    sched_fixture_idle(idle6, 6);
    EXPECT_EQ(sched_energy_place_cost(&m, idle6, 0, &fresh, true), 27770 / 110);
    EXPECT_EQ(sched_energy_place_cost(&m, idle6, 4, &fresh, true), 121075 / 232);
    cpu = sched_policy_place(&m, idle6, &fresh, 5);
    EXPECT_TRUE(cpu >= 0 && cpu < 4);
    hogs_on_littles(&m, v);
    cpu = sched_policy_place(&m, v, &fresh, 0);
    EXPECT_TRUE(cpu == 4 || cpu == 5);

    /* At one frequency (the image) the same view places by energy per work:
     * the A53 (its epw 179 x 1024 / 382 against the A72's 1130). */
    sched_core_model_fixed_frequency(&m);
    hogs_on_littles(&m, v);
    cpu = sched_policy_place(&m, v, &t, 0);
    EXPECT_TRUE(cpu >= 0 && cpu < 4);
}
