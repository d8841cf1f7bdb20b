/* Recovery from expected faults (see kernel/fault.h). The exception path
 * calls fault_recover(); an armed catch on this core records the fault and
 * redirects the frame to fault_catch_resume(), which longjmps back. */
#include <arch/exception.h>
#include <kernel/fault.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>

void fault_catch_arm(struct fault_catch *fc) { this_cpu()->fault_catch = fc; }
void fault_catch_disarm(void) { this_cpu()->fault_catch = NULL; }

static _Noreturn void fault_catch_resume(struct fault_catch *fc)
{
    longjmp(fc->env, 1);
}

/* A fault no catch expected, in task context: the task dies, the core goes on. */
static bool kill_task(struct arch_frame *f, unsigned kind)
{
    if ((kind >> 2) != EXC_FROM_EL1T || !this_cpu() || this_cpu()->in_irq)
        return false;
    return sched_kill_current(f, arch_esr_class_name(f->esr));
}

bool fault_recover(struct arch_frame *f, unsigned kind)
{
    struct percpu *p = this_cpu();
    if (!p || !p->fault_catch)
        return kill_task(f, kind);
    struct fault_catch *fc = p->fault_catch;
    p->fault_catch = NULL;
    fc->caught = true;
    fc->esr = f->esr;
    fc->far = f->far;
    fc->elr = f->elr;
    f->x[0] = (uint64_t)fc;
    f->elr = (uint64_t)fault_catch_resume;
    return true;
}
