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
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "runner.h"

#define COMPONENT      "docker"
#define API            "/v1.41"
#define MOUNT          QG_RUNNER_MOUNT
#define DEFAULT_HOST   "unix:///var/run/docker.sock"
#define POLL_MS        200
#define STOP_GRACE_S   2
#define LABEL_GOAL     "io.querygoal.goalId"
#define LABEL_RUNNER   "io.querygoal.runner"
#define LABEL_HOST     "io.querygoal.host"
#define LABEL_OWNER    "io.querygoal.owner"
#define STAGE_ERR(...) qg_error_new(QG_ERR_STAGE_ERROR, __VA_ARGS__)
#define TRANSIENT(...) qg_error_new(QG_ERR_TRANSIENT, __VA_ARGS__)

/* ---------- the daemon connection ---------- */

typedef qg_runner_api_t docker_t;

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
    d->what = "docker daemon";
    snprintf(d->where, sizeof(d->where), "%s", host);
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

/* The shared environment as the Engine API wants it: ["NAME=value", ...]. */
static qg_error_t *build_env(const qg_runner_job_t *job, qg_json_t **out)
{
    qg_json_t *vars = NULL, *env = *out = qg_json_array();
    qg_error_t *err = env ? qg_runner_container_env(job, &vars) : qg_error_oom;
    for (size_t i = 0; !err && i < qg_json_len(vars); i++) {
        const char *name = qg_json_key_at(vars, i), *value = qg_json_str(qg_json_at(vars, i));
        size_t n = strlen(name) + strlen(value) + 2;
        char *kv = malloc(n);
        if (kv)
            snprintf(kv, n, "%s=%s", name, value);
        if (!kv || add_str(env, kv) != 0)
            err = qg_error_oom;
        free(kv);
    }
    qg_json_destroy(vars);
    return err;
}

static qg_json_t *labels_json(const qg_runner_job_t *job)
{
    char owner[400], host[256] = "?";
    qg_runner_owner_of(getpid(), owner, sizeof(owner));
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

/* The model's image, user, CPU limit and network (runner_container.c). */
typedef qg_runner_container_t model_t;

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
    qg_json_t *body = *out = qg_json_object(), *env = NULL, *cmd = NULL;
    if (!body)
        return qg_error_oom;
    qg_error_t *err = build_env(job, &env);
    if (err || qg_json_set(body, "Env", env) != 0) {
        qg_json_destroy(err ? env : NULL);
        return err ? err : qg_error_oom;
    }
    if ((err = qg_runner_container_cmd(job, &cmd)) != NULL ||
        (cmd && qg_json_set(body, "Cmd", cmd) != 0)) {
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
    qg_error_t *err = qg_runner_api_json(c->d, "DELETE", path, NULL, 30, &status, &answer);
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
    qg_error_destroy(
        qg_runner_api_json(c->d, "POST", path, NULL, STOP_GRACE_S + 30, &status, NULL));
}

static void container_name(const qg_runner_job_t *job, char *out, size_t sz)
{
    static unsigned long counter;
    char safe[48];
    qg_runner_safe_name(job->goal_id, safe, sizeof(safe));
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
        err = qg_runner_api_json(c->d, "POST", path, body, 60, &status, &answer);
    if (!err && status == 404)
        err = STAGE_ERR("image %s not found on the docker daemon at %s: %s", m->image, c->d->where,
                        daemon_message(answer));
    else if (!err && status == 503)
        err = TRANSIENT("docker daemon at %s: create %s: HTTP %ld: %s", c->d->where, m->image,
                        status, daemon_message(answer));
    else if (!err && status != 201)
        err = STAGE_ERR("docker daemon at %s refused to create a container from %s: HTTP %ld: %s",
                        c->d->where, m->image, status, daemon_message(answer));
    const char *id = qg_json_str(qg_json_get(answer, "Id"));
    if (!err && (!id || strlen(id) >= sizeof(c->id)))
        err = STAGE_ERR("docker daemon at %s: create answered without an Id", c->d->where);
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
    qg_error_t *err = qg_runner_api_json(c->d, "POST", path, NULL, 60, &status, &answer);
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
    qg_error_t *err = qg_runner_api_json(c->d, "GET", path, NULL, 30, &status, &answer);
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

typedef enum { END_EXITED, END_TIMED_OUT, END_CANCELLED } end_t;

static qg_error_t *container_wait(container_t *c, const qg_runner_job_t *job, end_t *end,
                                  double *elapsed)
{
    double t0 = qg_clock_ms() / 1000.0;
    struct timespec pause = {0, POLL_MS * 1000000L};
    for (;;) {
        int done = 0;
        qg_error_t *err = container_exited(c, &done);
        *elapsed = qg_clock_ms() / 1000.0 - t0;
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
    qg_runner_request_t rq = {
        .method = "GET", .path = path, .timeout_s = 60, .sink = demux_write, .sink_opaque = x};
    qg_error_t *err = qg_runner_api_call(c->d, &rq, &status);
    if (err)
        qg_warn(COMPONENT, "logs of container %s: %s", c->name, qg_error_message(err));
    qg_error_destroy(err);
    if (x->out)
        fclose(x->out);
    if (x->err)
        fclose(x->err);
    x->out = x->err = NULL;
}

/* ---------- the run ---------- */

static qg_json_t *runner_info(const container_t *c, const model_t *m, const demux_t *x,
                              double elapsed)
{
    qg_json_t *info = qg_json_object();
    qg_json_set_str(info, "type", "docker");
    qg_json_set_str(info, "image", m->image);
    qg_json_set_str(info, "container", c->name);
    qg_json_set_str(info, "daemon", c->d->where);
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
    qg_runner_replay_progress(job, dirs);
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
        err = qg_runner_container_read(job, &m);
    if (!err)
        err = qg_runner_dirs_prepare(job, MOUNT, dirs);
    if (!err)
        err = qg_runner_hand_over(dirs, m.user);
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
    qg_error_t *err = qg_runner_api_json(&d, "GET", path, NULL, 30, &status, &list);
    int removed = 0;
    for (size_t i = 0; !err && status == 200 && i < qg_json_len(list); i++) {
        const qg_json_t *ct = qg_json_at(list, i);
        const char *owner = qg_json_str(qg_json_get(qg_json_get(ct, "Labels"), LABEL_OWNER));
        container_t c = {.d = &d};
        const char *id = qg_json_str(qg_json_get(ct, "Id"));
        if (!id || strlen(id) >= sizeof(c.id) || !qg_runner_owner_gone(owner))
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
