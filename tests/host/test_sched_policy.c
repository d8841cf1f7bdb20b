/* Placement, preemption, class choice, stealing and active migration. */
#include <kernel/sched_policy.h>
#include <sr_test.h>

#include "sched_fixture.h"

#define MS 1000000ull
#define LITTLE0 0
#define BIG0 4
#define BIG1 5

static struct sched_task_view task(unsigned q, uint32_t util)
{
    return (struct sched_task_view){.qos = (uint8_t)q, .util = util, .prev_cpu = -1};
}

TEST(sched_policy, interactive_goes_to_an_idle_performance_core)
{
    struct sched_core_model m;
    struct sched_core_view v[6];
    sched_fixture_model(rk3399_spec, 6, &m);
    sched_fixture_idle(v, 6);
    struct sched_task_view t = task(QOS_USER_INTERACTIVE, 100);
    EXPECT_EQ(sched_policy_place(&m, v, &t, 0), BIG0);
    EXPECT_EQ(sched_policy_place(&m, v, &t, BIG1), BIG1);     /* tie: caller's core */
    t.prev_cpu = BIG1;
    EXPECT_EQ(sched_policy_place(&m, v, &t, BIG0), BIG1);     /* tie: previous core first */
    t = task(QOS_USER_INITIATED, 100);
    EXPECT_EQ(sched_policy_place(&m, v, &t, 0), BIG0);
}

TEST(sched_policy, interactive_preempts_background_on_a_big_core_before_an_idle_little)
{
    struct sched_core_model m;
    struct sched_core_view v[6];
    sched_fixture_model(rk3399_spec, 6, &m);
    sched_fixture_idle(v, 6);
    sched_fixture_run(v, BIG0, QOS_BACKGROUND, 900);
    sched_fixture_run(v, BIG1, QOS_DEFAULT, 300);
    struct sched_task_view t = task(QOS_USER_INTERACTIVE, 200);
    EXPECT_EQ(sched_policy_place(&m, v, &t, 0), BIG0);
    /* Both big cores run interactive work: an idle little core starts it at once. */
    sched_fixture_run(v, BIG0, QOS_USER_INTERACTIVE, 0);
    sched_fixture_run(v, BIG1, QOS_USER_INTERACTIVE, 0);
    EXPECT_EQ(sched_policy_place(&m, v, &t, 2), 2);
    /* A task too big for a little core still prefers one where it starts at once. */
    t.util = 900;
    EXPECT_EQ(sched_policy_place(&m, v, &t, 3), 3);
}

TEST(sched_policy, interactive_queues_on_the_least_loaded_big_core_when_all_busy)
{
    struct sched_core_model m;
    struct sched_core_view v[6];
    sched_fixture_model(rk3399_spec, 6, &m);
    sched_fixture_idle(v, 6);
    for (int c = 0; c < 6; c++)
        sched_fixture_run(v, c, QOS_USER_INTERACTIVE, 100);
    sched_fixture_queue(v, BIG0, QOS_USER_INTERACTIVE, 100);
    struct sched_task_view t = task(QOS_USER_INTERACTIVE, 100);
    EXPECT_EQ(sched_policy_place(&m, v, &t, 0), BIG1);
}

TEST(sched_policy, background_stays_on_efficiency_cores_until_saturated)
{
    struct sched_core_model m;
    struct sched_core_view v[6];
    sched_fixture_model(rk3399_spec, 6, &m);
    sched_fixture_idle(v, 6);
    for (int c = 0; c < 4; c++)
        sched_fixture_run(v, c, QOS_BACKGROUND, 485);
    struct sched_task_view t = task(QOS_BACKGROUND, 300);
    int c = sched_policy_place(&m, v, &t, BIG0);
    EXPECT_LT(c, 4);                        /* queued on a little core, bigs idle */
    for (int i = 0; i < 4; i++) {
        sched_fixture_queue(v, i, QOS_BACKGROUND, 485);
        EXPECT_LT(sched_policy_place(&m, v, &t, BIG0), 4);
    }
    for (int i = 0; i < 4; i++)             /* now 2 waiting on each: saturated */
        sched_fixture_queue(v, i, QOS_BACKGROUND, 485);
    EXPECT_EQ(sched_policy_place(&m, v, &t, BIG1), BIG1);
    t.affinity = 1u << LITTLE0;             /* affinity still wins */
    EXPECT_EQ(sched_policy_place(&m, v, &t, BIG1), LITTLE0);
    t.affinity = 1u << 9;                   /* no such core */
    EXPECT_EQ(sched_policy_place(&m, v, &t, BIG1), -1);
}

