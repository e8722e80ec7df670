/*
 * runner_exec.c - run a third-party simulator executable.
 *
 * The work directory gets scenario/ (the six seed files plus routing.json),
 * simulation_input.json, results/, logs/ and tmp/. The command is an argv
 * array (never a shell) with placeholders {scenario} {results} {input}
 * {workdir} {timeLimit} {seed} {goalId}; it runs in its own process group with
 * a clean environment, an address-space limit and a wall-clock limit, its
 * stdout/stderr captured to capped files. The result is
 * results/simulator_optimization_result.json (goal3_data{...}) or an engine
 * result JSON (results/result.json); anything missing or malformed is a
 * stage_error naming the file and the field.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"

#define MAX_ARGS       64
#define MAX_ENV        64
#define DEFAULT_PATH   "/usr/local/bin:/usr/bin:/bin"
#define STAGE_ERR(...) qg_error_new_stage_error(__VA_ARGS__)

extern char **environ;

typedef struct {
    qg_runner_dirs_t d;
    char *argv[MAX_ARGS + 1];
    char *envp[MAX_ENV + 8];
    char exe[4096];
    int nenv;
} exec_ctx_t;

static void exec_ctx_free(exec_ctx_t *x)
{
    for (int i = 0; x->argv[i]; i++)
        free(x->argv[i]);
    for (int i = 0; i < x->nenv; i++)
        free(x->envp[i]);
}

/* ---------- argv and environment ---------- */

static qg_error_t *build_argv(exec_ctx_t *x, const qg_runner_job_t *job, const char *work)
{
    const qg_json_t *cmd = qg_json_get(job->runner, "command");
    size_t n = qg_json_len(cmd);
    if (!qg_json_is(cmd, QG_JSON_ARRAY) || n == 0 || n > MAX_ARGS)
        return STAGE_ERR("selectedModel.runner.command: expected an array of 1..%d strings",
                         MAX_ARGS);
    char tl[32], seed[32];
    snprintf(tl, sizeof(tl), "%g", job->time_limit_s);
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)(job->engine ? job->engine->seed : 1));
    const qg_runner_var_t vars[] = {
        {"scenario", x->d.scenario},
        {"results", x->d.results},
        {"input", x->d.input},
        {"workdir", work},
        {"timeLimit", tl},
        {"seed", seed},
        {"goalId", job->goal_id ? job->goal_id : ""},
    };
    for (size_t i = 0; i < n; i++) {
        const char *s = qg_json_str(qg_json_at(cmd, i));
        if (!s || (i == 0 && !*s))
            return STAGE_ERR("selectedModel.runner.command[%zu]: expected a non-empty string", i);
        x->argv[i] = qg_runner_substitute(s, vars, sizeof(vars) / sizeof(vars[0]));
        if (!x->argv[i])
            return qg_error_oom;
    }
    return NULL;
}

static qg_error_t *env_add(exec_ctx_t *x, const char *name, const char *value)
{
    if (x->nenv >= MAX_ENV + 7)
        return STAGE_ERR("selectedModel.runner.env: more than %d variables", MAX_ENV);
    size_t len = strlen(name) + strlen(value) + 2;
    char *kv = malloc(len);
    if (!kv)
        return qg_error_oom;
    snprintf(kv, len, "%s=%s", name, value);
    for (int i = 0; i < x->nenv; i++)
        if (!strncmp(x->envp[i], name, strlen(name)) && x->envp[i][strlen(name)] == '=') {
            free(x->envp[i]);
            x->envp[i] = kv;
            return NULL;
        }
    x->envp[x->nenv++] = kv;
    x->envp[x->nenv] = NULL;
    return NULL;
}

