/*
 * The interrupt-driven console UART, fed and checked by the host test runner
 * over QEMU's stdio (scripts/serial_feed.py is the other end):
 *   "SR: uart rx ready N SEED"  the runner writes N bytes, feed_byte(SEED, i);
 *   "SR: uart tx check"         it answers "V I": whole and torn "uart-tx" lines.
 * Run outside the runner, the RX tests fail after their timeout (nobody feeds).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arch/cycles.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/irq.h>
#include <kernel/platform.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <kernel/uart.h>
#include <sr_test.h>

#define MS (1000ull * 1000)
/* Host round trips under TCG: QEMU's virtual clock follows the wall clock. */
#define FEED_TIMEOUT_NS (30000 * MS)

static uint8_t feed_byte(unsigned seed, unsigned i)
{
    return (uint8_t)(33 + (seed * 31 + i * 7 + i / 94) % 94);
}

static struct uart *console_uart_or_fail(void)
{
    struct uart *u = uart_console();
    if (!u)
        test_fail(__FILE__, __LINE__, "the console UART is not interrupt-driven");
    return u;
}

/* Whatever an earlier test left in the RX ring. */
static void rx_discard(struct uart *u)
{
    char junk[64];
    while (uart_try_read(u, junk, sizeof(junk)) > 0)
        ;
}

static int other_cpu(int than)
{
    for (int c = platform.ncpus - 1; c >= 0; c--)
        if (smp_cpu_online(c) && c != than)
            return c;
    return than;
}

TEST(uart, console_runs_from_its_dt_interrupt)
{
    struct uart *u = console_uart_or_fail();
    if (!u)
        return;
    struct uart_stats s;
    uart_stats(u, &s);
    EXPECT_EQ(s.irq, platform.console.irq);
    EXPECT_EQ(s.rx_capacity, UART_RX_RING);
    EXPECT_EQ(s.tx_capacity, UART_TX_RING);
    EXPECT_GT(s.irqs, 0);                  /* boot output already went out by interrupt */
    EXPECT_GT(s.tx_bytes, 0);
}

TEST(uart, reads_check_arguments_and_time_out)
{
    struct uart *u = console_uart_or_fail();
    if (!u)
        return;
    char buf[8];
    rx_discard(u);
    EXPECT_EQ(uart_read(u, buf, 0, MS), -EINVAL);
    EXPECT_EQ(uart_try_read(u, buf, sizeof(buf)), 0);
    uint64_t t0 = clock_ns();
    EXPECT_EQ(uart_read(u, buf, 1, 20 * MS), -ETIMEDOUT);
    EXPECT_GE(clock_ns() - t0, 20 * MS);
}

/* A blocked reader does not spin or yield: it is switched out once, for the
 * whole wait, and its core sleeps meanwhile (idle time grows; at least half
 * the wait, as QEMU's clock here follows the host's, preemptions included). */
TEST(uart, blocked_reader_leaves_its_core_idle)
{
    struct uart *u = console_uart_or_fail();
    if (!u)
        return;
    rx_discard(u);
    char c;
    struct task_stats t0, t1;
    struct sched_cpu_stats c0, c1;
    int cpu = task_cpu(task_current());
    task_get_stats(task_current(), &t0);
    sched_cpu_stats(cpu, &c0);
    EXPECT_EQ(uart_read(u, &c, 1, 50 * MS), -ETIMEDOUT);
    sched_cpu_stats(cpu, &c1);
    task_get_stats(task_current(), &t1);
    EXPECT_EQ(t1.switches - t0.switches, 1);        /* blocked once, resumed once */
    EXPECT_GE(c1.idle_ns - c0.idle_ns, 25 * MS);    /* its core slept through the wait */
}

#define RX_N 300

struct rx_job {
    struct uart *u;
    uint8_t buf[RX_N];
    long got, calls;
};

/* Asks for the bytes, then blocks in uart_read until all came. */
static int64_t rx_reader(void *arg)
{
    struct rx_job *j = arg;
    printf("SR: uart rx ready %d 1\n", RX_N);
    while (j->got < RX_N) {
        long n = uart_read(j->u, j->buf + j->got, (size_t)(RX_N - j->got), FEED_TIMEOUT_NS);
        if (n < 0)
            return n;
        j->got += n;
        j->calls++;
    }
    return 0;
}

