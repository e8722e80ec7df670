/*
 * engine.c - the public entry points: plan a scenario + order, replay it,
 * build the result JSON; verify a returned plan; solve benchmark files.
 */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/fjsp.h"
#include "engine/scenario.h"

#define MINUTE 60.0 /* seconds per source time unit of scenarios */

void qg_engine_options_default(qg_engine_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->seed = 1;
    o->time_limit_s = 1.0;
    o->max_generations = 200;
    o->threads = 1;
    o->population = 30;
    o->ls_iterations = -1; /* auto */
    o->replications = 1000;
    o->promise_tolerance = 0.10;
    o->stall_generations = 10;
    o->stale_after_s = 86400.0;
}

int qg_engine_policy_parse(const char *name)
{
    if (name && !strcmp(name, "insert"))
        return QG_ORDER_INSERT;
    if (name && !strcmp(name, "reoptimize"))
        return QG_ORDER_REOPTIMIZE;
    return -1;
}

const char *qg_engine_policy_name(qg_order_policy_t policy)
{
    return policy == QG_ORDER_REOPTIMIZE ? "reoptimize" : "insert";
}

typedef struct {
    qg_engine_progress_cb cb;
    void *opaque;
    double unit;
} progress_ctx_t;

static void opt_progress(long gen, double f1, double f2, void *opaque)
{
    progress_ctx_t *pc = opaque;
    qg_engine_progress_t pr = {"optimize", gen, f1 * pc->unit, f2 * pc->unit, 0, 0};
    pc->cb(&pr, pc->opaque);
}

static double r3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

/* ---- result building ---- */

typedef struct {
    const qg_fjsp_t *p;
    const qg_sched_t *s;
    double unit;
    qg_json_t *res;
    int fail;
} build_t;

/* What the planning produced: the plan on the full instance, and how it was found. */
typedef struct {
    qg_order_policy_t policy;
    qg_sched_t *plan;     /* on the full instance (owned) */
    qg_sched_t *baseline; /* existing jobs without the order, op i = op i of the full instance */
    int n_base_ops;       /* ops of existing jobs (they come first) */
    qg_opt_result_t *opt; /* the search that placed the order (or everything) */
    long baseline_generations;
    double bound; /* lower bound on the order's completion; < 0: none */
} planning_t;

static void setn(build_t *b, qg_json_t *obj, const char *key, double v)
{
    if (!obj || qg_json_set_num(obj, key, v) < 0)
        b->fail = 1;
}

static void sets(build_t *b, qg_json_t *obj, const char *key, const char *v)
{
    if (!obj || qg_json_set_str(obj, key, v ? v : "") < 0)
        b->fail = 1;
}

static void setv(build_t *b, qg_json_t *obj, const char *key, qg_json_t *v)
{
    if (!obj || !v || qg_json_set(obj, key, v) < 0) {
        if (obj == NULL)
            qg_json_destroy(v);
        b->fail = 1;
    }
}

static void push(build_t *b, qg_json_t *arr, qg_json_t *v)
{
    if (!arr || !v || qg_json_append(arr, v) < 0)
        b->fail = 1;
}

static const char *machine_name(const qg_fjsp_t *p, int k, char *buf, size_t sz)
{
    if (p->machine_names && p->machine_names[k])
        return p->machine_names[k];
    snprintf(buf, sz, "M%d", k + 1);
    return buf;
}

static const char *job_name(const qg_fjsp_t *p, int j, char *buf, size_t sz)
{
    if (p->job_names && p->job_names[j])
        return p->job_names[j];
    snprintf(buf, sz, "J%d", j + 1);
    return buf;
}

static const char *op_name(const qg_fjsp_t *p, int o, char *buf, size_t sz)
{
    if (p->ops[o].name)
        return p->ops[o].name;
    int j = p->ops[o].job;
    snprintf(buf, sz, "J%d.O%d", j + 1, o - p->job_first[j] + 1);
    return buf;
}

/* Setup before op o on its machine in schedule s (from the previous op's type there). */
static double setup_before(const qg_fjsp_t *p, const qg_sched_t *s, int o)
{
    if (!p->has_setups)
        return 0;
    int k = qg_fjsp_alt(p, o, s->alt[o])->machine, prev = -1;
    for (int q = 0; q < p->n_ops; q++)
        if (q != o && qg_fjsp_alt(p, q, s->alt[q])->machine == k && s->start[q] < s->start[o] &&
            (prev < 0 || s->start[q] > s->start[prev]))
            prev = q;
    int from = prev >= 0 ? p->ops[prev].type : (p->mm ? p->mm[k].init_type : -1);
    return qg_fjsp_setup(p, k, from, p->ops[o].type);
}

