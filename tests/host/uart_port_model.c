/* The kernel model around the interrupt-driven port (uart_port_model.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arch/cpu.h>
#include <arch/cycles.h>
#include <arch/timer.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/percpu.h>
#include <kernel/waitq.h>
#include <kernel/waitq_inline.h>

#include "host_test.h"
#include "uart_port_model.h"

/* tools/host-arch's modelled core. */
static struct percpu cpu0 = {.cpu = 0};
uint64_t host_daif;
void *host_percpu = &cpu0;
uint64_t host_counter;
bool arch_has_cycles = true;   /* the stamping handler (console_driver.irq) */
uint64_t host_cycles;

struct port_model port_model;
static struct task *current;
static struct uart *port;

struct task *sched_current(void) { return current; }

uint64_t arch_ticks_to_ns(uint64_t ticks) { return ticks; }
uint64_t arch_ns_to_ticks(uint64_t ns) { return ns; }

/* What the model does not provide: reaching it is a test failure. */
static _Noreturn void not_modelled(const char *what)
{
    fprintf(stderr, "uart_port_model: %s is not modelled\n", what);
    abort();
}

uint64_t clock_ns(void) { not_modelled("clock_ns"); }
uint64_t waitq_deadline_after(uint64_t timeout_ns) { (void)timeout_ns; not_modelled("a timed wait"); }
int32_t waitq_wait(struct waitq *wq, uint64_t irq_flags, uint64_t deadline_ns)
{
    (void)wq, (void)irq_flags, (void)deadline_ns;
    not_modelled("waitq_wait");
}
int32_t sched_block(spinlock_t *lock, uint64_t deadline_ns)
{
    (void)lock, (void)deadline_ns;
    not_modelled("sched_block");
}
int32_t sched_block_waitq(spinlock_t *wq_lock, uint64_t irq_flags)
{
    (void)wq_lock, (void)irq_flags;
    not_modelled("sched_block_waitq");
}

/* The reader blocks: queued by waitq_wait_min_begin already; the lock
 * released and IRQs restored as the switch away would. */
struct sched_block_switch sched_block_waitq_begin(spinlock_t *wq_lock, uint64_t irq_flags)
{
    struct task *t = current;
    t->state = TASK_BLOCKED;
    spin_unlock(wq_lock);
    arch_irq_restore(irq_flags);
    return (struct sched_block_switch){t, {.next_sp = 0}};
}

/* A wake-up: t must be blocked, IRQs masked (the handler's, or a masked
 * section's); checked_lock (if not NULL) must have been released first. */
static void note_wake(struct task *t, bool by_irq, spinlock_t *checked_lock)
{
    struct port_model *m = &port_model;
    if (m->nwoken == MODEL_WAKES || arch_irqs_enabled() || t->state != TASK_BLOCKED ||
        (checked_lock && atomic_load_explicit(&checked_lock->locked, memory_order_relaxed))) {
        m->bad_wakes++;
        return;
    }
    t->state = TASK_READY;
    m->woken[m->nwoken] = t;
    m->woken_result[m->nwoken] = t->wait_result;
    m->woken_by_irq[m->nwoken++] = by_irq;
}

/* The handler's wake-up: t off rxq with its result, rxq.lock released. */
void sched_wake_irq(struct task *t) { note_wake(t, true, port ? &port->rxq.lock : NULL); }

/* The wait-queue calls uart_port.c makes under rxq.lock or txq.lock: take
 * t off with its result. */
void waitq_take(struct waitq *wq, struct task *t, int32_t result)
{
    waitq_unlink(wq, t);
    t->wait_result = result;
    note_wake(t, false, NULL);
}

struct task *waitq_wake_one(struct waitq *wq, int32_t result)
{
    struct task *t = wq->head;
    if (t)
        waitq_take(wq, t, result);
    return t;
}

int waitq_wake_all(struct waitq *wq, int32_t result)
{
    int n = 0;
    while (waitq_wake_one(wq, result))
        n++;
    return n;
}

/* The interrupt controller. */
int irq_register(uint32_t intid, irq_handler_t fn, void *arg)
{
    port_model.intid = intid;
    port_model.handler = fn;
    port_model.handler_arg = arg;
    return fn ? 0 : -1;
}
void irq_enable(uint32_t intid) { port_model.enabled = intid == port_model.intid; }
void irq_set_edge(uint32_t intid, bool edge) { (void)intid; port_model.edge = edge; }
void irq_route(uint32_t spi, int cpu) { (void)spi; port_model.routed_to = cpu; }
uint64_t irq_count(uint32_t intid) { return intid == port_model.intid ? port_model.dispatches : 0; }

struct uart *model_port_start(const struct console_driver *d, uint32_t intid)
{
    memset(&port_model, 0, sizeof(port_model));
    port_model.routed_to = -1;
    host_daif = 0;
    port = NULL;
    struct platform plat;
    memset(&plat, 0, sizeof(plat));
    plat.console.irq = intid;
    if (uart_console_start(&plat, d) != 0 || !port_model.handler || !port_model.enabled) {
        test_fail(__FILE__, __LINE__, "the port did not start on interrupt %u", intid);
        return NULL;
    }
    port = uart_console();
    return port;
}

void model_port_irq(void)
{
    uint64_t flags = arch_irq_save();
    port_model.dispatches++;
    host_cycles += 100;
    port_model.handler(port_model.intid, port_model.handler_arg);
    arch_irq_restore(flags);
}

bool model_read_begin(struct uart *u, struct task *t, struct uart_rx_req *req, uint8_t *buf,
                      uint32_t len, long *got)
{
    memset(t, 0, sizeof(*t));
    t->state = TASK_RUNNING;
    t->wait_result = -1;
    current = t;
    struct sched_block_switch b = uart_read_begin_(u, req, buf, len);
    current = NULL;
    *got = b.prev ? 0 : b.result;
    return b.prev == t;
}

void model_reader_block(struct uart *u, struct task *t, struct uart_rx_req *req, uint8_t *buf,
                        uint32_t len)
{
    long got;
    if (!model_read_begin(u, t, req, buf, len, &got))
        test_fail(__FILE__, __LINE__, "the reader did not block (the ring gave %ld)", got);
}