/* A reader test's start: the console UART (NULL, reported, if there is
 * none) with its RX ring emptied, job reset for it, the stats before in *s0. */
static struct uart *rx_job_begin(struct rx_job *job, struct uart_stats *s0)
{
    struct uart *u = console_uart_or_fail();
    if (!u)
        return NULL;
    rx_discard(u);
    memset(job, 0, sizeof(*job));
    job->u = u;
    uart_stats(u, s0);
    return u;
}

TEST(uart, rx_from_the_host_wakes_a_reader_on_another_core)
{
    static struct rx_job job;
    struct uart_stats s0, s1;
    struct uart *u = rx_job_begin(&job, &s0);
    if (!u)
        return;
    struct task_attr attr = {.name = "uart-reader", .qos = QOS_DEFAULT,
                             .affinity = 1u << other_cpu(s0.irq_cpu)};
    int64_t rc = -1;
    task_join(task_spawn(rx_reader, &job, &attr), &rc);
    uart_stats(u, &s1);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(job.got, RX_N);
    int bad = -1;
    for (int i = 0; i < RX_N && bad < 0; i++)
        if (job.buf[i] != feed_byte(1, (unsigned)i))
            bad = i;
    EXPECT_EQ(bad, -1);                    /* every byte intact and in order */
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, RX_N);
    EXPECT_EQ(s1.rx_overflows - s0.rx_overflows, 0);
    EXPECT_EQ(s1.rx_errors - s0.rx_errors, 0);
    EXPECT_GE(s1.rx_wakeups - s0.rx_wakeups, 1);   /* woken by the RX interrupt */
    EXPECT_LE(s1.rx_wakeups - s0.rx_wakeups, (uint64_t)job.calls);
    EXPECT_GT(s1.irqs - s0.irqs, 0);
    EXPECT_EQ(s1.rx_pending, 0);
}

#define SHORT_N 64
#define SHORT_LEN 3

/* Reads a burst SHORT_LEN bytes at a time: the FIFO holds more than the
 * reader asked for (the interrupt's rest goes to the ring). */
static int64_t short_reader(void *arg)
{
    struct rx_job *j = arg;
    while (j->got < SHORT_N) {
        long want = SHORT_N - j->got < SHORT_LEN ? SHORT_N - j->got : SHORT_LEN;
        long n = uart_read(j->u, j->buf + j->got, (size_t)want, FEED_TIMEOUT_NS);
        if (n < 0)
            return n;
        if (n > want)
            return -1000;
        j->got += n;
        j->calls++;
    }
    return 0;
}

/* On the interrupt's core: the reader runs first (the yield) and blocks
 * on the empty ring, and only then is the burst asked for, so its first
 * read is completed by the interrupt (the core idle, its loop dispatching). */
static int64_t short_starter(void *arg)
{
    struct task_attr attr = {.name = "uart-short", .qos = QOS_DEFAULT,
                             .affinity = 1u << cpu_id()};
    struct task *r = task_spawn(short_reader, arg, &attr);
    task_yield();
    printf("SR: uart rx ready %d 5\n", SHORT_N);
    int64_t rc = -1;
    task_join(r, &rc);
    return rc;
}

/* Short reads take a burst whole, in order, each byte counted once. */
TEST(uart, short_reads_on_the_interrupt_core_take_a_burst_in_order)
{
    static struct rx_job job;
    struct uart_stats s0, s1;
    struct uart *u = rx_job_begin(&job, &s0);
    if (!u)
        return;
    struct task_attr attr = {.name = "uart-short-start", .qos = QOS_DEFAULT,
                             .affinity = 1u << s0.irq_cpu};
    int64_t rc = -1;
    task_join(task_spawn(short_starter, &job, &attr), &rc);
    uart_stats(u, &s1);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(job.got, SHORT_N);
    EXPECT_GE(job.calls, (SHORT_N + SHORT_LEN - 1) / SHORT_LEN);
    int bad = -1;
    for (int i = 0; i < SHORT_N && bad < 0; i++)
        if (job.buf[i] != feed_byte(5, (unsigned)i))
            bad = i;
    EXPECT_EQ(bad, -1);
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, SHORT_N);
    EXPECT_EQ(s1.rx_overflows - s0.rx_overflows, 0);
    EXPECT_EQ(s1.rx_errors - s0.rx_errors, 0);
    EXPECT_GE(s1.rx_wakeups - s0.rx_wakeups, 1);
    EXPECT_LE(s1.rx_wakeups - s0.rx_wakeups, (uint64_t)job.calls);
    EXPECT_GE(s1.irqs - s0.irqs, 1);
    EXPECT_EQ(s1.rx_pending, 0);
}

