/*
 * drivers/serial/pl011.c's interrupt-driven operations against a PL011
 * register model (32-bit accesses only), and the console interrupt as the
 * DT gives it: present on the QEMU board, absent (0: the port stays polled)
 * when the node has no "interrupts".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arch/io.h>
#include <kernel/console.h>
#include <kernel/platform.h>
#include <libfdt.h>

#include "host_test.h"
#include "uart_port_model.h"
#include "uart_service.h"

#define BASE 0x09000000u

struct pl011_model {
    int bad_accesses;        /* not 32 bits, or outside the block */
    uint32_t cr, lcrh, imsc, ifls, icr_writes, icr_last;
    uint16_t rx[64];         /* data | error bits 8-11 as DR reads them */
    int rx_head, rx_len;
    int tx_level;            /* bytes in the TX FIFO */
    int depth;               /* 16 (r1p4 and earlier) or 32 (r1p5) */
    char tx[128];
    int ntx;
};

static struct pl011_model m;

static uint64_t model_read(void *ctx, uintptr_t addr, int width)
{
    (void)ctx;
    if (width != 4 || addr < BASE || addr >= BASE + 0x1000) {
        m.bad_accesses++;
        return 0;
    }
    switch (addr - BASE) {
    case 0x00:
        return m.rx_head < m.rx_len ? m.rx[m.rx_head++] : 0;
    case 0x18: {
        uint32_t fr = 0;
        if (m.rx_head == m.rx_len)
            fr |= 1u << 4;           /* RXFE */
        if (m.tx_level >= m.depth)
            fr |= 1u << 5;           /* TXFF */
        if (m.tx_level == 0)
            fr |= 1u << 7;           /* TXFE */
        return fr;
    }
    case 0x2c:
        return m.lcrh;
    case 0x30:
        return m.cr;
    case 0x38:
        return m.imsc;
    default:
        return 0;
    }
}

static void model_write(void *ctx, uintptr_t addr, int width, uint64_t v)
{
    (void)ctx;
    if (width != 4 || addr < BASE || addr >= BASE + 0x1000) {
        m.bad_accesses++;
        return;
    }
    switch (addr - BASE) {
    case 0x00:
        if (m.tx_level >= m.depth)
            m.bad_accesses++;        /* written into a full FIFO: lost */
        else if (m.ntx < (int)sizeof(m.tx))
            m.tx[m.ntx++] = (char)v, m.tx_level++;
        break;
    case 0x2c: m.lcrh = (uint32_t)v; break;
    case 0x30: m.cr = (uint32_t)v; break;
    case 0x34: m.ifls = (uint32_t)v; break;
    case 0x38: m.imsc = (uint32_t)v; break;
    case 0x44: m.icr_writes++; m.icr_last = (uint32_t)v; break;
    default: break;
    }
}

static const struct host_mmio_model mmio = {model_read, model_write, NULL};

static const struct console_driver *pl011_ready(void)
{
    memset(&m, 0, sizeof(m));
    m.depth = 16;
    host_mmio_set_model(&mmio);
    static const char compat[] = "arm,pl011\0arm,primecell";
    struct plat_console con;
    memset(&con, 0, sizeof(con));
    con.present = true;
    strcpy(con.compatible, "arm,pl011");
    memcpy(con.compat_list, compat, sizeof(compat));
    con.compat_list_len = sizeof(compat);
    con.reg.base = BASE;
    con.reg.size = 0x1000;
    con.reg_io_width = 1;
    con.clock_hz = 24000000;
    con.baud = 115200;
    const struct console_driver *d = console_driver_for(&con);
    if (!d || strcmp(d->name, "pl011") != 0 || d->init(&con) != 0 || !d->rx_read ||
        !d->tx_room || !d->tx_byte || !d->irq_mask || !d->irq_rx) {
        test_fail(__FILE__, __LINE__, "pl011 did not bind with interrupt-driven operations");
        return NULL;
    }
    return d;
}

TEST(pl011, irq_mask_selects_rx_timeout_errors_and_tx)
{
    const struct console_driver *d = pl011_ready();
    if (!d)
        return;
    EXPECT_EQ(m.cr & 0x301, 0x301);         /* enabled, TX and RX on */
    EXPECT_EQ(m.lcrh & 0x10, 0x10);         /* FIFOs on */
    d->irq_mask(UART_IRQ_RX);
    EXPECT_EQ(m.imsc, 0x7d0);               /* RX, RT, FE, PE, BE, OE */
    EXPECT_EQ(m.ifls, 0x12);                /* both levels at half */
    d->irq_mask(UART_IRQ_RX | UART_IRQ_TX);
    EXPECT_EQ(m.imsc, 0x7f0);
    d->irq_mask(0);
    EXPECT_EQ(m.imsc, 0);
    uint8_t out[4];
    uint64_t errors = 0;
    EXPECT_EQ(d->irq_rx(out, sizeof(out), &errors), 0);   /* the FIFO is empty */
    EXPECT_EQ(m.icr_last, 0x7ef);           /* all latched sources but RX (it clears as the FIFO drains) */
    EXPECT_EQ(m.bad_accesses, 0);
    host_mmio_set_model(NULL);
}

