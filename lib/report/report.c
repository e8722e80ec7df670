/*
 * report.c - an enriched goal as one self-contained HTML page (inline CSS + SVG).
 *
 * Everything is written straight to a FILE; the string variant uses
 * open_memstream. Missing parts render as "not available"; nothing in the
 * document can make the renderer fail except a missing QueryGoal.
 */
#include "array.h"
#include "report.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "goal.h"

#define GANTT_W       1000.0 /* plot width in px */
#define GANTT_LABEL_W 110.0
#define GANTT_ROW_H   26.0
#define GANTT_BAR_H   18.0
#define MAX_MACHINES  512
#define MAX_BINS      2000
#define NAME_MAX_LEN  64

typedef struct {
    char job[NAME_MAX_LEN], operation[NAME_MAX_LEN], machine[NAME_MAX_LEN], type[NAME_MAX_LEN];
    double start, end;
    int order, first_of_job;
    size_t row, color;
} rop_t;

typedef struct {
    rop_t *ops;
    size_t n, cap, skipped, dropped;
    char (*machines)[NAME_MAX_LEN];
    size_t nmachines;
    double tmin, tmax;
    int oom;
    int has_order; /* some operation belongs to the order: draw it apart */
} plan_t;

typedef struct {
    FILE *f;
    const qg_json_t *doc, *q, *outputs;
} rctx_t;

static const char *const PALETTE[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                      "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                                      "#9c755f", "#86bcb6", "#d37295", "#8cd17d"};
#define NCOLORS (sizeof(PALETTE) / sizeof(PALETTE[0]))

/* ================= text helpers ================= */

/* HTML-escape s (at most max bytes, cut on a character boundary). */
static void escn(FILE *f, const char *s, size_t max)
{
    if (!s)
        return;
    size_t n = strlen(s);
    if (n > max) {
        while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
            max--;
        n = max;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F ? ' ' : c, f);
            break;
        }
    }
    if (n < strlen(s))
        fputs("\xe2\x80\xa6", f); /* ellipsis */
}

static void esc(FILE *f, const char *s)
{
    escn(f, s, 4096);
}

static int finite_num(const qg_json_t *v, double *out)
{
    if (qg_json_is(v, QG_JSON_NUMBER)) {
        *out = qg_json_num(v, NAN);
        return isfinite(*out);
    }
    const char *s = qg_json_str(v);
    if (!s || !*s)
        return 0;
    char *end = NULL;
    *out = strtod(s, &end);
    return end && *end == '\0' && isfinite(*out);
}

/* A time in seconds the charts can place: finite and within +-1e12 s. */
static int finite_time(const qg_json_t *v, double *out)
{
    return finite_num(v, out) && fabs(*out) <= 1e12;
}

/* Scalar as text: strings as they are, numbers compactly, bools spelled. */
static const char *scalar_text(const qg_json_t *v, char *buf, size_t sz)
{
    double d = 0;
    switch (qg_json_type(v)) {
    case QG_JSON_STRING:
        snprintf(buf, sz, "%s", qg_json_str(v));
        break;
    case QG_JSON_NUMBER:
        if (finite_num(v, &d))
            snprintf(buf, sz, "%.15g", d);
        else
            snprintf(buf, sz, "n/a");
        break;
    case QG_JSON_BOOL:
        snprintf(buf, sz, "%s", qg_json_truthy(v) ? "true" : "false");
        break;
    default:
        buf[0] = '\0';
        break;
    }
    return buf;
}

static const qg_json_t *first_of(const qg_json_t *obj, const char *const *names)
{
    for (; *names; names++) {
        const qg_json_t *v = qg_json_get(obj, *names);
        if (v && !qg_json_is(v, QG_JSON_NULL))
            return v;
    }
    return NULL;
}

const char *qg_report_duration(char *buf, size_t sz, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, sz, "n/a");
    else if (s == 0)
        snprintf(buf, sz, "0 s");
    else if (s < 1)
        snprintf(buf, sz, "%.0f ms", s * 1000);
    else if (s < 60)
        snprintf(buf, sz, "%.1f s", s);
    else if (s < 3600)
        snprintf(buf, sz, "%dm %02ds", (int)(s / 60), (int)fmod(s, 60));
    else if (s < 86400)
        snprintf(buf, sz, "%dh %02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else if (s < 1e9)
        snprintf(buf, sz, "%dd %dh", (int)(s / 86400), (int)fmod(s / 3600, 24));
    else
        snprintf(buf, sz, "%.3g s", s);
    return buf;
}

static void not_available(FILE *f, const char *what)
{
    fputs("<p class=\"na\">", f);
    esc(f, what);
    fputs(": not available</p>\n", f);
}

/* Natural order: "M2" < "M10". */
static int natcmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            char *ea, *eb;
            unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
            if (x != y)
                return x < y ? -1 : 1;
            a = ea;
            b = eb;
        } else if (*a != *b) {
            return (unsigned char)*a - (unsigned char)*b;
        } else {
            a++, b++;
        }
    }
    return (unsigned char)*a - (unsigned char)*b;
}

/* ================= where the outputs are ================= */

static const qg_json_t *find_output(const rctx_t *rc, const char *key)
{
    const qg_json_t *v = qg_json_get(rc->outputs, key);
    if (!v)
        v = qg_json_get(qg_json_path(rc->doc, "results.simulation"), key);
    if (!v)
        v = qg_json_get(qg_goal_stage_result(rc->doc, "simulation"), key);
    return v && !qg_json_is(v, QG_JSON_NULL) ? v : NULL;
}

/*
 * Show a part of the page when its data is there, or when the goal asks for
 * it in outputSpec (or has no outputSpec): a goal1 query has no plan to miss.
 */
static int show_part(const rctx_t *rc, const char *const *names)
{
    const qg_json_t *spec = qg_json_get(rc->q, "outputSpec");
    if (!qg_json_is(spec, QG_JSON_ARRAY))
        return 1;
    for (; *names; names++) {
        if (find_output(rc, *names))
            return 1;
        for (size_t i = 0; i < qg_json_len(spec); i++) {
            const qg_json_t *e = qg_json_at(spec, i);
            const char *n = qg_json_str(e) ? qg_json_str(e) : qg_json_str(qg_json_get(e, "name"));
            if (n && strcmp(n, *names) == 0)
                return 1;
        }
    }
    return 0;
}

static const char *const PART_PLAN[] = {"productionPlan", NULL};
static const char *const PART_BOTTLENECKS[] = {"bottlenecks", NULL};
static const char *const PART_DISTRIBUTION[] = {"estimatedTime", "percentiles", "histogram",
                                                "distribution", NULL};
static const char *const PART_ESTIMATE[] = {"estimatedTime", NULL};
static const char *const PART_CONFIDENCE[] = {"confidence", NULL};
static const char *const PART_MAKESPAN[] = {"makespan", "productionPlan", NULL};

/* ================= production plan ================= */

static const char *const K_JOB[] = {"job", "jobId", "job_id", "lot", NULL};
static const char *const K_OP[] = {"operation", "operationId", "operation_id", "op", "step", NULL};
static const char *const K_MACHINE[] = {"machine", "machineId", "machine_id", "resource", NULL};
static const char *const K_START[] = {"start", "startTime", "start_time", "begin", NULL};
static const char *const K_END[] = {"end", "endTime", "end_time", "finish", NULL};
static const char *const K_TYPE[] = {"type", "operationType", "operation_type", NULL};

