/*
 * registry.c - model registry: load (YAML or JSON), validate, normalize.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "text.h"
#include "registry.h"
#include "yaml_json.h"

struct qg_registry_s {
    char *path;
    char *dir;
    qg_json_t *models; /* array of normalized entries */
};

/* ---------------------------------------------------------------- YAML */

qg_json_t *qg_registry_read_yaml(const char *path, qg_error_t **errp)
{
    return qg_yaml_file_to_json(path, QG_ERR_FATAL, errp);
}

/* ---------------------------------------------------------------- helpers */

double qg_registry_duration_s(const char *text)
{
    char *end;
    double v;

    if (!text || !*text || isspace((unsigned char)*text))
        return -1;
    errno = 0;
    v = strtod(text, &end);
    if (end == text || errno || !isfinite(v) || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    if (*end == '\0' || strcmp(end, "s") == 0 || strcmp(end, "sec") == 0)
        return v;
    if (strcmp(end, "ms") == 0)
        return v / 1000.0;
    if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        return v * 60.0;
    if (strcmp(end, "h") == 0)
        return v * 3600.0;
    return -1;
}

static qg_error_t *model_err(const char *origin, size_t i, const qg_json_t *m, const char *msg,
                             const char *detail)
{
    const char *id = qg_json_str(qg_json_get(m, "modelId"));

    return qg_error_new_fatal("%s: models[%zu]%s%s%s: %s%s", origin, i, id ? " (" : "",
                              id ? id : "", id ? ")" : "", msg, detail ? detail : "");
}

/* Resolve `rel` inside `dir` (absolute): no absolute paths, no "..", must exist inside. */
static char *resolve_inside(const char *dir, const char *rel, const char **why)
{
    char *joined, *real;
    size_t dl = strlen(dir);
    const char *p;

    if (!*rel || rel[0] == '/') {
        *why = "metaDataFile must be a relative path inside the registry directory";
        return NULL;
    }
    for (p = rel; *p; p += strcspn(p, "/"), p += *p == '/')
        if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0')) {
            *why = "metaDataFile must not contain '..'";
            return NULL;
        }
    if (!(joined = qg_str_printf("%s/%s", dir, rel))) {
        *why = "out of memory";
        return NULL;
    }
    real = realpath(joined, NULL);
    free(joined);
    if (!real) {
        *why = "metaDataFile not found in the registry directory";
        return NULL;
    }
    if (strncmp(real, dir, dl) != 0 || real[dl] != '/') {
        free(real);
        *why = "metaDataFile resolves outside the registry directory";
        return NULL;
    }
    return real;
}

/* ---------------------------------------------------------------- normalize */

static const char *runner_check(const qg_json_t *r)
{
    const char *type = qg_json_str(qg_json_get(r, "type"));

    if (!qg_json_is(r, QG_JSON_OBJECT))
        return "runner must be an object";
    if (!type)
        return "runner.type is required (builtin, exec, docker or kubernetes)";
    if (strcmp(type, "builtin") == 0)
        return qg_json_str(qg_json_get(r, "engine")) ? NULL : "runner.engine is required";
    if (strcmp(type, "exec") == 0)
        return qg_json_is(qg_json_get(r, "command"), QG_JSON_STRING) ||
                       qg_json_is(qg_json_get(r, "command"), QG_JSON_ARRAY)
                   ? NULL
                   : "runner.command is required (string or list)";
    if (strcmp(type, "docker") == 0 || strcmp(type, "kubernetes") == 0)
        return qg_json_str(qg_json_get(r, "image")) ? NULL : "runner.image is required";
    return "runner.type must be builtin, exec, docker or kubernetes";
}

/* A container image runs as a Kubernetes Job when the seed's executionType says so. */
static const char *container_runner_type(const qg_json_t *r)
{
    const char *how = qg_json_str(qg_json_get(r, "executionType"));
    return how && (!strcmp(how, "kubernetes-job") || !strcmp(how, "kubernetes")) ? "kubernetes"
                                                                                 : "docker";
}

/*
 * The seed's `container: {image, executionType, ...}` becomes runner {type:
 * docker|kubernetes, image, ...}; runner.type "container" is read the same way.
 */
