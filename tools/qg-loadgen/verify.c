/*
 * verify.c - read <prefix>.completed and <prefix>.dlq with isolation.level =
 * read_committed and check them against what produce sent:
 *   - every good goal in completed exactly once (or at least once), with
 *     executionLog.stages naming its pipeline's stages in order, each completed,
 *     no stage twice, and the user's own field intact;
 *   - every malformed message in the DLQ with __connect.errors.class bad_input;
 *   - no good goal in the DLQ.
 * Latency: end to end = completed record timestamp (or, live, the time it was
 * read) - QueryGoal.loadgen.producedAt; per hop = a stage's finishedAt - the
 * previous stage's finishedAt (producedAt for the first stage).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "loadgen.h"

#define LG_MAX_PROBLEMS 10
#define LG_MAX_NAMES    64

struct lg_report_s {
    long count, malformed;
    unsigned short *seen;    /* per good goal: copies in completed */
    unsigned short *bad_dlq; /* per malformed message: copies in the DLQ */
    long unique, bad_unique;
    long failing, failing_ok; /* goals asked to fail: expected, found in the DLQ right */
    long duplicates, bad_logs, dlq_wrong_class, misrouted, dlq_dups, foreign, unparsable;
    long records;
    lg_stats_t e2e, e2e_read, hop, stage_hop[LG_MAX_NAMES];
    const char *stage_name[LG_MAX_NAMES];
    int nstages;
    double first_produced, last_done, last_read;
    double elapsed_s;
    int timed_out;
    FILE *dump; /* --dump: one CSV line per completed goal */
    int nproblems;
    char problem[LG_MAX_PROBLEMS][320];
};

