/* Boot command line from /chosen/bootargs. */
#include <string.h>
#include <libfdt.h>
#include <kernel/cmdline.h>

static char cmdline[256];

void cmdline_init(const void *fdt)
{
    int node = fdt_path_offset(fdt, "/chosen");
    int len = 0;
    const char *args = node >= 0 ? fdt_getprop(fdt, node, "bootargs", &len) : NULL;
    if (!args || len <= 0)
        return;
    size_t n = strnlen(args, (size_t)len);
    if (n >= sizeof(cmdline))
        n = sizeof(cmdline) - 1;
    memcpy(cmdline, args, n);
    cmdline[n] = 0;
}

const char *cmdline_get(void) { return cmdline; }

bool cmdline_has(const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = cmdline; *p;) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ' ')
            end++;
        if ((size_t)(end - p) == wl && memcmp(p, word, wl) == 0)
            return true;
        p = end;
    }
    return false;
}

const char *cmdline_value(const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key);
    for (const char *p = cmdline; *p;) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ' ')
            end++;
        if ((size_t)(end - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t n = (size_t)(end - p) - kl - 1;
            if (n >= len)
                n = len - 1;
            memcpy(buf, p + kl + 1, n);
            buf[n] = 0;
            return buf;
        }
        p = end;
    }
    return NULL;
}