TEST(pl011, rx_bytes_with_error_flags_into_the_ring)
{
    const struct console_driver *d = pl011_ready();
    if (!d)
        return;
    const char *in = "hello, world";
    for (int i = 0; in[i]; i++)
        m.rx[m.rx_len++] = (uint16_t)((uint8_t)in[i] | (i == 5 ? 1u << 11 : 0)); /* OE */
    uint8_t buf[8], out[8];
    struct uart_ring r;
    uart_ring_init(&r, buf, sizeof(buf));
    uint64_t errors = 0;
    EXPECT_EQ(uart_service_rx(d, &r, 256, &errors), 12);
    EXPECT_EQ(errors, 1);
    EXPECT_EQ(r.dropped, 4);
    EXPECT_EQ(uart_ring_read(&r, out, sizeof(out)), 8);
    EXPECT_TRUE(memcmp(out, "hello, w", 8) == 0);
    EXPECT_EQ(d->rx_read(out, 1, &errors), 0);   /* the FIFO is empty */
    host_mmio_set_model(NULL);
}

/* A waiting reader's buffer first, the rest into the (empty) ring, one
 * pass over the FIFO; errors counted wherever the byte went. */
TEST(pl011, rx_straight_into_a_waiting_readers_buffer_then_the_ring)
{
    const struct console_driver *d = pl011_ready();
    if (!d)
        return;
    const char *in = "abcdefghij";
    for (int i = 0; in[i]; i++)
        m.rx[m.rx_len++] = (uint16_t)((uint8_t)in[i] | (i == 1 || i == 7 ? 1u << 8 : 0)); /* FE */
    uint8_t ring_buf[4], reader[3], out[4];
    struct uart_ring r;
    uart_ring_init(&r, ring_buf, sizeof(ring_buf));
    uint64_t errors = 0;
    EXPECT_EQ(uart_service_irq(d, reader, sizeof(reader), &r, 256, &errors), 10);
    EXPECT_EQ(m.icr_writes, 1);             /* acknowledged once, before the FIFO was read */
    EXPECT_TRUE(memcmp(reader, "abc", 3) == 0);
    EXPECT_EQ(errors, 2);
    EXPECT_EQ(uart_ring_count(&r), 4);      /* "defg", then the ring was full */
    EXPECT_EQ(r.dropped, 3);                /* "hij" counted, not lost silently */
    EXPECT_EQ(uart_ring_read(&r, out, sizeof(out)), 4);
    EXPECT_TRUE(memcmp(out, "defg", 4) == 0);
    EXPECT_EQ(d->rx_read(out, 1, &errors), 0);

    /* Fewer bytes than the reader wants: all of them to the reader, the
     * ring untouched; an empty FIFO gives 0. */
    m.rx_head = m.rx_len = 0;
    m.rx[m.rx_len++] = 'x';
    uint8_t big[16] = {0};
    EXPECT_EQ(uart_service_irq(d, big, sizeof(big), &r, 256, &errors), 1);
    EXPECT_EQ(big[0], 'x');
    EXPECT_EQ(uart_ring_count(&r), 0);
    EXPECT_EQ(uart_service_irq(d, big, sizeof(big), &r, 256, &errors), 0);

    /* The budget bounds both parts together. */
    m.rx_head = m.rx_len = 0;
    for (int i = 0; i < 6; i++)
        m.rx[m.rx_len++] = (uint16_t)('0' + i);
    EXPECT_EQ(uart_service_irq(d, reader, sizeof(reader), &r, 5, &errors), 5);
    EXPECT_TRUE(memcmp(reader, "012", 3) == 0);
    EXPECT_EQ(uart_ring_count(&r), 2);
    uint8_t left[2] = {0};                  /* '5' left in the FIFO for the next interrupt */
    EXPECT_EQ(d->rx_read(left, 2, &errors), 1);
    EXPECT_EQ(left[0], '5');
    EXPECT_EQ(errors, 2);

    /* No reader waiting (n = 0): acknowledged, everything into the ring. */
    uart_ring_read(&r, out, sizeof(out));
    m.rx_head = m.rx_len = 0;
    m.rx[m.rx_len++] = 'y';
    m.rx[m.rx_len++] = (uint16_t)('z' | 1u << 9);   /* PE */
    uint32_t acks = m.icr_writes;
    EXPECT_EQ(uart_service_irq(d, NULL, 0, &r, 256, &errors), 2);
    EXPECT_EQ(m.icr_writes, acks + 1);
    EXPECT_EQ(errors, 3);
    EXPECT_EQ(uart_ring_read(&r, out, sizeof(out)), 2);
    EXPECT_TRUE(memcmp(out, "yz", 2) == 0);
    EXPECT_EQ(uart_service_irq(d, NULL, 0, &r, 256, &errors), 0);   /* empty FIFO: still acked */
    EXPECT_EQ(m.icr_writes, acks + 2);
    EXPECT_EQ(m.bad_accesses, 0);
    host_mmio_set_model(NULL);
}

