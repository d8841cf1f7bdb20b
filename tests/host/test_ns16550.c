/*
 * drivers/serial/ns16550.c against a register model of a 16550 / DesignWare
 * APB UART: register stride (reg-shift), access width (reg-io-width), the
 * divisor latch, transmit waiting for THRE, and the DesignWare rule that a
 * line-control write while the UART is busy is ignored. Then the operations
 * of the interrupt-driven port: RX FIFO into the ring (overflow and line
 * errors counted, a babbling device bounded), TX only on THRE and at most a
 * FIFO's worth, IER/FCR programming, and the DesignWare busy-detect ack.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arch/cycles.h>
#include <arch/io.h>
#include <kernel/console.h>

#include "host_test.h"
#include "uart_port_model.h"
#include "uart_service.h"

#define RK_UART2 0xff1a0000u

struct uart_model {
    uintptr_t base;
    unsigned shift;
    int width;               /* every access must have this width */
    bool dw;                 /* DesignWare: USR at index 31, busy blocks LCR */
    int bad_accesses;        /* wrong width, misaligned or outside the block */
    uint8_t ier, lcr, fcr, mcr, dll, dlm;
    int lcr_writes_ignored;
    int thre_busy_polls;     /* LSR reads left that report THR full */
    int busy_polls;          /* USR/LSR reads left that report busy / not idle */
    int lsr_reads;
    char tx[256];
    int ntx;
    int lsr_reads_at_tx[256]; /* LSR reads seen when each byte was written */
    uint8_t rx[1024];        /* RX FIFO contents (a model: no depth limit) */
    uint8_t rx_err[1024];    /* LSR error bits that come with each byte */
    int rx_head, rx_len;
    bool rx_babbles;         /* a broken device: data ready forever */
    bool busy_irq;           /* DesignWare busy-detect interrupt pending */
    int iir_reads, usr_reads;
};

static int reg_index(struct uart_model *m, uintptr_t addr, int width)
{
    uintptr_t off = addr - m->base;
    if (addr < m->base || width != m->width || off % ((uintptr_t)1 << m->shift) != 0 ||
        (off >> m->shift) > 31) {
        m->bad_accesses++;
        return -1;
    }
    return (int)(off >> m->shift);
}

static uint64_t model_read(void *ctx, uintptr_t addr, int width)
{
    struct uart_model *m = ctx;
    switch (reg_index(m, addr, width)) {
    case 0:
        if (m->lcr & 0x80)
            return m->dll;
        if (m->rx_babbles)
            return 0x55;
        if (m->rx_head < m->rx_len)
            return m->rx[m->rx_head++];
        return 0;
    case 1:
        return (m->lcr & 0x80) ? m->dlm : m->ier;
    case 2:
        m->iir_reads++;
        return 0xc0 | (m->dw && m->busy_irq ? 0x07 : 0x01);
    case 3:
        return m->lcr;
    case 5: {
        m->lsr_reads++;
        uint8_t lsr = 0;
        if (m->thre_busy_polls > 0)
            m->thre_busy_polls--;
        else
            lsr |= 0x20;
        if (m->busy_polls > 0)
            m->busy_polls--;
        else
            lsr |= 0x40;
        if (m->rx_babbles)
            lsr |= 0x01;
        else if (m->rx_head < m->rx_len)
            lsr |= 0x01 | m->rx_err[m->rx_head];
        return lsr;
    }
    case 31:
        m->usr_reads++;
        m->busy_irq = false;
        return m->dw && m->busy_polls > 0 ? 1 : 0;
    default:
        return 0;
    }
}

