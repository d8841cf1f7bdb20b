/*
 * sim: runs every scenario on every configuration under every policy and
 * reports a markdown table (stdout), OUT/results.json, OUT/results.md and
 * OUT/chart.svg, then checks SR against the targets.
 *
 *   sim [--configs DIR] [--scenarios DIR] [--out DIR] [--seed N] [--check]
 *       [--only CONFIG/SCENARIO] [--breakdown]
 *
 * --check: exit status 1 when SR misses a target (default: report only).
 * --breakdown: also print where each run's energy went (core, OPP, class).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim.h"

#define MAX_FILES 32

static int list_files(const char *dir, const char *ext, char names[][256], int max)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "sim: %s: %s\n", dir, strerror(errno));
        exit(2);
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), el = strlen(ext);
        if (len > el && strcmp(e->d_name + len - el, ext) == 0 && n < max)
            snprintf(names[n++], 256, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void percentiles(struct sim_result *r)
{
    for (int q = 0; q < QOS_COUNT; q++) {
        struct sim_samples *s = &r->wake[q];
        if (!s->n)
            continue;
        qsort(s->v, (size_t)s->n, sizeof(s->v[0]), cmp_u64);
        r->p50[q] = s->v[(s->n - 1) / 2];
        int i99 = (s->n * 99 + 99) / 100 - 1;
        r->p99[q] = s->v[i99 < 0 ? 0 : i99];
    }
}

static double missed_pct(const struct sim_result *r)
{
    return r->frames ? 100.0 * r->frames_missed / r->frames : 0.0;
}

static double bg_pct(const struct sim_result *r)
{
    return r->capacity_ns ? 100.0 * (double)r->bg_ns / (double)r->capacity_ns : 0.0;
}

static void us_or_dash(char *buf, size_t n, const struct sim_result *r, int q, bool p99)
{
    if (!r->wake[q].n)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.0f", (double)(p99 ? r->p99[q] : r->p50[q]) / 1000.0);
}

static void markdown_row(FILE *f, const struct sim_result *r)
{
    char ui50[32], ui99[32], uin99[32], def99[32], bg99[32];
    us_or_dash(ui50, sizeof(ui50), r, QOS_USER_INTERACTIVE, false);
    us_or_dash(ui99, sizeof(ui99), r, QOS_USER_INTERACTIVE, true);
    us_or_dash(uin99, sizeof(uin99), r, QOS_USER_INITIATED, true);
    us_or_dash(def99, sizeof(def99), r, QOS_DEFAULT, true);
    us_or_dash(bg99, sizeof(bg99), r, QOS_BACKGROUND, true);
    fprintf(f, "| %s | %s | %s | ", r->config, r->scenario, r->policy);
    if (r->frames)
        fprintf(f, "%.2f | ", missed_pct(r));
    else
        fprintf(f, "- | ");
    fprintf(f, "%s / %s | %s | %s | %s | ", ui50, ui99, uin99, def99, bg99);
    if (r->has_audio)
        fprintf(f, "%d | ", r->audio_misses);
    else
        fprintf(f, "- | ");
    fprintf(f, "%.3f | %.2f | ", r->energy_j, (double)r->work_ns / 1e9);
    if (r->has_bg)
        fprintf(f, "%.1f | ", bg_pct(r));
    else
        fprintf(f, "- | ");
    fprintf(f, "%d | ", r->migrations);
    if (r->has_lock)
        fprintf(f, "%.2f |\n", (double)r->inversion_max_ns / 1e6);
    else
        fprintf(f, "- |\n");
}

static void markdown(FILE *f, struct sim_result *res, int n)
{
    fprintf(f, "| config | scenario | policy | missed frames %% | UI wake p50 / p99 (us) | "
               "UIN p99 (us) | default p99 (us) | bg p99 (us) | audio misses | energy (J) | "
               "bg share %% | migrations | UI lock wait max (ms) |\n");
    fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++)
        markdown_row(f, &res[i]);
}

static void json(FILE *f, struct sim_result *res, int n)
{
    fprintf(f, "[\n");
    for (int i = 0; i < n; i++) {
        const struct sim_result *r = &res[i];
        fprintf(f, "  {\"policy\": \"%s\", \"config\": \"%s\", \"scenario\": \"%s\", ", r->policy,
                r->config, r->scenario);
        if (r->frames)
            fprintf(f, "\"missed_frames_pct\": %.3f, ", missed_pct(r));
        else
            fprintf(f, "\"missed_frames_pct\": null, ");
        if (r->wake[QOS_USER_INTERACTIVE].n)
            fprintf(f, "\"ui_p99_wake_us\": %.1f, ", (double)r->p99[QOS_USER_INTERACTIVE] / 1000.0);
        else
            fprintf(f, "\"ui_p99_wake_us\": null, ");
        if (r->has_audio)
            fprintf(f, "\"audio_misses\": %d, ", r->audio_misses);
        else
            fprintf(f, "\"audio_misses\": null, ");
        fprintf(f, "\"energy_j\": %.4f, \"work_s\": %.4f, \"frames\": %d, \"frames_missed\": %d, ",
                r->energy_j, (double)r->work_ns / 1e9, r->frames, r->frames_missed);
        if (r->has_bg)
            fprintf(f, "\"bg_share_pct\": %.2f, ", bg_pct(r));
        else
            fprintf(f, "\"bg_share_pct\": null, ");
        fprintf(f, "\"migrations\": %d}%s\n", r->migrations, i + 1 < n ? "," : "");
    }
    fprintf(f, "]\n");
}

/* --- where the energy went ---------------------------------------------------------- */

