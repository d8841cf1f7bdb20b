/* Fixture loading and guarded buffers for the host tests (see host_test.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libfdt.h>

#include "host_test.h"

void *host_fixture_load(const char *name, size_t *size)
{
    const char *path = host_fixture_path(name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        test_fail(__FILE__, __LINE__, "cannot open fixture %s", path);
        return NULL;
    }
    void *buf = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)len);
        if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf) {
        test_fail(__FILE__, __LINE__, "cannot read fixture %s", path);
        return NULL;
    }
    *size = (size_t)len;
    return buf;
}

void *host_fixture_edit(const char *name, size_t room)
{
    size_t size;
    void *blob = host_fixture_load(name, &size);
    if (!blob)
        return NULL;
    void *buf = malloc(size + room);
    int rc = buf ? fdt_open_into(blob, buf, (int)(size + room)) : -FDT_ERR_NOSPACE;
    free(blob);
    if (rc != 0) {
        test_fail(__FILE__, __LINE__, "fdt_open_into(%s): %s", name, fdt_strerror(rc));
        free(buf);
        return NULL;
    }
    return buf;
}

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

void *host_guarded_alloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = round_up(size ? size : 1, page);
    uint8_t *base = mmap(NULL, body + 2 * page, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        abort();
    if (mprotect(base, page, PROT_NONE) != 0 ||
        mprotect(base + page + body, page, PROT_NONE) != 0)
        abort();
    /* body - round_up(size, 8) < page: the buffer starts in the first body page. */
    return base + page + (body - round_up(size, 8));
}

void host_guarded_free(void *p, size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = round_up(size ? size : 1, page);
    uint8_t *base = (uint8_t *)((uintptr_t)p & ~(uintptr_t)(page - 1)) - page;
    munmap(base, body + 2 * page);
}
