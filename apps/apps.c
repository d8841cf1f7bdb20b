/* Picks the application from the command line ("sr.crash"; default hello). */
#include <kernel/boot.h>
#include <kernel/cmdline.h>
#include <apps/apps.h>

int apps_main(void)
{
    if (cmdline_has("sr.crash"))
        return crash_main();
    return hello_cores_main();
}