static size_t machine_row(plan_t *p, const char *m)
{
    for (size_t i = 0; i < p->nmachines; i++)
        if (strcmp(p->machines[i], m) == 0)
            return i;
    if (p->nmachines >= MAX_MACHINES)
        return SIZE_MAX;
    if (p->nmachines % 16 == 0) {
        void *nm = realloc(p->machines, (p->nmachines + 16) * sizeof(*p->machines));
        if (!nm) {
            p->oom = 1;
            return SIZE_MAX;
        }
        p->machines = nm;
    }
    snprintf(p->machines[p->nmachines], NAME_MAX_LEN, "%s", m);
    return p->nmachines++;
}

static rop_t *plan_push(plan_t *p)
{
    if (p->n >= QG_REPORT_MAX_OPS) {
        p->dropped++;
        return NULL;
    }
    void *ops = qg_array_grow(p->ops, &p->cap, p->n + 1, sizeof(*p->ops), 64);
    if (!ops) {
        p->oom = 1;
        return NULL;
    }
    p->ops = ops;
    return &p->ops[p->n++];
}

static void plan_add(plan_t *p, const qg_json_t *o, const char *machine_dflt)
{
    double s, e;
    char mbuf[NAME_MAX_LEN];
    const char *m = scalar_text(first_of(o, K_MACHINE), mbuf, sizeof(mbuf));
    if (!*m && machine_dflt)
        m = machine_dflt;
    if (!qg_json_is(o, QG_JSON_OBJECT) || !finite_time(first_of(o, K_START), &s) ||
        !finite_time(first_of(o, K_END), &e) || e < s || !*m) {
        p->skipped++;
        return;
    }
    size_t row = machine_row(p, m);
    rop_t *op = row == SIZE_MAX ? NULL : plan_push(p);
    if (!op) {
        p->skipped += row == SIZE_MAX;
        return;
    }
    memset(op, 0, sizeof(*op));
    snprintf(op->machine, sizeof(op->machine), "%s", m);
    scalar_text(first_of(o, K_JOB), op->job, sizeof(op->job));
    scalar_text(first_of(o, K_OP), op->operation, sizeof(op->operation));
    scalar_text(first_of(o, K_TYPE), op->type, sizeof(op->type));
    op->start = s;
    op->end = e;
    op->row = row;
    op->order =
        qg_json_truthy(qg_json_get(o, "order")) || qg_json_truthy(qg_json_get(o, "isOrder"));
}

static void plan_add_list(plan_t *p, const qg_json_t *arr, const char *machine_dflt)
{
    for (size_t i = 0; i < qg_json_len(arr) && !p->oom; i++)
        plan_add(p, qg_json_at(arr, i), machine_dflt);
}

/* Collect operations from any accepted productionPlan shape. */
static void plan_collect(plan_t *p, const qg_json_t *plan)
{
    if (qg_json_is(plan, QG_JSON_ARRAY)) {
        plan_add_list(p, plan, NULL);
        return;
    }
    const qg_json_t *ops = qg_json_get(plan, "operations");
    if (qg_json_is(ops, QG_JSON_ARRAY)) {
        plan_add_list(p, ops, NULL);
        return;
    }
    const qg_json_t *ms = qg_json_get(plan, "machines");
    for (size_t i = 0; i < qg_json_len(ms) && !p->oom; i++) {
        const qg_json_t *m = qg_json_at(ms, i);
        if (qg_json_is(ms, QG_JSON_OBJECT)) {
            plan_add_list(p, qg_json_is(m, QG_JSON_ARRAY) ? m : qg_json_get(m, "operations"),
                          qg_json_key_at(ms, i));
        } else {
            char mb[NAME_MAX_LEN];
            const char *name = scalar_text(first_of(m, K_MACHINE), mb, sizeof(mb));
            plan_add_list(p, qg_json_get(m, "operations"), *name ? name : NULL);
        }
    }
}

static int cmp_machine_names(const void *a, const void *b)
{
    return natcmp((const char *)a, (const char *)b);
}

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* One colour per job, in order of first appearance (a hash set of job names). */
static void assign_colors(plan_t *p)
{
    size_t cap = 64;
    while (cap < p->n * 2)
        cap <<= 1;
    rop_t **set = calloc(cap, sizeof(*set));
    size_t next = 0;
    for (size_t i = 0; i < p->n; i++) {
        rop_t *op = &p->ops[i];
        if (!set) { /* no memory: one colour, every op its own legend entry */
            op->color = 0;
            op->first_of_job = i < 24;
            continue;
        }
        size_t h = hash_str(op->job) & (cap - 1);
        while (set[h] && strcmp(set[h]->job, op->job) != 0)
            h = (h + 1) & (cap - 1);
        if (!set[h]) {
            set[h] = op;
            op->color = next++;
            op->first_of_job = 1;
        } else {
            op->color = set[h]->color;
        }
    }
    free(set);
}

/* Sort machine rows naturally, remap rows, assign job colours, find the time range. */
static void plan_finish(plan_t *p)
{
    char(*sorted)[NAME_MAX_LEN] = malloc(p->nmachines * sizeof(*sorted) + 1);
    if (sorted) {
        memcpy(sorted, p->machines, p->nmachines * sizeof(*sorted));
        qsort(sorted, p->nmachines, sizeof(*sorted), cmp_machine_names);
        for (size_t i = 0; i < p->n; i++)
            for (size_t r = 0; r < p->nmachines; r++)
                if (strcmp(sorted[r], p->ops[i].machine) == 0) {
                    p->ops[i].row = r;
                    break;
                }
        free(p->machines);
        p->machines = sorted;
    }
    p->tmin = 0;
    p->tmax = 0;
    for (size_t i = 0; i < p->n; i++) {
        p->tmin = fmin(p->tmin, p->ops[i].start);
        p->tmax = fmax(p->tmax, p->ops[i].end);
        p->has_order |= p->ops[i].order;
    }
    assign_colors(p);
}

static void plan_free(plan_t *p)
{
    free(p->ops);
    free(p->machines);
}

/* ================= axis ================= */

static double nice_step(double range)
{
    static const double steps[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,  0.1,   0.2,   0.5,
                                   1,     2,     5,     10,   15,   30,    60,    120,   300,
                                   600,   900,   1800,  3600, 7200, 10800, 21600, 43200, 86400};
    double raw = range / 8;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (steps[i] >= raw)
            return steps[i];
    return ceil(raw / 86400) * 86400;
}

/* Vertical grid lines with duration labels between t0 and t1. */
static void svg_time_axis(FILE *f, double t0, double t1, double x0, double w, double y_top,
                          double y_bottom)
{
    if (!(t1 > t0) || !isfinite(t1 - t0))
        return;
    double step = nice_step(t1 - t0);
    char b[32];
    for (double t = ceil(t0 / step) * step; t <= t1 + step * 1e-9; t += step) {
        double x = x0 + (t - t0) / (t1 - t0) * w;
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x,
                y_top, x, y_bottom);
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                x, y_bottom + 14, t < 0 ? "-" : qg_report_duration(b, sizeof(b), fabs(t)));
    }
}

/* ================= sections ================= */

static void section_start(FILE *f, const char *id, const char *title)
{
    fprintf(f, "<section id=\"%s\"><h2>", id);
    esc(f, title);
    fputs("</h2>\n", f);
}

