/* Effective QoS: apps in the background, exemption, transitive inheritance. */
#include <kernel/sched_policy.h>
#include <sr_test.h>

TEST(sched_qos, background_app_lowers_unless_exempt)
{
    struct sched_app app = {true};
    struct sched_qos_task ui, audio, bg;
    sched_qos_init(&ui, QOS_USER_INTERACTIVE, &app, false);
    sched_qos_init(&audio, QOS_USER_INTERACTIVE, &app, true);
    sched_qos_init(&bg, QOS_BACKGROUND, &app, false);
    EXPECT_EQ(ui.eff, QOS_USER_INTERACTIVE);
    app.foreground = false;
    EXPECT_TRUE(sched_qos_refresh(&ui));
    EXPECT_TRUE(!sched_qos_refresh(&audio));
    EXPECT_TRUE(!sched_qos_refresh(&bg));
    EXPECT_EQ(ui.eff, SCHED_BG_APP_QOS);
    EXPECT_EQ(audio.eff, QOS_USER_INTERACTIVE);
    EXPECT_EQ(bg.eff, QOS_BACKGROUND);            /* never raised */
    app.foreground = true;
    EXPECT_TRUE(sched_qos_refresh(&ui));
    EXPECT_EQ(ui.eff, QOS_USER_INTERACTIVE);
    struct sched_qos_task lone;
    sched_qos_init(&lone, (enum qos)9, NULL, false);   /* bad class: default */
    EXPECT_EQ(lone.eff, QOS_DEFAULT);
}

TEST(sched_qos, transitive_boost_and_release)
{
    struct sched_qos_task ui, mid, bg;
    sched_qos_init(&ui, QOS_USER_INTERACTIVE, NULL, false);
    sched_qos_init(&mid, QOS_UTILITY, NULL, false);
    sched_qos_init(&bg, QOS_BACKGROUND, NULL, false);
    EXPECT_EQ(sched_qos_block(&mid, &bg), 0);     /* mid waits on bg */
    EXPECT_EQ(bg.eff, QOS_UTILITY);
    EXPECT_EQ(sched_qos_block(&ui, &mid), 0);     /* ui waits on mid: chain */
    EXPECT_EQ(mid.eff, QOS_USER_INTERACTIVE);
    EXPECT_EQ(bg.eff, QOS_USER_INTERACTIVE);
    EXPECT_EQ(bg.lent[QOS_USER_INTERACTIVE], 1);
    EXPECT_EQ(bg.lent[QOS_UTILITY], 0);
    EXPECT_EQ(sched_qos_block(&bg, &ui), SCHED_QOS_EDEADLK);   /* a cycle is refused */
    EXPECT_TRUE(bg.waits_for == NULL);
    sched_qos_unblock(&ui);                        /* ui timed out */
    EXPECT_EQ(mid.eff, QOS_UTILITY);
    EXPECT_EQ(bg.eff, QOS_UTILITY);
    sched_qos_unblock(&mid);                       /* bg released: back to its own */
    EXPECT_EQ(bg.eff, QOS_BACKGROUND);
    sched_qos_unblock(&mid);                       /* not waiting: no-op */
    EXPECT_EQ(bg.eff, QOS_BACKGROUND);
}

TEST(sched_qos, several_waiters_and_app_switch_along_a_chain)
{
    struct sched_app app = {true};
    struct sched_qos_task a, b, holder;
    sched_qos_init(&a, QOS_USER_INTERACTIVE, &app, false);
    sched_qos_init(&b, QOS_USER_INITIATED, NULL, false);
    sched_qos_init(&holder, QOS_BACKGROUND, NULL, false);
    sched_qos_block(&a, &holder);
    sched_qos_block(&b, &holder);
    EXPECT_EQ(holder.eff, QOS_USER_INTERACTIVE);
    app.foreground = false;                        /* a drops to utility */
    EXPECT_TRUE(sched_qos_refresh(&a));
    EXPECT_EQ(holder.eff, QOS_USER_INITIATED);     /* b still lends */
    sched_qos_unblock(&b);
    EXPECT_EQ(holder.eff, QOS_UTILITY);
    sched_qos_block(&a, &b);                       /* re-blocking moves the loan */
    EXPECT_EQ(holder.eff, QOS_BACKGROUND);
    EXPECT_EQ(b.eff, QOS_USER_INITIATED);          /* own is higher than the loan */
}

TEST(sched_qos, background_root_of_a_chain_still_lends_its_lowered_class)
{
    struct sched_app app = {true};
    struct sched_qos_task ui, a, b;
    sched_qos_init(&ui, QOS_USER_INTERACTIVE, &app, false);
    sched_qos_init(&a, QOS_BACKGROUND, NULL, false);
    sched_qos_init(&b, QOS_BACKGROUND, NULL, false);
    EXPECT_EQ(sched_qos_block(&a, &b), 0);
    EXPECT_EQ(sched_qos_block(&ui, &a), 0);
    EXPECT_EQ(b.eff, QOS_USER_INTERACTIVE);
    app.foreground = false;                 /* the waiter's app goes to the back */
    EXPECT_TRUE(sched_qos_refresh(&ui));
    EXPECT_EQ(a.eff, SCHED_BG_APP_QOS);
    EXPECT_EQ(b.eff, SCHED_BG_APP_QOS);
    EXPECT_EQ(b.lent[SCHED_BG_APP_QOS], 1);
    EXPECT_EQ(b.lent[QOS_USER_INTERACTIVE], 0);
    EXPECT_EQ(sched_qos_block(&b, &b), SCHED_QOS_EDEADLK);   /* itself */
    EXPECT_EQ(sched_qos_block(&b, NULL), SCHED_QOS_EINVAL);
    EXPECT_TRUE(b.waits_for == NULL);
}
