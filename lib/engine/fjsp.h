/*
 * fjsp.h - internal model of the engine: a flexible job-shop instance with
 * release times, machine availability, transfer times and duration
 * distributions, plus the decoder, verifier, local search and optimizer.
 *
 * Not a public interface: the simulation worker uses engine.h. Unit tests
 * include this header to reach the parts directly.
 *
 * Times are plain numbers in the instance's own unit (minutes for factory
 * scenarios, abstract units for benchmark files).
 */
#ifndef QG_ENGINE_FJSP_H
#define QG_ENGINE_FJSP_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

/* ---- random numbers and distributions (dist.c) ---- */

typedef struct {
    uint64_t s[4];
} qg_rng_t;

void qg_rng_seed(qg_rng_t *rng, uint64_t seed);
uint64_t qg_rng_next(qg_rng_t *rng);
double qg_rng_unit(qg_rng_t *rng);      /* [0,1) */
int qg_rng_below(qg_rng_t *rng, int n); /* [0,n), n > 0 */
double qg_rng_normal(qg_rng_t *rng);    /* standard normal */

typedef enum {
    QG_DIST_CONSTANT,
    QG_DIST_NORMAL,     /* a=mean b=std, truncated at 0 (redrawn) */
    QG_DIST_UNIFORM,    /* a=min b=max */
    QG_DIST_LOGNORMAL,  /* a=mu b=sigma of the underlying normal */
    QG_DIST_TRIANGULAR, /* a=min b=mode c=max */
    QG_DIST_EXPONENTIAL /* a=mean */
} qg_dist_kind_t;

typedef struct {
    qg_dist_kind_t kind;
    double a, b, c;
    double mean; /* expected value (of the untruncated law) */
} qg_dist_t;

/** A constant distribution at v. */
qg_dist_t qg_dist_constant(double v);
/**
 * Build a distribution from a JSON-like description already reduced to
 * fields: name ("normal", ...), mean, std, min, mode, max (NAN when absent).
 * Returns NULL on success or an error naming what is missing.
 */
qg_error_t *qg_dist_make(const char *name, double mean, double std, double min, double mode,
                         double max, qg_dist_t *out);
/** Scale a distribution by factor f > 0 (durations divided by efficiency). */
qg_dist_t qg_dist_scale(qg_dist_t d, double f);
double qg_dist_sample(const qg_dist_t *d, qg_rng_t *rng);
double qg_dist_std(const qg_dist_t *d);

/* ---- instance (model.c, parse.c) ---- */

typedef struct {
    int machine;    /* 0-based machine index */
    double dur;     /* expected duration used by the optimizer */
    qg_dist_t dist; /* duration law for replay */
} qg_alt_t;

typedef struct {
    int job;      /* job index */
    int alt_off;  /* first alternative in fjsp->alts */
    int n_alt;    /* number of eligible machines */
    char *name;   /* operation id, may be NULL */
    int type;     /* operation type index for setups; -1: none */
    double units; /* units processed together (lot size); 1 for existing work */
    double yield; /* good fraction per attempt, (0, 1]; 1: no scrap */
} qg_op_t;

/* A span of time [s, e) in the instance's unit. */
typedef struct {
    double s, e;
} qg_span_t;

/* Non-working time of one machine: sorted, disjoint spans (calendar.c). */
typedef struct {
    qg_span_t *off;
    int n_off;
} qg_calendar_t;

/* Work already fixed on a machine (the baseline under the insert policy). */
typedef struct {
    double s, e;
    int type;
} qg_fixed_t;

/* Messages about data the engine had to fill in or ignore. */
typedef struct {
    char **msg;
    int n;
} qg_warnings_t;

/* Plant model of one machine beyond eligibility and durations (plant.c). */
typedef struct {
    qg_calendar_t cal; /* n_off == 0: always working */
    double mtbf;       /* mean operating time between failures; <= 0: none */
    qg_dist_t mttr;    /* repair time law */
    int init_type;     /* operation type last run (for the first setup); -1 */
    qg_fixed_t *fixed; /* sorted by start; NULL: none */
    int n_fixed;
} qg_machine_model_t;

