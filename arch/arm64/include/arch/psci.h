/* PSCI (Arm DEN 0022) client over the conduit the DT names (hvc or smc). */
#ifndef ARCH_PSCI_H
#define ARCH_PSCI_H

#include <stdint.h>
#include <kernel/platform.h>

#define PSCI_SUCCESS            0
#define PSCI_NOT_SUPPORTED      -1

void psci_init(enum plat_psci_conduit conduit);
bool psci_available(void);
/* PSCI_VERSION: major << 16 | minor, or a negative PSCI error. */
int32_t psci_version(void);
/* CPU_ON: start mpidr at entry (physical) with x0 = context. */
int32_t psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context);
/* SYSTEM_OFF: only returns if it failed. */
void psci_system_off(void);
/* Human name of a PSCI return code ("ALREADY_ON", ...). */
const char *psci_error_name(int32_t err);

#endif
