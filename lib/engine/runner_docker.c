/*
 * runner_docker.c - a simulator image run through the Docker Engine API
 * (v1.41+; also podman's compatible service) with libcurl, over a unix socket
 * or TCP with TLS client certificates. No CLI.
 *
 * The work directory (runner_files.c: scenario/, simulation_input.json,
 * results/, tmp/) is bind-mounted at /work; the container runs with the
 * model's command (placeholders as in the exec runner, container paths), the
 * goal's parameters as QG_PARAM_* environment, memory and CPU limits, no
 * network unless the model asks, a read-only root file system, a non-root
 * user, no capabilities, and labels naming the goal and the owning worker.
 * The runner polls its state until it exits, the time limit passes or the run
 * is cancelled (then it is stopped), demultiplexes its logs into capped files,
 * reads the result exactly as the exec runner does, and always removes it.
 *
 * Errors: image missing or refused by the daemon -> stage_error naming it;
 * daemon unreachable -> transient; cancellation -> transient.
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
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "runner.h"

#define COMPONENT      "docker"
#define API            "/v1.41"
#define MOUNT          "/work"
#define DEFAULT_HOST   "unix:///var/run/docker.sock"
#define DEFAULT_USER   "65534:65534"
#define RESPONSE_MAX   (4u << 20)
#define POLL_MS        200
#define STOP_GRACE_S   2
#define MAX_ENV        64
#define LABEL_GOAL     "io.querygoal.goalId"
#define LABEL_RUNNER   "io.querygoal.runner"
#define LABEL_HOST     "io.querygoal.host"
#define LABEL_OWNER    "io.querygoal.owner"
#define STAGE_ERR(...) qg_error_new(QG_ERR_STAGE_ERROR, __VA_ARGS__)
#define TRANSIENT(...) qg_error_new(QG_ERR_TRANSIENT, __VA_ARGS__)

/* ---------- the daemon connection ---------- */

typedef struct {
    char host[512];   /* as configured, for messages */
    char socket[512]; /* unix socket path, or "" for TCP */
    char base[512];   /* URL prefix: http://docker or http(s)://host:port */
    const char *ca, *cert, *key;
} docker_t;

typedef struct {
    char *data;
    size_t len, cap, max;
    int truncated;
} buf_t;

static const char *cfg_str(const qg_config_t *cfg, const char *key)
{
    const char *v = cfg ? qg_config_get(cfg, key) : NULL;
    return v && *v ? v : NULL;
}

static qg_error_t *docker_open(const qg_config_t *cfg, docker_t *d)
{
    memset(d, 0, sizeof(*d));
    const char *host = cfg_str(cfg, "simulation.docker.host");
    if (!host)
        host = DEFAULT_HOST;
    snprintf(d->host, sizeof(d->host), "%s", host);
    d->ca = cfg_str(cfg, "simulation.docker.tls.ca");
    d->cert = cfg_str(cfg, "simulation.docker.tls.cert");
    d->key = cfg_str(cfg, "simulation.docker.tls.key");
    if (!strncmp(host, "unix://", 7)) {
        snprintf(d->socket, sizeof(d->socket), "%s", host + 7);
        snprintf(d->base, sizeof(d->base), "http://docker");
    } else if (!strncmp(host, "tcp://", 6)) {
        snprintf(d->base, sizeof(d->base), "%s://%s", d->cert ? "https" : "http", host + 6);
    } else {
        return STAGE_ERR("simulation.docker.host: %s: expected unix:///path or tcp://host:port",
                         host);
    }
    return NULL;
}

