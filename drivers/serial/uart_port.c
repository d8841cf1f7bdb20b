/*
 * Interrupt-driven console UART (see kernel/uart.h): rings, the interrupt
 * handler's uncommon ends (its common path, inline in each driver's
 * handler: uart_port.h), blocking reads, and the console's queued and
 * polled writes.
 *
 * Locking: rxq.lock guards the RX ring and RX counters; a reader finding
 * the ring empty sleeps on rxq with a request (buffer, length) that the RX
 * interrupt completes (the count as the reader's wait result, the reader
 * off rxq) before waking it. txq.lock guards the TX ring, the TX
 * FIFO, the interrupt mask and the TX counters; writers waiting for room
 * sleep on txq. Both are taken with IRQs masked and never nested; the
 * console lock, when held, comes first. tx_holder names the core inside
 * txq.lock, so that a polled write from a fault report on that same core
 * passes instead of deadlocking.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <arch/timer.h>
#include <kernel/clock.h>
#include <kernel/irq.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/uart.h>
#include <kernel/waitq.h>
#include <kernel/waitq_inline.h>

#include "uart_port.h"
#include "uart_ring.h"
#include "uart_service.h"

/* A writer waiting for room waits at most this long for the TX interrupt,
 * then writes polled: a UART whose interrupt never comes loses no output. */
#define TX_STALL_NS     (1000ull * 1000 * 1000)

static struct uart console_uart;
static struct uart *_Atomic console_port;

struct uart *uart_console(void)
{
    return atomic_load_explicit(&console_port, memory_order_acquire);
}

/* --- TX ------------------------------------------------------------------------ */

/* IRQs masked. false: this core already holds it (a re-entered write). */
static bool tx_lock(struct uart *u)
{
    if (atomic_load_explicit(&u->tx_holder, memory_order_relaxed) == cpu_id())
        return false;
    spin_lock(&u->txq.lock);
    atomic_store_explicit(&u->tx_holder, cpu_id(), memory_order_relaxed);
    return true;
}

static void tx_unlock(struct uart *u, bool taken)
{
    if (!taken)
        return;
    atomic_store_explicit(&u->tx_holder, -1, memory_order_relaxed);
    spin_unlock(&u->txq.lock);
}

static void set_irq_mask(struct uart *u, unsigned mask)
{
    if (mask != u->irq_mask) {
        __atomic_store_n(&u->irq_mask, mask, __ATOMIC_RELAXED);   /* the handler peeks */
        u->drv->irq_mask(mask);
    }
}

/* Under txq.lock: the FIFO from the ring; the TX interrupt on exactly while
 * bytes wait; writers woken once the ring has room again. */
static void tx_pump(struct uart *u)
{
    u->tx_bytes += uart_service_tx(u->drv, &u->tx, u->drv->tx_fifo_depth);
    bool waiting = !uart_ring_empty(&u->tx);
    set_irq_mask(u, waiting ? u->irq_mask | UART_IRQ_TX : u->irq_mask & ~UART_IRQ_TX);
    if (!waitq_empty(&u->txq) && uart_ring_space(&u->tx) >= u->tx.size / 2)
        waitq_wake_all(&u->txq, WAIT_OK);
}

/* The console's line s[0..n) as the wire wants it: "\n" as "\r\n". */
static uint32_t wire_len(const char *s, uint32_t n)
{
    uint32_t m = n;
    for (uint32_t i = 0; i < n; i++)
        m += s[i] == '\n';
    return m;
}

/* Under txq.lock: s queued whole (and the transmitter started if idle), or
 * false when the ring lacks room. */
static bool tx_queue_line(struct uart *u, const char *s, uint32_t n)
{
    if (wire_len(s, n) > uart_ring_space(&u->tx))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            uart_ring_put(&u->tx, '\r');
        uart_ring_put(&u->tx, (uint8_t)s[i]);
    }
    if (!(u->irq_mask & UART_IRQ_TX))
        tx_pump(u);
    return true;
}

/* Under txq.lock (or re-entered): the ring, then s, polled. */
static void tx_polled(struct uart *u, const char *s, uint32_t n, bool taken)
{
    uint8_t b;
    while (uart_ring_get(&u->tx, &b)) {
        (u->drv->putc)((char)b);
        u->tx_bytes++;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            (u->drv->putc)('\r');
        (u->drv->putc)(s[i]);
    }
    u->tx_bytes += wire_len(s, n);
    if (taken)
        tx_pump(u);   /* ring empty: TX interrupt off, waiting writers woken */
}

bool uart_console_put(const char *s, uint32_t n)
{
    struct uart *u = uart_console();
    uint64_t flags = arch_irq_save();
    bool taken = tx_lock(u);
    bool queued = taken && tx_queue_line(u, s, n);
    tx_unlock(u, taken);
    arch_irq_restore(flags);
    return queued;
}

