/*
 * The console: /chosen "stdout-path" (or the legacy "linux,stdout-path"),
 * "<path-or-alias>[:<options>]" with options like "115200n8". A missing,
 * unresolvable, disabled or reg-less console only leaves console.present
 * false; a console node with malformed properties is an error.
 */
#include <string.h>

#include <libfdt.h>

#include "dt_internal.h"

#define ALIAS_PATH_LEN 128

/*
 * Node for path[0..len): absolute, or "alias[/rest]" through /aliases. The
 * alias value is checked to be an absolute, NUL-terminated path first (libfdt
 * would otherwise run strlen over it).
 */
static int resolve(const struct dt_ctx *c, const char *path, size_t len)
{
    if (len == 0 || len > ALIAS_PATH_LEN)
        return -1;
    if (path[0] == '/')
        return fdt_path_offset_namelen(c->fdt, path, (int)len);

    const char *slash = memchr(path, '/', len);
    size_t nlen = slash ? (size_t)(slash - path) : len;
    int aliases = fdt_path_offset(c->fdt, "/aliases");
    if (aliases < 0)
        return -1;
    int vlen;
    const char *v = fdt_getprop_namelen(c->fdt, aliases, path, (int)nlen, &vlen);
    if (!v || vlen < 2 || v[0] != '/' || !memchr(v, '\0', (size_t)vlen))
        return -1;

    char full[ALIAS_PATH_LEN + 1];
    size_t vl = strlen(v), rest = len - nlen;
    if (vl + rest > ALIAS_PATH_LEN)
        return -1;
    memcpy(full, v, vl);
    memcpy(full + vl, path + nlen, rest);
    return fdt_path_offset_namelen(c->fdt, full, (int)(vl + rest));
}

/* Leading decimal digits of the options ("1500000n8" -> 1500000); 0 if none. */
static uint32_t parse_baud(const char *opt)
{
    uint64_t v = 0;
    for (; *opt >= '0' && *opt <= '9'; opt++) {
        v = v * 10 + (uint64_t)(*opt - '0');
        if (v > UINT32_MAX)
            return 0;
    }
    return (uint32_t)v;
}

/* The whole strings of node's "compatible" that fit in con->compat_list. */
static void copy_compat_list(const struct dt_ctx *c, int node, struct plat_console *con)
{
    int len;
    const char *v = fdt_getprop(c->fdt, node, "compatible", &len);
    int used = 0;
    while (v && used < len) {
        const char *end = memchr(v + used, '\0', (size_t)(len - used));
        if (!end)
            break;
        int n = (int)(end - (v + used)) + 1;
        if (used + n > (int)sizeof(con->compat_list))
            break;
        memcpy(con->compat_list + used, v + used, (size_t)n);
        used += n;
    }
    con->compat_list_len = used;
}

/* clock-frequency of the first "clocks" provider when it is a fixed-clock, else 0. */
static uint32_t fixed_clock_hz(const struct dt_ctx *c, int node)
{
    int len;
    const void *clocks = fdt_getprop(c->fdt, node, "clocks", &len);
    if (!clocks || len < 4)
        return 0;
    int clk = dt_node_by_phandle(c, dt_be32(clocks));
    if (clk < 0 || fdt_node_check_compatible(c->fdt, clk, "fixed-clock") != 0)
        return 0;
    const void *hz = fdt_getprop(c->fdt, clk, "clock-frequency", &len);
    return hz && len == 4 ? dt_be32(hz) : 0;
}

int dt_console(struct dt_ctx *c, struct platform *p)
{
    struct plat_console *con = &p->console;
    int chosen = fdt_path_offset(c->fdt, "/chosen");
    if (chosen < 0)
        return 0;
    const char *sp = dt_string(c, chosen, "stdout-path");
    if (!sp)
        sp = dt_string(c, chosen, "linux,stdout-path");
    if (!sp)
        return 0;

    const char *colon = strchr(sp, ':');
    int node = resolve(c, sp, colon ? (size_t)(colon - sp) : strlen(sp));
    if (node < 0 || !dt_okay(c, node) || !fdt_getprop(c->fdt, node, "reg", NULL))
        return 0;

    const char *compat = dt_string(c, node, "compatible");
    dt_copy(con->compatible, sizeof(con->compatible), compat ? compat : "");
    copy_compat_list(c, node, con);
    dt_path(c, node, con->path, sizeof(con->path));
    if (dt_reg(c, node, 0, &con->reg) < 0 ||
        dt_u32(c, node, "reg-shift", 0, &con->reg_shift) < 0 ||
        dt_u32(c, node, "reg-io-width", 1, &con->reg_io_width) < 0 ||
        dt_u32(c, node, "clock-frequency", 0, &con->clock_hz) < 0 ||
        dt_irq(c, node, 0, &con->irq) < 0)
        return -1;
    if (con->clock_hz == 0)
        con->clock_hz = fixed_clock_hz(c, node);
    con->baud = colon ? parse_baud(colon + 1) : 0;
    con->present = true;
    return 0;
}