TEST(uart, rx_overflow_counts_the_excess_and_keeps_the_rest)
{
    struct uart *u = console_uart_or_fail();
    if (!u)
        return;
    rx_discard(u);
    struct uart_stats s0, s1;
    uart_stats(u, &s0);
    uint32_t cap = s0.rx_capacity, excess = 200, n = cap + excess;
    printf("SR: uart rx ready %u 2\n", (unsigned)n);
    /* No reader on purpose: the RX interrupt alone takes the bytes, so this
     * test can only watch its counter (1 ms sleeps, bounded). */
    uint64_t deadline = clock_ns() + FEED_TIMEOUT_NS;
    do {
        task_sleep_ns(MS);
        uart_stats(u, &s1);
    } while (s1.rx_bytes - s0.rx_bytes < n && clock_ns() < deadline);
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, n);
    EXPECT_EQ(s1.rx_overflows - s0.rx_overflows, excess);
    EXPECT_EQ(s1.rx_pending, cap);
    static uint8_t buf[UART_RX_RING + 1];
    EXPECT_EQ(uart_try_read(u, buf, sizeof(buf)), cap);
    int bad = -1;
    for (uint32_t i = 0; i < cap && bad < 0; i++)
        if (buf[i] != feed_byte(2, i))
            bad = (int)i;
    EXPECT_EQ(bad, -1);                    /* the first cap bytes, intact */
    EXPECT_EQ(uart_try_read(u, buf, sizeof(buf)), 0);
}

TEST(uart, stdin_reads_the_uart)
{
    struct uart *u = console_uart_or_fail();
    if (!u)
        return;
    rx_discard(u);
    printf("SR: uart rx ready 3 4\n");
    for (unsigned i = 0; i < 3; i++)
        EXPECT_EQ(getchar(), feed_byte(4, i));
}

#define TX_TASKS 4
#define TX_LINES 48

/* Lines "uart-tx T S PAYLOAD SUM" with payloads of 8..71 letters; returns
 * the bytes they take on the wire ("\n" goes out as "\r\n"). */
static int64_t tx_writer(void *arg)
{
    int t = (int)(intptr_t)arg;
    int64_t wire = 0;
    for (int s = 0; s < TX_LINES; s++) {
        char body[96];
        int len = snprintf(body, sizeof(body), "%d %d ", t, s);
        int plen = 8 + (t * 13 + s * 7) % 64;
        for (int i = 0; i < plen; i++)
            body[len++] = (char)('a' + (t + s + i) % 26);
        body[len] = '\0';
        unsigned sum = 0;
        for (int i = 0; i < len; i++)
            sum += (uint8_t)body[i];
        char line[128];
        int n = snprintf(line, sizeof(line), "uart-tx %s %04x\n", body, sum & 0xffff);
        printf("%s", line);
        wire += n + 1;
    }
    return wire;
}

/* Reads the runner's "V I\n". */
static bool read_reply(struct uart *u, unsigned *whole, unsigned *torn)
{
    char reply[32];
    size_t got = 0;
    uint64_t deadline = clock_ns() + FEED_TIMEOUT_NS;
    while (got < sizeof(reply) - 1 && (got == 0 || reply[got - 1] != '\n')) {
        uint64_t now = clock_ns();
        if (now >= deadline)
            return false;
        long n = uart_read(u, reply + got, 1, deadline - now);
        if (n < 0)
            return false;
        got += (size_t)n;
    }
    reply[got] = '\0';
    return sscanf(reply, "%u %u", whole, torn) == 2;
}