#define ORDER_COLOR "#e8710a"

static void gantt_op(FILE *f, const rop_t *op, double t0, double scale, int has_order)
{
    double x = GANTT_LABEL_W + (op->start - t0) * scale;
    double w = fmax((op->end - op->start) * scale, 0.75);
    double y = 20 + (double)op->row * GANTT_ROW_H + (GANTT_ROW_H - GANTT_BAR_H) / 2;
    char b1[32], b2[32], b3[32];
    fprintf(f,
            "<rect class=\"op%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
            "fill=\"%s\"",
            has_order && !op->order ? " existing" : "", x, y, w, GANTT_BAR_H,
            has_order && op->order ? ORDER_COLOR : PALETTE[op->color % NCOLORS]);
    fprintf(f, "%s data-job=\"", op->order ? " data-order=\"1\"" : "");
    esc(f, op->job);
    fputs("\"><title>", f);
    esc(f, *op->job ? op->job : "?");
    fputs(" \xc2\xb7 ", f);
    esc(f, *op->operation ? op->operation : "?");
    if (*op->type) {
        fputs(" (", f);
        esc(f, op->type);
        fputc(')', f);
    }
    fputs(" on ", f);
    esc(f, op->machine);
    fprintf(f, ": %s \xe2\x80\x93 %s (%s)</title></rect>\n",
            qg_report_duration(b1, sizeof(b1), op->start - t0),
            qg_report_duration(b2, sizeof(b2), op->end - t0),
            qg_report_duration(b3, sizeof(b3), op->end - op->start));
    if (w > 7.0 * (double)strlen(op->job) + 6) {
        fprintf(f, "<text class=\"oplbl\" x=\"%.1f\" y=\"%.1f\">", x + 3, y + GANTT_BAR_H - 5);
        esc(f, op->job);
        fputs("</text>\n", f);
    }
}

static void gantt_marker(FILE *f, const rctx_t *rc, double t0, double scale, double height)
{
    double est;
    if (!finite_time(find_output(rc, "estimatedTime"), &est))
        return;
    double x = GANTT_LABEL_W + (est - t0) * scale;
    if (x < GANTT_LABEL_W || x > GANTT_LABEL_W + GANTT_W + 0.5)
        return;
    fprintf(f, "<line class=\"marker\" x1=\"%.1f\" y1=\"12\" x2=\"%.1f\" y2=\"%.1f\"/>", x, x,
            height);
    fprintf(f,
            "<text class=\"mlbl\" x=\"%.1f\" y=\"10\" text-anchor=\"middle\">estimated "
            "completion</text>\n",
            x);
}

/* The engine's entry for machine `name` in productionPlan.machines, or NULL. */
static const qg_json_t *plan_machine(const rctx_t *rc, const char *name)
{
    const qg_json_t *ms = qg_json_get(find_output(rc, "productionPlan"), "machines");
    for (size_t i = 0; qg_json_is(ms, QG_JSON_ARRAY) && i < qg_json_len(ms); i++) {
        const char *m = qg_json_str(qg_json_get(qg_json_at(ms, i), "machine"));
        if (m && !strcmp(m, name))
            return qg_json_at(ms, i);
    }
    return NULL;
}

/* A warning sign and its explanation after the label of a machine that breaks down. */
static void breakdown_mark(FILE *f, const rctx_t *rc, const char *machine)
{
    const qg_json_t *m = plan_machine(rc, machine);
    double mtbf, mttr;
    if (!finite_num(qg_json_get(m, "mtbfMin"), &mtbf))
        return;
    if (!finite_num(qg_json_get(m, "mttrMeanMin"), &mttr))
        mttr = NAN;
    fprintf(f,
            "<tspan class=\"risk\"> \xe2\x9a\xa0<title>breakdowns: one every %.0f min of work "
            "on average, repairs %.0f min on average</title></tspan>",
            mtbf, mttr);
}

/* Non-working time (calendar gaps) as grey blocks behind the operations. */
static void gantt_off_shift(FILE *f, const rctx_t *rc, const plan_t *p, double scale)
{
    for (size_t r = 0; r < p->nmachines; r++) {
        const qg_json_t *off = qg_json_get(plan_machine(rc, p->machines[r]), "offShift");
        double y = 20 + (double)r * GANTT_ROW_H;
        for (size_t i = 0; i < qg_json_len(off) && i < 2000; i++) {
            double a, b;
            if (!finite_num(qg_json_at(qg_json_at(off, i), 0), &a) ||
                !finite_num(qg_json_at(qg_json_at(off, i), 1), &b))
                continue;
            a = fmax(a, p->tmin);
            b = fmin(b, p->tmax);
            if (b <= a)
                continue;
            fprintf(f,
                    "<rect class=\"off\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\">"
                    "<title>not working</title></rect>",
                    GANTT_LABEL_W + (a - p->tmin) * scale, y, (b - a) * scale, GANTT_ROW_H);
        }
    }
}

static void gantt_svg(FILE *f, const rctx_t *rc, const plan_t *p)
{
    double span = p->tmax - p->tmin > 0 ? p->tmax - p->tmin : 1;
    double scale = GANTT_W / span;
    double rows_h = (double)p->nmachines * GANTT_ROW_H;
    fprintf(f,
            "<svg class=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"Gantt chart\">\n",
            GANTT_LABEL_W + GANTT_W + 30, rows_h + 50, GANTT_LABEL_W + GANTT_W + 30, rows_h + 50);
    for (size_t r = 0; r < p->nmachines; r++) {
        double y = 20 + (double)r * GANTT_ROW_H;
        fprintf(f, "<rect class=\"lane%s\" x=\"%.0f\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\"/>",
                r % 2 ? " odd" : "", GANTT_LABEL_W, y, GANTT_W, GANTT_ROW_H);
        fprintf(f, "<text class=\"lbl\" x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">",
                GANTT_LABEL_W - 8, y + GANTT_ROW_H / 2 + 4);
        escn(f, p->machines[r], 14);
        breakdown_mark(f, rc, p->machines[r]);
        fputs("</text>\n", f);
    }
    svg_time_axis(f, p->tmin, p->tmin + span, GANTT_LABEL_W, GANTT_W, 20, 20 + rows_h);
    gantt_off_shift(f, rc, p, scale);
    for (size_t i = 0; i < p->n; i++)
        gantt_op(f, &p->ops[i], p->tmin, scale, p->has_order);
    gantt_marker(f, rc, p->tmin, scale, 20 + rows_h);
    fputs("</svg>\n", f);
}

static void gantt_legend(FILE *f, const plan_t *p)
{
    size_t shown = 0;
    fputs("<p class=\"legend\">", f);
    if (p->has_order) { /* the order apart from existing work */
        fputs("<span><i style=\"background:" ORDER_COLOR "\"></i>the order's lots</span> "
              "<span><i class=\"existing\"></i>existing work (kept as planned)</span> "
              "<span><i class=\"offkey\"></i>not working</span></p>\n",
              f);
        return;
    }
    for (size_t i = 0; i < p->n && shown < 24; i++) {
        if (!p->ops[i].first_of_job)
            continue;
        fprintf(f, "<span><i style=\"background:%s\"></i>", PALETTE[p->ops[i].color % NCOLORS]);
        esc(f, *p->ops[i].job ? p->ops[i].job : "?");
        fputs("</span> ", f);
        shown++;
    }
    if (shown == 24)
        fputs("<span>\xe2\x80\xa6 (colours repeat)</span>", f);
    fputs("</p>\n", f);
}