TEST(pl011, tx_room_follows_the_fifo_flags)
{
    const struct console_driver *d = pl011_ready();
    if (!d)
        return;
    EXPECT_EQ(d->tx_room(), 16);            /* TXFE: the whole FIFO */
    m.tx_level = 5;
    EXPECT_EQ(d->tx_room(), 1);             /* neither empty nor full: one byte surely */
    m.tx_level = 16;
    EXPECT_EQ(d->tx_room(), 0);             /* TXFF */
    uint8_t buf[32];
    struct uart_ring r;
    uart_ring_init(&r, buf, sizeof(buf));
    uart_ring_write_all(&r, "abcdefghijklmnopqrstuvwxyz", 26);
    EXPECT_EQ(uart_service_tx(d, &r, 16), 0);
    m.tx_level = 14;                        /* two free: written one at a time */
    EXPECT_EQ(uart_service_tx(d, &r, 16), 2);
    m.tx_level = 0;                         /* one interrupt fills the FIFO up to TXFF */
    EXPECT_EQ(uart_service_tx(d, &r, d->tx_fifo_depth), 16);
    EXPECT_EQ(m.tx_level, 16);
    EXPECT_EQ(uart_ring_count(&r), 8);
    EXPECT_TRUE(memcmp(m.tx, "abcdefghijklmnopqr", 18) == 0);
    EXPECT_EQ(m.bad_accesses, 0);           /* never wrote into a full FIFO */
    host_mmio_set_model(NULL);
}

TEST(pl011, r1p5_fifo_is_filled_to_txff_above_its_trigger)
{
    const struct console_driver *d = pl011_ready();
    if (!d)
        return;
    m.depth = 32;
    uint8_t buf[64];
    struct uart_ring r;
    uart_ring_init(&r, buf, sizeof(buf));
    char line[50];
    memset(line, 'x', sizeof(line));
    uart_ring_write_all(&r, line, sizeof(line));
    /* 16 on TXFE, then one at a time until TXFF: the level ends at 32, above
     * the half-way trigger, so the next TX interrupt comes as it drains. */
    EXPECT_EQ(uart_service_tx(d, &r, d->tx_fifo_depth), 32);
    EXPECT_EQ(m.tx_level, 32);
    EXPECT_EQ(m.bad_accesses, 0);
    host_mmio_set_model(NULL);
}

TEST(pl011, console_interrupt_from_the_dt_or_none)
{
    size_t size;
    void *blob = host_fixture_load("qemu-virt-bl.dtb", &size);
    if (!blob)
        return;
    static struct platform plat;
    struct plat_error err;
    EXPECT_EQ(platform_discover(blob, size, &plat, &err), 0);
    EXPECT_EQ(plat.console.irq, 33);        /* SPI 1: the port runs from it */
    free(blob);

    void *fdt = host_fixture_edit("qemu-virt-bl.dtb", 0);
    if (!fdt)
        return;
    int node = fdt_path_offset(fdt, "/pl011@9000000");
    EXPECT_EQ(fdt_delprop(fdt, node, "interrupts"), 0);
    EXPECT_EQ(platform_discover(fdt, fdt_totalsize(fdt), &plat, &err), 0);
    EXPECT_TRUE(plat.console.present);      /* still the console ... */
    EXPECT_EQ(plat.console.irq, 0);         /* ... without an interrupt: stays polled */
    free(fdt);
}

/* rx_read stops at max and says whether the FIFO holds more. */
TEST(pl011, rx_read_says_more_at_max)
{
    const struct console_driver *d = pl011_ready();
    if (!d)
        return;
    for (int i = 0; i < 3; i++)
        m.rx[m.rx_len++] = (uint16_t)(('a' + i) | (i == 2 ? 1u << 9 : 0)); /* PE on 'c' */
    uint8_t out[4] = {0};
    uint64_t errors = 0;
    EXPECT_EQ(d->rx_read(out, 2, &errors), 2 | UART_RX_MORE);
    EXPECT_TRUE(memcmp(out, "ab", 2) == 0);
    EXPECT_EQ(errors, 0);
    EXPECT_EQ(d->rx_read(out, 1, &errors), 1);   /* exactly max, and the FIFO ran dry */
    EXPECT_EQ(out[0], 'c');
    EXPECT_EQ(errors, 1);
    EXPECT_EQ(d->rx_read(out, 4, &errors), 0);
    EXPECT_EQ(m.bad_accesses, 0);
    host_mmio_set_model(NULL);
}

