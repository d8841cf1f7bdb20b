/*
 * The device side of an interrupt-driven UART, as pure moves between a
 * console driver's FIFO operations and the rings: what one interrupt does.
 * No locks, no scheduler; the caller holds the ring's lock. Built for the
 * host, where the drivers run against register models.
 */
#ifndef UART_SERVICE_H
#define UART_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <kernel/console.h>

#include "uart_ring.h"

/* The bytes the RX FIFO holds, at most budget (a device that never runs
 * dry cannot hold the core), into rx, through the driver's rx_read. When
 * rx is full a byte is read anyway (the device must not stall) and counted
 * in rx->dropped. Bytes that came with a line error still go in and are
 * counted in *errors. Returns the bytes taken from the FIFO. */
uint32_t uart_service_rx(const struct console_driver *d, struct uart_ring *rx, uint32_t budget,
                         uint64_t *errors);

/* uart_service_irq for n = 0 (out of line). */
uint32_t uart_service_irq_ring(const struct console_driver *d, struct uart_ring *rx,
                               uint32_t budget, uint64_t *errors);
/* uart_service_irq's first step for n > 0: the driver's irq_rx into buf,
 * at most min(n, budget) bytes. Returns its raw result (count |
 * UART_RX_MORE); without UART_RX_MORE that count is all the service took. */
static inline uint32_t uart_service_irq_first(const struct console_driver *d, uint8_t *buf,
                                              uint32_t n, uint32_t budget, uint64_t *errors)
{
    return d->irq_rx(buf, n < budget ? n : budget, errors);
}
/* uart_service_irq's rest after a first step whose raw result had
 * UART_RX_MORE: the FIFO into rx, within the budget the first step left.
 * Returns the bytes taken by both steps. */
uint32_t uart_service_irq_rest(const struct console_driver *d, struct uart_ring *rx,
                               uint32_t budget, uint64_t *errors, uint32_t first_raw);
/* What one interrupt does on the RX side: the driver's irq_rx (latched
 * sources cleared, then the FIFO), at most budget (>= 1) bytes, the first
 * n straight into buf, the rest into rx as uart_service_rx puts them. buf
 * is a waiting reader's buffer (no ring copy on the way), given only while
 * rx is empty so that order holds; n = 0 fills rx alone. Returns the bytes
 * taken from the FIFO; min(that, n) of them are in buf. One driver call
 * when the reader's buffer takes everything (the ring part is out of line;
 * uart_port.c calls the two steps itself to keep the rest out of line). */
static inline uint32_t uart_service_irq(const struct console_driver *d, uint8_t *buf,
                                        uint32_t n, struct uart_ring *rx, uint32_t budget,
                                        uint64_t *errors)
{
    if (!n)
        return uart_service_irq_ring(d, rx, budget, errors);
    uint32_t r = uart_service_irq_first(d, buf, n, budget, errors);
    if (!(r & UART_RX_MORE))
        return r;
    return uart_service_irq_rest(d, rx, budget, errors, r);
}

/* Bytes from tx into the TX FIFO while it has room, at most budget.
 * Returns how many were written. */
uint32_t uart_service_tx(const struct console_driver *d, struct uart_ring *tx, uint32_t budget);

#endif
