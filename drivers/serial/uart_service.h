/*
 * The device side of an interrupt-driven UART, as pure moves between a
 * console driver's FIFO operations and the rings: what one interrupt does.
 * No locks, no scheduler; the caller holds the ring's lock. Built for the
 * host, where the drivers run against register models.
 */
#ifndef UART_SERVICE_H
#define UART_SERVICE_H

#include <stdint.h>
#include <kernel/console.h>

#include "uart_ring.h"

/* The bytes the RX FIFO holds (at most budget: a device that never runs
 * dry cannot hold the core) into rx; when rx is full a byte is read anyway
 * (the device must not stall) and counted in rx->dropped. Bytes that came
 * with a line error still go in and are counted in *errors. Returns the
 * bytes taken from the FIFO. */
uint32_t uart_service_rx(const struct console_driver *d, struct uart_ring *rx, uint32_t budget,
                         uint64_t *errors);

/* As uart_service_rx, for a reader waiting with buf[0..n) while rx is
 * empty: the first n bytes go straight into buf (no ring copy on the way;
 * order holds since rx is empty), the rest into rx. Returns the bytes taken
 * from the FIFO; min(that, n) of them are in buf. */
uint32_t uart_service_rx_to(const struct console_driver *d, uint8_t *buf, uint32_t n,
                            struct uart_ring *rx, uint32_t budget, uint64_t *errors);

/* Bytes from tx into the TX FIFO while it has room, at most budget.
 * Returns how many were written. */
uint32_t uart_service_tx(const struct console_driver *d, struct uart_ring *tx, uint32_t budget);

#endif