static size_t buf_write(char *ptr, size_t size, size_t n, void *opaque)
{
    buf_t *b = opaque;
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

typedef size_t (*sink_fn)(char *ptr, size_t size, size_t n, void *opaque);

/*
 * One request. `sink` receives the body (default: into `resp`, capped).
 * Connection failures are transient; the HTTP status is left in *status.
 */
static qg_error_t *docker_call(const docker_t *d, const char *method, const char *path,
                               const qg_json_t *body, long timeout_s, long *status, buf_t *resp,
                               sink_fn sink, void *sink_opaque)
{
    char url[2048], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(url, sizeof(url), "%s%s", d->base, path);
    char *text = body ? qg_json_serialize(body, 0, NULL) : NULL;
    if (body && !text)
        return qg_error_oom;
    CURL *e = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (!e || !h) {
        curl_easy_cleanup(e);
        curl_slist_free_all(h);
        free(text);
        return qg_error_oom;
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    if (d->socket[0])
        curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, d->socket);
    if (d->ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, d->ca);
    if (d->cert)
        curl_easy_setopt(e, CURLOPT_SSLCERT, d->cert);
    if (d->key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, d->key);
    if (!strcmp(method, "POST"))
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, text ? text : "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink ? sink : buf_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, sink ? sink_opaque : (void *)resp);
    CURLcode rc = curl_easy_perform(e);
    *status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    free(text);
    if (rc == CURLE_OK)
        return NULL;
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (unreachable(rc))
        return TRANSIENT("docker daemon at %s unreachable: %s", d->host, why);
    return STAGE_ERR("docker daemon at %s: %s %s: %s", d->host, method, path, why);
}

/* A JSON request whose answer is parsed into *out (may be NULL). */
static qg_error_t *docker_json(const docker_t *d, const char *method, const char *path,
                               const qg_json_t *body, long timeout_s, long *status, qg_json_t **out)
{
    buf_t resp = {.max = RESPONSE_MAX};
    char errstr[128];
    if (out)
        *out = NULL;
    qg_error_t *err = docker_call(d, method, path, body, timeout_s, status, &resp, NULL, NULL);
    if (!err && out && resp.len)
        *out = qg_json_parse(resp.data, resp.len, errstr, sizeof(errstr));
    free(resp.data);
    return err;
}

/* The daemon's message of an error answer ("no such image: ..."). */
static const char *daemon_message(const qg_json_t *answer)
{
    const char *m = qg_json_str(qg_json_get(answer, "message"));
    return m ? m : "(no message)";
}

/* ---------- container configuration ---------- */

static int add_str(qg_json_t *arr, const char *s)
{
    qg_json_t *v = qg_json_string(s);
    if (!v || qg_json_append(arr, v) != 0) {
        qg_json_destroy(v);
        return -1;
    }
    return 0;
}

static int add_env(qg_json_t *env, const char *name, const char *value)
{
    if (qg_json_len(env) >= MAX_ENV + 16)
        return -1;
    size_t n = strlen(name) + strlen(value) + 2;
    char *kv = malloc(n);
    if (!kv)
        return -1;
    snprintf(kv, n, "%s=%s", name, value);
    int rc = add_str(env, kv);
    free(kv);
    return rc;
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
        if (add_env(env, name, value) != 0)
            return -1;
    }
    return 0;
}

static int env_name_ok(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
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
        if (!env_name_ok(name) || (is_obj && !value))
            return STAGE_ERR("selectedModel.runner.env[%zu]: invalid variable name or value", i);
        if (value && add_env(env, name, value) != 0)
            return qg_error_oom;
    }
    return NULL;
}

static qg_error_t *build_env(const qg_runner_job_t *job, qg_json_t *env)
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
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
        if (add_env(env, base[i].name, base[i].value) != 0)
            return qg_error_oom;
    if (add_params(env, job->input) != 0)
        return qg_error_oom;
    return add_model_env(env, qg_json_get(job->runner, "env"));
}

static qg_error_t *build_cmd(const qg_runner_job_t *job, qg_json_t **out)
{
    const qg_json_t *cmd = qg_json_get(job->runner, "command");
    *out = NULL;
    if (!cmd)
        return NULL; /* the image's own CMD */
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
        int rc = v ? add_str(arr, v) : -1;
        free(v);
        if (rc != 0)
            return qg_error_oom;
    }
    return arr ? NULL : qg_error_oom;
}

/* This process: "<hostname>/<pid>/<start time in clock ticks since boot>". */
static void owner_of(pid_t pid, char *out, size_t sz)
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

static qg_json_t *labels_json(const qg_runner_job_t *job)
{
    char owner[400], host[256] = "?";
    owner_of(getpid(), owner, sizeof(owner));
    gethostname(host, sizeof(host) - 1);
    qg_json_t *l = qg_json_object();
    if (!l || qg_json_set_str(l, LABEL_GOAL, job->goal_id ? job->goal_id : "") != 0 ||
        qg_json_set_str(l, LABEL_RUNNER, "docker") != 0 ||
        qg_json_set_str(l, LABEL_HOST, host) != 0 || qg_json_set_str(l, LABEL_OWNER, owner) != 0) {
        qg_json_destroy(l);
        return NULL;
    }
    return l;
}

