/*
 * Scheduling policy: pure decisions over plain data, no locks, no arch, no
 * globals. The same files (kernel/sched/policy*.c) build into the image, the
 * host tests and the scheduling simulator (tools/sim). Mechanism (run queues,
 * switches, IPIs) lives in sched.c and calls these functions.
 *
 * Units: utilisation and capacity are in 1/1024 of the largest core
 * ("capacity-invariant"); time in ns; power in mW; energy in pJ (1 mW x 1 ns).
 *
 * QoS classes (enum qos in kernel/task.h), highest first. The rules per class:
 *
 *   class             placement (spawn and wake), in order of      starvation bound
 *                     preference
 *   user-interactive  runs at once, fits, highest capacity level   none needed (top)
 *   user-initiated    as user-interactive                          10 ms
 *   default           runs at once, fits, least energy             20 ms
 *   utility           as default                                   50 ms
 *   background        as default, on the lowest capacity level     100 ms
 *                     only, unless every allowed core there has
 *                     SCHED_BG_SPILL_QUEUE or more tasks waiting
 *   then fewest waiting; ties: the task's previous core, the caller's, the lowest id.
 *
 *  - "Runs at once": the core is idle, or its current task is of a lower class
 *    (the waking task preempts it at once; an SGI when the core is remote).
 *  - Fit: util * 1280 <= capacity * 1024 (20 % headroom, as Linux's margin);
 *    placement counts the task plus the core's work of its class or higher.
 *  - "Least energy": the least estimated power the placement adds to the
 *    core's frequency domain at the operating point it would cause
 *    (sched_energy_place_cost; a task without utilisation counts as 1); with
 *    one OPP per core that orders cores by energy per work = power_mw * 1024
 *    / capacity. The core model computes it from the DT (or the fallback
 *    table), so "efficiency core" means "lowest capacity level", never
 *    "cluster 0" or "cpu 0".
 *  - Preemption: a deadline task within its budget preempts every other task,
 *    earlier absolute deadline first (EDF); otherwise a strictly higher class
 *    preempts at once; equal classes round-robin by time slice.
 *  - Starvation bound: on a saturated core a class whose oldest waiting task
 *    has waited longer than its bound is picked before any higher class except
 *    deadline work (one slice, then normal order again). So a ready task of
 *    class c starts within bound(c) + one slice per overdue class above it,
 *    plus deadline work (at most SCHED_DL_MAX_BW_PCT of the core) and
 *    user-interactive wake-ups that preempt it.
 *  - Stealing by an idle core (sched_policy_steal): it takes the waiting task
 *    of the highest class it may take from the core with the most such work,
 *    never one that outranks the task running there, nor the only task
 *    queued on an idle core (those start at once where they are).
 *    A performance core (the highest capacity level) may take every class but
 *    background, and background only from an efficiency core with
 *    SCHED_BG_SPILL_QUEUE or more waiting; any other core may take every class.
 *  - Active migration by an idle core (sched_policy_pull_running): up-migrate a
 *    misfit running task (default class or higher whose utilisation does not
 *    fit its core) to a larger idle core; down-migrate a running utility or
 *    background task from a larger core to an idle smaller one.
 *  - Deadline admission: partitioned EDF; a task is admitted to the allowed
 *    core with the least energy per work whose deadline bandwidth stays within
 *    SCHED_DL_MAX_BW_PCT of it (budget scaled by 1024 / capacity), else refused
 *    with SCHED_DL_EOVERLOAD. An overrun demotes the task to its QoS class for
 *    the rest of its period and is counted.
 *  - Apps: a task of a background app runs at most at SCHED_BG_APP_QOS
 *    (utility) unless marked exempt (audio). Effective QoS = the higher of that
 *    and the classes lent by tasks blocked on it (transitively).
 */
#ifndef KERNEL_SCHED_POLICY_H
#define KERNEL_SCHED_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/* Does affinity (bit per core, 0 = any core) allow cpu? */
static inline bool sched_affinity_allows(uint32_t affinity, int cpu)
{
    return affinity == 0 || (cpu < 32 && (affinity & (1u << cpu)));
}

