/*
 * decode.c - schedules: allocation, measures, and the insertion decoder that
 * turns (machine choice, operation sequence) into an active schedule.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fjsp.h"

qg_sched_t *qg_sched_new(int n_ops)
{
    qg_sched_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->n_ops = n_ops;
    s->alt = calloc((size_t)n_ops, sizeof(int));
    s->start = calloc((size_t)n_ops, sizeof(double));
    s->end = calloc((size_t)n_ops, sizeof(double));
    if (!s->alt || !s->start || !s->end) {
        qg_sched_destroy(s);
        return NULL;
    }
    return s;
}

void qg_sched_destroy(qg_sched_t *s)
{
    if (!s)
        return;
    free(s->alt);
    free(s->start);
    free(s->end);
    free(s);
}

void qg_sched_copy(qg_sched_t *dst, const qg_sched_t *src)
{
    size_t n = (size_t)src->n_ops;
    memcpy(dst->alt, src->alt, n * sizeof(int));
    memcpy(dst->start, src->start, n * sizeof(double));
    memcpy(dst->end, src->end, n * sizeof(double));
    dst->makespan = src->makespan;
    dst->target_end = src->target_end;
    dst->tardiness = src->tardiness;
    dst->workload = src->workload;
}

void qg_sched_measure(const qg_fjsp_t *p, qg_sched_t *s)
{
    double mk = 0, tgt = 0, tard = 0, work = 0;
    for (int o = 0; o < p->n_ops; o++) {
        if (s->end[o] > mk)
            mk = s->end[o];
        work += qg_fjsp_alt(p, o, s->alt[o])->dur;
    }
    for (int j = 0; j < p->n_jobs; j++) {
        int last = p->job_first[j + 1] - 1;
        if (last < p->job_first[j])
            continue;
        double c = s->end[last];
        if (p->target[j] && c > tgt)
            tgt = c;
        if (p->due[j] >= 0 && c > p->due[j])
            tard += c - p->due[j];
    }
    s->makespan = mk;
    s->target_end = p->has_target ? tgt : mk;
    s->tardiness = tard;
    s->workload = work;
}

/* ---- insertion decoder ---- */

typedef struct {
    double s, e;
    int type; /* operation type on the machine (setups) */
} iv_t;

struct qg_decoder_s {
    const qg_fjsp_t *p;
    iv_t **tl; /* per machine timeline, sorted */
    int *tl_len;
    int *next_op; /* per job */
};

qg_decoder_t *qg_decoder_new(const qg_fjsp_t *p)
{
    qg_decoder_t *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->p = p;
    d->tl = calloc((size_t)p->n_machines, sizeof(iv_t *));
    d->tl_len = calloc((size_t)p->n_machines, sizeof(int));
    d->next_op = calloc((size_t)p->n_jobs, sizeof(int));
    int *cap = calloc((size_t)p->n_machines, sizeof(int));
    if (!d->tl || !d->tl_len || !d->next_op || !cap) {
        free(cap);
        qg_decoder_destroy(d);
        return NULL;
    }
    for (int a = 0; a < p->n_alts; a++)
        cap[p->alts[a].machine]++;
    for (int k = 0; p->mm && k < p->n_machines; k++)
        cap[k] += p->mm[k].n_fixed;
    for (int k = 0; k < p->n_machines; k++) {
        d->tl[k] = malloc((size_t)(cap[k] + 1) * sizeof(iv_t));
        if (!d->tl[k]) {
            free(cap);
            qg_decoder_destroy(d);
            return NULL;
        }
    }
    free(cap);
    return d;
}

void qg_decoder_destroy(qg_decoder_t *d)
{
    if (!d)
        return;
    if (d->tl)
        for (int k = 0; k < d->p->n_machines; k++)
            free(d->tl[k]);
    free(d->tl);
    free(d->tl_len);
    free(d->next_op);
    free(d);
}

/* Earliest start >= ready where dur fits on machine k; *pos gets the slot index. */
static double find_gap(const qg_decoder_t *d, int k, double ready, double dur, int *pos)
{
    const iv_t *tl = d->tl[k];
    int n = d->tl_len[k];
    double t = ready;
    for (int i = 0; i < n; i++) {
        if (tl[i].e <= t)
            continue;
        if (t + dur <= tl[i].s + 1e-9) {
            *pos = i;
            return t;
        }
        if (tl[i].e > t)
            t = tl[i].e;
    }
    *pos = n;
    return t;
}