TEST(sched_policy, default_by_fit_then_energy)
{
    struct sched_core_model m;
    struct sched_core_view v[6];
    sched_fixture_model(rk3399_spec, 6, &m);
    sched_fixture_idle(v, 6);
    struct sched_task_view t = task(QOS_DEFAULT, 200);
    EXPECT_LT(sched_policy_place(&m, v, &t, BIG0), 4);      /* fits a little: cheaper */
    t.util = 450;                                            /* 450 x 1.25 > 485 */
    EXPECT_GE(sched_policy_place(&m, v, &t, 0), 4);
    t.util = 200;                                            /* little cores loaded */
    for (int c = 0; c < 4; c++)
        sched_fixture_run(v, c, QOS_DEFAULT, 100);
    EXPECT_GE(sched_policy_place(&m, v, &t, 0), 4);         /* runs at once on a big */
    t = task(QOS_UTILITY, 100);
    EXPECT_GE(sched_policy_place(&m, v, &t, 0), 4);         /* utility too */
    sched_fixture_run(v, BIG0, QOS_DEFAULT, 100);
    sched_fixture_run(v, BIG1, QOS_DEFAULT, 100);
    EXPECT_LT(sched_policy_place(&m, v, &t, BIG0), 4);      /* queue on the cheapest fit */
    for (int c = 0; c < 4; c++)
        v[c].util_at[QOS_DEFAULT] = 400;
    EXPECT_GE(sched_policy_place(&m, v, &t, 0), 4);         /* littles full: a big */
}

TEST(sched_policy, fit_ignores_lower_classes_that_give_way)
{
    struct sched_core_model m;
    struct sched_core_view v[6];
    sched_fixture_model(rk3399_spec, 6, &m);
    sched_fixture_idle(v, 6);
    for (int c = 0; c < 4; c++)                              /* a background hog each */
        sched_fixture_run(v, c, QOS_BACKGROUND, 485);
    struct sched_task_view t = task(QOS_DEFAULT, 200);
    EXPECT_LT(sched_policy_place(&m, v, &t, BIG0), 4);      /* preempts a hog: cheaper */
    EXPECT_EQ(sched_view_util(&v[0], QOS_DEFAULT), 0);
    EXPECT_EQ(sched_view_util(&v[0], QOS_BACKGROUND), 485);
    for (int c = 0; c < 4; c++)                              /* now default work there too */
        sched_fixture_queue(v, c, QOS_DEFAULT, 250);
    EXPECT_GE(sched_policy_place(&m, v, &t, 0), 4);
}

TEST(sched_policy, offline_and_uniform_cores)
{
    const struct cpu_spec spec[3] = {
        {"arm,cortex-a53", 0, 0, 0}, {"arm,cortex-a53", 0, 0, 0}, {"arm,cortex-a53", 0, 0, 0}};
    struct sched_core_model m;
    struct sched_core_view v[3];
    sched_fixture_model(spec, 3, &m);
    sched_fixture_idle(v, 3);
    v[0].online = false;
    sched_fixture_run(v, 1, QOS_DEFAULT, 100);
    struct sched_task_view t = task(QOS_BACKGROUND, 100);
    EXPECT_EQ(sched_policy_place(&m, v, &t, 0), 2);
    sched_fixture_run(v, 2, QOS_DEFAULT, 100);
    sched_fixture_queue(v, 2, QOS_DEFAULT, 100);
    EXPECT_EQ(sched_policy_place(&m, v, &t, 0), 1);
}

