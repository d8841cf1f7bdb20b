/*
 * ARM PL011 UART, polled transmit (interrupt-driven I/O arrives with the
 * driver queues). If firmware left the UART enabled it is used as is;
 * otherwise it is set to 8N1 at the requested baud when the clock is known.
 */
#include <arch/io.h>
#include <kernel/console.h>

#define UART_DR     0x00
#define UART_FR     0x18
#define UART_IBRD   0x24
#define UART_FBRD   0x28
#define UART_LCRH   0x2c
#define UART_CR     0x30
#define UART_IMSC   0x38

#define FR_BUSY     (1u << 3)
#define FR_TXFF     (1u << 5)
#define CR_UARTEN   (1u << 0)
#define CR_TXE      (1u << 8)
#define CR_RXE      (1u << 9)
#define LCRH_FEN    (1u << 4)
#define LCRH_WLEN8  (3u << 5)

static uintptr_t base;

static int pl011_init(const struct plat_console *con)
{
    base = con->reg.base;
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

static const char *const pl011_compatible[] = {"arm,pl011", NULL};

static const struct console_driver pl011 = {
    .name = "pl011",
    .compatible = pl011_compatible,
    .init = pl011_init,
    .putc = pl011_putc,
    .drain = pl011_drain,
};
CONSOLE_DRIVER(pl011);