/* The work directory as the daemon sees it (simulation.docker.work.dir.host). */
static void host_work_dir(const qg_runner_job_t *job, char *out, size_t sz)
{
    const char *local = cfg_str(job->cfg, "simulation.work.dir");
    const char *host = cfg_str(job->cfg, "simulation.docker.work.dir.host");
    size_t n = local ? strlen(local) : 0;
    if (host && n && !strncmp(job->work_dir, local, n) &&
        (job->work_dir[n] == '/' || !job->work_dir[n]))
        snprintf(out, sz, "%s%s", host, job->work_dir + n);
    else
        snprintf(out, sz, "%s", job->work_dir);
}

typedef struct {
    const char *image;
    char user[64];
    double cpus;
    int network;
} model_t;

static qg_error_t *model_read(const qg_runner_job_t *job, model_t *m)
{
    const qg_json_t *r = job->runner;
    memset(m, 0, sizeof(*m));
    m->image = qg_json_str(qg_json_get(r, "image"));
    if (!m->image || !*m->image)
        return STAGE_ERR("selectedModel.runner.image: missing");
    const char *user = qg_json_str(qg_json_get(r, "user"));
    if (!user && getuid() != 0)
        snprintf(m->user, sizeof(m->user), "%u:%u", (unsigned)getuid(), (unsigned)getgid());
    else
        snprintf(m->user, sizeof(m->user), "%s", user ? user : DEFAULT_USER);
    if (!strcmp(m->user, "0") || !strncmp(m->user, "0:", 2) || !strncmp(m->user, "root", 4))
        return STAGE_ERR("selectedModel.runner.user: %s: containers run as a non-root user",
                         m->user);
    const qg_json_t *cpus = qg_json_get(r, "cpus");
    m->cpus = qg_json_num(cpus, 1);
    if (!isfinite(m->cpus) || m->cpus <= 0 || m->cpus > 256)
        return STAGE_ERR("selectedModel.runner.cpus: expected a number in (0, 256]");
    const qg_json_t *net = qg_json_get(r, "network");
    m->network = qg_json_truthy(net);
    return NULL;
}

static qg_json_t *host_config(const qg_runner_job_t *job, const model_t *m)
{
    char work[4096], bind[4200];
    host_work_dir(job, work, sizeof(work));
    snprintf(bind, sizeof(bind), "%s:" MOUNT ":rw", work);
    qg_json_t *hc = qg_json_object(), *binds = qg_json_array(), *caps = qg_json_array(),
              *sec = qg_json_array(), *tmpfs = qg_json_object();
    int rc = (!hc || !binds || !caps || !sec || !tmpfs) ? -1 : 0;
    rc |= binds ? add_str(binds, bind) : -1;
    rc |= caps ? add_str(caps, "ALL") : -1;
    rc |= sec ? add_str(sec, "no-new-privileges") : -1;
    rc |= tmpfs ? qg_json_set_str(tmpfs, "/tmp", "rw,size=64m") : -1;
    if (rc != 0) {
        qg_json_destroy(binds);
        qg_json_destroy(caps);
        qg_json_destroy(sec);
        qg_json_destroy(tmpfs);
        qg_json_destroy(hc);
        return NULL;
    }
    qg_json_set(hc, "Binds", binds);
    qg_json_set(hc, "CapDrop", caps);
    qg_json_set(hc, "SecurityOpt", sec);
    qg_json_set(hc, "Tmpfs", tmpfs);
    qg_json_set_bool(hc, "ReadonlyRootfs", 1);
    qg_json_set_str(hc, "NetworkMode", m->network ? "bridge" : "none");
    qg_json_set_num(hc, "NanoCpus", round(m->cpus * 1e9));
    if (job->memory_limit_mb > 0)
        qg_json_set_num(hc, "Memory", (double)job->memory_limit_mb * 1048576.0);
    qg_json_set_num(hc, "PidsLimit", 1024);
    return hc;
}

