/*
 * Console: driver binding, per-core line assembly, and the lock that keeps
 * whole lines together. A core re-entering the console while it holds the
 * lock (a fault while printing) writes through instead of deadlocking.
 */
#include <stdatomic.h>
#include <string.h>
#include <kernel/console.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>

static const struct console_driver *driver;
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
    for (int i = 0; i < n; i++) {
        if (s[i] == '\n')
            driver->putc('\r');
        driver->putc(s[i]);
    }
}

static void flush_locked(char *buf, int *len);

/* The calling core's line buffer. A task preempted mid-line leaves its
 * partial line there: it is emitted before another task's text joins it. */
static void line_buffer(char **buf, int **len)
{
    struct percpu *p = this_cpu();
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

void console_putc(char c)
{
    char *buf;
    int *len;
    uint64_t flags = arch_irq_save();

    line_buffer(&buf, &len);
    buf[(*len)++] = c;
    if (c == '\n' || *len == CONSOLE_LINE_MAX)
        flush_locked(buf, len);
    arch_irq_restore(flags);
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
    line_buffer(&buf, &len);
    if (*len)
        flush_locked(buf, len);
    if (driver && driver->drain)
        driver->drain();
    arch_irq_restore(flags);
}
