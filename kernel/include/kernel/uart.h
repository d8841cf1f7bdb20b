/*
 * Interrupt-driven UARTs for tasks (drivers/serial/uart_port.c).
 *
 * A UART whose console driver has FIFO and interrupt operations and whose DT
 * node names an interrupt runs from rings: the RX (and RX-timeout) interrupt
 * moves received bytes into the RX ring and wakes a waiting reader; the TX
 * FIFO-level interrupt moves bytes from the TX ring to the FIFO and wakes
 * writers waiting for room. A full RX ring drops the newest bytes and counts
 * them (rx_overflows; the next read reports them on the console); nothing
 * else is lost and nothing spins.
 *
 * Reads are requests (buffer, length, timeout) that complete by waking the
 * task, so they can move onto a generic I/O queue unchanged.
 *
 * The console (kernel/console.c) writes through uart_console_write(); see
 * there for which writes may block and which are polled.
 */
#ifndef KERNEL_UART_H
#define KERNEL_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <kernel/console.h>
#include <kernel/platform.h>

#define UART_RX_RING    512     /* bytes; powers of two */
#define UART_TX_RING    4096

struct uart;

struct uart_stats {
    uint64_t rx_bytes;          /* taken from the RX FIFO (stored or dropped) */
    uint64_t tx_bytes;          /* written to the TX FIFO (interrupt-driven or polled) */
    uint64_t rx_overflows;      /* received bytes dropped: RX ring full */
    uint64_t rx_errors;         /* bytes that came with a line error (overrun, framing, ...) */
    uint64_t irqs;              /* interrupts handled */
    uint64_t rx_wakeups;        /* readers the RX interrupt woke */
    uint64_t tx_waits;          /* times a console writer slept for TX ring room */
    uint64_t last_irq_cycles;   /* arch_cycles() on irq_cpu when the last interrupt's
                                   handler began; 0 where the CPU has no cycle
                                   counter (arch/cycles.h) */
    uint32_t rx_pending;        /* bytes in the RX ring now */
    uint32_t rx_capacity, tx_capacity;
    uint32_t irq;               /* INTID */
    int irq_cpu;                /* the core the interrupt is routed to */
};

/* Boot CPU, once interrupts and the scheduler work: run the console UART
 * described by con from interrupts. Returns 0, or -1 when the driver or the
 * DT cannot (no interrupt, no FIFO operations): the console stays polled. */
int uart_console_start(const struct platform *plat, const struct console_driver *drv);

/* The interrupt-driven console UART, NULL while there is none. */
struct uart *uart_console(void);

/* Block until at least one byte is there, then take up to len (> 0) bytes.
 * timeout_ns 0 (WAIT_FOREVER) waits forever. Returns the bytes read,
 * -ETIMEDOUT when none came in time, -EINVAL for len 0. Task context only.
 * (uart_read below: inline when the wait is untimed.) */
long uart_read_(struct uart *u, void *buf, size_t len, uint64_t timeout_ns);
/* A blocked reader's request, in the reader's frame (its task's wait_arg
 * points here while it waits; filled by uart_read_begin_): the RX
 * interrupt puts the bytes in buf and makes their count (> 0) the
 * reader's wait_result before it wakes the reader. first is min(len, the
 * interrupt's byte budget), worked out off the interrupt's path. */
struct uart_rx_req {
    uint8_t *buf;
    uint32_t len;
    uint32_t first;
};
/* uart_read's untimed begin (drivers/serial/uart_port.c): -EINVAL, or the
 * bytes the ring held, as prev NULL and the result; else req filled, the
 * reader queued and blocked up to the switch (sched_block_waitq_begin). */
struct sched_block_switch;
struct sched_block_switch uart_read_begin_(struct uart *u, struct uart_rx_req *req, void *buf,
                                           size_t len);
#ifndef SR_HOST   /* host builds: the rest needs the scheduler's inline waits */
#include <kernel/waitq.h>
#include <kernel/waitq_inline.h>
/* uart_read_; inline when timeout_ns is the constant WAIT_FOREVER: the
 * wait switches with a min frame in the caller (waitq_wait_min_finish),
 * which keeps across it only what it still needs, and returns the count
 * the interrupt left in the reader's wait_result. */
static inline __attribute__((always_inline)) long uart_read(struct uart *u, void *buf, size_t len,
                                                            uint64_t timeout_ns)
{
    if (!__builtin_constant_p(timeout_ns) || timeout_ns != WAIT_FOREVER)
        return uart_read_(u, buf, len, timeout_ns);
    struct uart_rx_req req;
    return waitq_wait_min_finish(uart_read_begin_(u, &req, buf, len));
}
#endif
/* Take up to len bytes that are there now; 0 when none. Any context. */
long uart_try_read(struct uart *u, void *buf, size_t len);
/* u's counters now (RX and TX parts each read under their own lock). */
void uart_stats(struct uart *u, struct uart_stats *out);

/* Console back end (kernel/console.c only); s[0..n) is one line or part of
 * one, written whole with "\n" as "\r\n". */
/* Queue it behind what is queued, any context; false when the TX ring lacks
 * room (or this core is already inside the port: a fault report). */
bool uart_console_put(const char *s, uint32_t n);
/* Task context: queue it, first waiting (on the TX interrupt) for room;
 * polled if the interrupt does not come within a second. */
void uart_console_write(const char *s, uint32_t n);
/* Polled: everything queued, then s, then (drain) wait for the transmitter
 * to go idle. Passes when re-entered on a core already inside the port. */
void uart_console_write_sync(const char *s, uint32_t n, bool drain);

#endif
