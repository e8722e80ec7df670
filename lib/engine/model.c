/*
 * model.c - the instance structure and the benchmark file parsers
 * (.fjs flexible job shop, OR-Library .txt job shop).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fjsp.h"
#include "file.h"

qg_fjsp_t *qg_fjsp_new(int n_jobs, int n_machines, int n_ops, int n_alts)
{
    if (n_jobs < 1 || n_machines < 1 || n_ops < 1 || n_alts < n_ops)
        return NULL;
    qg_fjsp_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->n_jobs = n_jobs;
    p->n_machines = n_machines;
    p->n_ops = n_ops;
    p->n_alts = n_alts;
    p->ops = calloc((size_t)n_ops, sizeof(*p->ops));
    p->alts = calloc((size_t)n_alts, sizeof(*p->alts));
    p->job_first = calloc((size_t)n_jobs + 1, sizeof(int));
    p->release = calloc((size_t)n_jobs, sizeof(double));
    p->due = malloc((size_t)n_jobs * sizeof(double));
    p->target = calloc((size_t)n_jobs, 1);
    p->avail = calloc((size_t)n_machines, sizeof(double));
    if (!p->ops || !p->alts || !p->job_first || !p->release || !p->due || !p->target || !p->avail) {
        qg_fjsp_destroy(p);
        return NULL;
    }
    for (int j = 0; j < n_jobs; j++)
        p->due[j] = -1.0;
    p->as_of = NAN;
    p->order_due = -1;
    for (int o = 0; o < n_ops; o++) {
        p->ops[o].type = -1;
        p->ops[o].units = 1.0;
        p->ops[o].yield = 1.0;
    }
    return p;
}

#define QG_FJSP_MAX_WARNINGS 64

int qg_warn(qg_warnings_t *w, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->msg[i], msg))
            return 0; /* said once */
    if (w->n >= QG_FJSP_MAX_WARNINGS)
        return 0;
    char **nw = realloc(w->msg, (size_t)(w->n + 1) * sizeof(char *));
    if (!nw)
        return -1;
    w->msg = nw;
    if (!(w->msg[w->n] = strdup(msg)))
        return -1;
    w->n++;
    return 0;
}

void qg_warnings_clear(qg_warnings_t *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->msg[i]);
    free(w->msg);
    w->msg = NULL;
    w->n = 0;
}

int qg_fjsp_enable_plant(qg_fjsp_t *p)
{
    if (p->mm)
        return 0;
    p->mm = calloc((size_t)p->n_machines, sizeof(*p->mm));
    if (!p->mm)
        return -1;
    for (int k = 0; k < p->n_machines; k++) {
        p->mm[k].init_type = -1;
        p->mm[k].mttr = qg_dist_constant(0.0);
    }
    return 0;
}

int qg_fjsp_has_plant_timing(const qg_fjsp_t *p)
{
    return p->has_calendar || p->has_setups || p->has_fixed;
}