typedef struct qg_fjsp_s {
    int n_jobs, n_machines, n_ops, n_alts;
    qg_op_t *ops; /* ops of job j are job_first[j] .. job_first[j+1]-1, in order */
    qg_alt_t *alts;
    int *job_first;        /* n_jobs + 1 entries */
    double *release;       /* per job */
    double *due;           /* per job; negative when none */
    unsigned char *target; /* per job: 1 when part of the order */
    double *avail;         /* per machine: earliest start */
    /* Transfer time, (n_machines+1)^2, row = from, col = to; index n_machines
     * is the GEN source. NULL when the instance has none. */
    double *transfer;
    qg_dist_t *transfer_dist; /* same shape, NULL when none */
    char **job_names;         /* may be NULL */
    char **machine_names;
    int has_due;    /* some job carries a due time */
    int has_target; /* some (not all) jobs are marked target */
    /* Plant model (NULL when the instance has none: 24/7, no setups, no breakdowns). */
    qg_machine_model_t *mm; /* per machine */
    int n_types;            /* operation types (setups) */
    double *setup;          /* per machine n_types^2, row = from type; NULL: none */
    int has_calendar, has_setups, has_breakdowns, has_fixed, has_yield;
    qg_warnings_t warn;   /* silent fallbacks turned into messages */
    qg_warnings_t fitted; /* laws whose spread came from the job history */
    double as_of;         /* epoch seconds of t = 0 (the plant data's reference time) */
    double order_due;     /* the order's due date; < 0: none */
} qg_fjsp_t;

/**
 * The instance restricted to the jobs with keep[j] != 0, in the same order,
 * with the same machines, transfers and plant model (no fixed work).
 * op_map[new op] receives the op index in p (n_ops of the result entries).
 */
