/*
 * stats.c - latency samples and percentiles.
 */
#include <math.h>
#include <stdlib.h>

#include "array.h"
#include "loadgen.h"

int lg_stats_add(lg_stats_t *s, double x)
{
    double *v = qg_array_grow(s->v, &s->cap, s->n + 1, sizeof(*v), 1024);
    if (!v)
        return -1;
    s->v = v;
    s->v[s->n++] = x;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double lg_stats_pct(lg_stats_t *s, double p)
{
    if (s->n == 0)
        return NAN;
    qsort(s->v, s->n, sizeof(*s->v), cmp_double);
    /* Nearest rank. */
    size_t rank = (size_t)ceil(p / 100.0 * (double)s->n);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1];
}

void lg_stats_free(lg_stats_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
