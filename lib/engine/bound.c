/*
 * bound.c - a lower bound on the order's completion, for stopping the
 * optimizer when the plan it holds cannot be improved.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fjsp.h"

static int counts(const qg_fjsp_t *p, int j)
{
    return !p->has_target || p->target[j];
}

/* Earliest end of each op over its alternatives (capacity ignored); head = earliest start. */
static double chain_bound(const qg_fjsp_t *p, int j, double *head, double *e_alt, double *e_prev)
{
    int first = p->job_first[j], last = p->job_first[j + 1] - 1, n_prev = 0;
    const qg_op_t *prev = NULL;
    for (int o = first; o <= last; o++) {
        const qg_op_t *op = &p->ops[o];
        head[o] = INFINITY;
        for (int a = 0; a < op->n_alt; a++) {
            const qg_alt_t *x = qg_fjsp_alt(p, o, a);
            int k = x->machine;
            double ready = INFINITY;
            if (!prev)
                ready = p->release[j] + qg_fjsp_transfer(p, -1, k);
            for (int b = 0; prev && b < n_prev; b++) {
                double r = e_prev[b] + qg_fjsp_transfer(p, p->alts[prev->alt_off + b].machine, k);
                if (r < ready)
                    ready = r;
            }
            if (ready < p->avail[k])
                ready = p->avail[k];
            double st = qg_cal_next_work(p, k, ready);
            e_alt[a] = qg_cal_finish(p, k, st, x->dur);
            if (st < head[o])
                head[o] = st;
        }
        memcpy(e_prev, e_alt, (size_t)op->n_alt * sizeof(double));
        n_prev = op->n_alt;
        prev = op;
    }
    double best = INFINITY;
    for (int b = 0; b < n_prev; b++)
        if (e_prev[b] < best)
            best = e_prev[b];
    return best;
}

/*
 * Tails, backwards along job j: tail_alt[global alt] = shortest time from the
 * end of the op on that alternative to the end of the job (transfers and
 * the later ops' shortest durations); tail[o] = the least over o's alternatives.
 */
static void job_tails(const qg_fjsp_t *p, int j, double *tail, double *tail_alt)
{
    int first = p->job_first[j], last = p->job_first[j + 1] - 1;
    for (int o = last; o >= first; o--) {
        const qg_op_t *op = &p->ops[o];
        tail[o] = INFINITY;
        for (int a = 0; a < op->n_alt; a++) {
            double best = o == last ? 0 : INFINITY;
            int k = qg_fjsp_alt(p, o, a)->machine;
            for (int b = 0; o < last && b < p->ops[o + 1].n_alt; b++) {
                const qg_alt_t *nx = qg_fjsp_alt(p, o + 1, b);
                double t = qg_fjsp_transfer(p, k, nx->machine) + nx->dur +
                           tail_alt[p->ops[o + 1].alt_off + b];
                if (t < best)
                    best = t;
            }
            tail_alt[op->alt_off + a] = best;
            if (best < tail[o])
                tail[o] = best;
        }
    }
}