/* Clean environment: fixed basics, QG_* locations, then the model's allow-list. */
static qg_error_t *build_env(exec_ctx_t *x, const qg_runner_job_t *job, const char *work)
{
    const char *path = qg_json_str(qg_json_get(job->runner, "path"));
    qg_error_t *err = NULL;
    char tl[32];
    snprintf(tl, sizeof(tl), "%g", job->time_limit_s);
    const qg_runner_var_t base[] = {
        {"PATH", path ? path : DEFAULT_PATH},
        {"HOME", work},
        {"TMPDIR", x->d.tmp},
        {"LANG", "C.UTF-8"},
        {"QG_SCENARIO_DIR", x->d.scenario},
        {"QG_RESULTS_DIR", x->d.results},
        {"QG_INPUT", x->d.input},
        {"QG_TIME_LIMIT", tl},
        {"QG_GOAL_ID", job->goal_id ? job->goal_id : ""},
    };
    for (size_t i = 0; !err && i < sizeof(base) / sizeof(base[0]); i++)
        err = env_add(x, base[i].name, base[i].value);
    const qg_json_t *env = qg_json_get(job->runner, "env");
    if (env && !qg_json_is(env, QG_JSON_ARRAY) && !qg_json_is(env, QG_JSON_OBJECT))
        return err ? err : STAGE_ERR("selectedModel.runner.env: expected names or an object");
    for (size_t i = 0; !err && i < qg_json_len(env); i++) {
        int is_obj = qg_json_is(env, QG_JSON_OBJECT);
        const char *name = is_obj ? qg_json_key_at(env, i) : qg_json_str(qg_json_at(env, i));
        const char *value = is_obj ? qg_json_str(qg_json_at(env, i)) : getenv(name ? name : "");
        if (!qg_runner_env_name_ok(name) || (is_obj && !value))
            err = STAGE_ERR("selectedModel.runner.env[%zu]: invalid variable name or value", i);
        else if (value)
            err = env_add(x, name, value);
    }
    return err;
}

/* argv[0] with a slash: made absolute (the child changes directory); else searched in PATH. */
static qg_error_t *resolve_exe(exec_ctx_t *x, const char *search_path)
{
    const char *cmd = x->argv[0];
    if (strchr(cmd, '/')) {
        if (!realpath(cmd, x->exe))
            return STAGE_ERR("selectedModel.runner.command[0]: %s: %s", cmd, strerror(errno));
    } else {
        char *paths = strdup(search_path), *save = NULL;
        if (!paths)
            return qg_error_oom;
        x->exe[0] = '\0';
        for (char *d = strtok_r(paths, ":", &save); d && !x->exe[0];
             d = strtok_r(NULL, ":", &save)) {
            char cand[4096];
            snprintf(cand, sizeof(cand), "%s/%s", d, cmd);
            if (access(cand, X_OK) == 0)
                snprintf(x->exe, sizeof(x->exe), "%s", cand);
        }
        free(paths);
        if (!x->exe[0])
            return STAGE_ERR("selectedModel.runner.command[0]: %s not found in PATH %s", cmd,
                             search_path);
    }
    if (access(x->exe, X_OK) != 0)
        return STAGE_ERR("selectedModel.runner.command[0]: %s is not executable: %s", x->exe,
                         strerror(errno));
    return NULL;
}

/* ---------- the child ---------- */