static void problem(lg_report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(lg_report_t *r, const char *fmt, ...)
{
    if (r->nproblems >= LG_MAX_PROBLEMS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->problem[r->nproblems++], sizeof(r->problem[0]), fmt, ap);
    va_end(ap);
}

static int stage_index(lg_report_t *r, const char *name)
{
    for (int i = 0; i < r->nstages; i++)
        if (strcmp(r->stage_name[i], name) == 0)
            return i;
    return -1;
}

static lg_report_t *report_new(const lg_opts_t *o)
{
    lg_report_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->count = o->count;
    r->malformed = o->malformed;
    r->seen = calloc((size_t)o->count + 1, sizeof(*r->seen));
    r->bad_dlq = calloc((size_t)o->malformed + 1, sizeof(*r->bad_dlq));
    r->first_produced = INFINITY;
    for (long s = 0; s < o->count; s++)
        r->failing += lg_fail_class(o, s) != NULL;
    if (!r->seen || !r->bad_dlq) {
        lg_report_destroy(r);
        return NULL;
    }
    for (int p = 0; p < o->npipelines; p++)
        for (int s = 0; s < o->pipelines[p].n; s++)
            if (stage_index(r, o->pipelines[p].stage[s]) < 0 && r->nstages < LG_MAX_NAMES)
                r->stage_name[r->nstages++] = o->pipelines[p].stage[s];
    return r;
}

void lg_report_destroy(lg_report_t *r)
{
    if (!r)
        return;
    if (r->dump)
        fclose(r->dump);
    free(r->seen);
    free(r->bad_dlq);
    lg_stats_free(&r->e2e);
    lg_stats_free(&r->e2e_read);
    lg_stats_free(&r->hop);
    for (int i = 0; i < LG_MAX_NAMES; i++)
        lg_stats_free(&r->stage_hop[i]);
    free(r);
}

/* Find "<tag><digits>" in buf (not NUL-terminated); returns the number or -1. */
static long find_tagged(const void *buf, size_t len, const char *tag)
{
    size_t tl = strlen(tag);
    const char *p = buf, *end = p + len;
    while (p < end && (p = memmem(p, (size_t)(end - p), tag, tl)) != NULL) {
        const char *d = p + tl;
        long v = 0;
        int nd = 0;
        for (; d < end && *d >= '0' && *d <= '9' && nd < 12; d++, nd++)
            v = v * 10 + (*d - '0');
        if (nd > 0 && (d == end || *d < '0' || *d > '9'))
            return v;
        p += tl;
    }
    return -1;
}

/* What a completed stage entry lacks: times, duration, worker, a passed gate. NULL if none. */
static const char *entry_incomplete(const qg_json_t *e)
{
    double started = lg_time_ms(qg_json_get(e, "startedAt"));
    double finished = lg_time_ms(qg_json_get(e, "finishedAt"));
    if (started < 0 || finished < 0)
        return "startedAt/finishedAt missing or not ISO-8601";
    if (finished < started)
        return "finishedAt before startedAt";
    if (!qg_json_is(qg_json_get(e, "durationMs"), QG_JSON_NUMBER))
        return "durationMs missing";
    const char *worker = qg_json_str(qg_json_get(e, "worker"));
    if (!worker || !*worker)
        return "worker missing";
    if (!qg_json_truthy(qg_json_get(qg_json_get(e, "gate"), "passed")))
        return "gate.passed is not true";
    return NULL;
}

/* Check one completed goal's execution log; returns NULL if fine, else why not. */
static const char *check_log(const qg_json_t *doc, const lg_pipeline_t *pl, long seq, char *why,
                             size_t whysz)
{
    const qg_json_t *log = qg_json_get(doc, "executionLog");
    const qg_json_t *stages = qg_json_get(log, "stages");
    size_t n = qg_json_len(stages);
    for (size_t k = 0; k < n; k++) {
        const char *name = qg_json_str(qg_json_get(qg_json_at(stages, k), "stage"));
        for (size_t m = 0; name && m < k; m++) {
            const char *prev = qg_json_str(qg_json_get(qg_json_at(stages, m), "stage"));
            if (prev && strcmp(name, prev) == 0) {
                snprintf(why, whysz, "stage %s logged twice", name);
                return why;
            }
        }
    }
    if (n != (size_t)pl->n) {
        snprintf(why, whysz, "%zu stage entries, expected %d", n, pl->n);
        return why;
    }
    for (int k = 0; k < pl->n; k++) {
        const qg_json_t *e = qg_json_at(stages, (size_t)k);
        const char *name = qg_json_str(qg_json_get(e, "stage"));
        const char *status = qg_json_str(qg_json_get(e, "status"));
        if (!name || strcmp(name, pl->stage[k]) != 0) {
            snprintf(why, whysz, "entry %d is stage %s, expected %s", k, name ? name : "(none)",
                     pl->stage[k]);
            return why;
        }
        if (!status || strcmp(status, "completed") != 0) {
            snprintf(why, whysz, "stage %s has status %s", name, status ? status : "(none)");
            return why;
        }
        const char *missing = entry_incomplete(e);
        if (missing) {
            snprintf(why, whysz, "stage %s entry: %s", name, missing);
            return why;
        }
    }
    const char *st = qg_json_str(qg_json_get(log, "status"));
    if (!st || strcmp(st, "completed") != 0) {
        snprintf(why, whysz, "executionLog.status is %s", st ? st : "(none)");
        return why;
    }
    if (lg_time_ms(qg_json_get(log, "endTime")) < 0) {
        snprintf(why, whysz, "executionLog.endTime missing");
        return why;
    }
    const qg_json_t *lg = qg_json_get(qg_json_get(doc, "QueryGoal"), "loadgen");
    if (qg_json_num(qg_json_get(lg, "seq"), -1) != (double)seq ||
        !qg_json_str(qg_json_get(lg, "pad"))) {
        snprintf(why, whysz, "the user field QueryGoal.loadgen was not kept");
        return why;
    }
    return NULL;
}

static const char *lg_goal_id_of(const qg_json_t *doc)
{
    const char *id = qg_json_str(qg_json_get(qg_json_get(doc, "QueryGoal"), "goalId"));
    return id ? id : "";
}

static void add_latency(lg_report_t *r, const qg_json_t *doc, double ts_ms, double read_ms,
                        int live)
{
    double produced = qg_json_num(
        qg_json_get(qg_json_get(qg_json_get(doc, "QueryGoal"), "loadgen"), "producedAt"), -1);
    if (produced <= 0)
        return;
    if (produced < r->first_produced)
        r->first_produced = produced;
    if (ts_ms > 0)
        lg_stats_add(&r->e2e, ts_ms - produced);
    if (live)
        lg_stats_add(&r->e2e_read, read_ms - produced);
    if (r->dump)
        fprintf(r->dump, "%s,%.3f,%.3f,%.3f,", lg_goal_id_of(doc), produced,
                ts_ms > 0 ? ts_ms - produced : -1, live ? read_ms - produced : -1);
    const qg_json_t *stages = qg_json_get(qg_json_get(doc, "executionLog"), "stages");
    double prev = produced;
    for (size_t k = 0; k < qg_json_len(stages); k++) {
        const qg_json_t *e = qg_json_at(stages, k);
        double fin = lg_time_ms(qg_json_get(e, "finishedAt"));
        const char *name = qg_json_str(qg_json_get(e, "stage"));
        if (fin < 0)
            break;
        lg_stats_add(&r->hop, fin - prev);
        int si = name ? stage_index(r, name) : -1;
        if (si >= 0)
            lg_stats_add(&r->stage_hop[si], fin - prev);
        if (r->dump)
            fprintf(r->dump, "%s%s:%.3f", k ? ";" : "", name ? name : "?", fin - prev);
        prev = fin;
    }
    if (r->dump)
        fputc('\n', r->dump);
}

static void on_completed(lg_report_t *r, const lg_opts_t *o, const rd_kafka_message_t *rkm,
                         double read_ms, int live)
{
    char err[256], tag[96], why[200];
    qg_json_t *doc = qg_json_parse(rkm->payload, rkm->len, err, sizeof(err));
    if (!doc) {
        r->unparsable++;
        problem(r, "completed[%d]@%lld: not JSON: %s", rkm->partition, (long long)rkm->offset, err);
        return;
    }
    const char *id = qg_json_str(qg_json_get(qg_json_get(doc, "QueryGoal"), "goalId"));
    snprintf(tag, sizeof(tag), "%s-g", o->run_id);
    long seq = id ? find_tagged(id, strlen(id), tag) : -1;
    if (seq < 0 || seq >= r->count || strncmp(id, tag, strlen(tag)) != 0) {
        r->foreign++;
        qg_json_destroy(doc);
        return;
    }
    if (lg_fail_class(o, seq)) {
        r->misrouted++;
        problem(r, "goal %s asked to fail with %s but is in completed", id, lg_fail_class(o, seq));
        qg_json_destroy(doc);
        return;
    }
    if (r->seen[seq] < 65535 && r->seen[seq]++ == 0) {
        r->unique++;
        rd_kafka_timestamp_type_t tst;
        add_latency(r, doc, (double)rd_kafka_message_timestamp(rkm, &tst), read_ms, live);
    } else {
        r->duplicates++;
        if (!o->at_least_once)
            problem(r, "goal %s arrived again in completed[%d]@%lld", id, rkm->partition,
                    (long long)rkm->offset);
    }
    if (check_log(doc, &o->pipelines[seq % o->npipelines], seq, why, sizeof(why))) {
        r->bad_logs++;
        problem(r, "goal %s: %s", id, why);
    }
    qg_json_destroy(doc);
}

static const char *header(const rd_kafka_message_t *rkm, const char *name, char *buf, size_t bufsz)
{
    rd_kafka_headers_t *hdrs;
    const void *val;
    size_t size;
    if (rd_kafka_message_headers(rkm, &hdrs) || rd_kafka_header_get_last(hdrs, name, &val, &size) ||
        !val)
        return NULL;
    snprintf(buf, bufsz, "%.*s", (int)size, (const char *)val);
    return buf;
}

/* A goal of this run in the DLQ: right only if it asked to fail, with the matching class. */
static void on_dlq_goal(lg_report_t *r, const lg_opts_t *o, long seq, const char *cls,
                        const char *msg)
{
    const char *fail = lg_fail_class(o, seq);
    if (!fail) {
        r->misrouted++;
        problem(r, "good goal %s-g%ld in the DLQ: class %s: %s", o->run_id, seq, cls, msg);
        return;
    }
    if (r->seen[seq] < 65535 && r->seen[seq]++ == 0) {
        r->unique++;
    } else {
        r->duplicates++;
        if (!o->at_least_once)
            problem(r, "goal %s-g%ld arrived again in the DLQ", o->run_id, seq);
    }
    if (strcmp(cls, lg_dlq_class_for(fail)) == 0) {
        r->failing_ok++;
    } else {
        r->dlq_wrong_class++;
        problem(r, "goal %s-g%ld asked to fail with %s: DLQ class %s, expected %s (%s)", o->run_id,
                seq, fail, cls, lg_dlq_class_for(fail), msg);
    }
}

static void on_dlq(lg_report_t *r, const lg_opts_t *o, const rd_kafka_message_t *rkm)
{
    char tag[96], cls[64], msg[200];
    snprintf(tag, sizeof(tag), "%s-m", o->run_id);
    long j = find_tagged(rkm->payload, rkm->len, tag);
    if (!header(rkm, "__connect.errors.class", cls, sizeof(cls)))
        snprintf(cls, sizeof(cls), "(none)");
    if (!header(rkm, "__connect.errors.exception.message", msg, sizeof(msg)))
        snprintf(msg, sizeof(msg), "(no message header)");
    if (j >= 0 && j < r->malformed) {
        if (r->bad_dlq[j] < 65535 && r->bad_dlq[j]++ == 0)
            r->bad_unique++;
        else if (r->dlq_dups++ == 0 && !o->at_least_once)
            problem(r, "malformed %s%ld arrived again in the DLQ", tag, j);
        if (strcmp(cls, "bad_input") != 0) {
            r->dlq_wrong_class++;
            problem(r, "malformed %s%ld (%s): class %s, expected bad_input (%s)", tag, j,
                    lg_bad_kind_name((int)(j % LG_BAD_KINDS)), cls, msg);
        }
        return;
    }
    snprintf(tag, sizeof(tag), "%s-g", o->run_id);
    long seq = find_tagged(rkm->payload, rkm->len, tag);
    if (seq >= 0 && seq < r->count) {
        on_dlq_goal(r, o, seq, cls, msg);
        return;
    }
    r->foreign++;
}

static int all_seen(const lg_report_t *r)
{
    return r->unique == r->count && r->bad_unique == r->malformed;
}

static rd_kafka_t *consumer_new(const lg_opts_t *o, qg_error_t **errp)
{
    char errstr[512], group[128];
    rd_kafka_conf_t *conf = lg_kafka_conf(o, errstr, sizeof(errstr));
    if (!conf) {
        *errp = qg_error_new_bad_input("%s", errstr);
        return NULL;
    }
    snprintf(group, sizeof(group), "qg-loadgen-verify-%d-%.0f", (int)getpid(), lg_now_ms());
    const char *kv[][2] = {
        {"group.id", group},
        {"enable.auto.commit", "false"},
        {"auto.offset.reset", "earliest"},
        {"isolation.level", "read_committed"},
        {"enable.partition.eof", "false"},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr))) {
            rd_kafka_conf_destroy(conf);
            *errp = qg_error_new_bad_input("%s", errstr);
            return NULL;
        }
    rd_kafka_t *rk = qg_kafka_consumer_new(conf, errstr, sizeof(errstr));
    if (!rk)
        *errp = qg_error_new_fatal("rd_kafka_new: %s", errstr);
    return rk;
}