/* Working time on machine k in [a, b). */
static double work_between(const qg_fjsp_t *p, int k, double a, double b)
{
    double lo = 0, hi = b - a;
    if (hi <= 0)
        return 0;
    if (qg_cal_finish(p, k, qg_cal_next_work(p, k, a), hi) <= b)
        return hi;
    for (int it = 0; it < 50; it++) { /* bisection on the working time that fits */
        double mid = 0.5 * (lo + hi);
        if (qg_cal_finish(p, k, qg_cal_next_work(p, k, a), mid) <= b)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/*
 * End of `work` done in machine k's free working time from t (fixed work and
 * breaks skipped). A gap between fixed work with less working time than the
 * shortest operation (dmin) cannot hold any of them and counts as busy.
 */
static double free_time_finish(const qg_fjsp_t *p, int k, double t, double work, double dmin)
{
    if (!p->mm || p->mm[k].n_fixed == 0)
        return qg_cal_finish(p, k, qg_cal_next_work(p, k, t), work);
    const qg_machine_model_t *m = &p->mm[k];
    int n = m->cal.n_off + m->n_fixed;
    qg_span_t *busy = malloc((size_t)n * sizeof(*busy));
    if (!busy)
        return t + work; /* still a lower bound */
    if (m->cal.n_off)
        memcpy(busy, m->cal.off, (size_t)m->cal.n_off * sizeof(*busy));
    for (int i = 0; i < m->n_fixed; i++) {
        double e = m->fixed[i].e;
        if (i + 1 < m->n_fixed && work_between(p, k, e, m->fixed[i + 1].s) < dmin)
            e = m->fixed[i + 1].s; /* too short for any operation */
        busy[m->cal.n_off + i] = (qg_span_t){m->fixed[i].s, e};
    }
    n = qg_cal_normalize(busy, n);
    for (int i = 0; i < n && work > 0; i++) {
        if (busy[i].e <= t)
            continue;
        if (busy[i].s > t) {
            double gap = busy[i].s - t;
            if (gap >= work)
                break;
            work -= gap;
        }
        t = busy[i].e;
    }
    free(busy);
    return t + work;
}

static double machine_bound(const qg_fjsp_t *p, int k, const double *head, const double *tail)
{
    double work = 0, h = INFINITY, t = INFINITY, dmin = INFINITY;
    for (int o = 0; o < p->n_ops; o++) {
        if (p->ops[o].n_alt != 1 || qg_fjsp_alt(p, o, 0)->machine != k || !counts(p, p->ops[o].job))
            continue;
        work += qg_fjsp_alt(p, o, 0)->dur;
        if (qg_fjsp_alt(p, o, 0)->dur < dmin)
            dmin = qg_fjsp_alt(p, o, 0)->dur;
        if (head[o] < h)
            h = head[o];
        if (tail[o] < t)
            t = tail[o];
    }
    if (work <= 0)
        return 0;
    return free_time_finish(p, k, h, work, dmin) + t;
}

double qg_fjsp_target_bound(const qg_fjsp_t *p)
{
    int max_alt = 1;
    for (int o = 0; o < p->n_ops; o++)
        if (p->ops[o].n_alt > max_alt)
            max_alt = p->ops[o].n_alt;
    double *head = malloc((size_t)p->n_ops * sizeof(double));
    double *tail = malloc((size_t)p->n_ops * sizeof(double));
    double *ea = malloc((size_t)max_alt * sizeof(double));
    double *ep = malloc((size_t)max_alt * sizeof(double));
    double *tail_alt = malloc((size_t)p->n_alts * sizeof(double));
    double lb = 0;
    if (!head || !tail || !ea || !ep || !tail_alt) {
        free(head), free(tail), free(ea), free(ep), free(tail_alt);
        return 0;
    }
    for (int j = 0; j < p->n_jobs; j++) {
        double c = chain_bound(p, j, head, ea, ep);
        job_tails(p, j, tail, tail_alt);
        if (counts(p, j) && c > lb)
            lb = c;
    }
    for (int k = 0; k < p->n_machines; k++) {
        double m = machine_bound(p, k, head, tail);
        if (m > lb)
            lb = m;
    }
    free(head), free(tail), free(ea), free(ep), free(tail_alt);
    return lb;
}

/* Same routing, machines, durations and release? */
static int same_job(const qg_fjsp_t *p, int a, int b)
{
    int n = p->job_first[a + 1] - p->job_first[a];
    if (n != p->job_first[b + 1] - p->job_first[b] || p->release[a] != p->release[b])
        return 0;
    for (int i = 0; i < n; i++) {
        const qg_alt_t *x = qg_fjsp_alt(p, p->job_first[a] + i, 0);
        const qg_alt_t *y = qg_fjsp_alt(p, p->job_first[b] + i, 0);
        if (x->machine != y->machine || x->dur != y->dur)
            return 0;
    }
    return 1;
}

int qg_fjsp_no_freedom(const qg_fjsp_t *p)
{
    if (p->has_target || p->has_setups)
        return 0;
    for (int o = 0; o < p->n_ops; o++)
        if (p->ops[o].n_alt != 1)
            return 0;
    for (int j = 1; j < p->n_jobs; j++)
        if (!same_job(p, 0, j))
            return 0;
    for (int o = p->job_first[0]; o < p->job_first[1]; o++) /* one step per machine */
        for (int q = o + 1; q < p->job_first[1]; q++)
            if (qg_fjsp_alt(p, o, 0)->machine == qg_fjsp_alt(p, q, 0)->machine)
                return 0;
    return 1;
}
