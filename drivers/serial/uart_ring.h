/*
 * Byte rings for interrupt-driven UARTs: a power-of-two buffer with
 * free-running 32-bit indices (count = head - tail, correct across index
 * wraparound). Pure: no locking (the owner serialises producer and
 * consumer), no device access; built for the host tests as well.
 *
 * RX rings never block the device: uart_ring_put_or_drop() refuses a byte
 * when full and counts it in `dropped` (the oldest bytes stay intact).
 */
#ifndef UART_RING_H
#define UART_RING_H

#include <stdbool.h>
#include <stdint.h>

struct uart_ring {
    uint8_t *buf;
    uint32_t size;      /* power of two */
    uint32_t head;      /* next byte written goes to buf[head & (size - 1)] */
    uint32_t tail;      /* next byte read comes from buf[tail & (size - 1)] */
    uint64_t dropped;   /* bytes refused by uart_ring_put_or_drop (overflows) */
};

/* size must be a power of two >= 2; returns -1 (ring unusable) otherwise. */
int uart_ring_init(struct uart_ring *r, uint8_t *buf, uint32_t size);

static inline uint32_t uart_ring_count(const struct uart_ring *r) { return r->head - r->tail; }
static inline uint32_t uart_ring_space(const struct uart_ring *r)
{
    return r->size - (r->head - r->tail);
}
static inline bool uart_ring_empty(const struct uart_ring *r) { return r->head == r->tail; }

/* Append b; false (nothing stored) when full. */
bool uart_ring_put(struct uart_ring *r, uint8_t b);
/* Append b, or count it in r->dropped when full. Returns whether stored. */
bool uart_ring_put_or_drop(struct uart_ring *r, uint8_t b);
/* Take the oldest byte into *b; false when empty. */
bool uart_ring_get(struct uart_ring *r, uint8_t *b);
/* Append all n bytes, or none when fewer than n are free. Returns whether written. */
bool uart_ring_write_all(struct uart_ring *r, const void *src, uint32_t n);
/* Take up to n of the oldest bytes into dst; returns how many. */
uint32_t uart_ring_read(struct uart_ring *r, void *dst, uint32_t n);

#endif
