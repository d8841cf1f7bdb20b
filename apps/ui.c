/*
 * The "ui" demo app: a 120 Hz frame pipeline. A deadline task renders each
 * frame into a back buffer (budget 2 ms per 8.33 ms period, EDF ahead of
 * everything on its core); a user-interactive present task copies finished
 * frames to the front buffer and checks them. A frame counts as missed when
 * its render ends after its deadline (task_dl_next_period says so).
 */
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/app.h>
#include <kernel/deadline.h>
#include <kernel/sem.h>
#include <kernel/task.h>
#include "demo.h"

#define UI_W 160
#define UI_H 96
#define UI_PERIOD_NS 8333333ull   /* 120 Hz */
#define UI_BUDGET_NS 2000000ull

struct ui_state {
    uint32_t back[UI_W * UI_H], front[UI_W * UI_H];
    struct semaphore ready, free;   /* back buffer full / free again */
    _Atomic bool stop, render_done;
    uint64_t rendered, presented, missed, bad;
    uint32_t frame_no;
};

static uint32_t pixel(uint32_t x, uint32_t y, uint32_t n)
{
    return ((x + n) & 0xff) << 16 | ((y * 2 + n) & 0xff) << 8 | ((x ^ y) & 0xff);
}

static int64_t render(void *arg)
{
    struct ui_state *s = arg;
    for (;;) {
        sem_wait(&s->free, WAIT_FOREVER);
        if (atomic_load(&s->stop))
            break;
        uint32_t n = s->frame_no;
        for (uint32_t y = 0; y < UI_H; y++)
            for (uint32_t x = 0; x < UI_W; x++)
                s->back[y * UI_W + x] = pixel(x, y, n);
        s->rendered++;
        sem_post(&s->ready);
        if (task_dl_next_period() == -ETIMEDOUT)
            s->missed++;
    }
    atomic_store(&s->render_done, true);
    sem_post(&s->ready);   /* the presenter ends after the last frame */
    return 0;
}

static int64_t present(void *arg)
{
    struct ui_state *s = arg;
    for (;;) {
        sem_wait(&s->ready, WAIT_FOREVER);
        if (atomic_load(&s->render_done) && s->presented == s->rendered)
            return 0;
        memcpy(s->front, s->back, sizeof(s->front));
        if (s->front[UI_W * UI_H - 1] != pixel(UI_W - 1, UI_H - 1, s->frame_no))
            s->bad++;
        s->frame_no++;
        s->presented++;
        sem_post(&s->free);
    }
}

int ui_app_start(struct demo_app *d)
{
    struct ui_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    sem_init(&s->ready, 0);
    sem_init(&s->free, 1);
    d->state = s;
    static const struct sched_dl_params frames = {.period_ns = UI_PERIOD_NS,
                                                  .budget_ns = UI_BUDGET_NS};
    struct task_attr ra = {.name = "ui-render", .qos = QOS_USER_INTERACTIVE, .app = d->app,
                           .deadline = &frames};
    struct task_attr pa = {.name = "ui-present", .qos = QOS_USER_INTERACTIVE, .app = d->app};
    d->tasks[0] = task_spawn(render, s, &ra);
    if (!d->tasks[0])
        return -errno;
    d->tasks[1] = task_spawn(present, s, &pa);
    d->ntasks = d->tasks[1] ? 2 : 1;
    return d->tasks[1] ? 0 : -errno;
}

void ui_app_stop(struct demo_app *d)
{
    struct ui_state *s = d->state;
    atomic_store(&s->stop, true);
    sem_post(&s->free);
}

void ui_app_report(struct demo_app *d, char *buf, size_t len)
{
    struct ui_state *s = d->state;
    snprintf(buf, len, "%llu frames rendered at 120 Hz, %llu presented, %llu missed, %llu bad",
             (unsigned long long)s->rendered, (unsigned long long)s->presented,
             (unsigned long long)s->missed, (unsigned long long)s->bad);
    free(s);
}
