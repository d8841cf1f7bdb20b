/*
 * 16550-compatible UARTs, among them Synopsys DesignWare APB UARTs
 * ("snps,dw-apb-uart": RK3399's console, UART2 at 0xff1a0000). Polled putc
 * for early boot and panics; FIFO operations and interrupt control for the
 * interrupt-driven port (uart_port.c): received-data and character-timeout
 * interrupts fill the RX ring, the THR-empty interrupt drains the TX ring.
 *
 * Register i lives at base + (i << reg-shift) and is accessed with the DT's
 * reg-io-width: 4 -> 32-bit loads/stores (DesignWare parts ignore byte
 * accesses), 1 -> byte accesses. If the firmware left the UART running (line
 * control set, no clock known) it is used as is, so U-Boot's 1500000 baud on
 * RK3399 survives. With a known input clock and a baud from stdout-path the
 * UART is set to 8N1 at that baud with FIFOs on.
 */
#include <stdbool.h>

#include <arch/io.h>
#include <kernel/console.h>

/* Register indices (scaled by reg-shift). */
#define UART_THR    0   /* transmit holding (write), receive buffer (read) */
#define UART_DLL    0   /* divisor latch low, with LCR.DLAB */
#define UART_IER    1
#define UART_DLM    1   /* divisor latch high, with LCR.DLAB */
#define UART_FCR    2   /* FIFO control (write) */
#define UART_IIR    2   /* interrupt identification (read) */
#define UART_LCR    3
#define UART_MCR    4
#define UART_LSR    5
#define UART_USR    31  /* DesignWare only: UART status */

#define FCR_FIFO_EN     0x01
#define FCR_CLEAR_RX    0x02
#define FCR_CLEAR_TX    0x04
#define FCR_RX_TRIG_8   0x80   /* RX interrupt at 8 bytes (16550A; DW: half full) */
#define IER_RX          0x01   /* received data available, character timeout */
#define IER_THRE        0x02   /* transmit holding register / FIFO empty */
#define IER_LINE        0x04   /* receiver line status (errors) */
#define IIR_ID_MASK     0x0f
#define IIR_BUSY        0x07   /* DesignWare: LCR written while busy; cleared by reading USR */
#define LSR_DR          0x01   /* data ready */
#define LSR_ERRORS      0x1e   /* overrun, parity, framing, break */
#define LCR_8N1         0x03
#define LCR_DLAB        0x80
#define MCR_DTR_RTS     0x03
#define LSR_THRE        0x20   /* transmit holding register empty */
#define LSR_TEMT        0x40   /* transmitter completely idle */
#define USR_BUSY        0x01

/* A bound on waits for the transmitter while (re)programming: a dead UART
 * must not hang the boot. */
#define IDLE_SPINS      1000000

static struct {
    uintptr_t base;
    unsigned shift;
    bool wide;          /* reg-io-width 4 */
    bool dw;            /* DesignWare: LCR writes need an idle UART */
    uint32_t fifo;      /* TX FIFO depth once FIFOs are on (1: no FIFO) */
    bool fifo_on;       /* FCR written by irq_mask (once) */
} uart;

/* 16550A and DesignWare parts have (at least) 16-byte FIFOs; a plain 16550 none. */
#define FIFO_DEPTH      16

static uint32_t reg_read(unsigned reg)
{
    uintptr_t a = uart.base + ((uintptr_t)reg << uart.shift);
    return uart.wide ? mmio_read32(a) : mmio_read8(a);
}

static void reg_write(unsigned reg, uint32_t v)
{
    uintptr_t a = uart.base + ((uintptr_t)reg << uart.shift);
    if (uart.wide)
        mmio_write32(a, v);
    else
        mmio_write8(a, (uint8_t)v);
}

/* Waits (bounded) until nothing is being sent; DesignWare also until not busy. */
static void wait_idle(void)
{
    for (int i = 0; i < IDLE_SPINS; i++) {
        bool idle = (reg_read(UART_LSR) & LSR_TEMT) != 0;
        if (idle && uart.dw)
            idle = (reg_read(UART_USR) & USR_BUSY) == 0;
        if (idle)
            return;
    }
}

static bool has_compatible(const struct plat_console *con, const char *name)
{
    const struct console_driver d = {.compatible = (const char *const[]){name, NULL}};
    return console_driver_supports(&d, con);
}