#include <kernel/platform.h>
#include <kernel/task.h>

#define SCHED_CAPACITY_MAX     1024u
#define SCHED_BG_SPILL_QUEUE   2u
#define SCHED_BG_APP_QOS       QOS_UTILITY
#define SCHED_DL_MAX_BW_PCT    90u
#define SCHED_UTIL_HALFLIFE_NS (32ull * 1000 * 1000)

/* Maximum wait (ns) of a ready task of each class on a saturated core before
 * its class is picked first; 0 = no bound needed. */
uint64_t sched_policy_starvation_bound(unsigned qos);

/* --- core model ---------------------------------------------------------------- */

#define SCHED_MAX_OPPS PLAT_MAX_OPPS

/* One operating point of a core: what it does and costs at that frequency. */
struct sched_opp {
    uint32_t capacity;   /* 1..1024, the same scale as the core's capacity */
    uint32_t power_uw;   /* busy power */
};

struct sched_core_info {
    uint32_t capacity;   /* 1..1024, at the top operating point */
    uint32_t power_mw;   /* busy power at the top operating point */
    uint32_t epw;        /* energy per work there: power_mw * 1024 / capacity */
    uint8_t level;       /* 0 = highest capacity level present */
    uint8_t cluster;
    uint8_t domain;      /* frequency domain: the lowest core id sharing its OPP table */
    uint8_t nopps;       /* 1..SCHED_MAX_OPPS; opp[nopps - 1] is the top one */
    uint8_t efficient;   /* the OPP with the least energy per work (the highest such) */
    uint8_t frugal;      /* the highest OPP whose energy per work is within the fit margin
                          * (x 1280 / 1024) of the dearest top OPP of the lowest capacity
                          * level (so the top one on that level), else `efficient`; default
                          * and utility work is capped there (sched_energy_clamp) */
    struct sched_opp opp[SCHED_MAX_OPPS];   /* ascending capacity */
};

struct sched_core_model {
    int ncores;
    int nlevels;         /* distinct capacities; 1 when uniform */
    struct sched_core_info core[PLAT_MAX_CPUS];
};

/*
 * Builds the model from the discovered CPUs. Capacity: capacity-dmips-mhz
 * when every CPU has it, else the fallback table's DMIPS/MHz by compatible
 * (or MIDR part number when midr_parts is non-NULL and the entry is
 * non-zero) when it knows every CPU, else all equal; times the core type's
 * top frequency from the table when it knows every CPU (DMIPS/MHz is per
 * MHz), normalised so the largest is 1024.
 * Power: dynamic-power-coefficient (uW/MHz/V^2) at the core type's nominal
 * frequency and voltage from the table (1500 MHz, 1.0 V when unknown); the
 * table's coefficient when the DT has none; 100 when nothing is known.
 */
void sched_core_model_build(const struct plat_cpu *cpus, int ncpus,
                            const uint16_t *midr_parts, struct sched_core_model *out);

/*
 * Operating points: from the cpu's operating-points-v2 table when the DT has
 * one (capacity scales with frequency, power = coefficient x f x V^2 at each
 * OPP; the top OPP's frequency is the core's top frequency above), else one
 * OPP (the top one). Cores sharing a table form a frequency domain.
 * A system that cannot change frequency (the image: QEMU has no cpufreq)
 * keeps only the top OPP of every core: */
void sched_core_model_fixed_frequency(struct sched_core_model *m);

/* --- snapshots the decisions read ----------------------------------------------- */

/* One core, as the mechanism sees it now (a racy snapshot is fine). */
struct sched_core_view {
    bool online;
    uint8_t cur_qos;      /* effective class running; QOS_COUNT when idle */
    bool cur_dl;          /* the running task is a deadline task within budget */
    uint32_t cur_util;    /* utilisation of the running task */
    uint32_t ready_mask;  /* bit q: a task of class q is waiting */
    uint32_t nr_ready;    /* waiting tasks */
    uint32_t util_at[QOS_COUNT]; /* summed utilisation of running + waiting tasks, by class */
    /* Frequency clamps of the running + waiting tasks (sched_energy_clamp),
     * each the largest of theirs (a task without a ceiling counts as
     * SCHED_CAPACITY_MAX); 0 = none: no floor, no ceiling (idle, or no clamps). */
    uint32_t clamp_floor, clamp_ceiling;
};

