/* Core models for the policy tests: cpus described as (compatible, dmips,
 * power coefficient, cluster) the way DT discovery leaves them. */
#ifndef SCHED_FIXTURE_H
#define SCHED_FIXTURE_H

#include <string.h>

#include <kernel/sched_policy.h>

struct cpu_spec {
    const char *compatible;
    uint32_t dmips;       /* 0: no capacity-dmips-mhz */
    uint32_t coeff;       /* 0: no dynamic-power-coefficient */
    int cluster;
};

/* Mirrors dt_cpus.c's normalisation (largest = 1024, all 1024 if any lacks it). */
static inline void sched_fixture_model(const struct cpu_spec *spec, int n,
                                       struct sched_core_model *m)
{
    struct plat_cpu cpus[PLAT_MAX_CPUS];
    memset(cpus, 0, sizeof(cpus));
    uint32_t max = 0;
    int all = 1;
    for (int i = 0; i < n; i++) {
        all = all && spec[i].dmips;
        if (spec[i].dmips > max)
            max = spec[i].dmips;
    }
    for (int i = 0; i < n; i++) {
        strncpy(cpus[i].compatible, spec[i].compatible, PLAT_NAME_LEN - 1);
        cpus[i].dmips_mhz = spec[i].dmips;
        cpus[i].capacity = all ? (spec[i].dmips * 1024 + max / 2) / max : 1024;
        cpus[i].power_coeff = spec[i].coeff;
        cpus[i].has_power_coeff = spec[i].coeff != 0;
        cpus[i].cluster = spec[i].cluster;
    }
    sched_core_model_build(cpus, n, NULL, m);
}

/* RK3399 in DT order: 4 x A53 (cluster 0), 2 x A72 (cluster 1). */
static const struct cpu_spec rk3399_spec[6] = {
    {"arm,cortex-a53", 485, 100, 0}, {"arm,cortex-a53", 485, 100, 0},
    {"arm,cortex-a53", 485, 100, 0}, {"arm,cortex-a53", 485, 100, 0},
    {"arm,cortex-a72", 1024, 436, 1}, {"arm,cortex-a72", 1024, 436, 1},
};

/* Idle online cores. */
static inline void sched_fixture_idle(struct sched_core_view *v, int n)
{
    for (int i = 0; i < n; i++)
        v[i] = (struct sched_core_view){.online = true, .cur_qos = QOS_COUNT};
}

/* Core c runs a task of class q (utilisation util). */
static inline void sched_fixture_run(struct sched_core_view *v, int c, unsigned q, uint32_t util)
{
    v[c].cur_qos = (uint8_t)q;
    v[c].cur_util = util;
    v[c].util_at[q] += util;
}

/* One more task of class q waits on core c. */
static inline void sched_fixture_queue(struct sched_core_view *v, int c, unsigned q, uint32_t util)
{
    v[c].ready_mask |= 1u << q;
    v[c].nr_ready++;
    v[c].util_at[q] += util;
}

#endif