static qg_json_t *op_json(build_t *b, int o, int with_machine)
{
    char b1[48], b2[48], b3[48];
    const qg_fjsp_t *p = b->p;
    qg_json_t *x = qg_json_object();
    int j = p->ops[o].job, k = qg_fjsp_alt(p, o, b->s->alt[o])->machine;
    sets(b, x, "job", job_name(p, j, b1, sizeof(b1)));
    sets(b, x, "operation", op_name(p, o, b2, sizeof(b2)));
    if (with_machine)
        sets(b, x, "machine", machine_name(p, k, b3, sizeof(b3)));
    setn(b, x, "start", r3(b->s->start[o] * b->unit));
    setn(b, x, "end", r3(b->s->end[o] * b->unit));
    double su = setup_before(p, b->s, o);
    if (su > 0)
        setn(b, x, "setup", r3(su * b->unit));
    if (p->has_target && x && qg_json_set_bool(x, "order", p->target[j]) < 0)
        b->fail = 1;
    return x;
}

/* Time the job was ready for op o (predecessor end + transfer, or release). */
static double ready_time(const qg_fjsp_t *p, const qg_sched_t *s, int o)
{
    int j = p->ops[o].job, k = qg_fjsp_alt(p, o, s->alt[o])->machine;
    if (o > p->job_first[j])
        return s->end[o - 1] +
               qg_fjsp_transfer(p, qg_fjsp_alt(p, o - 1, s->alt[o - 1])->machine, k);
    return p->release[j] + qg_fjsp_transfer(p, -1, k);
}

#define MAX_OFF_SHOWN 500 /* non-working spans listed per machine */

/* Non-working time within the plan and breakdown figures of machine k. */
static void machine_model_json(build_t *b, qg_json_t *m, int k)
{
    const qg_fjsp_t *p = b->p;
    if (!p->mm)
        return;
    const qg_machine_model_t *mm = &p->mm[k];
    if (mm->cal.n_off > 0) {
        qg_json_t *off = qg_json_array();
        for (int i = 0, n = 0; i < mm->cal.n_off && n < MAX_OFF_SHOWN; i++) {
            const qg_span_t *sp = &mm->cal.off[i];
            if (sp->e <= 0 || sp->s >= b->s->makespan)
                continue;
            qg_json_t *pair = qg_json_array();
            push(b, pair, qg_json_number(r3(fmax(sp->s, 0) * b->unit)));
            push(b, pair, qg_json_number(r3(fmin(sp->e, b->s->makespan) * b->unit)));
            push(b, off, pair);
            n++;
        }
        setv(b, m, "offShift", off);
    }
    if (mm->mtbf > 0) {
        setn(b, m, "mtbfMin", mm->mtbf);
        setn(b, m, "mttrMeanMin", r3(mm->mttr.mean));
    }
}

static void plan_json(build_t *b, const int *order)
{
    const qg_fjsp_t *p = b->p;
    qg_json_t *plan = qg_json_object(), *ops = qg_json_array(), *ms = qg_json_array();
    for (int i = 0; i < p->n_ops; i++)
        push(b, ops, op_json(b, order[i], 1));
    for (int k = 0; k < p->n_machines; k++) {
        char buf[48];
        qg_json_t *m = qg_json_object(), *tl = qg_json_array();
        double busy = 0;
        for (int i = 0; i < p->n_ops; i++) {
            int o = order[i];
            if (qg_fjsp_alt(p, o, b->s->alt[o])->machine != k)
                continue;
            busy += b->s->end[o] - b->s->start[o];
            push(b, tl, op_json(b, o, 0));
        }
        sets(b, m, "machine", machine_name(p, k, buf, sizeof(buf)));
        setn(b, m, "busy", r3(busy * b->unit));
        setn(b, m, "utilization", b->s->makespan > 0 ? r3(busy / b->s->makespan) : 0);
        setv(b, m, "operations", tl);
        machine_model_json(b, m, k);
        push(b, ms, m);
    }
    setv(b, plan, "operations", ops);
    setv(b, plan, "machines", ms);
    setv(b, b->res, "productionPlan", plan);
}

typedef struct {
    int k, n;
    double busy, wait;
} bneck_t;

static int bneck_cmp(const void *a, const void *b)
{
    const bneck_t *x = a, *y = b;
    if (x->busy != y->busy)
        return x->busy > y->busy ? -1 : 1;
    if (x->wait != y->wait)
        return x->wait > y->wait ? -1 : 1;
    return x->k - y->k;
}

static void bottlenecks_json(build_t *b)
{
    const qg_fjsp_t *p = b->p;
    bneck_t *bn = calloc((size_t)p->n_machines, sizeof(*bn));
    qg_json_t *arr = qg_json_array();
    if (!bn) {
        b->fail = 1;
        qg_json_destroy(arr);
        return;
    }
    for (int k = 0; k < p->n_machines; k++)
        bn[k].k = k;
    for (int o = 0; o < p->n_ops; o++) {
        int k = qg_fjsp_alt(p, o, b->s->alt[o])->machine;
        double w = b->s->start[o] - ready_time(p, b->s, o);
        bn[k].n++;
        bn[k].busy += b->s->end[o] - b->s->start[o];
        bn[k].wait += w > 0 ? w : 0;
    }
    qsort(bn, (size_t)p->n_machines, sizeof(*bn), bneck_cmp);
    for (int i = 0; i < p->n_machines; i++) {
        char buf[48];
        if (bn[i].n == 0)
            continue;
        qg_json_t *x = qg_json_object();
        setn(b, x, "rank", i + 1);
        sets(b, x, "machine", machine_name(p, bn[i].k, buf, sizeof(buf)));
        setn(b, x, "utilization", b->s->makespan > 0 ? r3(bn[i].busy / b->s->makespan) : 0);
        setn(b, x, "busyTime", r3(bn[i].busy * b->unit));
        setn(b, x, "waitingCaused", r3(bn[i].wait * b->unit));
        setn(b, x, "operations", bn[i].n);
        push(b, arr, x);
    }
    free(bn);
    setv(b, b->res, "bottlenecks", arr);
}