static const char *const class_names[] = {"ui", "uin", "default", "utility", "bg"};
_Static_assert(sizeof(class_names) / sizeof(class_names[0]) == QOS_COUNT, "one name per class");

/* One line per run, core, operating point and own class that was busy. */
static void breakdown(FILE *f, const struct sim_result *res, int n, const struct sim_config *cfgs,
                      int nc)
{
    fprintf(f, "\n| config | scenario | policy | core | MHz | class | busy (ms) | work (s) | "
               "energy (J) | J per work-s |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const struct sim_result *r = &res[i];
        const struct sim_config *cfg = NULL;
        for (int c = 0; c < nc; c++)
            cfg = strcmp(cfgs[c].name, r->config) ? cfg : &cfgs[c];
        if (!cfg)
            continue;
        for (int cpu = 0; cpu < cfg->model.ncores; cpu++) {
            const struct plat_cpu *pc = &cfg->cpus[cpu];
            for (int k = 0; k < cfg->model.core[cpu].nopps; k++) {
                for (int q = 0; q < QOS_COUNT; q++) {
                    const struct sim_share *sh = &r->by[cpu][k][q];
                    if (!sh->busy_ns)
                        continue;
                    unsigned mhz = pc->nopps > k ? pc->opps[k].mhz : 0;
                    fprintf(f, "| %s | %s | %s | %d | %u | %s | %.1f | %.3f | %.3f | %.3f |\n",
                            r->config, r->scenario, r->policy, cpu, mhz, class_names[q],
                            (double)sh->busy_ns / 1e6, (double)sh->work_ns / 1e9, sh->energy_j,
                            sh->work_ns ? sh->energy_j * 1e9 / (double)sh->work_ns : 0.0);
                }
            }
        }
    }
}

/* --- the chart: per configuration, missed frames at 60/120 Hz and total energy --- */

struct totals {
    double energy;
    double work_s;
    int frames, missed;
};

static const char *const colours[] = {"#d62728", "#7f7f7f", "#1f77b4", "#2ca02c"};

static const struct sim_result *find(const struct sim_result *res, int n, const char *policy,
                                     const char *config, const char *scenario)
{
    for (int i = 0; i < n; i++) {
        if (!strcmp(res[i].policy, policy) && !strcmp(res[i].config, config) &&
            !strcmp(res[i].scenario, scenario))
            return &res[i];
    }
    return NULL;
}

