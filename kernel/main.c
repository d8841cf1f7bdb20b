/*
 * Boot sequence of the boot CPU, from the first C instruction to the
 * application (or the in-image test suite):
 *
 *   find the DTB -> discover the platform -> real page tables (W^X, devices)
 *   -> console -> identify the boot CPU -> interrupts, timer -> secondaries
 *   -> topology report -> apps or tests -> exit.
 *
 * Until the console is bound nothing can be printed; a failure before that
 * is reported through the board's fallback console (SR_EARLYCON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>
#include <arch/boot.h>
#include <arch/cpu.h>
#include <arch/cycles.h>
#include <arch/mmu.h>
#include <arch/psci.h>
#include <arch/semihost.h>
#include <arch/timer.h>
#include <kernel/boot.h>
#include <kernel/clock.h>
#include <kernel/cmdline.h>
#include <kernel/console.h>
#include <kernel/io.h>
#include <kernel/irq.h>
#include <kernel/libc.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <kernel/mm.h>
#include <kernel/sched.h>
#include <kernel/task.h>

struct platform platform;
struct boot_state boot_state;
const void *dtb_fdt;

#define GIB (1ull << 30)

static bool fdt_magic_at(uint64_t addr)
{
    const uint8_t *p = (const uint8_t *)addr;
    return addr && (addr & 7) == 0 && p[0] == 0xd0 && p[1] == 0x0d && p[2] == 0xfe && p[3] == 0xed;
}

/* x0 from the loader; else (QEMU's ELF boot) the start of the RAM gigabyte
 * the image sits in, where QEMU puts the DTB. Both are in the early map. */
static uint64_t find_dtb(void)
{
    if (fdt_magic_at(boot_info.dtb))
        return boot_info.dtb;
    uint64_t ram_guess = boot_info.image_start & ~(GIB - 1);
    if (!boot_info.dtb && fdt_magic_at(ram_guess))
        return ram_guess;
    return 0;
}

/* Parse "compatible:0xbase[:reg-shift:reg-io-width]" (the board's fallback
 * console, BOARD_EARLYCON). A malformed spec leaves con->present false. */
static void earlycon_from_board(struct plat_console *con)
{
    const char *spec = SR_EARLYCON;
    const char *colon = strchr(spec, ':');
    memset(con, 0, sizeof(*con));
    if (!colon || (size_t)(colon - spec) >= sizeof(con->compatible))
        return;
    memcpy(con->compatible, spec, (size_t)(colon - spec));
    char *end;
    con->reg.base = strtoull(colon + 1, &end, 16);
    con->reg.size = 0x1000;
    con->reg_io_width = 1;
    if (*end == ':') {
        con->reg_shift = (uint32_t)strtoul(end + 1, &end, 10);
        if (*end != ':')
            return;
        con->reg_io_width = (uint32_t)strtoul(end + 1, &end, 10);
    }
    con->present = *end == '\0';
}

/* Nothing can be printed before the console is mapped: remember the first
 * failure; kernel_main reports it once the console works. */
static void map_or_note(uint64_t base, uint64_t size, enum mmu_type type, const char *what)
{
    if (arch_mmu_map(base, size, type) != 0 && !boot_state.map_error)
        boot_state.map_error = what;
}

/* Image sections with their own permissions (W^X). */
static void map_image(void)
{
    map_or_note((uint64_t)_start, (uint64_t)(__text_end - _start), MMU_TEXT, "text");
    map_or_note((uint64_t)__rodata_start, (uint64_t)(__rodata_end - __rodata_start), MMU_RODATA, "rodata");
    map_or_note((uint64_t)__data_start, (uint64_t)(_end - __data_start), MMU_RAM, "data");
}

/* Usable RAM (minus reserved, the image and the DTB), the DTB read-only,
 * and every device the platform names. Page 0 stays unmapped. */
