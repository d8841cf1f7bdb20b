/*
 * Console: driver binding, per-core line assembly, and whole lines on the
 * wire. A core re-entering the console while it holds the lock (a fault
 * while printing) writes through instead of deadlocking.
 *
 * Once the UART runs from interrupts (console_start_interrupts) a finished
 * line is queued whole on its TX ring when the writer runs with IRQs
 * enabled outside interrupt handlers; a task finding the ring full sleeps
 * until the TX interrupt makes room. Everything else is polled under the
 * console lock, behind what is queued: early boot, interrupt handlers and
 * exception reports (IRQs masked), and every write after console_force_sync
 * (panic, exit), so the last words always reach the wire.
 */
#include <stdatomic.h>
#include <string.h>
#include <kernel/console.h>
#include <kernel/libc.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/uart.h>

static const struct console_driver *driver;
static _Atomic bool queued;              /* lines may go through the TX ring */
static _Atomic int lock_owner = -1;      /* core id + 1 of the holder, -1 free */
static int early_len;                     /* line buffer before per-CPU state exists */
static char early_line[CONSOLE_LINE_MAX];

const char *console_init(const struct plat_console *con)
{
    int n;
    const struct console_driver *const *d = console_drivers(&n);
    for (int i = 0; con->present && i < n; i++) {
        if (console_driver_supports(d[i], con) && d[i]->init(con) == 0) {
            driver = d[i];
            return driver->name;
        }
    }
    return NULL;
}

int console_start_interrupts(const struct platform *plat)
{
    if (uart_console_start(plat, driver) != 0)
        return -1;
    atomic_store(&queued, true);
    return 0;
}

void console_force_sync(void) { atomic_store(&queued, false); }

/* Lock keyed by core, so a nested entry on the same core passes. */
static bool console_lock(void)
{
    int me = cpu_id() + 1, expected = -1;
    if (atomic_load_explicit(&lock_owner, memory_order_relaxed) == me)
        return false;
    while (!atomic_compare_exchange_weak_explicit(&lock_owner, &expected, me,
                                                  memory_order_acquire, memory_order_relaxed)) {
        expected = -1;
        arch_cpu_relax();
    }
    return true;
}

static void console_unlock(bool taken)
{
    if (taken)
        atomic_store_explicit(&lock_owner, -1, memory_order_release);
}

static void emit(const char *s, int n)
{
    if (!driver)
        return;
    if (uart_console()) {
        uart_console_write_sync(s, (uint32_t)n, false);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (s[i] == '\n')
            driver->putc('\r');
        driver->putc(s[i]);
    }
}

static void flush_locked(char *buf, int *len);
static bool may_block(void);

/* A task's partial line is its own (TLS), so a task preempted or moved to
 * another core mid-line keeps it and its line reaches the wire whole. */
static __thread char task_line[CONSOLE_LINE_MAX] TLS_NOINIT;   /* valid up to task_line_len */
static __thread int task_line_len;

/* Where the caller's line is assembled: a task with IRQs enabled outside
 * interrupt handlers uses its own buffer; everything else (handlers, IRQ-
 * masked code, idle contexts) the core's, where a partial line is emitted
 * before another context's text joins it. */
static void line_buffer(char **buf, int **len, uint64_t irq_flags)
{
    struct percpu *p = this_cpu();
    if (p && !p->in_irq && !(irq_flags & ARCH_DAIF_I) && may_block()) {
        *buf = task_line;
        *len = &task_line_len;
        return;
    }
    if (p) {
        *buf = p->line;
        *len = &p->line_len;
        const void *who = runqueues[p->cpu].current;
        if (p->line_owner != who) {
            if (p->line_len)
                flush_locked(p->line, &p->line_len);
            p->line_owner = who;
        }
    } else {
        *buf = early_line;
        *len = &early_len;
    }
}

static void flush_locked(char *buf, int *len)
{
    uint64_t flags = arch_irq_save();
    bool taken = console_lock();
    emit(buf, *len);
    *len = 0;
    console_unlock(taken);
    arch_irq_restore(flags);
}

/* Lines go through the TX ring: the UART runs from interrupts and the
 * writer has IRQs enabled, outside interrupt handlers. */
static bool may_queue(uint64_t irq_flags)
{
    struct percpu *p = this_cpu();
    return atomic_load_explicit(&queued, memory_order_relaxed) && p && !p->in_irq &&
           !(irq_flags & ARCH_DAIF_I);
}

/* A task, not a core's idle context: may sleep for ring room. */
static bool may_block(void)
{
    const struct task *t = sched_current();
    return t && !(t->flags & TASK_F_IDLE);
}

/* The ring is full: take the line off the core (another task may use the
 * line buffer while this one sleeps) and wait for room. */
static __attribute__((noinline)) void write_blocking(char *buf, int *len, uint64_t irq_flags)
{
    char line[CONSOLE_LINE_MAX];
    int n = *len;
    memcpy(line, buf, (size_t)n);
    *len = 0;
    arch_irq_restore(irq_flags);
    uart_console_write(line, (uint32_t)n);
}

void console_putc(char c)
{
    char *buf;
    int *len;
    uint64_t flags = arch_irq_save();

    line_buffer(&buf, &len, flags);
    buf[(*len)++] = c;
    if (c == '\n' || *len == CONSOLE_LINE_MAX) {
        if (!may_queue(flags)) {
            flush_locked(buf, len);
        } else if (uart_console_put(buf, (uint32_t)*len)) {
            *len = 0;
        } else if (may_block()) {
            write_blocking(buf, len, flags);
            return;
        } else {
            flush_locked(buf, len);
        }
    }
    arch_irq_restore(flags);
}

int console_getc(void)
{
    struct uart *u = uart_console();
    struct percpu *p = this_cpu();
    if (!u || !p || p->in_irq || !arch_irqs_enabled() || !may_block())
        return -1;
    unsigned char c;
    return uart_read(u, &c, 1, 0) == 1 ? c : -1;
}

void console_write(const char *s, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        console_putc(s[i]);
}

void console_flush(void)
{
    char *buf;
    int *len;
    uint64_t flags = arch_irq_save();
    line_buffer(&buf, &len, flags);
    if (*len)
        flush_locked(buf, len);
    if (uart_console())
        uart_console_write_sync(NULL, 0, true);
    else if (driver && driver->drain)
        driver->drain();
    arch_irq_restore(flags);
}
