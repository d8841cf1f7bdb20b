/* Semihosting: availability probe and SYS_EXIT (used to hand test results
 * and the exit status back to QEMU's command line). */
#include <arch/semihost.h>

#define SYS_EXIT                    0x18
#define SYS_TIME                    0x11
#define ADP_STOPPED_APPLICATIONEXIT 0x20026

static bool available;

void semihost_probe(void)
{
    available = arch_semihost_call(SYS_TIME, 0) != -1;
}

bool semihost_available(void) { return available; }

void semihost_exit(int code)
{
    if (!available)
        return;
    uint64_t block[2] = {ADP_STOPPED_APPLICATIONEXIT, (uint64_t)(int64_t)code};
    arch_semihost_call(SYS_EXIT, block);
}
