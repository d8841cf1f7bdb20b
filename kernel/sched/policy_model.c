/*
 * Core model for the policy: capacity, power and capacity level of every
 * core, from the discovered DT data with a fallback table by core type (see
 * sched_core_model_build in kernel/sched_policy.h).
 */
#include <string.h>

#include <kernel/sched_policy.h>

/* Per-type figures: relative DMIPS/MHz (only ratios matter) and
 * dynamic-power-coefficient (uW/MHz/V^2) for when the DT gives none, and the
 * top operating point, which both capacity and busy power are taken at (the
 * DT's operating-points-v2 table, when a cpu has one, replaces this top
 * operating point). Estimates except where noted: A53/A72 operating points are RK3399's
 * (rk3399-opp.dtsi in Linux 6.1, read from Debian's rk3399-rockpro64.dtb:
 * 1416 MHz at 1.125 V, 1800 MHz at 1.2 V), A55/A76 RK3588's (rk3588-opp.dtsi:
 * 1800 MHz at 0.95 V, 2400 MHz at 1.0 V). */
struct core_type {
    const char *compatible;
    uint16_t part;        /* MIDR_EL1.PartNum, Arm implementer */
    uint32_t dmips_rel;
    uint32_t power_coeff;
    uint32_t mhz;
    uint32_t mv;
};

static const struct core_type core_types[] = {
    {"arm,cortex-a35", 0xd04, 170, 80, 1300, 950},
    {"arm,cortex-a53", 0xd03, 230, 100, 1416, 1125},
    {"arm,cortex-a55", 0xd05, 260, 120, 1800, 950},
    {"arm,cortex-a510", 0xd46, 290, 130, 1800, 900},
    {"arm,cortex-a57", 0xd07, 410, 450, 1900, 1100},
    {"arm,cortex-a72", 0xd08, 470, 440, 1800, 1200},
    {"arm,cortex-a73", 0xd09, 480, 400, 2000, 1050},
    {"arm,cortex-a75", 0xd0a, 550, 380, 2200, 1050},
    {"arm,cortex-a76", 0xd0b, 600, 400, 2400, 1000},
    {"arm,cortex-a77", 0xd0d, 660, 420, 2600, 1000},
    {"arm,cortex-a78", 0xd41, 720, 430, 2800, 1000},
    {"arm,cortex-a710", 0xd47, 760, 450, 2500, 1000},
    {"arm,cortex-a715", 0xd4d, 780, 440, 2800, 1000},
    {"arm,cortex-x1", 0xd44, 800, 600, 3000, 1050},
    {"arm,cortex-x2", 0xd48, 880, 650, 3000, 1050},
    {"arm,cortex-x3", 0xd4e, 960, 700, 3200, 1050},
};

#define NOMINAL_MHZ     1500u
#define NOMINAL_MV      1000u
#define DEFAULT_COEFF   100u
#define MAX_COEFF       1000000u   /* uW/MHz/V^2; keeps the products in 64 bits */

static const struct core_type *lookup(const struct plat_cpu *cpu, uint16_t part)
{
    for (unsigned i = 0; i < sizeof(core_types) / sizeof(core_types[0]); i++) {
        if (part ? core_types[i].part == part
                 : strcmp(core_types[i].compatible, cpu->compatible) == 0)
            return &core_types[i];
    }
    return NULL;
}

/* A core's top frequency and voltage: its DT OPP table's highest entry,
 * else the table's by core type, else 0 (unknown). */
static void top_point(const struct plat_cpu *cpu, const struct core_type *type, uint32_t *mhz,
                      uint32_t *uv)
{
    if (cpu->nopps > 0) {
        *mhz = cpu->opps[cpu->nopps - 1].mhz;
        *uv = cpu->opps[cpu->nopps - 1].uv;
    } else {
        *mhz = type ? type->mhz : 0;
        *uv = type ? type->mv * 1000 : 0;
    }
}

/* DMIPS/MHz is per MHz: like Linux (arch_topology), a core's capacity is
 * DMIPS/MHz x its top frequency (the DT's top OPP, else the table's),
 * normalised so the largest is 1024; when some core's frequency is unknown,
 * the DT's DMIPS/MHz alone (as discovery normalised it) is all there is. */