static void model_write(void *ctx, uintptr_t addr, int width, uint64_t v)
{
    struct uart_model *m = ctx;
    uint8_t b = (uint8_t)v;
    switch (reg_index(m, addr, width)) {
    case 0:
        if (m->lcr & 0x80) {
            m->dll = b;
        } else if (m->ntx < (int)sizeof(m->tx)) {
            m->lsr_reads_at_tx[m->ntx] = m->lsr_reads;
            m->tx[m->ntx++] = (char)b;
        }
        break;
    case 1:
        if (m->lcr & 0x80)
            m->dlm = b;
        else
            m->ier = b;
        break;
    case 2:
        m->fcr = b;
        break;
    case 3:
        if (m->dw && m->busy_polls > 0)
            m->lcr_writes_ignored++;
        else
            m->lcr = b;
        break;
    case 4:
        m->mcr = b;
        break;
    default:
        break;
    }
}

static struct uart_model model;
static const struct host_mmio_model mmio = {model_read, model_write, &model};

static void model_reset(uintptr_t base, unsigned shift, int width, bool dw)
{
    memset(&model, 0, sizeof(model));
    model.base = base;
    model.shift = shift;
    model.width = width;
    model.dw = dw;
    model.ier = 0x0f;
    model.lcr = 0x03;     /* as firmware left it */
    host_mmio_set_model(&mmio);
}

/* A console description as dt_console() fills it. */
static struct plat_console console(const char *compat_list, int list_len, uintptr_t base,
                                   uint32_t shift, uint32_t width, uint32_t clock_hz,
                                   uint32_t baud)
{
    struct plat_console con;
    memset(&con, 0, sizeof(con));
    con.present = true;
    snprintf(con.compatible, sizeof(con.compatible), "%s", compat_list);
    memcpy(con.compat_list, compat_list, (size_t)list_len);
    con.compat_list_len = list_len;
    con.reg.base = base;
    con.reg.size = 0x100;
    con.reg_shift = shift;
    con.reg_io_width = width;
    con.clock_hz = clock_hz;
    con.baud = baud;
    return con;
}

static const char rk_compat[] = "rockchip,rk3399-uart\0snps,dw-apb-uart";

static const struct console_driver *bind(const struct plat_console *con)
{
    const struct console_driver *d = console_driver_for(con);
    EXPECT_TRUE(d != NULL);
    if (d)
        EXPECT_STREQ(d->name, "ns16550");
    return d;
}

static void send(const struct console_driver *d, const char *s)
{
    for (; *s; s++)
        d->putc(*s);
}

TEST(ns16550, rk3399_uart2_keeps_firmware_settings)
{
    /* RK3399: the clock comes from the CRU (unknown to SR), U-Boot set 1500000. */
    struct plat_console con = console(rk_compat, sizeof(rk_compat), RK_UART2, 2, 4, 0, 1500000);
    model_reset(RK_UART2, 2, 4, true);
    const struct console_driver *d = bind(&con);
    if (!d)
        return;
    EXPECT_EQ(d->init(&con), 0);
    send(d, "SR\n");
    EXPECT_EQ(model.ntx, 3);
    EXPECT_TRUE(memcmp(model.tx, "SR\n", 3) == 0);
    EXPECT_EQ(model.ier, 0);            /* interrupts off: polled path */
    EXPECT_EQ(model.lcr, 0x03);         /* untouched */
    EXPECT_EQ(model.dll, 0);
    EXPECT_EQ(model.bad_accesses, 0);   /* 32-bit, 4-byte stride, inside the block */
    host_mmio_set_model(NULL);
}

TEST(ns16550, drain_waits_until_the_transmitter_is_idle)
{
    struct plat_console con = console(rk_compat, sizeof(rk_compat), RK_UART2, 2, 4, 0, 1500000);
    model_reset(RK_UART2, 2, 4, true);
    const struct console_driver *d = bind(&con);
    if (!d || !d->drain)
        return;
    EXPECT_EQ(d->init(&con), 0);
    send(d, "tests: 1 passed, 0 failed\n");
    model.busy_polls = 7;               /* the FIFO still holds the line */
    d->drain();
    EXPECT_EQ(model.busy_polls, 0);
    host_mmio_set_model(NULL);
}

