/* Cross-calls, per-CPU state and atomics/spinlocks under all cores. */
#include <stdatomic.h>
#include <arch/boot.h>
#include <arch/cpu.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/spinlock.h>
#include <sr_test.h>

#define ATOMIC_ROUNDS 20000
#define LOCK_ROUNDS   100

static _Atomic uint64_t atomic_total;
static uint64_t locked_total;
static spinlock_t lock = SPINLOCK_INIT;
static _Atomic int ran_on[PLAT_MAX_CPUS];

TEST(smp, call_all_runs_once_per_online_core)
{
    for (int i = 0; i < PLAT_MAX_CPUS; i++)
        atomic_store(&ran_on[i], 0);
    extern void smp_test_mark(void *);
    smp_call_all(smp_test_mark, NULL);
    for (int i = 0; i < platform.ncpus; i++)
        EXPECT_EQ(atomic_load(&ran_on[i]), smp_cpu_online(i) ? 1 : 0);
}

void smp_test_mark(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran_on[cpu_id()], 1);
}

TEST_ALL_CORES(smp, percpu_and_stacks_are_per_core)
{
    struct percpu *p = this_cpu();
    EXPECT_TRUE(p == &percpu[cpu_id()]);
    /* Each test task runs on its own stack, pinned to its core. */
    struct task *t = task_current();
    uint64_t sp = (uint64_t)__builtin_frame_address(0);
    EXPECT_GE(sp, t->stack.base);
    EXPECT_LT(sp, t->stack.base + t->stack.size);
    EXPECT_EQ(task_cpu(t), cpu_id());
}

TEST_ALL_CORES(smp, atomic_increments_are_exact)
{
    if (cpu_id() == smp_boot_cpu())
        atomic_store(&atomic_total, 0);
    /* The boot CPU's reset races the others' adds; count relative instead. */
    for (int i = 0; i < ATOMIC_ROUNDS; i++)
        atomic_fetch_add_explicit(&atomic_total, 1, memory_order_relaxed);
}

TEST(smp, atomic_total_checked)
{
    atomic_store(&atomic_total, 0);
    extern void smp_test_atomic_add(void *);
    smp_call_all(smp_test_atomic_add, NULL);
    EXPECT_EQ(atomic_load(&atomic_total), (uint64_t)ATOMIC_ROUNDS * smp_online_count());
}

void smp_test_atomic_add(void *arg)
{
    (void)arg;
    for (int i = 0; i < ATOMIC_ROUNDS; i++)
        atomic_fetch_add_explicit(&atomic_total, 1, memory_order_relaxed);
}

void smp_test_locked_add(void *arg)
{
    (void)arg;
    for (int i = 0; i < LOCK_ROUNDS; i++) {
        uint64_t f = spin_lock_irqsave(&lock);
        uint64_t v = locked_total;   /* a plain read-modify-write: only the lock makes it safe */
        __asm__ volatile("" ::: "memory");
        locked_total = v + 1;
        spin_unlock_irqrestore(&lock, f);
    }
}

TEST(smp, spinlock_protects_plain_counter)
{
    locked_total = 0;
    smp_call_all(smp_test_locked_add, NULL);
    EXPECT_EQ(locked_total, (uint64_t)LOCK_ROUNDS * smp_online_count());
}
