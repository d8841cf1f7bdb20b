/* Byte rings for interrupt-driven UARTs (see uart_ring.h). */
#include <string.h>

#include "uart_ring.h"

int uart_ring_init(struct uart_ring *r, uint8_t *buf, uint32_t size)
{
    *r = (struct uart_ring){0};
    if (!buf || size < 2 || (size & (size - 1)))
        return -1;
    r->buf = buf;
    r->size = size;
    return 0;
}

bool uart_ring_put(struct uart_ring *r, uint8_t b)
{
    if (uart_ring_space(r) == 0)
        return false;
    r->buf[r->head++ & (r->size - 1)] = b;
    return true;
}

bool uart_ring_put_or_drop(struct uart_ring *r, uint8_t b)
{
    if (uart_ring_put(r, b))
        return true;
    r->dropped++;
    return false;
}

bool uart_ring_get(struct uart_ring *r, uint8_t *b)
{
    if (uart_ring_empty(r))
        return false;
    *b = r->buf[r->tail++ & (r->size - 1)];
    return true;
}

/* Copies run in at most two pieces: up to the end of the buffer, then from its start. */
bool uart_ring_write_all(struct uart_ring *r, const void *src, uint32_t n)
{
    if (n > uart_ring_space(r))
        return false;
    uint32_t at = r->head & (r->size - 1);
    uint32_t first = n < r->size - at ? n : r->size - at;
    memcpy(r->buf + at, src, first);
    memcpy(r->buf, (const uint8_t *)src + first, n - first);
    r->head += n;
    return true;
}

uint32_t uart_ring_read(struct uart_ring *r, void *dst, uint32_t n)
{
    uint32_t avail = uart_ring_count(r);
    if (n > avail)
        n = avail;
    uint32_t at = r->tail & (r->size - 1);
    uint32_t first = n < r->size - at ? n : r->size - at;
    memcpy(dst, r->buf + at, first);
    memcpy((uint8_t *)dst + first, r->buf, n - first);
    r->tail += n;
    return n;
}