TEST(ns16550, programs_divisor_from_clock_and_baud)
{
    /* 24 MHz / (16 * 1500000) = 1; 1.8432 MHz / (16 * 9600) = 12. */
    static const struct {
        uint32_t clock, baud, div;
    } cases[] = {{24000000, 1500000, 1}, {1843200, 9600, 12}, {24000000, 115200, 13},
                 {48000000, 300, 10000}};
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct plat_console con = console(rk_compat, sizeof(rk_compat), RK_UART2, 2, 4,
                                          cases[i].clock, cases[i].baud);
        model_reset(RK_UART2, 2, 4, true);
        const struct console_driver *d = bind(&con);
        if (!d)
            return;
        EXPECT_EQ(d->init(&con), 0);
        EXPECT_EQ(model.dll | (model.dlm << 8), cases[i].div);
        EXPECT_EQ(model.lcr, 0x03);     /* 8N1, divisor latch closed again */
        EXPECT_EQ(model.fcr & 0x01, 1); /* FIFOs on */
        EXPECT_EQ(model.bad_accesses, 0);
    }
    host_mmio_set_model(NULL);
}

TEST(ns16550, designware_busy_is_waited_out_before_line_control)
{
    struct plat_console con = console(rk_compat, sizeof(rk_compat), RK_UART2, 2, 4,
                                      24000000, 115200);
    model_reset(RK_UART2, 2, 4, true);
    model.busy_polls = 5;               /* still shifting out U-Boot's last bytes */
    const struct console_driver *d = bind(&con);
    if (!d)
        return;
    EXPECT_EQ(d->init(&con), 0);
    EXPECT_EQ(model.lcr_writes_ignored, 0);
    EXPECT_EQ(model.dll, 13);
    EXPECT_EQ(model.lcr, 0x03);
    host_mmio_set_model(NULL);
}

TEST(ns16550, byte_registers_and_transmit_waits_for_thre)
{
    static const char compat[] = "ns16550a";
    struct plat_console con = console(compat, sizeof(compat), 0x10000000, 0, 1, 0, 0);
    model_reset(0x10000000, 0, 1, false);
    const struct console_driver *d = bind(&con);
    if (!d)
        return;
    EXPECT_EQ(d->init(&con), 0);
    model.thre_busy_polls = 3;          /* the holding register is full for 3 polls */
    send(d, "ab");
    EXPECT_EQ(model.ntx, 2);
    EXPECT_TRUE(memcmp(model.tx, "ab", 2) == 0);
    EXPECT_GE(model.lsr_reads_at_tx[0], 4); /* written only once THRE was seen */
    EXPECT_EQ(model.bad_accesses, 0);       /* 8-bit accesses, 1-byte stride */
    host_mmio_set_model(NULL);
}

TEST(ns16550, refuses_unsupported_io_width_and_unknown_uarts)
{
    struct plat_console con = console(rk_compat, sizeof(rk_compat), RK_UART2, 2, 2, 0, 0);
    model_reset(RK_UART2, 2, 2, true);
    const struct console_driver *d = bind(&con);
    if (d)
        EXPECT_EQ(d->init(&con), -1);   /* 16-bit registers: not this driver's */
    EXPECT_EQ(model.ier, 0x0f);         /* and nothing was touched */
    static const char other[] = "vendor,mystery-uart";
    con = console(other, sizeof(other), RK_UART2, 2, 4, 0, 0);
    EXPECT_TRUE(console_driver_for(&con) == NULL);
    host_mmio_set_model(NULL);
}

/* --- interrupt-driven operation ---------------------------------------------------- */

static const struct console_driver *rk_uart_ready(void)
{
    struct plat_console con = console(rk_compat, sizeof(rk_compat), RK_UART2, 2, 4, 0, 1500000);
    model_reset(RK_UART2, 2, 4, true);
    const struct console_driver *d = bind(&con);
    if (!d || d->init(&con) != 0 || !d->rx_read || !d->tx_room || !d->tx_byte ||
        !d->irq_mask || !d->irq_rx) {
        test_fail(__FILE__, __LINE__, "no interrupt-driven operations");
        return NULL;
    }
    return d;
}