void uart_console_write(const char *s, uint32_t n)
{
    struct uart *u = uart_console();
    uint64_t deadline = 0;
    for (;;) {
        uint64_t flags = arch_irq_save();
        bool taken = tx_lock(u);
        if (taken && tx_queue_line(u, s, n)) {
            tx_unlock(u, taken);
            arch_irq_restore(flags);
            return;
        }
        bool stalled = deadline && clock_ns() >= deadline;
        if (!taken || wire_len(s, n) > u->tx.size / 2 || stalled) {
            tx_polled(u, s, n, taken);
            tx_unlock(u, taken);
            arch_irq_restore(flags);
            return;
        }
        if (!deadline)
            deadline = clock_ns() + TX_STALL_NS;
        u->tx_waits++;
        atomic_store_explicit(&u->tx_holder, -1, memory_order_relaxed);
        waitq_wait(&u->txq, flags, deadline);   /* releases txq.lock, restores IRQs */
    }
}

void uart_console_write_sync(const char *s, uint32_t n, bool drain)
{
    struct uart *u = uart_console();
    uint64_t flags = arch_irq_save();
    bool taken = tx_lock(u);
    tx_polled(u, s, n, taken);
    if (drain && u->drv->drain)
        u->drv->drain();
    tx_unlock(u, taken);
    arch_irq_restore(flags);
}

/* --- RX and the interrupt --------------------------------------------------------- */

/* The request for n (> 0) bytes into buf (kernel/uart.h's struct
 * uart_rx_req): whoever completes it takes the reader off rxq with the
 * count of bytes put in its buffer (> 0) as its wait result. */
static void rx_req_set(struct uart_rx_req *r, uint8_t *buf, uint32_t n)
{
    *r = (struct uart_rx_req){buf, n, n < UART_RX_BUDGET ? n : UART_RX_BUDGET};
}

/* Under rxq.lock: complete waiting readers, oldest first, while bytes are
 * there (each counted in rx_wakeups). */
static void rx_complete(struct uart *u)
{
    while (!uart_ring_empty(&u->rx) && !waitq_empty(&u->rxq)) {
        struct uart_rx_req *r = uart_rx_req_of(u->rxq.head);
        waitq_wake_one(&u->rxq, (int32_t)uart_ring_read(&u->rx, r->buf, r->len));
        u->rx_wakeups++;
    }
}

/* The interrupt's TX service, rxq.lock not held: the ring into the FIFO. */
static void irq_tx(struct uart *u)
{
    if (!(*(volatile unsigned *)&u->irq_mask & UART_IRQ_TX))   /* set_irq_mask stores */
        return;
    bool taken = tx_lock(u);
    if (taken)
        tx_pump(u);
    tx_unlock(u, taken);
}

void uart_port_irq_ring(struct uart *u)
{
    u->rx_bytes += uart_service_irq(u->drv, NULL, 0, &u->rx, UART_RX_BUDGET, &u->rx_errors);
    spin_unlock(&u->rxq.lock);
    irq_tx(u);
}

void uart_port_irq_done_many(struct uart *u, struct task *w, uint32_t raw)
{
    uart_port_irq_done(u, w, raw);
}

void uart_port_irq_rest(struct uart *u, struct task *w, uint32_t raw)
{
    if (raw) {   /* UART_RX_MORE: w's buffer or the first step's budget is full */
        struct uart_rx_req *r = uart_rx_req_of(w);
        uint32_t got = uart_service_irq_rest(u->drv, &u->rx, UART_RX_BUDGET, &u->rx_errors, raw);
        u->rx_bytes += got;
        u->rx_wakeups++;
        waitq_take(&u->rxq, w, (int32_t)(got < r->len ? got : r->len));
        rx_complete(u);
    }
    spin_unlock(&u->rxq.lock);
    irq_tx(u);
}

void uart_port_irq_tx_wake(struct uart *u, struct task *w)
{
    irq_tx(u);
    sched_wake_irq(w);
}

/* Under rxq.lock: drops not reported yet (they are about to be). */
static uint64_t rx_unreported(struct uart *u)
{
    uint64_t lost = u->rx.dropped - u->rx_reported;
    u->rx_reported = u->rx.dropped;
    return lost;
}

/* Overflow is never silent: the next read after it says so on the console. */
static void rx_report(uint64_t lost)
{
    if (lost)
        printf("SR: uart: %llu received bytes dropped, RX ring full (no reader kept up)\n",
               (unsigned long long)lost);
}

/* uart_read_'s wait, the ring empty, under rxq.lock taken with IRQ state
 * flags (released, flags restored): a request for n bytes into buf, done
 * by the interrupt. Out of line, with only what is live after the wait in
 * its frame (uart_read_'s own frame is gone by then: a tail call). */
static __attribute__((noinline)) long rx_wait(struct uart *u, uint8_t *buf, uint32_t n,
                                              uint64_t flags, uint64_t deadline)
{
    struct uart_rx_req req;
    rx_req_set(&req, buf, n);
    sched_current()->wait_arg = (uintptr_t)&req;
    /* Completed (the count, > 0), or timed out off the queue before any
     * byte came (nobody touches req any more). */
    int32_t r = waitq_wait_inline(&u->rxq, flags, deadline);   /* releases rxq.lock */
    return r > 0 ? r : -ETIMEDOUT;
}

