/*
 * The platform description: everything SR learns about the machine from the
 * device tree, as plain data. Produced once at boot by platform_discover()
 * (kernel/platform/dt_discover.c, which also builds and runs on the host) and
 * read-only afterwards. Nothing in here is hard-coded per board.
 */
#ifndef KERNEL_PLATFORM_H
#define KERNEL_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAT_MAX_CPUS      32
#define PLAT_MAX_MEM       16
#define PLAT_MAX_RESERVED  32
#define PLAT_MAX_VIRTIO    32
#define PLAT_MAX_GICR      8
#define PLAT_NAME_LEN      48
#define PLAT_ERR_LEN       160
#define PLAT_MAX_OPPS      16

/* A physical address range [base, base + size). */
struct plat_range {
    uint64_t base;
    uint64_t size;
};

enum plat_enable_method {
    PLAT_ENABLE_NONE = 0,     /* no (known) enable-method: cannot be started */
    PLAT_ENABLE_PSCI,
    PLAT_ENABLE_SPIN_TABLE,
};

enum plat_psci_conduit {
    PLAT_PSCI_NONE = 0,
    PLAT_PSCI_HVC,
    PLAT_PSCI_SMC,
};

/* Derived from the normalised capacities: never read from a table of boards. */
enum plat_cpu_class {
    PLAT_CLASS_PERFORMANCE = 0, /* within 10% of the largest capacity (all if uniform) */
    PLAT_CLASS_EFFICIENCY,      /* else within 10% of the smallest */
    PLAT_CLASS_MID,             /* in between */
};

/* One operating point of a cpu's operating-points-v2 table. */
struct plat_opp {
    uint32_t mhz;                    /* opp-hz / 1e6 */
    uint32_t uv;                     /* first (target) opp-microvolt cell */
};

struct plat_cpu {
    uint64_t mpidr;                  /* from reg; affinity fields only */
    enum plat_enable_method enable;
    uint64_t release_addr;           /* spin-table cpu-release-addr, else 0 */
    uint32_t dmips_mhz;              /* capacity-dmips-mhz, 0 when absent */
    uint32_t capacity;               /* normalised: the largest core is 1024 */
    uint32_t power_coeff;            /* dynamic-power-coefficient */
    bool has_power_coeff;
    int cluster;                     /* index in cpu-map order, 0 when no cpu-map */
    enum plat_cpu_class cls;
    char compatible[PLAT_NAME_LEN];  /* first string of compatible */
    /* operating-points-v2: the enabled OPPs, ascending frequency (the highest
     * PLAT_MAX_OPPS when there are more); nopps = 0 when the cpu has no usable
     * table. Cpus with the same opp_table (its phandle) share a frequency. */
    uint32_t opp_table;
    int nopps;
    struct plat_opp opps[PLAT_MAX_OPPS];
};

struct plat_gic {
    int version;                     /* 2 or 3 */
    struct plat_range dist;
    struct plat_range cpuif;         /* v2: GICC */
    struct plat_range redist[PLAT_MAX_GICR]; /* v3: redistributor regions */
    int nredist;
    uint64_t redist_stride;          /* v3: redistributor-stride, 0 = from GICR_TYPER */
};

/* INTIDs (already converted from the DT's PPI numbers: INTID = 16 + n). */
struct plat_timer {
    uint32_t sec_phys_irq;
    uint32_t phys_irq;
    uint32_t virt_irq;
    uint32_t hyp_irq;
    uint32_t clock_frequency;        /* from the node, 0 when absent (use CNTFRQ) */
};

struct plat_console {
    bool present;
    char path[64];                   /* node path stdout-path resolved to */
    char compatible[PLAT_NAME_LEN];  /* first compatible string */
    /* Every compatible string, NUL-separated, whole strings only (a driver may
     * bind by a later one: RK3399's is "rockchip,rk3399-uart\0snps,dw-apb-uart").
     * Match with fdt_stringlist_contains(compat_list, compat_list_len, name). */
    char compat_list[96];
    int compat_list_len;
    struct plat_range reg;
    uint32_t reg_shift;
    uint32_t reg_io_width;           /* bytes, default 1 */
    uint32_t irq;                    /* INTID, 0 when none */
    uint32_t baud;                   /* from stdout-path options, 0 when not given */
    uint32_t clock_hz;               /* clock-frequency, 0 when unknown */
};

struct plat_virtio {
    struct plat_range reg;
    uint32_t irq;                    /* INTID */
};

struct platform {
    char model[64];

    struct plat_range mem[PLAT_MAX_MEM];          /* memory nodes, sorted by base */
    int nmem;
    struct plat_range reserved[PLAT_MAX_RESERVED]; /* /memreserve/ + /reserved-memory */
    int nreserved;

    struct plat_cpu cpus[PLAT_MAX_CPUS];          /* DT order; index = logical CPU id */
    int ncpus;
    int nclusters;

    enum plat_psci_conduit psci;
    struct plat_gic gic;
    struct plat_timer timer;
    struct plat_console console;
    struct plat_virtio virtio[PLAT_MAX_VIRTIO];
    int nvirtio;

    struct plat_range dtb;                        /* the blob itself (totalsize) */
};

/* Error detail: what is missing or malformed, with the node path. */
struct plat_error {
    char msg[PLAT_ERR_LEN];
};

/*
 * Fill *out from the flattened device tree at fdt. max_size bounds every read
 * (pass the size of the buffer that holds the blob when known, else 0 for "trust
 * the header"). Returns 0 on success; on failure returns -1 and err->msg names
 * the failure (e.g. "dt: /cpus: no cpu nodes"). Never reads outside the blob.
 * Optional parts (console, virtio, reserved memory, topology) are simply absent.
 */
int platform_discover(const void *fdt, size_t max_size, struct platform *out,
                      struct plat_error *err);

/* A board DTB as shipped, before the boot loader added /memory: a missing
 * memory node leaves nmem == 0 instead of failing (host tools only). */
#define PLAT_DISCOVER_MEMORY_OPTIONAL (1u << 0)

/* platform_discover() with PLAT_DISCOVER_* flags. */
int platform_discover_flags(const void *fdt, size_t max_size, unsigned flags,
                            struct platform *out, struct plat_error *err);

/* Short lower-case name of a class ("performance", "efficiency", "mid"). */
const char *platform_class_name(enum plat_cpu_class cls);

/*
 * Usable RAM: plat->mem minus plat->reserved, minus the extra ranges given
 * (image, DTB, ...). Writes at most max ranges, page aligned (4 KiB, inward),
 * sorted; returns how many. Pure: no side effects.
 */
int platform_usable_memory(const struct platform *plat, const struct plat_range *extra,
                           int nextra, struct plat_range *out, int max);

#endif
