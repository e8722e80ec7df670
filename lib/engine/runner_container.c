/*
 * runner_container.c - what the container runners (docker, kubernetes) share:
 * one HTTP client for a platform API (libcurl: unix socket or TCP, TLS with
 * client certificates, bearer token), the container's environment and
 * command, the user it runs as, the owner label that finds orphans, and
 * handing the work directory to that user.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

#define MAX_ENV        64
#define MOUNT          QG_RUNNER_MOUNT
#define DEFAULT_USER   "65534:65534"
#define STAGE_ERR(...) qg_error_new(QG_ERR_STAGE_ERROR, __VA_ARGS__)
#define TRANSIENT(...) qg_error_new(QG_ERR_TRANSIENT, __VA_ARGS__)

/* ---------- HTTP ---------- */

size_t qg_runner_buf_write(char *ptr, size_t size, size_t n, void *opaque)
{
    qg_runner_buf_t *b = opaque;
    size_t add = size * n, room = b->max > b->len ? b->max - b->len : 0;
    if (add > room) {
        b->truncated = 1;
        add = room;
    }
    if (b->len + add + 1 > b->cap) {
        size_t cap = (b->len + add + 1) * 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0';
    return size * n;
}

static int unreachable(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_SSL_CONNECT_ERROR;
}

static int cancel_check(void *opaque, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    volatile sig_atomic_t *cancel = opaque;
    return cancel && *cancel ? 1 : 0;
}

static void set_tls(CURL *e, const qg_runner_api_t *api)
{
    struct curl_blob blob;
    if (api->ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, api->ca);
    if (api->ca_pem) {
        blob = (struct curl_blob){(void *)api->ca_pem, strlen(api->ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (api->cert)
        curl_easy_setopt(e, CURLOPT_SSLCERT, api->cert);
    if (api->cert_pem) {
        blob = (struct curl_blob){(void *)api->cert_pem, strlen(api->cert_pem), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
    }
    if (api->key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, api->key);
    if (api->key_pem) {
        blob = (struct curl_blob){(void *)api->key_pem, strlen(api->key_pem), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
    }
}

static struct curl_slist *headers(const qg_runner_api_t *api, const char *content_type)
{
    char line[160];
    snprintf(line, sizeof(line), "Content-Type: %s",
             content_type ? content_type : "application/json");
    struct curl_slist *h = curl_slist_append(NULL, line), *more;
    if (h && api->bearer) {
        size_t n = strlen(api->bearer) + 32;
        char *auth = malloc(n);
        if (!auth || (snprintf(auth, n, "Authorization: Bearer %s", api->bearer),
                      !(more = curl_slist_append(h, auth)))) {
            free(auth);
            curl_slist_free_all(h);
            return NULL;
        }
        free(auth);
    }
    return h;
}

qg_error_t *qg_runner_api_call(const qg_runner_api_t *api, const qg_runner_request_t *rq,
                               long *status)
{
    char url[4096], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(url, sizeof(url), "%s%s", api->base, rq->path);
    char *text = rq->body ? qg_json_serialize(rq->body, 0, NULL) : NULL;
    if (rq->body && !text)
        return qg_error_oom;
    CURL *e = curl_easy_init();
    struct curl_slist *h = headers(api, rq->content_type);
    if (!e || !h) {
        curl_easy_cleanup(e);
        curl_slist_free_all(h);
        free(text);
        return qg_error_oom;
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, rq->timeout_s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    if (api->socket[0])
        curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, api->socket);
    set_tls(e, api);
    if (text || !strcmp(rq->method, "POST"))
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, text ? text : "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, rq->sink ? rq->sink : qg_runner_buf_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, rq->sink ? rq->sink_opaque : (void *)rq->resp);
    if (rq->cancel) {
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, cancel_check);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)rq->cancel);
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    }
    CURLcode rc = curl_easy_perform(e);
    *status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    free(text);
    if (rc == CURLE_OK)
        return NULL;
    if (rq->stopped && (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_WRITE_ERROR ||
                        (rq->sink && rc == CURLE_OPERATION_TIMEDOUT && *status == 200))) {
        *rq->stopped = 1; /* ended by the sink, by cancellation or at the watch's end */
        return NULL;
    }
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (unreachable(rc))
        return TRANSIENT("%s at %s unreachable: %s", api->what, api->where, why);
    return STAGE_ERR("%s at %s: %s %s: %s", api->what, api->where, rq->method, rq->path, why);
}

qg_error_t *qg_runner_api_json(const qg_runner_api_t *api, const char *method, const char *path,
                               const qg_json_t *body, long timeout_s, long *status, qg_json_t **out)
{
    qg_runner_buf_t resp = {.max = 4u << 20};
    qg_runner_request_t rq = {
        .method = method, .path = path, .body = body, .timeout_s = timeout_s, .resp = &resp};
    char errstr[128];
    if (out)
        *out = NULL;
    qg_error_t *err = qg_runner_api_call(api, &rq, status);
    if (!err && out && resp.len)
        *out = qg_json_parse(resp.data, resp.len, errstr, sizeof(errstr));
    free(resp.data);
    return err;
}

/* ---------- environment and command ---------- */

int qg_runner_env_name_ok(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* QG_PARAM_<KEY> for each scalar goal parameter (key upper-cased, others to _). */
static int add_params(qg_json_t *env, const qg_json_t *input)
{
    const qg_json_t *params = qg_json_get(input, "parameters");
    for (size_t i = 0; i < qg_json_len(params) && i < MAX_ENV; i++) {
        const qg_json_t *p = qg_json_at(params, i);
        const char *key = qg_json_str(qg_json_get(p, "key"));
        const qg_json_t *v = qg_json_get(p, "value");
        char name[96] = "QG_PARAM_", num[64];
        const char *value = qg_json_str(v);
        if (!key || !*key)
            continue;
        if (!value && qg_json_is(v, QG_JSON_NUMBER)) {
            const char *t = qg_json_number_text(v);
            if (!t)
                snprintf(num, sizeof(num), "%.17g", qg_json_num(v, 0));
            value = t ? t : num;
        }
        if (!value)
            continue;
        size_t n = strlen(name);
        for (const char *k = key; *k && n < sizeof(name) - 1; k++)
            name[n++] = isalnum((unsigned char)*k) ? (char)toupper((unsigned char)*k) : '_';
        name[n] = '\0';
        if (qg_json_set_str(env, name, value) != 0)
            return -1;
    }
    return 0;
}

/* The model's env: names copied from the worker's environment, or {NAME: value}. */
static qg_error_t *add_model_env(qg_json_t *env, const qg_json_t *spec)
{
    if (spec && !qg_json_is(spec, QG_JSON_ARRAY) && !qg_json_is(spec, QG_JSON_OBJECT))
        return STAGE_ERR("selectedModel.runner.env: expected names or an object");
    if (qg_json_len(spec) > MAX_ENV)
        return STAGE_ERR("selectedModel.runner.env: more than %d variables", MAX_ENV);
    for (size_t i = 0; i < qg_json_len(spec); i++) {
        int is_obj = qg_json_is(spec, QG_JSON_OBJECT);
        const char *name = is_obj ? qg_json_key_at(spec, i) : qg_json_str(qg_json_at(spec, i));
        const char *value = is_obj ? qg_json_str(qg_json_at(spec, i)) : getenv(name ? name : "");
        if (!qg_runner_env_name_ok(name) || (is_obj && !value))
            return STAGE_ERR("selectedModel.runner.env[%zu]: invalid variable name or value", i);
        if (value && qg_json_set_str(env, name, value) != 0)
            return qg_error_oom;
    }
    return NULL;
}

qg_error_t *qg_runner_container_env(const qg_runner_job_t *job, qg_json_t **out)
{
    char tl[32];
    snprintf(tl, sizeof(tl), "%g", job->time_limit_s);
    const qg_runner_var_t base[] = {
        {"HOME", MOUNT},
        {"TMPDIR", MOUNT "/tmp"},
        {"LANG", "C.UTF-8"},
        {"QG_SCENARIO_DIR", MOUNT "/scenario"},
        {"QG_RESULTS_DIR", MOUNT "/results"},
        {"QG_INPUT", MOUNT "/simulation_input.json"},
        {"QG_TIME_LIMIT", tl},
        {"QG_GOAL_ID", job->goal_id ? job->goal_id : ""},
    };
    qg_json_t *env = *out = qg_json_object();
    for (size_t i = 0; env && i < sizeof(base) / sizeof(base[0]); i++)
        qg_json_set_str(env, base[i].name, base[i].value);
    if (!env || qg_json_failed(env) || add_params(env, job->input) != 0)
        return qg_error_oom;
    return add_model_env(env, qg_json_get(job->runner, "env"));
}

qg_error_t *qg_runner_container_cmd(const qg_runner_job_t *job, qg_json_t **out)
{
    const qg_json_t *cmd = qg_json_get(job->runner, "command");
    *out = NULL;
    if (!cmd)
        return NULL; /* the image's own command */
    if (!qg_json_is(cmd, QG_JSON_ARRAY) || qg_json_len(cmd) == 0 || qg_json_len(cmd) > 64)
        return STAGE_ERR("selectedModel.runner.command: expected an array of 1..64 strings");
    char tl[32], seed[32];
    snprintf(tl, sizeof(tl), "%g", job->time_limit_s);
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)(job->engine ? job->engine->seed : 1));
    const qg_runner_var_t vars[] = {
        {"scenario", MOUNT "/scenario"},
        {"results", MOUNT "/results"},
        {"input", MOUNT "/simulation_input.json"},
        {"workdir", MOUNT},
        {"timeLimit", tl},
        {"seed", seed},
        {"goalId", job->goal_id ? job->goal_id : ""},
    };
    qg_json_t *arr = *out = qg_json_array();
    for (size_t i = 0; arr && i < qg_json_len(cmd); i++) {
        const char *s = qg_json_str(qg_json_at(cmd, i));
        if (!s)
            return STAGE_ERR("selectedModel.runner.command[%zu]: expected a string", i);
        char *v = qg_runner_substitute(s, vars, sizeof(vars) / sizeof(vars[0]));
        qg_json_append(arr, v ? qg_json_string(v) : NULL);
        free(v);
    }
    return arr && !qg_json_failed(arr) ? NULL : qg_error_oom;
}

qg_error_t *qg_runner_container_read(const qg_runner_job_t *job, qg_runner_container_t *c)
{
    const qg_json_t *r = job->runner;
    memset(c, 0, sizeof(*c));
    c->image = qg_json_str(qg_json_get(r, "image"));
    if (!c->image || !*c->image)
        return STAGE_ERR("selectedModel.runner.image: missing");
    const char *user = qg_json_str(qg_json_get(r, "user"));
    if (!user && getuid() != 0)
        snprintf(c->user, sizeof(c->user), "%u:%u", (unsigned)getuid(), (unsigned)getgid());
    else
        snprintf(c->user, sizeof(c->user), "%s", user ? user : DEFAULT_USER);
    if (!strcmp(c->user, "0") || !strncmp(c->user, "0:", 2) || !strncmp(c->user, "root", 4))
        return STAGE_ERR("selectedModel.runner.user: %s: containers run as a non-root user",
                         c->user);
    c->cpus = qg_json_num(qg_json_get(r, "cpus"), 1);
    if (!isfinite(c->cpus) || c->cpus <= 0 || c->cpus > 256)
        return STAGE_ERR("selectedModel.runner.cpus: expected a number in (0, 256]");
    c->network = qg_json_truthy(qg_json_get(r, "network"));
    return NULL;
}

/* ---------- names and owners ---------- */

void qg_runner_safe_name(const char *goal_id, char *out, size_t sz)
{
    size_t n = 0;
    for (const char *p = goal_id ? goal_id : "goal"; *p && n + 1 < sz; p++)
        out[n++] = (isalnum((unsigned char)*p) || *p == '-' || *p == '_') ? *p : '_';
    if (sz)
        out[n] = '\0';
}

void qg_runner_owner_of(pid_t pid, char *out, size_t sz)
{
    char host[256] = "?", path[64], stat[1024] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(stat, sizeof(stat), f))
            stat[0] = '\0';
        fclose(f);
    }
    /* field 22 (starttime), counted after the ")" that ends the command name */
    const char *p = strrchr(stat, ')');
    unsigned long long start = 0;
    for (int field = 2; p && *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (p && *p)
        start = strtoull(p, NULL, 10);
    snprintf(out, sz, "%s/%d/%llu", host, (int)pid, start);
}

int qg_runner_owner_gone(const char *owner)
{
    const char *slash = owner ? strchr(owner, '/') : NULL;
    if (!slash)
        return 1;
    int pid = atoi(slash + 1);
    char now[400];
    if (pid <= 0)
        return 1;
    qg_runner_owner_of((pid_t)pid, now, sizeof(now));
    return strcmp(now, owner) != 0;
}

/* ---------- work directory ownership ---------- */

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag != FTW_SL && lchown(path, chown_uid, chown_gid) != 0)
        return -1;
    return 0;
}

