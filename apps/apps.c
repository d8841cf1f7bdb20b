/* Picks the application from the command line ("sr.crash", "sr.panic",
 * "sr.async1m"; default: hello from every core, then the demo apps). */
#include <kernel/boot.h>
#include <kernel/cmdline.h>
#include <apps/apps.h>

int apps_main(void)
{
    if (cmdline_has("sr.crash"))
        return crash_main();
    if (cmdline_has("sr.panic"))
        return panic_main();
    if (cmdline_has("sr.async1m"))
        return async_million_main();
    int r = hello_cores_main();
    if (cmdline_has("sr.hello"))
        return r;
    return demo_main() | r;
}
