/*
 * ARM PL011 UART. If firmware left the UART enabled it is used as is;
 * otherwise it is set to 8N1 at the requested baud when the clock is known.
 * Polled putc for early boot and panics; FIFO operations and interrupt
 * control for the interrupt-driven port (uart_port.c): RX and RX-timeout
 * interrupts fill the RX ring, the TX FIFO-level interrupt drains the TX ring.
 */
#include <stdbool.h>

#include <arch/io.h>
#include <kernel/console.h>

#define UART_DR     0x00
#define UART_FR     0x18
#define UART_IBRD   0x24
#define UART_FBRD   0x28
#define UART_LCRH   0x2c
#define UART_CR     0x30
#define UART_IFLS   0x34
#define UART_IMSC   0x38
#define UART_ICR    0x44

#define DR_ERRORS   (0xfu << 8)  /* FE, PE, BE, OE of the byte read */
#define FR_BUSY     (1u << 3)
#define FR_RXFE     (1u << 4)
#define FR_TXFF     (1u << 5)
#define FR_TXFE     (1u << 7)
#define CR_UARTEN   (1u << 0)
#define CR_TXE      (1u << 8)
#define CR_RXE      (1u << 9)
#define LCRH_FEN    (1u << 4)
#define LCRH_WLEN8  (3u << 5)
#define IFLS_HALF   ((2u << 3) | 2u) /* RX at 1/2 full, TX at 1/2 empty */
#define INT_RX      (1u << 4)
#define INT_TX      (1u << 5)
#define INT_RT      (1u << 6)
#define INT_ERRORS  (0xfu << 7)      /* FE, PE, BE, OE */
#define INT_ALL     0x7ffu

/* The smallest PL011 FIFO (r1p4 and earlier: 16 bytes; r1p5: 32): what
 * TXFE guarantees. A TX interrupt fills up to the largest, until TXFF, so
 * the level ends above the trigger and the next interrupt comes as it
 * drains (the TX interrupt fires on the way down through the level). */
#define FIFO_DEPTH      16
#define FIFO_DEPTH_MAX  32

static uintptr_t base;
static bool levels_set;     /* IFLS written by irq_mask (once) */

static int pl011_init(const struct plat_console *con)
{
    base = con->reg.base;
    levels_set = false;
    uint32_t cr = mmio_read32(base + UART_CR);
    if ((cr & (CR_UARTEN | CR_TXE)) == (CR_UARTEN | CR_TXE))
        return 0;
    mmio_write32(base + UART_CR, 0);
    if (con->clock_hz && con->baud) {
        /* divisor = clock / (16 * baud), with 6 fractional bits */
        uint32_t div64 = (uint32_t)(((uint64_t)con->clock_hz * 4 + con->baud / 2) / con->baud);
        mmio_write32(base + UART_IBRD, div64 >> 6);
        mmio_write32(base + UART_FBRD, div64 & 0x3f);
    }
    mmio_write32(base + UART_LCRH, LCRH_FEN | LCRH_WLEN8);
    mmio_write32(base + UART_IMSC, 0);
    mmio_write32(base + UART_CR, CR_UARTEN | CR_TXE | CR_RXE);
    return 0;
}

static void pl011_putc(char c)
{
    while (mmio_read32(base + UART_FR) & FR_TXFF)
        ;
    mmio_write32(base + UART_DR, (uint8_t)c);
}

/* Until the last bit left the wire (bounded: a dead UART must not hang a halt). */
static void pl011_drain(void)
{
    for (int i = 0; i < 1000000 && (mmio_read32(base + UART_FR) & FR_BUSY); i++)
        ;
}

/* rx_read on the UART at b (read once by the callers: the accessors
 * clobber memory). */