qg_error_t *qg_runner_hand_over(const qg_runner_dirs_t *dirs, const char *user)
{
    unsigned uid, gid;
    if (getuid() != 0)
        return NULL;
    int n = sscanf(user, "%u:%u", &uid, &gid);
    if (n < 1)
        return NULL; /* a user name: the image must be able to write the mount */
    chown_uid = (uid_t)uid;
    chown_gid = (gid_t)(n == 2 ? gid : uid);
    const char *paths[] = {dirs->scenario, dirs->results, dirs->tmp};
    if (lchown(dirs->work, chown_uid, chown_gid) != 0 || lchown(dirs->input, chown_uid, chown_gid))
        return STAGE_ERR("cannot hand %s to user %s: %s", dirs->work, user, strerror(errno));
    for (size_t i = 0; i < 3; i++)
        if (nftw(paths[i], chown_entry, 8, FTW_PHYS) != 0)
            return STAGE_ERR("cannot hand %s to user %s: %s", paths[i], user, strerror(errno));
    return NULL;
}

void qg_runner_replay_progress(const qg_runner_job_t *job, const qg_runner_dirs_t *dirs)
{
    FILE *f = job->progress ? fopen(dirs->out_log, "r") : NULL;
    char line[4096];
    const char *prefix = "QG_PROGRESS ";
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, prefix, strlen(prefix)))
            qg_runner_progress_line(line + strlen(prefix), strcspn(line + strlen(prefix), "\n"),
                                    job->progress, job->opaque);
    if (f)
        fclose(f);
}
