/* The demo apps that `make run` runs together (apps/demo.c drives them). */
#ifndef APPS_DEMO_H
#define APPS_DEMO_H

#include <stddef.h>
#include <kernel/app.h>

#define DEMO_MAX_TASKS 16

struct demo_app {
    const char *name;
    const char *what;             /* one line: class and role */
    bool foreground;
    int (*start)(struct demo_app *d);            /* 0 or -errno; spawns into d->tasks */
    void (*stop)(struct demo_app *d);            /* ask its tasks to finish */
    void (*report)(struct demo_app *d, char *buf, size_t len);   /* then frees d->state */
    struct app *app;
    void *state;
    struct task *tasks[DEMO_MAX_TASKS];
    int ntasks;
};

int ui_app_start(struct demo_app *d);
void ui_app_stop(struct demo_app *d);
void ui_app_report(struct demo_app *d, char *buf, size_t len);
int compute_app_start(struct demo_app *d);
void compute_app_stop(struct demo_app *d);
void compute_app_report(struct demo_app *d, char *buf, size_t len);

#endif
