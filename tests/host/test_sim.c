/*
 * The scheduling simulator (tools/sim) on tiny hand-checked workloads: its
 * loaders' errors, exact frame/latency/energy accounting, inheritance against
 * a policy without it, deadline admission and the app switch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sim.h>

#include "host_test.h"

/* Writes text to a fresh temporary file; returns its path (static buffer per slot). */
static const char *temp_file(int slot, const char *text)
{
    static char paths[4][64];
    snprintf(paths[slot], sizeof(paths[slot]), "/tmp/sr-sim-test-XXXXXX");
    int fd = mkstemp(paths[slot]);
    if (fd < 0) {
        test_fail(__FILE__, __LINE__, "mkstemp failed");
        return "/nonexistent";
    }
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len)
        test_fail(__FILE__, __LINE__, "write failed");
    close(fd);
    return paths[slot];
}

static const char rk3399[] =
    "name rk3399\n"
    "cpu arm,cortex-a53 dmips=485 power=100 cluster=0 count=4\n"
    "cpu arm,cortex-a72 dmips=1024 power=436 cluster=1 count=2\n";

static bool load(struct sim_config *c, const char *cfg, struct sim_scenario *s, const char *scn)
{
    char err[256];
    const char *cp = temp_file(0, cfg), *sp = temp_file(1, scn);
    int rc = sim_load_config(cp, c, err, sizeof(err));
    if (rc == 0)
        rc = sim_load_scenario(sp, s, err, sizeof(err));
    unlink(cp);
    unlink(sp);
    if (rc)
        test_fail(__FILE__, __LINE__, "load: %s", err);
    return rc == 0;
}

static void run(const struct sim_config *c, const struct sim_scenario *s, const char *policy,
                struct sim_result *r)
{
    const struct sim_policy *p = sim_policy_find(policy);
    EXPECT_TRUE(p != NULL);
    sim_run(c, s, p, 1, r);
}

TEST(sim, loaders_name_file_line_and_reason)
{
    static struct sim_config c;
    static struct sim_scenario s;
    char err[256];
    const char *p = temp_file(2, "name x\ncpu arm,cortex-a53 speed=3\n");
    EXPECT_EQ(sim_load_config(p, &c, err, sizeof(err)), -1);
    EXPECT_CONTAINS(err, ":2: unknown cpu field 'speed=3'");
    unlink(p);
    p = temp_file(2, "name x\nduration_ms 10\ntask a qos=urgent ops=run:5\n");
    EXPECT_EQ(sim_load_scenario(p, &s, err, sizeof(err)), -1);
    EXPECT_CONTAINS(err, ":3: qos 'urgent'");
    unlink(p);
    p = temp_file(2, "name x\nduration_ms 10\ntask a ops=run:5,wake:b\n");
    EXPECT_EQ(sim_load_scenario(p, &s, err, sizeof(err)), -1);
    EXPECT_CONTAINS(err, "wake:b needs a task with trigger=woken");
    unlink(p);
    p = temp_file(2, "name x\nduration_ms 10\ntask a trigger=periodic ops=run:5\n");
    EXPECT_EQ(sim_load_scenario(p, &s, err, sizeof(err)), -1);
    EXPECT_CONTAINS(err, "periodic needs period_us");
    unlink(p);
    EXPECT_EQ(sim_load_scenario("/nonexistent/x.scn", &s, err, sizeof(err)), -1);
    EXPECT_CONTAINS(err, "cannot open");
}

TEST(sim, periodic_frame_exact_accounting)
{
    static struct sim_config c;
    static struct sim_scenario s;
    if (!load(&c, rk3399, &s,
              "name one\nduration_ms 1000\n"
              "task ui qos=ui trigger=periodic period_us=10000 frame frame_end ops=run:2000\n"))
        return;
    struct sim_result r;
    run(&c, &s, "sr", &r);
    EXPECT_EQ(r.frames, 100);
    EXPECT_EQ(r.frames_missed, 0);
    EXPECT_EQ(r.wake[QOS_USER_INTERACTIVE].n, 100);
    for (int i = 0; i < r.wake[QOS_USER_INTERACTIVE].n; i++)
        EXPECT_EQ(r.wake[QOS_USER_INTERACTIVE].v[i], SIM_SWITCH_NS);
    EXPECT_EQ(r.work_ns, 100 * 2 * MS);
    /* Every frame on a big core (A72: 1130.112 mW): busy = 100 x (2 ms + switch). */
    uint64_t busy = 100 * (2 * MS + SIM_SWITCH_NS);
    EXPECT_EQ(r.busy_ns, busy);
    EXPECT_EQ(r.core_busy_ns[4] + r.core_busy_ns[5], busy);
    EXPECT_EQ((uint64_t)(r.energy_j * 1e15 + 0.5), busy * 1130112);
    EXPECT_EQ(r.migrations, 0);
    sim_result_free(&r);
}

