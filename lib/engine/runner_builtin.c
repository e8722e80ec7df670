/*
 * runner_builtin.c - the engine library in a forked child process.
 *
 * The child runs qg_engine_run under an address-space limit (the memory it
 * already maps plus memory_limit_mb), writes progress as JSON lines to a pipe
 * (at most every 100 ms) and the result to <work>/result.json, or the error
 * to <work>/error.json. A crash, a runaway or an exhausted limit ends only
 * the child; the parent kills it at the wall-clock limit or on cancel.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

#if defined(__SANITIZE_ADDRESS__)
#define QG_RUNNER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QG_RUNNER_ASAN 1
#endif
#endif

#define EXIT_ENGINE_ERROR 2
#define EXIT_WRITE_ERROR  3
#define PROGRESS_EVERY_S  0.1
#define OPTIMIZE_SHARE    0.9 /* share of the progress bar for the optimizer */

typedef struct {
    int fd;
    const qg_engine_options_t *opts;
    double start, last;
    double shown; /* largest fraction reported: the bar never goes back, also when the
                   * optimizer runs twice (the baseline without the order, then the order) */
    const char *last_phase;
    pthread_mutex_t lock;
} child_progress_t;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double progress_fraction(const child_progress_t *cp, const qg_engine_progress_t *pr,
                                double now)
{
    if (pr->phase && !strcmp(pr->phase, "replay"))
        return OPTIMIZE_SHARE +
               (1 - OPTIMIZE_SHARE) * (pr->replications_total > 0
                                           ? (double)pr->replications_done / pr->replications_total
                                           : 0);
    double g = cp->opts->max_generations > 0
                   ? (double)pr->generation / (double)cp->opts->max_generations
                   : 0;
    double t = cp->opts->time_limit_s > 0 ? (now - cp->start) / cp->opts->time_limit_s : 0;
    double f = g > t ? g : t;
    return OPTIMIZE_SHARE * (f > 1 ? 1 : f);
}

/* Engine callback in the child (any engine thread): one JSON line, rate-limited, never blocks. */
static void child_progress(const qg_engine_progress_t *pr, void *opaque)
{
    child_progress_t *cp = opaque;
    pthread_mutex_lock(&cp->lock);
    double now = mono_s();
    int phase_changed = !cp->last_phase || !pr->phase || strcmp(cp->last_phase, pr->phase);
    int last = pr->replications_total > 0 && pr->replications_done == pr->replications_total;
    if (phase_changed || last || now - cp->last >= PROGRESS_EVERY_S) {
        double fraction = progress_fraction(cp, pr, now);
        if (fraction < cp->shown)
            fraction = cp->shown;
        cp->shown = fraction;
        char line[320];
        int n = snprintf(line, sizeof(line),
                         "{\"phase\":\"%s\",\"generation\":%ld,\"best\":%.3f,\"second\":%.3f,"
                         "\"replications\":%d,\"replicationsTotal\":%d,\"progress\":%.4f}\n",
                         pr->phase ? pr->phase : "optimize", pr->generation,
                         isfinite(pr->best_makespan) ? pr->best_makespan : -1.0,
                         isfinite(pr->best_second) ? pr->best_second : -1.0, pr->replications_done,
                         pr->replications_total, fraction);
        if (n > 0 && (size_t)n < sizeof(line) && write(cp->fd, line, (size_t)n) < 0) {
            /* full pipe: progress is ephemeral, drop the line */
        }
        cp->last = now;
        cp->last_phase = pr->phase;
    }
    pthread_mutex_unlock(&cp->lock);
}

/*
 * Limit the child's address space to what it maps now (the fork inherits the
 * worker's mappings) plus mb MiB. Not under ASan, whose shadow mappings make
 * an address-space limit unusable.
 */
static void child_limit_memory(long mb)
{
#ifdef QG_RUNNER_ASAN
    (void)mb;
#else
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    long mapped = (long)((pages * (unsigned long)sysconf(_SC_PAGESIZE)) >> 20);
    if (mb > 0)
        qg_runner_limit_memory(mapped + mb);
#endif
}

static void write_error_file(const char *path, const qg_error_t *err)
{
    /* The engine process runs under the job's own memory limit: running out of
     * memory there is the goal asking for more than it may use, not the worker
     * lacking memory, so the goal fails instead of the worker stopping. */
    qg_error_class_t cls = qg_error_is_oom(err) ? QG_ERR_STAGE_ERROR : qg_error_class(err);
    qg_json_t *e = qg_json_object();
    qg_json_set_str(e, "class", qg_error_class_name(cls));
    qg_json_set_str(e, "message", qg_error_message(err));
    qg_json_write_file(e, path);
    qg_json_destroy(e);
}

