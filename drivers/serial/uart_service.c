/* The device side of an interrupt-driven UART (see uart_service.h). */
#include "uart_service.h"

uint32_t uart_service_rx_to(const struct console_driver *d, uint8_t *buf, uint32_t n,
                            struct uart_ring *rx, uint32_t budget, uint64_t *errors)
{
    uint32_t got = 0;
    for (int c; got < budget && (c = d->rx_byte()) >= 0; got++) {
        if (c & UART_RX_ERROR)
            (*errors)++;
        if (got < n)
            buf[got] = (uint8_t)c;
        else
            uart_ring_put_or_drop(rx, (uint8_t)c);
    }
    return got;
}

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
