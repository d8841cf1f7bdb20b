/*
 * Readers for the simulator's data files (formats in tools/sim/README.md).
 * Every error names the file and line and stops the load.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct reader {
    const char *path;
    int line;
    char *err;
    int errlen;
};

static int fail(struct reader *r, const char *fmt, ...)
{
    int n = snprintf(r->err, (size_t)r->errlen, "%s:%d: ", r->path, r->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && n < r->errlen)
        vsnprintf(r->err + n, (size_t)(r->errlen - n), fmt, ap);
    va_end(ap);
    return -1;
}

/* Splits line into whitespace-separated words in place; returns the count. */
static int split(char *line, char **w, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r\n", &save); tok && n < max;
         tok = strtok_r(NULL, " \t\r\n", &save))
        w[n++] = tok;
    return n;
}

static int number(struct reader *r, const char *key, const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end)
        return fail(r, "%s: '%s' is not a number", key, s);
    *out = v;
    return 0;
}

/* "key=value" words from w[first]: the value for key, "" for a bare "key"
 * flag, NULL when absent. */
static const char *opt_from(char **w, int first, int n, const char *key)
{
    size_t k = strlen(key);
    for (int i = first; i < n; i++) {
        if (strncmp(w[i], key, k) == 0 && w[i][k] == '=')
            return w[i] + k + 1;
        if (strcmp(w[i], key) == 0)
            return "";
    }
    return NULL;
}

/* Task lines: "task NAME field...". */
static const char *opt(char **w, int n, const char *key)
{
    return opt_from(w, 2, n, key);
}

static FILE *open_data(struct reader *r)
{
    FILE *f = fopen(r->path, "r");
    if (!f)
        fail(r, "cannot open");
    return f;
}

/* --- configurations -------------------------------------------------------------- */

/* "dtb PATH": the cpus as the image's DT discovery reads them from a blob. */
static int load_dtb(struct reader *r, const char *path, struct sim_config *c)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(r, "dtb %s: cannot open", path);
    static char blob[1 << 20];
    size_t size = fread(blob, 1, sizeof(blob), f);
    fclose(f);
    static struct platform plat;
    struct plat_error err;
    if (platform_discover(blob, size, &plat, &err) != 0)
        return fail(r, "dtb %s: %s", path, err.msg);
    c->ncpus = plat.ncpus;
    memcpy(c->cpus, plat.cpus, sizeof(c->cpus));
    return 0;
}

static const char *const config_keys[] = {"dmips", "power", "cluster", "count", "opps"};
#define CONFIG_KEYS 5

/* "opps=MHZ:MV,...": an operating-points-v2 table, ascending, MV with an
 * optional fraction (712.5); the cpus of one cluster share it. */
static int parse_opps(struct reader *r, const char *s, struct plat_cpu *cpu)
{
    cpu->nopps = 0;
    while (*s) {
        char *end;
        unsigned long mhz = strtoul(s, &end, 10);
        if (end == s || *end != ':')
            return fail(r, "opps: expected MHZ:MV at '%s'", s);
        s = end + 1;
        double mv = strtod(s, &end);
        if (end == s || (*end && *end != ','))
            return fail(r, "opps: expected a voltage in mV at '%s'", s);
        if (mhz == 0 || mhz > 100000 || !(mv > 0 && mv < 5000))
            return fail(r, "opps: %lu MHz at %g mV is out of range", mhz, mv);
        if (cpu->nopps == PLAT_MAX_OPPS)
            return fail(r, "opps: more than %d operating points", PLAT_MAX_OPPS);
        if (cpu->nopps && cpu->opps[cpu->nopps - 1].mhz >= mhz)
            return fail(r, "opps: %lu MHz: frequencies must ascend", mhz);
        cpu->opps[cpu->nopps++] = (struct plat_opp){(uint32_t)mhz, (uint32_t)(mv * 1000 + 0.5)};
        s = *end ? end + 1 : end;
    }
    return 0;
}

