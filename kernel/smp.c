/*
 * Secondary bring-up (PSCI CPU_ON or spin-table) and cross-calls.
 *
 * All CPU_ON requests go out first, then the boot CPU waits (WFE, woken by
 * each arrival's SEV and by the timer event stream) until every started core
 * has checked in or the timeout passes. A core that fails is named and left
 * offline; the others carry on.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <arch/boot.h>
#include <arch/cpu.h>
#include <arch/cycles.h>
#include <arch/mmu.h>
#include <arch/psci.h>
#include <arch/timer.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/libc.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <kernel/mm.h>
#include <kernel/sched.h>

#define SMP_BOOT_TIMEOUT_NS  (2000ull * 1000 * 1000)

struct smp_call {
    void (*fn)(void *);
    void *arg;
    _Atomic int *pending;      /* decremented when fn returns */
};

struct percpu percpu[PLAT_MAX_CPUS];
static int boot_cpu;
static _Atomic int online_count;

_Atomic uint32_t smp_online_bits;   /* smp_online_mask() */

int smp_online_count(void) { return atomic_load(&online_count); }
bool smp_cpu_online(int cpu) { return cpu >= 0 && cpu < platform.ncpus && atomic_load(&percpu[cpu].online); }
int smp_boot_cpu(void) { return boot_cpu; }

/* Clean [p, p + n) to the point of coherency: for readers with caches off. */
static void clean_to_poc(const void *p, uint64_t n)
{
    uint64_t line = 4u << ((read_sysreg(ctr_el0) >> 16) & 0xf);
    for (uint64_t a = (uint64_t)p & ~(line - 1); a < (uint64_t)p + n; a += line)
        __asm__ volatile("dc civac, %0" : : "r"(a) : "memory");
    dsb(sy);
}

static const char *start_cpu(int cpu, const struct plat_cpu *c)
{
    static char why[64];

    switch (c->enable) {
    case PLAT_ENABLE_PSCI: {
        if (!psci_available())
            return "enable-method psci but no PSCI node";
        int32_t rc = psci_cpu_on(c->mpidr, (uint64_t)secondary_entry, (uint64_t)cpu);
        if (rc != PSCI_SUCCESS) {
            snprintf(why, sizeof(why), "PSCI CPU_ON failed: %s (%d)", psci_error_name(rc), (int)rc);
            return why;
        }
        return NULL;
    }
    case PLAT_ENABLE_SPIN_TABLE: {
        if (!c->release_addr)
            return "spin-table without cpu-release-addr";
        spin_table_mpidrs[cpu] = c->mpidr;
        clean_to_poc(&spin_table_mpidrs[cpu], sizeof(uint64_t));
        if (arch_mmu_map(c->release_addr & ~0xfffull, 4096, MMU_RAM))
            return "cannot map cpu-release-addr";
        volatile uint64_t *release = (volatile uint64_t *)c->release_addr;
        *release = (uint64_t)spin_table_entry;
        clean_to_poc((const void *)release, sizeof(uint64_t));
        sev();
        return NULL;
    }
    default:
        return "no usable enable-method";
    }
}

static void percpu_setup(int cpu)
{
    struct percpu *p = &percpu[cpu];
    p->cpu = cpu;
    p->mpidr = arch_mpidr();
    arch_set_percpu_ptr(p);
}

/* The boot CPU: find our DT index by MPIDR and become that logical CPU. */
int smp_init_boot_cpu(const struct platform *plat)
{
    uint64_t me = arch_mpidr();
    for (int i = 0; i < plat->ncpus; i++) {
        if (plat->cpus[i].mpidr == me) {
            boot_cpu = i;
            percpu_setup(i);
            atomic_store(&percpu[i].online, true);
            atomic_store(&online_count, 1);
            atomic_fetch_or(&smp_online_bits, 1u << i);
            return i;
        }
    }
    return -1;
}

static void run_pending_call(struct percpu *p);

/* Cross-calls run in IRQ context on the target: they must not block. */
static void ipi_call_handler(uint32_t intid, void *arg)
{
    (void)intid;
    (void)arg;
    run_pending_call(this_cpu());
}

static void ipi_wake_handler(uint32_t intid, void *arg)
{
    (void)intid;
    (void)arg;
    sched_ipi();   /* the IRQ exit path (or the idle loop) reschedules */
}