static void model_receive(const char *s, int n, uint8_t err_at, uint8_t err)
{
    for (int i = 0; i < n; i++) {
        model.rx[model.rx_len] = (uint8_t)s[i];
        model.rx_err[model.rx_len++] = i == err_at ? err : 0;
    }
}

TEST(ns16550, irq_mask_programs_ier_and_fifos)
{
    const struct console_driver *d = rk_uart_ready();
    if (!d)
        return;
    d->irq_mask(UART_IRQ_RX);
    EXPECT_EQ(model.ier, 0x05);             /* received data + line status */
    EXPECT_EQ(model.fcr, 0x81);             /* FIFOs on, RX level 8, nothing cleared */
    model.fcr = 0;
    d->irq_mask(UART_IRQ_RX | UART_IRQ_TX);
    EXPECT_EQ(model.ier, 0x07);             /* + THR empty */
    EXPECT_EQ(model.fcr, 0);                /* FIFOs were set up once, not again */
    d->irq_mask(0);
    EXPECT_EQ(model.ier, 0);
    EXPECT_EQ(model.bad_accesses, 0);       /* 32-bit accesses at reg-shift 2 */
    host_mmio_set_model(NULL);
}

TEST(ns16550, rx_fills_the_ring_and_counts_overflow_and_errors)
{
    const struct console_driver *d = rk_uart_ready();
    if (!d)
        return;
    uint8_t buf[16], out[16];
    struct uart_ring r;
    uart_ring_init(&r, buf, sizeof(buf));
    uint64_t errors = 0;
    model_receive("0123456789abcdefghijklmn", 24, 3, 0x02 /* overrun */);
    EXPECT_EQ(uart_service_rx(d, &r, 256, &errors), 24); /* the FIFO is emptied */
    EXPECT_EQ(model.rx_head, 24);
    EXPECT_EQ(uart_ring_count(&r), 16);
    EXPECT_EQ(r.dropped, 8);                /* the excess, exactly */
    EXPECT_EQ(errors, 1);
    EXPECT_EQ(uart_ring_read(&r, out, sizeof(out)), 16);
    EXPECT_TRUE(memcmp(out, "0123456789abcdef", 16) == 0);
    EXPECT_EQ(uart_service_rx(d, &r, 256, &errors), 0); /* empty FIFO: nothing */
    EXPECT_EQ(model.bad_accesses, 0);
    host_mmio_set_model(NULL);
}

TEST(ns16550, babbling_receiver_is_bounded_per_interrupt)
{
    const struct console_driver *d = rk_uart_ready();
    if (!d)
        return;
    uint8_t buf[64];
    struct uart_ring r;
    uart_ring_init(&r, buf, sizeof(buf));
    uint64_t errors = 0;
    model.rx_babbles = true;
    EXPECT_EQ(uart_service_rx(d, &r, 100, &errors), 100);
    EXPECT_EQ(uart_ring_count(&r), 64);
    EXPECT_EQ(r.dropped, 36);
    host_mmio_set_model(NULL);
}

TEST(ns16550, tx_fills_the_fifo_only_when_thr_is_empty)
{
    const struct console_driver *d = rk_uart_ready();
    if (!d)
        return;
    d->irq_mask(UART_IRQ_RX | UART_IRQ_TX);
    uint8_t buf[64];
    struct uart_ring r;
    uart_ring_init(&r, buf, sizeof(buf));
    char line[41];
    for (int i = 0; i < 40; i++)
        line[i] = (char)('A' + i % 26);
    uart_ring_write_all(&r, line, 40);
    model.thre_busy_polls = 1;              /* the FIFO still drains */
    EXPECT_EQ(uart_service_tx(d, &r, d->tx_fifo_depth), 0);
    EXPECT_EQ(model.ntx, 0);
    /* THRE: one FIFO's worth (16), however much more the ring holds. */
    EXPECT_EQ(uart_service_tx(d, &r, d->tx_fifo_depth), 16);
    EXPECT_EQ(model.ntx, 16);
    EXPECT_EQ(uart_ring_count(&r), 24);
    EXPECT_EQ(uart_service_tx(d, &r, d->tx_fifo_depth), 16);
    EXPECT_EQ(uart_service_tx(d, &r, d->tx_fifo_depth), 8);
    EXPECT_EQ(uart_service_tx(d, &r, d->tx_fifo_depth), 0);
    EXPECT_EQ(model.ntx, 40);
    EXPECT_TRUE(memcmp(model.tx, line, 40) == 0);
    EXPECT_EQ(model.bad_accesses, 0);
    host_mmio_set_model(NULL);
}