int sim_load_config(const char *path, struct sim_config *c, char *err, int errlen)
{
    struct reader r = {path, 0, err, errlen};
    memset(c, 0, sizeof(*c));
    FILE *f = open_data(&r);
    if (!f)
        return -1;
    char buf[512];
    int rc = 0;
    bool from_dt = false;
    while (rc == 0 && fgets(buf, sizeof(buf), f)) {
        r.line++;
        char *w[16];
        int n = split(buf, w, 16);
        if (n == 0 || w[0][0] == '#')
            continue;
        if (strcmp(w[0], "name") == 0 && n == 2) {
            snprintf(c->name, sizeof(c->name), "%s", w[1]);
        } else if (strcmp(w[0], "dtb") == 0 && n == 2 && c->ncpus == 0) {
            rc = load_dtb(&r, w[1], c);
            from_dt = true;
        } else if (strcmp(w[0], "cpu") == 0 && n >= 2 && !from_dt) {
            uint64_t v[CONFIG_KEYS] = {0, 0, 0, 1, 0};
            struct plat_cpu opps = {0};
            for (int i = 2; i < n && rc == 0; i++) {
                char *eq = strchr(w[i], '=');
                int k = 0;
                while (eq && k < CONFIG_KEYS &&
                       (strlen(config_keys[k]) != (size_t)(eq - w[i]) ||
                        strncmp(w[i], config_keys[k], (size_t)(eq - w[i])) != 0))
                    k++;
                if (!eq || k == CONFIG_KEYS)
                    rc = fail(&r, "unknown cpu field '%s' (dmips= power= cluster= count= opps=)",
                              w[i]);
                else if (k == 4)
                    rc = parse_opps(&r, eq + 1, &opps);
                else
                    rc = number(&r, config_keys[k], eq + 1, &v[k]);
            }
            for (uint64_t i = 0; rc == 0 && i < v[3]; i++) {
                if (c->ncpus == PLAT_MAX_CPUS) {
                    rc = fail(&r, "more than %d cpus", PLAT_MAX_CPUS);
                    break;
                }
                struct plat_cpu *cpu = &c->cpus[c->ncpus++];
                snprintf(cpu->compatible, sizeof(cpu->compatible), "%s", w[1]);
                cpu->dmips_mhz = (uint32_t)v[0];
                cpu->power_coeff = (uint32_t)v[1];
                cpu->has_power_coeff = v[1] != 0;
                cpu->cluster = (int)v[2];
                cpu->nopps = opps.nopps;
                memcpy(cpu->opps, opps.opps, sizeof(cpu->opps));
                cpu->opp_table = opps.nopps ? (uint32_t)v[2] + 1 : 0;   /* one per cluster */
            }
        } else {
            rc = fail(&r, "expected 'name NAME', then 'dtb PATH' or lines of "
                          "'cpu COMPATIBLE [dmips=] [power=] [cluster=] [count=]'");
        }
    }
    fclose(f);
    if (rc)
        return rc;
    if (!c->name[0] || c->ncpus == 0)
        return fail(&r, "needs a name and at least one cpu");
    if (from_dt) {
        sched_core_model_build(c->cpus, c->ncpus, NULL, &c->model);
        return 0;
    }
    /* Normalise as DT discovery does: largest = 1024; all 1024 if any lacks it. */
    uint32_t max = 0;
    bool all = true;
    for (int i = 0; i < c->ncpus; i++) {
        all = all && c->cpus[i].dmips_mhz;
        if (c->cpus[i].dmips_mhz > max)
            max = c->cpus[i].dmips_mhz;
    }
    for (int i = 0; i < c->ncpus; i++)
        c->cpus[i].capacity = all ? (c->cpus[i].dmips_mhz * 1024 + max / 2) / max : 1024;
    sched_core_model_build(c->cpus, c->ncpus, NULL, &c->model);
    return 0;
}

/* --- scenarios ------------------------------------------------------------------------- */

static int qos_of(struct reader *r, const char *s, uint8_t *out)
{
    static const char *const names[QOS_COUNT] = {"ui", "uin", "default", "utility", "bg"};
    for (int q = 0; q < QOS_COUNT; q++) {
        if (strcmp(s, names[q]) == 0) {
            *out = (uint8_t)q;
            return 0;
        }
    }
    return fail(r, "qos '%s': one of ui uin default utility bg", s);
}

static int app_of(struct reader *r, struct sim_scenario *s, const char *name)
{
    for (int i = 0; i < s->napps; i++) {
        if (strcmp(s->app_names[i], name) == 0)
            return i;
    }
    return fail(r, "unknown app '%s' (declare it with 'app NAME fg|bg' first)", name);
}

/* Wake targets are names until every task is read. */
static char wake_names[SIM_MAX_TEMPLATES][SIM_MAX_OPS][SIM_NAME];

