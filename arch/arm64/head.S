/*
 * arm64 Image header, primary and secondary entry.
 *
 * Contract at primary entry (the Linux arm64 boot protocol, also what QEMU's
 * -kernel and U-Boot's booti provide): x0 = physical address of the DTB (0 when
 * QEMU boots the ELF; C then looks at the start of RAM), MMU off, D-cache off or
 * the image cleaned to PoC, interrupts masked, at EL3, EL2 or EL1, loaded at any
 * 4 KiB-aligned address. The image is linked at SR_LINK_BASE as a static PIE and
 * applies its own R_AARCH64_RELATIVE relocations, so it runs wherever it lands
 * with VA == PA.
 *
 * Register use until C is reached (no stack exists before set_stacks):
 *   x19 = DTB pointer from the loader, x20 = CNTPCT at entry,
 *   x21 = entry exception level, x22 = relocation slide (runtime - link).
 * Every helper called with bl below is a leaf that uses only x0-x8.
 */
#include <arch/asm.h>
#include <arch/sysreg.h>
#include <arch/boot.h>

/* The header is split around image_size, which sr.ld writes as a link-time
 * constant (a .quad of a symbol here would need a relocation in text). */
    .section .head.text, "ax"
FUNCTION(_start)
    b       primary_entry               // code0
    .long   0                           // code1
    .quad   0                           // text_offset: no constraint
END(_start)
    .section .head.tail, "ax"
    .quad   0xa                         // flags: LE, 4 KiB pages, anywhere in RAM
    .quad   0                           // res2
    .quad   0                           // res3
    .quad   0                           // res4
    .ascii  "ARM\x64"                   // magic
    .long   0                           // res5

    .section .text.boot, "ax"

LOCAL_FUNCTION(primary_entry)
    mov     x19, x0
    mrs     x20, cntpct_el0
    mrs     x21, CurrentEL
    ubfx    x21, x21, #2, #2
    cmp     x21, #3
    b.ne    1f
    bl      el3_to_el1
    b       2f
1:  cmp     x21, #2
    b.ne    2f
    bl      el2_to_el1
2:  bl      el1_setup

    /* Clear BSS (16-byte aligned by the linker script), then invalidate it so
     * no stale line from the loader's cached view can shadow the zeroes. */
    adr_l   x0, __bss_start
    adr_l   x1, __bss_end
3:  cmp     x0, x1
    b.hs    4f
    stp     xzr, xzr, [x0], #16
    b       3b