static const char *obj2_name(int obj2)
{
    return obj2 == 1 ? "orderCompletion" : obj2 == 2 ? "totalTardiness" : "totalWorkload";
}

static void front_json(build_t *b, const qg_opt_result_t *r)
{
    qg_json_t *arr = qg_json_array();
    for (int i = 0; i < r->n_front; i++) {
        qg_json_t *x = qg_json_object();
        setn(b, x, "makespan", r3(r->front[i].f[0] * b->unit));
        setn(b, x, obj2_name(r->second_objective), r3(r->front[i].f[1] * b->unit));
        push(b, arr, x);
    }
    setv(b, b->res, "paretoFront", arr);
}

static void solver_json(build_t *b, const qg_opt_result_t *r, const qg_engine_options_t *o)
{
    qg_json_t *x = qg_json_object(), *objs = qg_json_array();
    sets(b, x, "algorithm", "nsga2+tabu");
    push(b, objs, qg_json_string("makespan"));
    push(b, objs, qg_json_string(obj2_name(r->second_objective)));
    setv(b, x, "objectives", objs);
    setn(b, x, "generations", (double)r->generations);
    setn(b, x, "evaluations", (double)r->evaluations);
    setn(b, x, "evaluationsPerSecond", r->time_s > 0 ? round(r->evaluations / r->time_s) : 0);
    setn(b, x, "seed", (double)o->seed);
    setn(b, x, "timeS", r3(r->time_s));
    setn(b, x, "timeToBestS", r3(r->time_to_best_s));
    setn(b, x, "threads", o->threads > 0 ? o->threads : 1);
    setn(b, x, "population", o->population);
    setv(b, b->res, "solver", x);
}

static int *start_order(const qg_fjsp_t *p, const qg_sched_t *s)
{
    qg_start_key_t *k = malloc((size_t)p->n_ops * sizeof(*k));
    int *order = malloc((size_t)p->n_ops * sizeof(int));
    if (!k || !order) {
        free(k);
        free(order);
        return NULL;
    }
    for (int o = 0; o < p->n_ops; o++)
        k[o] = (qg_start_key_t){s->start[o], o};
    qsort(k, (size_t)p->n_ops, sizeof(*k), qg_start_key_cmp);
    for (int i = 0; i < p->n_ops; i++)
        order[i] = k[i].op;
    free(k);
    return order;
}

/* The common part of scenario and benchmark results. */
static qg_error_t *base_result(build_t *b, const qg_opt_result_t *r, const qg_engine_options_t *o)
{
    int *order = start_order(b->p, b->s);
    if (!order || !b->res)
        return qg_error_new_oom("result: out of memory");
    setn(b, b->res, "makespan", r3(b->s->makespan * b->unit));
    plan_json(b, order);
    bottlenecks_json(b);
    front_json(b, r);
    solver_json(b, r, o);
    free(order);
    return NULL;
}

/* ---- replay statistics ---- */

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Does anything in the chosen plan vary from one run to the next? */
static int plan_is_uncertain(const qg_fjsp_t *p, const qg_sched_t *s)
{
    for (int o = 0; o < p->n_ops; o++) {
        const qg_alt_t *a = qg_fjsp_alt(p, o, s->alt[o]);
        if (qg_dist_std(&a->dist) > 0 || p->ops[o].yield < 1.0)
            return 1;
        if (p->mm && p->mm[a->machine].mtbf > 0)
            return 1;
        int j = p->ops[o].job, from = o > p->job_first[j]
                                          ? qg_fjsp_alt(p, o - 1, s->alt[o - 1])->machine
                                          : p->n_machines;
        if (p->transfer_dist && from != a->machine &&
            qg_dist_std(&p->transfer_dist[from * (p->n_machines + 1) + a->machine]) > 0)
            return 1;
    }
    return 0;
}

static void iso_time(double epoch_s, char *buf, size_t sz)
{
    time_t t = (time_t)llround(epoch_s);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, sz, "%.0f", epoch_s);
}

/* "11h 03m" style duration for the statement. */
static void words_duration(double s, char *buf, size_t sz)
{
    long m = lround(s / 60.0);
    if (m >= 60)
        snprintf(buf, sz, "%ldh %02ldm", m / 60, m % 60);
    else
        snprintf(buf, sz, "%ld min", m);
}

typedef struct {
    double p10, p50, p90, mean, std, promise, confidence;
    const char *basis;
    int deterministic;
} answer_t;