static void section_gantt(const rctx_t *rc)
{
    FILE *f = rc->f;
    if (!show_part(rc, PART_PLAN))
        return;
    section_start(f, "plan", "Production plan");
    const qg_json_t *plan = find_output(rc, "productionPlan");
    plan_t p = {0};
    plan_collect(&p, plan);
    if (p.n == 0 || p.oom) {
        not_available(f, p.oom ? "Production plan (out of memory)" : "Production plan");
    } else {
        plan_finish(&p);
        char b[32];
        fprintf(f, "<p>%zu operations on %zu machines, from %s to %s.", p.n, p.nmachines,
                p.tmin < 0 ? "before now" : "now", qg_report_duration(b, sizeof(b), p.tmax));
        if (p.skipped)
            fprintf(f, " %zu entries without machine, start and end were left out.", p.skipped);
        if (p.dropped)
            fprintf(f, " Only the first %d operations are drawn (%zu more).", QG_REPORT_MAX_OPS,
                    p.dropped);
        fputs("</p>\n<div class=\"scroll\">", f);
        gantt_svg(f, rc, &p);
        fputs("</div>\n", f);
        gantt_legend(f, &p);
    }
    plan_free(&p);
    fputs("</section>\n", f);
}

/* ---------- bottlenecks ---------- */

static double utilization_of(const qg_json_t *b)
{
    static const char *const keys[] = {"utilization", "utilisation", "load", "busy", NULL};
    double u;
    if (!finite_num(first_of(b, keys), &u) || u < 0)
        return NAN;
    return u > 1.0 ? u / 100.0 : u;
}

static int is_time_key(const char *k)
{
    static const char *const parts[] = {"wait",  "time", "busy", "idle",
                                        "delay", "Time", "Wait", NULL};
    for (size_t i = 0; parts[i]; i++)
        if (strstr(k, parts[i]))
            return 1;
    return 0;
}

static void bottleneck_figures(FILE *f, const qg_json_t *b)
{
    for (size_t i = 0; i < qg_json_len(b); i++) {
        const char *k = qg_json_key_at(b, i);
        double v;
        char buf[48];
        if (strcmp(k, "utilization") == 0 || strcmp(k, "rank") == 0 ||
            !finite_num(qg_json_at(b, i), &v))
            continue;
        fputs("<span class=\"fig\">", f);
        esc(f, k);
        fputs(": ", f);
        if (is_time_key(k))
            qg_report_duration(buf, sizeof(buf), v);
        else
            snprintf(buf, sizeof(buf), "%.4g", v);
        esc(f, buf);
        fputs("</span> ", f);
    }
}

static void bottleneck_row(FILE *f, const qg_json_t *b, size_t i)
{
    char mb[NAME_MAX_LEN], rb[16];
    double u = utilization_of(b), rank;
    const char *m = scalar_text(first_of(b, K_MACHINE), mb, sizeof(mb));
    snprintf(rb, sizeof(rb), "%zu", i + 1);
    if (finite_num(qg_json_get(b, "rank"), &rank))
        snprintf(rb, sizeof(rb), "%.0f", rank);
    fputs("<tr><td>", f);
    esc(f, rb);
    fputs("</td><td>", f);
    esc(f, *m ? m : "?");
    fputs("</td><td>", f);
    if (isfinite(u))
        fprintf(f,
                "<svg class=\"bneck\" xmlns=\"http://www.w3.org/2000/svg\" width=\"320\" "
                "height=\"18\"><rect class=\"track\" x=\"0\" y=\"2\" width=\"260\" height=\"14\"/>"
                "<rect class=\"bn\" x=\"0\" y=\"2\" width=\"%.1f\" height=\"14\"/>"
                "<text class=\"tick\" x=\"266\" y=\"14\">%.0f%%</text></svg>",
                260 * fmin(u, 1.0), u * 100);
    else
        fputs("n/a", f);
    fputs("</td><td>", f);
    bottleneck_figures(f, b);
    fputs("</td></tr>\n", f);
}

static void section_bottlenecks(const rctx_t *rc)
{
    FILE *f = rc->f;
    if (!show_part(rc, PART_BOTTLENECKS))
        return;
    section_start(f, "bottlenecks", "Bottlenecks");
    const qg_json_t *bn = find_output(rc, "bottlenecks");
    size_t n = 0;
    for (size_t i = 0; i < qg_json_len(bn); i++)
        n += qg_json_is(qg_json_at(bn, i), QG_JSON_OBJECT);
    if (!qg_json_is(bn, QG_JSON_ARRAY) || n == 0) {
        not_available(f, "Bottlenecks");
    } else {
        fputs("<table><tr><th>rank</th><th>machine</th><th>utilization</th><th>figures</th></tr>\n",
              f);
        for (size_t i = 0; i < qg_json_len(bn) && i < 200; i++)
            if (qg_json_is(qg_json_at(bn, i), QG_JSON_OBJECT))
                bottleneck_row(f, qg_json_at(bn, i), i);
        fputs("</table>\n", f);
    }
    fputs("</section>\n", f);
}

/* ---------- distribution ---------- */

typedef struct {
    double lo[MAX_BINS], hi[MAX_BINS], count[MAX_BINS];
    size_t n;
} hist_t;

static void hist_from_objects(hist_t *h, const qg_json_t *arr)
{
    static const char *const K_LO[] = {"from", "lo", "low", "start", "min", "x0", NULL};
    static const char *const K_HI[] = {"to", "hi", "high", "end", "max", "x1", NULL};
    static const char *const K_N[] = {"count", "n", "frequency", "freq", "value", NULL};
    for (size_t i = 0; i < qg_json_len(arr) && h->n < MAX_BINS; i++) {
        const qg_json_t *b = qg_json_at(arr, i);
        double lo, hi, c;
        if (finite_time(first_of(b, K_LO), &lo) && finite_time(first_of(b, K_HI), &hi) &&
            finite_num(first_of(b, K_N), &c) && hi > lo && c >= 0) {
            h->lo[h->n] = lo;
            h->hi[h->n] = hi;
            h->count[h->n++] = c;
        }
    }
}

/* {edges:[n+1], counts:[n]} */
static void hist_from_edges(hist_t *h, const qg_json_t *obj)
{
    const qg_json_t *edges = qg_json_get(obj, "edges"), *counts = qg_json_get(obj, "counts");
    for (size_t i = 0; i + 1 < qg_json_len(edges) && i < qg_json_len(counts) && h->n < MAX_BINS;
         i++) {
        double lo, hi, c;
        if (finite_time(qg_json_at(edges, i), &lo) && finite_time(qg_json_at(edges, i + 1), &hi) &&
            finite_num(qg_json_at(counts, i), &c) && hi > lo && c >= 0) {
            h->lo[h->n] = lo;
            h->hi[h->n] = hi;
            h->count[h->n++] = c;
        }
    }
}

