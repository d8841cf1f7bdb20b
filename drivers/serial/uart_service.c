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

uint32_t uart_service_rx(const struct console_driver *d, struct uart_ring *rx, uint32_t budget,
                         uint64_t *errors)
{
    uint32_t got = 0;
    while (got < budget) {
        uint8_t chunk[32];
        uint32_t want = budget - got < sizeof(chunk) ? budget - got : (uint32_t)sizeof(chunk);
        uint32_t r = d->rx_read(chunk, want, errors), k = r & ~UART_RX_MORE;
        for (uint32_t i = 0; i < k; i++)
            uart_ring_put_or_drop(rx, chunk[i]);
        got += k;
        if (!(r & UART_RX_MORE))
            break;
    }
    return got;
}