TEST(ns16550, plain_16550_has_no_fifo_one_byte_per_thre)
{
    static const char compat[] = "ns16550";
    struct plat_console con = console(compat, sizeof(compat), 0x10000000, 0, 1, 0, 0);
    model_reset(0x10000000, 0, 1, false);
    const struct console_driver *d = bind(&con);
    if (!d)
        return;
    EXPECT_EQ(d->init(&con), 0);
    d->irq_mask(UART_IRQ_RX);
    EXPECT_EQ(model.fcr, 0);                /* no FIFO to turn on */
    EXPECT_EQ(d->tx_room(), 1);
    host_mmio_set_model(NULL);
}

TEST(ns16550, irq_rx_ack_clears_designware_busy_detect)
{
    const struct console_driver *d = rk_uart_ready();
    if (!d)
        return;
    model.busy_irq = true;
    uint8_t out[4];
    uint64_t errors = 0;
    EXPECT_EQ(d->irq_rx(out, sizeof(out), &errors), 0);   /* no data: acknowledged only */
    EXPECT_EQ(model.iir_reads, 1);
    EXPECT_EQ(model.usr_reads, 1);
    EXPECT_TRUE(!model.busy_irq);
    EXPECT_EQ(d->irq_rx(out, sizeof(out), &errors), 0);   /* nothing pending: IIR only */
    EXPECT_EQ(model.iir_reads, 2);
    EXPECT_EQ(model.usr_reads, 1);
    host_mmio_set_model(NULL);
}

/* --- the port's interrupt handler (UART_PORT_IRQ_HANDLER with ns16550_irq_rx,
 * uart_port.c's ends) in the kernel model of uart_port_model.h ---------------- */

#define RK_UART2_IRQ 132

static struct uart *rk_port(void)
{
    const struct console_driver *d = rk_uart_ready();
    if (!d)
        return NULL;
    struct uart *u = model_port_start(d, RK_UART2_IRQ);
    if (u) {
        EXPECT_EQ(model.ier, 0x05);   /* received data + line status */
        EXPECT_TRUE(!port_model.edge);   /* a level interrupt */
        EXPECT_EQ(port_model.routed_to, 0);
    }
    return u;
}

static struct uart_stats stats_of(struct uart *u)
{
    struct uart_stats s;
    uart_stats(u, &s);
    return s;
}

/* The common path: one byte, a reader waiting; it is handed the byte as its
 * wait result, off rxq, woken by the handler's own wake-up once rxq.lock
 * is free; every count moves by exactly one. */