static void promise_json(build_t *b, const answer_t *a, const qg_engine_options_t *o)
{
    double u = b->unit;
    char when[40], dur[32], text[256];
    setn(b, b->res, "estimatedTime", r3(a->p50 * u));
    if (a->deterministic) {
        if (b->res && qg_json_set(b->res, "confidence", qg_json_null()) < 0)
            b->fail = 1;
    } else {
        setn(b, b->res, "confidence", round(1000.0 * a->confidence) / 1000.0);
    }
    setn(b, b->res, "promiseTime", r3(a->promise * u));
    sets(b, b->res, "confidenceBasis", a->basis);
    setn(b, b->res, "confidenceTolerance",
         !strcmp(a->basis, "estimatePlusMargin") ? o->promise_tolerance : 0);
    double as_of = b->p->as_of;
    iso_time(as_of, when, sizeof(when));
    sets(b, b->res, "asOf", when);
    iso_time(as_of + a->p50 * u, when, sizeof(when));
    sets(b, b->res, "estimatedCompletionAt", when);
    iso_time(as_of + a->promise * u, when, sizeof(when));
    sets(b, b->res, "promiseAt", when);
    words_duration(a->promise * u, dur, sizeof(dur));
    if (a->deterministic)
        snprintf(text, sizeof(text),
                 "the order finishes at %s (%s from asOf) if the plant runs as recorded: the "
                 "data carry no uncertainty, so no probability is given%s",
                 when, dur,
                 b->p->order_due >= 0
                     ? (a->promise <= b->p->order_due + 1e-9 ? "; the due date is met"
                                                             : "; the due date is missed")
                     : "");
    else
        snprintf(text, sizeof(text), "%.0f %% chance to finish by %s (%s from asOf)",
                 100.0 * a->confidence, when, dur);
    sets(b, b->res, "promiseStatement", text);
}

static qg_error_t *replay_json(build_t *b, const qg_engine_order_t *order,
                               const qg_engine_options_t *o, volatile sig_atomic_t *cancel)
{
    int R = o->replications > 0 ? o->replications : 1;
    double *c = malloc((size_t)R * sizeof(double)), *mk = malloc((size_t)R * sizeof(double));
    if (!c || !mk) {
        free(c);
        free(mk);
        return qg_error_new_oom("replay: out of memory");
    }
    int done = qg_replay(b->p, b->s, R, o->seed, o->threads, cancel, c, mk);
    if (done != R) {
        free(c);
        free(mk);
        return qg_error_new(QG_ERR_STAGE_ERROR,
                            done < 0 ? "replay: out of memory" : "cancelled during the replay");
    }
    answer_t a = {0};
    double sum = 0, sq = 0;
    for (int i = 0; i < R; i++)
        sum += c[i];
    a.mean = sum / R;
    for (int i = 0; i < R; i++)
        sq += (c[i] - a.mean) * (c[i] - a.mean);
    a.std = sqrt(R > 1 ? sq / (R - 1) : 0);
    qsort(c, (size_t)R, sizeof(double), dbl_cmp);
    double u = b->unit;
    a.p10 = qg_quantile(c, R, 0.1);
    a.p50 = qg_quantile(c, R, 0.5);
    a.p90 = qg_quantile(c, R, 0.9);
    int has_due = order && order->product_id && b->p->order_due >= 0;
    a.deterministic = !plan_is_uncertain(b->p, b->s);
    if (a.deterministic) {
        a.basis = "deterministic";
        a.promise = a.p50;
    } else if (has_due) {
        a.basis = "dueDate";
        a.promise = b->p->order_due;
    } else {
        a.basis = "estimatePlusMargin";
        a.promise = a.p50 * (1.0 + o->promise_tolerance);
    }
    int ok = 0;
    for (int i = 0; i < R; i++)
        ok += c[i] <= a.promise + 1e-9 * (1 + a.promise);
    a.confidence = (double)ok / R;
    qg_json_t *pc = qg_json_object();
    setn(b, pc, "p10", r3(a.p10 * u));
    setn(b, pc, "p50", r3(a.p50 * u));
    setn(b, pc, "p90", r3(a.p90 * u));
    promise_json(b, &a, o);
    setv(b, b->res, "percentiles", pc);
    setn(b, b->res, "mean", r3(a.mean * u));
    setn(b, b->res, "std", r3(a.std * u));
    setn(b, b->res, "replications", R);
    qsort(mk, (size_t)R, sizeof(double), dbl_cmp);
    setn(b, b->res, "makespanP50", r3(qg_quantile(mk, R, 0.5) * u));
    free(c);
    free(mk);
    return NULL;
}

static void strings_json(build_t *b, const char *key, const qg_warnings_t *w)
{
    qg_json_t *arr = qg_json_array();
    for (int i = 0; i < w->n; i++)
        push(b, arr, qg_json_string(w->msg[i]));
    setv(b, b->res, key, arr);
}

static void warnings_json(build_t *b)
{
    strings_json(b, "warnings", &b->p->warn);
    strings_json(b, "lawsFromHistory", &b->p->fitted);
}

