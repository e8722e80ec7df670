/*
 * goaltype.c - goal-type declarations and the parameter check at pipeline entry.
 */
#include "goaltype.h"

#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "goal.h"
#include "log.h"
#include "timerange.h"
#include "yaml_json.h"

#define BAD(...) qg_error_new(QG_ERR_BAD_INPUT, __VA_ARGS__)

struct qg_goaltypes_s {
    qg_json_t *doc;   /* the whole file as JSON */
    qg_json_t *goals; /* doc.goals */
    char *path;
    char *dir;
};

static const char *const param_types[] = {"string", "integer", "number", "date", NULL};

/* ---------- loading ---------- */

static qg_error_t *check_param_decl(const char *name, const char *type, size_t i,
                                    const qg_json_t *p)
{
    const char *key = qg_json_str(qg_json_get(p, "key"));
    const char *ptype = qg_json_str(qg_json_get(p, "type"));
    const char *shape = qg_json_str(qg_json_get(p, "shape"));
    int known = 0;
    if (!key || !*key)
        return BAD("%s: goal type %s: parameters[%zu]: key is missing", name, type, i);
    for (size_t t = 0; ptype && param_types[t]; t++)
        known |= !strcmp(param_types[t], ptype);
    if (!known)
        return BAD("%s: goal type %s: parameter %s: type must be string, integer, number or "
                   "date, got %s",
                   name, type, key, ptype ? ptype : "nothing");
    if (shape) {
        regex_t re;
        if (regcomp(&re, shape, REG_EXTENDED | REG_NOSUB) != 0)
            return BAD("%s: goal type %s: parameter %s: shape is not a valid regex", name, type,
                       key);
        regfree(&re);
    }
    return NULL;
}

static qg_error_t *check_decl(const char *name, size_t i, const qg_json_t *g)
{
    const char *type = qg_json_str(qg_json_get(g, "goalType"));
    const qg_json_t *stages = qg_json_get(g, "pipelineStages");
    const qg_json_t *params = qg_json_get(g, "parameters");
    if (!type || !*type)
        return BAD("%s: goals[%zu]: goalType is missing", name, i);
    if (!qg_json_is(stages, QG_JSON_ARRAY) || qg_json_len(stages) == 0)
        return BAD("%s: goal type %s: pipelineStages must list at least one stage", name, type);
    for (size_t s = 0; s < qg_json_len(stages); s++)
        if (!qg_json_str(qg_json_at(stages, s)))
            return BAD("%s: goal type %s: pipelineStages[%zu] is not a name", name, type, s);
    if (params && !qg_json_is(params, QG_JSON_ARRAY))
        return BAD("%s: goal type %s: parameters must be a list", name, type);
    for (size_t p = 0; p < qg_json_len(params); p++) {
        qg_error_t *err = check_param_decl(name, type, p, qg_json_at(params, p));
        if (err)
            return err;
    }
    return NULL;
}

qg_error_t *qg_goaltypes_parse(const char *yaml, size_t len, const char *name, const char *dir,
                               qg_goaltypes_t **out)
{
    qg_error_t *err = NULL;
    *out = NULL;
    qg_json_t *doc = qg_yaml_to_json(yaml, len, name, QG_ERR_BAD_INPUT, &err);
    if (!doc)
        return err;
    qg_json_t *goals = qg_json_get(doc, "goals");
    if (!qg_json_is(goals, QG_JSON_ARRAY))
        err = BAD("%s: a `goals:` list is missing", name);
    for (size_t i = 0; !err && i < qg_json_len(goals); i++) {
        err = check_decl(name, i, qg_json_at(goals, i));
        for (size_t j = 0; !err && j < i; j++)
            if (!strcmp(qg_json_str(qg_json_get(qg_json_at(goals, j), "goalType")),
                        qg_json_str(qg_json_get(qg_json_at(goals, i), "goalType"))))
                err = BAD("%s: goal type %s is declared twice", name,
                          qg_json_str(qg_json_get(qg_json_at(goals, i), "goalType")));
    }
    qg_goaltypes_t *gt = err ? NULL : calloc(1, sizeof(*gt));
    if (!err && (!gt || !(gt->path = strdup(name)) || !(gt->dir = strdup(dir ? dir : ".")))) {
        err = qg_error_new(QG_ERR_FATAL, "out of memory");
        if (gt) {
            free(gt->path);
            free(gt);
        }
        gt = NULL;
    }
    if (err) {
        qg_json_destroy(doc);
        return err;
    }
    gt->doc = doc;
    gt->goals = goals;
    *out = gt;
    return NULL;
}