/*
 * The same with calendars, setups and fixed work: an operation placed after
 * an interval of type tp starts with the setup from tp, in working time; in a
 * gap it must end before the next interval and leave room for the next
 * interval's setup from this type. *end gets its end.
 */
static double find_gap_plant(const qg_decoder_t *d, int k, double ready, int type, double dur,
                             int *pos, double *end)
{
    const qg_fjsp_t *p = d->p;
    const iv_t *tl = d->tl[k];
    int n = d->tl_len[k], tp = p->mm ? p->mm[k].init_type : -1;
    double t = ready;
    for (int i = 0; i <= n; i++) {
        if (i < n && tl[i].e <= t) {
            tp = tl[i].type;
            continue;
        }
        double st = qg_cal_next_work(p, k, t);
        double e = qg_cal_finish(p, k, st, qg_fjsp_setup(p, k, tp, type) + dur);
        if (i == n || (e <= tl[i].s + 1e-9 &&
                       qg_fjsp_setup(p, k, type, tl[i].type) <=
                           qg_fjsp_setup(p, k, tp, tl[i].type) + (tl[i].s - e) + 1e-9)) {
            *pos = i;
            *end = e;
            return st;
        }
        if (tl[i].e > t)
            t = tl[i].e;
        tp = tl[i].type;
    }
    *pos = n; /* not reached */
    *end = t + dur;
    return t;
}

static void place(qg_decoder_t *d, int k, int pos, double s, double e, int type)
{
    iv_t *tl = d->tl[k];
    memmove(&tl[pos + 1], &tl[pos], (size_t)(d->tl_len[k] - pos) * sizeof(iv_t));
    tl[pos].s = s;
    tl[pos].e = e;
    tl[pos].type = type;
    d->tl_len[k]++;
}

/* Fixed work (the baseline under the insert policy) occupies the timelines first. */
static void place_fixed(qg_decoder_t *d)
{
    const qg_fjsp_t *p = d->p;
    for (int k = 0; p->mm && k < p->n_machines; k++)
        for (int i = 0; i < p->mm[k].n_fixed; i++) {
            const qg_fixed_t *f = &p->mm[k].fixed[i];
            d->tl[k][i] = (iv_t){f->s, f->e, f->type};
            d->tl_len[k] = i + 1;
        }
}

void qg_decode(qg_decoder_t *d, const int *alt, const int *os, qg_sched_t *out)
{
    const qg_fjsp_t *p = d->p;
    int plant = qg_fjsp_has_plant_timing(p);
    memset(d->tl_len, 0, (size_t)p->n_machines * sizeof(int));
    if (p->has_fixed)
        place_fixed(d);
    for (int j = 0; j < p->n_jobs; j++)
        d->next_op[j] = p->job_first[j];
    for (int i = 0; i < p->n_ops; i++) {
        int j = os[i];
        int o = d->next_op[j];
        if (o >= p->job_first[j + 1])
            continue; /* malformed sequence entry: ignore */
        d->next_op[j]++;
        const qg_alt_t *a = qg_fjsp_alt(p, o, alt[o]);
        int k = a->machine, pos;
        double ready;
        if (o > p->job_first[j]) {
            int pm = qg_fjsp_alt(p, o - 1, alt[o - 1])->machine;
            ready = out->end[o - 1] + qg_fjsp_transfer(p, pm, k);
        } else {
            ready = p->release[j] + qg_fjsp_transfer(p, -1, k);
        }
        if (ready < p->avail[k])
            ready = p->avail[k];
        double s, e;
        if (plant) {
            s = find_gap_plant(d, k, ready, p->ops[o].type, a->dur, &pos, &e);
        } else {
            s = find_gap(d, k, ready, a->dur, &pos);
            e = s + a->dur;
        }
        place(d, k, pos, s, e, p->ops[o].type);
        out->alt[o] = alt[o];
        out->start[o] = s;
        out->end[o] = e;
    }
    qg_sched_measure(p, out);
}

int qg_start_key_cmp(const void *a, const void *b)
{
    const qg_start_key_t *x = a, *y = b;
    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    return x->op - y->op;
}