static void map_platform(const struct platform *p)
{
    struct plat_range extra[3] = {
        {boot_info.image_start, boot_info.image_end - boot_info.image_start},
        {0, 4096},
        {p->dtb.base & ~0xfffull, ((p->dtb.base & 0xfff) + p->dtb.size + 0xfff) & ~0xfffull},
    };
    int n = platform_usable_memory(p, extra, 3, boot_state.ram, BOOT_MAX_RAM_RANGES);
    boot_state.nram = n;
    for (int i = 0; i < n; i++)
        map_or_note(boot_state.ram[i].base, boot_state.ram[i].size, MMU_RAM, "RAM");
    map_or_note(p->dtb.base, p->dtb.size, MMU_RODATA, "DTB");

    const struct plat_gic *g = &p->gic;
    map_or_note(g->dist.base, g->dist.size, MMU_DEVICE, "GIC distributor");
    if (g->version == 2)
        map_or_note(g->cpuif.base, g->cpuif.size, MMU_DEVICE, "GIC CPU interface");
    for (int i = 0; i < g->nredist; i++)
        map_or_note(g->redist[i].base, g->redist[i].size, MMU_DEVICE, "GIC redistributors");
    if (p->console.present)
        map_or_note(p->console.reg.base, p->console.reg.size, MMU_DEVICE, "console");
    for (int i = 0; i < p->nvirtio; i++)
        map_or_note(p->virtio[i].reg.base, p->virtio[i].reg.size, MMU_DEVICE, "virtio");
}

static const char *entry_el_name(uint64_t el)
{
    return el == 2 ? "EL2 (dropped to EL1)" : el == 1 ? "EL1" : el == 3 ? "EL3" : "?";
}

static _Noreturn void cannot_boot(const char *why)
{
    printf("SR: cannot boot: %s\n", why);
    system_exit(2);
}

static void print_topology(const struct platform *p)
{
    printf("SR: topology (%d cpus in the DT, %d clusters)\n", p->ncpus, p->nclusters);
    printf("  cpu  mpidr     cluster  capacity  power  class        compatible       state\n");
    for (int i = 0; i < p->ncpus; i++) {
        const struct plat_cpu *c = &p->cpus[i];
        char power[16];
        if (c->has_power_coeff)
            snprintf(power, sizeof(power), "%u", (unsigned)c->power_coeff);
        else
            snprintf(power, sizeof(power), "-");
        printf("  %-3d  0x%-7llx %-7d  %-8u  %-5s  %-11s  %-15s  %s\n", i,
               (unsigned long long)c->mpidr, c->cluster, (unsigned)c->capacity, power,
               platform_class_name(c->cls), c->compatible,
               smp_cpu_online(i) ? (i == smp_boot_cpu() ? "online (boot)" : "online") : "OFFLINE");
    }
    int perf = 0, eff = 0, mid = 0;
    for (int i = 0; i < p->ncpus; i++) {
        perf += p->cpus[i].cls == PLAT_CLASS_PERFORMANCE;
        eff += p->cpus[i].cls == PLAT_CLASS_EFFICIENCY;
        mid += p->cpus[i].cls == PLAT_CLASS_MID;
    }
    printf("SR: %d performance, %d mid, %d efficiency cores\n", perf, mid, eff);
}

static void print_memory(void)
{
    uint64_t total = 0;
    for (int i = 0; i < boot_state.nram; i++)
        total += boot_state.ram[i].size;
    printf("SR: memory: %d usable ranges, %llu MiB", boot_state.nram,
           (unsigned long long)(total >> 20));
    for (int i = 0; i < platform.nreserved; i++)
        printf("%s[0x%llx+0x%llx]", i ? " " : "; reserved ",
               (unsigned long long)platform.reserved[i].base,
               (unsigned long long)platform.reserved[i].size);
    printf("\n");
}

/* The first task: the in-image tests ("sr.test"), the benchmarks
 * ("sr.bench") or the applications. */
static int64_t main_task(void *arg)
{
    (void)arg;
    virtio_init(&platform);
    if (cmdline_has("sr.test"))
        system_exit(tests_main());
    if (cmdline_has("sr.bench"))
        system_exit(bench_main());
    system_exit(apps_main());
}