qg_error_t *qg_goaltypes_load(const char *path, qg_goaltypes_t **out)
{
    char errstr[512];
    size_t len;
    *out = NULL;
    char *text = qg_file_read(path, 4 << 20, &len, NULL, errstr, sizeof(errstr));
    if (!text)
        return BAD("goal types: %s", errstr);
    char *copy = strdup(path);
    qg_error_t *err = copy ? qg_goaltypes_parse(text, len, path, dirname(copy), out)
                           : qg_error_new(QG_ERR_FATAL, "out of memory");
    free(copy);
    free(text);
    return err;
}

void qg_goaltypes_destroy(qg_goaltypes_t *gt)
{
    if (!gt)
        return;
    qg_json_destroy(gt->doc);
    free(gt->path);
    free(gt->dir);
    free(gt);
}

const char *qg_goaltypes_dir(const qg_goaltypes_t *gt)
{
    return gt ? gt->dir : NULL;
}

size_t qg_goaltypes_count(const qg_goaltypes_t *gt)
{
    return gt ? qg_json_len(gt->goals) : 0;
}

const qg_json_t *qg_goaltypes_at(const qg_goaltypes_t *gt, size_t i)
{
    return gt ? qg_json_at(gt->goals, i) : NULL;
}

const qg_json_t *qg_goaltypes_find(const qg_goaltypes_t *gt, const char *goal_type)
{
    for (size_t i = 0; goal_type && i < qg_goaltypes_count(gt); i++) {
        const qg_json_t *g = qg_goaltypes_at(gt, i);
        if (!strcmp(qg_json_str(qg_json_get(g, "goalType")), goal_type))
            return g;
    }
    return NULL;
}

/* ---------- checking a goal ---------- */

/* The value as short JSON text for messages. */
static void value_text(const qg_json_t *v, char *buf, size_t sz)
{
    char *text = qg_json_serialize(v, 0, NULL);
    snprintf(buf, sz, "%.64s%s", text ? text : "?", text && strlen(text) > 64 ? "..." : "");
    free(text);
}

static qg_error_t *check_number(const qg_json_t *decl, const qg_json_t *v, int integer,
                                const char *where)
{
    char got[80];
    const qg_json_t *min = qg_json_get(decl, "min"), *max = qg_json_get(decl, "max");
    double d = qg_json_num(v, NAN);
    value_text(v, got, sizeof(got));
    if (!qg_json_is(v, QG_JSON_NUMBER) || !isfinite(d))
        return BAD("%s: must be a JSON number, got %s", where, got);
    if (integer && d != floor(d))
        return BAD("%s: must be a whole number, got %s", where, got);
    if ((min && d < qg_json_num(min, 0)) || (max && d > qg_json_num(max, 0))) {
        char lo[40] = "", hi[40] = "";
        if (min)
            snprintf(lo, sizeof(lo), "%.15g", qg_json_num(min, 0));
        if (max)
            snprintf(hi, sizeof(hi), "%.15g", qg_json_num(max, 0));
        if (min && max)
            return BAD("%s: must be between %s and %s, got %s", where, lo, hi, got);
        return BAD("%s: must be %s %s, got %s", where, min ? "at least" : "at most", min ? lo : hi,
                   got);
    }
    return NULL;
}

static qg_error_t *check_string(const qg_json_t *decl, const qg_json_t *v, const char *where)
{
    char got[80];
    const char *shape = qg_json_str(qg_json_get(decl, "shape"));
    value_text(v, got, sizeof(got));
    if (!qg_json_is(v, QG_JSON_STRING) || qg_json_strlen(v) == 0 ||
        strlen(qg_json_str(v)) != qg_json_strlen(v))
        return BAD("%s: must be a non-empty string, got %s", where, got);
    if (shape) {
        regex_t re;
        if (regcomp(&re, shape, REG_EXTENDED | REG_NOSUB) != 0)
            return BAD("%s: the declared shape does not compile", where);
        int match = regexec(&re, qg_json_str(v), 0, NULL, 0) == 0;
        regfree(&re);
        if (!match)
            return BAD("%s: %s does not have the form %s", where, got, shape);
    }
    return NULL;
}

static qg_error_t *check_date(const qg_json_t *v, const char *where)
{
    char got[80];
    qg_time_range_t r;
    value_text(v, got, sizeof(got));
    if (!qg_json_is(v, QG_JSON_STRING) || qg_time_range_parse(qg_json_str(v), qg_now_ms(), &r) != 0)
        return BAD("%s: must be a date (2026-11-29), a date-time, \"today\", \"yesterday\" or "
                   "\"last N h|d|min\", got %s",
                   where, got);
    return NULL;
}

