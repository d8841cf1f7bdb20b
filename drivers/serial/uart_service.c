/* The device side of an interrupt-driven UART (see uart_service.h). */
#include "uart_service.h"

uint32_t uart_service_tx(const struct console_driver *d, struct uart_ring *tx, uint32_t budget)
{
    uint32_t n = 0;
    while (n < budget && !uart_ring_empty(tx)) {
        uint32_t room = d->tx_room();
        if (room == 0)
            break;
        for (; room && n < budget; room--, n++) {
            uint8_t b;
            if (!uart_ring_get(tx, &b))
                return n;
            d->tx_byte(b);
        }
    }
    return n;
}

/* Up to want bytes of the FIFO through op (irq_rx or rx_read) into rx;
 * the raw result (count | UART_RX_MORE). */
static uint32_t rx_chunk(uint32_t (*op)(uint8_t *, uint32_t, uint64_t *), struct uart_ring *rx,
                         uint32_t want, uint64_t *errors)
{
    uint8_t chunk[32];
    if (want > sizeof(chunk))
        want = sizeof(chunk);
    uint32_t r = op(chunk, want, errors), k = r & ~UART_RX_MORE;
    for (uint32_t i = 0; i < k; i++)
        uart_ring_put_or_drop(rx, chunk[i]);
    return r;
}

uint32_t uart_service_rx(const struct console_driver *d, struct uart_ring *rx, uint32_t budget,
                         uint64_t *errors)
{
    uint32_t got = 0;
    while (got < budget) {
        uint32_t r = rx_chunk(d->rx_read, rx, budget - got, errors);
        got += r & ~UART_RX_MORE;
        if (!(r & UART_RX_MORE))
            break;
    }
    return got;
}

uint32_t uart_service_irq_ring(const struct console_driver *d, struct uart_ring *rx,
                               uint32_t budget, uint64_t *errors)
{
    uint32_t r = rx_chunk(d->irq_rx, rx, budget, errors);
    if (!(r & UART_RX_MORE))
        return r;
    return uart_service_irq_rest(d, rx, budget, errors, r);
}

uint32_t uart_service_irq_rest(const struct console_driver *d, struct uart_ring *rx,
                               uint32_t budget, uint64_t *errors, uint32_t first_raw)
{
    uint32_t got = first_raw & ~UART_RX_MORE;
    return got + uart_service_rx(d, rx, budget - got, errors);
}