TEST(ns16550, port_irq_hands_a_lone_byte_to_the_waiting_reader)
{
    struct uart *u = rk_port();
    if (!u)
        return;
    struct uart_stats s0 = stats_of(u);
    struct task t;
    struct uart_rx_req req;
    uint8_t buf[64];
    memset(buf, 0, sizeof(buf));
    model_reader_block(u, &t, &req, buf, sizeof(buf));
    EXPECT_TRUE(u->rxq.head == &t);
    model_receive("x", 1, 0xff, 0);
    model_port_irq();
    struct uart_stats s1 = stats_of(u);
    EXPECT_EQ(port_model.nwoken, 1);
    EXPECT_TRUE(port_model.woken[0] == &t);
    EXPECT_EQ(port_model.woken_result[0], 1);
    EXPECT_TRUE(port_model.woken_by_irq[0]);
    EXPECT_EQ(port_model.bad_wakes, 0);
    EXPECT_EQ(buf[0], 'x');
    EXPECT_EQ(buf[1], 0);
    EXPECT_TRUE(waitq_empty(&u->rxq));
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, 1);
    EXPECT_EQ(s1.rx_wakeups - s0.rx_wakeups, 1);
    EXPECT_EQ(s1.rx_errors - s0.rx_errors, 0);
    EXPECT_EQ(s1.irqs - s0.irqs, 1);
    EXPECT_EQ(s1.rx_pending, 0);
    EXPECT_EQ(s1.last_irq_cycles, host_cycles);   /* stamped at the handler's start */
    EXPECT_EQ(model.iir_reads, 1);
    EXPECT_EQ(model.usr_reads, 0);          /* not busy-detect: no USR read */
    EXPECT_EQ(model.bad_accesses, 0);
    EXPECT_EQ(u->rxq.lock.locked, 0);
    host_mmio_set_model(NULL);
}

/* Several bytes within the reader's length: all of them in its buffer,
 * their count its result (uart_port_irq_done_many); nothing in the ring. */
TEST(ns16550, port_irq_gives_a_burst_within_the_readers_length_to_it_whole)
{
    struct uart *u = rk_port();
    if (!u)
        return;
    struct uart_stats s0 = stats_of(u);
    struct task t;
    struct uart_rx_req req;
    uint8_t buf[16];
    model_reader_block(u, &t, &req, buf, sizeof(buf));
    model_receive("hello", 5, 0xff, 0);
    model_port_irq();
    struct uart_stats s1 = stats_of(u);
    EXPECT_EQ(port_model.nwoken, 1);
    EXPECT_EQ(port_model.woken_result[0], 5);
    EXPECT_TRUE(port_model.woken_by_irq[0]);
    EXPECT_TRUE(memcmp(buf, "hello", 5) == 0);
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, 5);
    EXPECT_EQ(s1.rx_wakeups - s0.rx_wakeups, 1);
    EXPECT_EQ(s1.rx_pending, 0);
    EXPECT_EQ(port_model.bad_wakes, 0);
    EXPECT_EQ(u->rxq.lock.locked, 0);
    host_mmio_set_model(NULL);
}

/* More bytes than the first reader asked for: it gets exactly its length,
 * the rest goes to the ring, from which the second reader is served; the
 * FIFO is emptied in the same interrupt. */
TEST(ns16550, port_irq_fills_the_first_reader_then_serves_the_next_from_the_ring)
{
    struct uart *u = rk_port();
    if (!u)
        return;
    struct uart_stats s0 = stats_of(u);
    struct task a, b;
    struct uart_rx_req ra, rb;
    uint8_t bufa[4], bufb[16];
    model_reader_block(u, &a, &ra, bufa, sizeof(bufa));
    model_reader_block(u, &b, &rb, bufb, sizeof(bufb));
    model_receive("0123456789", 10, 0xff, 0);
    model_port_irq();
    struct uart_stats s1 = stats_of(u);
    EXPECT_EQ(model.rx_head, 10);
    EXPECT_EQ(port_model.nwoken, 2);
    EXPECT_TRUE(port_model.woken[0] == &a);
    EXPECT_EQ(port_model.woken_result[0], 4);
    EXPECT_TRUE(port_model.woken[1] == &b);
    EXPECT_EQ(port_model.woken_result[1], 6);
    EXPECT_TRUE(memcmp(bufa, "0123", 4) == 0);
    EXPECT_TRUE(memcmp(bufb, "456789", 6) == 0);
    EXPECT_TRUE(waitq_empty(&u->rxq));
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, 10);
    EXPECT_EQ(s1.rx_wakeups - s0.rx_wakeups, 2);
    EXPECT_EQ(s1.rx_pending, 0);
    EXPECT_EQ(port_model.bad_wakes, 0);
    EXPECT_EQ(u->rxq.lock.locked, 0);
    host_mmio_set_model(NULL);
}

