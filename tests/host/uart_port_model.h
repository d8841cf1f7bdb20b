/*
 * The kernel around drivers/serial/uart_port.c, modelled for host tests of
 * the interrupt-driven port (test_ns16550.c, test_pl011.c): one core (cpu
 * 0) whose IRQ mask, counter and current task are variables
 * (tools/host-arch), an interrupt controller that records what the port
 * registers and dispatches on request, and wake-ups that are recorded
 * instead of scheduled. A reader is queued by the port's own
 * uart_read_begin_ (the model's block returns at once with the reader on
 * rxq, as a switch away would leave it).
 */
#ifndef UART_PORT_MODEL_H
#define UART_PORT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <kernel/console.h>
#include <kernel/irq.h>
#include <kernel/sched.h>
#include <kernel/uart.h>

#include "uart_port.h"

#define MODEL_WAKES 8

struct port_model {
    irq_handler_t handler;           /* what uart_console_start registered */
    void *handler_arg;
    uint32_t intid;
    bool enabled, edge;
    int routed_to;
    uint64_t dispatches;             /* model_port_irq calls: irq_count's answer */
    struct task *woken[MODEL_WAKES]; /* in order, by sched_wake_irq or the waitq calls */
    int32_t woken_result[MODEL_WAKES];
    bool woken_by_irq[MODEL_WAKES];  /* sched_wake_irq (the handler's own wake-up) */
    int nwoken;
    int bad_wakes;                   /* a wake-up with the port's rxq.lock held, or IRQs
                                        unmasked inside the handler, or one too many */
};

extern struct port_model port_model;

/* Start the port for driver d (bound and initialised by the caller) with
 * the console interrupt intid, through uart_console_start; the model reset
 * first. Returns the port, or NULL (a test failure recorded). */
struct uart *model_port_start(const struct console_driver *d, uint32_t intid);

/* One dispatch of the port's interrupt, as the GIC's would (IRQs masked),
 * the cycle counter 100 on. */
void model_port_irq(void);

/* uart_read's begin (uart_read_begin_) for reader t, the model's current
 * task meanwhile: true if t now waits on u's rxq for len bytes into buf
 * (req must live as long as the wait), else false with *got the bytes the
 * ring gave at once (or -EINVAL). */
bool model_read_begin(struct uart *u, struct task *t, struct uart_rx_req *req, uint8_t *buf,
                      uint32_t len, long *got);
/* model_read_begin that must block (the ring empty): a test failure if not. */
void model_reader_block(struct uart *u, struct task *t, struct uart_rx_req *req, uint8_t *buf,
                        uint32_t len);

#endif
