/*
 * simulation.h - pieces of the simulation stage shared by its files.
 *
 *   stage.c    the ops: init, run (scenario -> runner -> outputs), gate, destroy
 *   inputs.c   reading the goal: scenario (inline or claim check), order, limits
 *   outputs.c  mapping a runner result into QueryGoal.outputs, and the gate checks
 */
#ifndef QG_SIMULATION_H
#define QG_SIMULATION_H

#include <stddef.h>

#include "config.h"
#include "engine/engine.h"
#include "error.h"
#include "json.h"
#include "model/registry.h"
#include "engine/runner.h"

#define QG_SIM_COMPONENT "simulation"

typedef struct {
    char *work_dir;   /* parent of the per-run directories */
    char *claims_dir; /* claim checks must live below it; NULL: anywhere */
    int keep_work;
    double time_cap_s;    /* no run lasts longer than this */
    double time_grace_s;  /* builtin: wall limit = optimizer budget + grace */
    double engine_time_s; /* default optimizer budget */
    long engine_generations;
    int engine_threads;
    int engine_replications;
    long engine_stall;           /* generations without improvement before stopping */
    double engine_stale_after_s; /* last_update older than this before asOf: a warning */
    long memory_mb;
    size_t log_max_bytes;
    size_t result_max_bytes;
    size_t scenario_max_bytes;
    double progress_interval_ms;
    qg_registry_t *registry; /* resolves selectedModel ids without a runner; may be NULL */
} qg_sim_conf_t;

/** Everything one run needs, read from the goal. */
typedef struct {
    const qg_runner_ops_t *runner;
    const qg_json_t *model;   /* QueryGoal.selectedModel or its registry entry; may be NULL */
    const qg_json_t *options; /* selectedModel.runner, may be NULL */
    qg_json_t *scenario;      /* owned */
    char scenario_source[4200];
    char product[128];
    qg_engine_order_t order;
    int policy_from_goal; /* the goal's parameters chose the order policy */
    qg_engine_options_t engine;
    double wall_limit_s;
    long memory_mb;
    qg_json_t *input; /* simulation_input.json (owned) */
} qg_sim_plan_t;

/** Fill *plan from the goal document. Errors name the offending path. */
qg_error_t *qg_sim_plan_read(const qg_sim_conf_t *conf, const qg_json_t *doc, qg_sim_plan_t *plan);
void qg_sim_plan_clear(qg_sim_plan_t *plan);

/** Load a claim check {path, sha256?, bytes?}: a JSON file or a scenario directory. */
qg_error_t *qg_sim_load_claim(const qg_sim_conf_t *conf, const qg_json_t *ref,
                              qg_json_t **scenario_out);

/** Parse "2025-08-11" (end of that day, UTC) or an ISO date-time into epoch seconds. */
int qg_sim_parse_time(const char *text, double *epoch_s);

/** Copy the outputs the goal's outputSpec asks for (plus percentiles and units). */
int qg_sim_outputs_map(qg_json_t *goal, const qg_json_t *result);

/**
 * Gate checks: status completed, every requested output present and finite
 * (and of its declared datatype), the plan verified when it was checked.
 * Returns 1 when passed; writes the reason either way.
 */
int qg_sim_gate_check(const qg_json_t *goal, const qg_json_t *result, char *reason, size_t sz);

#endif
