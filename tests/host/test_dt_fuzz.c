/*
 * Robustness of platform_discover() against truncated and corrupted blobs.
 * Each case runs twice: on a malloc'd buffer of exactly the bytes passed as
 * max_size (ASan reports any read outside it by SR code or libc), and on a
 * buffer between guard pages (uninstrumented libfdt faults on reads outside
 * it); both runs must agree. Every result must be 0 or -1 with a message; a
 * success must still describe a sane platform.
 */
#include <stdio.h>
#include <stdlib.h>

#include <kernel/platform.h>
#include <libfdt.h>

#include "host_test.h"

static const char *const bases[] = {"qemu-virt-bl.dtb", "rk3399.dtb", "gic-bus.dtb",
                                    "three-level.dtb", "spin-table.dtb"};
#define NBASES ((int)(sizeof(bases) / sizeof(bases[0])))

static struct platform plat;
static struct plat_error err;

/*
 * Discovers buf[0..len) and checks the outcome's invariants; false on a
 * violation. *accepted tells whether discovery succeeded.
 */
static bool check_one(const void *buf, size_t len, const char *what, long iter, bool *accepted)
{
    memset(&err, 0, sizeof(err));
    int rc = platform_discover(buf, len, &plat, &err);
    *accepted = rc == 0;
    if (rc == -1) {
        if (err.msg[0] == '\0' || strncmp(err.msg, "dt: ", 4) != 0) {
            test_fail(__FILE__, __LINE__, "%s #%ld: -1 with message \"%s\"", what, iter,
                      err.msg);
            return false;
        }
        return true;
    }
    if (rc != 0) {
        test_fail(__FILE__, __LINE__, "%s #%ld: returned %d", what, iter, rc);
        return false;
    }
    bool sane = plat.ncpus >= 1 && plat.ncpus <= PLAT_MAX_CPUS && plat.nmem >= 1 &&
                plat.nmem <= PLAT_MAX_MEM && plat.nreserved >= 0 &&
                plat.nreserved <= PLAT_MAX_RESERVED && plat.nvirtio >= 0 &&
                plat.nvirtio <= PLAT_MAX_VIRTIO && plat.nclusters >= 1 &&
                plat.nclusters <= plat.ncpus && (plat.gic.version == 2 || plat.gic.version == 3);
    for (int i = 0; sane && i < plat.ncpus; i++)
        sane = plat.cpus[i].cluster >= 0 && plat.cpus[i].cluster < plat.nclusters &&
               plat.cpus[i].capacity >= 1 && plat.cpus[i].capacity <= 1024 &&
               memchr(plat.cpus[i].compatible, '\0', PLAT_NAME_LEN) != NULL;
    sane = sane && memchr(plat.model, '\0', sizeof(plat.model)) != NULL &&
           memchr(plat.console.path, '\0', sizeof(plat.console.path)) != NULL &&
           plat.console.compat_list_len >= 0 &&
           plat.console.compat_list_len <= (int)sizeof(plat.console.compat_list);
    if (!sane) {
        test_fail(__FILE__, __LINE__, "%s #%ld: success with an inconsistent platform", what,
                  iter);
        return false;
    }
    struct plat_range usable[8];
    int n = platform_usable_memory(&plat, NULL, 0, usable, 8);
    if (n < 0 || n > 8) {
        test_fail(__FILE__, __LINE__, "%s #%ld: usable memory count %d", what, iter, n);
        return false;
    }
    return true;
}

/* Every prefix of a valid blob, as is and with totalsize claiming the prefix. */
TEST(dt_fuzz, every_truncation)
{
    for (int b = 0; b < NBASES; b++) {
        size_t size;
        uint8_t *blob = host_fixture_load(bases[b], &size);
        if (!blob)
            return;
        for (size_t n = 1; n < size; n++) {
            for (int patch = 0; patch < 2; patch++) {
                if (patch && n < sizeof(struct fdt_header))
                    continue;
                uint8_t *buf = malloc(n), *guarded = host_guarded_alloc(n);
                memcpy(buf, blob, n);
                if (patch)
                    fdt_set_totalsize(buf, (uint32_t)n);
                memcpy(guarded, buf, n);
                for (int g = 0; g < 2; g++) {
                    int rc = platform_discover(g ? guarded : buf, n, &plat, &err);
                    if (rc != -1 || err.msg[0] == '\0')
                        test_fail(__FILE__, __LINE__, "%s cut at %zu%s: rc %d, \"%s\"",
                                  bases[b], n, patch ? " (totalsize patched)" : "", rc,
                                  err.msg);
                }
                host_guarded_free(guarded, n);
                free(buf);
            }
        }
        free(blob);
    }
}