/* Poll until everything arrived and --settle passed, or until --timeout. */
static void consume_loop(rd_kafka_t *rk, lg_report_t *r, const lg_opts_t *o, const char *done,
                         int live, double start)
{
    double deadline = start + o->timeout_s * 1000, settled_at = -1;
    for (;;) {
        double now = lg_now_ms();
        if (settled_at < 0 && all_seen(r))
            settled_at = now + o->settle_s * 1000;
        if (settled_at >= 0 && now >= settled_at)
            break;
        if (now >= deadline) {
            r->timed_out = !all_seen(r);
            break;
        }
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, LG_POLL_SLICE_MS);
        if (!rkm)
            continue;
        now = lg_now_ms();
        if (rkm->err) {
            if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "qg-loadgen: consumer: %s\n", rd_kafka_message_errstr(rkm));
        } else if (strcmp(rd_kafka_topic_name(rkm->rkt), done) == 0) {
            r->records++;
            on_completed(r, o, rkm, now, live);
            r->last_read = now;
            rd_kafka_timestamp_type_t tst;
            double ts = (double)rd_kafka_message_timestamp(rkm, &tst);
            if (ts > r->last_done)
                r->last_done = ts;
        } else {
            r->records++;
            on_dlq(r, o, rkm);
        }
        rd_kafka_message_destroy(rkm);
    }
}

