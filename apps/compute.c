/*
 * The "compute" demo app: utility-class number crunching with fork-join. A
 * driver task renders Mandelbrot frames of COMPUTE_ROWS rows, each frame one
 * parallel_for (grain 8 rows) on the cores a utility job may use (the
 * efficiency cores, plus performance cores that are idle when it starts:
 * sr/forkjoin.h), until told to stop; work done = rows finished.
 */
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <kernel/app.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/task.h>
#include <sr/forkjoin.h>
#include "demo.h"

#define ROW_W 256
#define COMPUTE_ROWS 256
#define MAX_ITER 64

struct compute_state {
    _Atomic bool stop;
    _Atomic uint64_t rows;
    _Atomic uint32_t cores;      /* bit per core that computed rows */
    uint64_t frames;
    uint32_t row_sum[COMPUTE_ROWS];
    int error;
};

static uint32_t mandel_row(int64_t row)
{
    uint32_t sum = 0;
    double ci = -1.0 + 2.0 * (double)row / COMPUTE_ROWS;
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

static void rows(int64_t lo, int64_t hi, void *arg)
{
    struct compute_state *s = arg;
    for (int64_t r = lo; r < hi; r++)
        s->row_sum[r] = mandel_row(r);
    atomic_fetch_add(&s->rows, (uint64_t)(hi - lo));
    atomic_fetch_or(&s->cores, 1u << cpu_id());
}

static int64_t driver(void *arg)
{
    struct compute_state *s = arg;
    while (!atomic_load(&s->stop)) {
        int err = parallel_for(0, COMPUTE_ROWS, 8, rows, s);
        if (err) {
            s->error = err;
            return err;
        }
        s->frames++;
    }
    return 0;
}

int compute_app_start(struct demo_app *d)
{
    struct compute_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    d->state = s;
    struct task_attr a = {.name = "compute", .qos = QOS_UTILITY, .app = d->app};
    d->tasks[0] = task_spawn(driver, s, &a);
    if (!d->tasks[0])
        return -errno;
    d->ntasks = 1;
    return 0;
}

void compute_app_stop(struct demo_app *d)
{
    atomic_store(&((struct compute_state *)d->state)->stop, true);
}

void compute_app_report(struct demo_app *d, char *buf, size_t len)
{
    struct compute_state *s = d->state;
    const struct sched_core_model *m = sched_core_model();
    uint32_t cores = atomic_load(&s->cores);
    int eff = 0, perf = 0;
    for (int c = 0; c < 32; c++)
        if (cores & (1u << c)) {
            eff += m->nlevels > 1 && m->core[c].level == m->nlevels - 1;
            perf += m->nlevels <= 1 || m->core[c].level != m->nlevels - 1;
        }
    if (s->error)
        snprintf(buf, len, "parallel_for failed: %d", s->error);
    else
        snprintf(buf, len, "%llu Mandelbrot frames of %dx%d (%llu rows) by parallel_for on "
                 "%d efficiency + %d other cores",
                 (unsigned long long)s->frames, ROW_W, COMPUTE_ROWS,
                 (unsigned long long)atomic_load(&s->rows), eff, perf);
    free(s);
}