static void units_json(build_t *b, int scenario)
{
    qg_json_t *x = qg_json_object();
    sets(b, x, "time", scenario ? "s" : "instance units");
    sets(b, x, "sourceTime", scenario ? "min" : "instance units");
    sets(b, x, "estimatedTime",
         "median of the order's completion time over the replications, "
         "measured from now");
    setv(b, b->res, "units", x);
}

static void order_json(build_t *b, const qg_engine_order_t *order)
{
    qg_json_t *x = qg_json_object();
    int lots = 0;
    for (int j = 0; j < b->p->n_jobs; j++)
        lots += b->p->target[j];
    sets(b, x, "productId", order->product_id);
    setn(b, x, "quantity", order->quantity);
    setn(b, x, "lotSize", order->lot_size > 0 ? order->lot_size : 1);
    setn(b, x, "jobs", lots);
    if (b->p->order_due >= 0)
        setn(b, x, "due", r3(b->p->order_due * b->unit));
    setn(b, b->res, "orderCompletion", r3(b->s->target_end * b->unit));
    setv(b, b->res, "order", x);
}

/* ---- entry points ---- */

/* Tabu iterations per offspring when not set: long for benchmarks, short for scenarios. */
#define LS_AUTO_BENCH    300
#define LS_AUTO_SCENARIO 40

static qg_error_t *optimize(const qg_fjsp_t *p, const qg_engine_options_t *o, double unit,
                            qg_engine_progress_cb cb, void *opaque, volatile sig_atomic_t *cancel,
                            double bound, qg_opt_result_t **r)
{
    qg_opt_params_t prm = {0};
    if (bound >= 0) { /* the order's completion: objective 2, or 1 when only the order is planned */
        prm.has_bound = 1;
        prm.bound = bound;
        prm.bound_obj = p->has_target ? 1 : 0;
    }
    prm.stall_generations = o->stall_generations > 0 ? o->stall_generations : 0;
    prm.no_freedom = o->stall_generations > 0 && qg_fjsp_no_freedom(p);
    prm.seed = o->seed;
    prm.time_limit_s = o->time_limit_s;
    prm.max_generations = o->max_generations;
    prm.max_evaluations = o->max_evaluations;
    if (prm.time_limit_s <= 0 && prm.max_generations <= 0 && prm.max_evaluations <= 0)
        prm.max_generations = 200;
    prm.population = o->population > 0 ? o->population : 30;
    prm.threads = o->threads > 0 ? o->threads : 1;
    prm.ls_iterations = o->ls_iterations >= 0 ? o->ls_iterations
                        : unit == 1.0         ? LS_AUTO_BENCH
                                              : LS_AUTO_SCENARIO;
    progress_ctx_t pc = {cb, opaque, unit};
    qg_error_t *err = qg_opt_run(p, &prm, cb ? opt_progress : NULL, &pc, cancel, r);
    if (!err && cancel && *cancel) {
        qg_opt_result_destroy(*r);
        *r = NULL;
        err = qg_error_new(QG_ERR_STAGE_ERROR, "cancelled during the optimization");
    }
    if (!err) {
        err = qg_sched_verify(p, (*r)->best, NULL);
        if (!err)
            err = qg_sched_verify(p, (*r)->best_f2, NULL);
        if (err) {
            qg_opt_result_destroy(*r);
            *r = NULL;
            err = qg_error_wrap(err, "internal error, optimizer produced an invalid plan");
        }
    }
    return err;
}

/* Hand the result over (or drop it on error) and free the optimizer state. */
static qg_error_t *finish_result(build_t *b, qg_opt_result_t *r, qg_fjsp_t *p, qg_error_t *err,
                                 qg_json_t **result_out)
{
    if (!err && b->fail)
        err = qg_error_new_oom("result: out of memory");
    qg_opt_result_destroy(r);
    qg_fjsp_destroy(p);
    if (err) {
        qg_json_destroy(b->res);
        return err;
    }
    *result_out = b->res;
    return NULL;
}

/* ---- planning: baseline, insert, reoptimize ---- */

static void planning_free(planning_t *pl)
{
    qg_sched_destroy(pl->plan);
    qg_sched_destroy(pl->baseline);
    qg_opt_result_destroy(pl->opt);
    memset(pl, 0, sizeof(*pl));
}

/* Optimize a sub-instance of p (jobs with keep[j] == want); op_map as qg_fjsp_subset. */
static qg_error_t *optimize_part(const qg_fjsp_t *p, unsigned char want, const qg_sched_t *fixed,
                                 const int *fixed_map, int n_fixed, const qg_engine_options_t *o,
                                 qg_engine_progress_cb cb, void *opaque,
                                 volatile sig_atomic_t *cancel, qg_opt_result_t **r,
                                 qg_fjsp_t **part, int *op_map, double *bound)
{
    unsigned char *keep = malloc((size_t)p->n_jobs);
    if (!keep)
        return qg_error_new_oom("out of memory");
    for (int j = 0; j < p->n_jobs; j++)
        keep[j] = p->target[j] == want;
    *part = qg_fjsp_subset(p, keep, op_map);
    free(keep);
    if (!*part || (fixed && qg_fjsp_fix_work(*part, p, fixed, fixed_map, n_fixed) < 0))
        return qg_error_new_oom("out of memory");
    *bound = want ? qg_fjsp_target_bound(*part) : -1.0;
    return optimize(*part, o, MINUTE, cb, opaque, cancel, *bound, r);
}