qg_fjsp_t *qg_fjsp_subset(const qg_fjsp_t *p, const unsigned char *keep, int *op_map);
/** Add a formatted warning (once; bounded count). Returns -1 on allocation failure. */
int qg_warn(qg_warnings_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qg_warnings_clear(qg_warnings_t *w);
/** Allocate the per-machine plant model (idempotent). Returns -1 on allocation failure. */
int qg_fjsp_enable_plant(qg_fjsp_t *p);
/** True when durations, setups or calendars make timing differ from plain addition. */
int qg_fjsp_has_plant_timing(const qg_fjsp_t *p);
/** Setup time on machine k from type a to type b (0 when none or unknown). */
static inline double qg_fjsp_setup(const qg_fjsp_t *p, int k, int a, int b)
{
    if (!p->setup || a < 0 || b < 0 || a == b)
        return 0.0;
    return p->setup[((size_t)k * (size_t)p->n_types + (size_t)a) * (size_t)p->n_types + (size_t)b];
}

/* ---- working-time calendars (calendar.c) ---- */

/** First working instant >= t on machine k. */
double qg_cal_next_work(const qg_fjsp_t *p, int k, double t);
/** End of `work` units of working time started at t on machine k (breaks interrupt). */
double qg_cal_finish(const qg_fjsp_t *p, int k, double t, double work);
/** Sort and merge spans in place; returns the new count. */
int qg_cal_normalize(qg_span_t *spans, int n);

/** Allocate an empty instance with the given sizes (alternatives filled by caller). */
qg_fjsp_t *qg_fjsp_new(int n_jobs, int n_machines, int n_ops, int n_alts);
void qg_fjsp_destroy(qg_fjsp_t *p);
/** Enable the transfer matrices (zero-filled). Returns -1 on allocation failure. */
int qg_fjsp_enable_transfer(qg_fjsp_t *p);

static inline const qg_alt_t *qg_fjsp_alt(const qg_fjsp_t *p, int op, int a)
{
    return &p->alts[p->ops[op].alt_off + a];
}
/** Transfer time from machine `from` (-1 = GEN) to `to`; 0 on the same machine. */
static inline double qg_fjsp_transfer(const qg_fjsp_t *p, int from, int to)
{
    if (!p->transfer || from == to)
        return 0.0;
    int n = p->n_machines + 1;
    if (from < 0)
        from = p->n_machines;
    return p->transfer[from * n + to];
}
/** Index of `machine` among the alternatives of op, or -1. */
int qg_fjsp_alt_index(const qg_fjsp_t *p, int op, int machine);
/** Sum over ops of the shortest alternative duration (a lower bound on workload). */
double qg_fjsp_lower_bound(const qg_fjsp_t *p);

/**
 * Parse a benchmark file: the .fjs (Brandimarte/Hurink) format or, with
 * jssp != 0, the OR-Library job-shop format (.txt, machines from 0).
 */
qg_error_t *qg_fjsp_parse_text(const char *text, int jssp, qg_fjsp_t **out);
/** Read a file; the format follows the extension (.txt = job shop, else .fjs). */
qg_error_t *qg_fjsp_load_file(const char *path, qg_fjsp_t **out);

/* ---- schedules (decode.c, verify.c) ---- */

typedef struct {
    int n_ops;
    int *alt; /* chosen alternative per op */
    double *start, *end;
    double makespan;
    double target_end; /* latest end among target jobs (== makespan without target) */
    double tardiness;  /* total tardiness against due times */
    double workload;   /* total processing time */
} qg_sched_t;

qg_sched_t *qg_sched_new(int n_ops);
void qg_sched_destroy(qg_sched_t *s);
void qg_sched_copy(qg_sched_t *dst, const qg_sched_t *src);
/** Compute makespan, target_end, tardiness and workload from start/end. */
void qg_sched_measure(const qg_fjsp_t *p, qg_sched_t *s);

/**
 * Fix work on q's machines: op i of schedule s (an instance whose op i is
 * op_map[i] of p) occupies its machine from start to end.
 */
int qg_fjsp_fix_work(qg_fjsp_t *q, const qg_fjsp_t *p, const qg_sched_t *s, const int *op_map,
                     int n_mapped);

/** Workspace for the decoder (machine timelines). */
typedef struct qg_decoder_s qg_decoder_t;
qg_decoder_t *qg_decoder_new(const qg_fjsp_t *p);
void qg_decoder_destroy(qg_decoder_t *d);

/**
 * Decode a chromosome: alt[op] chooses the machine, os is a sequence of job
 * indices (n_ops entries, job j appearing as many times as it has ops).
 * Each op is placed at the earliest time it fits on its machine (insertion
 * into idle gaps: an active schedule), after its job predecessor plus
 * transfer time, the job's release and the machine's availability.
 */
void qg_decode(qg_decoder_t *d, const int *alt, const int *os, qg_sched_t *out);

typedef enum {
    QG_VIOL_NONE = 0,
    QG_VIOL_MISSING,      /* op not scheduled / non-finite times */
    QG_VIOL_ELIGIBILITY,  /* machine not eligible for the op */
    QG_VIOL_DURATION,     /* end - start shorter than the duration */
    QG_VIOL_PRECEDENCE,   /* starts before job predecessor end + transfer */
    QG_VIOL_RELEASE,      /* first op before release + transfer from GEN */
    QG_VIOL_AVAILABILITY, /* starts before the machine is available */
    QG_VIOL_OVERLAP,      /* two ops overlap on one machine */
    QG_VIOL_MAKESPAN,     /* reported makespan differs from the schedule */
    QG_VIOL__COUNT
} qg_viol_t;

const char *qg_viol_name(qg_viol_t v);

/**
 * Check a schedule: every op placed, on an eligible machine, for at least
 * its duration, after its predecessor (plus transfer), release and machine
 * availability, no overlap on a machine, and makespan == max end.
 * Returns NULL when valid, else a QG_ERR_GATE_FAILED error describing the
 * first violation and the total count. counts[] (optional, QG_VIOL__COUNT
 * entries) receives the count per kind.
 */
qg_error_t *qg_sched_verify(const qg_fjsp_t *p, const qg_sched_t *s, int *counts);
/** Same with an absolute tolerance added (for times rounded in transit). */
qg_error_t *qg_sched_verify_tol(const qg_fjsp_t *p, const qg_sched_t *s, int *counts,
                                double tolerance);

/* ---- stochastic replay (replay.c) ---- */

/**
 * Monte Carlo replay of schedule s: machine assignment and the order on
 * each machine (by start time) stay fixed; durations and transfer times are
 * sampled and times recomputed. Replication i uses a generator seeded from
 * (seed, i), so results do not depend on `threads`. order_c[i] gets the
 * latest end of target jobs (all jobs without target), mk[i] the makespan.
 * Returns the number of replications done (< R when cancelled), -1 on
 * allocation failure.
 */
int qg_replay(const qg_fjsp_t *p, const qg_sched_t *s, int R, uint64_t seed, int threads,
              volatile sig_atomic_t *cancel, double *order_c, double *mk);
/** Quantile (0..1) of sorted values, linear interpolation. */
double qg_quantile(const double *sorted, int n, double q);

/* ---- local search on the disjunctive graph (tabu.c) ---- */

typedef struct qg_ls_s qg_ls_t;
qg_ls_t *qg_ls_new(const qg_fjsp_t *p);
void qg_ls_destroy(qg_ls_t *ls);

typedef enum {
    QG_OBJ_MAKESPAN = 0, /* latest end over all jobs */
    QG_OBJ_TARGET = 1    /* latest end over target jobs */
} qg_ls_obj_t;

/**
 * Tabu search starting from schedule s (its alt[] and machine order by
 * start time). Improves s in place (it is re-timed semi-actively).
 * Stops after max_iter iterations, max_stall without improvement, at the
 * monotonic time `deadline` (0: none) or when *stop becomes non-zero.
 * Returns the number of iterations run (0 also when the instance is too
 * large for the search or memory ran out; s is then unchanged).
 */
long qg_ls_tabu(qg_ls_t *ls, qg_sched_t *s, qg_ls_obj_t obj, long max_iter, long max_stall,
                double deadline, qg_rng_t *rng, volatile sig_atomic_t *stop);

/* ---- optimizer (nsga.c) ---- */

typedef struct {
    uint64_t seed;
    double time_limit_s;  /* <= 0: none */
    long max_generations; /* <= 0: none */
    long max_evaluations; /* per island; <= 0: none (a clock-free budget) */
    int population;
    int threads;
    long ls_iterations;   /* tabu iterations per offspring polish */
    int second_objective; /* 0 auto, 1 target end, 2 tardiness, 3 workload */
    /* Early stop: when objective bound_obj (0 or 1) reaches bound (a proven lower
     * bound), nothing can improve the answer; has_bound 0: no bound. */
    int has_bound, bound_obj;
    double bound;
    long stall_generations; /* stop after this many generations without improvement; 0: never */
    int no_freedom;         /* every plan is equally good: stop after the first population */
} qg_opt_params_t;

typedef struct {
    double f[2];
    qg_sched_t *sched; /* owned by the result */
} qg_front_point_t;

typedef struct {
    qg_sched_t *best;    /* lowest first objective (makespan) */
    qg_sched_t *best_f2; /* lowest second objective */
    qg_front_point_t *front;
    int n_front;
    long generations;
    long evaluations; /* decodes + local search iterations */
    double time_s;
    double time_to_best_s;
    int second_objective;    /* resolved */
    const char *stop_reason; /* "bound", "noFreedom", "stagnation", "generations", "evaluations",
                                "time" */
} qg_opt_result_t;

/**
 * A lower bound on the latest end of target jobs (all jobs without target):
 * each job's chain with the shortest alternatives from its release and the
 * machines' earliest availability, and each machine's work that can run
 * nowhere else, done without a gap in its free working time from the
 * earliest head plus the shortest tail. Valid with calendars, setups (taken
 * as 0) and fixed work.
 */
double qg_fjsp_target_bound(const qg_fjsp_t *p);
/**
 * True when the search has nothing to find: identical jobs (same steps,
 * machines, durations and release), one eligible machine per step, each
 * machine used by one step, no setups. Then the lots taken first in, first
 * out on every machine, each at its earliest slot (the insertion decoder on
 * the jobs one after the other), finish every k-th lot on every machine no
 * later than any other plan does: the k-th operation on a machine cannot
 * start before k lots have finished the step before. The optimizer puts
 * that plan in its first population and stops.
 */
int qg_fjsp_no_freedom(const qg_fjsp_t *p);

typedef void (*qg_opt_progress_cb)(long generation, double f1, double f2, void *opaque);

qg_error_t *qg_opt_run(const qg_fjsp_t *p, const qg_opt_params_t *params, qg_opt_progress_cb cb,
                       void *opaque, volatile sig_atomic_t *cancel, qg_opt_result_t **out);
void qg_opt_result_destroy(qg_opt_result_t *r);

/** An operation keyed by its start time, for ordering a schedule (ties: lower op index). */
typedef struct {
    double s;
    int op;
} qg_start_key_t;

/** qsort comparator for qg_start_key_t: by start, then by operation index. */
int qg_start_key_cmp(const void *a, const void *b);

/** Seconds on a monotonic clock. */
double qg_engine_now(void);

#endif