static void hist_svg(FILE *f, const hist_t *h)
{
    double lo = h->lo[0], hi = h->hi[0], cmax = 0;
    for (size_t i = 0; i < h->n; i++) {
        lo = fmin(lo, h->lo[i]);
        hi = fmax(hi, h->hi[i]);
        cmax = fmax(cmax, h->count[i]);
    }
    if (cmax <= 0)
        cmax = 1;
    const double x0 = 60, w = 800, top = 10, ph = 180;
    fprintf(
        f,
        "<svg class=\"hist\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"%.0f\" "
        "role=\"img\" aria-label=\"Distribution of the completion time\">\n",
        top + ph + 30);
    svg_time_axis(f, lo, hi, x0, w, top, top + ph);
    for (size_t i = 0; i < h->n; i++) {
        double x = x0 + (h->lo[i] - lo) / (hi - lo) * w;
        double bw = fmax((h->hi[i] - h->lo[i]) / (hi - lo) * w - 1, 0.5);
        double bh = h->count[i] / cmax * ph;
        char b1[32], b2[32];
        fprintf(f,
                "<rect class=\"bin\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\">"
                "<title>%s \xe2\x80\x93 %s: %.6g</title></rect>\n",
                x, top + ph - bh, bw, bh, qg_report_duration(b1, sizeof(b1), h->lo[i]),
                qg_report_duration(b2, sizeof(b2), h->hi[i]), h->count[i]);
    }
    fputs("</svg>\n", f);
}

typedef struct {
    char name[16];
    double p, value;
} pct_t;

static int cmp_pct(const void *a, const void *b)
{
    const pct_t *x = a, *y = b;
    return (x->p > y->p) - (x->p < y->p);
}

static size_t collect_percentiles(const qg_json_t *pc, pct_t *out, size_t max)
{
    size_t n = 0;
    if (!qg_json_is(pc, QG_JSON_OBJECT))
        return 0;
    for (size_t i = 0; i < qg_json_len(pc) && n < max; i++) {
        const char *k = qg_json_key_at(pc, i);
        char *end = NULL;
        double p = (k[0] == 'p' || k[0] == 'P') ? strtod(k + 1, &end) : NAN;
        double v;
        if (end && end != k + 1 && *end == '\0' && p >= 0 && p <= 100 &&
            finite_time(qg_json_at(pc, i), &v) && v >= 0) {
            snprintf(out[n].name, sizeof(out[n].name), "%s", k);
            out[n].p = p;
            out[n++].value = v;
        }
    }
    qsort(out, n, sizeof(*out), cmp_pct);
    return n;
}

static void pct_svg(FILE *f, const pct_t *pc, size_t n, double est)
{
    double lo = pc[0].value, hi = pc[n - 1].value;
    if (isfinite(est))
        lo = fmin(lo, est), hi = fmax(hi, est);
    double pad = hi > lo ? (hi - lo) * 0.15 : fmax(fabs(hi) * 0.1, 1);
    lo = fmax(0, lo - pad);
    hi += pad;
    if (!(hi > lo))
        hi = lo + 1;
    const double x0 = 60, w = 800;
#define PX(v) (x0 + ((v)-lo) / (hi - lo) * w)
    fputs("<svg class=\"pct\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"120\" "
          "role=\"img\" aria-label=\"Percentiles of the completion time\">\n",
          f);
    svg_time_axis(f, lo, hi, x0, w, 10, 90);
    fprintf(f, "<rect class=\"band\" x=\"%.2f\" y=\"35\" width=\"%.2f\" height=\"30\"/>\n",
            PX(pc[0].value), fmax(PX(pc[n - 1].value) - PX(pc[0].value), 1));
    char b[32];
    /* one line per distinct value; equal percentiles share a label */
    for (size_t i = 0, k = 0; i < n; k++) {
        double x = PX(pc[i].value);
        fprintf(f, "<line class=\"pline\" x1=\"%.2f\" y1=\"30\" x2=\"%.2f\" y2=\"70\"/>", x, x);
        fprintf(f, "<text class=\"plbl\" x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">", x,
                k % 2 ? 84 : 26);
        size_t j = i;
        for (; j < n && pc[j].value == pc[i].value; j++) {
            fputs(j > i ? " = " : "", f);
            esc(f, pc[j].name);
        }
        fprintf(f, " %s</text>\n", qg_report_duration(b, sizeof(b), pc[i].value));
        i = j;
    }
    if (isfinite(est))
        fprintf(f,
                "<path class=\"est\" d=\"M%.2f 42 l8 8 l-8 8 l-8 -8 z\"><title>estimatedTime %s"
                "</title></path>\n",
                PX(est), qg_report_duration(b, sizeof(b), est));
    fputs("</svg>\n", f);
#undef PX
}

static void pct_table(FILE *f, const pct_t *pc, size_t n)
{
    char b[32];
    fputs("<table class=\"compact\"><tr><th>percentile</th><th>completion time</th>"
          "<th>seconds</th></tr>\n",
          f);
    for (size_t i = 0; i < n; i++) {
        fputs("<tr><td>", f);
        esc(f, pc[i].name);
        fprintf(f, "</td><td>%s</td><td>%.1f</td></tr>\n",
                qg_report_duration(b, sizeof(b), pc[i].value), pc[i].value);
    }
    fputs("</table>\n", f);
}

static int section_histogram(const rctx_t *rc)
{
    const qg_json_t *hj = find_output(rc, "histogram");
    if (!hj)
        hj = find_output(rc, "distribution");
    hist_t *h = calloc(1, sizeof(*h));
    if (!h)
        return 0;
    if (qg_json_is(hj, QG_JSON_ARRAY))
        hist_from_objects(h, hj);
    else if (qg_json_is(hj, QG_JSON_OBJECT))
        hist_from_edges(h, hj);
    int drawn = h->n > 0;
    if (drawn) {
        fprintf(rc->f, "<p>Histogram of the completion time over %zu bins.</p>\n", h->n);
        hist_svg(rc->f, h);
    }
    free(h);
    return drawn;
}

static int is_deterministic(const rctx_t *rc)
{
    const char *basis = qg_json_str(find_output(rc, "confidenceBasis"));
    return basis && !strcmp(basis, "deterministic");
}

static void section_distribution(const rctx_t *rc)
{
    FILE *f = rc->f;
    if (!show_part(rc, PART_DISTRIBUTION))
        return;
    section_start(f, "distribution", "Distribution of the completion time");
    int drawn = section_histogram(rc);
    pct_t pc[32];
    size_t n = collect_percentiles(find_output(rc, "percentiles"), pc, 32);
    double est = NAN, conf;
    if (!finite_time(find_output(rc, "estimatedTime"), &est) || est < 0)
        est = NAN;
    if (n > 0) {
        pct_svg(f, pc, n, est);
        pct_table(f, pc, n);
    } else if (!drawn) {
        not_available(f, "Percentiles and histogram");
    }
    double promise = est;
    char b[32];
    if (!finite_time(find_output(rc, "promiseTime"), &promise))
        promise = est;
    if (finite_num(find_output(rc, "confidence"), &conf)) {
        fprintf(f, "<p>%.1f %% chance to finish by %s from the start of the plan",
                conf <= 1 ? conf * 100 : conf, qg_report_duration(b, sizeof(b), promise));
        const char *at = qg_json_str(find_output(rc, "promiseAt"));
        if (at) {
            fputs(" (", f);
            escn(f, at, 40);
            fputc(')', f);
        }
        fputs(".</p>\n", f);
    } else if (is_deterministic(rc)) {
        fprintf(f,
                "<p>No probability: the data carry no uncertainty, so every replay gives %s.</p>\n",
                qg_report_duration(b, sizeof(b), est));
    }
    fputs("</section>\n", f);
}

