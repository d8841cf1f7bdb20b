/* panic(), halting and the exit path. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <arch/backtrace.h>
#include <arch/cpu.h>
#include <arch/exception.h>
#include <arch/psci.h>
#include <arch/semihost.h>
#include <kernel/console.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>

static _Atomic int panicking;

_Noreturn void cpu_halt(void)
{
    arch_irq_disable();
    for (;;)
        __asm__ volatile("wfi");
}

_Noreturn void system_exit(int code)
{
    console_force_sync();
    console_flush();
    semihost_exit(code);
    psci_system_off();
    cpu_halt();
}

static void panic_header(void)
{
    console_flush();
    printf("SR: PANIC on cpu %d: ", cpu_id());
}

/* A second panic (on another core, or while panicking) just stops. */
static void panic_enter(void)
{
    arch_irq_disable();
    if (atomic_fetch_add(&panicking, 1) != 0)
        cpu_halt();
    console_force_sync();
}

_Noreturn void panic(const char *fmt, ...)
{
    va_list ap;
    panic_enter();
    panic_header();
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    arch_backtrace_here();
    system_exit(EXIT_PANIC);
}

_Noreturn void panic_exception(const struct arch_frame *f, unsigned kind)
{
    panic_enter();
    panic_header();
    printf("unhandled exception: %s\n", arch_esr_class_name(f->esr));
    arch_exception_report(f, kind);
    system_exit(EXIT_PANIC);
}