static void child_main(const qg_runner_job_t *job, int progress_fd, const char *result_path,
                       const char *error_path)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    child_limit_memory(job->memory_limit_mb);
    child_progress_t cp = {.fd = progress_fd, .opts = job->engine, .start = mono_s()};
    pthread_mutex_init(&cp.lock, NULL);
    qg_json_t *result = NULL;
    qg_error_t *err =
        qg_engine_run(job->scenario, job->order, job->engine, child_progress, &cp, NULL, &result);
    if (err) {
        write_error_file(error_path, err);
        _exit(EXIT_ENGINE_ERROR);
    }
    size_t len = 0;
    char *text = qg_json_serialize(result, 0, &len);
    FILE *f = text ? fopen(result_path, "w") : NULL;
    int ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    _exit(ok ? 0 : EXIT_WRITE_ERROR);
}

static qg_error_t *child_error(const char *error_path)
{
    char errstr[256];
    qg_json_t *e = qg_json_parse_file(error_path, errstr, sizeof(errstr));
    int cls = qg_error_class_from_name(qg_json_str(qg_json_get(e, "class")));
    const char *msg = qg_json_str(qg_json_get(e, "message"));
    qg_error_t *err =
        msg ? qg_error_new(cls > 0 ? (qg_error_class_t)cls : QG_ERR_STAGE_ERROR, "%s", msg)
            : qg_error_new_stage_error("engine failed without a readable error: %s", errstr);
    qg_json_destroy(e);
    return err;
}

static qg_error_t *child_outcome(const qg_runner_job_t *job, const qg_child_t *c,
                                 qg_child_end_t end, const char *result_path,
                                 const char *error_path, qg_json_t **result_out)
{
    char st[96], mem[64] = "";
    if (end == QG_CHILD_TIMED_OUT)
        return qg_error_new_stage_error("engine exceeded the time limit of %g s and was killed",
                                        job->time_limit_s);
    if (end == QG_CHILD_CANCELLED)
        return qg_error_new_transient("simulation cancelled (worker stopping)");
    if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0) {
        qg_error_t *err = qg_runner_read_json(result_path, job->result_max_bytes, result_out);
        return err ? qg_error_wrap(err, "engine result") : NULL;
    }
    if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == EXIT_ENGINE_ERROR)
        return child_error(error_path);
    if (job->memory_limit_mb > 0)
        snprintf(mem, sizeof(mem), " (memory limit %ld MB)", job->memory_limit_mb);
    return qg_error_new_stage_error("engine process ended with %s%s",
                                    qg_runner_describe_status(c->status, st, sizeof(st)), mem);
}

static void on_line(const char *line, size_t len, void *opaque)
{
    const qg_runner_job_t *job = opaque;
    qg_runner_progress_line(line, len, job->progress, job->opaque);
}

static qg_json_t *runner_info(const qg_runner_job_t *job, const qg_child_t *c)
{
    qg_json_t *info = qg_json_object();
    char buf[96];
    qg_json_set_str(info, "type", "builtin");
    qg_json_set_str(info, "status", qg_runner_describe_status(c->status, buf, sizeof(buf)));
    qg_json_set_num(info, "elapsedSeconds", c->elapsed_s);
    qg_json_set_num(info, "timeLimitSeconds", job->time_limit_s);
    if (job->memory_limit_mb > 0)
        qg_json_set_num(info, "memoryLimitMb", (double)job->memory_limit_mb);
    return info;
}

static qg_error_t *builtin_run(const qg_runner_job_t *job, qg_json_t **result_out)
{
    *result_out = NULL;
    if (!job->scenario || !job->order || !job->engine || !job->work_dir)
        return qg_error_new_stage_error("builtin runner: incomplete job");
    char result_path[4200], error_path[4200];
    snprintf(result_path, sizeof(result_path), "%s/result.json", job->work_dir);
    snprintf(error_path, sizeof(error_path), "%s/error.json", job->work_dir);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return qg_error_new_stage_error("pipe: %s", strerror(errno));
    fcntl(pfd[1], F_SETFL, O_NONBLOCK);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        child_main(job, pfd[1], result_path, error_path);
    }
    int fork_errno = errno;
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        return qg_error_new_stage_error("fork: %s", strerror(fork_errno));
    }
    setpgid(pid, pid);
    qg_child_t c = {.pid = pid, .out_fd = -1, .err_fd = -1, .line_fd = pfd[0]};
    c.on_line = on_line;
    c.opaque = (void *)job;
    qg_child_end_t end = qg_runner_supervise(&c, job->time_limit_s, job->cancel);
    qg_error_t *err = child_outcome(job, &c, end, result_path, error_path, result_out);
    if (!err && qg_json_set(*result_out, "runner", runner_info(job, &c)) != 0)
        err = qg_error_oom;
    if (err) {
        qg_json_destroy(*result_out);
        *result_out = NULL;
    }
    return err;
}

const qg_runner_ops_t qg_runner_builtin = {
    .type = "builtin",
    .run = builtin_run,
};