static uint64_t raw_capacity(const struct plat_cpu *cpu, const struct core_type *type,
                             uint32_t top_mhz, bool dt_all, bool freq_all)
{
    if (dt_all)
        return freq_all ? (uint64_t)cpu->dmips_mhz * top_mhz : cpu->capacity;
    return (uint64_t)type->dmips_rel * top_mhz;   /* table_all, hence freq_all */
}

static void assign_capacity(const struct plat_cpu *cpus, int n, const struct core_type **type,
                            const uint32_t *top_mhz, struct sched_core_model *m)
{
    bool dt_all = true, table_all = true, freq_all = true;
    for (int i = 0; i < n; i++) {
        dt_all = dt_all && cpus[i].dmips_mhz != 0;
        table_all = table_all && type[i];
        freq_all = freq_all && top_mhz[i];
    }
    uint64_t max = 0;
    if (dt_all || table_all)
        for (int i = 0; i < n; i++) {
            uint64_t r = raw_capacity(&cpus[i], type[i], top_mhz[i], dt_all, freq_all);
            max = r > max ? r : max;
        }
    for (int i = 0; i < n; i++) {
        uint64_t cap = SCHED_CAPACITY_MAX;
        if (max)
            cap = (raw_capacity(&cpus[i], type[i], top_mhz[i], dt_all, freq_all) *
                       SCHED_CAPACITY_MAX + max / 2) / max;
        m->core[i].capacity = cap ? (uint32_t)cap : 1;
    }
}

/* uW/MHz/V^2 x MHz x V^2 = uW, with V^2 = (uV / 1000)^2 / 1e6 (mV^2 / 1e6). */
static uint32_t busy_uw(uint64_t coeff, uint32_t mhz, uint32_t uv)
{
    uint64_t mv2 = ((uint64_t)uv * uv + 500000) / 1000000, prod;
    if (__builtin_mul_overflow(coeff * mhz, mv2, &prod))
        return UINT32_MAX;   /* absurd DT figures: the dearest core there is */
    uint64_t uw = (prod + 500000) / 1000000;
    return uw > UINT32_MAX ? UINT32_MAX : uw ? (uint32_t)uw : 1;
}

/* Fills c's OPPs (capacity = top capacity x f / f_top) and its top figures. */
static void assign_opps(const struct plat_cpu *cpu, uint64_t coeff, uint32_t top_mhz,
                        uint32_t top_uv, struct sched_core_info *c)
{
    if (cpu->nopps > 0 && top_mhz) {
        c->nopps = (uint8_t)cpu->nopps;
        for (int k = 0; k < cpu->nopps; k++) {
            uint64_t cap = ((uint64_t)c->capacity * cpu->opps[k].mhz + top_mhz / 2) / top_mhz;
            c->opp[k].capacity = cap ? (uint32_t)cap : 1;
            c->opp[k].power_uw = busy_uw(coeff, cpu->opps[k].mhz, cpu->opps[k].uv);
        }
    } else {
        c->nopps = 1;
        c->opp[0].capacity = c->capacity;
        c->opp[0].power_uw = busy_uw(coeff, top_mhz ? top_mhz : NOMINAL_MHZ,
                                     top_mhz ? top_uv : NOMINAL_MV * 1000);
    }
    c->opp[c->nopps - 1].capacity = c->capacity;
    uint32_t uw = c->opp[c->nopps - 1].power_uw;
    c->power_mw = uw >= 1000 ? (uw + 500) / 1000 : 1;
    c->epw = (uint32_t)(((uint64_t)c->power_mw * SCHED_CAPACITY_MAX) / c->capacity);
    /* Energy per unit of work goes as V^2 (power ~ f V^2, capacity ~ f): the
     * lowest voltage is the most efficient; at that voltage, the fastest. */
    c->efficient = 0;
    for (int k = 1; k < cpu->nopps && c->nopps > 1; k++) {
        if (cpu->opps[k].uv <= cpu->opps[c->efficient].uv)
            c->efficient = (uint8_t)k;
    }
}

