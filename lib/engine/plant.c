/*
 * plant.c - the plant model beyond jobs and durations, from the scenario's
 * optional `plant` section (docs/engine.md "Plant model"):
 *
 *   asOf        reference time of the plant data (ISO 8601, UTC)
 *   calendars   working time per plant ("default") or machine: weekly shifts,
 *               daily breaks, non-working days, planned maintenance windows
 *   setups      sequence-dependent setup minutes per machine (or "*"): from
 *               operation type -> to operation type
 *   breakdowns  per machine: mtbf (operating minutes) and mttr (a law)
 *   yield       per operation type: good fraction per attempt (rework)
 *   history     actual operation times, to fit the spread of the laws
 *   minHistorySamples, maxDataAgeMinutes
 *
 * Plus, from `machines`: current_job {operation_type, remaining_min} (work
 * in progress) and last_update (stale data warnings). Every part is
 * optional; absent, the plant runs 24/7 with no setups, no breakdowns, no
 * scrap and nothing in progress.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine/fjsp.h"
#include "engine/scenario.h"

#define CAL_HORIZON_DAYS 120 /* calendars are expanded this far; working time beyond */
#define MAX_CAL_SPANS    20000
#define MINUTE_S         60.0

/* ---- time text ---- */

int qg_plant_parse_time(const char *text, double *epoch_s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!text)
        return -1;
    const char *end = strptime(text, "%Y-%m-%d", &tm);
    if (!end)
        return -1;
    if (*end == '\0') {
        *epoch_s = (double)timegm(&tm);
        return 0;
    }
    if (*end != 'T' && *end != ' ')
        return -1;
    const char *rest = strptime(end + 1, "%H:%M", &tm);
    if (rest && *rest == ':')
        rest = strptime(rest + 1, "%S", &tm);
    if (rest && *rest == '.')
        for (rest++; isdigit((unsigned char)*rest); rest++)
            ;
    if (!rest || (*rest && strcmp(rest, "Z") && strcmp(rest, "+00:00")))
        return -1;
    *epoch_s = (double)timegm(&tm);
    return 0;
}

/* "06:30" -> minutes after midnight; -1 when malformed. */
static double clock_minutes(const char *s)
{
    int h, m;
    if (!s || sscanf(s, "%d:%d", &h, &m) != 2 || h < 0 || h > 24 || m < 0 || m > 59)
        return -1;
    return h * 60.0 + m;
}

/* ---- calendars ---- */

typedef struct {
    qg_span_t *v;
    int n, cap;
} spans_t;

static int spans_add(spans_t *s, double a, double b)
{
    if (!(b > a))
        return 0;
    if (s->n >= MAX_CAL_SPANS)
        return -1;
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 64;
        qg_span_t *nv = realloc(s->v, (size_t)nc * sizeof(*nv));
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = (qg_span_t){a, b};
    return 0;
}

static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* Does a shift's "days" (names or 1=Mon..7=Sun) include weekday wd (0=Sun)? Absent: Mon-Fri. */
static int shift_on_day(const qg_json_t *days, int wd)
{
    if (!days)
        return wd >= 1 && wd <= 5;
    for (size_t i = 0; i < qg_json_len(days); i++) {
        const qg_json_t *d = qg_json_at(days, i);
        const char *name = qg_json_str(d);
        if (name && !strncasecmp(name, day_names[wd], 3))
            return 1;
        double n = qg_scn_num(d, -1);
        if (n >= 1 && n <= 7 && ((int)n % 7) == wd)
            return 1;
    }
    return 0;
}

static int is_listed_day(const qg_json_t *days, double day_epoch)
{
    for (size_t i = 0; i < qg_json_len(days); i++) {
        double e;
        if (!qg_plant_parse_time(qg_json_str(qg_json_at(days, i)), &e) && fabs(e - day_epoch) < 1)
            return 1;
    }
    return 0;
}

/* Working spans (minutes from asOf) of one day starting at day_epoch. */
static int day_working(const qg_json_t *cal, double day_epoch, double as_of, spans_t *on)
{
    time_t t = (time_t)day_epoch;
    struct tm tm;
    gmtime_r(&t, &tm);
    if (is_listed_day(qg_json_get(cal, "nonWorkingDays"), day_epoch))
        return 0;
    const qg_json_t *shifts = qg_json_get(cal, "shifts");
    double base = (day_epoch - as_of) / MINUTE_S;
    for (size_t i = 0; i < qg_json_len(shifts); i++) {
        const qg_json_t *sh = qg_json_at(shifts, i);
        if (!shift_on_day(qg_json_get(sh, "days"), tm.tm_wday))
            continue;
        double a = clock_minutes(qg_json_str(qg_json_get(sh, "start")));
        double b = clock_minutes(qg_json_str(qg_json_get(sh, "end")));
        if (a < 0 || b < 0)
            continue;
        if (b <= a)
            b += 24 * 60; /* a night shift ends the next day */
        if (spans_add(on, base + a, base + b) < 0)
            return -1;
    }
    return 0;
}