static const char *normalize_runner(qg_json_t *m)
{
    qg_json_t *runner = qg_json_get(m, "runner"), *c;
    const char *type = qg_json_str(qg_json_get(runner, "type"));

    if (!runner && qg_json_is(c = qg_json_get(m, "container"), QG_JSON_OBJECT)) {
        runner = qg_json_clone(c);
        if (!runner || qg_json_set_str(runner, "type", container_runner_type(runner)) < 0 ||
            qg_json_set(m, "runner", runner) < 0)
            return "out of memory";
    } else if (type && strcmp(type, "container") == 0 &&
               qg_json_set_str(runner, "type", container_runner_type(runner)) < 0) {
        return "out of memory";
    }
    if (!runner)
        return "runner (or container) is required";
    return runner_check(runner);
}

static const char *check_strings(const qg_json_t *m, const char *key)
{
    const qg_json_t *a = qg_json_get(m, key);
    size_t i;

    if (!a)
        return NULL;
    if (!qg_json_is(a, QG_JSON_ARRAY))
        return " must be a list";
    for (i = 0; i < qg_json_len(a); i++)
        if (!qg_json_is(qg_json_at(a, i), QG_JSON_STRING))
            return " must be a list of strings";
    return NULL;
}

static const char *normalize_perf(qg_json_t *m)
{
    qg_json_t *perf = qg_json_get(m, "performance");
    const qg_json_t *lat = qg_json_get(perf, "avgLatency"), *acc = qg_json_get(perf, "accuracy");
    double s = -1;

    if (!perf)
        return NULL;
    if (!qg_json_is(perf, QG_JSON_OBJECT))
        return "performance must be an object";
    if (acc && !qg_json_is(acc, QG_JSON_NUMBER))
        return "performance.accuracy must be a number";
    if (qg_json_is(lat, QG_JSON_NUMBER))
        s = qg_json_num(lat, -1);
    else if (qg_json_is(lat, QG_JSON_STRING))
        s = qg_registry_duration_s(qg_json_str(lat));
    else if (lat)
        return "performance.avgLatency must be a duration (\"35s\") or a number of seconds";
    if (s >= 0 && qg_json_set_num(perf, "avgLatencySeconds", s) < 0)
        return "out of memory";
    return NULL;
}

static const char *normalize_manifest(qg_json_t *m, const char *dir)
{
    const qg_json_t *f = qg_json_get(m, "metaDataFile");
    const char *why = NULL;
    char *abs;
    int rc;

    if (!f)
        return NULL;
    if (!qg_json_is(f, QG_JSON_STRING))
        return "metaDataFile must be a string";
    if (!(abs = resolve_inside(dir, qg_json_str(f), &why)))
        return why;
    rc = qg_json_set_str(m, "metaDataFileRelative", qg_json_str(f));
    rc = rc < 0 ? rc : qg_json_set_str(m, "metaDataFile", abs);
    free(abs);
    return rc < 0 ? "out of memory" : NULL;
}

static qg_error_t *normalize_model(qg_json_t *m, size_t i, const char *origin, const char *dir)
{
    static const char *const lists[] = {"capabilities", NULL};
    const char *why;
    size_t k;

    if (!qg_json_is(m, QG_JSON_OBJECT))
        return model_err(origin, i, m, "expected an object", NULL);
    if (!qg_json_str(qg_json_get(m, "modelId")) || !*qg_json_str(qg_json_get(m, "modelId")))
        return model_err(origin, i, m, "modelId is required (a string)", NULL);
    if (!qg_json_str(qg_json_get(m, "purpose")))
        return model_err(origin, i, m, "purpose is required (a string)", NULL);
    if (qg_json_get(m, "version") && !qg_json_is(qg_json_get(m, "version"), QG_JSON_STRING))
        return model_err(origin, i, m, "version must be a string", NULL);
    for (k = 0; lists[k]; k++)
        if ((why = check_strings(m, lists[k])))
            return model_err(origin, i, m, lists[k], why);
    if ((why = normalize_runner(m)) || (why = normalize_perf(m)) ||
        (why = normalize_manifest(m, dir)))
        return model_err(origin, i, m, why, NULL);
    return NULL;
}

