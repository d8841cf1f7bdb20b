/*
 * Effective QoS of tasks in apps, with transitive inheritance (see
 * kernel/sched_policy.h). Invariant: for every task h,
 *   h->lent[q] = number of tasks t with t->waits_for == h and t->eff == q,
 *   h->eff = min(sched_qos_base(h), lowest q with h->lent[q] > 0),
 * and the waits_for chains have no cycles (sched_qos_block refuses one).
 */

#include <kernel/sched_policy.h>

uint8_t sched_qos_base(const struct sched_qos_task *t)
{
    if (t->app && !t->app->foreground && !t->exempt && t->own < SCHED_BG_APP_QOS)
        return SCHED_BG_APP_QOS;
    return t->own;
}

static uint8_t computed(const struct sched_qos_task *t)
{
    uint8_t q = sched_qos_base(t);
    for (uint8_t b = 0; b < q; b++) {
        if (t->lent[b])
            return b;
    }
    return q;
}

/* Recomputes t and every holder up the chain whose class changes. */
static bool propagate(struct sched_qos_task *t)
{
    bool changed_first = false;
    for (bool first = true; t; first = false) {
        uint8_t now = computed(t);
        if (now == t->eff)
            break;
        uint8_t old = t->eff;
        t->eff = now;
        if (first)
            changed_first = true;
        struct sched_qos_task *h = t->waits_for;
        if (h) {
            h->lent[old]--;
            h->lent[now]++;
        }
        t = h;
    }
    return changed_first;
}

int sched_qos_block(struct sched_qos_task *t, struct sched_qos_task *holder)
{
    if (!holder)
        return SCHED_QOS_EINVAL;
    for (struct sched_qos_task *h = holder; h; h = h->waits_for) {
        if (h == t)
            return SCHED_QOS_EDEADLK;
    }
    if (t->waits_for)
        sched_qos_unblock(t);
    t->waits_for = holder;
    holder->lent[t->eff]++;
    propagate(holder);
    return 0;
}

void sched_qos_unblock(struct sched_qos_task *t)
{
    struct sched_qos_task *h = t->waits_for;
    if (!h)
        return;
    t->waits_for = NULL;
    h->lent[t->eff]--;
    propagate(h);
}

bool sched_qos_refresh(struct sched_qos_task *t)
{
    return propagate(t);
}