static void free_names(char **names, int n)
{
    if (!names)
        return;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void qg_fjsp_destroy(qg_fjsp_t *p)
{
    if (!p)
        return;
    if (p->ops)
        for (int i = 0; i < p->n_ops; i++)
            free(p->ops[i].name);
    free(p->ops);
    free(p->alts);
    free(p->job_first);
    free(p->release);
    free(p->due);
    free(p->target);
    free(p->avail);
    free(p->transfer);
    free(p->transfer_dist);
    free_names(p->job_names, p->n_jobs);
    free_names(p->machine_names, p->n_machines);
    if (p->mm)
        for (int k = 0; k < p->n_machines; k++) {
            free(p->mm[k].cal.off);
            free(p->mm[k].fixed);
        }
    free(p->mm);
    free(p->setup);
    qg_warnings_clear(&p->warn);
    qg_warnings_clear(&p->fitted);
    free(p);
}

int qg_fjsp_enable_transfer(qg_fjsp_t *p)
{
    size_t n = (size_t)(p->n_machines + 1) * (size_t)(p->n_machines + 1);
    if (p->transfer)
        return 0;
    p->transfer = calloc(n, sizeof(double));
    p->transfer_dist = calloc(n, sizeof(qg_dist_t));
    if (!p->transfer || !p->transfer_dist) {
        free(p->transfer);
        free(p->transfer_dist);
        p->transfer = NULL;
        p->transfer_dist = NULL;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        p->transfer_dist[i] = qg_dist_constant(0.0);
    return 0;
}

int qg_fjsp_alt_index(const qg_fjsp_t *p, int op, int machine)
{
    for (int a = 0; a < p->ops[op].n_alt; a++)
        if (qg_fjsp_alt(p, op, a)->machine == machine)
            return a;
    return -1;
}

double qg_fjsp_lower_bound(const qg_fjsp_t *p)
{
    double sum = 0;
    for (int o = 0; o < p->n_ops; o++) {
        double best = INFINITY;
        for (int a = 0; a < p->ops[o].n_alt; a++)
            if (qg_fjsp_alt(p, o, a)->dur < best)
                best = qg_fjsp_alt(p, o, a)->dur;
        sum += best;
    }
    return sum;
}

/* ---- text parsing ---- */

#define LINE_MAX_TOKENS 4096

typedef struct {
    const char *pos;
    int lineno;
} reader_t;

/* Next non-empty line split into numbers. Returns count, 0 at EOF, -1 on a bad token. */
static int read_line(reader_t *r, double *tok, int max, char *bad, size_t badsz)
{
    while (*r->pos) {
        const char *eol = strchr(r->pos, '\n');
        const char *end = eol ? eol : r->pos + strlen(r->pos);
        int n = 0;
        const char *s = r->pos;
        r->lineno++;
        r->pos = eol ? eol + 1 : end;
        while (s < end) {
            while (s < end && isspace((unsigned char)*s))
                s++;
            if (s >= end)
                break;
            char *e;
            errno = 0;
            double v = strtod(s, &e);
            if (e == s || e > end || errno || !isfinite(v) ||
                (e < end && !isspace((unsigned char)*e))) {
                const char *t = s;
                while (t < end && !isspace((unsigned char)*t))
                    t++;
                snprintf(bad, badsz, "%.*s", (int)(t - s > 20 ? 20 : t - s), s);
                return -1;
            }
            if (n >= max) {
                snprintf(bad, badsz, "(more than %d tokens)", max);
                return -1;
            }
            tok[n++] = v;
            s = e;
        }
        if (n > 0)
            return n;
    }
    return 0;
}

static int is_int(double v, double lo, double hi)
{
    return v == floor(v) && v >= lo && v <= hi;
}

typedef struct {
    int n_ops, n_alts;
} counts_t;

/* Validate one job line of the .fjs format; count ops and alternatives. */
static qg_error_t *fjs_check_job(const double *t, int n, int m, int lineno, counts_t *c)
{
    if (!is_int(t[0], 1, 100000))
        return qg_error_new_bad_input("line %d: bad operation count", lineno);
    int ops = (int)t[0], i = 1;
    for (int o = 0; o < ops; o++) {
        if (i >= n || !is_int(t[i], 1, m))
            return qg_error_new_bad_input("line %d: operation %d: bad or missing machine count",
                                          lineno, o + 1);
        int k = (int)t[i++];
        if (i + 2 * k > n)
            return qg_error_new_bad_input("line %d: operation %d: truncated", lineno, o + 1);
        for (int a = 0; a < k; a++) {
            double mach = t[i + 2 * a], dur = t[i + 2 * a + 1];
            if (!is_int(mach, 1, m))
                return qg_error_new_bad_input("line %d: operation %d: machine %g out of 1..%d",
                                              lineno, o + 1, mach, m);
            if (!(dur > 0))
                return qg_error_new_bad_input("line %d: operation %d: duration %g not positive",
                                              lineno, o + 1, dur);
            for (int b = 0; b < a; b++)
                if (t[i + 2 * b] == mach)
                    return qg_error_new_bad_input("line %d: operation %d: machine %g repeated",
                                                  lineno, o + 1, mach);
        }
        i += 2 * k;
        c->n_alts += k;
    }
    if (i != n)
        return qg_error_new_bad_input("line %d: %d extra tokens", lineno, n - i);
    c->n_ops += ops;
    return NULL;
}

static void fjs_fill_job(qg_fjsp_t *p, int j, const double *t, int *op, int *alt)
{
    int ops = (int)t[0], i = 1;
    p->job_first[j] = *op;
    for (int o = 0; o < ops; o++, (*op)++) {
        int k = (int)t[i++];
        p->ops[*op].job = j;
        p->ops[*op].alt_off = *alt;
        p->ops[*op].n_alt = k;
        for (int a = 0; a < k; a++, (*alt)++) {
            p->alts[*alt].machine = (int)t[i + 2 * a] - 1;
            p->alts[*alt].dur = t[i + 2 * a + 1];
            p->alts[*alt].dist = qg_dist_constant(t[i + 2 * a + 1]);
        }
        i += 2 * k;
    }
}

typedef struct {
    double *tok;
    int n_jobs, n_machines;
    int *line_len;  /* token count per job line */
    double **lines; /* copies of job lines */
} parsed_t;

static void parsed_free(parsed_t *ps)
{
    if (ps->lines)
        for (int j = 0; j < ps->n_jobs; j++)
            free(ps->lines[j]);
    free(ps->lines);
    free(ps->line_len);
    free(ps->tok);
}

/* Read header and job lines into memory. */
static qg_error_t *read_lines(const char *text, int jssp, parsed_t *ps)
{
    reader_t r = {text, 0};
    char bad[64] = "";
    memset(ps, 0, sizeof(*ps));
    ps->tok = malloc(LINE_MAX_TOKENS * sizeof(double));
    if (!ps->tok)
        return qg_error_new_oom("out of memory");
    int n = read_line(&r, ps->tok, LINE_MAX_TOKENS, bad, sizeof(bad));
    if (n < 0)
        return qg_error_new_bad_input("line %d: bad token '%s'", r.lineno, bad);
    if (n < 2 || n > 3 || !is_int(ps->tok[0], 1, 100000) || !is_int(ps->tok[1], 1, 10000))
        return qg_error_new_bad_input("line %d: header must be 'jobs machines%s'", r.lineno,
                                      jssp ? "" : " [flexibility]");
    ps->n_jobs = (int)ps->tok[0];
    ps->n_machines = (int)ps->tok[1];
    ps->lines = calloc((size_t)ps->n_jobs, sizeof(double *));
    ps->line_len = calloc((size_t)ps->n_jobs, sizeof(int));
    if (!ps->lines || !ps->line_len)
        return qg_error_new_oom("out of memory");
    for (int j = 0; j < ps->n_jobs; j++) {
        n = read_line(&r, ps->tok, LINE_MAX_TOKENS, bad, sizeof(bad));
        if (n < 0)
            return qg_error_new_bad_input("line %d: bad token '%s'", r.lineno, bad);
        if (n == 0)
            return qg_error_new_bad_input("expected %d job lines, found %d", ps->n_jobs, j);
        ps->lines[j] = malloc((size_t)n * sizeof(double));
        if (!ps->lines[j])
            return qg_error_new_oom("out of memory");
        memcpy(ps->lines[j], ps->tok, (size_t)n * sizeof(double));
        ps->line_len[j] = n;
    }
    n = read_line(&r, ps->tok, LINE_MAX_TOKENS, bad, sizeof(bad));
    if (n != 0)
        return qg_error_new_bad_input("line %d: data after the last job", r.lineno);
    return NULL;
}

/* Rewrite a job-shop line (pairs machine-from-0, time) as an .fjs line. */
static qg_error_t *jssp_to_fjs(parsed_t *ps, int j, int lineno_hint)
{
    int n = ps->line_len[j], m = ps->n_machines;
    double *t = ps->lines[j];
    if (n != 2 * m)
        return qg_error_new_bad_input("job %d: expected %d numbers, found %d", lineno_hint, 2 * m,
                                      n);
    double *f = malloc((size_t)(1 + 3 * m) * sizeof(double));
    if (!f)
        return qg_error_new_oom("out of memory");
    f[0] = m;
    for (int o = 0; o < m; o++) {
        double mach = t[2 * o];
        if (!is_int(mach, 0, m - 1)) {
            free(f);
            return qg_error_new_bad_input("job %d: machine %g out of 0..%d", lineno_hint, mach,
                                          m - 1);
        }
        f[1 + 3 * o] = 1;
        f[2 + 3 * o] = mach + 1;
        f[3 + 3 * o] = t[2 * o + 1];
    }
    free(t);
    ps->lines[j] = f;
    ps->line_len[j] = 1 + 3 * m;
    return NULL;
}

static qg_error_t *build(parsed_t *ps, int jssp, qg_fjsp_t **out)
{
    counts_t c = {0, 0};
    qg_error_t *err;
    for (int j = 0; j < ps->n_jobs; j++) {
        if (jssp && (err = jssp_to_fjs(ps, j, j + 1)))
            return err;
        if ((err = fjs_check_job(ps->lines[j], ps->line_len[j], ps->n_machines, j + 2, &c)))
            return err;
    }
    qg_fjsp_t *p = qg_fjsp_new(ps->n_jobs, ps->n_machines, c.n_ops, c.n_alts);
    if (!p)
        return qg_error_new_oom("out of memory");
    int op = 0, alt = 0;
    for (int j = 0; j < ps->n_jobs; j++)
        fjs_fill_job(p, j, ps->lines[j], &op, &alt);
    p->job_first[ps->n_jobs] = op;
    *out = p;
    return NULL;
}

qg_error_t *qg_fjsp_parse_text(const char *text, int jssp, qg_fjsp_t **out)
{
    parsed_t ps;
    *out = NULL;
    if (!text)
        return qg_error_new_bad_input("no text");
    qg_error_t *err = read_lines(text, jssp, &ps);
    if (!err)
        err = build(&ps, jssp, out);
    parsed_free(&ps);
    return err;
}

static char *slurp(const char *path, qg_error_t **err)
{
    char msg[512];
    size_t len;
    char *buf = qg_file_read(path, (size_t)64 << 20, &len, NULL, msg, sizeof(msg));
    if (!buf) {
        *err = qg_error_new_bad_input("%s", msg);
        return NULL;
    }
    if (strlen(buf) != len) {
        free(buf);
        *err = qg_error_new_bad_input("%s: binary data", path);
        return NULL;
    }
    return buf;
}

qg_error_t *qg_fjsp_load_file(const char *path, qg_fjsp_t **out)
{
    qg_error_t *err = NULL;
    *out = NULL;
    char *text = slurp(path, &err);
    if (!text)
        return err;
    size_t len = strlen(path);
    int jssp = len > 4 && !strcmp(path + len - 4, ".txt");
    err = qg_fjsp_parse_text(text, jssp, out);
    free(text);
    if (err)
        return qg_error_wrap(err, "%s", path);
    return NULL;
}

/* ---- sub-instances (baseline and order under the insert policy) ---- */

static int fixed_cmp(const void *a, const void *b)
{
    const qg_fixed_t *x = a, *y = b;
    return (x->s > y->s) - (x->s < y->s);
}

static int copy_plant(const qg_fjsp_t *p, qg_fjsp_t *q)
{
    q->n_types = p->n_types;
    q->has_calendar = p->has_calendar;
    q->has_setups = p->has_setups;
    q->has_breakdowns = p->has_breakdowns;
    q->has_yield = p->has_yield;
    q->as_of = p->as_of;
    q->order_due = p->order_due;
    if (p->setup) {
        size_t n = (size_t)p->n_machines * (size_t)p->n_types * (size_t)p->n_types;
        if (!(q->setup = malloc(n * sizeof(double))))
            return -1;
        memcpy(q->setup, p->setup, n * sizeof(double));
    }
    if (!p->mm)
        return 0;
    if (qg_fjsp_enable_plant(q) < 0)
        return -1;
    for (int k = 0; k < p->n_machines; k++) {
        q->mm[k] = p->mm[k];
        q->mm[k].fixed = NULL;
        q->mm[k].n_fixed = 0;
        q->mm[k].cal.off = NULL;
        if (p->mm[k].cal.n_off) {
            size_t n = (size_t)p->mm[k].cal.n_off * sizeof(qg_span_t);
            if (!(q->mm[k].cal.off = malloc(n)))
                return -1;
            memcpy(q->mm[k].cal.off, p->mm[k].cal.off, n);
        }
    }
    return 0;
}

static int copy_jobs(const qg_fjsp_t *p, const unsigned char *keep, qg_fjsp_t *q, int *op_map)
{
    int j2 = 0, o2 = 0, a2 = 0;
    for (int j = 0; j < p->n_jobs; j++) {
        if (!keep[j])
            continue;
        q->job_first[j2] = o2;
        q->release[j2] = p->release[j];
        q->due[j2] = p->due[j];
        q->has_due |= p->due[j] >= 0;
        if (p->job_names && p->job_names[j] && !(q->job_names[j2] = strdup(p->job_names[j])))
            return -1;
        for (int o = p->job_first[j]; o < p->job_first[j + 1]; o++, o2++) {
            q->ops[o2] = p->ops[o];
            q->ops[o2].job = j2;
            q->ops[o2].alt_off = a2;
            q->ops[o2].name = NULL;
            if (p->ops[o].name && !(q->ops[o2].name = strdup(p->ops[o].name)))
                return -1;
            for (int a = 0; a < p->ops[o].n_alt; a++)
                q->alts[a2++] = *qg_fjsp_alt(p, o, a);
            op_map[o2] = o;
        }
        j2++;
    }
    q->job_first[j2] = o2;
    return 0;
}

qg_fjsp_t *qg_fjsp_subset(const qg_fjsp_t *p, const unsigned char *keep, int *op_map)
{
    int nj = 0, no = 0, na = 0;
    for (int j = 0; j < p->n_jobs; j++)
        if (keep[j]) {
            nj++;
            for (int o = p->job_first[j]; o < p->job_first[j + 1]; o++, no++)
                na += p->ops[o].n_alt;
        }
    qg_fjsp_t *q = qg_fjsp_new(nj, p->n_machines, no, na);
    if (!q)
        return NULL;
    q->job_names = calloc((size_t)nj, sizeof(char *));
    q->machine_names = calloc((size_t)p->n_machines, sizeof(char *));
    int bad = !q->job_names || !q->machine_names || copy_jobs(p, keep, q, op_map) < 0 ||
              copy_plant(p, q) < 0;
    memcpy(q->avail, p->avail, (size_t)p->n_machines * sizeof(double));
    for (int k = 0; !bad && k < p->n_machines; k++)
        if (p->machine_names && p->machine_names[k] &&
            !(q->machine_names[k] = strdup(p->machine_names[k])))
            bad = 1;
    if (!bad && p->transfer) {
        size_t n = (size_t)(p->n_machines + 1) * (size_t)(p->n_machines + 1);
        bad = qg_fjsp_enable_transfer(q) < 0;
        if (!bad) {
            memcpy(q->transfer, p->transfer, n * sizeof(double));
            memcpy(q->transfer_dist, p->transfer_dist, n * sizeof(qg_dist_t));
        }
    }
    if (bad) {
        qg_fjsp_destroy(q);
        return NULL;
    }
    return q;
}

int qg_fjsp_fix_work(qg_fjsp_t *q, const qg_fjsp_t *p, const qg_sched_t *s, const int *op_map,
                     int n_mapped)
{
    if (qg_fjsp_enable_plant(q) < 0)
        return -1;
    int *cnt = calloc((size_t)q->n_machines, sizeof(int));
    if (!cnt)
        return -1;
    for (int i = 0; i < n_mapped; i++)
        cnt[qg_fjsp_alt(p, op_map[i], s->alt[i])->machine]++;
    for (int k = 0; k < q->n_machines; k++) {
        free(q->mm[k].fixed);
        q->mm[k].n_fixed = 0;
        if (cnt[k] && !(q->mm[k].fixed = malloc((size_t)cnt[k] * sizeof(qg_fixed_t)))) {
            free(cnt);
            return -1;
        }
    }
    free(cnt);
    for (int i = 0; i < n_mapped; i++) {
        int o = op_map[i], k = qg_fjsp_alt(p, o, s->alt[i])->machine;
        q->mm[k].fixed[q->mm[k].n_fixed++] = (qg_fixed_t){s->start[i], s->end[i], p->ops[o].type};
    }
    for (int k = 0; k < q->n_machines; k++)
        if (q->mm[k].n_fixed > 1)
            qsort(q->mm[k].fixed, (size_t)q->mm[k].n_fixed, sizeof(qg_fixed_t), fixed_cmp);
    q->has_fixed = 1;
    return 0;
}