/* ---------------------------------------------------------------- load */

void qg_registry_destroy(qg_registry_t *reg)
{
    if (!reg)
        return;
    free(reg->path);
    free(reg->dir);
    qg_json_destroy(reg->models);
    free(reg);
}

static qg_error_t *check_unique(const qg_registry_t *reg, const char *origin)
{
    size_t i, j, n = qg_json_len(reg->models);

    for (i = 0; i < n; i++)
        for (j = 0; j < i; j++)
            if (strcmp(qg_registry_model_id(qg_json_at(reg->models, i)),
                       qg_registry_model_id(qg_json_at(reg->models, j))) == 0)
                return model_err(origin, i, qg_json_at(reg->models, i), "duplicate modelId", NULL);
    return NULL;
}

qg_registry_t *qg_registry_from_json(const qg_json_t *doc, const char *origin, const char *dir,
                                     qg_error_t **errp)
{
    const qg_json_t *list = qg_json_is(doc, QG_JSON_ARRAY) ? doc : qg_json_get(doc, "models");
    qg_registry_t *reg;
    size_t i;

    if (!qg_json_is(list, QG_JSON_ARRAY)) {
        *errp = qg_error_new_fatal("%s: expected {models: [...]} or a list of models", origin);
        return NULL;
    }
    reg = calloc(1, sizeof(*reg));
    if (!reg || !(reg->path = strdup(origin)) || !(reg->dir = realpath(dir, NULL)) ||
        !(reg->models = qg_json_clone(list))) {
        *errp = qg_error_new_fatal("%s: cannot use registry directory %s", origin, dir);
        qg_registry_destroy(reg);
        return NULL;
    }
    *errp = NULL;
    for (i = 0; i < qg_json_len(reg->models) && !*errp; i++)
        *errp = normalize_model(qg_json_at(reg->models, i), i, origin, reg->dir);
    if (!*errp)
        *errp = check_unique(reg, origin);
    if (*errp) {
        qg_registry_destroy(reg);
        return NULL;
    }
    return reg;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* JSON files (first non-blank byte '{' or '[') go through the JSON parser. */
static int looks_like_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    int c = EOF;

    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF && isspace(c))
        ;
    fclose(f);
    return c == '{' || c == '[';
}

static qg_json_t *read_doc(const char *path, qg_error_t **errp)
{
    char errstr[512];
    qg_json_t *doc;

    if (!looks_like_json(path))
        return qg_registry_read_yaml(path, errp);
    doc = qg_json_parse_file(path, errstr, sizeof(errstr));
    if (!doc)
        *errp = qg_error_new_fatal("%s", errstr);
    return doc;
}

qg_registry_t *qg_registry_load(const char *path, qg_error_t **errp)
{
    qg_json_t *doc = read_doc(path, errp);
    qg_registry_t *reg = NULL;
    char *dir;

    if (!doc)
        return NULL;
    dir = dir_of(path);
    if (!dir)
        *errp = qg_error_new_oom("%s: out of memory", path);
    else
        reg = qg_registry_from_json(doc, path, dir, errp);
    free(dir);
    qg_json_destroy(doc);
    return reg;
}

size_t qg_registry_count(const qg_registry_t *reg)
{
    return reg ? qg_json_len(reg->models) : 0;
}

const qg_json_t *qg_registry_at(const qg_registry_t *reg, size_t i)
{
    return reg ? qg_json_at(reg->models, i) : NULL;
}

const char *qg_registry_model_id(const qg_json_t *model)
{
    return qg_json_str(qg_json_get(model, "modelId"));
}

const qg_json_t *qg_registry_find(const qg_registry_t *reg, const char *model_id)
{
    size_t i;

    for (i = 0; model_id && i < qg_registry_count(reg); i++)
        if (strcmp(qg_registry_model_id(qg_registry_at(reg, i)), model_id) == 0)
            return qg_registry_at(reg, i);
    return NULL;
}

const char *qg_registry_dir(const qg_registry_t *reg)
{
    return reg ? reg->dir : NULL;
}

const char *qg_registry_path(const qg_registry_t *reg)
{
    return reg ? reg->path : NULL;
}