_Noreturn void kernel_main(void);
_Noreturn void kernel_main(void)
{
    struct plat_error err = {{0}};
    int rc = -1;

    arch_cpu_features_init();
    libc_init_cpu_tls(PLAT_MAX_CPUS);
    semihost_probe();

    uint64_t dtb = find_dtb();
    if (dtb)
        rc = platform_discover((const void *)dtb, 0, &platform, &err);
    else
        snprintf(err.msg, sizeof(err.msg),
                 "no device tree: x0 was 0x%llx and no FDT magic at the start of RAM",
                 (unsigned long long)boot_info.dtb);

    /* The real map: image W^X, then RAM and devices (or just the fallback console). */
    map_image();
    struct plat_console con = platform.console;
    if (rc == 0 && con.present) {
        map_platform(&platform);
    } else {
        if (rc == 0)
            map_platform(&platform);
        earlycon_from_board(&con);
        if (con.present)
            map_or_note(con.reg.base, con.reg.size, MMU_DEVICE, "fallback console");
    }
    arch_mmu_activate();
    const char *drv = console_init(&con);

    printf("\nSR: Super Runtime, board %s, entered at %s\n", SR_BOARD, entry_el_name(boot_info.entry_el));
    if (boot_info.entry_el == 3)
        cannot_boot("entered at EL3 (secure firmware level): SR runs at EL2 or EL1; boot it through "
                    "firmware (TF-A, U-Boot) or QEMU without secure=on");
    if (rc != 0)
        cannot_boot(err.msg);
    if (boot_state.map_error)
        cannot_boot(boot_state.map_error);
    if (!drv)
        printf("SR: warning: no driver for console '%s'\n", platform.console.compatible);
    dtb_fdt = (const void *)dtb;
    cmdline_init(dtb_fdt);

    printf("SR: model \"%s\", image at 0x%llx (linked at 0x%llx), DTB at 0x%llx (%llu bytes)\n",
           platform.model, (unsigned long long)boot_info.image_start,
           (unsigned long long)(boot_info.image_start - boot_info.link_slide),
           (unsigned long long)dtb, (unsigned long long)platform.dtb.size);
    printf("SR: console %s at 0x%llx via %s; semihosting %s; atomics %s\n",
           platform.console.compatible, (unsigned long long)platform.console.reg.base,
           drv ? drv : "none", semihost_available() ? "yes" : "no",
           arch_has_lse() ? "LSE" : "LL/SC");
    print_memory();
    printf("SR: command line \"%s\"\n", cmdline_get());

    if (smp_init_boot_cpu(&platform) < 0)
        cannot_boot("the boot CPU's MPIDR is not in the DT's /cpus");
    mm_init(boot_state.ram, boot_state.nram);
    mm_init_cpu();
    libc_init_cpu_tls(smp_boot_cpu());
    psci_init(platform.psci);
    if (irq_init(&platform) != 0 || irq_init_cpu() != 0)
        cannot_boot("interrupt controller initialisation failed");
    if (clock_init(&platform) != 0)
        cannot_boot("timer interrupt registration failed");
    clock_init_cpu();
    arch_cycles_init_cpu(true);
    if (!arch_has_cycles)
        printf("SR: the CPU has no PMUv3 cycle counter: interrupts are not cycle-stamped\n");
    printf("SR: interrupts %s, timer %llu Hz (virtual timer INTID %u), PSCI %s\n",
           irq_chip_name(), (unsigned long long)arch_counter_freq(),
           (unsigned)platform.timer.virt_irq,
           platform.psci == PLAT_PSCI_HVC ? "hvc" : platform.psci == PLAT_PSCI_SMC ? "smc" : "none");
    arch_irq_enable();

    task_system_init();
    sched_init();
    sched_init_cpu();
    if (console_start_interrupts(&platform) == 0)
        printf("SR: console interrupt-driven (INTID %u)\n", (unsigned)platform.console.irq);
    else
        printf("SR: console polled (no interrupt or no FIFO operations)\n");

    int online = smp_boot(&platform);
    boot_state.all_online_ns = clock_ns();
    print_topology(&platform);
    printf("SR: cpus online %d of %d\n", online, platform.ncpus);

    /* The rest runs as a task; this context becomes the boot CPU's idle loop. */
    struct task_attr attr = {.name = "main", .qos = QOS_DEFAULT, .detached = true,
                             .affinity = 1u << smp_boot_cpu()};
    if (!task_spawn(main_task, NULL, &attr))
        cannot_boot("cannot create the main task");
    sched_idle_loop();
}