static struct totals total(const struct sim_result *res, int n, const char *policy,
                           const char *config)
{
    struct totals t = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        if (!strcmp(res[i].policy, policy) && !strcmp(res[i].config, config)) {
            t.energy += res[i].energy_j;
            t.work_s += (double)res[i].work_ns / 1e9;
            t.frames += res[i].frames;
            t.missed += res[i].frames_missed;
        }
    }
    return t;
}

static void svg(FILE *f, const struct sim_result *res, int n, char configs[][SIM_NAME], int nc)
{
    const int pw = 300, ph = 220, top = 50, left = 60;
    const char *panels[3] = {"missed frames % (ui60_hogs)", "missed frames % (ui120_hogs)",
                             "energy, all scenarios (J)"};
    int width = left + 3 * (pw + 40), height = top + ph + 90;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n", width, height);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"20\" font-size=\"14\">SR scheduling simulator: policy x "
               "configuration</text>\n", left);
    for (int p = 0; p < 3; p++) {
        int x0 = left + p * (pw + 40);
        double max = 0;
        double val[8][4];
        for (int c = 0; c < nc && c < 8; c++) {
            for (int k = 0; k < sim_policy_count; k++) {
                const char *pol = sim_policy_names[k];
                double v = 0;
                if (p < 2) {
                    const struct sim_result *r =
                        find(res, n, pol, configs[c], p == 0 ? "ui60_hogs" : "ui120_hogs");
                    v = r ? missed_pct(r) : 0;
                } else {
                    v = total(res, n, pol, configs[c]).energy;
                }
                val[c][k] = v;
                if (v > max)
                    max = v;
            }
        }
        if (max <= 0)
            max = 1;
        fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n", x0, top - 10, panels[p]);
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", x0,
                top + ph, x0 + pw, top + ph);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.3g</text>\n", x0 - 4, top + 4,
                max);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", x0 - 4, top + ph);
        int gw = nc ? pw / nc : pw;
        for (int c = 0; c < nc && c < 8; c++) {
            int gx = x0 + c * gw;
            int bw = (gw - 10) / sim_policy_count;
            for (int k = 0; k < sim_policy_count; k++) {
                int h = (int)(val[c][k] / max * ph + 0.5);
                fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                           "<title>%s %s: %.3f</title></rect>\n",
                        gx + 5 + k * bw, top + ph - h, bw - 1, h, colours[k],
                        sim_policy_names[k], configs[c], val[c][k]);
            }
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                    gx + gw / 2, top + ph + 14, configs[c]);
        }
    }
    for (int k = 0; k < sim_policy_count; k++) {
        int x = left + k * 120, y = top + ph + 45;
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                   "<text x=\"%d\" y=\"%d\">%s</text>\n",
                x, y, colours[k], x + 16, y + 10, sim_policy_names[k]);
    }
    fprintf(f, "</svg>\n");
}

/* Per configuration and policy, over all scenarios. */
static void summary(FILE *f, const struct sim_result *res, int n, char configs[][SIM_NAME], int nc)
{
    fprintf(f, "\nAll scenarios together:\n\n| config | policy | frames missed / total | "
               "worst UI p99 (us) | audio misses | energy (J) | work (s) | J per work-s |\n"
               "|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < nc; c++) {
        for (int k = 0; k < sim_policy_count; k++) {
            const char *pol = sim_policy_names[k];
            struct totals t = total(res, n, pol, configs[c]);
            uint64_t worst = 0;
            int audio = 0;
            for (int i = 0; i < n; i++) {
                if (strcmp(res[i].policy, pol) || strcmp(res[i].config, configs[c]))
                    continue;
                audio += res[i].audio_misses;
                if (res[i].wake[QOS_USER_INTERACTIVE].n && res[i].p99[QOS_USER_INTERACTIVE] > worst)
                    worst = res[i].p99[QOS_USER_INTERACTIVE];
            }
            fprintf(f, "| %s | %s | %d / %d | %.0f | %d | %.2f | %.2f | %.3f |\n", configs[c], pol,
                    t.missed, t.frames, (double)worst / 1000.0, audio, t.energy, t.work_s,
                    t.energy / t.work_s);
        }
    }
}

