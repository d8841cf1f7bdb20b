/*
 * drivers/serial/ns16550.c against a register model of a 16550 / DesignWare
 * APB UART: register stride (reg-shift), access width (reg-io-width), the
 * divisor latch, transmit waiting for THRE, and the DesignWare rule that a
 * line-control write while the UART is busy is ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arch/io.h>
#include <kernel/console.h>

#include "host_test.h"

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
    char tx[64];
    int ntx;
    int lsr_reads_at_tx[64]; /* LSR reads seen when each byte was written */
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
    case 1:
        return (m->lcr & 0x80) ? m->dlm : m->ier;
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
        return lsr;
    }
    case 31:
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