static int ns16550_init(const struct plat_console *con)
{
    if (con->reg_io_width != 1 && con->reg_io_width != 4)
        return -1;
    if (con->reg_shift > 4)
        return -1;
    uart.base = con->reg.base;
    uart.shift = con->reg_shift;
    uart.wide = con->reg_io_width == 4;
    uart.dw = has_compatible(con, "snps,dw-apb-uart");
    uart.fifo = uart.dw || has_compatible(con, "ns16550a") ? FIFO_DEPTH : 1;
    uart.fifo_on = false;

    reg_write(UART_IER, 0);
    if (con->clock_hz == 0 || con->baud == 0)
        return 0;   /* keep the firmware's line settings */

    uint32_t div = (con->clock_hz + 8 * con->baud) / (16 * con->baud);
    if (div == 0 || div > 0xffff)
        return 0;   /* baud not reachable from this clock: keep the firmware's */
    wait_idle();
    reg_write(UART_LCR, LCR_DLAB | LCR_8N1);
    reg_write(UART_DLL, div & 0xff);
    reg_write(UART_DLM, div >> 8);
    reg_write(UART_LCR, LCR_8N1);
    reg_write(UART_FCR, FCR_FIFO_EN | FCR_CLEAR_RX | FCR_CLEAR_TX);
    reg_write(UART_MCR, MCR_DTR_RTS);
    return 0;
}

static void ns16550_putc(char c)
{
    while (!(reg_read(UART_LSR) & LSR_THRE))
        ;
    reg_write(UART_THR, (uint8_t)c);
}

/* Until the transmitter is idle (bounded: a dead UART must not hang a halt). */
static void ns16550_drain(void)
{
    wait_idle();
}

static uint32_t ns16550_rx_read(uint8_t *dst, uint32_t max, uint64_t *errors)
{
    uint32_t n = 0, bad = 0, lsr;
    while ((lsr = reg_read(UART_LSR)) & LSR_DR) {
        if (n == max) {
            n |= UART_RX_MORE;
            break;
        }
        bad += (lsr & LSR_ERRORS) != 0;
        dst[n++] = (uint8_t)reg_read(UART_THR);
    }
    if (bad)
        *errors += bad;
    return n;
}

/* THRE with FIFOs on: the whole TX FIFO is empty. */
static uint32_t ns16550_tx_room(void)
{
    return (reg_read(UART_LSR) & LSR_THRE) ? uart.fifo : 0;
}

static void ns16550_tx_byte(uint8_t b) { reg_write(UART_THR, b); }

/* FIFOs on, the first time (FCR is write-only and unaffected by
 * DesignWare's busy rule; no clear bits: what the firmware left queued
 * stays), then exactly the sources in mask. */
static void ns16550_irq_mask(unsigned mask)
{
    if (uart.fifo > 1 && !uart.fifo_on) {
        reg_write(UART_FCR, FCR_FIFO_EN | FCR_RX_TRIG_8);
        uart.fifo_on = true;
    }
    uint32_t ier = 0;
    if (mask & UART_IRQ_RX)
        ier |= IER_RX | IER_LINE;
    if (mask & UART_IRQ_TX)
        ier |= IER_THRE;
    reg_write(UART_IER, ier);
}

/* Reading IIR clears a THR-empty indication; received data and line status
 * clear as RBR and LSR are read (rx_read); DesignWare's busy-detect clears
 * by reading USR. */
/* Inline in the port's handler (PORT_IRQ below). */
static inline __attribute__((always_inline)) uint32_t ns16550_irq_rx(uint8_t *dst, uint32_t max,
                                                                     uint64_t *errors)
{
    if ((reg_read(UART_IIR) & IIR_ID_MASK) == IIR_BUSY && uart.dw)
        reg_read(UART_USR);
    return ns16550_rx_read(dst, max, errors);
}

#if defined(SR_HOST) && !defined(SR_HOST_UART_PORT)   /* host tools: the FIFO operations alone */
#define PORT_IRQ NULL
#define PORT_IRQ_UNSTAMPED NULL
#else   /* the port's handler with irq_rx inline */
#include "uart_port.h"
UART_PORT_IRQ_HANDLER(ns16550_port_irq, ns16550_irq_rx)
#define PORT_IRQ ns16550_port_irq
#define PORT_IRQ_UNSTAMPED ns16550_port_irq_unstamped
#endif

static const char *const ns16550_compatible[] = {"snps,dw-apb-uart", "ns16550a", "ns16550",
                                                 NULL};

static const struct console_driver ns16550 = {
    .name = "ns16550",
    .compatible = ns16550_compatible,
    .init = ns16550_init,
    .putc = ns16550_putc,
    .drain = ns16550_drain,
    .rx_read = ns16550_rx_read,
    .tx_room = ns16550_tx_room,
    .tx_byte = ns16550_tx_byte,
    .irq_mask = ns16550_irq_mask,
    .irq_rx = ns16550_irq_rx,
    .irq = PORT_IRQ,
    .irq_unstamped = PORT_IRQ_UNSTAMPED,
    .tx_fifo_depth = FIFO_DEPTH,
};
CONSOLE_DRIVER(ns16550);
