/* drivers/serial/uart_ring.c: order, full, index wraparound, overflow counting. */
#include <stdint.h>
#include <string.h>

#include "host_test.h"
#include "uart_ring.h"

TEST(uart_ring, init_wants_a_power_of_two)
{
    struct uart_ring r;
    uint8_t buf[16];
    EXPECT_EQ(uart_ring_init(&r, buf, 12), -1);
    EXPECT_EQ(uart_ring_init(&r, buf, 1), -1);
    EXPECT_EQ(uart_ring_init(&r, NULL, 16), -1);
    EXPECT_EQ(uart_ring_init(&r, buf, 16), 0);
    EXPECT_EQ(uart_ring_count(&r), 0);
    EXPECT_EQ(uart_ring_space(&r), 16);
    EXPECT_TRUE(uart_ring_empty(&r));
}

TEST(uart_ring, fifo_order_until_full)
{
    struct uart_ring r;
    uint8_t buf[8], b = 0;
    uart_ring_init(&r, buf, 8);
    for (int i = 0; i < 8; i++)
        EXPECT_TRUE(uart_ring_put(&r, (uint8_t)(i + 1)));
    EXPECT_TRUE(!uart_ring_put(&r, 99));   /* full says full */
    EXPECT_EQ(uart_ring_space(&r), 0);
    EXPECT_EQ(r.dropped, 0);               /* plain put does not count */
    for (int i = 0; i < 8; i++) {
        EXPECT_TRUE(uart_ring_get(&r, &b));
        EXPECT_EQ(b, i + 1);
    }
    EXPECT_TRUE(!uart_ring_get(&r, &b));
}

TEST(uart_ring, indices_wrap_around_uint32)
{
    struct uart_ring r;
    uint8_t buf[16], out[16];
    uart_ring_init(&r, buf, 16);
    r.head = r.tail = UINT32_MAX - 5;      /* the free-running indices are about to wrap */
    for (uint32_t round = 0; round < 4; round++) {
        uint8_t in[11];
        for (int i = 0; i < 11; i++)
            in[i] = (uint8_t)(round * 11 + (uint32_t)i);
        EXPECT_TRUE(uart_ring_write_all(&r, in, 11));
        EXPECT_EQ(uart_ring_count(&r), 11);
        EXPECT_EQ(uart_ring_space(&r), 5);
        EXPECT_EQ(uart_ring_read(&r, out, sizeof(out)), 11);
        EXPECT_TRUE(memcmp(in, out, 11) == 0);
    }
    EXPECT_LT(r.head, 64);                 /* it did wrap */
}

TEST(uart_ring, write_all_is_all_or_nothing_across_the_end)
{
    struct uart_ring r;
    uint8_t buf[8], out[8];
    uart_ring_init(&r, buf, 8);
    EXPECT_TRUE(uart_ring_write_all(&r, "abcdef", 6));
    EXPECT_EQ(uart_ring_read(&r, out, 4), 4);          /* tail at 4, head at 6 */
    EXPECT_TRUE(!uart_ring_write_all(&r, "0123456", 7)); /* 6 free: refused whole */
    EXPECT_EQ(uart_ring_count(&r), 2);
    EXPECT_TRUE(uart_ring_write_all(&r, "012345", 6));   /* wraps at the end */
    EXPECT_EQ(uart_ring_count(&r), 8);
    EXPECT_EQ(uart_ring_read(&r, out, 8), 8);
    EXPECT_TRUE(memcmp(out, "ef012345", 8) == 0);
    EXPECT_EQ(uart_ring_read(&r, out, 8), 0);
}

TEST(uart_ring, overflow_drops_the_newest_and_counts_each)
{
    struct uart_ring r;
    uint8_t buf[32], out[32];
    uart_ring_init(&r, buf, 32);
    int stored = 0;
    for (int i = 0; i < 100; i++)
        stored += uart_ring_put_or_drop(&r, (uint8_t)i);
    EXPECT_EQ(stored, 32);
    EXPECT_EQ(r.dropped, 68);              /* exactly the excess */
    EXPECT_EQ(uart_ring_read(&r, out, 32), 32);
    for (int i = 0; i < 32; i++)
        EXPECT_EQ(out[i], i);              /* the oldest are intact */
    EXPECT_TRUE(uart_ring_put_or_drop(&r, 7));
    EXPECT_EQ(r.dropped, 68);              /* room again: nothing more counted */
}
