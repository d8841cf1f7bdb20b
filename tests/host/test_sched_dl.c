/* Deadline class: admission control, budgets, misses. */
#include <kernel/sched_policy.h>
#include <sr_test.h>

#include "sched_fixture.h"

#define MS 1000000ull

TEST(sched_dl, admits_on_the_cheapest_core_then_refuses_overload)
{
    struct sched_core_model m;
    sched_fixture_model(rk3399_spec, 6, &m);
    struct sched_dl_bw bw = {{0}};
    struct sched_dl_params audio = {10 * MS, 1 * MS, 0};
    int c = sched_dl_admit(&m, &bw, &audio, 0, 0x3f);
    EXPECT_GE(c, 0);
    EXPECT_LT(c, 4);                                  /* a little core is cheaper */
    /* 1 ms on 1024 = 2.68 ms on an A53 (capacity 382): 26.8 % of the core. */
    EXPECT_EQ(bw.used[c], (uint32_t)((1024ull * SCHED_DL_BW_ONE * MS + 382 * 10 * MS - 1) /
                                     (382 * 10 * MS)));
    struct sched_dl_params heavy = {10 * MS, 8 * MS, 0};  /* 80 % of a big core */
    c = sched_dl_admit(&m, &bw, &heavy, 0, 0x3f);
    EXPECT_GE(c, 4);
    c = sched_dl_admit(&m, &bw, &heavy, 0, 0x3f);
    EXPECT_GE(c, 4);
    struct sched_dl_bw before = bw;
    EXPECT_EQ(sched_dl_admit(&m, &bw, &heavy, 0, 0x3f), SCHED_DL_EOVERLOAD);
    EXPECT_EQ(memcmp(&before, &bw, sizeof(bw)), 0);  /* a refusal changes nothing */
    EXPECT_TRUE(sched_dl_strerror(SCHED_DL_EOVERLOAD)[0] == 'd');
    sched_dl_release_bw(&m, &bw, &heavy, 4);
    EXPECT_EQ(sched_dl_admit(&m, &bw, &heavy, 0, 0x3f), 4);
    EXPECT_EQ(sched_dl_admit(&m, &bw, &heavy, 1u << 5, 0x1f), SCHED_DL_EOVERLOAD); /* offline */
}

TEST(sched_dl, invalid_parameters)
{
    struct sched_core_model m;
    sched_fixture_model(rk3399_spec, 6, &m);
    struct sched_dl_bw bw = {{0}};
    struct sched_dl_params bad[4] = {
        {0, 1, 0}, {10 * MS, 0, 0}, {10 * MS, 6 * MS, 5 * MS}, {10 * MS, 1 * MS, 11 * MS}};
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(sched_dl_admit(&m, &bw, &bad[i], 0, 0x3f), SCHED_DL_EINVAL);
    EXPECT_TRUE(sched_dl_strerror(SCHED_DL_EINVAL)[0] != 0);
}

TEST(sched_dl, overrun_demotes_for_the_period_and_counts)
{
    struct sched_dl_params p = {10 * MS, 1 * MS, 0};
    struct sched_dl_task s = {0};
    sched_dl_new_period(&s, &p, 100 * MS);
    EXPECT_EQ(s.deadline_ns, 110 * MS);
    EXPECT_TRUE(!sched_dl_charge(&s, &p, 1 * MS, 1024));   /* exactly the budget */
    EXPECT_TRUE(sched_dl_charge(&s, &p, 1, 1024));          /* one ns more */
    EXPECT_TRUE(s.demoted);
    EXPECT_TRUE(!sched_dl_charge(&s, &p, 5 * MS, 1024));    /* counted once a period */
    EXPECT_EQ(s.overruns, 1);
    sched_dl_new_period(&s, &p, 110 * MS);
    EXPECT_TRUE(!s.demoted);
    EXPECT_TRUE(!sched_dl_charge(&s, &p, 2 * MS, 512));     /* 2 ms at half speed = 1 ms */
    EXPECT_TRUE(sched_dl_complete(&s, 120 * MS));
    EXPECT_TRUE(!sched_dl_complete(&s, 120 * MS + 1));
    EXPECT_EQ(s.misses, 1);
}
