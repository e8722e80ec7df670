/*
 * runner.h - how a simulation model is executed.
 *
 * A runner takes one job (scenario, order, limits, a private work directory)
 * and returns a result in the engine's shape (see engine.h): estimatedTime
 * (seconds), confidence, percentiles, productionPlan, bottlenecks, units, ...
 * plus a "runner" member describing the execution. Each kind of runner is one
 * const qg_runner_ops_t in one file:
 *
 *   builtin  runner_builtin.c  the engine library, in a forked child process
 *   exec     runner_exec.c     a third-party simulator executable (argv, clean env)
 *   docker   runner_docker.c   a simulator image run through the Docker Engine API
 *   kubernetes runner_kubernetes.c  a simulator image run as a batch/v1 Job
 *
 * exec, docker and kubernetes share the work directory and the result
 * contract (runner_files.c): one contract, several ways to run. docker and
 * kubernetes share the API client and the container set-up
 * (runner_container.c).
 *
 * Errors: QG_ERR_BAD_INPUT when the scenario/order cannot be planned,
 * QG_ERR_STAGE_ERROR for everything the run itself got wrong (crash, limit
 * exceeded, missing or malformed result: the message names the file and
 * field), QG_ERR_TRANSIENT when the run was cancelled (the goal is redelivered).
 */
#ifndef QG_RUNNER_H
#define QG_RUNNER_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "engine/engine.h"
#include "config.h"
#include "error.h"
#include "json.h"

/** Progress of a run, as far as the runner knows it. */
typedef struct {
    const char *phase;      /* "optimize", "replay" or "running" */
    long generation;        /* -1: unknown */
    double best;            /* best objective so far (s); NAN: unknown */
    int replications_done;  /* -1: unknown */
    int replications_total; /* -1: unknown */
    double fraction;        /* 0..1; < 0: unknown */
} qg_runner_progress_t;

typedef void (*qg_runner_progress_cb)(const qg_runner_progress_t *pr, void *opaque);

typedef struct {
    const char *goal_id;
    const qg_json_t *runner;           /* selectedModel.runner options; may be NULL */
    const qg_json_t *scenario;         /* scenario object (engine.h shape) */
    const qg_engine_order_t *order;    /* product, quantity, due date */
    const qg_engine_options_t *engine; /* builtin: optimizer settings */
    const qg_json_t *input;            /* exec: contents of simulation_input.json */
    const char *work_dir;              /* existing private directory for this run */
    double time_limit_s;               /* wall clock; the run is killed after it (> 0) */
    long memory_limit_mb;              /* address-space limit; <= 0: none */
    size_t log_max_bytes;              /* cap of each captured log file */
    size_t result_max_bytes;           /* largest result file accepted */
    qg_runner_progress_cb progress;    /* may be NULL */
    void *opaque;
    volatile sig_atomic_t *cancel; /* non-zero: stop the run now; may be NULL */
    const qg_config_t *cfg; /* the worker's configuration (container endpoints); may be NULL */
} qg_runner_job_t;

typedef struct qg_runner_ops_s {
    const char *type; /* "builtin", "exec", "docker" */
    /** Run the job. On success *result_out (caller owns) holds the result. */
    qg_error_t *(*run)(const qg_runner_job_t *job, qg_json_t **result_out);
} qg_runner_ops_t;

extern const qg_runner_ops_t qg_runner_builtin;
extern const qg_runner_ops_t qg_runner_exec;
extern const qg_runner_ops_t qg_runner_docker;
extern const qg_runner_ops_t qg_runner_kubernetes;

/**
 * Remove the docker runner's containers left by a worker of this host that is
 * gone (crash recovery; labels io.querygoal.host and io.querygoal.owner).
 * Returns the number removed, or -1 when the daemon cannot be asked.
 */
int qg_runner_docker_recover(const qg_config_t *cfg);

/**
 * Delete the kubernetes runner's Jobs left by a worker of this host that is
 * gone (labels querygoal.io/host, annotation querygoal.io/owner). Returns the
 * number deleted, or -1 when the API server cannot be asked.
 */
int qg_runner_kubernetes_recover(const qg_config_t *cfg);