/* Cores sharing an OPP table share a domain; others are one each. */
static void assign_domains(const struct plat_cpu *cpus, struct sched_core_model *m)
{
    for (int i = 0; i < m->ncores; i++) {
        m->core[i].domain = (uint8_t)i;
        if (m->core[i].nopps < 2 || !cpus[i].opp_table)
            continue;
        for (int j = 0; j < i; j++) {
            if (cpus[j].opp_table == cpus[i].opp_table && m->core[j].nopps > 1) {
                m->core[i].domain = m->core[j].domain;
                break;
            }
        }
    }
}

/* Level = how many distinct capacities are larger. */
static void assign_levels(struct sched_core_model *m)
{
    m->nlevels = 0;
    for (int i = 0; i < m->ncores; i++) {
        int larger = 0;
        bool first = true;
        for (int j = 0; j < m->ncores; j++) {
            uint32_t cj = m->core[j].capacity;
            if (cj == m->core[i].capacity && j < i)
                first = false;
            if (cj <= m->core[i].capacity)
                continue;
            bool seen = false;  /* count each larger capacity once */
            for (int k = 0; k < j; k++)
                seen = seen || m->core[k].capacity == cj;
            larger += !seen;
        }
        m->core[i].level = (uint8_t)larger;
        if (first)
            m->nlevels++;
    }
}

static uint64_t opp_epw(const struct sched_core_info *c, int k)
{
    return (uint64_t)c->opp[k].power_uw * SCHED_CAPACITY_MAX / c->opp[k].capacity;
}

/* frugal: measured against the dearest top OPP of the lowest capacity level
 * (what the efficiency cores cost per unit of work when fully driven); the
 * most efficient OPP when even that one costs more. */
static void assign_frugal(struct sched_core_model *m)
{
    uint64_t ref = 0;
    for (int i = 0; i < m->ncores; i++) {
        const struct sched_core_info *c = &m->core[i];
        if (c->level == m->nlevels - 1 && opp_epw(c, c->nopps - 1) > ref)
            ref = opp_epw(c, c->nopps - 1);
    }
    for (int i = 0; i < m->ncores; i++) {
        struct sched_core_info *c = &m->core[i];
        c->frugal = c->efficient;
        for (int k = c->nopps - 1; k > c->efficient; k--) {
            if (opp_epw(c, k) * 1024 <= ref * 1280) {
                c->frugal = (uint8_t)k;
                break;
            }
        }
    }
}

void sched_core_model_build(const struct plat_cpu *cpus, int ncpus,
                            const uint16_t *midr_parts, struct sched_core_model *out)
{
    memset(out, 0, sizeof(*out));
    if (ncpus < 0)
        ncpus = 0;
    if (ncpus > PLAT_MAX_CPUS)
        ncpus = PLAT_MAX_CPUS;
    out->ncores = ncpus;
    const struct core_type *type[PLAT_MAX_CPUS];
    uint32_t top_mhz[PLAT_MAX_CPUS], top_uv[PLAT_MAX_CPUS];
    for (int i = 0; i < ncpus; i++) {
        type[i] = lookup(&cpus[i], midr_parts ? midr_parts[i] : 0);
        top_point(&cpus[i], type[i], &top_mhz[i], &top_uv[i]);
    }
    assign_capacity(cpus, ncpus, type, top_mhz, out);
    for (int i = 0; i < ncpus; i++) {
        struct sched_core_info *c = &out->core[i];
        uint64_t coeff = cpus[i].has_power_coeff ? cpus[i].power_coeff
                         : type[i]                ? type[i]->power_coeff
                                                  : DEFAULT_COEFF;
        if (coeff > MAX_COEFF)
            coeff = MAX_COEFF;
        assign_opps(&cpus[i], coeff, top_mhz[i], top_uv[i], c);
        c->cluster = (uint8_t)cpus[i].cluster;
    }
    assign_domains(cpus, out);
    assign_levels(out);
    assign_frugal(out);
}

void sched_core_model_fixed_frequency(struct sched_core_model *m)
{
    for (int i = 0; i < m->ncores; i++) {
        struct sched_core_info *c = &m->core[i];
        c->opp[0] = c->opp[c->nopps - 1];
        c->nopps = 1;
        c->efficient = 0;
        c->frugal = 0;
        c->domain = (uint8_t)i;
    }
}