static inline __attribute__((always_inline)) uint32_t rx_drain(uintptr_t b, uint8_t *dst,
                                                               uint32_t max, uint64_t *errors)
{
    if (__builtin_expect(mmio_read32_at(b, UART_FR) & FR_RXFE, 0))
        return 0;
    /* FR was read before each DR: a byte is waiting on every read. The
     * first byte is read before the loop (most interrupts bring one: the
     * straight path). */
    uint32_t dr = mmio_read32_at(b, UART_DR);
    dst[0] = (uint8_t)dr;
    if (__builtin_expect(mmio_read32_at(b, UART_FR) & FR_RXFE, 1)) {   /* the one byte */
        if (__builtin_expect(dr & DR_ERRORS, 0))
            (*errors)++;
        return 1;
    }
    uint32_t bad = (dr & DR_ERRORS) != 0, n = 1, more = 0;
    do {
        if (n == max) {
            more = UART_RX_MORE;
            break;
        }
        dr = mmio_read32_at(b, UART_DR);
        bad += (dr & DR_ERRORS) != 0;
        dst[n++] = (uint8_t)dr;
    } while (!(mmio_read32_at(b, UART_FR) & FR_RXFE));
    if (bad)
        *errors += bad;
    return n | more;
}

static uint32_t pl011_rx_read(uint8_t *dst, uint32_t max, uint64_t *errors)
{
    return rx_drain(base, dst, max, errors);
}

/* TXFE: the whole FIFO is free; else one byte is, unless TXFF. */
static uint32_t pl011_tx_room(void)
{
    uint32_t fr = mmio_read32(base + UART_FR);
    return (fr & FR_TXFE) ? FIFO_DEPTH : (fr & FR_TXFF) ? 0 : 1;
}

static void pl011_tx_byte(uint8_t b) { mmio_write32(base + UART_DR, b); }

static void pl011_irq_mask(unsigned mask)
{
    uint32_t imsc = 0;
    if (mask & UART_IRQ_RX)
        imsc |= INT_RX | INT_RT | INT_ERRORS;
    if (mask & UART_IRQ_TX)
        imsc |= INT_TX;
    if (!levels_set) {
        mmio_write32(base + UART_IFLS, IFLS_HALF);
        levels_set = true;
    }
    mmio_write32(base + UART_IMSC, imsc);
}

/* RT, TX and the error sources are latched until cleared here, before the
 * FIFO is read. RX is left alone: it clears itself as the FIFO is read
 * below its level, and if the handler stops early (its byte budget) with
 * bytes still waiting, RX must stay asserted to bring it back (QEMU raises
 * RX only when the FIFO goes from empty to one byte, so an RX cleared here
 * would strand the rest). */
/* Inline in the port's handler (PORT_IRQ below). */
static inline __attribute__((always_inline)) uint32_t pl011_irq_rx(uint8_t *dst, uint32_t max,
                                                                   uint64_t *errors)
{
    uintptr_t b = base;
    mmio_write32_at(b, UART_ICR, INT_ALL & ~INT_RX);
    return rx_drain(b, dst, max, errors);
}

#if defined(SR_HOST) && !defined(SR_HOST_UART_PORT)   /* host tools: the FIFO operations alone */
#define PORT_IRQ NULL
#define PORT_IRQ_UNSTAMPED NULL
#else   /* the port's handler with irq_rx inline */
#include "uart_port.h"
UART_PORT_IRQ_HANDLER(pl011_port_irq, pl011_irq_rx)
#define PORT_IRQ pl011_port_irq
#define PORT_IRQ_UNSTAMPED pl011_port_irq_unstamped
#endif

static const char *const pl011_compatible[] = {"arm,pl011", NULL};

static const struct console_driver pl011 = {
    .name = "pl011",
    .compatible = pl011_compatible,
    .init = pl011_init,
    .putc = pl011_putc,
    .drain = pl011_drain,
    .rx_read = pl011_rx_read,
    .tx_room = pl011_tx_room,
    .tx_byte = pl011_tx_byte,
    .irq_mask = pl011_irq_mask,
    .irq_rx = pl011_irq_rx,
    .irq = PORT_IRQ,
    .irq_unstamped = PORT_IRQ_UNSTAMPED,
    .tx_fifo_depth = FIFO_DEPTH_MAX,
};
CONSOLE_DRIVER(pl011);
