/*
 * AArch64 system register fields SR uses, and accessors. Usable from C and
 * from assembly (the C parts are hidden from the assembler).
 */
#ifndef ARCH_SYSREG_H
#define ARCH_SYSREG_H

#ifdef __ASSEMBLY__
#define UL(x)               x
#else
#define UL(x)               x##UL
#endif
#define BIT(n)              (UL(1) << (n))

/* CurrentEL */
#define CURRENTEL_EL(v)     (((v) >> 2) & 3)

/* SCTLR_EL1 */
#define SCTLR_M             (1 << 0)
#define SCTLR_A             (1 << 1)
#define SCTLR_C             (1 << 2)
#define SCTLR_SA            (1 << 3)
#define SCTLR_SA0           (1 << 4)
#define SCTLR_I             (1 << 12)
/* RES1 bits of SCTLR_EL1 (11, 20, 22, 23, 28, 29) plus EOS/EIS (ARMv8.5). */
#define SCTLR_EL1_RES1      0x30d00800

/* HCR_EL2 */
#define HCR_RW              (1 << 31)

/* CNTHCTL_EL2: EL1 may use the physical counter and timer. */
#define CNTHCTL_EL1PCTEN    (1 << 0)
#define CNTHCTL_EL1PCEN     (1 << 1)

/* CPTR_EL2 (non-VHE): RES1 bits, and nothing trapped. */
#define CPTR_EL2_RES1       0x33ff

/* SCR_EL3 */
#define SCR_RW              (1 << 10)

/* ICC_SRE_EL2 (GICv3 system register interface). */
#define ICC_SRE_SRE         (1 << 0)
#define ICC_SRE_ENABLE      (1 << 3)

/* SPSR: EL1h with D, A, I, F masked. */
#define SPSR_EL1H_MASKED    0x3c5

/* CPACR_EL1: FP/SIMD not trapped at EL0/EL1. */
#define CPACR_FPEN_NONE     (3 << 20)

/* MAIR_EL1 attribute indices used by the page tables. */
#define MT_DEVICE_nGnRE     0
#define MT_NORMAL           1
#define MT_NORMAL_NC        2
#define MT_DEVICE_nGnRnE    3
#define MAIR_VALUE          (0x04 | (0xff << 8) | (0x44 << 16) | (0x00 << 24))

/* TCR_EL1: 48-bit VA in TTBR0, 4 KiB granule, cacheable inner-shareable
 * walks, TTBR1 walks disabled. IPS is filled in from ID_AA64MMFR0_EL1. */
#define TCR_T0SZ_48         16
#define TCR_IRGN0_WBWA      (1 << 8)
#define TCR_ORGN0_WBWA      (1 << 10)
#define TCR_SH0_INNER       (3 << 12)
#define TCR_EPD1            (1 << 23)
#define TCR_IPS_SHIFT       32
#define TCR_BASE            (TCR_T0SZ_48 | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER | TCR_EPD1)

/* Page-table descriptors (4 KiB granule). */
#define PTE_VALID           (UL(1) << 0)
#define PTE_TABLE           (UL(1) << 1)   /* level 0-2: next-level table */
#define PTE_PAGE            (UL(1) << 1)   /* level 3: page */
#define PTE_ATTR(idx)       ((idx) << 2)
#define PTE_AP_RO           (UL(1) << 7)   /* AP[2]: read-only */
#define PTE_SH_INNER        (UL(3) << 8)
#define PTE_AF              (UL(1) << 10)
#define PTE_PXN             (UL(1) << 53)
#define PTE_UXN             (UL(1) << 54)
#define PTE_ADDR_MASK       UL(0x0000fffffffff000)

/* ESR_ELx */
#define ESR_EC(esr)         (((esr) >> 26) & 0x3f)
#define ESR_ISS(esr)        ((esr) & 0x1ffffff)
#define EC_UNKNOWN          0x00
#define EC_WFX              0x01
#define EC_FP_ACCESS        0x07
#define EC_ILLEGAL_STATE    0x0e
#define EC_SVC64            0x15
#define EC_HVC64            0x16
#define EC_SMC64            0x17
#define EC_SYSREG           0x18
#define EC_IABT_LOWER       0x20
#define EC_IABT_CUR         0x21
#define EC_PC_ALIGN         0x22
#define EC_DABT_LOWER       0x24
#define EC_DABT_CUR         0x25
#define EC_SP_ALIGN         0x26
#define EC_FP_EXC64         0x2c
#define EC_SERROR           0x2f
#define EC_BREAKPT_LOWER    0x30
#define EC_BREAKPT_CUR      0x31
#define EC_SSTEP_LOWER      0x32
#define EC_SSTEP_CUR        0x33
#define EC_WATCHPT_LOWER    0x34
#define EC_WATCHPT_CUR      0x35
#define EC_BRK64            0x3c

/* DAIF bits for msr daifset/daifclr immediates. */
#define DAIF_IRQ_BIT        2

#ifndef __ASSEMBLY__
#include <stdint.h>

#define read_sysreg(reg)                                        \
    ({                                                          \
        uint64_t v_;                                            \
        __asm__ volatile("mrs %0, " #reg : "=r"(v_));           \
        v_;                                                     \
    })

#define write_sysreg(reg, v)                                    \
    do {                                                        \
        uint64_t v_ = (uint64_t)(v);                            \
        __asm__ volatile("msr " #reg ", %0" : : "r"(v_));       \
    } while (0)

#define isb()      __asm__ volatile("isb" ::: "memory")
#define dsb(opt)   __asm__ volatile("dsb " #opt ::: "memory")
#define dmb(opt)   __asm__ volatile("dmb " #opt ::: "memory")
#define wfi()      __asm__ volatile("wfi" ::: "memory")
#define wfe()      __asm__ volatile("wfe" ::: "memory")
#define sev()      __asm__ volatile("sev" ::: "memory")
#endif

#endif