/* RK3399 with its DT's operating points (Debian's rk3399-rockpro64.dtb). */
static const char rk3399_dvfs[] =
    "name rk3399\n"
    "cpu arm,cortex-a53 dmips=485 power=100 cluster=0 count=4 "
    "opps=408:825,600:825,816:850,1008:925,1200:1000,1416:1125\n"
    "cpu arm,cortex-a72 dmips=1024 power=436 cluster=1 count=2 "
    "opps=408:825,600:825,816:825,1008:875,1200:950,1416:1025,1608:1100,1800:1200\n";

TEST(sim, dvfs_frames_run_at_the_ui_floor_opp)
{
    static struct sim_config c;
    static struct sim_scenario s;
    if (!load(&c, rk3399_dvfs, &s,
              "name one\nduration_ms 1000\n"
              "task ui qos=ui trigger=periodic period_us=10000 frame frame_end ops=run:2000\n"))
        return;
    EXPECT_EQ(c.model.core[4].nopps, 8);
    EXPECT_EQ(c.model.core[5].domain, 4);
    struct sim_result r;
    run(&c, &s, "sr", &r);
    EXPECT_EQ(r.frames, 100);
    EXPECT_EQ(r.frames_missed, 0);
    EXPECT_EQ(r.work_ns, 100 * 2 * MS);
    /* The UI floor (576) puts the A72s at 1200 MHz (capacity 683, 472.188 mW):
     * 2 ms of work takes 2 ms x 1024 / 683, rounded up, plus the switch. */
    uint64_t wall = (2 * MS * 1024 + 682) / 683;
    uint64_t busy = 100 * (wall + SIM_SWITCH_NS);
    EXPECT_EQ(r.busy_ns, busy);
    EXPECT_EQ((uint64_t)(r.energy_j * 1e15 + 0.5), busy * 472188);
    sim_result_free(&r);
}

TEST(sim, dvfs_background_capped_at_the_efficient_opp_baselines_not)
{
    static struct sim_config c;
    static struct sim_scenario s;
    if (!load(&c, rk3399_dvfs, &s,
              "name hog\nduration_ms 1000\ntask hog qos=bg trigger=hog ops=run:10000\n"))
        return;
    struct sim_result sr, fifo;
    run(&c, &s, "sr", &sr);
    run(&c, &s, "fifo", &fifo);
    /* sr: on an A53, never above 600 MHz (capacity 162), where 408 and 600 MHz
     * share 825 mV: every joule buys work at 40838 uW per 162 of capacity. */
    EXPECT_LE(sr.work_ns, 1000 * MS * 162 / 1024);
    EXPECT_EQ(sr.busy_ns, 1000 * MS);
    double jw = sr.energy_j / ((double)sr.work_ns / 1e9);
    EXPECT_TRUE(jw > 0.99 * 40.838e-3 * 1024 / 162 && jw < 1.01 * 40.838e-3 * 1024 / 162);
    /* fifo (no clamps): the hog's utilisation drives its core to the top OPP
     * (where the A53 does 382 and costs 179.213 mW), so it does more work at
     * a higher price per unit. */
    EXPECT_GT(fifo.work_ns, 2 * sr.work_ns);
    EXPECT_TRUE(fifo.energy_j / ((double)fifo.work_ns / 1e9) > 1.5 * jw);
    sim_result_free(&sr);
    sim_result_free(&fifo);
}

/* Default-class hogs, one per core: SR caps them on the A72s at their frugal
 * OPP (816 MHz: no dearer per unit of work than an A53 at its top, within
 * the fit margin) while the A53s run at their top; qos_pinned (no clamps)
 * drives the A72s to 1800 MHz. */
