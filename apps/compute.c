/*
 * The "compute" demo app: utility-class number crunching (Mandelbrot rows)
 * by one worker per efficiency core until told to stop; work done = rows
 * finished.
 * Utility class: the policy keeps it on efficiency cores while they fit.
 */
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <kernel/app.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include "demo.h"

#define ROW_W 256
#define MAX_ITER 64

struct compute_state {
    _Atomic bool stop;
    _Atomic uint64_t rows, next_row;
    _Atomic uint64_t checksum;
};

static uint32_t mandel_row(uint64_t row)
{
    uint32_t sum = 0;
    double ci = -1.0 + 2.0 * (double)(row % 256) / 256.0;
    for (int x = 0; x < ROW_W; x++) {
        double cr = -2.0 + 3.0 * x / ROW_W, zr = 0, zi = 0;
        int i = 0;
        while (i < MAX_ITER && zr * zr + zi * zi < 4.0) {
            double t = zr * zr - zi * zi + cr;
            zi = 2 * zr * zi + ci;
            zr = t;
            i++;
        }
        sum += (uint32_t)i;
    }
    return sum;
}

static int64_t worker(void *arg)
{
    struct compute_state *s = arg;
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        uint64_t row = atomic_fetch_add(&s->next_row, 1);
        atomic_fetch_add(&s->checksum, mandel_row(row));
        atomic_fetch_add(&s->rows, 1);
    }
    return 0;
}

int compute_app_start(struct demo_app *d)
{
    struct compute_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    d->state = s;
    /* One worker per efficiency core (every core where all are alike). */
    const struct sched_core_model *m = sched_core_model();
    int n = 0;
    for (int c = 0; c < platform.ncpus; c++)
        n += smp_cpu_online(c) && m->core[c].level == m->nlevels - 1;
    if (n > DEMO_MAX_TASKS)
        n = DEMO_MAX_TASKS;
    for (int i = 0; i < n; i++) {
        struct task_attr a = {.name = "compute", .qos = QOS_UTILITY, .app = d->app};
        d->tasks[i] = task_spawn(worker, s, &a);
        if (!d->tasks[i])
            return -errno;
        d->ntasks = i + 1;
    }
    return 0;
}

void compute_app_stop(struct demo_app *d)
{
    atomic_store(&((struct compute_state *)d->state)->stop, true);
}

void compute_app_report(struct demo_app *d, char *buf, size_t len)
{
    struct compute_state *s = d->state;
    snprintf(buf, len, "%llu Mandelbrot rows (%d x %d iterations max) on %d workers",
             (unsigned long long)atomic_load(&s->rows), ROW_W, MAX_ITER, d->ntasks);
    free(s);
}