/* ---------- stages ---------- */

/* "2026-11-24T04:08:05.123Z" -> ms since the epoch; NAN if it does not parse. */
static double iso_ms(const qg_json_t *v)
{
    double d;
    if (finite_num(v, &d))
        return d;
    const char *s = qg_json_str(v);
    struct tm tm = {0};
    int ms = 0, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return NAN;
    if (s[n] == '.') {
        int digits = 0;
        for (n++; s[n] >= '0' && s[n] <= '9'; n++, digits++)
            if (digits < 3)
                ms = ms * 10 + (s[n] - '0');
        for (; digits < 3; digits++)
            ms *= 10;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? NAN : (double)t * 1000.0 + ms;
}

typedef struct {
    double start, dur; /* ms; start relative to the first stage */
} stime_t;

/* A CSS class for a status: ok, failed or other. */
static const char *json_status(const qg_json_t *st)
{
    const char *s = qg_json_str(qg_json_get(st, "status"));
    if (s && (strcmp(s, "completed") == 0 || strcmp(s, "ok") == 0 || strcmp(s, "success") == 0))
        return "ok";
    if (s && (strcmp(s, "failed") == 0 || strcmp(s, "error") == 0))
        return "failed";
    return "other";
}

static double stage_duration_ms(const qg_json_t *st)
{
    double d;
    if (finite_num(qg_json_get(st, "durationMs"), &d) && d >= 0)
        return d;
    double a = iso_ms(qg_json_get(st, "startedAt")), b = iso_ms(qg_json_get(st, "finishedAt"));
    return isfinite(a) && isfinite(b) && b >= a ? b - a : NAN;
}

/* Start offsets from startedAt when every stage has one, else back to back. */
static double stage_times(const qg_json_t *stages, stime_t *t, size_t n)
{
    double first = INFINITY, total = 0, seq = 0;
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        double s = iso_ms(qg_json_get(qg_json_at(stages, i), "startedAt"));
        all &= isfinite(s);
        first = isfinite(s) ? fmin(first, s) : first;
    }
    for (size_t i = 0; i < n; i++) {
        const qg_json_t *st = qg_json_at(stages, i);
        double d = stage_duration_ms(st);
        t[i].dur = isfinite(d) ? d : 0;
        t[i].start = all ? iso_ms(qg_json_get(st, "startedAt")) - first : seq;
        seq += t[i].dur;
        total = fmax(total, t[i].start + t[i].dur);
    }
    return total;
}

static void stage_svg(FILE *f, const qg_json_t *stages, const stime_t *t, size_t n, double total)
{
    const double x0 = 130, w = 700, rh = 24;
    fprintf(f,
            "<svg class=\"stages\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" "
            "height=\"%.0f\" role=\"img\" aria-label=\"Stage timings\">\n",
            (double)n * rh + 10);
    if (total <= 0)
        total = 1;
    for (size_t i = 0; i < n; i++) {
        const qg_json_t *st = qg_json_at(stages, i);
        const char *status = json_status(st);
        double y = 5 + (double)i * rh;
        fprintf(f, "<text class=\"lbl\" x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", x0 - 8,
                y + 15);
        escn(f, qg_json_str(qg_json_get(st, "stage")), 20);
        fprintf(f,
                "</text><rect class=\"stage %s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
                "height=\"18\"/><text class=\"tick\" x=\"%.2f\" y=\"%.1f\">%.0f ms</text>\n",
                status, x0 + t[i].start / total * w, y, fmax(t[i].dur / total * w, 1.5),
                x0 + (t[i].start + t[i].dur) / total * w + 4, y + 14, t[i].dur);
    }
    fputs("</svg>\n", f);
}

static void gate_cell(FILE *f, const qg_json_t *st)
{
    const qg_json_t *gate = qg_json_get(st, "gate");
    const qg_json_t *passed = qg_json_get(gate, "passed");
    const char *reason = qg_json_str(qg_json_get(gate, "reason"));
    if (qg_json_is(gate, QG_JSON_BOOL))
        passed = gate;
    if (qg_json_is(passed, QG_JSON_BOOL))
        fprintf(f, "<span class=\"%s\">%s</span>", qg_json_truthy(passed) ? "pass" : "fail",
                qg_json_truthy(passed) ? "passed" : "failed");
    else
        fputs("n/a", f);
    if (reason && *reason) {
        fputs(": ", f);
        escn(f, reason, 300);
    }
}

static void error_cell(FILE *f, const qg_json_t *st)
{
    const qg_json_t *e = qg_json_get(st, "error");
    const char *msg = qg_json_str(e);
    if (!msg)
        msg = qg_json_str(qg_json_get(e, "message"));
    const char *cls = qg_json_str(qg_json_get(e, "class"));
    if (cls) {
        esc(f, cls);
        fputs(msg ? ": " : "", f);
    }
    escn(f, msg, 600);
}

static void stage_row(FILE *f, const qg_json_t *st, const stime_t *t)
{
    char b[32];
    fputs("<tr><td>", f);
    esc(f, qg_json_str(qg_json_get(st, "stage")));
    fprintf(f, "</td><td class=\"%s\">", json_status(st));
    esc(f, qg_json_str(qg_json_get(st, "status")));
    fprintf(f, "</td><td>%s</td><td>", qg_report_duration(b, sizeof(b), t->dur / 1000.0));
    gate_cell(f, st);
    fputs("</td><td>", f);
    esc(f, qg_json_str(qg_json_get(st, "startedAt")));
    fputs("</td><td>", f);
    esc(f, qg_json_str(qg_json_get(st, "worker")));
    fputs("</td><td>", f);
    error_cell(f, st);
    fputs("</td></tr>\n", f);
}

static void section_stages(const rctx_t *rc)
{
    FILE *f = rc->f;
    section_start(f, "stages", "Stages");
    const qg_json_t *stages = qg_json_path(rc->doc, "executionLog.stages");
    size_t n = qg_json_len(stages);
    n = n > 500 ? 500 : n;
    stime_t *t = n ? calloc(n, sizeof(*t)) : NULL;
    if (!qg_json_is(stages, QG_JSON_ARRAY) || n == 0 || !t) {
        not_available(f, "Stage timings");
    } else {
        double total = stage_times(stages, t, n);
        stage_svg(f, stages, t, n, total);
        fputs("<table><tr><th>stage</th><th>status</th><th>duration</th><th>gate</th>"
              "<th>started</th><th>worker</th><th>error</th></tr>\n",
              f);
        for (size_t i = 0; i < n; i++)
            stage_row(f, qg_json_at(stages, i), &t[i]);
        fputs("</table>\n", f);
    }
    free(t);
    fputs("</section>\n", f);
}

/* ---------- summary ---------- */

static void card(FILE *f, const char *label, const char *value, const char *sub)
{
    fputs("<div class=\"card\"><div class=\"cl\">", f);
    esc(f, label);
    fputs("</div><div class=\"cv\">", f);
    esc(f, value && *value ? value : "not available");
    fputs("</div>", f);
    if (sub && *sub) {
        fputs("<div class=\"cs\">", f);
        esc(f, sub);
        fputs("</div>", f);
    }
    fputs("</div>\n", f);
}

static void card_time(const rctx_t *rc, const char *label, const char *key)
{
    double v;
    char b[32] = "", s[48] = "";
    if (finite_num(find_output(rc, key), &v)) {
        qg_report_duration(b, sizeof(b), v);
        snprintf(s, sizeof(s), "%.1f s", v);
    }
    card(rc->f, label, b, s);
}

