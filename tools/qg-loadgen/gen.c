/*
 * gen.c - the goals and malformed messages qg-loadgen sends.
 *
 * A good goal, padded to about --size bytes with a user field that every stage
 * must keep:
 *   {"QueryGoal":{"goalId":"<run>-g<n>","goalType":"loadTest",
 *     "parameters":[{"key":"seq","value":n,"type":"integer"}],
 *     "outputSpec":[{"key":"echo","type":"object"}],
 *     "metadata":{"category":"test","pipelineStages":[...]},
 *     "loadgen":{"run":"<run>","seq":n,"producedAt":<epoch ms>,"pad":"..."}}}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadgen.h"

double lg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static const char *const bad_kinds[LG_BAD_KINDS] = {
    "not_json", "not_object", "no_querygoal", "no_goalid", "unknown_stage", "oversize",
};

const char *lg_bad_kind_name(int kind)
{
    return kind >= 0 && kind < LG_BAD_KINDS ? bad_kinds[kind] : "?";
}

static qg_json_t *stages_array(const lg_pipeline_t *pl)
{
    qg_json_t *arr = qg_json_array();
    for (int i = 0; arr && i < pl->n; i++)
        if (qg_json_append(arr, qg_json_string(pl->stage[i])))
            return qg_json_destroy(arr), NULL;
    return arr;
}

/* The QueryGoal body without the padding field. Setters consume their value and
 * accept a NULL container, so `|` chains leak nothing when an allocation fails. */
static qg_json_t *goal_body(const char *goal_id, const char *goal_type, long seq,
                            const lg_pipeline_t *pl, const char *fail_class)
{
    qg_json_t *qg = qg_json_object();
    if (!qg)
        return NULL;
    int bad = goal_id ? qg_json_set_str(qg, "goalId", goal_id) : 0;
    bad |= qg_json_set_str(qg, "goalType", goal_type);
    qg_json_t *p = qg_json_object();
    bad |= qg_json_set_str(p, "key", "seq") | qg_json_set_num(p, "value", (double)seq) |
           qg_json_set_str(p, "type", "integer");
    bad |= qg_json_append(qg_json_get_or_add_array(qg, "parameters"), p);
    if (fail_class) {
        qg_json_t *f = qg_json_object();
        bad |= qg_json_set_str(f, "key", "fail") | qg_json_set_str(f, "value", fail_class) |
               qg_json_set_str(f, "type", "string");
        bad |= qg_json_append(qg_json_get_or_add_array(qg, "parameters"), f);
    }
    qg_json_t *s = qg_json_object();
    bad |= qg_json_set_str(s, "key", "echo") | qg_json_set_str(s, "type", "object");
    bad |= qg_json_append(qg_json_get_or_add_array(qg, "outputSpec"), s);
    qg_json_t *meta = qg_json_get_or_add_object(qg, "metadata");
    bad |= qg_json_set_str(meta, "category", "test") |
           qg_json_set(meta, "pipelineStages", stages_array(pl));
    if (bad) {
        qg_json_destroy(qg);
        return NULL;
    }
    return qg;
}

/* {"QueryGoal": body} with body.loadgen = {run, seq, producedAt, pad} of ~size bytes.
 * Consumes body. */
static char *wrap_padded(qg_json_t *body, const lg_opts_t *o, long seq, double produced_ms,
                         size_t size, size_t *lenp)
{
    qg_json_t *doc = qg_json_object();
    int bad = qg_json_set(doc, "QueryGoal", body);
    body = qg_json_get(doc, "QueryGoal"); /* owned by doc now */
    qg_json_t *lg = qg_json_get_or_add_object(body, "loadgen");
    bad |= qg_json_set_str(lg, "run", o->run_id) | qg_json_set_num(lg, "seq", (double)seq) |
           qg_json_set_num(lg, "producedAt", produced_ms) | qg_json_set_str(lg, "pad", "");
    size_t len = 0;
    char *out = bad ? NULL : qg_json_serialize(doc, 0, &len);
    if (out && len < size) {
        size_t padlen = size - len;
        char *pad = malloc(padlen + 1);
        free(out);
        out = NULL;
        if (pad) {
            memset(pad, 'x', padlen);
            pad[padlen] = '\0';
            if (qg_json_set_str(lg, "pad", pad) == 0)
                out = qg_json_serialize(doc, 0, &len);
            free(pad);
        }
    }
    qg_json_destroy(doc);
    if (out && lenp)
        *lenp = len;
    return out;
}