static int day_breaks(const qg_json_t *cal, double day_epoch, double as_of, spans_t *off)
{
    const qg_json_t *breaks = qg_json_get(cal, "breaks");
    double base = (day_epoch - as_of) / MINUTE_S;
    for (size_t i = 0; i < qg_json_len(breaks); i++) {
        const qg_json_t *br = qg_json_at(breaks, i);
        double a = clock_minutes(qg_json_str(qg_json_get(br, "start")));
        double b = clock_minutes(qg_json_str(qg_json_get(br, "end")));
        if (a >= 0 && b > a && spans_add(off, base + a, base + b) < 0)
            return -1;
    }
    return 0;
}

static int maintenance(const qg_json_t *list, double as_of, spans_t *off)
{
    for (size_t i = 0; i < qg_json_len(list); i++) {
        const qg_json_t *w = qg_json_at(list, i);
        double a, b;
        if (qg_plant_parse_time(qg_json_str(qg_json_get(w, "start")), &a) ||
            qg_plant_parse_time(qg_json_str(qg_json_get(w, "end")), &b))
            continue;
        if (spans_add(off, (a - as_of) / MINUTE_S, (b - as_of) / MINUTE_S) < 0)
            return -1;
    }
    return 0;
}

/* Non-working spans of a calendar over the horizon: gaps between shifts, breaks, maintenance. */
static qg_error_t *expand_calendar(const qg_json_t *cal, const qg_json_t *extra_maint, double as_of,
                                   qg_calendar_t *out)
{
    spans_t on = {0}, off = {0};
    int bad = 0;
    double day0 = floor(as_of / 86400.0) * 86400.0 - 86400.0;
    int has_shifts = qg_json_len(qg_json_get(cal, "shifts")) > 0;
    for (int d = 0; d <= CAL_HORIZON_DAYS + 1 && !bad; d++) {
        double de = day0 + d * 86400.0;
        bad = (has_shifts && day_working(cal, de, as_of, &on) < 0) ||
              day_breaks(cal, de, as_of, &off) < 0;
    }
    if (!bad && has_shifts) { /* complement of the working spans, up to the horizon */
        on.n = qg_cal_normalize(on.v, on.n);
        double t = (day0 - as_of) / MINUTE_S, horizon = CAL_HORIZON_DAYS * 1440.0;
        for (int i = 0; i < on.n && !bad; i++) {
            bad = spans_add(&off, t, on.v[i].s) < 0;
            t = on.v[i].e;
        }
        if (!bad && t < horizon)
            bad = spans_add(&off, t, horizon) < 0;
    }
    if (!bad)
        bad = maintenance(qg_json_get(cal, "maintenance"), as_of, &off) < 0 ||
              maintenance(extra_maint, as_of, &off) < 0;
    free(on.v);
    if (bad) {
        free(off.v);
        return qg_error_new(QG_ERR_BAD_INPUT, "calendar: more than %d non-working spans",
                            MAX_CAL_SPANS);
    }
    out->n_off = qg_cal_normalize(off.v, off.n);
    out->off = off.v;
    return NULL;
}

static qg_error_t *apply_calendars(const qg_json_t *cals, qg_fjsp_t *p)
{
    const qg_json_t *dflt = qg_json_get(cals, "default");
    for (int k = 0; k < p->n_machines; k++) {
        const qg_json_t *own = qg_json_get(cals, p->machine_names[k]);
        const qg_json_t *cal = own ? own : dflt;
        if (!cal)
            continue;
        /* a machine's own maintenance adds to the plant calendar it follows */
        const qg_json_t *extra =
            own && dflt && !qg_json_get(own, "shifts") ? qg_json_get(own, "maintenance") : NULL;
        qg_error_t *err =
            expand_calendar(own && extra ? dflt : cal, extra, p->as_of, &p->mm[k].cal);
        if (err)
            return qg_error_wrap(err, "plant.calendars.%s", own ? p->machine_names[k] : "default");
        p->has_calendar |= p->mm[k].cal.n_off > 0;
    }
    return NULL;
}

/* ---- setups, breakdowns, yield ---- */

static int type_of(char *const *types, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (!strcmp(types[i], name))
            return i;
    return -1;
}

