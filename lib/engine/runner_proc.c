/*
 * runner_proc.c - supervising a runner's child process: capped logs, progress
 * lines, wall-clock limit, cancellation, and killing the whole process group.
 */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

/* Longest wait for child output between two checks of the child, the cancel flag
 * and the wall-clock limit: how late a limit or a cancel may act. Not an option:
 * 100 ms is well below any limit a run is given. */
#define RUNNER_PUMP_SLICE_MS 100

#define LINE_MAX_BYTES  4096
#define PROGRESS_PREFIX "QG_PROGRESS "
#define CANCEL_GRACE_S  2.0

const qg_runner_ops_t *qg_runner_find(const char *type)
{
    const qg_runner_ops_t *all[] = {&qg_runner_builtin, &qg_runner_exec, &qg_runner_docker,
                                    &qg_runner_kubernetes};
    for (size_t i = 0; type && i < sizeof(all) / sizeof(all[0]); i++)
        if (!strcmp(all[i]->type, type))
            return all[i];
    return NULL;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One drained pipe: where its bytes go. */
typedef struct {
    int fd;
    FILE *log; /* capped copy, or NULL */
    size_t cap, written, total;
    int truncated;
    int lines; /* 1: every line to on_line; 2: only "QG_PROGRESS " lines */
    char buf[LINE_MAX_BYTES];
    size_t len;
    int overlong; /* current line exceeded the buffer: skip it */
} stream_t;

static void stream_line(stream_t *s, const qg_child_t *c)
{
    if (s->overlong || !c->on_line)
        return;
    s->buf[s->len] = '\0';
    if (s->lines == 1)
        c->on_line(s->buf, s->len, c->opaque);
    else if (!strncmp(s->buf, PROGRESS_PREFIX, strlen(PROGRESS_PREFIX)))
        c->on_line(s->buf + strlen(PROGRESS_PREFIX), s->len - strlen(PROGRESS_PREFIX), c->opaque);
}

static void stream_lines(stream_t *s, const qg_child_t *c, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (data[i] == '\n') {
            stream_line(s, c);
            s->len = 0;
            s->overlong = 0;
        } else if (s->len < sizeof(s->buf) - 1) {
            s->buf[s->len++] = data[i];
        } else {
            s->overlong = 1;
        }
    }
}

static void stream_log(stream_t *s, const char *data, size_t n)
{
    s->total += n;
    if (!s->log)
        return;
    size_t room = s->written < s->cap ? s->cap - s->written : 0;
    size_t k = n < room ? n : room;
    if (k > 0 && fwrite(data, 1, k, s->log) == k)
        s->written += k;
    if (k < n)
        s->truncated = 1;
}

/* Read what is available. Returns 0 while the pipe stays open, -1 at EOF/error. */
static int stream_read(stream_t *s, const qg_child_t *c)
{
    char data[16384];
    for (;;) {
        ssize_t n = read(s->fd, data, sizeof(data));
        if (n > 0) {
            stream_log(s, data, (size_t)n);
            if (s->lines)
                stream_lines(s, c, data, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        return -1;
    }
}

static void stream_open(stream_t *s, int fd, const char *path, size_t cap, int lines)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->cap = cap;
    s->lines = lines;
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (fd >= 0 && path)
        s->log = fopen(path, "w");
}

static void stream_close(stream_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->log) {
        if (s->truncated)
            fprintf(s->log, "\n[log truncated at %zu of %zu bytes]\n", s->written, s->total);
        fclose(s->log);
    }
    s->log = NULL;
}

/* Poll the open streams for up to timeout_ms and drain them. */
static void streams_pump(stream_t *st, size_t n, const qg_child_t *c, int timeout_ms)
{
    struct pollfd pfd[3];
    size_t map[3], k = 0;
    for (size_t i = 0; i < n; i++)
        if (st[i].fd >= 0) {
            pfd[k].fd = st[i].fd;
            pfd[k].events = POLLIN;
            pfd[k].revents = 0;
            map[k++] = i;
        }
    if (k == 0) {
        if (timeout_ms > 0)
            poll(NULL, 0, timeout_ms);
        return;
    }
    if (poll(pfd, k, timeout_ms) <= 0)
        return;
    for (size_t j = 0; j < k; j++)
        if (pfd[j].revents && stream_read(&st[map[j]], c) != 0) {
            close(st[map[j]].fd);
            st[map[j]].fd = -1;
        }
}

static int child_reaped(qg_child_t *c, int block)
{
    for (;;) {
        pid_t r = waitpid(c->pid, &c->status, block ? 0 : WNOHANG);
        if (r == c->pid)
            return 1;
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0; /* ECHILD: someone else reaped it; treat as gone */
    }
}