4:  adr_l   x0, __bss_start
    adr_l   x1, __bss_end
    bl      dcache_inval_range

    bl      early_map
    adr_l   x0, early_pt_l0
    bl      mmu_enable
    bl      apply_relocations

    /* The boot CPU's stacks are the spare last slots: its logical id is only
     * known once the DT is read, and secondaries use slots 0..n-1. */
    mov     x0, #ARCH_MAX_CPUS
    bl      set_stacks

    adr_l   x0, boot_info
    stp     x19, x21, [x0]              // dtb, entry_el
    adr_l   x1, _start
    adr_l   x2, _end
    stp     x1, x2, [x0, #16]           // image_start, image_end
    stp     x22, x20, [x0, #32]         // link_slide, entry_counter
    bl      kernel_main
5:  wfi                                 // kernel_main never returns
    b       5b
END(primary_entry)

/*
 * Secondary entry from PSCI CPU_ON: x0 = context_id = logical CPU id.
 * Same state as the primary (MMU off, any EL). Uses the final page tables
 * (mmu_root_table), which the walker reads coherently once the MMU is on.
 */
FUNCTION(secondary_entry)
    mov     x19, x0
    mrs     x21, CurrentEL
    ubfx    x21, x21, #2, #2
    cmp     x21, #2
    b.ne    1f
    bl      el2_to_el1
1:  bl      el1_setup
    adr_l   x0, mmu_root_table
    bl      mmu_enable
    mov     x0, x19
    bl      set_stacks
    mov     x0, x19
    bl      kernel_secondary_main
2:  wfi                                 // kernel_secondary_main never returns
    b       2b
END(secondary_entry)

/*
 * Secondary entry from a spin-table release: no argument, so find our MPIDR
 * in spin_table_mpidrs[] (written and cleaned to PoC before the release; read
 * here with the MMU and caches off). An unknown MPIDR parks forever.
 */
FUNCTION(spin_table_entry)
    mrs     x1, mpidr_el1
    mov64   x2, 0xff00ffffff
    and     x1, x1, x2
    adr_l   x3, spin_table_mpidrs
    mov     x0, #0
1:  ldr     x4, [x3, x0, lsl #3]
    cmp     x4, x1
    b.eq    secondary_entry
    add     x0, x0, #1
    cmp     x0, #ARCH_MAX_CPUS
    b.lo    1b
2:  wfe                                 // not ours to run: park
    b       2b
END(spin_table_entry)

/* EL2 -> EL1: AArch64 EL1, counters and FP untrapped, GICv3 system registers
 * usable from EL1 when the CPU has them, EL1 PMU counters enabled. */
LOCAL_FUNCTION(el2_to_el1)
    mov64   x0, HCR_RW
    msr     hcr_el2, x0
    mrs     x0, cnthctl_el2
    orr     x0, x0, #(CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN)
    msr     cnthctl_el2, x0
    msr     cntvoff_el2, xzr
    mrs     x0, midr_el1
    msr     vpidr_el2, x0
    mrs     x0, mpidr_el1
    msr     vmpidr_el2, x0
    mov     x0, #CPTR_EL2_RES1
    msr     cptr_el2, x0
    msr     hstr_el2, xzr
    mov     x1, xzr                     // MDCR_EL2.HPMN = all counters to EL1:
    mrs     x0, id_aa64dfr0_el1         // PMCR_EL0.N, read only where there is a
    ubfx    x0, x0, #8, #4              // PMUv3 (PMUVer not 0 or 0xf: without
    cbz     x0, 1f                      // one PMCR_EL0 is undefined)
    cmp     x0, #0xf
    b.eq    1f
    mrs     x0, pmcr_el0
    ubfx    x1, x0, #11, #5
1:  msr     mdcr_el2, x1
    mrs     x0, id_aa64pfr0_el1
    ubfx    x0, x0, #24, #4             // GIC system register interface?
    cbz     x0, 1f
    mrs     x0, S3_4_C12_C9_5           // ICC_SRE_EL2
    orr     x0, x0, #ICC_SRE_SRE
    orr     x0, x0, #ICC_SRE_ENABLE
    msr     S3_4_C12_C9_5, x0
    isb
1:  mov64   x0, SCTLR_EL1_RES1
    msr     sctlr_el1, x0
    mov     x0, #SPSR_EL1H_MASKED
    msr     spsr_el2, x0
    adr     x0, 2f
    msr     elr_el2, x0
    eret
2:  ret
END(el2_to_el1)

/* EL3 (e.g. QEMU -M virt,secure=on): no PSCI firmware exists and all CPUs
 * start here together. Park all but affinity 0.0.0.0, drop to secure EL1 and
 * let C report that this entry level is not supported. */
LOCAL_FUNCTION(el3_to_el1)
    mrs     x0, mpidr_el1
    mov64   x1, 0xff00ffffff
    tst     x0, x1
    b.ne    2f
    mov     x0, #SCR_RW
    msr     scr_el3, x0
    msr     cptr_el3, xzr
    mov64   x0, SCTLR_EL1_RES1
    msr     sctlr_el1, x0
    mov     x0, #SPSR_EL1H_MASKED
    msr     spsr_el3, x0
    adr     x0, 1f
    msr     elr_el3, x0
    eret
1:  ret
2:  wfe
    b       2b
END(el3_to_el1)

/* EL1 baseline: MMU and caches off, SP alignment checks on, FP/SIMD usable. */
LOCAL_FUNCTION(el1_setup)
    mov64   x0, (SCTLR_EL1_RES1 | SCTLR_SA)
    msr     sctlr_el1, x0
    mov     x0, #CPACR_FPEN_NONE
    msr     cpacr_el1, x0
    msr     tpidr_el1, xzr
    isb
    ret
END(el1_setup)

/* Invalidate data cache lines covering [x0, x1). */
LOCAL_FUNCTION(dcache_inval_range)
    mrs     x3, ctr_el0
    ubfx    x3, x3, #16, #4
    mov     x2, #4
    lsl     x2, x2, x3                  // line size in bytes
    sub     x3, x2, #1
    bic     x0, x0, x3
1:  dc      ivac, x0
    add     x0, x0, x2
    cmp     x0, x1
    b.lo    1b
    dsb     sy
    ret
END(dcache_inval_range)

/* early_map: identity-map, as 1 GiB normal write-back blocks, the gigabytes
 * holding the image (start and end) and the DTB. Good enough to run C and read
 * the DTB; kernel_main replaces it with the real W^X map (arch/arm64/mmu.c).
 * The DTB is mapped only if it shares the image's 512 GiB L0 slot. */
#define EARLY_BLOCK_ATTRS (PTE_VALID | PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_UXN)

.macro map_gib addr
    lsr     x4, \addr, #30
    and     x4, x4, #0x1ff              // L1 index
    lsr     x5, \addr, #30
    lsl     x5, x5, #30                 // block base
    orr     x5, x5, x6
    str     x5, [x1, x4, lsl #3]
.endm

LOCAL_FUNCTION(early_map)
    adr_l   x0, early_pt_l0
    adr_l   x1, early_pt_l1
    mov64   x6, EARLY_BLOCK_ATTRS
    adr_l   x2, _start
    lsr     x3, x2, #39                 // L0 index of the image
    orr     x4, x1, #(PTE_VALID | PTE_TABLE)
    str     x4, [x0, x3, lsl #3]
    map_gib x2
    adr_l   x7, _end
    map_gib x7
    cbz     x19, 1f
    lsr     x8, x19, #39
    cmp     x8, x3
    b.ne    1f
    map_gib x19
    add     x7, x19, #0x200000          // a DTB is at most 2 MiB
    map_gib x7
1:  dsb     ishst
    ret
END(early_map)

/* mmu_enable: x0 = TTBR0 root. MAIR/TCR as in sysreg.h, IPS from the CPU's
 * physical address range (capped at 48 bits: no 52-bit granule here). */
LOCAL_FUNCTION(mmu_enable)
    mov64   x1, MAIR_VALUE
    msr     mair_el1, x1
    mrs     x1, id_aa64mmfr0_el1
    and     x1, x1, #0xf
    cmp     x1, #5
    mov     x2, #5
    csel    x1, x1, x2, ls
    mov64   x2, TCR_BASE
    orr     x2, x2, x1, lsl #TCR_IPS_SHIFT
    msr     tcr_el1, x2
    msr     ttbr0_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    mrs     x1, sctlr_el1
    orr     x1, x1, #SCTLR_M
    orr     x1, x1, #SCTLR_C
    orr     x1, x1, #SCTLR_I
    msr     sctlr_el1, x1
    isb
    ic      iallu
    dsb     nsh
    isb
    ret
END(mmu_enable)

/* Apply R_AARCH64_RELATIVE relocations: *(off + slide) = addend + slide.
 * Applied even when the slide is 0 (the linker need not pre-fill them).
 * scripts/check-image.py guarantees no other relocation type exists. */
#define R_AARCH64_RELATIVE 1027
LOCAL_FUNCTION(apply_relocations)
    adr_l   x0, _start
    mov64   x1, SR_LINK_BASE
    sub     x22, x0, x1
    adr_l   x2, __rela_start
    adr_l   x3, __rela_end
1:  cmp     x2, x3
    b.hs    3f
    ldp     x4, x5, [x2], #16           // r_offset, r_info
    ldr     x6, [x2], #8                // r_addend
    cmp     w5, #R_AARCH64_RELATIVE
    b.ne    1b
    add     x6, x6, x22
    str     x6, [x4, x22]
    b       1b
3:  dsb     ish
    ret
END(apply_relocations)

/* set_stacks: x0 = stack slot. SP_EL1 = exception stack (exceptions taken to
 * EL1h), SP_EL0 = boot stack; code runs in EL1t on SP_EL0 from here on. */
LOCAL_FUNCTION(set_stacks)
    mov     x1, #EXC_STACK_SIZE
    add     x2, x0, #1
    adr_l   x3, exc_stacks
    madd    x3, x2, x1, x3
    adr_l   x4, boot_stacks
    mov     x1, #BOOT_STACK_SIZE
    madd    x4, x2, x1, x4
    msr     spsel, #1
    mov     sp, x3
    msr     spsel, #0
    mov     sp, x4
    adr_l   x0, exception_vectors
    msr     vbar_el1, x0
    isb
    ret
END(set_stacks)

/* Switch to another identity map: MMU off for a few instructions (nothing
 * here touches data memory), new TTBR0, TLBs flushed, MMU back on. */
FUNCTION(arch_mmu_switch)
    dsb     ish
    mrs     x1, sctlr_el1
    bic     x2, x1, #SCTLR_M
    msr     sctlr_el1, x2
    isb
    msr     ttbr0_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    msr     sctlr_el1, x1
    isb
    ic      iallu
    dsb     nsh
    isb
    ret
END(arch_mmu_switch)

    .section .bss.early_pt, "aw", %nobits
    .balign 4096
early_pt_l0:    .skip 4096
early_pt_l1:    .skip 4096
