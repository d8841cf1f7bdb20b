/*
 * SR scheduling simulator: a discrete-event model of N cores with capacities
 * and power, replaying a scenario (tasks as small programs) under one policy.
 * The "sr" policy calls the image's own policy code (kernel/sched/policy*.c);
 * the baselines live in sim_policies.c. Configurations and scenarios are data
 * files (tools/sim/configs, tools/sim/scenarios), read by sim_load.c.
 *
 * Work is in capacity-invariant ns (time on a capacity-1024 core); a core at
 * an operating point of capacity c does c/1024 of it per ns (the governor in
 * sim_engine.c picks each frequency domain's OPP). Time is in ns from 0.
 */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stdint.h>

#include <kernel/sched_policy.h>

#define SIM_MAX_OPS      16
#define SIM_MAX_TEMPLATES 48
#define SIM_MAX_APPS     8
#define SIM_MAX_EVENTS   16
#define SIM_MAX_LOCKS    8
#define SIM_NAME         32
#define SIM_SLICE_NS     (4ull * 1000 * 1000)   /* SCHED_SLICE_NS of the image */
#define SIM_SWITCH_NS    (5ull * 1000)          /* cost of switching a core to another task */
#define US               1000ull
#define MS               (1000ull * 1000)

/* --- data: configurations and scenarios ------------------------------------------- */

struct sim_config {
    char name[SIM_NAME];
    int ncpus;
    struct plat_cpu cpus[PLAT_MAX_CPUS];   /* as DT discovery would leave them */
    struct sched_core_model model;
};

enum sim_op_kind { OP_RUN, OP_LOCK, OP_UNLOCK, OP_WAKE };

struct sim_op {
    enum sim_op_kind kind;
    uint64_t lo, hi;     /* RUN: work in ns, uniform in [lo, hi]; LOCK/UNLOCK: lock id */
    int target;          /* WAKE: template index */
};

enum sim_trigger {
    TRIG_WOKEN,          /* runs when another task wakes it */
    TRIG_PERIODIC,       /* released every period */
    TRIG_HOG,            /* loops forever */
    TRIG_SPAWN,          /* new instances: bursts every period, or at a rate */
};

struct sim_template {
    char name[SIM_NAME];
    uint8_t qos;
    int app;             /* -1: none */
    bool exempt;
    enum sim_trigger trigger;
    int count;           /* instances (hog, periodic, woken) */
    uint64_t period, phase;
    bool deadline;       /* asks for the deadline class (period, budget) */
    uint64_t budget;
    bool frame;          /* a release starts a frame, deadline = period */
    bool frame_end;      /* finishing an activation ends the frame */
    int burst;           /* SPAWN: instances per period */
    uint64_t rate_hz;    /* SPAWN: Poisson arrivals instead of bursts */
    int nops;
    struct sim_op ops[SIM_MAX_OPS];
};

struct sim_app_event {
    uint64_t at;
    int app;
    bool foreground;
};

struct sim_scenario {
    char name[SIM_NAME];
    uint64_t duration;
    int napps;
    char app_names[SIM_MAX_APPS][SIM_NAME];
    bool app_fg[SIM_MAX_APPS];
    int ntemplates;
    struct sim_template tpl[SIM_MAX_TEMPLATES];
    int nevents;
    struct sim_app_event events[SIM_MAX_EVENTS];
};

/* Loaders: 0 on success, else -1 with a message "file:line: why" in err. */
int sim_load_config(const char *path, struct sim_config *c, char *err, int errlen);
int sim_load_scenario(const char *path, struct sim_scenario *s, char *err, int errlen);

/* --- results --------------------------------------------------------------------- */

struct sim_samples {
    uint64_t *v;
    int n, cap;
};

struct sim_result {
    char policy[SIM_NAME], config[SIM_NAME], scenario[SIM_NAME];
    int frames, frames_missed;           /* frames = 0: no frame task */
    bool has_audio;
    int audio_misses, audio_overruns, audio_refused;
    char refused_why[160];               /* the first admission error */
    struct sim_samples wake[QOS_COUNT];  /* wake-to-run latency by own class */
    uint64_t p50[QOS_COUNT], p99[QOS_COUNT];
    double energy_j;
    uint64_t busy_ns, bg_ns, capacity_ns;
    uint64_t work_ns;                    /* work done, in ns of a capacity-1024 core */
    uint64_t core_busy_ns[PLAT_MAX_CPUS];
    /* Where the energy went: per core, operating point and own class of the
     * running task (--breakdown). Work in ns of a capacity-1024 core. */
    struct sim_share {
        uint64_t busy_ns, work_ns;
        double energy_j;
    } by[PLAT_MAX_CPUS][SCHED_MAX_OPPS][QOS_COUNT];
    bool has_bg;
    int migrations;
    bool has_lock;
    uint64_t inversion_max_ns;           /* longest wait of a user-interactive task on a lock */
    uint64_t lock_cs_max_ns;             /* longest critical section (work) in the scenario */
};

struct sim_policy;
const struct sim_policy *sim_policy_find(const char *name);
extern const char *const sim_policy_names[];
extern const int sim_policy_count;

/* Runs one scenario on one configuration under one policy. */
void sim_run(const struct sim_config *c, const struct sim_scenario *s,
             const struct sim_policy *p, uint64_t seed, struct sim_result *r);
void sim_result_free(struct sim_result *r);

#endif
