/* Memory subsystem bring-up and cache draining (the parts live in page_alloc.c,
 * slab.c, heap.c and stack.c). */
#include <stdatomic.h>
#include <arch/cpu.h>
#include <kernel/smp.h>
#include "mm_internal.h"

unsigned mm_ncpus(void)
{
    return platform.ncpus > 0 && platform.ncpus <= PLAT_MAX_CPUS ? (unsigned)platform.ncpus
                                                                  : PLAT_MAX_CPUS;
}

void mm_init(const struct plat_range *ram, int nram)
{
    page_alloc_init(ram, nram);
    heap_init();   /* first: its size classes are slab caches 0.. */
    mm_stack_init();
}

/* The per-core caches are static and start empty: nothing to set up yet. */
void mm_init_cpu(void) {}

static void (*drain_hooks[MM_DRAIN_HOOKS])(void);
static _Atomic unsigned ndrain_hooks;

int mm_register_drain_hook(void (*drain_this_cpu)(void))
{
    unsigned i = atomic_fetch_add(&ndrain_hooks, 1);
    if (i >= MM_DRAIN_HOOKS)
        return -1;
    drain_hooks[i] = drain_this_cpu;
    return 0;
}

struct drain_req {
    int cpu;
    bool done;
};

/* Cross-call (or direct call): drain this core's caches if it is r->cpu
 * (a task may move between smp_call's check and the call). */
static void drain_cpu(void *arg)
{
    struct drain_req *r = arg;
    uint64_t flags = arch_irq_save();
    if ((int)mm_cpu() == r->cpu) {
        unsigned n = atomic_load(&ndrain_hooks);
        for (unsigned i = 0; i < n && i < MM_DRAIN_HOOKS; i++)
            if (drain_hooks[i])
                drain_hooks[i]();
        mm_stack_drain_cpu();
        slab_drain_cpu();
        page_cache_drain_cpu();
        __atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
    }
    arch_irq_restore(flags);
}

void mm_drain_caches(void)
{
    for (int c = 0; c < platform.ncpus; c++) {
        struct drain_req r = {c, false};
        while (smp_cpu_online(c) && !__atomic_load_n(&r.done, __ATOMIC_ACQUIRE))
            smp_call(c, drain_cpu, &r);
    }
    uint64_t flags = arch_irq_save();
    mm_stack_release_empty();
    slab_release_empty();
    page_cache_drain_cpu();   /* what the releases just freed */
    arch_irq_restore(flags);
}
