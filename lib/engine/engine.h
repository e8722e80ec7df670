/*
 * engine.h - the scheduling and simulation engine.
 *
 * Given a factory scenario (jobs, operations, duration distributions,
 * transfer times, releases, machine state, product routings) and an order
 * (product, quantity), the engine builds a flexible job-shop instance,
 * optimizes it with NSGA-II plus tabu search (objectives: makespan and the
 * order's completion time, or total tardiness), verifies the plan, and
 * replays it under sampled durations (Monte Carlo) to estimate when the
 * order completes. Semantics and units: docs/engine.md.
 *
 * Scenario: a JSON object with the keys
 *   jobs                  [{job_id, part_id, operations:[op ids]}]
 *   operations            [{operation_id, job_id, type, machines:[ids]}]
 *   operation_durations   {type: {machine: {distribution, mean, std, min, mode, max}}}
 *   machine_transfer_time {from: {to: {distribution, mean, std}}}  ("GEN" = source)
 *   job_release           [{job_id, release_time, due_time?}]
 *   machines              [{machine_id, machine_type, efficiency, status,
 *                           next_available_time, queue_length}]   (optional)
 *   routing               {"process_steps":[{step, operation, required_machine_type,
 *                          std_duration_min}]} or {product_id: that}  (optional)
 * Any member may also be a JSON text inside a string (the AAS Property
 * style), and numbers may be strings. Source times are minutes.
 *
 * Result (all times in seconds from "now", units stated in "units"):
 *   estimatedTime, confidence, percentiles{p10,p50,p90}, mean, std,
 *   makespan, orderCompletion, productionPlan{operations[], machines[]},
 *   bottlenecks[], paretoFront[], solver{...}, order{...}, units{...}.
 */
#ifndef QG_ENGINE_H
#define QG_ENGINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "json.h"

/*
 * How the order meets existing work. INSERT (the default): existing jobs keep
 * their machine and sequence from a baseline schedule built first without the
 * order; the order goes into the capacity that remains, so no existing job
 * moves. REOPTIMIZE: everything is scheduled jointly (a rush order); the
 * answer's impact lists the existing jobs that moved.
 */
typedef enum { QG_ORDER_INSERT = 0, QG_ORDER_REOPTIMIZE = 1 } qg_order_policy_t;

/** "insert" or "reoptimize" -> policy; -1 when unknown. */
int qg_engine_policy_parse(const char *name);
const char *qg_engine_policy_name(qg_order_policy_t policy);

typedef struct {
    const char *product_id;   /* routing to use; NULL: no order (existing jobs only) */
    double quantity;          /* units to produce (>= 1) */
    double lot_size;          /* units per lot (one job per lot); <= 0 means 1 */
    double due_s;             /* due date in seconds from now; < 0: none */
    const qg_json_t *routing; /* optional routing overriding the scenario's */
    qg_order_policy_t policy; /* 0: insert */
    double due_at_epoch_s;    /* due date as a time (epoch s), counted from the plant's asOf;
                                 > 0 overrides due_s */
} qg_engine_order_t;

typedef struct {
    uint64_t seed;            /* same seed + inputs + generation limit = same answer */
    double time_limit_s;      /* optimizer wall-clock budget; <= 0: none */
    long max_generations;     /* <= 0: none (one of the two limits must be set) */
    int threads;              /* optimizer islands and replay workers */
    int population;           /* NSGA-II population per island */
    long ls_iterations;       /* tabu iterations per offspring; 0: none;
                                     < 0: auto (300 benchmark, 40 scenario) */
    int replications;         /* Monte Carlo replications of the chosen plan */
    double promise_tolerance; /* confidence without a due date: P(C <= est*(1+tol)) */
    long max_evaluations;     /* per island, a clock-free budget; <= 0: none */
    long stall_generations;   /* stop after this many generations without improvement; 0: never */
    double stale_after_s;     /* warn when a machine's last_update is older than this; <= 0: off */
} qg_engine_options_t;

/** Defaults: seed 1, 1 s, 200 generations, 1 thread, population 30, 1000 replications. */
void qg_engine_options_default(qg_engine_options_t *o);

typedef struct {
    const char *phase; /* "optimize" or "replay" */
    long generation;
    double best_makespan; /* in result units (seconds for scenarios) */
    double best_second;   /* order completion (s), tardiness (s) or workload */
    int replications_done;
    int replications_total;
} qg_engine_progress_t;

typedef void (*qg_engine_progress_cb)(const qg_engine_progress_t *pr, void *opaque);

/**
 * Plan the scenario plus order and replay the plan. On success *result_out
 * (owned by the caller) holds the result JSON. Errors: QG_ERR_BAD_INPUT for
 * a scenario or order that cannot be planned (message names the element),
 * QG_ERR_STAGE_ERROR for resource failures or when *cancel became non-zero.
 */
qg_error_t *qg_engine_run(const qg_json_t *scenario, const qg_engine_order_t *order,
                          const qg_engine_options_t *opts, qg_engine_progress_cb cb,
                          void *cb_opaque, volatile sig_atomic_t *cancel, qg_json_t **result_out);

/**
 * Independently check result["productionPlan"]["operations"] against the
 * scenario and order: every operation present once, on an eligible machine,
 * for its expected duration, after its job predecessor plus transfer time,
 * release and machine availability, without overlap, and "makespan" equal
 * to the last end. NULL when valid, else QG_ERR_GATE_FAILED with the first
 * violation and the count.
 */
qg_error_t *qg_engine_verify_plan(const qg_json_t *scenario, const qg_engine_order_t *order,
                                  const qg_json_t *result);

/** Read a scenario directory: <key>.json for each key above (missing optional keys skipped). */
qg_error_t *qg_engine_scenario_load_dir(const char *dir, qg_json_t **out);

/**
 * Build a scenario from AAS environments (IDTA Part 1 JSON): Properties
 * jobs_data, operations_data, operation_durations_data,
 * machine_transfer_time_data, job_release_data; machine shells with
 * machine_type/efficiency/status/next_available_time/queue_length; and a
 * ProcessSpecification submodel whose Properties are routings by product.
 */
qg_error_t *qg_engine_scenario_from_aas(const qg_json_t *const *envs, size_t n_envs,
                                        qg_json_t **out);

/**
 * Solve a benchmark file (.fjs flexible job shop or OR-Library .txt job
 * shop). The result holds makespan, the verified schedule and solver stats.
 */
qg_error_t *qg_engine_solve_file(const char *path, const qg_engine_options_t *opts,
                                 qg_engine_progress_cb cb, void *cb_opaque,
                                 volatile sig_atomic_t *cancel, qg_json_t **result_out);

#endif
