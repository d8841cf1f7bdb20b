/*
 * dtinfo FILE.dtb: runs SR's own device-tree discovery (kernel/platform,
 * built natively) on a DTB and prints the platform it finds as JSON, plus the
 * console driver SR would bind (the image's driver table, linked in; no
 * device is touched). A board DTB as shipped has no /memory yet (the boot
 * loader adds it), so a missing memory node prints "memory": [].
 *
 * Exit status: 0 with the JSON on stdout; 1 when the DTB is rejected (the
 * reason on stderr, e.g. "dtinfo: x.dtb: dt: truncated: ..."); 2 on usage or
 * I/O errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kernel/console.h>
#include <kernel/platform.h>

#define DTB_MAX_SIZE (16u << 20)  /* far beyond any real DTB */

/* The whole file in a malloc'd (so 8-byte aligned) buffer; NULL on error. */
static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dtinfo: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(DTB_MAX_SIZE + 1);
    size_t n = buf ? fread(buf, 1, DTB_MAX_SIZE + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || n > DTB_MAX_SIZE) {
        fprintf(stderr, "dtinfo: %s: %s\n", path,
                bad ? "cannot read" : "larger than 16 MiB: not a DTB");
        free(buf);
        return NULL;
    }
    *size = n;
    return buf;
}

/* s as a JSON string (quotes, escapes; control bytes as \u00XX). */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void json_hex(uint64_t v)
{
    printf("\"0x%" PRIx64 "\"", v);
}

static const char *enable_name(enum plat_enable_method m)
{
    switch (m) {
    case PLAT_ENABLE_PSCI:
        return "psci";
    case PLAT_ENABLE_SPIN_TABLE:
        return "spin-table";
    case PLAT_ENABLE_NONE:
        break;
    }
    return NULL;
}

static void print_cpu(int index, const struct plat_cpu *c)
{
    printf("    {\"index\": %d, \"mpidr\": ", index);
    json_hex(c->mpidr);
    printf(", \"cluster\": %d, \"capacity\": %" PRIu32 ", \"class\": ", c->cluster,
           c->capacity);
    json_string(platform_class_name(c->cls));
    if (c->has_power_coeff)
        printf(", \"power_coefficient\": %" PRIu32, c->power_coeff);
    else
        printf(", \"power_coefficient\": null");
    printf(", \"enable_method\": ");
    if (enable_name(c->enable))
        json_string(enable_name(c->enable));
    else
        printf("null");
    printf(", \"release_addr\": ");
    if (c->enable == PLAT_ENABLE_SPIN_TABLE)
        json_hex(c->release_addr);
    else
        printf("null");
    printf("}");
}

static void print_gic(const struct plat_gic *g)
{
    printf("  \"gic\": {\"version\": %d, \"dist\": ", g->version);
    json_hex(g->dist.base);
    printf(", \"cpu_or_redist\": [");
    if (g->version == 3) {
        for (int i = 0; i < g->nredist; i++) {
            printf(i ? ", " : "");
            json_hex(g->redist[i].base);
        }
    } else {
        json_hex(g->cpuif.base);
    }
    printf("]},\n");
}

static void print_console(const struct plat_console *con)
{
    if (!con->present) {
        printf("  \"console\": null,\n");
        return;
    }
    const struct console_driver *drv = console_driver_for(con);
    printf("  \"console\": {\"compatible\": ");
    json_string(con->compatible);
    printf(", \"base\": ");
    json_hex(con->reg.base);
    printf(", \"reg_shift\": %" PRIu32 ", \"baud\": ", con->reg_shift);
    if (con->baud)
        printf("%" PRIu32, con->baud);
    else
        printf("null");
    printf(", \"driver\": ");
    if (drv)
        json_string(drv->name);
    else
        printf("null");
    printf("},\n");
}

static void print_platform(const struct platform *p)
{
    static const char *const psci[] = {[PLAT_PSCI_NONE] = NULL, [PLAT_PSCI_HVC] = "hvc",
                                       [PLAT_PSCI_SMC] = "smc"};
    printf("{\n  \"model\": ");
    json_string(p->model);
    printf(",\n  \"cpus\": [\n");
    for (int i = 0; i < p->ncpus; i++) {
        print_cpu(i, &p->cpus[i]);
        printf(i + 1 < p->ncpus ? ",\n" : "\n");
    }
    printf("  ],\n  \"psci\": ");
    if (psci[p->psci])
        json_string(psci[p->psci]);
    else
        printf("null");
    printf(",\n");
    print_gic(&p->gic);
    /* PPI numbers as the DT writes them (INTID - 16). */
    printf("  \"timer\": {\"virt_ppi\": %" PRIu32 ", \"phys_ppi\": %" PRIu32 "},\n",
           p->timer.virt_irq - 16, p->timer.phys_irq - 16);
    print_console(&p->console);
    printf("  \"memory\": [");
    for (int i = 0; i < p->nmem; i++) {
        printf(i ? ", [" : "[");
        json_hex(p->mem[i].base);
        printf(", ");
        json_hex(p->mem[i].size);
        printf("]");
    }
    printf("]\n}\n");
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: dtinfo FILE.dtb\n"
                        "Prints the platform SR discovers in FILE.dtb as JSON.\n");
        return 2;
    }
    size_t size;
    void *blob = read_file(argv[1], &size);
    if (!blob)
        return 2;
    if (size == 0) {
        fprintf(stderr, "dtinfo: %s: empty file, not a DTB\n", argv[1]);
        free(blob);
        return 1;
    }
    static struct platform plat;
    struct plat_error err;
    int rc = platform_discover_flags(blob, size, PLAT_DISCOVER_MEMORY_OPTIONAL, &plat, &err);
    if (rc != 0) {
        fprintf(stderr, "dtinfo: %s: %s\n", argv[1], err.msg);
        free(blob);
        return 1;
    }
    print_platform(&plat);
    free(blob);
    return fflush(stdout) == 0 ? 0 : 2;
}