/* --- targets ---------------------------------------------------------------------- */

/* Longest critical section of a scenario, as wall time on the smallest core. */
static uint64_t longest_cs(const struct sim_scenario *s, const struct sim_config *c)
{
    uint32_t min_cap = SCHED_CAPACITY_MAX;
    for (int i = 0; i < c->model.ncores; i++) {
        if (c->model.core[i].capacity < min_cap)
            min_cap = c->model.core[i].capacity;
    }
    uint64_t longest = 0;
    for (int i = 0; i < s->ntemplates; i++) {
        uint64_t cs = 0;
        int depth = 0;
        for (int k = 0; k < s->tpl[i].nops; k++) {
            const struct sim_op *o = &s->tpl[i].ops[k];
            depth += o->kind == OP_LOCK ? 1 : o->kind == OP_UNLOCK ? -1 : 0;
            if (depth > 0 && o->kind == OP_RUN)
                cs += o->hi;
            if (o->kind == OP_UNLOCK && depth == 0) {
                if (cs > longest)
                    longest = cs;
                cs = 0;
            }
        }
    }
    return longest * SCHED_CAPACITY_MAX / min_cap;
}

static int check(FILE *f, const struct sim_result *res, int n, const struct sim_config *cfgs,
                 int nc, const struct sim_scenario *scs, int ns)
{
    int failed = 0;
    fprintf(f, "\nTargets (SR policy), per configuration:\n\n");
    fprintf(f, "| config | target | value | met |\n|---|---|---|---|\n");
#define ROW(cfg, what, met, ...)                                                        \
    do {                                                                                \
        char v_[256];                                                                   \
        snprintf(v_, sizeof(v_), __VA_ARGS__);                                          \
        fprintf(f, "| %s | %s | %s | %s |\n", cfg, what, v_, (met) ? "yes" : "**no**"); \
        failed += !(met);                                                               \
    } while (0)
    for (int c = 0; c < nc; c++) {
        const char *cn = cfgs[c].name;
        const struct sim_result *r60 = find(res, n, "sr", cn, "ui60_hogs");
        const struct sim_result *r120 = find(res, n, "sr", cn, "ui120_hogs");
        if (r60)
            ROW(cn, "missed frames <= 1% at 60 Hz with 4 hogs", missed_pct(r60) <= 1.0, "%.2f %%",
                missed_pct(r60));
        if (r120)
            ROW(cn, "missed frames <= 2% at 120 Hz with 4 hogs", missed_pct(r120) <= 2.0,
                "%.2f %%", missed_pct(r120));
        uint64_t worst = 0;
        const char *worst_sc = "-";
        int audio = 0, refused = 0;
        double bg_min = 100;
        const char *bg_sc = "-";
        bool inv_ok = true;
        char inv[96] = "-";
        for (int i = 0; i < n; i++) {
            const struct sim_result *r = &res[i];
            if (strcmp(r->policy, "sr") || strcmp(r->config, cn))
                continue;
            if (r->wake[QOS_USER_INTERACTIVE].n && r->p99[QOS_USER_INTERACTIVE] >= worst) {
                worst = r->p99[QOS_USER_INTERACTIVE];
                worst_sc = r->scenario;
            }
            audio += r->audio_misses;
            refused += r->audio_refused;
            bool hogs = !strcmp(r->scenario, "ui60_hogs") || !strcmp(r->scenario, "ui120_hogs");
            if (hogs && bg_pct(r) < bg_min) {
                bg_min = bg_pct(r);
                bg_sc = r->scenario;
            }
            if (r->has_lock) {
                for (int s = 0; s < ns; s++) {
                    if (strcmp(scs[s].name, r->scenario))
                        continue;
                    uint64_t bound = longest_cs(&scs[s], &cfgs[c]) + 4 * MS;
                    inv_ok = inv_ok && r->inversion_max_ns <= bound;
                    snprintf(inv, sizeof(inv), "%.2f ms (bound: longest critical section %.2f ms + slice 4 ms)",
                             (double)r->inversion_max_ns / 1e6, (double)(bound - 4 * MS) / 1e6);
                }
            }
        }
        ROW(cn, "user-interactive p99 wake-to-run <= 1 ms", worst <= 1000 * 1000,
            "%.0f us (worst: %s)", (double)worst / 1000.0, worst_sc);
        ROW(cn, "zero audio deadline misses", audio == 0 && refused == 0,
            "%d misses, %d refused", audio, refused);
        struct totals sr = total(res, n, "sr", cn), pin = total(res, n, "qos_pinned", cn),
                      eas = total(res, n, "eas_like", cn);
        /* Hogs are open-ended: a policy that gives them less CPU spends less
         * energy by doing less work, so energy is compared per unit of work
         * done (J per second of capacity-1024 work); raw joules are shown too. */
        double sr_jw = sr.energy / sr.work_s, pin_jw = pin.energy / pin.work_s,
               eas_jw = eas.energy / eas.work_s;
        /* What placement and frequency can change at all: J per work-s of
         * the cheapest and the dearest operating point of any core (busy
         * power x 1024 / capacity, switches aside). */
        double epw_lo = 1e30, epw_hi = 0;
        for (int i = 0; i < cfgs[c].model.ncores; i++) {
            const struct sched_core_info *ci = &cfgs[c].model.core[i];
            for (int k = 0; k < ci->nopps; k++) {
                double e = (double)ci->opp[k].power_uw * 1024 / ci->opp[k].capacity / 1e3;
                epw_lo = e < epw_lo ? e : epw_lo;
                epw_hi = e > epw_hi ? e : epw_hi;
            }
        }
        ROW(cn, "energy >= 10% below qos_pinned at equal or better jank",
            sr_jw <= 0.9 * pin_jw && sr.missed <= pin.missed,
            "%.3f vs %.3f J per work-s (%+.1f %%; raw %.2f J vs %.2f J), missed frames %d vs %d; "
            "operating points span %.3f-%.3f J per work-s",
            sr_jw, pin_jw, 100.0 * (sr_jw / pin_jw - 1), sr.energy, pin.energy, sr.missed,
            pin.missed, epw_lo / 1000.0, epw_hi / 1000.0);
        ROW(cn, "fewer missed frames than eas_like at <= +5% energy",
            (sr.missed < eas.missed || (sr.missed == 0 && eas.missed == 0)) &&
                sr_jw <= 1.05 * eas_jw,
            "%d vs %d frames, %.3f vs %.3f J per work-s (%+.1f %%; raw %.2f J vs %.2f J)",
            sr.missed, eas.missed, sr_jw, eas_jw, 100.0 * (sr_jw / eas_jw - 1), sr.energy,
            eas.energy);
        ROW(cn, "background keeps >= 5% CPU share (frames + 4 hogs)", bg_min >= 5.0,
            "%.1f %% (lowest: %s)", bg_min, bg_sc);
        ROW(cn, "priority inversion resolved within one slice", inv_ok, "%s", inv);
    }
#undef ROW
    fprintf(f, "\n%d target%s missed\n", failed, failed == 1 ? "" : "s");
    return failed;
}

