/*
 * Ticket spinlocks for short kernel critical sections. Fair (FIFO) under
 * contention. The _irqsave variants also mask IRQs on the calling core and
 * must be used for any lock an IRQ handler takes. C11 atomics compile to LSE
 * instructions on ARMv8.1+ boards and to LDXR/STXR loops on ARMv8.0 ones.
 */
#ifndef KERNEL_SPINLOCK_H
#define KERNEL_SPINLOCK_H

#include <stdatomic.h>
#include <stdint.h>
#include <arch/cpu.h>

typedef struct {
    _Atomic uint32_t next;   /* next ticket to hand out */
    _Atomic uint32_t owner;  /* ticket now allowed in */
} spinlock_t;

#define SPINLOCK_INIT {0, 0}

static inline void spin_lock(spinlock_t *l)
{
    uint32_t ticket = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);
    if (__builtin_expect(atomic_load_explicit(&l->owner, memory_order_acquire) == ticket, 1))
        return;   /* uncontended: straight through */
    while (atomic_load_explicit(&l->owner, memory_order_acquire) != ticket)
        arch_cpu_relax();
}

static inline void spin_unlock(spinlock_t *l)
{
#ifdef __ARM_FEATURE_ATOMICS
    /* Only the holder writes owner: one LSE add with release (STADDL). */
    atomic_fetch_add_explicit(&l->owner, 1, memory_order_release);
#else
    uint32_t o = atomic_load_explicit(&l->owner, memory_order_relaxed);
    atomic_store_explicit(&l->owner, o + 1, memory_order_release);
#endif
}

static inline uint64_t spin_lock_irqsave(spinlock_t *l)
{
    uint64_t flags = arch_irq_save();
    spin_lock(l);
    return flags;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, uint64_t flags)
{
    spin_unlock(l);
    arch_irq_restore(flags);
}

#endif