static int parse_ops(struct reader *r, struct sim_template *t, int ti, const char *spec)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    for (char *op = strtok_r(buf, ",", &save); op; op = strtok_r(NULL, ",", &save)) {
        if (t->nops == SIM_MAX_OPS)
            return fail(r, "more than %d ops", SIM_MAX_OPS);
        struct sim_op *o = &t->ops[t->nops];
        char *arg = strchr(op, ':');
        if (!arg)
            return fail(r, "op '%s': expected run:US[-US], lock:N, unlock:N or wake:TASK", op);
        *arg++ = 0;
        if (strcmp(op, "run") == 0) {
            o->kind = OP_RUN;
            char *dash = strchr(arg, '-');
            if (dash)
                *dash = 0;
            if (number(r, "run", arg, &o->lo) || (dash && number(r, "run", dash + 1, &o->hi)))
                return -1;
            if (!dash)
                o->hi = o->lo;
            if (o->hi < o->lo)
                return fail(r, "run: range %s-%s is empty", arg, dash + 1);
            o->lo *= US;
            o->hi *= US;
        } else if (strcmp(op, "lock") == 0 || strcmp(op, "unlock") == 0) {
            o->kind = op[0] == 'l' ? OP_LOCK : OP_UNLOCK;
            if (number(r, op, arg, &o->lo))
                return -1;
            if (o->lo >= SIM_MAX_LOCKS)
                return fail(r, "lock id %s: at most %d locks", arg, SIM_MAX_LOCKS);
        } else if (strcmp(op, "wake") == 0) {
            o->kind = OP_WAKE;
            snprintf(wake_names[ti][t->nops], SIM_NAME, "%s", arg);
        } else {
            return fail(r, "unknown op '%s'", op);
        }
        t->nops++;
    }
    return t->nops ? 0 : fail(r, "task without ops");
}