qg_child_end_t qg_runner_supervise(qg_child_t *c, double time_limit_s,
                                   volatile sig_atomic_t *cancel)
{
    stream_t st[3];
    size_t cap = c->log_max ? c->log_max : (size_t)1 << 20;
    stream_open(&st[0], c->out_fd, c->out_path, cap, 2);
    stream_open(&st[1], c->err_fd, c->err_path, cap, 0);
    stream_open(&st[2], c->line_fd, NULL, 0, 1);
    double start = mono_s(), term_at = 0;
    qg_child_end_t end = QG_CHILD_EXITED;
    int reaped = 0;
    while (!reaped) {
        streams_pump(st, 3, c, RUNNER_PUMP_SLICE_MS);
        if (child_reaped(c, 0)) {
            reaped = 1;
            break;
        }
        double now = mono_s();
        if (end == QG_CHILD_EXITED && time_limit_s > 0 && now - start >= time_limit_s) {
            end = QG_CHILD_TIMED_OUT;
            kill(-c->pid, SIGKILL);
            kill(c->pid, SIGKILL);
        } else if (end == QG_CHILD_EXITED && cancel && *cancel) {
            end = QG_CHILD_CANCELLED;
            term_at = now;
            kill(-c->pid, SIGTERM);
            kill(c->pid, SIGTERM);
        } else if (end == QG_CHILD_CANCELLED && now - term_at >= CANCEL_GRACE_S) {
            kill(-c->pid, SIGKILL);
            kill(c->pid, SIGKILL);
        }
    }
    /* What the child wrote before it ended; stragglers holding a pipe don't block us. */
    streams_pump(st, 3, c, 0);
    kill(-c->pid, SIGKILL);
    c->elapsed_s = mono_s() - start;
    c->out_bytes = st[0].total;
    c->err_bytes = st[1].total;
    c->out_truncated = st[0].truncated;
    c->err_truncated = st[1].truncated;
    for (int i = 0; i < 3; i++)
        stream_close(&st[i]);
    c->out_fd = c->err_fd = c->line_fd = -1;
    return end;
}

const char *qg_runner_describe_status(int status, char *buf, size_t sz)
{
    if (WIFEXITED(status))
        snprintf(buf, sz, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, sz, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, sz, "wait status %d", status);
    return buf;
}

int qg_runner_limit_memory(long mb)
{
    if (mb <= 0)
        return 0;
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)mb << 20;
    return setrlimit(RLIMIT_AS, &rl);
}

char *qg_runner_file_tail(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = 0;
    if (buf) {
        if (fseek(f, 0, SEEK_END) == 0) {
            long size = ftell(f);
            fseek(f, size > (long)max ? size - (long)max : 0, SEEK_SET);
        }
        n = fread(buf, 1, max, f);
        buf[n] = '\0';
    }
    fclose(f);
    return buf;
}

qg_error_t *qg_runner_read_json(const char *path, size_t max_bytes, qg_json_t **out)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return qg_error_new_stage_error("%s: missing (%s)", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return qg_error_new_stage_error("%s: not a regular file", path);
    if (max_bytes > 0 && (size_t)sb.st_size > max_bytes)
        return qg_error_new_stage_error("%s: %lld bytes is larger than the limit of %zu", path,
                                        (long long)sb.st_size, max_bytes);
    char errstr[512];
    *out = qg_json_parse_file(path, errstr, sizeof(errstr));
    if (!*out)
        return qg_error_new_stage_error("malformed result: %s", errstr);
    return NULL;
}

void qg_runner_progress_line(const char *line, size_t len, qg_runner_progress_cb cb, void *opaque)
{
    if (!cb)
        return;
    char errstr[64];
    qg_json_t *p = qg_json_parse(line, len, errstr, sizeof(errstr));
    if (!qg_json_is(p, QG_JSON_OBJECT)) {
        qg_json_destroy(p);
        return;
    }
    double frac = qg_json_num(qg_json_get(p, "progress"), -1);
    qg_runner_progress_t pr = {
        .phase = qg_json_str(qg_json_get(p, "phase")),
        .generation = (long)qg_json_num(qg_json_get(p, "generation"), -1),
        .best = qg_json_num(qg_json_get(p, "best"), NAN),
        .replications_done = (int)qg_json_num(qg_json_get(p, "replications"), -1),
        .replications_total = (int)qg_json_num(qg_json_get(p, "replicationsTotal"), -1),
        .fraction = isfinite(frac) ? (frac > 1 ? 1 : frac) : -1,
    };
    if (!pr.phase)
        pr.phase = "running";
    cb(&pr, opaque);
    qg_json_destroy(p);
}