/* Existing work alone is planned with a quarter of the local search per offspring. */
static qg_engine_options_t baseline_options(const qg_engine_options_t *o)
{
    qg_engine_options_t bo = *o;
    bo.ls_iterations = (o->ls_iterations >= 0 ? o->ls_iterations : LS_AUTO_SCENARIO) / 4;
    return bo;
}

/* Existing jobs alone: the schedule the plant runs without the order. */
static qg_error_t *plan_baseline(const qg_fjsp_t *p, const qg_engine_options_t *o,
                                 qg_engine_progress_cb cb, void *opaque,
                                 volatile sig_atomic_t *cancel, planning_t *pl, int *base_map)
{
    qg_fjsp_t *part = NULL;
    qg_opt_result_t *r = NULL;
    double bound;
    qg_engine_options_t bo = baseline_options(o);
    qg_error_t *err =
        optimize_part(p, 0, NULL, NULL, 0, &bo, cb, opaque, cancel, &r, &part, base_map, &bound);
    if (!err) {
        pl->n_base_ops = part->n_ops;
        pl->baseline = qg_sched_new(part->n_ops);
        if (!pl->baseline)
            err = qg_error_new_oom("out of memory");
        else
            qg_sched_copy(pl->baseline, r->best);
        pl->baseline_generations = r->generations;
    }
    qg_opt_result_destroy(r);
    qg_fjsp_destroy(part);
    return err;
}

/* Insert: the order alone, around the baseline's fixed work; then both on the full instance. */
static qg_error_t *plan_insert(const qg_fjsp_t *p, const qg_engine_options_t *o,
                               qg_engine_progress_cb cb, void *opaque,
                               volatile sig_atomic_t *cancel, planning_t *pl, const int *base_map)
{
    qg_fjsp_t *part = NULL;
    int *map = malloc((size_t)p->n_ops * sizeof(int));
    if (!map)
        return qg_error_new_oom("out of memory");
    qg_error_t *err = optimize_part(p, 1, pl->baseline, base_map, pl->n_base_ops, o, cb, opaque,
                                    cancel, &pl->opt, &part, map, &pl->bound);
    if (!err && !(pl->plan = qg_sched_new(p->n_ops)))
        err = qg_error_new_oom("out of memory");
    if (!err) {
        for (int i = 0; i < pl->n_base_ops; i++) {
            int op = base_map[i];
            pl->plan->alt[op] = pl->baseline->alt[i];
            pl->plan->start[op] = pl->baseline->start[i];
            pl->plan->end[op] = pl->baseline->end[i];
        }
        const qg_sched_t *os = pl->opt->best;
        for (int i = 0; i < part->n_ops; i++) {
            pl->plan->alt[map[i]] = os->alt[i];
            pl->plan->start[map[i]] = os->start[i];
            pl->plan->end[map[i]] = os->end[i];
        }
        qg_sched_measure(p, pl->plan);
        if ((err = qg_sched_verify(p, pl->plan, NULL)))
            err = qg_error_wrap(err, "internal error, inserted order overlaps existing work");
    }
    free(map);
    qg_fjsp_destroy(part);
    return err;
}

static qg_error_t *plan_reoptimize(const qg_fjsp_t *p, const qg_engine_options_t *o,
                                   qg_engine_progress_cb cb, void *opaque,
                                   volatile sig_atomic_t *cancel, planning_t *pl)
{
    pl->bound = p->has_target ? qg_fjsp_target_bound(p) : -1.0;
    qg_error_t *err = optimize(p, o, MINUTE, cb, opaque, cancel, pl->bound, &pl->opt);
    if (err)
        return err;
    if (!(pl->plan = qg_sched_new(p->n_ops)))
        return qg_error_new_oom("out of memory");
    qg_sched_copy(pl->plan, p->has_target ? pl->opt->best_f2 : pl->opt->best);
    return NULL;
}

static qg_error_t *plan_order(const qg_fjsp_t *p, const qg_engine_order_t *order,
                              const qg_engine_options_t *o, qg_engine_progress_cb cb, void *opaque,
                              volatile sig_atomic_t *cancel, planning_t *pl)
{
    pl->policy = order ? order->policy : QG_ORDER_INSERT;
    pl->bound = -1;
    if (!p->has_target) { /* no order (the baseline itself), or no existing work next to it */
        int any_order = 0;
        for (int j = 0; j < p->n_jobs; j++)
            any_order |= p->target[j];
        qg_engine_options_t bo = baseline_options(o);
        return plan_reoptimize(p, any_order ? o : &bo, cb, opaque, cancel, pl);
    }
    int *base_map = malloc((size_t)p->n_ops * sizeof(int));
    if (!base_map)
        return qg_error_new_oom("out of memory");
    qg_error_t *err = plan_baseline(p, o, cb, opaque, cancel, pl, base_map);
    for (int i = 0; !err && i < pl->n_base_ops; i++)
        if (base_map[i] != i)
            err = qg_error_new(QG_ERR_STAGE_ERROR, "internal error: existing work not first");
    if (!err)
        err = pl->policy == QG_ORDER_INSERT ? plan_insert(p, o, cb, opaque, cancel, pl, base_map)
                                            : plan_reoptimize(p, o, cb, opaque, cancel, pl);
    free(base_map);
    return err;
}