/* Line errors (overrun, framing) come with their bytes: each such byte is
 * delivered and counted once in rx_errors. */
TEST(ns16550, port_irq_counts_each_byte_with_a_line_error_once)
{
    struct uart *u = rk_port();
    if (!u)
        return;
    struct uart_stats s0 = stats_of(u);
    struct task t;
    struct uart_rx_req req;
    uint8_t buf[16];
    model_reader_block(u, &t, &req, buf, sizeof(buf));
    model_receive("abcdef", 6, 1, 0x02);    /* 'b' after an overrun */
    model.rx_err[4] = 0x08 | 0x04;          /* 'e' with a framing and a parity error */
    model_port_irq();
    struct uart_stats s1 = stats_of(u);
    EXPECT_EQ(port_model.nwoken, 1);
    EXPECT_EQ(port_model.woken_result[0], 6);
    EXPECT_TRUE(memcmp(buf, "abcdef", 6) == 0);
    EXPECT_EQ(s1.rx_errors - s0.rx_errors, 2);
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, 6);
    host_mmio_set_model(NULL);
}

/* IIR says no interrupt and the FIFO is empty (a spurious or already
 * served interrupt): the waiting reader stays queued, unwoken, its
 * request intact; nothing is counted but the interrupt. The next byte
 * still reaches it. */
TEST(ns16550, port_irq_with_nothing_pending_leaves_the_reader_waiting)
{
    struct uart *u = rk_port();
    if (!u)
        return;
    struct uart_stats s0 = stats_of(u);
    model_port_irq();                       /* no reader either: the ring's way */
    struct task t;
    struct uart_rx_req req;
    uint8_t buf[8];
    model_reader_block(u, &t, &req, buf, sizeof(buf));
    model_port_irq();
    struct uart_stats s1 = stats_of(u);
    EXPECT_EQ(port_model.nwoken, 0);
    EXPECT_EQ(port_model.bad_wakes, 0);
    EXPECT_TRUE(u->rxq.head == &t);
    EXPECT_EQ(t.state, TASK_BLOCKED);
    EXPECT_EQ(s1.irqs - s0.irqs, 2);
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, 0);
    EXPECT_EQ(s1.rx_wakeups - s0.rx_wakeups, 0);
    EXPECT_EQ(s1.rx_pending, 0);
    EXPECT_EQ(model.iir_reads, 2);
    EXPECT_EQ(u->rxq.lock.locked, 0);
    model_receive("z", 1, 0xff, 0);
    model_port_irq();
    EXPECT_EQ(port_model.nwoken, 1);
    EXPECT_EQ(port_model.woken_result[0], 1);
    EXPECT_EQ(buf[0], 'z');
    host_mmio_set_model(NULL);
}

/* No reader, more bytes than the ring holds: each interrupt takes at most
 * UART_RX_BUDGET from the FIFO; what the full ring cannot take is counted
 * as dropped (rx_overflows), never lost silently; the ring keeps the
 * oldest bytes in order. */
TEST(ns16550, port_irq_with_the_ring_full_counts_every_dropped_byte)
{
    struct uart *u = rk_port();
    if (!u)
        return;
    struct uart_stats s0 = stats_of(u);
    char line[600];
    for (int i = 0; i < 600; i++)
        line[i] = (char)(i * 7);
    model_receive(line, 600, 0, 0);   /* no line errors */
    model_port_irq();
    EXPECT_EQ(model.rx_head, UART_RX_BUDGET);
    model_port_irq();
    EXPECT_EQ(model.rx_head, 2 * UART_RX_BUDGET);
    model_port_irq();
    EXPECT_EQ(model.rx_head, 600);
    struct uart_stats s1 = stats_of(u);
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, 600);
    EXPECT_EQ(s1.rx_pending, UART_RX_RING);
    EXPECT_EQ(s1.rx_overflows - s0.rx_overflows, 600 - UART_RX_RING);
    EXPECT_EQ(s1.rx_wakeups - s0.rx_wakeups, 0);
    static uint8_t out[UART_RX_RING];
    EXPECT_EQ(uart_try_read(u, out, sizeof(out)), UART_RX_RING);
    EXPECT_TRUE(memcmp(out, line, UART_RX_RING) == 0);
    EXPECT_EQ(port_model.nwoken, 0);
    host_mmio_set_model(NULL);
}

