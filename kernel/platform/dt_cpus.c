/*
 * CPUs: the enabled device_type = "cpu" children of /cpus, in DT order (the
 * index is the logical CPU id; nothing is ever indexed by MPIDR). Topology
 * comes from /cpus/cpu-map, capacity from capacity-dmips-mhz, and the class
 * from the capacity alone (see assign_capacity).
 */
#include <string.h>

#include <libfdt.h>

#include "dt_internal.h"

#define MPIDR_AFF_MASK   0xff00ffffffull  /* Aff3 [39:32], Aff2..Aff0 [23:0] */
#define CPU_MAP_DEPTH    8                /* socket / cluster nesting bound */

/* Scratch for cluster assignment: each cpu's phandle, whether cpu-map placed
 * it, and the next free cluster index. */
struct cpu_scan {
    uint32_t phandle[PLAT_MAX_CPUS];
    int next_cluster;
    bool mapped[PLAT_MAX_CPUS];
};

static int parse_enable(struct dt_ctx *c, int node, struct plat_cpu *cpu)
{
    if (dt_prop_is(c, node, "enable-method", "psci")) {
        cpu->enable = PLAT_ENABLE_PSCI;
    } else if (dt_prop_is(c, node, "enable-method", "spin-table")) {
        bool present;
        if (dt_u64(c, node, "cpu-release-addr", &cpu->release_addr, &present) < 0)
            return -1;
        if (!present) {
            char path[DT_PATH_LEN];
            return dt_fail(c, "dt: %s: spin-table without 'cpu-release-addr'",
                           dt_path(c, node, path, sizeof(path)));
        }
        cpu->enable = PLAT_ENABLE_SPIN_TABLE;
    } else {
        cpu->enable = PLAT_ENABLE_NONE;
    }
    return 0;
}

static int parse_cpu(struct dt_ctx *c, int node, uint32_t ac, struct plat_cpu *cpu)
{
    char path[DT_PATH_LEN];
    int len;
    const void *reg = fdt_getprop(c->fdt, node, "reg", &len);
    if (!reg)
        return dt_fail(c, "dt: %s: missing 'reg'", dt_path(c, node, path, sizeof(path)));
    if (ac == 0 || len < (int)(4 * ac))
        return dt_fail(c, "dt: %s: 'reg' has %d bytes, need %u (/cpus #address-cells)",
                       dt_path(c, node, path, sizeof(path)), len, 4 * ac);
    cpu->mpidr = dt_cells_value(reg, ac) & MPIDR_AFF_MASK;

    if (parse_enable(c, node, cpu) < 0 ||
        dt_u32(c, node, "capacity-dmips-mhz", 0, &cpu->dmips_mhz) < 0 ||
        dt_u32(c, node, "dynamic-power-coefficient", 0, &cpu->power_coeff) < 0 ||
        dt_cpu_opps(c, node, cpu) < 0)
        return -1;
    cpu->has_power_coeff =
        fdt_getprop(c->fdt, node, "dynamic-power-coefficient", NULL) != NULL;
    const char *compat = dt_string(c, node, "compatible");
    dt_copy(cpu->compatible, sizeof(cpu->compatible), compat ? compat : "");
    return 0;
}

/* Assigns the cpu a "cpu" phandle property points at to *cluster (lazily numbered). */
static void map_cpu(struct dt_ctx *c, int node, struct platform *p, struct cpu_scan *s,
                    int *cluster)
{
    int len;
    const void *ph = fdt_getprop(c->fdt, node, "cpu", &len);
    if (!ph || len != 4)
        return;
    uint32_t phandle = dt_be32(ph);
    for (int i = 0; i < p->ncpus; i++) {
        if (s->phandle[i] != phandle || phandle == 0 || s->mapped[i])
            continue;
        if (*cluster < 0)
            *cluster = s->next_cluster++;
        p->cpus[i].cluster = *cluster;
        s->mapped[i] = true;
        return;
    }
}

static bool name_is(const struct dt_ctx *c, int node, const char *prefix)
{
    const char *name = fdt_get_name(c->fdt, node, NULL);
    return name && strncmp(name, prefix, strlen(prefix)) == 0;
}

/*
 * Walks a socket/cluster node of cpu-map. The coreN children of one node form
 * one cluster; its index is taken when its first cpu is found, so clusters are
 * numbered in cpu-map order and empty ones take no index.
 */
static void walk_cpu_map(struct dt_ctx *c, int node, int depth, struct platform *p,
                         struct cpu_scan *s)
{
    int cluster = -1, child;
    if (depth >= CPU_MAP_DEPTH)
        return;
    fdt_for_each_subnode(child, c->fdt, node) {
        if (name_is(c, child, "core")) {
            int thread;
            map_cpu(c, child, p, s, &cluster);
            fdt_for_each_subnode(thread, c->fdt, child) {
                if (name_is(c, thread, "thread"))
                    map_cpu(c, thread, p, s, &cluster);
            }
        } else if (name_is(c, child, "cluster") || name_is(c, child, "socket")) {
            walk_cpu_map(c, child, depth + 1, p, s);
        }
    }
}