/* impact: every existing job whose completion differs from the baseline's. */
static void impact_json(build_t *b, const planning_t *pl)
{
    const qg_fjsp_t *p = b->p;
    qg_json_t *x = qg_json_object(), *jobs = qg_json_array();
    int moved = 0, delayed = 0;
    double total = 0, worst = 0;
    for (int j = 0; pl->baseline && j < p->n_jobs; j++) {
        int last = p->job_first[j + 1] - 1;
        if (p->target[j] || last < p->job_first[j] || last >= pl->n_base_ops)
            continue;
        double before = pl->baseline->end[last], after = b->s->end[last];
        if (fabs(after - before) <= 1e-9 * (1.0 + fabs(before)))
            continue;
        char buf[48];
        double delay = after - before;
        qg_json_t *e = qg_json_object();
        sets(b, e, "job", job_name(p, j, buf, sizeof(buf)));
        setn(b, e, "baselineCompletion", r3(before * b->unit));
        setn(b, e, "newCompletion", r3(after * b->unit));
        setn(b, e, "delay", r3(delay * b->unit));
        push(b, jobs, e);
        moved++;
        if (delay > 0) {
            delayed++;
            total += delay;
            worst = delay > worst ? delay : worst;
        }
    }
    sets(b, x, "policy", qg_engine_policy_name(pl->policy));
    setn(b, x, "jobsMoved", moved);
    setn(b, x, "jobsDelayed", delayed);
    setn(b, x, "totalDelay", r3(total * b->unit));
    setn(b, x, "maxDelay", r3(worst * b->unit));
    setv(b, x, "jobs", jobs);
    setv(b, b->res, "impact", x);
}

static void planning_json(build_t *b, const planning_t *pl)
{
    qg_json_t *solver = qg_json_get(b->res, "solver");
    sets(b, b->res, "policy", qg_engine_policy_name(pl->policy));
    if (!solver)
        return;
    sets(b, solver, "stopReason", pl->opt->stop_reason ? pl->opt->stop_reason : "time");
    if (pl->bound >= 0)
        setn(b, solver, "orderCompletionBound", r3(pl->bound * b->unit));
    if (pl->baseline)
        setn(b, solver, "baselineGenerations", (double)pl->baseline_generations);
    if (pl->policy == QG_ORDER_INSERT && pl->baseline) { /* one plan: existing work is fixed */
        qg_json_t *objs = qg_json_array(); /* the order alone: its makespan is its completion */
        push(b, objs, qg_json_string("orderCompletion"));
        push(b, objs, qg_json_string(obj2_name(pl->opt->second_objective)));
        setv(b, solver, "objectives", objs);
        qg_json_t *front = qg_json_array(), *pt = qg_json_object();
        setn(b, pt, "makespan", r3(b->s->makespan * b->unit));
        setn(b, pt, "orderCompletion", r3(b->s->target_end * b->unit));
        push(b, front, pt);
        setv(b, b->res, "paretoFront", front);
    }
}

qg_error_t *qg_engine_run(const qg_json_t *scenario, const qg_engine_order_t *order,
                          const qg_engine_options_t *opts, qg_engine_progress_cb cb,
                          void *cb_opaque, volatile sig_atomic_t *cancel, qg_json_t **result_out)
{
    qg_engine_options_t o;
    qg_fjsp_t *p = NULL;
    planning_t pl;
    double t0 = qg_engine_now();
    memset(&pl, 0, sizeof(pl));
    *result_out = NULL;
    if (opts)
        o = *opts;
    else
        qg_engine_options_default(&o);
    qg_error_t *err = qg_scn_build_ex(scenario, order, MINUTE, o.stale_after_s, &p);
    if (!err)
        err = plan_order(p, order, &o, cb, cb_opaque, cancel, &pl);
    if (err) {
        planning_free(&pl);
        qg_fjsp_destroy(p);
        return err;
    }
    int with_order = order && order->product_id;
    build_t b = {p, pl.plan, MINUTE, qg_json_object(), 0};
    err = base_result(&b, pl.opt, &o);
    if (!err)
        err = replay_json(&b, order, &o, cancel);
    if (!err && with_order) {
        order_json(&b, order);
        impact_json(&b, &pl);
    }
    if (!err) {
        planning_json(&b, &pl);
        warnings_json(&b);
        units_json(&b, 1);
        setn(&b, qg_json_get(b.res, "solver"), "engineTimeS", r3(qg_engine_now() - t0));
        if (cb) {
            qg_engine_progress_t pr = {"replay",
                                       pl.opt->generations,
                                       b.s->makespan * MINUTE,
                                       b.s->target_end * MINUTE,
                                       o.replications,
                                       o.replications};
            cb(&pr, cb_opaque);
        }
    }
    qg_opt_result_t *r = pl.opt;
    pl.opt = NULL;
    planning_free(&pl);
    return finish_result(&b, r, p, err, result_out);
}

