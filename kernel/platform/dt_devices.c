/*
 * Small fixed devices: the PSCI conduit, the architected timer's PPIs and the
 * virtio-mmio transports.
 */
#include <libfdt.h>

#include "dt_internal.h"

/* First enabled node compatible with one of list[0..n), in list order; else -1. */
static int find_compatible(const struct dt_ctx *c, const char *const *list, int n)
{
    for (int i = 0; i < n; i++) {
        int node = -1;
        while ((node = fdt_node_offset_by_compatible(c->fdt, node, list[i])) >= 0)
            if (dt_okay(c, node))
                return node;
    }
    return -1;
}

int dt_psci(struct dt_ctx *c, struct platform *p)
{
    static const char *const compat[] = {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"};
    char path[DT_PATH_LEN];
    int node = find_compatible(c, compat, 3);
    p->psci = PLAT_PSCI_NONE;
    if (node < 0)
        return 0;

    int len;
    const char *method = fdt_getprop(c->fdt, node, "method", &len);
    if (!method)
        return dt_fail(c, "dt: %s: missing 'method'", dt_path(c, node, path, sizeof(path)));
    if (dt_prop_is(c, node, "method", "hvc"))
        p->psci = PLAT_PSCI_HVC;
    else if (dt_prop_is(c, node, "method", "smc"))
        p->psci = PLAT_PSCI_SMC;
    else if (dt_string(c, node, "method"))
        return dt_fail(c, "dt: %s: bad 'method' \"%.16s\" (need \"hvc\" or \"smc\")",
                       dt_path(c, node, path, sizeof(path)), method);
    else
        return dt_fail(c, "dt: %s: 'method' is not a string",
                       dt_path(c, node, path, sizeof(path)));
    return 0;
}

int dt_timer(struct dt_ctx *c, struct platform *p)
{
    static const char *const compat[] = {"arm,armv8-timer", "arm,armv7-timer"};
    char path[DT_PATH_LEN];
    int node = find_compatible(c, compat, 2);
    if (node < 0)
        return dt_fail(c, "dt: no timer node (arm,armv8-timer)");
    dt_path(c, node, path, sizeof(path));

    int len;
    if (!fdt_getprop(c->fdt, node, "interrupts", &len))
        return dt_fail(c, "dt: %s: missing 'interrupts'", path);
    int need = 4 * (int)c->icells;
    if (len % 4 != 0 || len / 4 < need)
        return dt_fail(c, "dt: %s: 'interrupts' has %d cells, need %d", path, len / 4, need);

    /* Order fixed by the binding: secure phys, non-secure phys, virt, hyp. */
    uint32_t *irq[4] = {&p->timer.sec_phys_irq, &p->timer.phys_irq, &p->timer.virt_irq,
                        &p->timer.hyp_irq};
    for (int i = 0; i < 4; i++) {
        int rc = dt_irq(c, node, i, irq[i]);
        if (rc < 0)
            return -1;
        if (rc > 0)
            return dt_fail(c, "dt: %s: interrupt parent is not the GIC", path);
    }
    return dt_u32(c, node, "clock-frequency", 0, &p->timer.clock_frequency);
}

int dt_virtio(struct dt_ctx *c, struct platform *p)
{
    int node = -1;
    while ((node = fdt_node_offset_by_compatible(c->fdt, node, "virtio,mmio")) >= 0) {
        if (!dt_okay(c, node))
            continue;
        if (p->nvirtio >= PLAT_MAX_VIRTIO)
            break;
        struct plat_virtio *v = &p->virtio[p->nvirtio];
        if (dt_reg(c, node, 0, &v->reg) < 0 || dt_irq(c, node, 0, &v->irq) < 0)
            return -1;
        p->nvirtio++;
    }
    return 0;
}