static void assign_clusters(struct dt_ctx *c, int cpus, struct platform *p,
                            struct cpu_scan *s)
{
    int map = fdt_subnode_offset(c->fdt, cpus, "cpu-map");
    if (map >= 0)
        walk_cpu_map(c, map, 0, p, s);
    if (s->next_cluster == 0) {  /* no (usable) cpu-map: one cluster */
        for (int i = 0; i < p->ncpus; i++)
            p->cpus[i].cluster = 0;
        p->nclusters = 1;
        return;
    }
    for (int i = 0; i < p->ncpus; i++) {
        if (!s->mapped[i])
            p->cpus[i].cluster = s->next_cluster++;
    }
    p->nclusters = s->next_cluster;
}

/*
 * capacity = dmips * 1024 / max(dmips), rounded, at least 1. Like Linux, when
 * any cpu lacks capacity-dmips-mhz (or has 0) the data is ignored and all are
 * 1024.
 */
static void assign_capacity(struct platform *p)
{
    uint32_t max = 0;
    bool all = true;
    for (int i = 0; i < p->ncpus; i++) {
        uint32_t d = p->cpus[i].dmips_mhz;
        all = all && d != 0;
        if (d > max)
            max = d;
    }
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < p->ncpus; i++) {
        struct plat_cpu *cpu = &p->cpus[i];
        cpu->capacity = all ? (uint32_t)(((uint64_t)cpu->dmips_mhz * 1024 + max / 2) / max)
                            : 1024;
        if (cpu->capacity == 0)
            cpu->capacity = 1;
        if (cpu->capacity < lo)
            lo = cpu->capacity;
        if (cpu->capacity > hi)
            hi = cpu->capacity;
    }
    /* Within 10% of the largest: performance; else within 10% of the smallest:
     * efficiency; anything between: mid. Names and cluster order play no part. */
    for (int i = 0; i < p->ncpus; i++) {
        struct plat_cpu *cpu = &p->cpus[i];
        uint64_t cap10 = (uint64_t)cpu->capacity * 10;
        if (cap10 >= (uint64_t)hi * 9)
            cpu->cls = PLAT_CLASS_PERFORMANCE;
        else if (cap10 <= (uint64_t)lo * 11)
            cpu->cls = PLAT_CLASS_EFFICIENCY;
        else
            cpu->cls = PLAT_CLASS_MID;
    }
}

int dt_cpus(struct dt_ctx *c, struct platform *p)
{
    char path[DT_PATH_LEN], other[DT_PATH_LEN];
    int cpus = fdt_path_offset(c->fdt, "/cpus");
    if (cpus < 0)
        return dt_fail(c, "dt: no /cpus node");
    uint32_t ac;
    if (dt_addr_cells(c, cpus, &ac) < 0)
        return -1;

    struct cpu_scan s;
    memset(&s, 0, sizeof(s));
    int node, total = 0;
    int nodes[PLAT_MAX_CPUS];
    fdt_for_each_subnode(node, c->fdt, cpus) {
        if (!dt_prop_is(c, node, "device_type", "cpu") || !dt_okay(c, node))
            continue;
        if (total++ >= PLAT_MAX_CPUS)
            continue;
        struct plat_cpu *cpu = &p->cpus[p->ncpus];
        if (parse_cpu(c, node, ac, cpu) < 0)
            return -1;
        for (int i = 0; i < p->ncpus; i++) {
            if (p->cpus[i].mpidr == cpu->mpidr)
                return dt_fail(c, "dt: %s: MPIDR 0x%llx already used by %s",
                               dt_path(c, node, path, sizeof(path)),
                               (unsigned long long)cpu->mpidr,
                               dt_path(c, nodes[i], other, sizeof(other)));
        }
        s.phandle[p->ncpus] = fdt_get_phandle(c->fdt, node);
        nodes[p->ncpus++] = node;
    }
    if (total == 0)
        return dt_fail(c, "dt: /cpus: no enabled cpu nodes");
    if (total > PLAT_MAX_CPUS)
        return dt_fail(c, "dt: /cpus: %d cpus, SR supports %d", total, PLAT_MAX_CPUS);

    assign_clusters(c, cpus, p, &s);
    assign_capacity(p);
    return 0;
}

const char *platform_class_name(enum plat_cpu_class cls)
{
    switch (cls) {
    case PLAT_CLASS_PERFORMANCE:
        return "performance";
    case PLAT_CLASS_EFFICIENCY:
        return "efficiency";
    case PLAT_CLASS_MID:
        return "mid";
    }
    return "unknown";
}