qg_error_t *qg_engine_solve_file(const char *path, const qg_engine_options_t *opts,
                                 qg_engine_progress_cb cb, void *cb_opaque,
                                 volatile sig_atomic_t *cancel, qg_json_t **result_out)
{
    qg_engine_options_t o;
    qg_fjsp_t *p = NULL;
    qg_opt_result_t *r = NULL;
    *result_out = NULL;
    if (opts)
        o = *opts;
    else
        qg_engine_options_default(&o);
    o.stall_generations = 0; /* benchmarks use their whole budget */
    qg_error_t *err = qg_fjsp_load_file(path, &p);
    if (!err)
        err = optimize(p, &o, 1.0, cb, cb_opaque, cancel, -1.0, &r);
    if (err) {
        qg_fjsp_destroy(p);
        return err;
    }
    build_t b = {p, r->best, 1.0, qg_json_object(), 0};
    err = base_result(&b, r, &o);
    if (!err) {
        units_json(&b, 0);
        if (b.res && qg_json_set_bool(b.res, "verified", 1) < 0)
            b.fail = 1;
        setn(&b, b.res, "lowerBound", qg_fjsp_lower_bound(p) / p->n_machines);
    }
    return finish_result(&b, r, p, err, result_out);
}

/* ---- plan verification ---- */

static int find_machine(const qg_fjsp_t *p, const char *name)
{
    char buf[64];
    for (int k = 0; name && k < p->n_machines; k++)
        if (!strcmp(machine_name(p, k, buf, sizeof(buf)), name))
            return k;
    return -1;
}

typedef struct {
    const char *name;
    int op;
} name_t;

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const name_t *)a)->name, ((const name_t *)b)->name);
}

/* Operation names sorted for lookup (scenario ops always carry names). */
static name_t *op_index(const qg_fjsp_t *p)
{
    name_t *ix = malloc((size_t)p->n_ops * sizeof(*ix));
    if (!ix)
        return NULL;
    for (int o = 0; o < p->n_ops; o++)
        ix[o] = (name_t){p->ops[o].name ? p->ops[o].name : "", o};
    qsort(ix, (size_t)p->n_ops, sizeof(*ix), name_cmp);
    return ix;
}

static int find_op(const qg_fjsp_t *p, const name_t *ix, const char *name)
{
    if (!name)
        return -1;
    name_t key = {name, 0};
    const name_t *hit = bsearch(&key, ix, (size_t)p->n_ops, sizeof(*ix), name_cmp);
    return hit ? hit->op : -1;
}

static qg_error_t *plan_to_sched(const qg_fjsp_t *p, const name_t *ix, const qg_json_t *result,
                                 qg_sched_t *s)
{
    const qg_json_t *ops = qg_json_path(result, "productionPlan.operations");
    if (!qg_json_is(ops, QG_JSON_ARRAY))
        return qg_error_new(QG_ERR_GATE_FAILED, "result has no productionPlan.operations");
    for (int o = 0; o < p->n_ops; o++) {
        s->alt[o] = -2; /* missing until seen */
        s->start[o] = s->end[o] = NAN;
    }
    for (size_t i = 0; i < qg_json_len(ops); i++) {
        const qg_json_t *x = qg_json_at(ops, i);
        int o = find_op(p, ix, qg_json_str(qg_json_get(x, "operation")));
        if (o < 0)
            return qg_error_new(QG_ERR_GATE_FAILED, "plan operation %zu is not in the scenario", i);
        if (s->alt[o] != -2)
            return qg_error_new(QG_ERR_GATE_FAILED, "operation %s planned twice", p->ops[o].name);
        int k = find_machine(p, qg_json_str(qg_json_get(x, "machine")));
        s->alt[o] = k >= 0 ? qg_fjsp_alt_index(p, o, k) : -1;
        s->start[o] = qg_scn_num(qg_json_get(x, "start"), NAN) / MINUTE;
        s->end[o] = qg_scn_num(qg_json_get(x, "end"), NAN) / MINUTE;
    }
    s->makespan = qg_scn_num(qg_json_get(result, "makespan"), NAN) / MINUTE;
    return NULL;
}

qg_error_t *qg_engine_verify_plan(const qg_json_t *scenario, const qg_engine_order_t *order,
                                  const qg_json_t *result)
{
    qg_fjsp_t *p = NULL;
    qg_error_t *err = qg_scn_build(scenario, order, MINUTE, &p);
    if (err)
        return qg_error_wrap(err, "verify");
    qg_sched_t *s = qg_sched_new(p->n_ops);
    name_t *ix = op_index(p);
    if (!s || !ix)
        err = qg_error_new_oom("verify: out of memory");
    if (!err)
        err = plan_to_sched(p, ix, result, s);
    if (!err)
        err = qg_sched_verify_tol(p, s, NULL, 0.002 / MINUTE);
    free(ix);
    qg_sched_destroy(s);
    qg_fjsp_destroy(p);
    return err;
}
