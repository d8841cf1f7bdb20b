/* PSCI calls over the conduit discovered from the DT. */
#include <arch/psci.h>

#define PSCI_0_2_VERSION        0x84000000u
#define PSCI_0_2_CPU_OFF        0x84000002u
#define PSCI_0_2_SYSTEM_OFF     0x84000008u
#define PSCI_0_2_CPU_ON_64      0xc4000003u

static enum plat_psci_conduit conduit = PLAT_PSCI_NONE;

void psci_init(enum plat_psci_conduit c) { conduit = c; }
bool psci_available(void) { return conduit != PLAT_PSCI_NONE; }

static int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
    register uint64_t x0 __asm__("x0") = fn;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;

    if (conduit == PLAT_PSCI_HVC)
        __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    else if (conduit == PLAT_PSCI_SMC)
        __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    else
        return PSCI_NOT_SUPPORTED;
    return (int64_t)x0;
}

int32_t psci_version(void) { return (int32_t)psci_call(PSCI_0_2_VERSION, 0, 0, 0); }

int32_t psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context)
{
    return (int32_t)psci_call(PSCI_0_2_CPU_ON_64, mpidr, entry, context);
}

void psci_system_off(void) { psci_call(PSCI_0_2_SYSTEM_OFF, 0, 0, 0); }

const char *psci_error_name(int32_t err)
{
    static const char *const names[] = {
        "SUCCESS", "NOT_SUPPORTED", "INVALID_PARAMETERS", "DENIED", "ALREADY_ON",
        "ON_PENDING", "INTERNAL_FAILURE", "NOT_PRESENT", "DISABLED", "INVALID_ADDRESS",
    };
    if (err <= 0 && err >= -9)
        return names[-err];
    return "UNKNOWN";
}