static qg_error_t *create_body(const qg_runner_job_t *job, const model_t *m, qg_json_t **out)
{
    qg_json_t *body = *out = qg_json_object(), *env = qg_json_array(), *cmd = NULL;
    if (!body || !env) {
        qg_json_destroy(env);
        return qg_error_oom;
    }
    qg_error_t *err = build_env(job, env);
    if (err || qg_json_set(body, "Env", env) != 0) {
        qg_json_destroy(env);
        return err ? err : qg_error_oom;
    }
    if ((err = build_cmd(job, &cmd)) != NULL || (cmd && qg_json_set(body, "Cmd", cmd) != 0)) {
        qg_json_destroy(cmd);
        return err ? err : qg_error_oom;
    }
    qg_json_t *labels = labels_json(job), *hc = host_config(job, m);
    if (!labels || !hc || qg_json_set(body, "Labels", labels) != 0 ||
        qg_json_set(body, "HostConfig", hc) != 0) {
        qg_json_destroy(labels);
        qg_json_destroy(hc);
        return qg_error_oom;
    }
    int rc = qg_json_set_str(body, "Image", m->image);
    rc |= qg_json_set_str(body, "User", m->user);
    rc |= qg_json_set_str(body, "WorkingDir", MOUNT);
    rc |= qg_json_set_bool(body, "NetworkDisabled", !m->network);
    rc |= qg_json_set_bool(body, "AttachStdout", 0);
    rc |= qg_json_set_bool(body, "Tty", 0);
    return rc == 0 ? NULL : qg_error_oom;
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

/*
 * A worker running as root hands the work directory to the container's user
 * (numeric uid[:gid]); logs/ stays the worker's. A non-root worker runs the
 * container as itself, so nothing changes hands.
 */
static qg_error_t *hand_over(const qg_runner_dirs_t *dirs, const model_t *m)
{
    unsigned uid, gid;
    if (getuid() != 0)
        return NULL;
    int n = sscanf(m->user, "%u:%u", &uid, &gid);
    if (n < 1)
        return NULL; /* a user name: the image must be able to write the mount */
    chown_uid = (uid_t)uid;
    chown_gid = (gid_t)(n == 2 ? gid : uid);
    const char *paths[] = {dirs->scenario, dirs->results, dirs->tmp};
    if (lchown(dirs->work, chown_uid, chown_gid) != 0 || lchown(dirs->input, chown_uid, chown_gid))
        return STAGE_ERR("cannot hand %s to user %s: %s", dirs->work, m->user, strerror(errno));
    for (size_t i = 0; i < 3; i++)
        if (nftw(paths[i], chown_entry, 8, FTW_PHYS) != 0)
            return STAGE_ERR("cannot hand %s to user %s: %s", paths[i], m->user, strerror(errno));
    return NULL;
}

/* ---------- the container's life ---------- */

typedef struct {
    const docker_t *d;
    char id[128];
    char name[160];
    int exit_code;
    int oom_killed;
} container_t;

static void container_remove(const container_t *c)
{
    char path[256];
    long status;
    qg_json_t *answer = NULL;
    if (!c->id[0])
        return;
    snprintf(path, sizeof(path), API "/containers/%s?force=true&v=true", c->id);
    qg_error_t *err = docker_json(c->d, "DELETE", path, NULL, 30, &status, &answer);
    if (err || (status >= 300 && status != 404))
        qg_warn(COMPONENT, "cannot remove container %s: %s", c->name,
                err ? qg_error_message(err) : daemon_message(answer));
    qg_error_destroy(err);
    qg_json_destroy(answer);
}

static void container_stop(const container_t *c)
{
    char path[256];
    long status;
    snprintf(path, sizeof(path), API "/containers/%s/stop?t=%d", c->id, STOP_GRACE_S);
    qg_error_destroy(docker_json(c->d, "POST", path, NULL, STOP_GRACE_S + 30, &status, NULL));
}

static void container_name(const qg_runner_job_t *job, char *out, size_t sz)
{
    static unsigned long counter;
    char safe[48];
    size_t n = 0;
    for (const char *p = job->goal_id ? job->goal_id : "goal"; *p && n < sizeof(safe) - 1; p++)
        safe[n++] = (isalnum((unsigned char)*p) || *p == '-' || *p == '_') ? *p : '_';
    safe[n] = '\0';
    snprintf(out, sz, "qg-sim-%s-%d-%lu", safe, (int)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
}

static qg_error_t *container_create(container_t *c, const qg_runner_job_t *job, const model_t *m)
{
    qg_json_t *body = NULL, *answer = NULL;
    char path[512];
    long status;
    qg_error_t *err = create_body(job, m, &body);
    container_name(job, c->name, sizeof(c->name));
    snprintf(path, sizeof(path), API "/containers/create?name=%s", c->name);
    if (!err)
        err = docker_json(c->d, "POST", path, body, 60, &status, &answer);
    if (!err && status == 404)
        err = STAGE_ERR("image %s not found on the docker daemon at %s: %s", m->image, c->d->host,
                        daemon_message(answer));
    else if (!err && status == 503)
        err = TRANSIENT("docker daemon at %s: create %s: HTTP %ld: %s", c->d->host, m->image,
                        status, daemon_message(answer));
    else if (!err && status != 201)
        err = STAGE_ERR("docker daemon at %s refused to create a container from %s: HTTP %ld: %s",
                        c->d->host, m->image, status, daemon_message(answer));
    const char *id = qg_json_str(qg_json_get(answer, "Id"));
    if (!err && (!id || strlen(id) >= sizeof(c->id)))
        err = STAGE_ERR("docker daemon at %s: create answered without an Id", c->d->host);
    if (!err)
        snprintf(c->id, sizeof(c->id), "%s", id);
    qg_json_destroy(body);
    qg_json_destroy(answer);
    return err;
}

static qg_error_t *container_start(const container_t *c, const model_t *m)
{
    char path[256];
    long status;
    qg_json_t *answer = NULL;
    snprintf(path, sizeof(path), API "/containers/%s/start", c->id);
    qg_error_t *err = docker_json(c->d, "POST", path, NULL, 60, &status, &answer);
    if (!err && status != 204 && status != 304)
        err = STAGE_ERR("container %s (image %s) did not start: HTTP %ld: %s", c->name, m->image,
                        status, daemon_message(answer));
    qg_json_destroy(answer);
    return err;
}

/* 1: exited (exit code filled), 0: still running. */
static qg_error_t *container_exited(container_t *c, int *done)
{
    char path[256];
    long status;
    qg_json_t *answer = NULL;
    *done = 0;
    snprintf(path, sizeof(path), API "/containers/%s/json", c->id);
    qg_error_t *err = docker_json(c->d, "GET", path, NULL, 30, &status, &answer);
    const qg_json_t *state = qg_json_get(answer, "State");
    if (!err && (status != 200 || !state))
        err = STAGE_ERR("container %s vanished while running: HTTP %ld: %s", c->name, status,
                        daemon_message(answer));
    const char *st = qg_json_str(qg_json_get(state, "Status"));
    if (!err && !qg_json_truthy(qg_json_get(state, "Running")) && st &&
        (!strcmp(st, "exited") || !strcmp(st, "dead") || !strcmp(st, "stopped"))) {
        *done = 1;
        c->exit_code = (int)qg_json_num(qg_json_get(state, "ExitCode"), -1);
        c->oom_killed = qg_json_truthy(qg_json_get(state, "OOMKilled"));
    }
    qg_json_destroy(answer);
    return err;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef enum { END_EXITED, END_TIMED_OUT, END_CANCELLED } end_t;

static qg_error_t *container_wait(container_t *c, const qg_runner_job_t *job, end_t *end,
                                  double *elapsed)
{
    double t0 = mono_s();
    struct timespec pause = {0, POLL_MS * 1000000L};
    for (;;) {
        int done = 0;
        qg_error_t *err = container_exited(c, &done);
        *elapsed = mono_s() - t0;
        if (err || done) {
            *end = END_EXITED;
            return err;
        }
        if (job->cancel && *job->cancel) {
            *end = END_CANCELLED;
            return NULL;
        }
        if (*elapsed >= job->time_limit_s) {
            *end = END_TIMED_OUT;
            return NULL;
        }
        nanosleep(&pause, NULL);
    }
}

/* ---------- logs: the multiplexed stream into two capped files ---------- */

typedef struct {
    FILE *out, *err;
    size_t cap, out_bytes, err_bytes;
    int truncated;
    unsigned char header[8];
    size_t header_len, frame_left;
    int frame_stream;
} demux_t;

static void demux_emit(demux_t *x, const char *data, size_t n)
{
    FILE *f = x->frame_stream == 2 ? x->err : x->out;
    size_t *count = x->frame_stream == 2 ? &x->err_bytes : &x->out_bytes;
    size_t room = *count < x->cap ? x->cap - *count : 0, take = n < room ? n : room;
    if (take && f && fwrite(data, 1, take, f) != take)
        x->truncated = 1;
    if (take < n)
        x->truncated = 1;
    *count += n;
}

static size_t demux_write(char *ptr, size_t size, size_t n, void *opaque)
{
    demux_t *x = opaque;
    size_t total = size * n, i = 0;
    while (i < total) {
        if (x->frame_left == 0) {
            x->header[x->header_len++] = (unsigned char)ptr[i++];
            if (x->header_len == 8) {
                x->frame_stream = x->header[0];
                x->frame_left = ((size_t)x->header[4] << 24) | ((size_t)x->header[5] << 16) |
                                ((size_t)x->header[6] << 8) | (size_t)x->header[7];
                x->header_len = 0;
            }
            continue;
        }
        size_t take = total - i < x->frame_left ? total - i : x->frame_left;
        demux_emit(x, ptr + i, take);
        x->frame_left -= take;
        i += take;
    }
    return total;
}

static void collect_logs(const container_t *c, const qg_runner_dirs_t *dirs, size_t cap, demux_t *x)
{
    char path[256];
    long status;
    memset(x, 0, sizeof(*x));
    x->cap = cap ? cap : (1u << 20);
    x->out = fopen(dirs->out_log, "w");
    x->err = fopen(dirs->err_log, "w");
    snprintf(path, sizeof(path), API "/containers/%s/logs?stdout=true&stderr=true", c->id);
    qg_error_t *err = docker_call(c->d, "GET", path, NULL, 60, &status, NULL, demux_write, x);
    if (err)
        qg_warn(COMPONENT, "logs of container %s: %s", c->name, qg_error_message(err));
    qg_error_destroy(err);
    if (x->out)
        fclose(x->out);
    if (x->err)
        fclose(x->err);
    x->out = x->err = NULL;
}

/* "QG_PROGRESS {...}" lines of the captured stdout, after the run. */
static void replay_progress(const qg_runner_job_t *job, const qg_runner_dirs_t *dirs)
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

/* ---------- the run ---------- */

static qg_json_t *runner_info(const container_t *c, const model_t *m, const demux_t *x,
                              double elapsed)
{
    qg_json_t *info = qg_json_object();
    qg_json_set_str(info, "type", "docker");
    qg_json_set_str(info, "image", m->image);
    qg_json_set_str(info, "container", c->name);
    qg_json_set_str(info, "daemon", c->d->host);
    qg_json_set_str(info, "user", m->user);
    qg_json_set_num(info, "exitCode", c->exit_code);
    qg_json_set_num(info, "elapsedSeconds", elapsed);
    qg_json_set_num(info, "stdoutBytes", (double)x->out_bytes);
    qg_json_set_num(info, "stderrBytes", (double)x->err_bytes);
    qg_json_set_bool(info, "logsTruncated", x->truncated);
    return info;
}

static qg_error_t *exit_failure(const container_t *c, const model_t *m,
                                const qg_runner_dirs_t *dirs, const qg_runner_job_t *job)
{
    char mem[96] = "";
    if (c->oom_killed || job->memory_limit_mb > 0)
        snprintf(mem, sizeof(mem), " (%smemory limit %ld MB)",
                 c->oom_killed ? "killed at the " : "", job->memory_limit_mb);
    char *tail = qg_runner_file_tail(dirs->err_log, 300);
    qg_error_t *err =
        STAGE_ERR("container %s (image %s) ended with exit status %d%s; stderr: %s", c->name,
                  m->image, c->exit_code, mem, tail && *tail ? tail : "(empty)");
    free(tail);
    return err;
}

static qg_error_t *run_container(container_t *c, const qg_runner_job_t *job, const model_t *m,
                                 const qg_runner_dirs_t *dirs, qg_json_t **result_out)
{
    end_t end = END_EXITED;
    double elapsed = 0;
    demux_t logs;
    qg_error_t *err = container_start(c, m);
    if (!err)
        err = container_wait(c, job, &end, &elapsed);
    if (!err && end != END_EXITED)
        container_stop(c);
    collect_logs(c, dirs, job->log_max_bytes, &logs);
    replay_progress(job, dirs);
    if (err)
        return err;
    if (end == END_CANCELLED)
        return TRANSIENT("simulation cancelled (worker stopping); container %s stopped", c->name);
    if (end == END_TIMED_OUT)
        return STAGE_ERR("container %s (image %s) exceeded the time limit of %g s and was "
                         "stopped and removed",
                         c->name, m->image, job->time_limit_s);
    if (c->exit_code != 0)
        return exit_failure(c, m, dirs, job);
    err = qg_runner_result_read(dirs, job, result_out);
    if (!err && qg_json_set(*result_out, "runner", runner_info(c, m, &logs, elapsed)) != 0)
        err = qg_error_oom;
    return err;
}

static qg_error_t *docker_run(const qg_runner_job_t *job, qg_json_t **result_out)
{
    *result_out = NULL;
    docker_t d;
    model_t m;
    qg_runner_dirs_t *dirs = calloc(1, sizeof(*dirs));
    container_t c = {.d = &d, .exit_code = -1};
    if (!dirs)
        return qg_error_oom;
    qg_error_t *err = docker_open(job->cfg, &d);
    if (!err)
        err = model_read(job, &m);
    if (!err)
        err = qg_runner_dirs_prepare(job, MOUNT, dirs);
    if (!err)
        err = hand_over(dirs, &m);
    if (!err)
        err = container_create(&c, job, &m);
    if (!err) {
        qg_info(COMPONENT, "goal %s: container %s from %s", job->goal_id ? job->goal_id : "?",
                c.name, m.image);
        err = run_container(&c, job, &m, dirs, result_out);
    }
    container_remove(&c);
    if (err) {
        qg_json_destroy(*result_out);
        *result_out = NULL;
    }
    free(dirs);
    return err;
}

/* ---------- orphans ---------- */

/* Is the owner label's process gone (or its pid reused)? Only asked for this host. */
static int owner_gone(const char *owner)
{
    const char *slash = owner ? strchr(owner, '/') : NULL;
    if (!slash)
        return 1;
    int pid = atoi(slash + 1);
    char now[400];
    if (pid <= 0)
        return 1;
    owner_of((pid_t)pid, now, sizeof(now));
    return strcmp(now, owner) != 0;
}

int qg_runner_docker_recover(const qg_config_t *cfg)
{
    docker_t d;
    char host[256] = "?", filter[512], path[1024];
    long status;
    qg_json_t *list = NULL;
    if (docker_open(cfg, &d) != NULL)
        return -1;
    gethostname(host, sizeof(host) - 1);
    snprintf(filter, sizeof(filter), "{\"label\":[\"" LABEL_HOST "=%s\"]}", host);
    char *enc = curl_easy_escape(NULL, filter, 0);
    if (!enc)
        return -1;
    snprintf(path, sizeof(path), API "/containers/json?all=true&filters=%s", enc);
    curl_free(enc);
    qg_error_t *err = docker_json(&d, "GET", path, NULL, 30, &status, &list);
    int removed = 0;
    for (size_t i = 0; !err && status == 200 && i < qg_json_len(list); i++) {
        const qg_json_t *ct = qg_json_at(list, i);
        const char *owner = qg_json_str(qg_json_get(qg_json_get(ct, "Labels"), LABEL_OWNER));
        container_t c = {.d = &d};
        const char *id = qg_json_str(qg_json_get(ct, "Id"));
        if (!id || strlen(id) >= sizeof(c.id) || !owner_gone(owner))
            continue;
        snprintf(c.id, sizeof(c.id), "%s", id);
        snprintf(c.name, sizeof(c.name), "%.12s", id);
        qg_info(COMPONENT, "removing orphan container %s of %s (goal %s)", c.name,
                owner ? owner : "?",
                qg_json_str(qg_json_get(qg_json_get(ct, "Labels"), LABEL_GOAL)));
        container_remove(&c);
        removed++;
    }
    if (err)
        qg_debug(COMPONENT, "no orphan check: %s", qg_error_message(err));
    qg_error_destroy(err);
    qg_json_destroy(list);
    return removed;
}

const qg_runner_ops_t qg_runner_docker = {
    .type = "docker",
    .run = docker_run,
};
