/*
 * report.h - render an enriched goal document as one self-contained HTML page.
 *
 * The page has no scripts and loads nothing from the network (a
 * Content-Security-Policy meta tag forbids it): inline CSS and inline SVG only.
 * Sections, each rendered as "not available" when its data is missing:
 *   - summary: goal id and type, status, parameters, estimated time (human
 *     units), confidence, makespan, selected model;
 *   - the answer in words: the order policy, the promise ("x % chance to
 *     finish by <time>", or a deterministic finish time) and its basis, the
 *     existing jobs the order delays (impact), warnings, laws fitted from
 *     history;
 *   - Gantt chart of outputs.productionPlan: one row per machine and one
 *     <rect class="op"> per operation (tooltip: job, operation, times); the
 *     order's lots (order: true) in one colour with a dark outline, existing
 *     work in muted colours; non-working time (machines[].offShift) as grey
 *     gaps; machines with breakdowns (machines[].mtbfMin) marked;
 *   - bottlenecks: one bar per machine (utilization) with its figures;
 *   - distribution of the completion time: a histogram when
 *     outputs.histogram / outputs.distribution is present, else the
 *     percentiles (p10, p50, p90, ...) on a time axis with estimatedTime;
 *   - stages: executionLog.stages[] as a waterfall with duration, status,
 *     gate result and error.
 * All text from the document is HTML-escaped.
 *
 * Accepted shapes (times in seconds):
 *   productionPlan = [op, ...] | {operations: [op, ...], machines: ...}
 *                  | {machines: {<id>: [op, ...]}} | {machines: [{machine, operations: [...]}]}
 *   op = {job|jobId, operation|operationId|op, machine|machineId, start, end, type?, order?}
 *   bottlenecks = [{machine, utilization (0..1 or %), rank?, <other numbers>}]
 * Outputs are read from QueryGoal.outputs, falling back to results.simulation
 * and to the simulation stage's result in the execution log.
 */
#ifndef QG_REPORT_H
#define QG_REPORT_H

#include <stdio.h>

#include "error.h"
#include "json.h"

/** Operations drawn at most; the page says how many were left out. */
#define QG_REPORT_MAX_OPS 50000

/**
 * Write the HTML page for `doc` (a message document with "QueryGoal") to
 * `out`. Errors: bad_input when doc has no QueryGoal object; stage_error
 * when writing fails.
 */
qg_error_t *qg_report_render(const qg_json_t *doc, FILE *out);

/** Same, into a malloc'd NUL-terminated string (caller frees); *lenp optional. */
qg_error_t *qg_report_render_string(const qg_json_t *doc, char **html_out, size_t *lenp);

/** What a confidenceBasis means, in words ("" for an unknown basis). */
const char *qg_report_basis_words(const char *basis);
/** What an order policy means, in words ("" for an unknown policy). */
const char *qg_report_policy_words(const char *policy);

/** "2h 05m", "12m 30s", "45.0 s", "850 ms", "3d 4h"; "n/a" when not finite or negative. */
const char *qg_report_duration(char *buf, size_t sz, double seconds);

#endif
