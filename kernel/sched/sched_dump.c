/*
 * sched_dump: every online core's scheduler at a glance, for diagnosing a
 * hang (the in-image test harness prints it when a test overruns). Each
 * core's state is copied under its run-queue lock and printed afterwards,
 * so printing never happens with a scheduler lock held.
 */
#include <stdio.h>
#include <string.h>
#include <arch/timer.h>
#include <kernel/clock.h>
#include <kernel/ksyms.h>
#include <kernel/platform.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include "sched_internal.h"

#define DUMP_READY  8   /* ready tasks shown per core */
#define DUMP_TIMERS 6   /* timers shown per core */

struct task_brief {
    char name[TASK_NAME_LEN];
    uint32_t id;
    uint8_t qos, state;
};

struct timer_brief {
    int64_t in_us;                       /* deadline - now */
    uint64_t fn;
    bool is_task;                        /* a task's sleep or wait timeout: who */
    struct task_brief who;
};

struct core_brief {
    struct task_brief cur;
    bool idle, need_resched;
    uint32_t nr_ready, shown;
    struct task_brief ready[DUMP_READY];
    uint32_t ntimers;
    struct timer_brief timer[DUMP_TIMERS];
};

static void brief(const struct task *t, struct task_brief *b)
{
    memcpy(b->name, t->name, sizeof(b->name));
    b->name[sizeof(b->name) - 1] = 0;
    b->id = t->id;
    b->qos = t->qos;
    b->state = t->state;
}

static void snapshot(int cpu, struct core_brief *c)
{
    struct runqueue *rq = &runqueues[cpu];
    uint64_t flags = spin_lock_irqsave(&rq->lock);
    uint64_t now = arch_counter();
    brief(rq->current, &c->cur);
    c->idle = rq->current == rq->idle;
    c->need_resched = rq->need_resched;
    c->nr_ready = rq->nr_ready;
    c->shown = 0;
    if (rq->runnext)   /* the only ready task (sched_rq.h) */
        brief(rq->runnext, &c->ready[c->shown++]);
    for (unsigned b = 0; b < QOS_COUNT; b++)
        for (struct task *t = rq->head[b]; t && c->shown < DUMP_READY; t = t->next)
            brief(t, &c->ready[c->shown++]);
    c->ntimers = rq->timers.n;
    for (uint32_t i = 0; i < rq->timers.n && i < DUMP_TIMERS; i++) {
        const struct timer *tm = rq->timers.heap[i];
        struct timer_brief *tb = &c->timer[i];
        uint64_t d = tm->deadline;
        tb->in_us = d >= now ? (int64_t)(arch_ticks_to_ns(d - now) / 1000)
                             : -(int64_t)(arch_ticks_to_ns(now - d) / 1000);
        tb->fn = (uint64_t)tm->fn;
        const struct task *who = sched_timer_task(tm);
        tb->is_task = who != NULL;
        if (who)
            brief(who, &tb->who);
    }
    spin_unlock_irqrestore(&rq->lock, flags);
}

static const char *const state_names[] = {"running", "ready", "blocked", "dead", "moving"};

static const char *state_name(uint8_t s)
{
    return s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

void sched_dump(void)
{
    static struct core_brief c;   /* one at a time: callers serialise (see sched.h) */
    for (int cpu = 0; cpu < platform.ncpus; cpu++) {
        if (!smp_cpu_online(cpu))
            continue;
        snapshot(cpu, &c);
        printf("  cpu %d: %s %s#%u qos %u%s; %u ready", cpu, c.idle ? "idle" : "running",
               c.cur.name, c.cur.id, c.cur.qos, c.need_resched ? ", reschedule owed" : "",
               c.nr_ready);
        for (uint32_t i = 0; i < c.shown; i++)
            printf("%s%s#%u q%u", i ? ", " : ": ", c.ready[i].name, c.ready[i].id, c.ready[i].qos);
        printf("%s; %u timers\n", c.shown < c.nr_ready ? ", ..." : "", c.ntimers);
        for (uint32_t i = 0; i < c.ntimers && i < DUMP_TIMERS; i++) {
            struct timer_brief *tb = &c.timer[i];
            uint64_t off;
            const char *fn = ksyms_lookup(tb->fn, &off);
            printf("    timer in %lld us: %s", (long long)tb->in_us, fn ? fn : "?");
            if (tb->is_task)
                printf(" for %s#%u (%s)", tb->who.name, tb->who.id, state_name(tb->who.state));
            printf("\n");
        }
    }
}