/* The first byte is read before the drain's loop: max 1 with more waiting
 * says so, and a lone byte's error is counted once. */
TEST(pl011, rx_read_of_one_byte_says_more_or_counts_its_error)
{
    const struct console_driver *d = pl011_ready();
    if (!d)
        return;
    m.rx[m.rx_len++] = (uint16_t)('p' | 1u << 8);   /* FE */
    m.rx[m.rx_len++] = (uint16_t)'q';
    uint8_t out[2] = {0};
    uint64_t errors = 0;
    EXPECT_EQ(d->rx_read(out, 1, &errors), 1 | UART_RX_MORE);
    EXPECT_EQ(out[0], 'p');
    EXPECT_EQ(errors, 1);
    EXPECT_EQ(d->irq_rx(out, 2, &errors), 1);        /* 'q' alone, no error */
    EXPECT_EQ(out[0], 'q');
    EXPECT_EQ(errors, 1);
    m.rx[m.rx_len++] = (uint16_t)('r' | 1u << 10);  /* BE, alone */
    EXPECT_EQ(d->irq_rx(out, 2, &errors), 1);
    EXPECT_EQ(out[0], 'r');
    EXPECT_EQ(errors, 2);
    EXPECT_EQ(m.bad_accesses, 0);
    host_mmio_set_model(NULL);
}

/* The port's handler with pl011_irq_rx inline (uart_port_model.h's kernel
 * model): each dispatch acknowledges the latched sources once before the
 * FIFO is read; a lone byte goes to the waiting reader by the handler's own
 * wake-up; more than the reader asked for fill it, the rest go to the
 * ring; an interrupt with the FIFO empty wakes nobody. */
TEST(pl011, port_irq_acks_then_serves_the_reader_and_the_ring)
{
    const struct console_driver *d = pl011_ready();
    if (!d)
        return;
    struct uart *u = model_port_start(d, 33);
    if (!u)
        return;
    EXPECT_EQ(m.imsc, 0x7d0);
    struct uart_stats s0, s1;
    uart_stats(u, &s0);
    struct task t;
    struct uart_rx_req req;
    uint8_t buf[3];
    model_reader_block(u, &t, &req, buf, sizeof(buf));
    m.rx[m.rx_len++] = 'k';
    model_port_irq();
    EXPECT_EQ(m.icr_writes, 1);
    EXPECT_EQ(m.icr_last, 0x7ef);
    EXPECT_EQ(port_model.nwoken, 1);
    EXPECT_TRUE(port_model.woken_by_irq[0]);
    EXPECT_EQ(port_model.woken_result[0], 1);
    EXPECT_EQ(buf[0], 'k');
    model_reader_block(u, &t, &req, buf, sizeof(buf));
    const char *in = "vwxyz";
    for (int i = 0; in[i]; i++)
        m.rx[m.rx_len++] = (uint16_t)((uint8_t)in[i] | (i == 3 ? 1u << 10 : 0));   /* BE */
    model_port_irq();
    EXPECT_EQ(m.icr_writes, 2);
    EXPECT_EQ(port_model.nwoken, 2);
    EXPECT_EQ(port_model.woken_result[1], 3);
    EXPECT_TRUE(memcmp(buf, "vwx", 3) == 0);
    long got = 0;
    EXPECT_TRUE(!model_read_begin(u, &t, &req, buf, sizeof(buf), &got));   /* the ring's "yz" */
    EXPECT_EQ(got, 2);
    EXPECT_TRUE(memcmp(buf, "yz", 2) == 0);
    model_port_irq();                       /* the FIFO empty */
    EXPECT_EQ(m.icr_writes, 3);
    EXPECT_EQ(port_model.nwoken, 2);
    uart_stats(u, &s1);
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, 6);
    EXPECT_EQ(s1.rx_wakeups - s0.rx_wakeups, 2);
    EXPECT_EQ(s1.rx_errors - s0.rx_errors, 1);
    EXPECT_EQ(s1.irqs - s0.irqs, 3);
    EXPECT_EQ(s1.rx_pending, 0);
    EXPECT_EQ(port_model.bad_wakes, 0);
    EXPECT_EQ(m.bad_accesses, 0);
    host_mmio_set_model(NULL);
}