lg_report_t *lg_verify_run(const lg_opts_t *o, int live, qg_error_t **errp)
{
    char done[300], dlq[300];
    const char *topics[2] = {lg_topic(done, sizeof(done), o->prefix, "completed"),
                             lg_topic(dlq, sizeof(dlq), o->prefix, "dlq")};
    const int required[2] = {o->count > 0, o->malformed > 0};
    double start = lg_now_ms();
    *errp = NULL;
    lg_report_t *r = report_new(o);
    if (!r) {
        *errp = qg_error_new_oom("out of memory");
        return NULL;
    }
    if (o->dump_path && !(r->dump = fopen(o->dump_path, "w"))) {
        *errp = qg_error_new_bad_input("--dump %s: cannot open", o->dump_path);
        lg_report_destroy(r);
        return NULL;
    }
    if (r->dump)
        fprintf(r->dump, "goal,produced_ms,e2e_ms,read_ms,hops_ms\n");
    rd_kafka_t *rk = consumer_new(o, errp);
    /* live: this run's goals are produced only after the assignment, so the earlier runs'
     * records (read at the consumer's pace) are skipped, not counted as this run's latency. */
    if (!rk || (*errp = lg_assign_all(rk, topics, required, 2, o->timeout_s, live)) != NULL) {
        if (rk)
            rd_kafka_destroy(rk);
        lg_report_destroy(r);
        return NULL;
    }
    if (live)
        lg_verifier_ready();
    consume_loop(rk, r, o, done, live, start);
    r->elapsed_s = (lg_now_ms() - start) / 1000.0;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return r;
}