TEST(sim, dvfs_default_work_on_big_cores_at_most_at_the_frugal_opp)
{
    static struct sim_config c;
    static struct sim_scenario s;
    if (!load(&c, rk3399_dvfs, &s,
              "name hogs\nduration_ms 1000\n"
              "task hog qos=default trigger=hog count=6 ops=run:10000\n"))
        return;
    EXPECT_EQ(c.model.core[4].frugal, 2);
    struct sim_result sr, pinned;
    run(&c, &s, "sr", &sr);
    run(&c, &s, "qos_pinned", &pinned);
    uint64_t sr_above = 0, sr_at = 0, pinned_top = 0, sr_little_top = 0;
    for (int cpu = 4; cpu < 6; cpu++) {
        for (int k = 3; k < 8; k++)
            sr_above += sr.by[cpu][k][QOS_DEFAULT].busy_ns;
        sr_at += sr.by[cpu][2][QOS_DEFAULT].busy_ns;
        pinned_top += pinned.by[cpu][7][QOS_DEFAULT].busy_ns;
    }
    for (int cpu = 0; cpu < 4; cpu++)
        sr_little_top += sr.by[cpu][5][QOS_DEFAULT].busy_ns;
    EXPECT_EQ(sr_above, 0);
    EXPECT_GT(sr_at, 2 * 800 * MS);           /* there once the utilisation has grown */
    EXPECT_GT(sr_little_top, 4 * 700 * MS);   /* the A53s are not capped */
    EXPECT_GT(pinned_top, 2 * 700 * MS);
    EXPECT_EQ(sr.busy_ns, 6 * 1000 * MS);     /* every core busy all along */
    /* Less work, each unit of it cheaper. */
    EXPECT_LT(sr.work_ns, pinned.work_ns);
    EXPECT_TRUE(sr.energy_j / (double)sr.work_ns < pinned.energy_j / (double)pinned.work_ns);
    sim_result_free(&sr);
    sim_result_free(&pinned);
}

TEST(sim, opps_loader_errors)
{
    static struct sim_config c;
    char err[256];
    const char *p = temp_file(2, "name x\ncpu arm,cortex-a53 opps=600:825,408:825\n");
    EXPECT_EQ(sim_load_config(p, &c, err, sizeof(err)), -1);
    EXPECT_CONTAINS(err, ":2: opps: 408 MHz: frequencies must ascend");
    unlink(p);
    p = temp_file(2, "name x\ncpu arm,cortex-a53 opps=600-825\n");
    EXPECT_EQ(sim_load_config(p, &c, err, sizeof(err)), -1);
    EXPECT_CONTAINS(err, ":2: opps: expected MHZ:MV");
    unlink(p);
}

TEST(sim, frame_chain_misses_when_it_cannot_fit)
{
    static struct sim_config c;
    static struct sim_scenario s;
    /* 6 + 6 ms of work every 10 ms, chained: each frame ends 12 ms after
     * release; the last one (released at 990 ms) is not due before the end. */
    if (!load(&c, rk3399, &s,
              "name chain\nduration_ms 1000\n"
              "task a qos=ui trigger=periodic period_us=10000 frame ops=run:6000,wake:b\n"
              "task b qos=ui frame_end ops=run:6000\n"))
        return;
    struct sim_result r;
    run(&c, &s, "sr", &r);
    EXPECT_EQ(r.frames, 100);
    EXPECT_EQ(r.frames_missed, 99);
    sim_result_free(&r);
}

static const char inversion[] =
    "name inv\nduration_ms 1000\n"
    "task ui qos=ui trigger=periodic period_us=16667 phase_us=2000 frame frame_end "
    "ops=lock:0,run:300,unlock:0,run:1000\n"
    "task logger qos=bg trigger=hog ops=lock:0,run:1500,unlock:0,run:3000\n"
    "task hog qos=default trigger=hog phase_us=1000 count=8 ops=run:10000\n";

TEST(sim, inheritance_bounds_the_inversion)
{
    static struct sim_config c;
    static struct sim_scenario s;
    if (!load(&c, rk3399, &s, inversion))
        return;
    struct sim_result sr, pinned;
    run(&c, &s, "sr", &sr);
    run(&c, &s, "qos_pinned", &pinned);
    EXPECT_EQ(sr.frames_missed, 0);
    /* The boosted logger finishes at most 1.5 ms of work on a big core. */
    EXPECT_LE(sr.inversion_max_ns, 1500 * US + 2 * SIM_SWITCH_NS);
    EXPECT_GT(sr.inversion_max_ns, 0);
    /* Without inheritance the logger never runs again: the UI waits to the end. */
    EXPECT_GE(pinned.inversion_max_ns, 990 * MS);
    EXPECT_GE(pinned.frames_missed, pinned.frames - 1);
    sim_result_free(&sr);
    sim_result_free(&pinned);
}

