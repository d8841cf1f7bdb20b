/*
 * platform_discover(): validate the blob as a whole, then fill struct platform
 * one subsystem at a time (dt_memory.c, dt_cpus.c, dt_gic.c, ...).
 *
 * Invariant: nothing walks the tree before fdt_check_full() accepted it within
 * the caller's bound, so every later libfdt call stays inside the blob.
 */
#include <string.h>

#include <libfdt.h>

#include "dt_internal.h"

#define FDT_MIN_VERSION 17  /* size_dt_struct / size_dt_strings present */

static int check_blob(struct dt_ctx *c, const void *fdt, size_t max_size)
{
    if (!fdt)
        return dt_fail(c, "dt: no device tree (null pointer)");
    if (max_size != 0 && max_size < sizeof(struct fdt_header))
        return dt_fail(c, "dt: truncated: %zu bytes, the header alone is %zu", max_size,
                       sizeof(struct fdt_header));
    int rc = fdt_check_header(fdt);
    if (rc != 0)
        return dt_fail(c, "dt: bad header (%s)", fdt_strerror(rc));
    if (fdt_version(fdt) < FDT_MIN_VERSION)
        return dt_fail(c, "dt: bad header: version %u, need >= %d", fdt_version(fdt),
                       FDT_MIN_VERSION);
    size_t total = fdt_totalsize(fdt);
    if (max_size != 0 && total > max_size)
        return dt_fail(c, "dt: truncated: header says %zu bytes, buffer holds %zu", total,
                       max_size);
    rc = fdt_check_full(fdt, total);
    if (rc != 0)
        return dt_fail(c, "dt: corrupt blob (%s)", fdt_strerror(rc));
    c->root = fdt_path_offset(fdt, "/");
    if (c->root < 0 || !fdt_get_name(fdt, c->root, NULL))
        return dt_fail(c, "dt: corrupt blob (no root node)");
    dt_index_parents(c);
    return 0;
}

/* Root "model", else the first root compatible string, else "". */
static void read_model(const struct dt_ctx *c, struct platform *p)
{
    const char *model = dt_string(c, c->root, "model");
    if (!model)
        model = dt_string(c, c->root, "compatible");
    dt_copy(p->model, sizeof(p->model), model ? model : "");
}

int platform_discover(const void *fdt, size_t max_size, struct platform *out,
                      struct plat_error *err)
{
    return platform_discover_flags(fdt, max_size, 0, out, err);
}

int platform_discover_flags(const void *fdt, size_t max_size, unsigned flags,
                            struct platform *out, struct plat_error *err)
{
    struct dt_ctx c = {.fdt = fdt, .err = err, .flags = flags, .root = -1, .gic = -1,
                       .icells = 3};
    if (err)
        err->msg[0] = '\0';
    if (!out)
        return dt_fail(&c, "dt: no output structure");
    memset(out, 0, sizeof(*out));
    if (check_blob(&c, fdt, max_size) < 0)
        return -1;

    read_model(&c, out);
    if (dt_memory(&c, out) < 0 || dt_reserved(&c, out) < 0 || dt_cpus(&c, out) < 0 ||
        dt_psci(&c, out) < 0 || dt_gic(&c, out) < 0 || dt_timer(&c, out) < 0 ||
        dt_console(&c, out) < 0 || dt_virtio(&c, out) < 0)
        return -1;
    out->dtb.base = (uintptr_t)fdt;
    out->dtb.size = fdt_totalsize(fdt);
    return 0;
}