TEST(uart, tx_lines_from_many_tasks_stay_whole_with_exact_counts)
{
    struct uart *u = console_uart_or_fail();
    if (!u)
        return;
    rx_discard(u);
    printf("SR: uart tx check\n");         /* resets the runner's count */
    unsigned whole = 0, torn = 0;
    EXPECT_TRUE(read_reply(u, &whole, &torn));

    struct uart_stats s0, s1;
    console_flush();                       /* nothing of ours queued before */
    uart_stats(u, &s0);
    /* The UART's interrupt held off at the GIC until a writer has found the
     * ring full and slept: however fast the emulated UART drains, the
     * blocking path runs (1 ms sleeps while waiting for that, bounded). */
    irq_disable(s0.irq);
    struct task *tasks[TX_TASKS];
    for (int t = 0; t < TX_TASKS; t++) {
        struct task_attr attr = {.name = "uart-writer", .qos = QOS_DEFAULT};
        tasks[t] = task_spawn(tx_writer, (void *)(intptr_t)t, &attr);
    }
    uint64_t deadline = clock_ns() + 5000 * MS;
    do {
        task_sleep_ns(MS);
        uart_stats(u, &s1);
    } while (s1.tx_waits == s0.tx_waits && clock_ns() < deadline);
    irq_enable(s0.irq);
    int64_t wire = 0;
    for (int t = 0; t < TX_TASKS; t++) {
        int64_t v = 0;
        if (tasks[t])
            task_join(tasks[t], &v);
        wire += v;
    }
    console_flush();                       /* the rest of the ring, polled */
    uart_stats(u, &s1);
    EXPECT_EQ(s1.tx_bytes - s0.tx_bytes, (uint64_t)wire);
    EXPECT_GT(s1.tx_waits - s0.tx_waits, 0);   /* the ring filled: writers slept */
    EXPECT_GT(s1.irqs - s0.irqs, 0);           /* and the TX interrupt drained it */

    printf("SR: uart tx check\n");
    EXPECT_TRUE(read_reply(u, &whole, &torn));
    EXPECT_EQ(whole, TX_TASKS * TX_LINES);
    EXPECT_EQ(torn, 0);
}

/* Two tasks on one core print lines a character at a time, yielding to
 * each other after every character: each line still reaches the wire
 * whole (a task's partial line is its own, not its core's). */
#define YIELD_LINES 8

static int64_t yielding_writer(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int s = 0; s < YIELD_LINES; s++) {
        char body[64];
        int len = snprintf(body, sizeof(body), "%d %d yieldingwriter", 10 + t, s);
        unsigned sum = 0;
        for (int i = 0; i < len; i++)
            sum += (uint8_t)body[i];
        char line[96];
        int n = snprintf(line, sizeof(line), "uart-tx %s %04x\n", body, sum & 0xffff);
        for (int i = 0; i < n; i++) {
            putchar(line[i]);
            task_yield();
        }
    }
    return 0;
}

TEST(uart, a_line_stays_whole_when_its_task_yields_mid_line)
{
    struct uart *u = console_uart_or_fail();
    if (!u)
        return;
    rx_discard(u);
    printf("SR: uart tx check\n");         /* resets the runner's count */
    unsigned whole = 0, torn = 0;
    EXPECT_TRUE(read_reply(u, &whole, &torn));
    int c = platform.ncpus - 1;
    struct task *w[2];
    for (int t = 0; t < 2; t++) {
        struct task_attr a = {.name = "yield-writer", .qos = QOS_DEFAULT, .affinity = 1u << c};
        w[t] = task_spawn(yielding_writer, (void *)(intptr_t)t, &a);
    }
    for (int t = 0; t < 2; t++)
        EXPECT_EQ(task_join(w[t], NULL), TASK_EXITED);
    console_flush();
    printf("SR: uart tx check\n");
    EXPECT_TRUE(read_reply(u, &whole, &torn));
    EXPECT_EQ(torn, 0);
    EXPECT_EQ(whole, 2 * YIELD_LINES);
}