/** A fatal error naming the key when simulation.kubernetes.kubeconfig is set but unusable. */
qg_error_t *qg_runner_kubernetes_check(const qg_config_t *cfg);

/** The runner for a registry runner type, or NULL when unknown. */
const qg_runner_ops_t *qg_runner_find(const char *type);

/* ---------- child-process supervision (shared by the process runners) ---------- */

typedef enum {
    QG_CHILD_EXITED,    /* exited or died by itself: see status */
    QG_CHILD_TIMED_OUT, /* killed at the wall-clock limit */
    QG_CHILD_CANCELLED, /* killed because *cancel became non-zero */
} qg_child_end_t;

typedef void (*qg_child_line_cb)(const char *line, size_t len, void *opaque);

/** A started child: its process group and the pipes to drain. */
typedef struct {
    pid_t pid;            /* also its process group id */
    int out_fd, err_fd;   /* child's stdout / stderr, or -1 */
    int line_fd;          /* progress lines (builtin), or -1 */
    const char *out_path; /* capped copies of stdout / stderr; NULL: discard */
    const char *err_path;
    size_t log_max;           /* cap of each log file (0: 1 MiB) */
    qg_child_line_cb on_line; /* each line of line_fd, and "QG_PROGRESS " lines of stdout */
    void *opaque;
    /* filled by qg_runner_supervise */
    int status;                  /* waitpid status */
    size_t out_bytes, err_bytes; /* bytes the child wrote */
    int out_truncated, err_truncated;
    double elapsed_s;
} qg_child_t;

/**
 * Drain the child's pipes into capped log files until it exits, the time
 * limit passes or *cancel is set; kills the whole process group at the end
 * (stragglers included) and reaps the child. Closes the fds.
 */
qg_child_end_t qg_runner_supervise(qg_child_t *c, double time_limit_s,
                                   volatile sig_atomic_t *cancel);

/** "exit status 3", "signal 9 (Killed)". */
const char *qg_runner_describe_status(int status, char *buf, size_t sz);

/** Apply an address-space limit of `mb` MiB in a child (<= 0: nothing). 0 or -1. */
int qg_runner_limit_memory(long mb);

/** Last up to `max` bytes of a file as a string (caller frees), or NULL. */
char *qg_runner_file_tail(const char *path, size_t max);

/**
 * One progress line: {phase?, generation?, best?, replications?, replicationsTotal?,
 * progress?}. Malformed lines are ignored.
 */
void qg_runner_progress_line(const char *line, size_t len, qg_runner_progress_cb cb, void *opaque);

/** Parse a JSON result file of at most max_bytes; errors name the path. */
qg_error_t *qg_runner_read_json(const char *path, size_t max_bytes, qg_json_t **out);

/* ---------- work directory and result contract (runner_files.c) ---------- */

/** A run's work directory as this process sees it. */
typedef struct {
    char work[4096];
    char scenario[4200], results[4200], input[4200], logs[4200], tmp[4200];
    char out_log[4200], err_log[4200];
} qg_runner_dirs_t;

/**
 * Make scenario/ results/ logs/ tmp/ in job->work_dir, write the scenario files
 * and simulation_input.json, whose scenarioDir and resultsDir name the
 * directory as the simulator sees it: `inner` (a container's mount point), or
 * the work directory itself when NULL.
 */
qg_error_t *qg_runner_dirs_prepare(const qg_runner_job_t *job, const char *inner,
                                   qg_runner_dirs_t *dirs);

/**
 * The result: the first of results/<resultFile> (default
 * simulator_optimization_result.json, simulation_output.json, goal3_result.json,
 * result.json) and the same names in scenario/, mapped to the engine's shape.
 * Anything missing or malformed is a stage_error naming the file and the field.
 */
qg_error_t *qg_runner_result_read(const qg_runner_dirs_t *dirs, const qg_runner_job_t *job,
                                  qg_json_t **out);

typedef struct {
    const char *name, *value;
} qg_runner_var_t;

/** Replace every {name} of vars in tmpl. A malloc'd string, or NULL. */
char *qg_runner_substitute(const char *tmpl, const qg_runner_var_t *vars, size_t nvars);

/* ---------- container runners: what docker and kubernetes share (runner_container.c) ---------- */

