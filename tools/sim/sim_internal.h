/* Simulator state shared by the engine (sim_engine.c) and the policies
 * (sim_policies.c). */
#ifndef SIM_INTERNAL_H
#define SIM_INTERNAL_H

#include "sim.h"

enum sim_state { T_SLEEPING, T_READY, T_RUNNING, T_BLOCKED, T_DEAD };

struct sim_task {
    int id;
    const struct sim_template *tpl;
    enum sim_state state;
    int pc;                       /* op being executed */
    uint64_t left;                /* work left in the current RUN op */
    bool in_run;                  /* the RUN op at pc has started */
    uint64_t ready_since;         /* when it last became ready after a wait (latency) */
    bool latency_pending;         /* ready_since not yet sampled */
    uint64_t enqueued;            /* when queued (starvation bounds, FIFO order) */
    uint64_t seq;                 /* enqueue order */
    int cpu;                      /* core it is queued on / runs on; -1 none */
    int last_cpu;                 /* where it last ran */
    int pending;                  /* wake-ups received while active */
    uint64_t frame_deadline;      /* 0: not part of a frame */
    bool frame_counted;           /* frame belongs to a foreground app */
    bool active;                  /* inside an activation */
    uint64_t slice_used;
    uint64_t vruntime;            /* eas_like: CFS-like virtual runtime */
    struct sched_util util;
    struct sched_qos_task q;      /* effective QoS with inheritance */
    /* Deadline class (sr only). */
    bool dl;
    int dl_cpu;
    struct sched_dl_params dlp;
    struct sched_dl_task dls;
    uint64_t next_release;        /* periodic */
    uint64_t lock_wait_start;
    struct sim_task *qnext;       /* run queue link */
};

struct sim_core {
    int id;
    struct sim_task *cur;
    uint64_t overhead;            /* switch cost left before cur makes progress */
    uint64_t slice_end;
    struct sim_task *qhead;       /* unordered list: policies pick */
    int nready;
    bool resched;
    uint64_t served[QOS_COUNT];   /* sr: when each class last ran here (starvation clock) */
    int opp;                      /* current operating point (its domain's, set by the governor) */
    struct sched_util util;       /* the core's own: its busy fraction at the OPP of the moment */
    uint64_t busy_ns;
    uint64_t fj;                  /* energy: busy ns x uW at the OPP of the moment */
};

struct sim_lock {
    struct sim_task *holder;
    struct sim_task *waiters[64];
    int nwaiters;
};

struct sim {
    const struct sim_config *cfg;
    const struct sched_core_model *m;
    const struct sim_scenario *sc;
    const struct sim_policy *pol;
    struct sim_result *r;
    uint64_t now;
    uint64_t rng;
    uint64_t seq;
    int ncores;
    struct sim_core core[PLAT_MAX_CPUS];
    struct sim_task **tasks;      /* every instance ever made */
    int ntasks, cap_tasks;
    struct sim_task *global_q;    /* fifo policy: one queue */
    int global_n;
    struct sched_app apps[SIM_MAX_APPS];
    struct sim_lock locks[SIM_MAX_LOCKS];
    struct sched_dl_bw dlbw;
    uint64_t next_spawn[SIM_MAX_TEMPLATES];
    struct sim_task *first_of[SIM_MAX_TEMPLATES];  /* woken templates: the instance */
    struct sim_task *periodic[256];
    int nperiodic;
    int next_event;
};

struct sim_policy {
    const char *name;
    bool inherit;                 /* QoS inheritance through locks */
    bool deadline;                /* admits deadline tasks */
    bool global_queue;            /* one queue for all cores */
    bool clamps;                  /* the governor honours SR's class clamps (sched_energy_clamp) */
    /* Core for a task becoming ready (spawn or wake). */
    int (*place)(struct sim *s, struct sim_task *t);
    /* Should waking t preempt what core c runs (c->cur != NULL)? */
    bool (*preempts)(struct sim *s, struct sim_task *t, struct sim_core *c);
    /* Remove and return the task core c runs next, or NULL. */
    struct sim_task *(*pick)(struct sim *s, struct sim_core *c);
    /* Core c is idle: pull work from elsewhere (may call sim_migrate). */
    void (*balance)(struct sim *s, struct sim_core *c);
};

/* Engine services for the policies. */
uint8_t sim_eff_qos(const struct sim *s, const struct sim_task *t);
void sim_views(struct sim *s, struct sched_core_view *v);
void sim_queue_remove(struct sim *s, struct sim_core *c, struct sim_task *t);
void sim_queue_add(struct sim *s, struct sim_core *c, struct sim_task *t);
/* Moves t (queued on from, or running there) to core to's queue. */
void sim_migrate(struct sim *s, struct sim_task *t, struct sim_core *to);
bool sim_allowed(const struct sim_task *t, int cpu);
/* Capacity of core cpu at its current operating point. */
uint32_t sim_capacity_now(const struct sim *s, int cpu);

#endif
