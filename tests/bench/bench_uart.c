/*
 * uart_rx_irq_to_task: guest instructions from the console UART's RX
 * interrupt handler (its first statement stamps last_irq_cycles) to the
 * reader task running again after uart_read returns with the byte, both
 * read from the interrupt's core's cycle counter (arch/cycles.h: one per
 * guest instruction under -icount shift=0, so every sample is exact; the
 * generic counter's 16 ns ticks made the average depend on when the host's
 * bytes arrived). The host feeds
 * one byte per request line (scripts/serial_feed.py, run by run_bench.py);
 * booted by hand, type a key per "SR: uart rx ready" line.
 *
 * Not counted: the exception entry and GIC acknowledge before the handler.
 * A sample counts only if exactly one interrupt came during the read and it
 * woke this reader (the byte was not already there).
 */
#include <stdio.h>
#include <arch/cycles.h>
#include <kernel/task.h>
#include <kernel/uart.h>
#include <kernel/waitq.h>
#include "bench.h"

#define SAMPLES 32

static int64_t rx_latency(void *arg)
{
    struct uart *u = arg;
    uint64_t total = 0;
    int samples = 0;
    char junk[64];
    while (uart_try_read(u, junk, sizeof(junk)) > 0)
        ;
    for (int i = 0; i < SAMPLES; i++) {
        struct uart_stats s0, s1;
        unsigned seed = 3 + (unsigned)i;
        printf("SR: uart rx ready 1 %u\n", seed);
        uart_stats(u, &s0);
        uint8_t b = 0;
        /* No timeout: under -icount sleep=off an idle guest jumps to its next
         * deadline at once, long before the host answers. */
        long n = uart_read(u, &b, 1, WAIT_FOREVER);
        uint64_t t1 = arch_cycles();
        uart_stats(u, &s1);
        if (n != 1 || b != (uint8_t)(33 + (seed * 31) % 94))
            return -1;
        if (s1.irqs - s0.irqs == 1 && s1.rx_wakeups - s0.rx_wakeups == 1) {
            total += t1 - s1.last_irq_cycles;
            samples++;
        }
    }
    return samples ? (int64_t)(total / (uint64_t)samples) : -2;
}

BENCH(uart_rx_irq_to_task, "insn", 100, BENCH_AT_MOST)
{
    struct uart *u = uart_console();
    if (!u)
        return bench_invalid("uart_rx_irq_to_task", "the console UART is not interrupt-driven");
    if (!arch_has_cycles)
        return bench_invalid("uart_rx_irq_to_task", "the CPU has no cycle counter (PMUv3)");
    struct uart_stats s;
    uart_stats(u, &s);
    /* The reader on the interrupt's core: the wake-up needs no IPI. */
    struct task_attr attr = {.name = "uart-bench", .qos = QOS_DEFAULT,
                             .affinity = 1u << s.irq_cpu};
    int64_t v = -1;
    task_join(task_spawn(rx_latency, u, &attr), &v);
    if (v == -1)
        return bench_invalid("uart_rx_irq_to_task", "a byte was lost or wrong");
    if (v < 0)
        return bench_invalid("uart_rx_irq_to_task", "no read was woken by its interrupt");
    return (uint64_t)v;
}