/** Where a container sees its work directory. */
#define QG_RUNNER_MOUNT "/work"

/** A response body, capped at max bytes (the rest is counted as truncated). */
typedef struct {
    char *data;
    size_t len, cap, max;
    int truncated;
} qg_runner_buf_t;

/** libcurl write callback into a qg_runner_buf_t. */
size_t qg_runner_buf_write(char *ptr, size_t size, size_t n, void *opaque);

/** A platform's HTTP API: the Docker Engine or a Kubernetes API server. */
typedef struct {
    const char *what;                        /* "docker daemon", "Kubernetes API server" */
    char where[512];                         /* its address as configured, for messages */
    char socket[512];                        /* unix socket path, or "" for TCP */
    char base[512];                          /* URL prefix */
    const char *ca, *cert, *key;             /* PEM files, or NULL */
    const char *ca_pem, *cert_pem, *key_pem; /* PEM text (kubeconfig *-data), or NULL */
    const char *bearer;                      /* token, or NULL */
} qg_runner_api_t;

typedef size_t (*qg_runner_sink_fn)(char *ptr, size_t size, size_t n, void *opaque);

typedef struct {
    const char *method, *path;
    const char *content_type; /* NULL: application/json */
    const qg_json_t *body;    /* may be NULL */
    long timeout_s;
    qg_runner_buf_t *resp;  /* the body, unless sink is set */
    qg_runner_sink_fn sink; /* streaming body (a watch, logs) */
    void *sink_opaque;
    volatile sig_atomic_t *cancel; /* non-zero: abort the transfer; may be NULL */
    int *stopped;                  /* set when the sink or cancel ended it (not an error) */
} qg_runner_request_t;

/**
 * One request. Connection failures are transient and name the API; the HTTP
 * status is left in *status for the caller to judge.
 */
qg_error_t *qg_runner_api_call(const qg_runner_api_t *api, const qg_runner_request_t *rq,
                               long *status);

/** A JSON request whose answer is parsed into *out (may be NULL). */
qg_error_t *qg_runner_api_json(const qg_runner_api_t *api, const char *method, const char *path,
                               const qg_json_t *body, long timeout_s, long *status,
                               qg_json_t **out);

/**
 * The container's environment {NAME: value}: HOME, TMPDIR, QG_SCENARIO_DIR,
 * QG_RESULTS_DIR, QG_INPUT, QG_TIME_LIMIT, QG_GOAL_ID, QG_PARAM_<KEY> for each
 * goal parameter, then the model's env (names from the worker's environment or
 * {NAME: value}).
 */
qg_error_t *qg_runner_container_env(const qg_runner_job_t *job, qg_json_t **out);

/** The model's command with {placeholders} as container paths; NULL: the image's own. */
qg_error_t *qg_runner_container_cmd(const qg_runner_job_t *job, qg_json_t **out);

/** What every container model says: selectedModel.runner's image, user, cpus, network. */
typedef struct {
    const char *image; /* required */
    char user[64];     /* runner.user, else the worker's uid:gid, else 65534:65534; never root */
    double cpus;       /* (0, 256], default 1 */
    int network;       /* runner.network: true; default none */
} qg_runner_container_t;

qg_error_t *qg_runner_container_read(const qg_runner_job_t *job, qg_runner_container_t *c);

/** An environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
int qg_runner_env_name_ok(const char *s);

/** A worker running as root hands scenario/, results/, tmp/ to a numeric uid[:gid]. */
qg_error_t *qg_runner_hand_over(const qg_runner_dirs_t *dirs, const char *user);

/** goal id with every character outside [A-Za-z0-9_-] replaced by '_'. */
void qg_runner_safe_name(const char *goal_id, char *out, size_t sz);

/** A process's identity: "<hostname>/<pid>/<start time in clock ticks since boot>". */
void qg_runner_owner_of(pid_t pid, char *out, size_t sz);

/** Is that process gone (or its pid reused)? Only meaningful for this host. */
int qg_runner_owner_gone(const char *owner);

/** Report the "QG_PROGRESS {...}" lines of a captured stdout, after the run. */
void qg_runner_replay_progress(const qg_runner_job_t *job, const qg_runner_dirs_t *dirs);

#endif
