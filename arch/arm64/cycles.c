/* The PMU cycle counter (arch/cycles.h). */
#include <arch/cycles.h>

bool arch_has_cycles;

/* ID_AA64DFR0_EL1.PMUVer: 0 no PMU, 0xf an IMPLEMENTATION DEFINED one;
 * anything else is a PMUv3 (1 = v3, 4 = v3p1, ...). */
static bool cpu_has_pmuv3(void)
{
    uint64_t ver = (read_sysreg(id_aa64dfr0_el1) >> 8) & 0xf;
    return ver != 0 && ver != 0xf;
}

#define PMCR_E      BIT(0)    /* enable the counters */
#define PMCR_LC     BIT(6)    /* the cycle counter wraps at 64 bits, not 32 */
#define PMCNTEN_C   BIT(31)   /* the cycle counter's enable bit */

void arch_cycles_init_cpu(bool boot_cpu)
{
    if (boot_cpu)
        arch_has_cycles = cpu_has_pmuv3();
    if (!arch_has_cycles)
        return;
    /* EL2 handed every counter to EL1 (head.S, MDCR_EL2.HPMN). The filter
     * 0: count at EL1 and EL0 (its reset value is not architected). */
    write_sysreg(pmccfiltr_el0, 0);
    write_sysreg(pmcr_el0, read_sysreg(pmcr_el0) | PMCR_E | PMCR_LC);
    write_sysreg(pmcntenset_el0, PMCNTEN_C);
    isb();
}