static void setup_rows(qg_fjsp_t *p, int k, const qg_json_t *m, char *const *types)
{
    for (size_t i = 0; i < qg_json_len(m); i++) {
        int a = type_of(types, p->n_types, qg_json_key_at(m, i));
        const qg_json_t *row = qg_json_at(m, i);
        for (size_t j = 0; a >= 0 && j < qg_json_len(row); j++) {
            int b = type_of(types, p->n_types, qg_json_key_at(row, j));
            double v = qg_scn_num(qg_json_at(row, j), -1);
            if (b >= 0 && v >= 0) {
                p->setup[((size_t)k * (size_t)p->n_types + (size_t)a) * (size_t)p->n_types +
                         (size_t)b] = v;
                p->has_setups |= v > 0;
            }
        }
    }
}

static qg_error_t *apply_setups(const qg_json_t *setups, qg_fjsp_t *p, char *const *types)
{
    if (!qg_json_len(setups) || p->n_types == 0)
        return NULL;
    size_t n = (size_t)p->n_machines * (size_t)p->n_types * (size_t)p->n_types;
    if (!(p->setup = calloc(n, sizeof(double))))
        return qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
    for (int k = 0; k < p->n_machines; k++) {
        setup_rows(p, k, qg_json_get(setups, "*"), types);
        setup_rows(p, k, qg_json_get(setups, p->machine_names[k]), types);
    }
    return NULL;
}

static qg_error_t *apply_breakdowns(const qg_json_t *bd, qg_fjsp_t *p)
{
    for (int k = 0; k < p->n_machines; k++) {
        const qg_json_t *m = qg_json_get(bd, p->machine_names[k]);
        if (!m)
            continue;
        double mtbf = qg_scn_num(qg_json_get(m, "mtbf"), NAN);
        if (!(mtbf > 0))
            return qg_error_new(QG_ERR_BAD_INPUT, "plant.breakdowns.%s: mtbf must be > 0 minutes",
                                p->machine_names[k]);
        qg_error_t *err = qg_scn_dist(qg_json_get(m, "mttr"), &p->mm[k].mttr);
        if (err)
            return qg_error_wrap(err, "plant.breakdowns.%s.mttr", p->machine_names[k]);
        p->mm[k].mtbf = mtbf;
        p->has_breakdowns = 1;
        /* the plan expects repairs: work takes (1 + E[mttr]/mtbf) times as long */
        double f = 1.0 + p->mm[k].mttr.mean / mtbf;
        for (int a = 0; a < p->n_alts; a++)
            if (p->alts[a].machine == k)
                p->alts[a].dur *= f;
    }
    return NULL;
}

static qg_error_t *apply_yield(const qg_json_t *yield, qg_fjsp_t *p, char *const *types)
{
    for (size_t i = 0; i < qg_json_len(yield); i++) {
        int t = type_of(types, p->n_types, qg_json_key_at(yield, i));
        double y = qg_scn_num(qg_json_at(yield, i), NAN);
        if (!(y > 0 && y <= 1))
            return qg_error_new(QG_ERR_BAD_INPUT, "plant.yield.%s: expected a fraction in (0, 1]",
                                qg_json_key_at(yield, i));
        for (int o = 0; t >= 0 && y < 1 && o < p->n_ops; o++) {
            if (p->ops[o].type != t)
                continue;
            p->ops[o].yield = y; /* expected attempts per good unit: 1 / y */
            for (int a = 0; a < p->ops[o].n_alt; a++)
                p->alts[p->ops[o].alt_off + a].dur /= y;
            p->has_yield = 1;
        }
    }
    return NULL;
}

/* ---- machines: work in progress, stale data ---- */

static int machine_index(const qg_fjsp_t *p, const char *id)
{
    for (int k = 0; id && k < p->n_machines; k++)
        if (!strcmp(p->machine_names[k], id))
            return k;
    return -1;
}