int main(int argc, char **argv)
{
    const char *cfg_dir = "tools/sim/configs", *sc_dir = "tools/sim/scenarios", *out = "build/sim";
    uint64_t seed = 1;
    bool strict = false, show_breakdown = false;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--configs") && i + 1 < argc)
            cfg_dir = argv[++i];
        else if (!strcmp(argv[i], "--scenarios") && i + 1 < argc)
            sc_dir = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--check"))
            strict = true;
        else if (!strcmp(argv[i], "--breakdown"))
            show_breakdown = true;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: sim [--configs DIR] [--scenarios DIR] [--out DIR] [--seed N] "
                            "[--check] [--only CONFIG/SCENARIO] [--breakdown]\n");
            return 2;
        }
    }
    static char cfg_files[MAX_FILES][256], sc_files[MAX_FILES][256];
    int nc = list_files(cfg_dir, ".cfg", cfg_files, MAX_FILES);
    int ns = list_files(sc_dir, ".scn", sc_files, MAX_FILES);
    static struct sim_config cfgs[MAX_FILES];
    static struct sim_scenario scs[MAX_FILES];
    static char cfg_names[MAX_FILES][SIM_NAME];
    char err[512];
    for (int i = 0; i < nc; i++) {
        if (sim_load_config(cfg_files[i], &cfgs[i], err, sizeof(err))) {
            fprintf(stderr, "sim: %s\n", err);
            return 2;
        }
        memcpy(cfg_names[i], cfgs[i].name, SIM_NAME);
    }
    for (int i = 0; i < ns; i++) {
        if (sim_load_scenario(sc_files[i], &scs[i], err, sizeof(err))) {
            fprintf(stderr, "sim: %s\n", err);
            return 2;
        }
    }
    if (!nc || !ns) {
        fprintf(stderr, "sim: no configurations (*.cfg) or scenarios (*.scn)\n");
        return 2;
    }
    if (only) {   /* one configuration and scenario, for investigating */
        int keep_c = 0, keep_s = 0;
        for (int c = 0; c < nc; c++) {
            for (int s = 0; s < ns; s++) {
                char name[80];
                snprintf(name, sizeof(name), "%.31s/%.31s", cfgs[c].name, scs[s].name);
                if (!strcmp(name, only)) {
                    cfgs[0] = cfgs[c];
                    memcpy(cfg_names[0], cfg_names[c], SIM_NAME);
                    scs[0] = scs[s];
                    keep_c = keep_s = 1;
                }
            }
        }
        if (!keep_c) {
            fprintf(stderr, "sim: --only %s: no such CONFIG/SCENARIO\n", only);
            return 2;
        }
        nc = keep_c;
        ns = keep_s;
    }
    int n = nc * ns * sim_policy_count;
    struct sim_result *res = calloc((size_t)n, sizeof(*res));
    if (!res)
        return 2;
    int k = 0;
    for (int c = 0; c < nc; c++) {
        for (int s = 0; s < ns; s++) {
            for (int p = 0; p < sim_policy_count; p++) {
                sim_run(&cfgs[c], &scs[s], sim_policy_find(sim_policy_names[p]), seed, &res[k]);
                if (res[k].audio_refused)
                    fprintf(stderr, "sim: %s/%s/%s: %s\n", res[k].policy, res[k].config,
                            res[k].scenario, res[k].refused_why);
                percentiles(&res[k]);
                k++;
            }
        }
    }
    mkdir(out, 0777);
    char path[512];
    FILE *f;
    markdown(stdout, res, n);
    summary(stdout, res, n, cfg_names, nc);
    snprintf(path, sizeof(path), "%s/results.md", out);
    if ((f = fopen(path, "w"))) {
        markdown(f, res, n);
        summary(f, res, n, cfg_names, nc);
        check(f, res, n, cfgs, nc, scs, ns);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/results.json", out);
    if (!(f = fopen(path, "w"))) {
        fprintf(stderr, "sim: %s: %s\n", path, strerror(errno));
        return 2;
    }
    json(f, res, n);
    fclose(f);
    snprintf(path, sizeof(path), "%s/chart.svg", out);
    if (!(f = fopen(path, "w"))) {
        fprintf(stderr, "sim: %s: %s\n", path, strerror(errno));
        return 2;
    }
    svg(f, res, n, cfg_names, nc);
    fclose(f);
    int failed = check(stdout, res, n, cfgs, nc, scs, ns);
    if (show_breakdown)
        breakdown(stdout, res, n, cfgs, nc);
    printf("\nwrote %s/results.json, %s/results.md, %s/chart.svg\n", out, out, out);
    for (int i = 0; i < n; i++)
        sim_result_free(&res[i]);
    free(res);
    return strict && failed ? 1 : 0;
}