static int report_passed(const lg_report_t *r, const lg_opts_t *o)
{
    int ok = r->unique == r->count && r->failing_ok >= r->failing &&
             r->bad_unique == r->malformed && r->bad_logs == 0 && r->dlq_wrong_class == 0 &&
             r->misrouted == 0 && r->unparsable == 0;
    if (!o->at_least_once)
        ok = ok && r->duplicates == 0 && r->dlq_dups == 0;
    return ok;
}

/* Goals per second from the first goal's production to the last completion. */
static double throughput(const lg_report_t *r, int live)
{
    double end = live ? r->last_read : r->last_done;
    if (!isfinite(r->first_produced) || end <= r->first_produced)
        return NAN;
    return (double)r->unique / ((end - r->first_produced) / 1000.0);
}

static int json_nums(qg_json_t *obj, const char *const *keys, const double *vals, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= qg_json_set_num(obj, keys[i], vals[i]);
    return bad;
}

/* One JSON line; NaN (no samples) is written as null. */
static void print_json(lg_report_t *r, const lg_opts_t *o, const char *mode, int ok)
{
    int live = strcmp(mode, "bench") == 0;
    static const char *const keys[] = {
        "count",     "completed",       "missing",        "duplicates", "bad_logs", "malformed",
        "dlq_ok",    "dlq_wrong_class", "dlq_duplicates", "misrouted",  "foreign",  "throughput",
        "e2e_p50",   "e2e_p99",         "read_p50",       "read_p99",   "hop_p50",  "hop_p99",
        "elapsed_s", "failing",         "failing_ok",
    };
    const double vals[] = {
        (double)r->count,
        (double)r->unique,
        (double)(r->count - r->unique),
        (double)r->duplicates,
        (double)r->bad_logs,
        (double)r->malformed,
        (double)r->bad_unique,
        (double)r->dlq_wrong_class,
        (double)r->dlq_dups,
        (double)r->misrouted,
        (double)r->foreign,
        throughput(r, live),
        lg_stats_pct(&r->e2e, 50),
        lg_stats_pct(&r->e2e, 99),
        lg_stats_pct(&r->e2e_read, 50),
        lg_stats_pct(&r->e2e_read, 99),
        lg_stats_pct(&r->hop, 50),
        lg_stats_pct(&r->hop, 99),
        r->elapsed_s,
        (double)r->failing,
        (double)r->failing_ok,
    };
    qg_json_t *doc = qg_json_object();
    int bad = qg_json_set_str(doc, "mode", mode) | qg_json_set_bool(doc, "passed", ok) |
              qg_json_set_bool(doc, "at_least_once", o->at_least_once) |
              json_nums(doc, keys, vals, sizeof(vals) / sizeof(vals[0]));
    qg_json_t *stages = qg_json_get_or_add_object(doc, "stages");
    for (int i = 0; i < r->nstages; i++) {
        qg_json_t *s = qg_json_object();
        bad |= qg_json_set_num(s, "hop_p50", lg_stats_pct(&r->stage_hop[i], 50)) |
               qg_json_set_num(s, "hop_p99", lg_stats_pct(&r->stage_hop[i], 99)) |
               qg_json_set(stages, r->stage_name[i], s);
    }
    char *text = bad ? NULL : qg_json_serialize(doc, 0, NULL);
    printf("%s\n", text ? text : "{\"error\":\"out of memory\"}");
    free(text);
    qg_json_destroy(doc);
}

