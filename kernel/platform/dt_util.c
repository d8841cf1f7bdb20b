/*
 * Property access helpers for device-tree discovery: bounded, length-checked
 * reads on a blob already validated by fdt_check_full().
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#include "dt_internal.h"

int dt_fail(struct dt_ctx *c, const char *fmt, ...)
{
    if (c->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
        va_end(ap);
    }
    return -1;
}

void dt_copy(char *dst, size_t len, const char *src)
{
    if (len == 0)
        return;
    size_t n = strnlen(src, len - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

const char *dt_path(const struct dt_ctx *c, int node, char *buf, size_t len)
{
    if (fdt_get_path(c->fdt, node, buf, (int)len) == 0)
        return buf;
    int nlen;
    const char *name = fdt_get_name(c->fdt, node, &nlen);
    if (!name)
        dt_copy(buf, len, "(unnamed node)");
    else
        snprintf(buf, len, ".../%.*s", nlen, name);
    return buf;
}

uint32_t dt_be32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint64_t dt_cells_value(const void *p, uint32_t ncells)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (uint32_t i = 0; i < ncells; i++)
        v = v << 32 | dt_be32(b + 4 * i);
    return v;
}

const char *dt_string(const struct dt_ctx *c, int node, const char *name)
{
    int len;
    const char *v = fdt_getprop(c->fdt, node, name, &len);
    if (!v || len <= 0 || !memchr(v, '\0', (size_t)len))
        return NULL;
    return v;
}

bool dt_prop_is(const struct dt_ctx *c, int node, const char *name, const char *value)
{
    int len;
    const char *v = fdt_getprop(c->fdt, node, name, &len);
    size_t n = strlen(value) + 1;
    return v && len >= 0 && (size_t)len == n && memcmp(v, value, n) == 0;
}

bool dt_okay(const struct dt_ctx *c, int node)
{
    if (!fdt_getprop(c->fdt, node, "status", NULL))
        return true;
    return dt_prop_is(c, node, "status", "okay") || dt_prop_is(c, node, "status", "ok");
}

int dt_u32(struct dt_ctx *c, int node, const char *name, uint32_t dflt, uint32_t *v)
{
    int len;
    const void *p = fdt_getprop(c->fdt, node, name, &len);
    if (!p) {
        *v = dflt;
        return 0;
    }
    if (len != 4) {
        char path[DT_PATH_LEN];
        return dt_fail(c, "dt: %s: '%s' has %d bytes, need 4",
                       dt_path(c, node, path, sizeof(path)), name, len);
    }
    *v = dt_be32(p);
    return 0;
}

int dt_u64(struct dt_ctx *c, int node, const char *name, uint64_t *v, bool *present)
{
    int len;
    const void *p = fdt_getprop(c->fdt, node, name, &len);
    *v = 0;
    *present = p != NULL;
    if (!p)
        return 0;
    if (len != 4 && len != 8) {
        char path[DT_PATH_LEN];
        return dt_fail(c, "dt: %s: '%s' has %d bytes, need 4 or 8",
                       dt_path(c, node, path, sizeof(path)), name, len);
    }
    *v = dt_cells_value(p, (uint32_t)len / 4);
    return 0;
}

/* #address-cells / #size-cells of a bus: default when absent, at most 2. */
static int bus_cells(struct dt_ctx *c, int bus, const char *name, uint32_t dflt,
                     uint32_t *v)
{
    if (dt_u32(c, bus, name, dflt, v) < 0)
        return -1;
    if (*v > 2) {
        char path[DT_PATH_LEN];
        return dt_fail(c, "dt: %s: %s = %u, SR reads at most 2",
                       dt_path(c, bus, path, sizeof(path)), name, *v);
    }
    return 0;
}

int dt_addr_cells(struct dt_ctx *c, int bus, uint32_t *ac)
{
    return bus_cells(c, bus, "#address-cells", 2, ac);
}

int dt_size_cells(struct dt_ctx *c, int bus, uint32_t *sc)
{
    return bus_cells(c, bus, "#size-cells", 1, sc);
}

void dt_index_parents(struct dt_ctx *c)
{
    int stack[DT_MAX_DEPTH + 1], depth = 0;
    c->nparents = 0;
    c->indexed_all = false;
    int node;
    for (node = fdt_next_node(c->fdt, -1, &depth); node >= 0 && c->nparents < DT_PARENT_MAX;
         node = fdt_next_node(c->fdt, node, &depth)) {
        if (depth < 0 || depth > DT_MAX_DEPTH)
            return;
        stack[depth] = node;
        if (depth > 0) {
            c->node_off[c->nparents] = node;
            c->phandle_at[c->nparents] = fdt_get_phandle(c->fdt, node);
            c->parent_off[c->nparents++] = stack[depth - 1];
        }
    }
    c->indexed_all = node == -FDT_ERR_NOTFOUND;
}

int dt_node_by_phandle(const struct dt_ctx *c, uint32_t ph)
{
    if (!c->indexed_all)
        return fdt_node_offset_by_phandle(c->fdt, ph);
    if (ph == 0 || ph == ~0u)
        return -FDT_ERR_BADPHANDLE;
    for (int i = 0; i < c->nparents; i++)
        if (c->phandle_at[i] == ph)
            return c->node_off[i];
    return -FDT_ERR_NOTFOUND;
}

/* From the index when the node is in it (offsets ascend: binary search). */
static int parent_of(const struct dt_ctx *c, int node)
{
    int lo = 0, hi = c->nparents;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (c->node_off[mid] < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < c->nparents && c->node_off[lo] == node)
        return c->parent_off[lo];
    return fdt_parent_offset(c->fdt, node);
}

int dt_parent(struct dt_ctx *c, int node)
{
    int parent = parent_of(c, node);
    if (parent < 0) {
        char path[DT_PATH_LEN];
        return dt_fail(c, "dt: %s: no parent node (%s)",
                       dt_path(c, node, path, sizeof(path)), fdt_strerror(parent));
    }
    return parent;
}