TEST(sched_policy, preemption_order)
{
    struct sched_prio idle = {QOS_COUNT, false, 0};
    struct sched_prio bg = {QOS_BACKGROUND, false, 0};
    struct sched_prio ui = {QOS_USER_INTERACTIVE, false, 0};
    struct sched_prio dl1 = {QOS_USER_INTERACTIVE, true, 10 * MS};
    struct sched_prio dl2 = {QOS_USER_INTERACTIVE, true, 20 * MS};
    EXPECT_TRUE(sched_policy_preempts(&bg, &idle));
    EXPECT_TRUE(sched_policy_preempts(&ui, &bg));
    EXPECT_TRUE(!sched_policy_preempts(&bg, &ui));
    EXPECT_TRUE(!sched_policy_preempts(&ui, &ui));          /* same class: slices */
    EXPECT_TRUE(sched_policy_preempts(&dl2, &ui));
    EXPECT_TRUE(!sched_policy_preempts(&ui, &dl2));
    EXPECT_TRUE(sched_policy_preempts(&dl1, &dl2));         /* EDF */
    EXPECT_TRUE(!sched_policy_preempts(&dl2, &dl1));
}

TEST(sched_policy, pick_class_with_starvation_bounds)
{
    uint64_t since[QOS_COUNT] = {0};
    uint32_t mask = (1u << QOS_USER_INTERACTIVE) | (1u << QOS_UTILITY) | (1u << QOS_BACKGROUND);
    EXPECT_EQ(sched_policy_pick_class(0, since, 0), -1);
    since[QOS_UTILITY] = 100 * MS;
    since[QOS_BACKGROUND] = 100 * MS;
    EXPECT_EQ(sched_policy_pick_class(mask, since, 150 * MS), QOS_USER_INTERACTIVE);
    EXPECT_EQ(sched_policy_pick_class(mask, since, 150 * MS + 1), QOS_UTILITY);
    since[QOS_UTILITY] = 190 * MS;
    EXPECT_EQ(sched_policy_pick_class(mask, since, 200 * MS), QOS_USER_INTERACTIVE);
    EXPECT_EQ(sched_policy_pick_class(mask, since, 200 * MS + 1), QOS_BACKGROUND);
    EXPECT_EQ(sched_policy_starvation_bound(QOS_USER_INTERACTIVE), 0);
    EXPECT_EQ(sched_policy_starvation_bound(QOS_BACKGROUND), 100 * MS);
    EXPECT_EQ(sched_policy_starvation_bound(QOS_COUNT), 0);
}

TEST(sched_policy, steal_highest_class_and_background_only_when_saturated)
{
    struct sched_core_model m;
    struct sched_core_view v[6];
    sched_fixture_model(rk3399_spec, 6, &m);
    sched_fixture_idle(v, 6);
    sched_fixture_run(v, 0, QOS_BACKGROUND, 400);
    sched_fixture_queue(v, 0, QOS_BACKGROUND, 400);
    struct sched_steal s = sched_policy_steal(&m, v, BIG0);
    EXPECT_EQ(s.victim, -1);                         /* one waiting: not saturated */
    s = sched_policy_steal(&m, v, 1);
    EXPECT_EQ(s.victim, 0);                          /* a little core takes it */
    EXPECT_EQ(s.qos, QOS_BACKGROUND);
    sched_fixture_queue(v, 0, QOS_BACKGROUND, 400);
    s = sched_policy_steal(&m, v, BIG0);
    EXPECT_EQ(s.victim, 0);
    sched_fixture_run(v, 2, QOS_DEFAULT, 400);
    sched_fixture_queue(v, 2, QOS_USER_INITIATED, 100);
    s = sched_policy_steal(&m, v, BIG0);
    EXPECT_EQ(s.victim, 0);                          /* it preempts on core 2 at once */
    sched_fixture_run(v, 2, QOS_USER_INTERACTIVE, 400);
    s = sched_policy_steal(&m, v, BIG0);
    EXPECT_EQ(s.victim, 2);                          /* waiting: user-initiated first */
    EXPECT_EQ(s.qos, QOS_USER_INITIATED);
    s = sched_policy_steal(&m, v, 2);                /* never from itself */
    EXPECT_EQ(s.victim, 0);
}

