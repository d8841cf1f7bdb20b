/* Utilisation: the decaying average. */
#include <kernel/sched_policy.h>
#include <sr_test.h>

#define MS 1000000ull

TEST(sched_util, half_life_towards_the_running_capacity)
{
    struct sched_util u = {0};
    sched_util_update(&u, 32 * MS, 1024);
    EXPECT_EQ(u.avg, 512);
    sched_util_update(&u, 64 * MS, 1024);
    EXPECT_EQ(u.avg, 768);
    sched_util_update(&u, 96 * MS, 0);
    EXPECT_EQ(u.avg, 384);
    sched_util_update(&u, 96 * MS, 0);     /* no time passed: unchanged */
    EXPECT_EQ(u.avg, 384);
    sched_util_update(&u, 50 * MS, 1024);  /* time going back: ignored */
    EXPECT_EQ(u.avg, 384);
}

TEST(sched_util, capacity_invariant_and_converges)
{
    struct sched_util u = {0};
    sched_util_update(&u, 2000 * MS, 485);   /* always running on a 485 core */
    EXPECT_EQ(u.avg, 485);
    EXPECT_TRUE(!sched_util_fits(u.avg, 485));   /* misfit there */
    EXPECT_TRUE(sched_util_fits(u.avg, 1024));
}

TEST(sched_util, short_steps_add_up_like_one_long_step)
{
    struct sched_util a = {0}, b = {0};
    for (uint64_t t = 50000; t <= 16 * MS; t += 50000)   /* 320 steps of 50 us */
        sched_util_update(&a, t, 1024);
    sched_util_update(&b, 16 * MS, 1024);
    /* 1024 x (1 - 2^-0.5) = 299.9 */
    EXPECT_GE(b.avg, 299);
    EXPECT_LE(b.avg, 300);
    EXPECT_GE(a.avg + 1, b.avg);
    EXPECT_LE(a.avg, b.avg + 1);
}

TEST(sched_util, periodic_task_settles_at_its_duty_cycle)
{
    struct sched_util u = {0};
    uint64_t t = 0;
    uint32_t peak = 0;
    for (int i = 0; i < 200; i++) {      /* 4 ms of every 16 ms on the big core */
        t += 4 * MS;
        sched_util_update(&u, t, 1024);
        peak = u.avg;
        t += 12 * MS;
        sched_util_update(&u, t, 0);
    }
    /* Steady state: peak P = 1024 (1 - y^4) + T y^4, trough T = P y^12 with
     * y = 2^(-1/32): P = 289.9, T = 223.5 (the mean is the duty cycle, 256). */
    EXPECT_GE(peak, 288);
    EXPECT_LE(peak, 291);
    EXPECT_GE(u.avg, 222);
    EXPECT_LE(u.avg, 225);
}

TEST(sched_util, storm_of_tiny_steps_stays_exact)
{
    struct sched_util a = {0}, b = {0};
    uint64_t t = 0;
    for (int i = 0; i < 100000; i++) {   /* 10 us running, 10 us not, for 2 s */
        t += 10000;
        sched_util_update(&a, t, 1024);
        t += 10000;
        sched_util_update(&a, t, 0);
    }
    EXPECT_GE(a.avg, 511);
    EXPECT_LE(a.avg, 513);
    sched_util_update(&b, 1, 1024);      /* 1 ns: below one unit */
    EXPECT_EQ(b.avg, 0);
    EXPECT_GT(b.fine, 0);
}