static uint32_t clamp_len(size_t len) { return len > UINT32_MAX ? UINT32_MAX : (uint32_t)len; }

/* Under rxq.lock taken with IRQ state flags, the ring not empty: take up
 * to len bytes (released, flags restored; drops reported). */
static __attribute__((noinline)) long rx_from_ring(struct uart *u, void *buf, size_t len,
                                                   uint64_t flags)
{
    long n = uart_ring_read(&u->rx, buf, clamp_len(len));
    uint64_t lost = rx_unreported(u);
    spin_unlock_irqrestore(&u->rxq.lock, flags);
    rx_report(lost);
    return n;
}

long uart_read_(struct uart *u, void *buf, size_t len, uint64_t timeout_ns)
{
    if (len == 0)
        return -EINVAL;
    uint64_t deadline = waitq_deadline(timeout_ns);
    uint64_t flags = spin_lock_irqsave(&u->rxq.lock);
    if (!uart_ring_empty(&u->rx))
        return rx_from_ring(u, buf, len, flags);
    return rx_wait(u, buf, clamp_len(len), flags, deadline);
}

struct sched_block_switch uart_read_begin_(struct uart *u, struct uart_rx_req *req, void *buf,
                                           size_t len)
{
    if (len == 0)
        return (struct sched_block_switch){NULL, {.result = -EINVAL}};
    uint64_t flags = spin_lock_irqsave(&u->rxq.lock);
    if (!uart_ring_empty(&u->rx))
        return (struct sched_block_switch){NULL, {.result = rx_from_ring(u, buf, len, flags)}};
    rx_req_set(req, buf, clamp_len(len));
    sched_current()->wait_arg = (uintptr_t)req;
    return waitq_wait_min_begin(&u->rxq, flags);   /* a tail call: sched_block_waitq_begin */
}

long uart_try_read(struct uart *u, void *buf, size_t len)
{
    uint64_t flags = spin_lock_irqsave(&u->rxq.lock);
    long n = uart_ring_read(&u->rx, buf, clamp_len(len));
    uint64_t lost = rx_unreported(u);
    spin_unlock_irqrestore(&u->rxq.lock, flags);
    rx_report(lost);
    return n;
}

void uart_stats(struct uart *u, struct uart_stats *out)
{
    *out = (struct uart_stats){0};
    uint64_t flags = spin_lock_irqsave(&u->rxq.lock);
    out->rx_bytes = u->rx_bytes;
    out->rx_overflows = u->rx.dropped;
    out->rx_errors = u->rx_errors;
    out->rx_wakeups = u->rx_wakeups;
    out->rx_pending = uart_ring_count(&u->rx);
    spin_unlock_irqrestore(&u->rxq.lock, flags);
    flags = arch_irq_save();
    bool taken = tx_lock(u);
    out->tx_bytes = u->tx_bytes;
    out->tx_waits = u->tx_waits;
    tx_unlock(u, taken);
    arch_irq_restore(flags);
    out->irqs = irq_count(u->irq);   /* each dispatch runs drv->irq once */
    out->last_irq_cycles = __atomic_load_n(&u->last_irq_cycles, __ATOMIC_RELAXED);
    out->rx_capacity = u->rx.size;
    out->tx_capacity = u->tx.size;
    out->irq = u->irq;
    out->irq_cpu = u->irq_cpu;
}

/* --- start ------------------------------------------------------------------------ */

int uart_console_start(const struct platform *plat, const struct console_driver *drv)
{
    const struct plat_console *con = &plat->console;
    struct uart *u = &console_uart;
    if (!drv || !drv->rx_read || !drv->tx_room || !drv->tx_byte || !drv->irq_mask ||
        !drv->irq_rx || !drv->irq || !drv->irq_unstamped || !drv->tx_fifo_depth || con->irq < IRQ_SPI_BASE || con->irq >= IRQ_MAX)
        return -1;
    u->drv = drv;
    u->irq = con->irq;
    u->irq_cpu = cpu_id();
    waitq_init(&u->rxq);
    waitq_init(&u->txq);
    atomic_store(&u->tx_holder, -1);
    if (uart_ring_init(&u->rx, u->rx_buf, sizeof(u->rx_buf)) != 0 ||
        uart_ring_init(&u->tx, u->tx_buf, sizeof(u->tx_buf)) != 0 ||
        irq_register(u->irq, arch_has_cycles ? drv->irq : drv->irq_unstamped, u) != 0)
        return -1;
    irq_set_edge(u->irq, false);
    irq_route(u->irq, u->irq_cpu);
    u->irq_mask = UART_IRQ_RX;
    drv->irq_mask(u->irq_mask);
    atomic_store_explicit(&console_port, u, memory_order_release);
    irq_enable(u->irq);
    return 0;
}