static void print_text(lg_report_t *r, const lg_opts_t *o, const char *mode, int ok)
{
    int live = strcmp(mode, "bench") == 0;
    printf("%s: %s\n", mode, ok ? "PASSED" : "FAILED");
    printf("  goals:     %ld/%ld in %s.completed, missing %ld, duplicates %ld%s, bad logs %ld\n",
           r->unique - r->failing_ok, r->count - r->failing, o->prefix, r->count - r->unique,
           r->duplicates, o->at_least_once ? " (at-least-once: allowed)" : "", r->bad_logs);
    if (r->failing)
        printf("  failing:   %ld/%ld goals asked to fail in %s.dlq with the expected class\n",
               r->failing_ok, r->failing, o->prefix);
    printf("  malformed: %ld/%ld in %s.dlq, wrong class %ld, duplicates %ld, misrouted goals "
           "%ld, other records %ld\n",
           r->bad_unique, r->malformed, o->prefix, r->dlq_wrong_class, r->dlq_dups, r->misrouted,
           r->foreign);
    printf("  throughput %.0f goals/s; latency ms: e2e p50 %.1f p99 %.1f", throughput(r, live),
           lg_stats_pct(&r->e2e, 50), lg_stats_pct(&r->e2e, 99));
    if (live)
        printf(" (read p50 %.1f p99 %.1f)", lg_stats_pct(&r->e2e_read, 50),
               lg_stats_pct(&r->e2e_read, 99));
    printf("; per hop p50 %.1f p99 %.1f\n", lg_stats_pct(&r->hop, 50), lg_stats_pct(&r->hop, 99));
    for (int i = 0; i < r->nstages; i++)
        printf("    hop to %-16s p50 %.1f p99 %.1f (n=%zu)\n", r->stage_name[i],
               lg_stats_pct(&r->stage_hop[i], 50), lg_stats_pct(&r->stage_hop[i], 99),
               r->stage_hop[i].n);
    if (r->timed_out)
        printf("  timed out after %.0f s\n", o->timeout_s);
}

int lg_report_print(lg_report_t *r, const lg_opts_t *o, const char *mode)
{
    int ok = report_passed(r, o);
    for (int i = 0; i < r->nproblems; i++)
        fprintf(stderr, "qg-loadgen: %s\n", r->problem[i]);
    long missing_shown = 0;
    for (long s = 0; s < r->count && missing_shown < 10; s++)
        if (r->seen[s] == 0 && ++missing_shown)
            fprintf(stderr, "qg-loadgen: missing goal %s-g%ld\n", o->run_id, s);
    for (long j = 0; j < r->malformed && missing_shown < 20; j++)
        if (r->bad_dlq[j] == 0 && ++missing_shown)
            fprintf(stderr, "qg-loadgen: malformed %s-m%ld (%s) not in the DLQ\n", o->run_id, j,
                    lg_bad_kind_name((int)(j % LG_BAD_KINDS)));
    if (o->json)
        print_json(r, o, mode, ok);
    else
        print_text(r, o, mode, ok);
    fflush(stdout);
    return ok ? 0 : 1;
}

int lg_cmd_verify(lg_opts_t *o)
{
    qg_error_t *err = NULL;
    lg_report_t *r = lg_verify_run(o, 0, &err);
    if (!r) {
        fprintf(stderr, "qg-loadgen: verify: %s\n", qg_error_message(err));
        qg_error_destroy(err);
        return 2;
    }
    int rc = lg_report_print(r, o, "verify");
    lg_report_destroy(r);
    return rc;
}
