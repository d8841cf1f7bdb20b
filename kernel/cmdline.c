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

/* The word starting at or after *p (space-separated); advances *p past it.
 * Returns its length, 0 at the end of the line. */
static size_t next_word(const char **p, const char **word)
{
    const char *q = *p;
    while (*q == ' ')
        q++;
    const char *end = q;
    while (*end && *end != ' ')
        end++;
    *word = q;
    *p = end;
    return (size_t)(end - q);
}

bool cmdline_has(const char *word)
{
    size_t wl = strlen(word), n;
    const char *p = cmdline, *w;
    while ((n = next_word(&p, &w)))
        if (n == wl && memcmp(w, word, wl) == 0)
            return true;
    return false;
}

const char *cmdline_value(const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key), n;
    const char *p = cmdline, *w;
    while ((n = next_word(&p, &w))) {
        if (n > kl && memcmp(w, key, kl) == 0 && w[kl] == '=') {
            size_t vl = n - kl - 1;
            if (vl >= len)
                vl = len - 1;
            memcpy(buf, w + kl + 1, vl);
            buf[vl] = 0;
            return buf;
        }
    }
    return NULL;
}
