/*
 * metrics.c - a bounded metrics registry and its Prometheus text rendering.
 */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind_t;

/* Histogram upper bounds in seconds: 1 ms to 10 min. */
static const double bucket_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                       1,     2.5,    5,     10,   30,    60,   120, 300,  600};
#define NBUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

typedef struct {
    char *name;
    char *help;
    metric_kind_t kind;
    char labels[QG_METRICS_MAX_LABELS];
    double value; /* counter, gauge; histogram: sum */
    unsigned long long count;
    unsigned long long buckets[NBUCKETS]; /* not cumulative */
} series_t;

struct qg_metrics_s {
    pthread_mutex_t lock;
    series_t *series;
    size_t nseries;
    double dropped;
};

qg_metrics_t *qg_metrics_new(void)
{
    qg_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->series = calloc(QG_METRICS_MAX_SERIES, sizeof(*m->series));
    if (!m->series) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void qg_metrics_destroy(qg_metrics_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nseries; i++) {
        free(m->series[i].name);
        free(m->series[i].help);
    }
    free(m->series);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static qg_metrics_t *global_registry;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    global_registry = qg_metrics_new();
}

qg_metrics_t *qg_metrics_global(void)
{
    pthread_once(&global_once, global_init);
    return global_registry;
}

const char *qg_metrics_labels(char *buf, size_t sz, ...)
{
    va_list ap;
    va_start(ap, sz);
    size_t n = 0;
    buf[0] = '\0';
    for (const char *key; (key = va_arg(ap, const char *));) {
        const char *val = va_arg(ap, const char *);
        int w = snprintf(buf + n, sz - n, "%s%s=\"", n ? "," : "", key);
        if (w < 0 || (size_t)w >= sz - n)
            break;
        n += (size_t)w;
        for (const char *c = val ? val : ""; *c && n + 3 < sz; c++) {
            if (*c == '\\' || *c == '"' || *c == '\n') {
                buf[n++] = '\\';
                buf[n++] = *c == '\n' ? 'n' : *c;
            } else {
                buf[n++] = *c;
            }
        }
        if (n + 2 > sz)
            break;
        buf[n++] = '"';
        buf[n] = '\0';
    }
    va_end(ap);
    return buf;
}

/* The series, created when missing; NULL when the registry is full. Lock held. */
static series_t *series_get(qg_metrics_t *m, const char *name, const char *help, const char *labels,
                            metric_kind_t kind)
{
    if (!labels)
        labels = "";
    for (size_t i = 0; i < m->nseries; i++)
        if (!strcmp(m->series[i].name, name) && !strcmp(m->series[i].labels, labels))
            return &m->series[i];
    if (m->nseries >= QG_METRICS_MAX_SERIES || strlen(labels) >= QG_METRICS_MAX_LABELS) {
        m->dropped += 1;
        return NULL;
    }
    series_t *s = &m->series[m->nseries];
    memset(s, 0, sizeof(*s));
    s->name = strdup(name);
    s->help = strdup(help ? help : "");
    if (!s->name || !s->help) {
        free(s->name);
        free(s->help);
        m->dropped += 1;
        return NULL;
    }
    s->kind = kind;
    snprintf(s->labels, sizeof(s->labels), "%s", labels);
    m->nseries++;
    return s;
}

void qg_metrics_counter_add(qg_metrics_t *m, const char *name, const char *help, const char *labels,
                            double v)
{
    if (!m || !(v >= 0))
        return;
    pthread_mutex_lock(&m->lock);
    series_t *s = series_get(m, name, help, labels, KIND_COUNTER);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&m->lock);
}

void qg_metrics_gauge_set(qg_metrics_t *m, const char *name, const char *help, const char *labels,
                          double v)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    series_t *s = series_get(m, name, help, labels, KIND_GAUGE);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&m->lock);
}