/* xorshift64*: deterministic, seeded per run. */
static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t interesting(uint32_t orig, uint32_t size)
{
    switch (rng() % 8) {
    case 0: return 0;
    case 1: return 0xffffffffu;
    case 2: return size;
    case 3: return size + 1 + (uint32_t)(rng() % 64);
    case 4: return orig + (uint32_t)(rng() % 16) - 8;
    case 5: return (uint32_t)rng();
    case 6: return orig ^ (1u << (rng() % 32));
    default: return 0x80000000u | (uint32_t)(rng() % 64);
    }
}

static void mutate(uint8_t *buf, uint32_t size)
{
    /* header fields worth corrupting: totalsize, off_dt_struct, off_dt_strings,
     * off_mem_rsvmap, version, last_comp_version, size_dt_strings, size_dt_struct */
    static const int fields[] = {4, 8, 12, 16, 20, 24, 32, 36};
    int count = 1 + (int)(rng() % 4);
    for (int k = 0; k < count; k++) {
        uint32_t pos = (uint32_t)(rng() % size);
        switch (rng() % 6) {
        case 0:
            buf[pos] ^= (uint8_t)(1u << (rng() % 8));
            break;
        case 1:
            buf[pos] = (uint8_t)rng();
            break;
        case 2: {
            int f = fields[rng() % (sizeof(fields) / sizeof(fields[0]))];
            uint32_t v = interesting(fdt32_ld((const fdt32_t *)(buf + f)), size);
            fdt32_st(buf + f, v);
            break;
        }
        case 3:  /* a structure token (FDT_BEGIN_NODE..FDT_END) on a cell boundary */
            pos &= ~3u;
            if (pos + 4 <= size)
                fdt32_st(buf + pos, 1 + (uint32_t)(rng() % 9));
            break;
        case 4:  /* a small cell value: lengths, cell counts, phandles */
            pos &= ~3u;
            if (pos + 4 <= size)
                fdt32_st(buf + pos, (uint32_t)(rng() % 5));
            break;
        default:
            buf[pos] = 0;
            break;
        }
    }
}

TEST(dt_fuzz, random_mutations)
{
    enum { ITERATIONS = 20000 };
    uint8_t *blob[NBASES];
    size_t size[NBASES];
    for (int b = 0; b < NBASES; b++) {
        blob[b] = host_fixture_load(bases[b], &size[b]);
        if (!blob[b])
            return;
    }
    rng_state = 0x5eed5eed12345678ull;
    int accepted = 0;
    for (long i = 0; i < ITERATIONS; i++) {
        int b = (int)(i % NBASES);
        uint8_t *buf = malloc(size[b]);
        memcpy(buf, blob[b], size[b]);
        mutate(buf, (uint32_t)size[b]);
        uint8_t *guarded = host_guarded_alloc(size[b]);
        memcpy(guarded, buf, size[b]);
        bool acc, acc_guarded;
        bool ok = check_one(buf, size[b], bases[b], i, &acc);
        char msg[PLAT_ERR_LEN];
        memcpy(msg, err.msg, sizeof(msg));
        ok = ok && check_one(guarded, size[b], bases[b], i, &acc_guarded);
        if (ok && (acc != acc_guarded || strcmp(msg, err.msg) != 0)) {
            test_fail(__FILE__, __LINE__, "%s #%ld: result depends on the buffer: \"%s\" vs \"%s\"",
                      bases[b], i, msg, err.msg);
            ok = false;
        }
        accepted += acc;
        host_guarded_free(guarded, size[b]);
        free(buf);
        if (!ok)
            break;
    }
    /* Most mutations hit property data or names and still parse. */
    EXPECT_GT(accepted, ITERATIONS / 10);
    EXPECT_LT(accepted, ITERATIONS);
    for (int b = 0; b < NBASES; b++)
        free(blob[b]);
}
