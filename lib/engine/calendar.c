/*
 * calendar.c - working time of a machine: its non-working spans (nights,
 * weekends, breaks, planned maintenance). Operations progress only in
 * working time; a break interrupts an operation, which resumes after it.
 */
#include <stdlib.h>

#include "engine/fjsp.h"

static int span_cmp(const void *a, const void *b)
{
    const qg_span_t *x = a, *y = b;
    return (x->s > y->s) - (x->s < y->s);
}

int qg_cal_normalize(qg_span_t *spans, int n)
{
    int w = 0;
    if (n <= 0)
        return 0;
    qsort(spans, (size_t)n, sizeof(*spans), span_cmp);
    for (int i = 0; i < n; i++) {
        if (!(spans[i].e > spans[i].s))
            continue;
        if (w > 0 && spans[i].s <= spans[w - 1].e) {
            if (spans[i].e > spans[w - 1].e)
                spans[w - 1].e = spans[i].e;
        } else {
            spans[w++] = spans[i];
        }
    }
    return w;
}

/* Index of the first span whose end is after t. */
static int first_after(const qg_calendar_t *c, double t)
{
    int lo = 0, hi = c->n_off;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (c->off[mid].e <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

double qg_cal_next_work(const qg_fjsp_t *p, int k, double t)
{
    if (!p->mm || p->mm[k].cal.n_off == 0)
        return t;
    const qg_calendar_t *c = &p->mm[k].cal;
    int i = first_after(c, t);
    if (i < c->n_off && c->off[i].s <= t)
        return c->off[i].e;
    return t;
}

double qg_cal_finish(const qg_fjsp_t *p, int k, double t, double work)
{
    if (!p->mm || p->mm[k].cal.n_off == 0)
        return t + work;
    const qg_calendar_t *c = &p->mm[k].cal;
    int i = first_after(c, t);
    if (i < c->n_off && c->off[i].s <= t)
        t = c->off[i++].e;
    while (i < c->n_off && t + work > c->off[i].s) {
        work -= c->off[i].s - t;
        t = c->off[i].e;
        i++;
    }
    return t + work;
}
