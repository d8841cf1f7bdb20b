/*
 * The demo (make run, after the hello from every core): the apps below run
 * together for DEMO_NS of guest time; then each reports its work, its busy
 * time and modelled energy, and the energy per QoS class is printed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/sched.h>
#include <kernel/task.h>
#include <apps/apps.h>
#include "demo.h"

#define DEMO_NS (2000ull * 1000 * 1000)

static struct demo_app apps[] = {
    {.name = "ui", .what = "foreground, deadline 120 Hz + user-interactive", .foreground = true,
     .start = ui_app_start, .stop = ui_app_stop, .report = ui_app_report},
    {.name = "compute", .what = "utility, one worker per efficiency core", .foreground = true,
     .start = compute_app_start, .stop = compute_app_stop, .report = compute_app_report},
};
#define NAPPS (int)(sizeof(apps) / sizeof(apps[0]))

static const char *const class_names[QOS_COUNT] = {
    "user-interactive", "user-initiated", "default", "utility", "background"};

int demo_main(void)
{
    int failed = 0;
    struct sched_energy_report before, after;
    sched_energy(&before);
    uint64_t t0 = clock_ns();
    for (int i = 0; i < NAPPS; i++) {
        struct demo_app *d = &apps[i];
        d->app = app_create(d->name, d->foreground);
        int err = d->app ? d->start(d) : -ENOMEM;
        if (err) {
            printf("SR: demo: app %s did not start: %s\n", d->name, strerror(-err));
            failed++;
        }
    }
    task_sleep_ns(DEMO_NS);
    for (int i = 0; i < NAPPS; i++)
        if (apps[i].state)
            apps[i].stop(&apps[i]);
    for (int i = 0; i < NAPPS; i++)
        for (int k = 0; k < apps[i].ntasks; k++)
            task_join(apps[i].tasks[k], NULL);
    uint64_t ran = clock_ns() - t0;
    sched_energy(&after);
    printf("SR: demo: %d apps ran together for %llu ms of guest time\n", NAPPS,
           (unsigned long long)(ran / 1000000));
    for (int i = 0; i < NAPPS; i++) {
        struct demo_app *d = &apps[i];
        char line[160] = "";
        if (d->state)
            d->report(d, line, sizeof(line));
        struct sched_energy e = {0};
        if (d->app)
            app_energy(d->app, &e);
        printf("  %-8s (%s): %s; busy %llu ms, %llu mJ\n", d->name, d->what, line,
               (unsigned long long)(e.busy_ns / 1000000), (unsigned long long)(e.pj / 1000000000));
        app_destroy(d->app);
    }
    printf("  energy per class:");
    for (int q = 0; q < QOS_COUNT; q++)
        printf(" %s %llu mJ%s", class_names[q],
               (unsigned long long)((after.class_pj[q] - before.class_pj[q]) / 1000000000),
               q + 1 < QOS_COUNT ? "," : "\n");
    return failed ? 1 : 0;
}
