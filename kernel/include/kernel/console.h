/*
 * The system console: the UART that /chosen/stdout-path names, bound to a
 * driver by compatible. Output is assembled per core and written a whole
 * line at a time under one lock, so lines from different cores never
 * interleave. picolibc's stdin/stdout/stderr are attached to it.
 */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>
#include <kernel/platform.h>

struct console_driver {
    const char *name;
    const char *const *compatible;                 /* NULL-terminated */
    int (*init)(const struct plat_console *con);   /* 0 = usable */
    void (*putc)(char c);                          /* polled, may wait for FIFO space */
    void (*drain)(void);   /* optional: returns once everything written left the wire */

    /* Interrupt-driven operation (drivers/serial/uart_port.c); all optional
     * together: a driver without rx_read stays polled. None of them waits. */
    /* Received bytes from the RX FIFO into dst until it is empty or max (>= 1)
     * were moved, in one call; bytes that came with a line error (overrun,
     * framing, parity, break) are stored too and counted in *errors. Returns
     * the count, | UART_RX_MORE when max was reached with bytes still there. */
    uint32_t (*rx_read)(uint8_t *dst, uint32_t max, uint64_t *errors);
    uint32_t (*tx_room)(void);       /* bytes the TX FIFO takes now without waiting */
    void (*tx_byte)(uint8_t b);      /* write one byte; only after tx_room said so */
    void (*irq_mask)(unsigned mask); /* enable exactly the UART_IRQ_* sources in mask */
    /* An interrupt's service in one call: clear the latched sources (TX
     * level, timeout, line errors: those that do not clear themselves as
     * the FIFOs are serviced), then exactly rx_read(dst, max, errors). */
    uint32_t (*irq_rx)(uint8_t *dst, uint32_t max, uint64_t *errors);
    /* The port's interrupt handler with this driver's irq_rx inline
     * (UART_PORT_IRQ_HANDLER, drivers/serial/uart_port.h); port is the
     * struct uart. irq stamps the interrupt with the cycle counter,
     * irq_unstamped is the same for a CPU without one. */
    void (*irq)(uint32_t intid, void *port);
    void (*irq_unstamped)(uint32_t intid, void *port);
    uint32_t tx_fifo_depth;          /* bytes moved per TX interrupt at most */
};

#define UART_RX_MORE    (1u << 31)   /* rx_read: stopped at max, the FIFO holds more */
#define UART_IRQ_RX     (1u << 0)    /* data received / receive timeout / line errors */
#define UART_IRQ_TX     (1u << 1)    /* TX FIFO at or below its trigger level */

/* Register a console driver (placed in the sr_console_drivers section). */
#define CONSOLE_DRIVER(var)                                                       \
    static const struct console_driver *const var##_entry                         \
        __attribute__((used, section("sr_console_drivers"))) = &var

/* Registered drivers, in link order (*n of them). */
const struct console_driver *const *console_drivers(int *n);
/* True when d supports one of con's compatible strings. Pure (host-built). */
bool console_driver_supports(const struct console_driver *d, const struct plat_console *con);
/* The first driver supporting con (NULL when none or !con->present); no init. */
const struct console_driver *console_driver_for(const struct plat_console *con);

/* Bind the console described by con (from the DT or the board's fallback).
 * Returns the driver name, or NULL when no driver matches. */
const char *console_init(const struct plat_console *con);
/* Boot CPU, once interrupts and the scheduler work: run the console UART from
 * interrupts (kernel/uart.h). -1 when its driver or DT node cannot: it stays
 * polled. */
int console_start_interrupts(const struct platform *plat);
void console_putc(char c);
void console_write(const char *s, uint64_t n);
/* stdin: the next received byte, blocking the calling task until one comes
 * (uart_read); -1 (EOF) when the console is polled or the caller cannot
 * block (no task, IRQs masked, interrupt handler). */
int console_getc(void);
/* Emit the calling core's partial line now and drain the UART (before a halt
 * or power-off, so that the last line is not cut off). */
void console_flush(void);
/* From now on every write is synchronous (polled), whatever the context:
 * panic and exit, so the last words reach the wire. */
void console_force_sync(void);

#endif