TEST(sim, deadline_admission_refuses_overload_and_meets_deadlines)
{
    static struct sim_config c;
    static struct sim_scenario s;
    if (!load(&c, "name one\ncpu arm,cortex-a72 dmips=1024 power=436 count=1\n", &s,
              "name dl\nduration_ms 500\n"
              "task a qos=ui trigger=periodic period_us=10000 deadline budget_us=6000 ops=run:5000\n"
              "task b qos=ui trigger=periodic period_us=10000 deadline budget_us=6000 ops=run:5000\n"
              "task hog qos=ui trigger=hog ops=run:10000\n"))
        return;
    struct sim_result r;
    run(&c, &s, "sr", &r);
    EXPECT_EQ(r.audio_refused, 1);
    EXPECT_CONTAINS(r.refused_why, "b: deadline overload");
    /* b runs as plain UI work, round robin with the hog: it misses; a never. */
    EXPECT_GT(r.audio_misses, 0);
    sim_result_free(&r);
    if (!load(&c, "name one\ncpu arm,cortex-a72 dmips=1024 power=436 count=1\n", &s,
              "name dl\nduration_ms 500\n"
              "task a qos=bg trigger=periodic period_us=10000 deadline budget_us=6000 ops=run:5000\n"
              "task hog qos=ui trigger=hog ops=run:10000\n"))
        return;
    run(&c, &s, "sr", &r);
    EXPECT_EQ(r.audio_refused, 0);
    EXPECT_EQ(r.audio_misses, 0);          /* EDF beats the UI hog */
    EXPECT_EQ(r.audio_overruns, 0);
    sim_result_free(&r);
    run(&c, &s, "qos_pinned", &r);
    EXPECT_EQ(r.audio_misses, 50);         /* as a background task it never runs */
    sim_result_free(&r);
}

TEST(sim, background_app_moves_to_efficiency_cores)
{
    static struct sim_config c;
    static struct sim_scenario s;
    if (!load(&c, rk3399, &s,
              "name switch\nduration_ms 1000\napp game fg\n"
              "task work qos=uin app=game trigger=hog ops=run:10000\n"
              "event at_ms=500 app=game state=bg\n"))
        return;
    struct sim_result r;
    run(&c, &s, "sr", &r);
    uint64_t little = r.core_busy_ns[0] + r.core_busy_ns[1] + r.core_busy_ns[2] +
                      r.core_busy_ns[3];
    uint64_t big = r.core_busy_ns[4] + r.core_busy_ns[5];
    EXPECT_EQ(big + little, 1000 * MS);
    EXPECT_EQ(big, 500 * MS);              /* foreground: a performance core */
    EXPECT_EQ(r.migrations, 1);            /* one down-migration at the switch */
    sim_result_free(&r);
}

TEST(sim, configuration_from_a_board_dtb)
{
    static struct sim_config c;
    char err[256], text[512];
    snprintf(text, sizeof(text), "name bl\ndtb %s\n", host_fixture_path("qemu-virt-bl.dtb"));
    const char *p = temp_file(2, text);
    EXPECT_EQ(sim_load_config(p, &c, err, sizeof(err)), 0);
    unlink(p);
    EXPECT_EQ(c.model.ncores, 8);
    EXPECT_EQ(c.model.nlevels, 2);
    EXPECT_EQ(c.model.core[0].capacity, 398);   /* A55 530 DMIPS/MHz x 1800 MHz vs A76 1024 x 2400 */
    EXPECT_EQ(c.model.core[7].capacity, 1024);
    EXPECT_EQ(c.model.core[0].level, 1);
    EXPECT_EQ(c.model.core[7].cluster, 1);
    p = temp_file(2, "name bl\ndtb /nonexistent.dtb\n");
    EXPECT_EQ(sim_load_config(p, &c, err, sizeof(err)), -1);
    EXPECT_CONTAINS(err, ":2: dtb /nonexistent.dtb: cannot open");
    unlink(p);
}