/* Utilisation on a core of the tasks of class max_qos or higher: what a task
 * of that class competes with (lower classes give way to it). */
static inline uint32_t sched_view_util(const struct sched_core_view *v, unsigned max_qos)
{
    uint32_t sum = 0;
    for (unsigned q = 0; q <= max_qos && q < QOS_COUNT; q++)
        sum += v->util_at[q];
    return sum;
}

/* The task being placed. */
struct sched_task_view {
    uint8_t qos;          /* effective class */
    uint32_t util;
    uint32_t affinity;    /* bit per core, 0 = any */
    int prev_cpu;         /* where it last ran, -1 when new */
};

/* Where to run a new or woken task; -1 when no allowed core is online. */
int sched_policy_place(const struct sched_core_model *m, const struct sched_core_view *v,
                       const struct sched_task_view *t, int this_cpu);

/* The priority of a runnable task, for preemption and EDF. */
struct sched_prio {
    uint8_t qos;          /* effective class; QOS_COUNT for the idle task */
    bool dl;              /* deadline task within its budget */
    uint64_t deadline;    /* absolute, when dl */
};

/* True when waking must preempt cur at once. */
bool sched_policy_preempts(const struct sched_prio *waking, const struct sched_prio *cur);

/* Which waiting class a core runs next (starvation bounds applied): the
 * caller passes, per class, the later of when its oldest waiting task was
 * queued and when that class last ran on this core (so an overdue class gets
 * one slice per bound, not the core). Deadline tasks are chosen before this
 * (EDF). -1 when nothing waits. */
int sched_policy_pick_class(uint32_t ready_mask, const uint64_t oldest_since[QOS_COUNT],
                            uint64_t now);

/* Waiting classes that outrank the task running on v's core: they are about
 * to preempt it there, so no idle core takes them. */
static inline uint32_t sched_view_pending(const struct sched_core_view *v)
{
    return v->cur_qos < QOS_COUNT ? (1u << v->cur_qos) - 1 : 0;
}

/* Whether a core has waiting tasks an idle core may take at all: not the
 * first task queued on an idle core, nor classes that preempt the running
 * one (sched_view_pending): those are about to run where they are
 * (sched_policy_steal never takes them; callers use this to skip asking). */
static inline bool sched_view_may_steal_from(const struct sched_core_view *v)
{
    return v->online && (v->ready_mask & ~sched_view_pending(v)) &&
           !(v->cur_qos >= QOS_COUNT && v->nr_ready < 2);
}

/* An idle core's pull of a waiting task: victim core and the class to take. */
struct sched_steal {
    int victim;           /* -1: nothing to take */
    int qos;
};
struct sched_steal sched_policy_steal(const struct sched_core_model *m,
                                      const struct sched_core_view *v, int this_cpu);

/* An idle core's pull of a running task (misfit up, low class down): the
 * core whose running task should move here, or -1. */
int sched_policy_pull_running(const struct sched_core_model *m,
                              const struct sched_core_view *v, int this_cpu);

/* util fits capacity with the 20 % margin. */
static inline bool sched_util_fits(uint32_t util, uint32_t capacity)
{
    return (uint64_t)util * 1280 <= (uint64_t)capacity * 1024;
}

/* --- energy model: operating points, the governor, estimated energy ---------------- */
/*
 * policy_energy.c. A frequency domain runs at the lowest OPP whose capacity
 * covers the largest need of its cores with the 20 % margin (schedutil's
 * util x 1.25); a core's need is its utilisation (running + waiting tasks)
 * raised to its clamp floor and capped at its clamp ceiling. Work at an OPP
 * costs its busy power per unit of its capacity, so placements are compared
 * by the estimated power of the domain they change (Linux EAS compute_energy).
 */

