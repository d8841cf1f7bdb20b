/*
 * Which console driver serves a UART: the registered drivers (the
 * sr_console_drivers section) matched against the node's compatible strings.
 * Pure: no device access, so host tools (dtinfo) link it with the drivers to
 * report the driver SR would bind.
 */
#include <string.h>

#include <libfdt.h>
#include <kernel/console.h>

extern const struct console_driver *const __start_sr_console_drivers[];
extern const struct console_driver *const __stop_sr_console_drivers[];

const struct console_driver *const *console_drivers(int *n)
{
    *n = (int)(__stop_sr_console_drivers - __start_sr_console_drivers);
    return __start_sr_console_drivers;
}

/* Any of the node's compatible strings (or, for the board's fallback
 * console, its single one) against any the driver supports. */
bool console_driver_supports(const struct console_driver *d, const struct plat_console *con)
{
    for (const char *const *c = d->compatible; *c; c++) {
        if (con->compat_list_len > 0
                ? fdt_stringlist_contains(con->compat_list, con->compat_list_len, *c)
                : strcmp(*c, con->compatible) == 0)
            return true;
    }
    return false;
}

const struct console_driver *console_driver_for(const struct plat_console *con)
{
    int n;
    const struct console_driver *const *d = console_drivers(&n);
    for (int i = 0; con->present && i < n; i++) {
        if (console_driver_supports(d[i], con))
            return d[i];
    }
    return NULL;
}
