/*
 * Private to kernel/platform: helpers shared by the dt_*.c discovery files.
 *
 * Every helper works on a blob that platform_discover() has already accepted
 * with fdt_check_full(), so libfdt's own walks stay inside the blob. On top of
 * that, helpers check each property's length before reading its value and
 * never assume a value is NUL-terminated. Values are read byte by byte (no
 * alignment assumptions). Errors are reported once, through dt_fail(), as
 * "dt: <node path or subject>: <what is wrong>"; the caller returns -1.
 */
#ifndef KERNEL_PLATFORM_DT_INTERNAL_H
#define KERNEL_PLATFORM_DT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kernel/platform.h>

#define DT_MAX_DEPTH 32  /* bound on walks up the tree (parents, translation) */
#define DT_PATH_LEN  96  /* node paths quoted in error messages */

/* One discovery run. No state outlives platform_discover(). */
/* Parents of the first DT_PARENT_MAX nodes, recorded in one pass (libfdt's
 * fdt_parent_offset rescans the tree from the root on every call). */
#define DT_PARENT_MAX 512

struct dt_ctx {
    const void *fdt;
    struct plat_error *err;
    unsigned flags;  /* PLAT_DISCOVER_* */
    int root;        /* offset of "/" */
    int gic;         /* offset of the chosen GIC node, -1 until dt_gic() ran */
    uint32_t icells; /* the GIC's #interrupt-cells (3 or 4) */
    uint32_t gic_phandle; /* the GIC's phandle, 0 if it has none */
    int nparents;         /* entries in node_off/parent_off, by ascending offset */
    bool indexed_all;     /* the index holds every node but the root */
    int node_off[DT_PARENT_MAX], parent_off[DT_PARENT_MAX];
    uint32_t phandle_at[DT_PARENT_MAX];   /* node_off[i]'s phandle, 0 if none */
};

/* Formats err->msg (when err is not NULL) and returns -1. */
int dt_fail(struct dt_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Full path of node into buf (falls back to the node name when it does not fit). */
const char *dt_path(const struct dt_ctx *c, int node, char *buf, size_t len);

/* Copies a C string into dst[len], truncating, always NUL-terminated. */
void dt_copy(char *dst, size_t len, const char *src);

/* Big-endian cell reads from an unaligned property value. */
uint32_t dt_be32(const void *p);
uint64_t dt_cells_value(const void *p, uint32_t ncells);  /* ncells 0..2 */

/* The node's property `name` when it holds a NUL-terminated first string, else NULL. */
const char *dt_string(const struct dt_ctx *c, int node, const char *name);

/* True when property `name` is exactly the string `value`. */
bool dt_prop_is(const struct dt_ctx *c, int node, const char *name, const char *value);

/* status absent, "okay" or "ok". */
bool dt_okay(const struct dt_ctx *c, int node);

/* u32 property: absent -> *v = dflt, 0; not exactly 4 bytes -> error. */
int dt_u32(struct dt_ctx *c, int node, const char *name, uint32_t dflt, uint32_t *v);

/* u64 property given as 1 or 2 cells: absent -> *present = false, 0. */
int dt_u64(struct dt_ctx *c, int node, const char *name, uint64_t *v, bool *present);

/*
 * A bus node's #address-cells (default 2) or #size-cells (default 1), checked
 * to be at most 2 so values fit in 64 bits.
 */
int dt_addr_cells(struct dt_ctx *c, int bus, uint32_t *ac);
int dt_size_cells(struct dt_ctx *c, int bus, uint32_t *sc);

/* Record every node's parent (once, after the blob is validated). */
void dt_index_parents(struct dt_ctx *c);
/* Parent of a non-root node; on failure reports and returns -1. */
int dt_parent(struct dt_ctx *c, int node);
/* The node with phandle ph (fdt_node_offset_by_phandle's result), from the
 * index when it holds every node: resolving otherwise walks the tree. */
int dt_node_by_phandle(const struct dt_ctx *c, uint32_t ph);

/* Number of entries in node's "reg" (0 when absent), -1 when malformed. */
int dt_reg_count(struct dt_ctx *c, int node);

/*
 * Entry idx of node's "reg", decoded with the parent bus's cells and the base
 * translated to a CPU physical address through the "ranges" of every bus up to
 * the root. A bus without "ranges" stops the translation (the address is kept).
 * size is clamped so that base + size does not wrap past 2^64.
 */
int dt_reg(struct dt_ctx *c, int node, int idx, struct plat_range *r);

/*
 * Interrupt idx of node as a GIC INTID: 0 with *intid set; 1 when the node has
 * no such interrupt or its interrupt parent is not the GIC; -1 when malformed.
 * Needs dt_gic() to have run.
 */
int dt_irq(struct dt_ctx *c, int node, int idx, uint32_t *intid);

/* The discovery steps, in the order platform_discover() runs them. */
int dt_memory(struct dt_ctx *c, struct platform *p);
int dt_reserved(struct dt_ctx *c, struct platform *p);
int dt_cpus(struct dt_ctx *c, struct platform *p);
int dt_psci(struct dt_ctx *c, struct platform *p);
int dt_gic(struct dt_ctx *c, struct platform *p);
int dt_timer(struct dt_ctx *c, struct platform *p);
int dt_console(struct dt_ctx *c, struct platform *p);
int dt_virtio(struct dt_ctx *c, struct platform *p);

/* The cpu's operating points (kernel/platform/dt_opp.c; see struct plat_cpu). */
int dt_cpu_opps(struct dt_ctx *c, int cpu_node, struct plat_cpu *cpu);

#endif