/* The lowest OPP of c that fits need with the margin; the top one when none does. */
int sched_energy_opp_for(const struct sched_core_info *c, uint32_t need);

static inline uint32_t sched_energy_need(uint32_t util, uint32_t floor, uint32_t ceiling)
{
    if (util < floor)
        util = floor;
    return ceiling && util > ceiling ? ceiling : util;
}

/* The OPP (index into its cores' opp[]) of domain d, need[] per core. */
int sched_energy_domain_opp(const struct sched_core_model *m, int d, const uint32_t *need);

/* Estimated busy power (uW) of domain d: at the OPP its needs choose, each
 * core's utilisation x power / capacity there. util[] and need[] per core. */
uint64_t sched_energy_domain_power(const struct sched_core_model *m, int d, const uint32_t *util,
                                   const uint32_t *need);

/*
 * SR's frequency clamps by class, the policy half of the governor (baselines
 * pass none). While runnable on a core:
 *  - a deadline task within budget asks for the top OPP (budgets are
 *    admitted at full capacity);
 *  - a user-interactive task asks for at least an OPP of capacity
 *    SCHED_UI_MIN_CAPACITY (work sized for the largest core takes at most
 *    1024 / 576 = 1.8x as long: a frame's utilisation alone would let
 *    schedutil run its chain at ~80 % busy and miss) and never less than the
 *    core's most efficient OPP (slower saves no energy per unit of work);
 *  - background work is capped at the core's most efficient OPP (the least
 *    energy per unit of work): it keeps its share of time, never at a
 *    frequency that costs more per unit of work;
 *  - default and utility work (nobody waits on it) is capped at the core's
 *    frugal OPP: on a core above the lowest capacity level, never at an OPP
 *    that costs more per unit of work than the fit margin above what the
 *    efficiency cores cost at their top (RK3399's A72: 816 of 1800 MHz;
 *    2P+4E's X1: 2100 of 3000 MHz; none on RK3588, whose A76s at 2.4 GHz
 *    cost about what its A55s at 1.8 GHz do). A user-interactive task on
 *    the same core lifts the cap (the largest ceiling counts).
 * User-initiated work is unclamped (utilisation alone).
 */
#define SCHED_UI_MIN_CAPACITY 576u
struct sched_clamp {
    uint32_t floor, ceiling;   /* 0 = none */
};
struct sched_clamp sched_energy_clamp(const struct sched_core_info *c, unsigned qos, bool dl);

/* What placing t on cpu adds to the estimated power (uW) of cpu's domain,
 * at the OPP that placement would cause; with clamps, t's class clamps
 * (sched_energy_clamp) count as the governor will count them. */
uint64_t sched_energy_place_cost(const struct sched_core_model *m,
                                 const struct sched_core_view *v, int cpu,
                                 const struct sched_task_view *t, bool clamps);

/* --- utilisation: a decaying average of the running fraction ----------------------- */

struct sched_util {
    uint64_t stamp_ns;    /* last update */
    uint32_t avg;         /* 0..1024, capacity-invariant (read this) */
    uint32_t fine;        /* avg in 1/65536: keeps many short updates exact */
};

/*
 * Advances u to now: since the last update the task ran on a core of
 * capacity running_capacity (0 when it did not run). The average moves
 * towards that value exponentially with SCHED_UTIL_HALFLIFE_NS, so a task
 * always running on the largest core tends to 1024, on a 512 core to 512.
 */
void sched_util_update(struct sched_util *u, uint64_t now_ns, uint32_t running_capacity);

/* --- deadline class ---------------------------------------------------------------- */

enum {
    SCHED_DL_OK = 0,
    SCHED_DL_EINVAL = -1,     /* zero period/budget, budget > deadline, deadline > period */
    SCHED_DL_EOVERLOAD = -2,  /* no allowed core has the bandwidth left */
};
const char *sched_dl_strerror(int err);

struct sched_dl_params {
    uint64_t period_ns;
    uint64_t budget_ns;       /* run time on a capacity-1024 core per period */
    uint64_t deadline_ns;     /* relative to the release; 0 = period */
};

