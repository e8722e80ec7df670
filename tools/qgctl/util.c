/*
 * util.c - configuration, files and summaries shared by qgctl commands.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "goal.h"
#include "kafka.h"
#include "log.h"
#include "qgctl.h"
#include "report/report.h"

static const qg_option_t qgctl_options[] = {
    QG_OPT_STR("stage", NULL, "stage name for generic stages"),
    QG_OPT_STR("registry.dir", NULL, "model registry directory"),
    QG_OPT_TABLE_END("qgctl"),
};

qg_config_t *qgctl_config(const qg_cli_t *cli, int argc, char **argv, const qg_option_t *extra,
                          char ***rest, int *nrest, int *exit_code)
{
    const qg_option_t *const tables[] = {qg_kafka_options, qgctl_options, extra};
    return qg_cli_config(cli, tables, 3, argc, argv, rest, nrest, exit_code);
}

static void print_bottlenecks(const qg_json_t *b, FILE *f)
{
    size_t n = qg_json_len(b) < 3 ? qg_json_len(b) : 3;
    for (size_t i = 0; i < n; i++) {
        const qg_json_t *e = qg_json_at(b, i);
        const char *m = qg_json_str(qg_json_get(e, "machine"));
        double u = qg_json_num(qg_json_get(e, "utilization"), NAN);
        fprintf(f, "    %zu. %s", i + 1, m ? m : "?");
        if (!isnan(u))
            fprintf(f, "  utilization %.0f %%", u <= 1.0 ? u * 100 : u);
        fputc('\n', f);
    }
}

static const char *str_or(const qg_json_t *v, const char *key, const char *dflt)
{
    const char *s = qg_json_str(qg_json_get(v, key));
    return s ? s : dflt;
}

/* Query goals: failureCount with each failure, or the product's location. */
static void print_query_answer(const qg_json_t *out, FILE *f)
{
    const qg_json_t *count = qg_json_get(out, "failureCount");
    const qg_json_t *failures = qg_json_get(out, "failures");
    const qg_json_t *loc = qg_json_get(out, "location");
    if (qg_json_is(count, QG_JSON_NUMBER)) {
        double n = qg_json_num(count, 0);
        fprintf(f, "answer    %.0f cooling failure%s\n", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < qg_json_len(failures) && i < 10; i++) {
            const qg_json_t *e = qg_json_at(failures, i);
            fprintf(f, "    %s  %s  %s %s (job %s; %zu job log entries, %zu coolant readings)\n",
                    str_or(e, "time", "?"), str_or(e, "machine", "?"), str_or(e, "code", "?"),
                    str_or(e, "message", ""), str_or(e, "jobId", "-"),
                    qg_json_len(qg_json_get(e, "jobLog")), qg_json_len(qg_json_get(e, "readings")));
        }
    }
    if (qg_json_is(loc, QG_JSON_OBJECT)) {
        const qg_json_t *step = qg_json_get(loc, "step");
        fprintf(f, "answer    %s is at %s since %s (%s), job %s, %s (step %.0f); next: %s\n",
                str_or(loc, "productId", "?"), str_or(loc, "station", "?"),
                str_or(loc, "since", "?"), str_or(loc, "event", "?"), str_or(loc, "jobId", "?"),
                str_or(loc, "operation", "?"), qg_json_num(step, 0), str_or(loc, "nextStep", "?"));
    }
}