/* --- the handler's wake-up with TX on ----------------------------------------------- */

#define TXON_SEED 6

struct txon_job {
    struct uart *u;
    uint8_t b;
    long n;
};

static int64_t txon_reader(void *arg)
{
    struct txon_job *j = arg;
    j->n = uart_read(j->u, &j->b, 1, FEED_TIMEOUT_NS);
    return 0;
}

/* The RX interrupt finds a reader waiting while the TX ring holds bytes
 * (TX on): the handler serves TX after the RX lock's release and then
 * wakes the reader (uart_port_irq_tx_wake). The interrupt is held off at
 * the GIC while the host's byte arrives and a line longer than the TX
 * FIFO is queued, so both are there when it comes. */
TEST(uart, a_reader_woken_while_tx_is_on_gets_its_byte)
{
    static struct txon_job job;
    struct uart *u = console_uart_or_fail();
    if (!u)
        return;
    rx_discard(u);
    console_flush();
    struct uart_stats s0, s1;
    uart_stats(u, &s0);
    job = (struct txon_job){.u = u, .n = -1};
    struct task_attr a = {.name = "uart-txon", .qos = QOS_DEFAULT, .affinity = 1u << s0.irq_cpu};
    struct task *r = task_spawn(txon_reader, &job, &a);
    EXPECT_TRUE(r != NULL);
    if (!r)
        return;
    while (((volatile struct task *)r)->state != TASK_BLOCKED)
        task_sleep_ns(100 * 1000);
    irq_disable(s0.irq);
    printf("SR: uart rx ready 1 %d\n", TXON_SEED);   /* fits the FIFO: out at once */
    char line[128];
    memset(line, 'x', sizeof(line));
    memcpy(line, "SR: txon ", 9);
    line[sizeof(line) - 2] = '\n';
    line[sizeof(line) - 1] = '\0';
    printf("%s", line);                              /* the rest waits in the ring */
    task_sleep_ns(200 * MS);                         /* the host's byte comes meanwhile */
    irq_enable(s0.irq);
    EXPECT_EQ(task_join(r, NULL), TASK_EXITED);
    uart_stats(u, &s1);
    EXPECT_EQ(job.n, 1);
    EXPECT_EQ(job.b, feed_byte(TXON_SEED, 0));
    EXPECT_EQ(s1.rx_bytes - s0.rx_bytes, 1);
    EXPECT_EQ(s1.rx_wakeups - s0.rx_wakeups, 1);
}

/* The RX interrupt stamps its core's cycle counter as its handler begins
 * (uart_rx_irq_to_task measures from it); a CPU without one gets the
 * handler that does not stamp (reading the counter there would be an
 * undefined instruction) and its reads work the same. */
static int64_t stamp_reader(void *arg)
{
    struct uart *u = arg;
    uint64_t c0 = arch_has_cycles ? arch_cycles() : 0;
    printf("SR: uart rx ready 1 9\n");
    uint8_t b = 0;
    long n = uart_read(u, &b, 1, FEED_TIMEOUT_NS);
    /* IRQs masked: no later interrupt on this core moves the stamp. */
    uint64_t flags = arch_irq_save();
    uint64_t c1 = arch_has_cycles ? arch_cycles() : 0;
    struct uart_stats s;
    uart_stats(u, &s);
    arch_irq_restore(flags);
    if (n != 1 || b != feed_byte(9, 0))
        return -1;
    if (!arch_has_cycles)
        return s.last_irq_cycles == 0 ? 0 : -2;
    return c0 < s.last_irq_cycles && s.last_irq_cycles <= c1 ? 0 : -3;
}

TEST(uart, the_rx_interrupt_stamps_its_cores_cycle_counter)
{
    struct uart *u = console_uart_or_fail();
    if (!u)
        return;
    rx_discard(u);
    struct uart_stats s0;
    uart_stats(u, &s0);
    struct task_attr attr = {.name = "uart-stamp", .qos = QOS_DEFAULT,
                             .affinity = 1u << s0.irq_cpu};
    int64_t rc = 1;
    task_join(task_spawn(stamp_reader, u, &attr), &rc);
    EXPECT_EQ(rc, 0);
}