TEST(sched_policy, pull_running_misfit_up_and_low_class_down)
{
    struct sched_core_model m;
    struct sched_core_view v[6];
    sched_fixture_model(rk3399_spec, 6, &m);
    sched_fixture_idle(v, 6);
    sched_fixture_run(v, 1, QOS_DEFAULT, 300);       /* fits: stays */
    EXPECT_EQ(sched_policy_pull_running(&m, v, BIG0), -1);
    v[1].cur_util = 420;                             /* 420 x 1.25 > 485: misfit */
    EXPECT_EQ(sched_policy_pull_running(&m, v, BIG0), 1);
    EXPECT_EQ(sched_policy_pull_running(&m, v, 2), -1);   /* not to a core as small */
    v[1].cur_qos = QOS_BACKGROUND;                   /* background does not go up */
    EXPECT_EQ(sched_policy_pull_running(&m, v, BIG0), -1);
    sched_fixture_run(v, BIG1, QOS_UTILITY, 100);    /* low class on a big core: down */
    EXPECT_EQ(sched_policy_pull_running(&m, v, 3), BIG1);
    v[BIG1].cur_dl = true;                           /* deadline tasks stay */
    EXPECT_EQ(sched_policy_pull_running(&m, v, 3), -1);
}

TEST(sched_policy, deadline_work_is_not_preempted_by_placement)
{
    struct sched_core_model m;
    struct sched_core_view v[6];
    sched_fixture_model(rk3399_spec, 6, &m);
    sched_fixture_idle(v, 6);
    sched_fixture_run(v, BIG0, QOS_BACKGROUND, 100);
    v[BIG0].cur_dl = true;                  /* a deadline task of background class */
    sched_fixture_run(v, BIG1, QOS_UTILITY, 100);
    struct sched_task_view t = task(QOS_USER_INTERACTIVE, 100);
    EXPECT_EQ(sched_policy_place(&m, v, &t, BIG0), BIG1);
    /* Same class waiting already: the newcomer would queue, so an idle little wins. */
    sched_fixture_queue(v, BIG1, QOS_USER_INTERACTIVE, 100);
    int c = sched_policy_place(&m, v, &t, BIG0);
    EXPECT_LT(c, 4);
}

TEST(sched_policy, interactive_is_never_overdue_and_lone_classes_run)
{
    uint64_t since[QOS_COUNT] = {0};
    EXPECT_EQ(sched_policy_pick_class(1u << QOS_BACKGROUND, since, 1000 * MS), QOS_BACKGROUND);
    EXPECT_EQ(sched_policy_pick_class(1u << QOS_USER_INTERACTIVE, since, 1000 * MS),
              QOS_USER_INTERACTIVE);
    /* Two overdue classes: the higher one first. */
    uint32_t mask = (1u << QOS_USER_INTERACTIVE) | (1u << QOS_DEFAULT) | (1u << QOS_BACKGROUND);
    EXPECT_EQ(sched_policy_pick_class(mask, since, 1000 * MS), QOS_DEFAULT);
    /* Bits beyond the classes are ignored. */
    EXPECT_EQ(sched_policy_pick_class(1u << 7, since, 0), -1);
}

