/*
 * The interrupt-driven port's state and its interrupt handler's common
 * path (drivers/serial/ only; the API is kernel/uart.h). Each driver with
 * interrupt operations defines its handler with UART_PORT_IRQ_HANDLER, so
 * that its irq_rx is inline in the port's handler: no indirect call, and
 * the handler's common path (a reader waiting, every byte in its buffer,
 * TX off) needs no frame and ends in a tail call to the reader's wake-up.
 * The uncommon ends are out of line in uart_port.c.
 *
 * Locking: see uart_port.c.
 */
#ifndef UART_PORT_H
#define UART_PORT_H

#include <stdint.h>
#include <arch/cycles.h>
#include <kernel/console.h>
#include <kernel/sched.h>
#include <kernel/uart.h>
#include <kernel/waitq.h>
#include <kernel/waitq_inline.h>

#include "uart_ring.h"

/* Bytes the RX interrupt takes at most per call (a babbling device cannot
 * hold the core; the level interrupt comes back for the rest). */
#define UART_RX_BUDGET  256

struct uart {
    struct waitq rxq;               /* first: its lock's address is the port's */
    const struct console_driver *drv;
    uint32_t irq;
    int irq_cpu;
    unsigned irq_mask;              /* UART_IRQ_* sources enabled; written under txq.lock */
    struct waitq txq;
    _Atomic int tx_holder;          /* core inside txq.lock, -1: none */
    struct uart_ring rx, tx;
    uint64_t rx_bytes, rx_wakeups;  /* under rxq.lock (side by side: one LDP/STP) */
    uint64_t rx_errors;             /* under rxq.lock */
    uint64_t rx_reported;           /* rx.dropped when last reported; under rxq.lock */
    uint64_t tx_bytes, tx_waits;    /* under txq.lock */
    uint64_t last_irq_cycles;       /* arch_cycles() at the handler's start (0: the CPU
                                     * has no cycle counter); a volatile store, atomic
                                     * loads (handler runs: irq_count(irq)) */
    uint8_t rx_buf[UART_RX_RING];
    uint8_t tx_buf[UART_TX_RING];
};

/* A waiting reader's request (kernel/uart.h): its task's wait_arg. */
static inline struct uart_rx_req *uart_rx_req_of(const struct task *w)
{
    return (struct uart_rx_req *)(uintptr_t)w->wait_arg;
}

/* The handler's uncommon ends, out of line (uart_port.c). Under rxq.lock,
 * released here; then the TX service when TX is on. */
/* No reader waits: the interrupt's service into the ring. */
void uart_port_irq_ring(struct uart *u);
/* w, the first reader, got raw from the driver's irq_rx: 0 (a source with
 * the FIFO empty: w waits on) or UART_RX_MORE (the rest into the ring, w
 * woken, the readers behind it served from the ring). */
void uart_port_irq_rest(struct uart *u, struct task *w, uint32_t raw);
/* Not under rxq.lock, TX on: the TX service, then w's wake-up (w taken
 * off rxq with its result). */
void uart_port_irq_tx_wake(struct uart *u, struct task *w);

/* Under rxq.lock, w (the first reader) having raw (1 <= raw <= its first
 * step) bytes in its buffer: count them, take w off rxq with raw as its
 * result, release the lock and wake it (through the TX service when TX is
 * on). Inline in the handler for the lone byte (raw the constant 1), out
 * of line for more (uart_port_irq_done_many). */
static inline __attribute__((always_inline)) void uart_port_irq_done(struct uart *u,
                                                                     struct task *w,
                                                                     uint32_t raw)
{
    u->rx_bytes += raw;
    u->rx_wakeups++;
    waitq_unlink_first(&u->rxq, w);
    w->wait_result = (int32_t)raw;
    spin_unlock(&u->rxq.lock);
    /* TX is on only while the ring holds bytes; a writer turning it on
     * has already filled the FIFO itself, and the level interrupt returns. */
    if (__builtin_expect(*(volatile unsigned *)&u->irq_mask & UART_IRQ_TX, 0)) {   /* one LDR */
        uart_port_irq_tx_wake(u, w);
        return;
    }
    sched_wake_irq(w);
}
/* uart_port_irq_done for 2 <= raw (uart_port.c). */
void uart_port_irq_done_many(struct uart *u, struct task *w, uint32_t raw);

/* The port's interrupt handler for a driver whose irq_rx (console.h's
 * contract) is irq_rx, inline: stamp, then under rxq.lock either the
 * uncommon ends above or the common one: w, the first reader, waits (so
 * the ring is empty: a reader finding bytes takes them, and every path
 * that fills the ring completes the waiting readers until either runs
 * out), the FIFO's bytes go straight into its buffer (at most its first
 * step, uart_rx_req.first), their count becomes its wait result, it is
 * taken off rxq, and, the lock released (off the queue with its result,
 * nobody else can end its wait: waitq_inline.h), woken. */
static inline __attribute__((always_inline)) void
uart_port_irq(struct uart *u, uint32_t (*irq_rx)(uint8_t *dst, uint32_t max, uint64_t *errors),
              bool stamp)
{
    /* The stamp, with a stamping handler (the CPU has a cycle counter):
     * the handler's first statement, at the cost of one register read. */
    if (stamp)
        *(volatile uint64_t *)&u->last_irq_cycles = arch_cycles();   /* one aligned STR */
    spin_lock(&u->rxq.lock);
    struct task *w = u->rxq.head;
    if (__builtin_expect(!w, 0)) {
        uart_port_irq_ring(u);
        return;
    }
    struct uart_rx_req *r = uart_rx_req_of(w);
    uint32_t first = r->first;
    if (first > UART_RX_BUDGET)
        __builtin_unreachable();   /* uart_port.c's rx_req_set */
    uint32_t raw = irq_rx(r->buf, first, &u->rx_errors);
    if (__builtin_expect((int32_t)(raw - 1) < 0, 0)) {   /* 0, or UART_RX_MORE set */
        uart_port_irq_rest(u, w, raw);
        return;
    }
    /* 1 <= raw <= first: every byte is in w's buffer. The lone byte's
     * counts and result as constants (sharing one tail with longer drains
     * kept 1 in registers). */
    if (__builtin_expect(raw != 1, 0)) {
        uart_port_irq_done_many(u, w, raw);
        return;
    }
    uart_port_irq_done(u, w, 1);
}

/* Defines the driver's two handlers with irq_rx inline, void name(uint32_t
 * intid, void *port) (console_driver.irq, which stamps) and
 * name##_unstamped (console_driver.irq_unstamped, for a CPU without a cycle
 * counter); the port registers one of them once, so the choice costs the
 * handler nothing. */
#define UART_PORT_IRQ_HANDLER(name, irq_rx)                   \
    static void name(uint32_t intid, void *port)              \
    {                                                         \
        (void)intid;                                          \
        uart_port_irq((struct uart *)port, irq_rx, true);     \
    }                                                         \
    static void name##_unstamped(uint32_t intid, void *port)  \
    {                                                         \
        (void)intid;                                          \
        uart_port_irq((struct uart *)port, irq_rx, false);    \
    }

#endif
