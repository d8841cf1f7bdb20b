/* The supervisor's restart-intensity window (pure policy). */
#include <stdint.h>
#include <sr/restart_window.h>
#include <sr_test.h>

TEST(restart_window, allows_exactly_max_within_the_window)
{
    struct restart_window w;
    EXPECT_TRUE(restart_window_init(&w, 3, 1000));
    EXPECT_TRUE(restart_window_allow(&w, 100));
    EXPECT_TRUE(restart_window_allow(&w, 200));
    EXPECT_TRUE(restart_window_allow(&w, 300));
    EXPECT_TRUE(!restart_window_allow(&w, 400));
    EXPECT_TRUE(!restart_window_allow(&w, 1099));
    /* 100 leaves the window at 1100: one more is allowed, then none. */
    EXPECT_TRUE(restart_window_allow(&w, 1100));
    EXPECT_TRUE(!restart_window_allow(&w, 1150));
    /* Long quiet: the whole window is free again. */
    EXPECT_TRUE(restart_window_allow(&w, 10000));
    EXPECT_TRUE(restart_window_allow(&w, 10001));
    EXPECT_TRUE(restart_window_allow(&w, 10002));
    EXPECT_TRUE(!restart_window_allow(&w, 10003));
}

TEST(restart_window, zero_max_never_restarts_and_bad_max_is_refused)
{
    struct restart_window w;
    EXPECT_TRUE(restart_window_init(&w, 0, 1000));
    EXPECT_TRUE(!restart_window_allow(&w, 5));
    EXPECT_TRUE(!restart_window_init(&w, RESTART_WINDOW_MAX + 1, 1000));
}

/* Slow faults (one per window) restart forever, across the ring's wrap. */
TEST(restart_window, spaced_faults_always_restart)
{
    struct restart_window w;
    EXPECT_TRUE(restart_window_init(&w, RESTART_WINDOW_MAX, 100));
    for (uint64_t i = 0; i < 1000; i++)
        EXPECT_TRUE(restart_window_allow(&w, i * 2));
    /* 50 stamps lie in [1900, 1998]; 14 more fit. */
    int allowed = 0;
    while (restart_window_allow(&w, 1999))
        allowed++;
    EXPECT_EQ(allowed, RESTART_WINDOW_MAX - 50);
}