/* Policy, promise and its basis in words, what the order delays, warnings. */
static void print_promise(const qg_json_t *out, FILE *f)
{
    const qg_json_t *conf = qg_json_get(out, "confidence");
    const char *basis = qg_json_str(qg_json_get(out, "confidenceBasis"));
    const char *statement = qg_json_str(qg_json_get(out, "promiseStatement"));
    const char *policy = qg_json_str(qg_json_get(out, "policy"));
    if (statement)
        fprintf(f, "promise   %s\n", statement);
    if (qg_json_is(conf, QG_JSON_NUMBER))
        fprintf(f, "confidence %.2f (%s)\n", qg_json_num(conf, 0), qg_report_basis_words(basis));
    else if (basis && !strcmp(basis, "deterministic"))
        fprintf(f, "confidence none: %s\n", qg_report_basis_words(basis));
    if (policy)
        fprintf(f, "policy    %s\n", qg_report_policy_words(policy));
    const qg_json_t *impact = qg_json_get(out, "impact");
    const qg_json_t *jobs = qg_json_get(impact, "jobs");
    if (impact && qg_json_len(jobs) == 0)
        fprintf(f, "impact    no existing job moves\n");
    if (qg_json_len(jobs) > 0) {
        char t[32], m[32];
        fprintf(f, "impact    %.0f existing jobs move, delays total %s, largest %s\n",
                qg_json_num(qg_json_get(impact, "jobsMoved"), 0),
                qg_report_duration(t, sizeof(t), qg_json_num(qg_json_get(impact, "totalDelay"), 0)),
                qg_report_duration(m, sizeof(m), qg_json_num(qg_json_get(impact, "maxDelay"), 0)));
        for (size_t i = 0; i < qg_json_len(jobs) && i < 10; i++) {
            const qg_json_t *j = qg_json_at(jobs, i);
            char d[32];
            fprintf(f, "    %-12s delayed %s\n", qg_json_str(qg_json_get(j, "job")),
                    qg_report_duration(d, sizeof(d), qg_json_num(qg_json_get(j, "delay"), 0)));
        }
        if (qg_json_len(jobs) > 10)
            fprintf(f, "    ... %zu more (outputs.impact.jobs)\n", qg_json_len(jobs) - 10);
    }
    const qg_json_t *warn = qg_json_get(out, "warnings");
    for (size_t i = 0; i < qg_json_len(warn); i++)
        fprintf(f, "%s %s\n", i ? "         " : "warnings", qg_json_str(qg_json_at(warn, i)));
}

void qgctl_print_summary(const qg_json_t *doc, FILE *f)
{
    const qg_json_t *q = qg_goal_query(doc);
    const qg_json_t *out = qg_json_get(q, "outputs");
    const qg_json_t *log = qg_json_get(doc, "executionLog");
    fprintf(f, "goal      %s (%s)\n", qg_goal_id(doc) ? qg_goal_id(doc) : "?",
            qg_goal_type(doc) ? qg_goal_type(doc) : "?");
    const char *status = qg_json_str(qg_json_get(log, "status"));
    fprintf(f, "status    %s\n", status ? status : "unknown");
    const qg_json_t *est = qg_json_get(out, "estimatedTime");
    if (qg_json_is(est, QG_JSON_NUMBER)) {
        char h[64];
        qg_report_duration(h, sizeof(h), qg_json_num(est, 0));
        fprintf(f, "answer    estimated time %s (%.0f s)\n", h, qg_json_num(est, 0));
    }
    print_query_answer(out, f);
    print_promise(out, f);
    const qg_json_t *pct = qg_json_get(out, "percentiles");
    if (qg_json_len(pct) > 0) {
        fprintf(f, "range     ");
        for (size_t i = 0; i < qg_json_len(pct); i++)
            fprintf(f, "%s%s %.0f s", i ? ", " : "", qg_json_key_at(pct, i),
                    qg_json_num(qg_json_at(pct, i), 0));
        fputc('\n', f);
    }
    const qg_json_t *b = qg_json_get(out, "bottlenecks");
    if (qg_json_len(b) > 0) {
        fprintf(f, "bottlenecks\n");
        print_bottlenecks(b, f);
    }
    const qg_json_t *stages = qg_json_get(log, "stages");
    for (size_t i = 0; i < qg_json_len(stages); i++) {
        const qg_json_t *e = qg_json_at(stages, i);
        fprintf(f, "  stage %-14s %-9s %6.0f ms  gate: %s\n",
                qg_json_str(qg_json_get(e, "stage")) ? qg_json_str(qg_json_get(e, "stage")) : "?",
                qg_json_str(qg_json_get(e, "status")) ? qg_json_str(qg_json_get(e, "status")) : "?",
                qg_json_num(qg_json_get(e, "durationMs"), 0),
                qg_json_str(qg_json_path(e, "gate.reason"))
                    ? qg_json_str(qg_json_path(e, "gate.reason"))
                    : "");
    }
}
