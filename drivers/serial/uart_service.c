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