static qg_error_t *apply_machines(const qg_json_t *machines, qg_fjsp_t *p, char *const *types,
                                  double stale_after_s)
{
    for (size_t i = 0; i < qg_json_len(machines); i++) {
        const qg_json_t *m = qg_json_at(machines, i);
        const char *id = qg_json_str(qg_json_get(m, "machine_id"));
        int k = machine_index(p, id);
        if (k < 0)
            continue;
        qg_json_t *owned = NULL;
        qg_error_t *err = NULL;
        const qg_json_t *job = qg_scn_section(m, "current_job", &owned, &err);
        qg_error_destroy(err); /* a current_job that is plain text names a job: no WIP */
        double rem = qg_scn_num(qg_json_get(job, "remaining_min"), NAN);
        if (rem > 0) {
            double end = qg_cal_finish(p, k, qg_cal_next_work(p, k, 0), rem);
            if (end > p->avail[k])
                p->avail[k] = end;
            p->mm[k].init_type =
                type_of(types, p->n_types, qg_json_str(qg_json_get(job, "operation_type")));
        }
        qg_json_destroy(owned);
        double upd;
        const char *lu = qg_json_str(qg_json_get(m, "last_update"));
        if (stale_after_s > 0 && lu && !qg_plant_parse_time(lu, &upd) &&
            p->as_of - upd > stale_after_s &&
            qg_warn(&p->warn, "machine %s: data last updated %s, %.1f h before asOf", id, lu,
                    (p->as_of - upd) / 3600.0) < 0)
            return qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
    }
    return NULL;
}

qg_error_t *qg_plant_apply(const qg_json_t *plant, const qg_json_t *machines, qg_fjsp_t *p,
                           char *const *types, double stale_after_s)
{
    if (qg_fjsp_enable_plant(p) < 0)
        return qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
    double age = qg_scn_num(qg_json_get(plant, "maxDataAgeMinutes"), NAN);
    if (age > 0)
        stale_after_s = age * MINUTE_S;
    qg_error_t *err = apply_calendars(qg_json_get(plant, "calendars"), p);
    if (!err)
        err = apply_setups(qg_json_get(plant, "setups"), p, types);
    if (!err)
        err = apply_breakdowns(qg_json_get(plant, "breakdowns"), p);
    if (!err)
        err = apply_yield(qg_json_get(plant, "yield"), p, types);
    if (!err)
        err = apply_machines(machines, p, types, stale_after_s);
    return err;
}

/* ---- history: the spread of the laws from actual times ---- */

typedef struct {
    double n, sum, sq;
} moments_t;

/*
 * For each (operation type, machine) with at least min_n actual times in
 * history, the law keeps its mean and takes the history's coefficient of
 * variation: normal(mean, cv * mean), cv = sample std / sample mean.
 * Returns a new durations object (or NULL: unchanged) and notes what it fitted.
 */
qg_error_t *qg_plant_fit_history(const qg_json_t *plant, const qg_json_t *durations,
                                 qg_json_t **fitted, qg_warnings_t *notes)
{
    *fitted = NULL;
    const qg_json_t *hist = qg_json_get(plant, "history");
    if (!qg_json_len(hist) || !qg_json_is(durations, QG_JSON_OBJECT))
        return NULL;
    double min_n = qg_scn_num(qg_json_get(plant, "minHistorySamples"), 10);
    if (min_n < 2)
        min_n = 2;
    qg_json_t *out = qg_json_clone(durations);
    if (!out)
        return qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
    for (size_t t = 0; t < qg_json_len(out); t++) {
        qg_json_t *row = qg_json_at(out, t);
        const char *type = qg_json_key_at(out, t);
        for (size_t m = 0; m < qg_json_len(row); m++) {
            char mach[128];
            snprintf(mach, sizeof(mach), "%s", qg_json_key_at(row, m));
            moments_t mo = {0, 0, 0};
            for (size_t i = 0; i < qg_json_len(hist); i++) {
                const qg_json_t *h = qg_json_at(hist, i);
                const char *ht = qg_json_str(qg_json_get(h, "operation_type"));
                const char *hm = qg_json_str(qg_json_get(h, "machine"));
                double v = qg_scn_num(qg_json_get(h, "actual_min"), NAN);
                if (ht && hm && !strcmp(ht, type) && !strcmp(hm, mach) && v > 0) {
                    mo.n++;
                    mo.sum += v;
                    mo.sq += v * v;
                }
            }
            if (mo.n < min_n)
                continue;
            double mean = mo.sum / mo.n;
            double var = (mo.sq - mo.n * mean * mean) / (mo.n - 1);
            double cv = var > 0 ? sqrt(var) / mean : 0;
            qg_dist_t law;
            if (qg_scn_dist(qg_json_at(row, m), &law))
                continue;
            qg_json_t *nl = qg_json_object();
            if (!nl || qg_json_set_str(nl, "distribution", "normal") < 0 ||
                qg_json_set_num(nl, "mean", law.mean) < 0 ||
                qg_json_set_num(nl, "std", cv * law.mean) < 0 || qg_json_set(row, mach, nl) < 0 ||
                qg_warn(notes, "%s on %s: std %.1f %% of the mean from %.0f recorded times", type,
                        mach, 100.0 * cv, mo.n) < 0) {
                qg_json_destroy(out);
                return qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
            }
        }
    }
    *fitted = out;
    return NULL;
}