static void run_pending_call(struct percpu *p)
{
    struct smp_call *c = atomic_exchange_explicit(&p->call, NULL, memory_order_acquire);
    if (c) {
        c->fn(c->arg);
        atomic_fetch_sub_explicit(c->pending, 1, memory_order_release);
        sev();
    }
}

/* Timer event stream: a WFE wakes at least every 2^(EVNTI+1) counter ticks,
 * so waits on other cores are never lost to a missed SEV. */
static void enable_event_stream(void)
{
    write_sysreg(cntkctl_el1, (read_sysreg(cntkctl_el1) & ~0xf0ull) | (1u << 2) | (10u << 4));
}

void kernel_secondary_main(uint64_t cpu);
void kernel_secondary_main(uint64_t cpu)
{
    percpu_setup((int)cpu);
    libc_init_cpu_tls((int)cpu);
    enable_event_stream();
    if (irq_init_cpu() != 0)
        panic("cpu %d: interrupt controller interface init failed", (int)cpu);
    clock_init_cpu();
    arch_cycles_init_cpu(false);
    mm_init_cpu();
    sched_init_cpu();
    irq_enable(IPI_CALL);
    irq_enable(IPI_WAKE);
    atomic_fetch_add(&online_count, 1);
    atomic_fetch_or(&smp_online_bits, 1u << cpu);
    atomic_store_explicit(&percpu[cpu].online, true, memory_order_release);
    sev();
    sched_idle_loop();
}

int smp_boot(const struct platform *plat)
{
    bool started[PLAT_MAX_CPUS] = {0};

    enable_event_stream();
    irq_register(IPI_CALL, ipi_call_handler, NULL);
    irq_register(IPI_WAKE, ipi_wake_handler, NULL);
    irq_enable(IPI_CALL);
    irq_enable(IPI_WAKE);

    for (int i = 0; i < plat->ncpus; i++) {
        if (i == boot_cpu)
            continue;
        const char *err = start_cpu(i, &plat->cpus[i]);
        if (err)
            printf("SR: cpu %d (mpidr 0x%llx) not started: %s\n", i,
                   (unsigned long long)plat->cpus[i].mpidr, err);
        else
            started[i] = true;
    }
    uint64_t deadline = clock_ns() + SMP_BOOT_TIMEOUT_NS;
    for (int i = 0; i < plat->ncpus; i++) {
        if (!started[i])
            continue;
        while (!atomic_load_explicit(&percpu[i].online, memory_order_acquire) &&
               clock_ns() < deadline)
            wfe();
        if (!atomic_load(&percpu[i].online))
            printf("SR: cpu %d (mpidr 0x%llx) did not come online within %llu ms\n", i,
                   (unsigned long long)plat->cpus[i].mpidr,
                   (unsigned long long)(SMP_BOOT_TIMEOUT_NS / 1000000));
    }
    return smp_online_count();
}

static void post_call(int cpu, struct smp_call *c)
{
    struct smp_call *expected = NULL;
    while (!atomic_compare_exchange_weak_explicit(&percpu[cpu].call, &expected, c,
                                                  memory_order_release, memory_order_relaxed)) {
        expected = NULL;
        wfe();   /* the previous call has not been picked up yet */
    }
    ipi_send(IPI_CALL, cpu);
}

static void wait_calls(_Atomic int *pending)
{
    while (atomic_load_explicit(pending, memory_order_acquire) > 0) {
        run_pending_call(this_cpu());   /* a core waiting may itself be called */
        wfe();
    }
}

void smp_call(int cpu, void (*fn)(void *), void *arg)
{
    if (cpu == cpu_id()) {
        fn(arg);
        return;
    }
    _Atomic int pending = 1;
    struct smp_call c = {fn, arg, &pending};
    post_call(cpu, &c);
    wait_calls(&pending);
}

void smp_call_all(void (*fn)(void *), void *arg)
{
    _Atomic int pending = 0;
    struct smp_call calls[PLAT_MAX_CPUS];
    int me = cpu_id();

    for (int i = 0; i < platform.ncpus; i++) {
        if (i == me || !smp_cpu_online(i))
            continue;
        calls[i] = (struct smp_call){fn, arg, &pending};
        atomic_fetch_add(&pending, 1);
        post_call(i, &calls[i]);
    }
    fn(arg);
    wait_calls(&pending);
}