static qg_error_t *check_value(const qg_json_t *decl, const qg_json_t *v, const char *where)
{
    const char *type = qg_json_str(qg_json_get(decl, "type"));
    if (!strcmp(type, "integer") || !strcmp(type, "number"))
        return check_number(decl, v, !strcmp(type, "integer"), where);
    if (!strcmp(type, "date"))
        return check_date(v, where);
    return check_string(decl, v, where);
}

/* Index of the goal's parameter with this key; -1 if absent, -2 if given twice. */
static long find_param(const qg_json_t *params, const char *key)
{
    long found = -1;
    for (size_t i = 0; i < qg_json_len(params); i++)
        if (!strcmp(qg_json_str(qg_json_get(qg_json_at(params, i), "key")), key)) {
            if (found >= 0)
                return -2;
            found = (long)i;
        }
    return found;
}

qg_error_t *qg_goaltypes_check_goal(const qg_goaltypes_t *gt, const qg_json_t *doc)
{
    const char *type = qg_goal_type(doc);
    const qg_json_t *decl = qg_goaltypes_find(gt, type);
    const qg_json_t *declared = qg_json_get(decl, "parameters");
    const qg_json_t *params = qg_json_get(qg_goal_query(doc), "parameters");
    for (size_t i = 0; decl && i < qg_json_len(declared); i++) {
        const qg_json_t *pd = qg_json_at(declared, i);
        const char *key = qg_json_str(qg_json_get(pd, "key"));
        long at = find_param(params, key);
        char where[160];
        if (at == -2)
            return BAD("QueryGoal.parameters (%s): given more than once", key);
        if (at == -1) {
            if (qg_json_truthy(qg_json_get(pd, "required")))
                return BAD("QueryGoal.parameters (%s): %s needs the parameter %s", key, type, key);
            continue;
        }
        snprintf(where, sizeof(where), "QueryGoal.parameters[%ld] (%s)", at, key);
        qg_error_t *err =
            check_value(pd, qg_json_get(qg_json_at(params, (size_t)at), "value"), where);
        if (err)
            return err;
    }
    return NULL;
}

qg_error_t *qg_goaltypes_check_stages(const qg_goaltypes_t *gt,
                                      int (*served)(const char *stage, void *opaque), void *opaque)
{
    for (size_t i = 0; i < qg_goaltypes_count(gt); i++) {
        const qg_json_t *g = qg_goaltypes_at(gt, i);
        const qg_json_t *stages = qg_json_get(g, "pipelineStages");
        for (size_t s = 0; s < qg_json_len(stages); s++) {
            const char *stage = qg_json_str(qg_json_at(stages, s));
            if (!served(stage, opaque))
                return BAD("%s: goal type %s needs the stage %s, and no worker of this project "
                           "serves it",
                           gt->path, qg_json_str(qg_json_get(g, "goalType")), stage);
        }
    }
    return NULL;
}

/* ---------- the process's goal types ---------- */

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static qg_goaltypes_t *current;

/* A relative default path: the working directory, else $QG_ROOT. */
static const char *resolve_path(const char *path, char *buf, size_t sz)
{
    const char *root = getenv("QG_ROOT");
    if (path[0] != '/' && access(path, R_OK) != 0 && root && *root) {
        snprintf(buf, sz, "%s/%s", root, path);
        return buf;
    }
    return path;
}

qg_error_t *qg_goaltypes_use(const qg_config_t *cfg)
{
    const char *opt = qg_config_get(cfg, "goal.types.file");
    char buf[4096];
    if (!opt || !*opt)
        opt = QG_GOALTYPES_DEFAULT_FILE;
    const char *path = resolve_path(opt, buf, sizeof(buf));
    pthread_mutex_lock(&current_lock);
    qg_error_t *err = NULL;
    if (!current || strcmp(current->path, path) != 0) {
        if (access(path, R_OK) != 0 && !strcmp(opt, QG_GOALTYPES_DEFAULT_FILE)) {
            qg_warn("goaltype",
                    "%s not found: goal parameters are not checked (set "
                    "goal.types.file)",
                    path);
        } else {
            qg_goaltypes_t *gt = NULL;
            err = qg_goaltypes_load(path, &gt);
            if (!err) {
                qg_goaltypes_destroy(current);
                current = gt;
            }
        }
    }
    pthread_mutex_unlock(&current_lock);
    return err;
}

const qg_goaltypes_t *qg_goaltypes_current(void)
{
    return current;
}
