/* Placement and stealing decisions. */
#include <kernel/sched_policy.h>
#include <sr_test.h>

TEST(sched_policy, place_on_least_loaded_allowed_core)
{
    struct sched_core_view v[4] = {
        {true, true, 2}, {true, true, 0}, {true, false, 0}, {false, false, 0}};
    EXPECT_EQ(sched_policy_place(v, 4, 2, 0, 0), 2);            /* idle core */
    EXPECT_EQ(sched_policy_place(v, 4, 2, 1u << 0, 1), 0);      /* pinned */
    EXPECT_EQ(sched_policy_place(v, 4, 2, 1u << 3, 1), -1);     /* only an offline core */
    v[2].busy = true;
    EXPECT_EQ(sched_policy_place(v, 4, 2, 0, 1), 1);            /* tie 1 vs 2: caller's core */
    EXPECT_EQ(sched_policy_place(v, 4, 2, 0, 0), 1);            /* tie: lowest id */
}

TEST(sched_policy, steal_from_the_busiest_other_core)
{
    struct sched_core_view v[4] = {
        {true, true, 1}, {true, true, 5}, {true, false, 0}, {false, true, 9}};
    EXPECT_EQ(sched_policy_victim(v, 4, 2), 1);
    EXPECT_EQ(sched_policy_victim(v, 4, 1), 0);
    struct sched_core_view none[2] = {{true, true, 0}, {true, false, 0}};
    EXPECT_EQ(sched_policy_victim(none, 2, 1), -1);             /* nothing waiting */
}