static const char *model_name(const qg_json_t *q)
{
    const qg_json_t *sm = qg_json_get(q, "selectedModel");
    const char *s = qg_json_str(sm);
    return s ? s : qg_json_str(qg_json_get(sm, "modelId"));
}

static void summary_cards(const rctx_t *rc)
{
    char b[48] = "";
    double conf;
    fputs("<div class=\"cards\">\n", rc->f);
    if (show_part(rc, PART_ESTIMATE))
        card_time(rc, "estimated time", "estimatedTime");
    if (finite_num(find_output(rc, "confidence"), &conf))
        snprintf(b, sizeof(b), "%.1f%%", conf <= 1 ? conf * 100 : conf);
    else if (is_deterministic(rc))
        snprintf(b, sizeof(b), "none");
    if (show_part(rc, PART_CONFIDENCE))
        card(rc->f, "confidence", b,
             qg_report_basis_words(qg_json_str(find_output(rc, "confidenceBasis"))));
    if (show_part(rc, PART_MAKESPAN))
        card_time(rc, "makespan", "makespan");
    card(rc->f, "status", qg_json_str(qg_json_path(rc->doc, "executionLog.status")),
         qg_json_str(qg_json_path(rc->doc, "executionLog.failedStage")));
    card(rc->f, "model", model_name(rc->q), NULL);
    fputs("</div>\n", rc->f);
}

static void param_rows(FILE *f, const qg_json_t *params)
{
    for (size_t i = 0; i < qg_json_len(params) && i < 200; i++) {
        const qg_json_t *p = qg_json_at(params, i), *v = qg_json_get(p, "value");
        char buf[256];
        fputs("<tr><td>", f);
        esc(f, qg_json_str(qg_json_get(p, "key")));
        fputs("</td><td>", f);
        if (qg_json_is(v, QG_JSON_OBJECT) || qg_json_is(v, QG_JSON_ARRAY)) {
            char *j = qg_json_serialize(v, 0, NULL);
            escn(f, j, 300);
            free(j);
        } else {
            esc(f, scalar_text(v, buf, sizeof(buf)));
        }
        fputs("</td><td>", f);
        esc(f, qg_json_str(qg_json_get(p, "type")));
        fputs("</td></tr>\n", f);
    }
}

static void section_summary(const rctx_t *rc)
{
    FILE *f = rc->f;
    section_start(f, "summary", "Summary");
    summary_cards(rc);
    const char *req = qg_json_str(qg_json_path(rc->q, "metadata.request"));
    if (req) {
        fputs("<p class=\"request\">\xe2\x80\x9c", f);
        escn(f, req, 500);
        fputs("\xe2\x80\x9d</p>\n", f);
    }
    const qg_json_t *params = qg_json_get(rc->q, "parameters");
    if (qg_json_len(params) == 0) {
        not_available(f, "Parameters");
    } else {
        fputs("<table class=\"compact\"><tr><th>parameter</th><th>value</th><th>type</th></tr>\n",
              f);
        param_rows(f, params);
        fputs("</table>\n", f);
    }
    fputs("</section>\n", f);
}

/* ---------- the answer in words ---------- */

const char *qg_report_basis_words(const char *basis)
{
    if (!basis)
        return "";
    if (!strcmp(basis, "deterministic"))
        return "the data carry no uncertainty (no spread, no breakdowns, no scrap): no "
               "probability is given";
    if (!strcmp(basis, "dueDate"))
        return "probability of finishing by the order's due date";
    if (!strcmp(basis, "estimatePlusMargin"))
        return "probability of finishing by the estimate plus a safety margin (no due date given)";
    return "";
}

const char *qg_report_policy_words(const char *policy)
{
    if (!policy)
        return "";
    if (!strcmp(policy, "insert"))
        return "insert: existing jobs keep their machines and sequence; the order uses the "
               "capacity that remains, so no promised work moves";
    if (!strcmp(policy, "reoptimize"))
        return "reoptimize: the order and existing jobs are planned together (a rush order); "
               "existing jobs may be delayed";
    return "";
}

static void impact_table(FILE *f, const qg_json_t *impact)
{
    const qg_json_t *jobs = qg_json_get(impact, "jobs");
    char b1[32], b2[32], b3[32];
    double moved = qg_json_num(qg_json_get(impact, "jobsMoved"), 0);
    if (qg_json_len(jobs) == 0) {
        fprintf(f, "<p>No existing job moves.</p>\n");
        return;
    }
    fprintf(f, "<p>%.0f existing jobs move; delays total %s, the largest %s.</p>\n", moved,
            qg_report_duration(b1, sizeof(b1), qg_json_num(qg_json_get(impact, "totalDelay"), 0)),
            qg_report_duration(b2, sizeof(b2), qg_json_num(qg_json_get(impact, "maxDelay"), 0)));
    fputs("<table class=\"compact\"><tr><th>job</th><th>completion without the order</th>"
          "<th>with the order</th><th>delay</th></tr>\n",
          f);
    for (size_t i = 0; i < qg_json_len(jobs) && i < 200; i++) {
        const qg_json_t *j = qg_json_at(jobs, i);
        fputs("<tr><td>", f);
        esc(f, qg_json_str(qg_json_get(j, "job")));
        fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                qg_report_duration(b1, sizeof(b1),
                                   qg_json_num(qg_json_get(j, "baselineCompletion"), 0)),
                qg_report_duration(b2, sizeof(b2), qg_json_num(qg_json_get(j, "newCompletion"), 0)),
                qg_report_duration(b3, sizeof(b3), qg_json_num(qg_json_get(j, "delay"), 0)));
    }
    fputs("</table>\n", f);
}

static void string_list(FILE *f, const char *cls, const qg_json_t *arr)
{
    fprintf(f, "<ul class=\"%s\">", cls);
    for (size_t i = 0; i < qg_json_len(arr) && i < 100; i++) {
        fputs("<li>", f);
        escn(f, qg_json_str(qg_json_at(arr, i)), 600);
        fputs("</li>", f);
    }
    fputs("</ul>\n", f);
}

static void section_answer(const rctx_t *rc)
{
    FILE *f = rc->f;
    const char *statement = qg_json_str(find_output(rc, "promiseStatement"));
    const char *policy = qg_json_str(find_output(rc, "policy"));
    const qg_json_t *impact = find_output(rc, "impact");
    const qg_json_t *warn = find_output(rc, "warnings");
    const qg_json_t *hist = find_output(rc, "lawsFromHistory");
    if (!statement && !policy && !impact && !warn)
        return;
    section_start(f, "answer", "The answer");
    if (statement) {
        fputs("<p class=\"request\">", f);
        escn(f, statement, 400);
        fputs(".</p>\n", f);
    }
    const char *basis = qg_report_basis_words(qg_json_str(find_output(rc, "confidenceBasis")));
    if (*basis) {
        fputs("<p>Basis: ", f);
        esc(f, basis);
        fputs(".</p>\n", f);
    }
    if (policy) {
        fputs("<p>Order policy ", f);
        esc(f, *qg_report_policy_words(policy) ? qg_report_policy_words(policy) : policy);
        fputs(".</p>\n", f);
    }
    if (impact)
        impact_table(f, impact);
    if (qg_json_len(warn) > 0) {
        fputs("<h3>Warnings</h3>\n", f);
        string_list(f, "warn", warn);
    }
    if (qg_json_len(hist) > 0) {
        fputs("<h3>Spread fitted from the job history</h3>\n", f);
        string_list(f, "hist", hist);
    }
    fputs("</section>\n", f);
}