TEST(sched_policy, three_levels_background_spills_to_the_cheapest_larger_core)
{
    const struct cpu_spec spec[4] = {
        {"arm,cortex-x1", 1024, 0, 0}, {"arm,cortex-a78", 800, 0, 1},
        {"arm,cortex-a55", 400, 0, 2}, {"arm,cortex-a55", 400, 0, 2}};
    struct sched_core_model m;
    struct sched_core_view v[4];
    sched_fixture_model(spec, 4, &m);
    sched_fixture_idle(v, 4);
    struct sched_task_view t = task(QOS_BACKGROUND, 50);
    EXPECT_EQ(sched_policy_place(&m, v, &t, 0), 2);   /* lowest level, lowest id */
    t = task(QOS_UTILITY, 50);
    EXPECT_GE(sched_policy_place(&m, v, &t, 0), 2);   /* least energy per work */
    t = task(QOS_USER_INITIATED, 50);
    EXPECT_EQ(sched_policy_place(&m, v, &t, 3), 0);   /* the largest */
    struct sched_steal s = sched_policy_steal(&m, v, 1);
    EXPECT_EQ(s.victim, -1);                          /* nothing waits anywhere */
    for (int c = 2; c < 4; c++) {                     /* saturate the little cores */
        sched_fixture_run(v, c, QOS_BACKGROUND, 400);
        sched_fixture_queue(v, c, QOS_BACKGROUND, 400);
        sched_fixture_queue(v, c, QOS_BACKGROUND, 400);
    }
    t = task(QOS_BACKGROUND, 50);
    EXPECT_EQ(sched_policy_place(&m, v, &t, 0), 1);   /* the mid core costs less than X1 */
}

/* Random snapshots: every answer is a legal one. */
TEST(sched_policy, random_views_give_legal_answers)
{
    uint64_t seed = 0x51ed;
    for (int round = 0; round < 20000; round++) {
        int n = 1 + (int)(seed % 8);
        struct cpu_spec spec[8];
        for (int i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            spec[i] = (struct cpu_spec){"arm,cortex-a55", 300 + (uint32_t)((seed >> 33) % 3) * 350,
                                        (uint32_t)((seed >> 40) % 500), i % 3};
        }
        struct sched_core_model m;
        struct sched_core_view v[8];
        sched_fixture_model(spec, n, &m);
        sched_fixture_idle(v, n);
        for (int i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            v[i].online = (seed >> 20) % 5 != 0;
            if ((seed >> 24) % 3)
                sched_fixture_run(v, i, (unsigned)((seed >> 28) % QOS_COUNT),
                                  (uint32_t)((seed >> 32) % 1100));
            for (unsigned k = 0; k < (seed >> 44) % 4; k++)
                sched_fixture_queue(v, i, (unsigned)((seed >> (48 + k)) % QOS_COUNT), 100);
            v[i].cur_dl = v[i].cur_qos < QOS_COUNT && (seed >> 56) % 7 == 0;
        }
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        struct sched_task_view t = {(uint8_t)((seed >> 20) % QOS_COUNT), (uint32_t)((seed >> 24) % 1100),
                                    (uint32_t)((seed >> 36) % 256), (int)((seed >> 48) % 9) - 1};
        int me = (int)((seed >> 52) % (unsigned)n);
        int c = sched_policy_place(&m, v, &t, me);
        bool any = false;
        for (int i = 0; i < n; i++)
            any = any || (v[i].online && (!t.affinity || (t.affinity & (1u << i))));
        if (!any) {
            EXPECT_EQ(c, -1);
        } else {
            EXPECT_TRUE(c >= 0 && c < n && v[c].online);
            if (c >= 0 && t.affinity)
                EXPECT_TRUE(t.affinity & (1u << c));
        }
        struct sched_steal s = sched_policy_steal(&m, v, me);
        if (s.victim >= 0) {
            EXPECT_TRUE(s.victim != me && v[s.victim].online);
            EXPECT_TRUE(v[s.victim].ready_mask & (1u << s.qos));
        }
        int p = sched_policy_pull_running(&m, v, me);
        if (p >= 0) {
            EXPECT_TRUE(p != me && v[p].online && v[p].cur_qos < QOS_COUNT && !v[p].cur_dl);
            EXPECT_NE(m.core[p].capacity, m.core[me].capacity);
        }
    }
}