/* TX from the interrupt: a line longer than the FIFO starts with one
 * FIFO's worth and the THR-empty interrupt on; each interrupt sends the
 * next FIFO's worth, and the last turns it off. With a reader woken in the
 * same interrupt, the FIFO is refilled before the reader's wake-up. */
TEST(ns16550, port_irq_sends_the_tx_ring_a_fifo_at_a_time_then_stops)
{
    struct uart *u = rk_port();
    if (!u)
        return;
    struct uart_stats s0 = stats_of(u);
    char line[40];
    for (int i = 0; i < 40; i++)
        line[i] = (char)('A' + i % 26);
    EXPECT_TRUE(uart_console_put(line, 40));
    EXPECT_EQ(model.ntx, 16);
    EXPECT_EQ(model.ier, 0x07);             /* + THR empty */
    model_port_irq();
    EXPECT_EQ(model.ntx, 32);
    EXPECT_EQ(model.ier, 0x07);
    model_port_irq();
    EXPECT_EQ(model.ntx, 40);
    EXPECT_EQ(model.ier, 0x05);             /* ring empty: THR empty off */
    EXPECT_TRUE(memcmp(model.tx, line, 40) == 0);
    /* Again, with a reader and a byte in the same interrupt. */
    EXPECT_TRUE(uart_console_put(line, 40));
    EXPECT_EQ(model.ntx, 56);
    struct task t;
    struct uart_rx_req req;
    uint8_t buf[4];
    model_reader_block(u, &t, &req, buf, sizeof(buf));
    model_receive("q", 1, 0xff, 0);
    model_port_irq();
    EXPECT_EQ(model.ntx, 72);
    EXPECT_EQ(port_model.nwoken, 1);
    EXPECT_EQ(port_model.woken_result[0], 1);
    EXPECT_TRUE(port_model.woken_by_irq[0]);
    EXPECT_EQ(port_model.bad_wakes, 0);
    model_port_irq();
    EXPECT_EQ(model.ntx, 80);
    EXPECT_EQ(model.ier, 0x05);
    struct uart_stats s1 = stats_of(u);
    EXPECT_EQ(s1.tx_bytes - s0.tx_bytes, 80);
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, 1);
    EXPECT_EQ(model.bad_accesses, 0);
    host_mmio_set_model(NULL);
}

/* A CPU without a cycle counter: the port registers the unstamped handler,
 * which serves the reader the same way and leaves the stamp alone. */
TEST(ns16550, port_without_a_cycle_counter_runs_the_unstamped_handler)
{
    arch_has_cycles = false;
    struct uart *u = rk_port();
    arch_has_cycles = true;
    if (!u)
        return;
    EXPECT_TRUE(port_model.handler == u->drv->irq_unstamped);
    struct uart_stats s0 = stats_of(u);
    struct task t;
    struct uart_rx_req req;
    uint8_t buf[4];
    model_reader_block(u, &t, &req, buf, sizeof(buf));
    model_receive("u", 1, 0xff, 0);
    model_port_irq();
    struct uart_stats s1 = stats_of(u);
    EXPECT_EQ(port_model.nwoken, 1);
    EXPECT_EQ(port_model.woken_result[0], 1);
    EXPECT_EQ(buf[0], 'u');
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, 1);
    EXPECT_EQ(s1.last_irq_cycles, s0.last_irq_cycles);   /* not stamped */
    EXPECT_TRUE(s1.last_irq_cycles != host_cycles);
    host_mmio_set_model(NULL);
}