/* Close every inherited descriptor above stderr except `keep`. */
static void child_close_fds(int keep)
{
    if (keep > 3 && close_range(3, (unsigned)keep - 1, 0) == 0 &&
        close_range((unsigned)keep + 1, ~0U, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        if (fd != keep)
            close(fd);
}

static void child_exec(const exec_ctx_t *x, const qg_runner_job_t *job, const char *work, int out_w,
                       int err_w, int report_w)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        goto fail;
    child_close_fds(report_w);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (chdir(work) != 0 || qg_runner_limit_memory(job->memory_limit_mb) != 0)
        goto fail;
    execve(x->exe, x->argv, x->envp);
fail:;
    int e = errno;
    if (write(report_w, &e, sizeof(e)) < 0)
        e = 0;
    _exit(127);
}

/* "QG_PROGRESS {json}" lines of the simulator's stdout. */
static void on_progress_line(const char *line, size_t len, void *opaque)
{
    const qg_runner_job_t *job = opaque;
    qg_runner_progress_line(line, len, job->progress, job->opaque);
}

static qg_error_t *spawn(const exec_ctx_t *x, const qg_runner_job_t *job, const char *work,
                         qg_child_t *c)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1}, rep[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(rep, O_CLOEXEC)) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (out[i] >= 0)
                close(out[i]);
            if (err[i] >= 0)
                close(err[i]);
            if (rep[i] >= 0)
                close(rep[i]);
        }
        return STAGE_ERR("pipe: %s", strerror(e));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        child_exec(x, job, work, out[1], err[1], rep[1]);
    int fork_errno = errno;
    close(out[1]);
    close(err[1]);
    close(rep[1]);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        close(rep[0]);
        return STAGE_ERR("fork: %s", strerror(fork_errno));
    }
    setpgid(pid, pid);
    int child_errno = 0;
    ssize_t n;
    while ((n = read(rep[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR)
        ;
    close(rep[0]);
    c->pid = pid;
    c->out_fd = out[0];
    c->err_fd = err[0];
    c->line_fd = -1;
    if (n == (ssize_t)sizeof(child_errno)) {
        close(out[0]);
        close(err[0]);
        waitpid(pid, NULL, 0);
        return STAGE_ERR("cannot execute %s: %s", x->exe, strerror(child_errno));
    }
    return NULL;
}

static qg_json_t *runner_info(const exec_ctx_t *x, const qg_child_t *c)
{
    qg_json_t *info = qg_json_object();
    char buf[96];
    qg_json_set_str(info, "type", "exec");
    qg_json_set_str(info, "executable", x->exe);
    qg_json_set_str(info, "status", qg_runner_describe_status(c->status, buf, sizeof(buf)));
    qg_json_set_num(info, "elapsedSeconds", c->elapsed_s);
    qg_json_set_num(info, "stdoutBytes", (double)c->out_bytes);
    qg_json_set_num(info, "stderrBytes", (double)c->err_bytes);
    qg_json_set_bool(info, "logsTruncated", c->out_truncated || c->err_truncated);
    return info;
}

static qg_error_t *child_failure(const exec_ctx_t *x, const qg_runner_job_t *job,
                                 const qg_child_t *c, qg_child_end_t end)
{
    char st[96], mem[64] = "";
    if (end == QG_CHILD_TIMED_OUT)
        return STAGE_ERR("simulator %s exceeded the time limit of %g s and was killed", x->exe,
                         job->time_limit_s);
    if (end == QG_CHILD_CANCELLED)
        return qg_error_new_transient("simulation cancelled (worker stopping)");
    if (job->memory_limit_mb > 0)
        snprintf(mem, sizeof(mem), " (memory limit %ld MB)", job->memory_limit_mb);
    char *tail = qg_runner_file_tail(x->d.err_log, 300);
    qg_error_t *err = STAGE_ERR("simulator %s ended with %s%s; stderr: %s", x->exe,
                                qg_runner_describe_status(c->status, st, sizeof(st)), mem,
                                tail && *tail ? tail : "(empty)");
    free(tail);
    return err;
}

static qg_error_t *exec_run(const qg_runner_job_t *job, qg_json_t **result_out)
{
    *result_out = NULL;
    exec_ctx_t *x = calloc(1, sizeof(*x));
    if (!x)
        return qg_error_oom;
    const char *work = job->work_dir;
    qg_error_t *err = qg_runner_dirs_prepare(job, NULL, &x->d);
    if (!err)
        err = build_argv(x, job, work);
    if (!err)
        err = build_env(x, job, work);
    if (!err) {
        const char *path = qg_json_str(qg_json_get(job->runner, "path"));
        err = resolve_exe(x, path ? path : DEFAULT_PATH);
    }
    qg_child_t c = {.out_fd = -1, .err_fd = -1, .line_fd = -1};
    if (!err)
        err = spawn(x, job, work, &c);
    if (!err) {
        c.out_path = x->d.out_log;
        c.err_path = x->d.err_log;
        c.log_max = job->log_max_bytes;
        c.on_line = on_progress_line;
        c.opaque = (void *)job;
        qg_child_end_t end = qg_runner_supervise(&c, job->time_limit_s, job->cancel);
        if (end != QG_CHILD_EXITED || !WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
            err = child_failure(x, job, &c, end);
        else
            err = qg_runner_result_read(&x->d, job, result_out);
        if (!err && qg_json_set(*result_out, "runner", runner_info(x, &c)) != 0)
            err = qg_error_oom;
    }
    if (err) {
        qg_json_destroy(*result_out);
        *result_out = NULL;
    }
    exec_ctx_free(x);
    free(x);
    return err;
}

const qg_runner_ops_t qg_runner_exec = {
    .type = "exec",
    .run = exec_run,
};
