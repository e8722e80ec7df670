/*
 * verify.c - the schedule verifier: every constraint of the model, checked
 * independently of how the schedule was produced.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fjsp.h"

static const char *const viol_names[QG_VIOL__COUNT] = {
    "none",    "missing",      "eligibility", "duration", "precedence",
    "release", "availability", "overlap",     "makespan",
};

const char *qg_viol_name(qg_viol_t v)
{
    return v >= 0 && v < QG_VIOL__COUNT ? viol_names[v] : "unknown";
}

typedef struct {
    int counts[QG_VIOL__COUNT];
    int total;
    char first[256];
} report_t;

static void note(report_t *r, qg_viol_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void note(report_t *r, qg_viol_t kind, const char *fmt, ...)
{
    r->counts[kind]++;
    if (r->total++ == 0) {
        char msg[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(r->first, sizeof(r->first), "%s: %s", viol_names[kind], msg);
    }
}

static _Thread_local double abs_tol;

static double tol(double v)
{
    return 1e-6 * (fabs(v) > 1.0 ? fabs(v) : 1.0) + abs_tol;
}

/* Checks that involve one op (and its job predecessor). */
static void check_op(const qg_fjsp_t *p, const qg_sched_t *s, int o, report_t *r)
{
    int j = p->ops[o].job;
    double st = s->start[o], en = s->end[o];
    if (s->alt[o] < -1 || !isfinite(st) || !isfinite(en)) {
        note(r, QG_VIOL_MISSING, "op %d of job %d not scheduled", o, j);
        return;
    }
    if (s->alt[o] < 0 || s->alt[o] >= p->ops[o].n_alt) {
        note(r, QG_VIOL_ELIGIBILITY, "op %d of job %d on a machine not eligible", o, j);
        return;
    }
    const qg_alt_t *a = qg_fjsp_alt(p, o, s->alt[o]);
    if (en - st < a->dur - tol(a->dur))
        note(r, QG_VIOL_DURATION, "op %d of job %d lasts %g < duration %g", o, j, en - st, a->dur);
    if (st < p->avail[a->machine] - tol(st))
        note(r, QG_VIOL_AVAILABILITY, "op %d on machine %d starts at %g before %g", o, a->machine,
             st, p->avail[a->machine]);
    double ready;
    if (o > p->job_first[j]) {
        if (s->alt[o - 1] < 0 || s->alt[o - 1] >= p->ops[o - 1].n_alt)
            return;
        int pm = qg_fjsp_alt(p, o - 1, s->alt[o - 1])->machine;
        ready = s->end[o - 1] + qg_fjsp_transfer(p, pm, a->machine);
        if (st < ready - tol(ready))
            note(r, QG_VIOL_PRECEDENCE, "op %d of job %d starts at %g before %g", o, j, st, ready);
    } else {
        ready = p->release[j] + qg_fjsp_transfer(p, -1, a->machine);
        if (st < ready - tol(ready))
            note(r, QG_VIOL_RELEASE, "op %d of job %d starts at %g before release %g", o, j, st,
                 ready);
    }
}

typedef struct {
    double s, e;
    int op;
} slot_t;

static int slot_cmp(const void *a, const void *b)
{
    const slot_t *x = a, *y = b;
    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    if (x->e != y->e)
        return x->e < y->e ? -1 : 1;
    return x->op - y->op;
}

static int check_overlap(const qg_fjsp_t *p, const qg_sched_t *s, report_t *r)
{
    slot_t *sl = malloc((size_t)p->n_ops * sizeof(*sl));
    int *cnt = calloc((size_t)p->n_machines + 1, sizeof(int));
    if (!sl || !cnt) {
        free(sl);
        free(cnt);
        return -1;
    }
    for (int o = 0; o < p->n_ops; o++)
        if (s->alt[o] >= 0 && s->alt[o] < p->ops[o].n_alt)
            cnt[qg_fjsp_alt(p, o, s->alt[o])->machine + 1]++;
    for (int k = 0; k < p->n_machines; k++)
        cnt[k + 1] += cnt[k];
    int *fill = calloc((size_t)p->n_machines, sizeof(int));
    if (!fill) {
        free(sl);
        free(cnt);
        return -1;
    }
    for (int o = 0; o < p->n_ops; o++) {
        if (s->alt[o] < 0 || s->alt[o] >= p->ops[o].n_alt || !isfinite(s->start[o]))
            continue;
        int k = qg_fjsp_alt(p, o, s->alt[o])->machine;
        sl[cnt[k] + fill[k]++] = (slot_t){s->start[o], s->end[o], o};
    }
    for (int k = 0; k < p->n_machines; k++) {
        slot_t *m = sl + cnt[k];
        qsort(m, (size_t)fill[k], sizeof(*m), slot_cmp);
        for (int i = 1; i < fill[k]; i++)
            if (m[i].s < m[i - 1].e - tol(m[i].s))
                note(r, QG_VIOL_OVERLAP, "ops %d and %d overlap on machine %d at %g", m[i - 1].op,
                     m[i].op, k, m[i].s);
    }
    free(fill);
    free(sl);
    free(cnt);
    return 0;
}

qg_error_t *qg_sched_verify(const qg_fjsp_t *p, const qg_sched_t *s, int *counts)
{
    return qg_sched_verify_tol(p, s, counts, 0.0);
}

qg_error_t *qg_sched_verify_tol(const qg_fjsp_t *p, const qg_sched_t *s, int *counts,
                                double tolerance)
{
    report_t r;
    abs_tol = tolerance > 0 ? tolerance : 0.0;
    memset(&r, 0, sizeof(r));
    if (!p || !s || s->n_ops != p->n_ops)
        return qg_error_new_gate_failed("schedule does not match the instance");
    double mk = 0;
    for (int o = 0; o < p->n_ops; o++) {
        check_op(p, s, o, &r);
        if (isfinite(s->end[o]) && s->end[o] > mk)
            mk = s->end[o];
    }
    if (check_overlap(p, s, &r) < 0)
        return qg_error_new_oom("verifier: out of memory");
    if (fabs(s->makespan - mk) > tol(mk))
        note(&r, QG_VIOL_MAKESPAN, "reported makespan %g but the last op ends at %g", s->makespan,
             mk);
    if (counts)
        memcpy(counts, r.counts, sizeof(r.counts));
    if (r.total == 0)
        return NULL;
    return qg_error_new_gate_failed("schedule invalid: %d violation%s, first: %s", r.total,
                                    r.total == 1 ? "" : "s", r.first);
}
