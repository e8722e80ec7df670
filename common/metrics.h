/*
 * metrics.h - counters, gauges and histograms rendered in the Prometheus
 * text exposition format (version 0.0.4), and a tiny HTTP listener that
 * serves them at GET /metrics.
 *
 * One registry per process (qg_metrics_global), shared by every thread: each
 * call takes a mutex. A series is a metric name plus its labels, written as
 * Prometheus label text: `stage="simulation",class="bad_input"` (build it
 * with qg_metrics_labels, which escapes the values). The registry holds at
 * most QG_METRICS_MAX_SERIES series; observations of further series are
 * dropped and counted in qg_metrics_dropped_series_total.
 *
 *   qg_metrics_counter_add(qg_metrics_global(), "qg_stage_records_total",
 *                          "Records a stage worker handled.", labels, 1);
 *   char *text = qg_metrics_render(qg_metrics_global(), &len);
 */
#ifndef QG_METRICS_H
#define QG_METRICS_H

#include <stddef.h>

#define QG_METRICS_MAX_SERIES 2048
#define QG_METRICS_MAX_LABELS 512 /* bytes of label text per series */

typedef struct qg_metrics_s qg_metrics_t;

/** The process-wide registry (created on first use; never NULL unless out of memory). */
qg_metrics_t *qg_metrics_global(void);

qg_metrics_t *qg_metrics_new(void);
void qg_metrics_destroy(qg_metrics_t *m);

/**
 * Label text from name/value pairs (NULL-terminated list: "stage", s, "class", c, NULL).
 * A NULL value is written as "". Values are escaped (backslash, quote, newline). Returns buf.
 */
const char *qg_metrics_labels(char *buf, size_t sz, ...);

/** Add `v` (>= 0) to a counter. `labels` may be NULL or "". NULL-safe on m. */
void qg_metrics_counter_add(qg_metrics_t *m, const char *name, const char *help, const char *labels,
                            double v);
/** Set a gauge. */
void qg_metrics_gauge_set(qg_metrics_t *m, const char *name, const char *help, const char *labels,
                          double v);
/** Observe a value (seconds) in a histogram with the default latency buckets (1 ms .. 10 min). */
void qg_metrics_observe(qg_metrics_t *m, const char *name, const char *help, const char *labels,
                        double v);

/** Current value of a counter or gauge series (0 when absent); for tests. */
double qg_metrics_value(qg_metrics_t *m, const char *name, const char *labels);

/**
 * The whole registry in the text format, metrics sorted by name (one HELP
 * and TYPE line each). malloc'd, NUL-terminated; *lenp optional. NULL on
 * allocation failure.
 */
char *qg_metrics_render(qg_metrics_t *m, size_t *lenp);

/* ---------- listener ---------- */

typedef struct qg_metrics_server_s qg_metrics_server_t;

/**
 * Serve GET /metrics (and GET /healthz: "ok") of `m` on `listen`
 * ("host:port", "port" or ":port"; port 0 picks a free one) from one
 * thread, one connection at a time, each bounded by a 2 s timeout.
 * NULL with errstr on a bad address or a bind failure.
 */
qg_metrics_server_t *qg_metrics_server_start(qg_metrics_t *m, const char *listen, char *errstr,
                                             size_t sz);
/** The bound port (useful with port 0). */
int qg_metrics_server_port(const qg_metrics_server_t *s);
/** Stop the thread and close the socket. NULL-safe. */
void qg_metrics_server_stop(qg_metrics_server_t *s);

#endif