/* ---------- other outputs ---------- */

static int shown_elsewhere(const char *key)
{
    static const char *const keys[] = {
        "estimatedTime", "confidence",      "productionPlan",   "bottlenecks",
        "percentiles",   "histogram",       "distribution",     "makespan",
        "promiseTime",   "confidenceBasis", "promiseStatement", "policy",
        "impact",        "warnings",        "lawsFromHistory",  NULL};
    for (size_t i = 0; keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return 1;
    return 0;
}

static void other_output_row(FILE *f, const char *key, const qg_json_t *v)
{
    char buf[256];
    fputs("<tr><td>", f);
    esc(f, key);
    fputs("</td><td>", f);
    if (qg_json_is(v, QG_JSON_OBJECT) || qg_json_is(v, QG_JSON_ARRAY)) {
        size_t len = 0;
        char *j = qg_json_serialize(v, 1, &len);
        fputs("<pre>", f);
        escn(f, j, 4000);
        fputs("</pre>", f);
        free(j);
    } else {
        esc(f, scalar_text(v, buf, sizeof(buf)));
    }
    fputs("</td></tr>\n", f);
}

/* Outputs the charts do not show (goal1 failures, goal4 location, solver stats, ...). */
static void section_other_outputs(const rctx_t *rc)
{
    size_t n = 0;
    for (size_t i = 0; qg_json_is(rc->outputs, QG_JSON_OBJECT) && i < qg_json_len(rc->outputs); i++)
        n += !shown_elsewhere(qg_json_key_at(rc->outputs, i));
    if (n == 0)
        return;
    section_start(rc->f, "outputs", "Other outputs");
    fputs("<table><tr><th>output</th><th>value</th></tr>\n", rc->f);
    for (size_t i = 0, shown = 0; i < qg_json_len(rc->outputs) && shown < 100; i++) {
        const char *k = qg_json_key_at(rc->outputs, i);
        if (!shown_elsewhere(k)) {
            other_output_row(rc->f, k, qg_json_at(rc->outputs, i));
            shown++;
        }
    }
    fputs("</table>\n</section>\n", rc->f);
}

/* ---------- page ---------- */

static const char CSS[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;"
    "color:#1d2430;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid "
    "#dde3ea;padding-bottom:4px}"
    ".sub{color:#5a6472;margin:0 0 12px}.na{color:#8a94a3;font-style:italic}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 12px}"
    ".card{border:1px solid #dde3ea;border-radius:8px;padding:10px 14px;min-width:150px;"
    "background:#f7f9fb}.cl{font-size:12px;color:#5a6472;text-transform:uppercase}"
    ".cv{font-size:22px;font-weight:600}.cs{font-size:12px;color:#5a6472}"
    "table{border-collapse:collapse;margin:6px 0;font-size:13px}"
    "th,td{border:1px solid #dde3ea;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f0f3f7}.scroll{overflow-x:auto}"
    "svg text{font-size:11px;fill:#1d2430;font-family:inherit}"
    ".lane{fill:#f7f9fb}.lane.odd{fill:#eef2f6}.grid{stroke:#c9d1db;stroke-width:1}"
    ".tick{fill:#5a6472}.op{stroke:#ffffff;stroke-width:0.6}"
    ".op[data-order]{stroke:#1d2430;stroke-width:1.2}.op.existing{opacity:.45}"
    ".off{fill:#c4cad3;opacity:.7}.risk{fill:#c62828;font-weight:700}"
    ".legend i.existing{background:#8a94a3;opacity:.45}.legend i.offkey{background:#c4cad3}"
    ".warn li{color:#8a4b00}"
    ".oplbl{fill:#fff;font-size:10px;pointer-events:none}"
    ".marker{stroke:#d62728;stroke-width:2;stroke-dasharray:5 3}.mlbl{fill:#d62728}"
    ".legend span{display:inline-block;margin-right:10px;font-size:12px}"
    ".legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}"
    ".track{fill:#eef2f6}.bn{fill:#e15759}.fig{margin-right:10px;white-space:nowrap}"
    ".bin{fill:#4e79a7}.band{fill:#a0cbe8}.pline{stroke:#1f4e79;stroke-width:2}"
    ".est{fill:#d62728}.stage.ok{fill:#59a14f}.stage.failed{fill:#e15759}.stage.other{fill:#bab0ac}"
    "td.ok,.pass{color:#2e7d32;font-weight:600}td.failed,.fail{color:#c62828;font-weight:600}"
    "pre{margin:0;font-size:12px;max-height:320px;overflow:auto}"
    ".request{font-size:15px;color:#333}footer{margin-top:32px;font-size:12px;color:#8a94a3}";

static void page_head(const rctx_t *rc)
{
    FILE *f = rc->f;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; img-src data:\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    fputs("QueryGoal report \xe2\x80\x94 ", f);
    escn(f, qg_json_str(qg_json_get(rc->q, "goalId")), 200);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", CSS);
    escn(f, qg_json_str(qg_json_get(rc->q, "goalId")), 200);
    fputs("</h1>\n<p class=\"sub\">", f);
    escn(f, qg_json_str(qg_json_get(rc->q, "goalType")), 200);
    const char *started = qg_json_str(qg_json_path(rc->doc, "executionLog.startTime"));
    if (started) {
        fputs(" \xc2\xb7 started ", f);
        escn(f, started, 64);
    }
    fputs("</p>\n", f);
}

static void render(const rctx_t *rc)
{
    page_head(rc);
    section_summary(rc);
    section_answer(rc);
    section_gantt(rc);
    section_bottlenecks(rc);
    section_distribution(rc);
    section_stages(rc);
    section_other_outputs(rc);
    fputs("<footer>querygoal-runtime report \xc2\xb7 times in seconds from the start of the plan"
          "</footer>\n</body>\n</html>\n",
          rc->f);
}

qg_error_t *qg_report_render(const qg_json_t *doc, FILE *out)
{
    const qg_json_t *q = qg_json_get(doc, "QueryGoal");
    if (!qg_json_is(q, QG_JSON_OBJECT))
        return qg_error_new_bad_input("report: the document has no QueryGoal object");
    if (!out)
        return qg_error_new_bad_input("report: no output stream");
    rctx_t rc = {.f = out, .doc = doc, .q = q, .outputs = qg_json_get(q, "outputs")};
    render(&rc);
    if (fflush(out) != 0 || ferror(out))
        return qg_error_new_stage_error("report: writing the page failed");
    return NULL;
}

qg_error_t *qg_report_render_string(const qg_json_t *doc, char **html_out, size_t *lenp)
{
    char *buf = NULL;
    size_t size = 0;
    if (!html_out)
        return qg_error_new_bad_input("report: no output pointer");
    *html_out = NULL;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return qg_error_new_oom("report: out of memory");
    qg_error_t *err = qg_report_render(doc, f);
    if (fclose(f) != 0 && !err)
        err = qg_error_new_oom("report: out of memory");
    if (err) {
        free(buf);
        return err;
    }
    *html_out = buf;
    if (lenp)
        *lenp = size;
    return NULL;
}