/* Per-core admitted bandwidth, in 1/2^20 of the core. */
#define SCHED_DL_BW_ONE (1u << 20)
struct sched_dl_bw {
    uint32_t used[PLAT_MAX_CPUS];
};

/* Admits p on an allowed online core (online mask: bit per core); returns
 * the core (>= 0) and reserves its bandwidth, or SCHED_DL_EINVAL /
 * SCHED_DL_EOVERLOAD and changes nothing. */
int sched_dl_admit(const struct sched_core_model *m, struct sched_dl_bw *bw,
                   const struct sched_dl_params *p, uint32_t affinity, uint32_t online);
/* Gives back what sched_dl_admit reserved on cpu. */
void sched_dl_release_bw(const struct sched_core_model *m, struct sched_dl_bw *bw,
                         const struct sched_dl_params *p, int cpu);

struct sched_dl_task {
    uint64_t release_ns;
    uint64_t deadline_ns;     /* absolute */
    uint64_t used;            /* capacity-invariant ns used this period */
    bool demoted;             /* budget overrun: plain QoS until the next period */
    uint32_t overruns;
    uint32_t misses;          /* activations finished after their deadline */
};

void sched_dl_new_period(struct sched_dl_task *s, const struct sched_dl_params *p,
                         uint64_t release_ns);
/* Charges ran_ns on a core of capacity; true when this charge overran the
 * budget (the task is now demoted, the overrun counted). */
bool sched_dl_charge(struct sched_dl_task *s, const struct sched_dl_params *p,
                     uint64_t ran_ns, uint32_t capacity);
/* The activation finished at now: counts a miss if late. True if met. */
bool sched_dl_complete(struct sched_dl_task *s, uint64_t now);

/* --- QoS of tasks in apps, with inheritance ------------------------------------------ */

struct sched_app {
    bool foreground;
};

struct sched_qos_task {
    uint8_t own;                      /* requested class */
    bool exempt;                      /* keeps its class when its app is in the background */
    const struct sched_app *app;      /* NULL: not in an app */
    uint8_t eff;                      /* derived: effective class */
    uint16_t lent[QOS_COUNT];         /* tasks blocked on this one, by their effective class */
    struct sched_qos_task *waits_for; /* the holder this task is blocked on, or NULL */
};

#define SCHED_QOS_EDEADLK (-1)
#define SCHED_QOS_EINVAL  (-2)

/* Own class as its app's state allows. */
uint8_t sched_qos_base(const struct sched_qos_task *t);
/* An out-of-range own class is taken as QOS_DEFAULT. Inline: a task
 * spawned outside any app pays a few stores. */
static inline void sched_qos_init(struct sched_qos_task *t, enum qos own,
                                  const struct sched_app *app, bool exempt)
{
    *t = (struct sched_qos_task){.own = own < QOS_COUNT ? (uint8_t)own : QOS_DEFAULT,
                                 .exempt = exempt, .app = app};
    t->eff = app ? sched_qos_base(t) : t->own;
}
/* t blocks on holder: lends its class along the chain. SCHED_QOS_EDEADLK (and
 * nothing changed) when holder already waits, directly or not, on t;
 * SCHED_QOS_EINVAL when holder is NULL. */
int sched_qos_block(struct sched_qos_task *t, struct sched_qos_task *holder);
/* t stops waiting (got the resource, timed out, or the holder changed). */
void sched_qos_unblock(struct sched_qos_task *t);
/* Recomputes t after its own class, exemption or app state changed, and
 * passes the change along the chain. True when t's effective class changed. */
bool sched_qos_refresh(struct sched_qos_task *t);

/* --- energy accounting -------------------------------------------------------------- */

struct sched_energy {
    uint64_t busy_ns;
    uint64_t pj;
};

static inline void sched_energy_add(struct sched_energy *e, uint64_t busy_ns, uint32_t power_mw)
{
    e->busy_ns += busy_ns;
    e->pj += busy_ns * power_mw;
}


#endif