const char *lg_fail_class(const lg_opts_t *o, long seq)
{
    if (o->fail_every <= 0 || o->nfail_classes == 0 || seq % o->fail_every != o->fail_every - 1)
        return NULL;
    return o->fail_class[(seq / o->fail_every) % o->nfail_classes];
}

const char *lg_dlq_class_for(const char *fail_class)
{
    return strcmp(fail_class, "transient") == 0 ? "transient_exhausted" : fail_class;
}

char *lg_goal_value(const lg_opts_t *o, long seq, double produced_ms, size_t *lenp)
{
    char id[128];
    snprintf(id, sizeof(id), "%s-g%ld", o->run_id, seq);
    const lg_pipeline_t *pl = &o->pipelines[seq % o->npipelines];
    qg_json_t *body = goal_body(id, "loadTest", seq, pl, lg_fail_class(o, seq));
    return body ? wrap_padded(body, o, seq, produced_ms, o->size, lenp) : NULL;
}

/* A goal whose pipeline names a stage no worker knows. */
static char *bad_unknown_stage(const lg_opts_t *o, long j, const char *marker, size_t *lenp)
{
    lg_pipeline_t pl = o->pipelines[0];
    if (pl.n < LG_MAX_STAGES)
        pl.stage[pl.n++] = "noSuchStage";
    else
        pl.stage[pl.n - 1] = "noSuchStage";
    qg_json_t *body = goal_body(marker, "loadTest", j, &pl, NULL);
    return body ? wrap_padded(body, o, j, lg_now_ms(), 256, lenp) : NULL;
}

static char *bad_oversize(const lg_opts_t *o, long j, const char *marker, size_t *lenp)
{
    qg_json_t *body = goal_body(marker, "loadTest", j, &o->pipelines[0], NULL);
    return body ? wrap_padded(body, o, j, lg_now_ms(), o->max_bytes + 1024, lenp) : NULL;
}

static char *bad_no_goal_id(const lg_opts_t *o, long j, const char *marker, size_t *lenp)
{
    qg_json_t *body = goal_body(NULL, marker, j, &o->pipelines[0], NULL);
    return body ? wrap_padded(body, o, j, lg_now_ms(), 256, lenp) : NULL;
}

static char *printed(size_t *lenp, const char *fmt, const char *marker)
{
    char *out = NULL;
    int n = asprintf(&out, fmt, marker);
    if (n < 0)
        return NULL;
    *lenp = (size_t)n;
    return out;
}

char *lg_bad_value(const lg_opts_t *o, long j, size_t *lenp, char *keybuf, size_t keysz)
{
    char marker[128];
    snprintf(marker, sizeof(marker), "%s-m%ld", o->run_id, j);
    snprintf(keybuf, keysz, "%s", marker);
    size_t len = 0;
    char *v = NULL;
    switch (j % LG_BAD_KINDS) {
    case 0:
        v = printed(&len, "this is not JSON {\"QueryGoal\": %s", marker);
        break;
    case 1:
        v = printed(&len, "[\"QueryGoal\", \"%s\"]", marker);
        break;
    case 2:
        v = printed(&len, "{\"goal\":{\"goalId\":\"%s\",\"goalType\":\"loadTest\"}}", marker);
        break;
    case 3:
        v = bad_no_goal_id(o, j, marker, &len);
        break;
    case 4:
        v = bad_unknown_stage(o, j, marker, &len);
        break;
    default:
        v = bad_oversize(o, j, marker, &len);
        break;
    }
    if (v && lenp)
        *lenp = len;
    return v;
}

/* "2026-11-24T04:08:05.123Z" -> epoch ms. */
static double iso_ms(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int frac_len = 0;
    unsigned frac = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    const char *dot = strchr(s, '.');
    if (dot) {
        for (const char *p = dot + 1; *p >= '0' && *p <= '9' && frac_len < 6; p++, frac_len++)
            frac = frac * 10 + (unsigned)(*p - '0');
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    double ms = (double)timegm(&tm) * 1000.0;
    double scale = 1000.0;
    for (int i = 0; i < frac_len; i++)
        scale /= 10.0;
    return ms + frac * scale;
}

double lg_time_ms(const qg_json_t *v)
{
    if (qg_json_is(v, QG_JSON_NUMBER))
        return qg_json_num(v, -1);
    const char *s = qg_json_str(v);
    return s ? iso_ms(s) : -1;
}