void qg_metrics_observe(qg_metrics_t *m, const char *name, const char *help, const char *labels,
                        double v)
{
    if (!m || isnan(v))
        return;
    pthread_mutex_lock(&m->lock);
    series_t *s = series_get(m, name, help, labels, KIND_HISTOGRAM);
    if (s) {
        size_t b = 0;
        while (b < NBUCKETS && v > bucket_bounds[b])
            b++;
        if (b < NBUCKETS)
            s->buckets[b]++;
        s->count++;
        s->value += v;
    }
    pthread_mutex_unlock(&m->lock);
}

double qg_metrics_value(qg_metrics_t *m, const char *name, const char *labels)
{
    if (!m)
        return 0;
    double v = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nseries; i++)
        if (!strcmp(m->series[i].name, name) && !strcmp(m->series[i].labels, labels ? labels : ""))
            v = m->series[i].kind == KIND_HISTOGRAM ? (double)m->series[i].count
                                                    : m->series[i].value;
    pthread_mutex_unlock(&m->lock);
    return v;
}

/* ---------- rendering ---------- */

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} out_t;

__attribute__((format(printf, 2, 3))) static void out_printf(out_t *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *nb = realloc(o->buf, cap);
        if (!nb) {
            o->failed = 1;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
}

static const char *kind_name(metric_kind_t k)
{
    return k == KIND_COUNTER ? "counter" : k == KIND_GAUGE ? "gauge" : "histogram";
}

static void render_value(out_t *o, const char *name, const char *suffix, const char *labels,
                         const char *extra, double v)
{
    int has = labels && *labels, has_extra = extra && *extra;
    out_printf(o, "%s%s%s%s%s%s%s %.17g\n", name, suffix, has || has_extra ? "{" : "",
               has ? labels : "", has && has_extra ? "," : "", has_extra ? extra : "",
               has || has_extra ? "}" : "", v);
}

static void render_series(out_t *o, const series_t *s)
{
    if (s->kind != KIND_HISTOGRAM) {
        render_value(o, s->name, "", s->labels, NULL, s->value);
        return;
    }
    unsigned long long cum = 0;
    char le[48];
    for (size_t b = 0; b < NBUCKETS; b++) {
        cum += s->buckets[b];
        snprintf(le, sizeof(le), "le=\"%g\"", bucket_bounds[b]);
        render_value(o, s->name, "_bucket", s->labels, le, (double)cum);
    }
    render_value(o, s->name, "_bucket", s->labels, "le=\"+Inf\"", (double)s->count);
    render_value(o, s->name, "_sum", s->labels, NULL, s->value);
    render_value(o, s->name, "_count", s->labels, NULL, (double)s->count);
}

static int by_name(const void *a, const void *b)
{
    const series_t *x = *(const series_t *const *)a, *y = *(const series_t *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

char *qg_metrics_render(qg_metrics_t *m, size_t *lenp)
{
    out_t o = {.cap = 4096};
    o.buf = malloc(o.cap);
    if (!m || !o.buf) {
        free(o.buf);
        return NULL;
    }
    o.buf[0] = '\0';
    pthread_mutex_lock(&m->lock);
    const series_t **order = malloc((m->nseries + 1) * sizeof(*order));
    if (!order) {
        pthread_mutex_unlock(&m->lock);
        free(o.buf);
        return NULL;
    }
    for (size_t i = 0; i < m->nseries; i++)
        order[i] = &m->series[i];
    qsort(order, m->nseries, sizeof(*order), by_name);
    for (size_t i = 0; i < m->nseries; i++) {
        if (i == 0 || strcmp(order[i]->name, order[i - 1]->name))
            out_printf(&o, "# HELP %s %s\n# TYPE %s %s\n", order[i]->name, order[i]->help,
                       order[i]->name, kind_name(order[i]->kind));
        render_series(&o, order[i]);
    }
    out_printf(&o,
               "# HELP qg_metrics_dropped_series_total Observations dropped because the registry "
               "was full.\n# TYPE qg_metrics_dropped_series_total counter\n"
               "qg_metrics_dropped_series_total %.17g\n",
               m->dropped);
    pthread_mutex_unlock(&m->lock);
    free(order);
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    if (lenp)
        *lenp = o.len;
    return o.buf;
}