static int parse_task(struct reader *r, struct sim_scenario *s, char **w, int n)
{
    if (s->ntemplates == SIM_MAX_TEMPLATES)
        return fail(r, "more than %d tasks", SIM_MAX_TEMPLATES);
    int ti = s->ntemplates;
    struct sim_template *t = &s->tpl[ti];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", w[1]);
    t->app = -1;
    t->count = 1;
    t->qos = QOS_DEFAULT;
    static const char *const known[] = {"qos", "app", "exempt", "trigger", "count", "period_us",
                                        "phase_us", "deadline", "budget_us", "frame",
                                        "frame_end", "burst", "rate_hz", "ops"};
    for (int i = 2; i < n; i++) {
        size_t len = strcspn(w[i], "=");
        bool ok = false;
        for (unsigned k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            ok = ok || (strlen(known[k]) == len && strncmp(known[k], w[i], len) == 0);
        if (!ok)
            return fail(r, "task %s: unknown field '%s'", t->name, w[i]);
    }
    const char *v;
    uint64_t x = 0;
    if ((v = opt(w, n, "qos")) && qos_of(r, v, &t->qos))
        return -1;
    if ((v = opt(w, n, "app")) && (t->app = app_of(r, s, v)) < 0)
        return -1;
    t->exempt = opt(w, n, "exempt") != NULL;
    t->deadline = opt(w, n, "deadline") != NULL;
    t->frame = opt(w, n, "frame") != NULL;
    t->frame_end = opt(w, n, "frame_end") != NULL;
    v = opt(w, n, "trigger");
    if (!v || strcmp(v, "woken") == 0)
        t->trigger = TRIG_WOKEN;
    else if (strcmp(v, "periodic") == 0)
        t->trigger = TRIG_PERIODIC;
    else if (strcmp(v, "hog") == 0)
        t->trigger = TRIG_HOG;
    else if (strcmp(v, "spawn") == 0)
        t->trigger = TRIG_SPAWN;
    else
        return fail(r, "trigger '%s': one of woken periodic hog spawn", v);
    struct {
        const char *key;
        uint64_t scale;
        uint64_t *dst;
    } nums[] = {{"period_us", US, &t->period}, {"phase_us", US, &t->phase},
                {"budget_us", US, &t->budget}, {"rate_hz", 1, &t->rate_hz}};
    for (unsigned i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if ((v = opt(w, n, nums[i].key))) {
            if (number(r, nums[i].key, v, &x))
                return -1;
            *nums[i].dst = x * nums[i].scale;
        }
    }
    if ((v = opt(w, n, "count"))) {
        if (number(r, "count", v, &x) || x == 0 || x > 64)
            return fail(r, "count: 1..64");
        t->count = (int)x;
    }
    if ((v = opt(w, n, "burst"))) {
        if (number(r, "burst", v, &x) || x == 0 || x > 64)
            return fail(r, "burst: 1..64");
        t->burst = (int)x;
    }
    if (!(v = opt(w, n, "ops")) || parse_ops(r, t, ti, v))
        return v ? -1 : fail(r, "task %s: needs ops=", t->name);
    if (t->trigger == TRIG_PERIODIC && !t->period)
        return fail(r, "task %s: periodic needs period_us", t->name);
    if (t->trigger == TRIG_SPAWN && !t->rate_hz && !(t->period && t->burst))
        return fail(r, "task %s: spawn needs rate_hz, or period_us and burst", t->name);
    if (t->deadline && (t->trigger != TRIG_PERIODIC || !t->budget || t->budget > t->period))
        return fail(r, "task %s: deadline needs trigger=periodic and 0 < budget_us <= period_us",
                    t->name);
    if (t->frame && t->trigger != TRIG_PERIODIC)
        return fail(r, "task %s: frame needs trigger=periodic", t->name);
    s->ntemplates++;
    return 0;
}

static int resolve_wakes(struct reader *r, struct sim_scenario *s)
{
    for (int i = 0; i < s->ntemplates; i++) {
        for (int k = 0; k < s->tpl[i].nops; k++) {
            struct sim_op *o = &s->tpl[i].ops[k];
            if (o->kind != OP_WAKE)
                continue;
            o->target = -1;
            for (int j = 0; j < s->ntemplates; j++) {
                if (strcmp(s->tpl[j].name, wake_names[i][k]) == 0)
                    o->target = j;
            }
            if (o->target < 0 || s->tpl[o->target].trigger != TRIG_WOKEN)
                return fail(r, "task %s: wake:%s needs a task with trigger=woken", s->tpl[i].name,
                            wake_names[i][k]);
        }
    }
    return 0;
}

int sim_load_scenario(const char *path, struct sim_scenario *s, char *err, int errlen)
{
    struct reader r = {path, 0, err, errlen};
    memset(s, 0, sizeof(*s));
    FILE *f = open_data(&r);
    if (!f)
        return -1;
    char buf[1024];
    int rc = 0;
    while (rc == 0 && fgets(buf, sizeof(buf), f)) {
        r.line++;
        char *w[32];
        int n = split(buf, w, 32);
        uint64_t x = 0;
        if (n == 0 || w[0][0] == '#')
            continue;
        if (strcmp(w[0], "name") == 0 && n == 2) {
            snprintf(s->name, sizeof(s->name), "%s", w[1]);
        } else if (strcmp(w[0], "duration_ms") == 0 && n == 2) {
            rc = number(&r, "duration_ms", w[1], &x);
            s->duration = x * MS;
        } else if (strcmp(w[0], "app") == 0 && n == 3) {
            if (s->napps == SIM_MAX_APPS)
                rc = fail(&r, "more than %d apps", SIM_MAX_APPS);
            else if (strcmp(w[2], "fg") && strcmp(w[2], "bg"))
                rc = fail(&r, "app %s: state fg or bg", w[1]);
            else {
                snprintf(s->app_names[s->napps], SIM_NAME, "%s", w[1]);
                s->app_fg[s->napps++] = strcmp(w[2], "fg") == 0;
            }
        } else if (strcmp(w[0], "task") == 0 && n >= 3) {
            rc = parse_task(&r, s, w, n);
        } else if (strcmp(w[0], "event") == 0 && n == 4) {
            const char *at = opt_from(w, 1, n, "at_ms"), *app = opt_from(w, 1, n, "app"),
                       *st = opt_from(w, 1, n, "state");
            if (s->nevents == SIM_MAX_EVENTS)
                rc = fail(&r, "more than %d events", SIM_MAX_EVENTS);
            else if (!at || !app || !st || (strcmp(st, "fg") && strcmp(st, "bg")))
                rc = fail(&r, "expected 'event at_ms=N app=NAME state=fg|bg'");
            else if ((rc = number(&r, "at_ms", at, &x)) == 0) {
                struct sim_app_event *e = &s->events[s->nevents];
                e->at = x * MS;
                e->foreground = strcmp(st, "fg") == 0;
                if ((e->app = app_of(&r, s, app)) < 0)
                    rc = -1;
                else if (s->nevents && e->at < s->events[s->nevents - 1].at)
                    rc = fail(&r, "events must be in time order");
                else
                    s->nevents++;
            }
        } else {
            rc = fail(&r, "expected name, duration_ms, app, task or event");
        }
    }
    fclose(f);
    if (rc == 0)
        rc = resolve_wakes(&r, s);
    if (rc == 0 && (!s->name[0] || !s->duration || !s->ntemplates))
        rc = fail(&r, "needs a name, duration_ms and at least one task");
    return rc;
}
