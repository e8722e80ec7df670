/*
 * scenario.h - internal: scenario JSON helpers and the scenario -> instance builder.
 */
#ifndef QG_ENGINE_SCENARIO_H
#define QG_ENGINE_SCENARIO_H

#include "engine/engine.h"
#include "engine/fjsp.h"

/** Number from a JSON number or a numeric string; dflt otherwise. */
double qg_scn_num(const qg_json_t *v, double dflt);
/** Member `key` of sc; when it is a string holding JSON, parse it into *owned. */
const qg_json_t *qg_scn_section(const qg_json_t *sc, const char *key, qg_json_t **owned,
                                qg_error_t **err);
/** A duration law from {distribution, mean, std, min, mode, max} or a bare number. */
qg_error_t *qg_scn_dist(const qg_json_t *v, qg_dist_t *out);
/**
 * Build the instance for scenario + order (order may be NULL or have no
 * product: existing jobs only). `unit` is seconds per source time unit
 * (60: minutes), used to convert the order's due date.
 */
qg_error_t *qg_scn_build(const qg_json_t *sc, const qg_engine_order_t *order, double unit,
                         qg_fjsp_t **out);
/** The same, warning about machine data older than stale_after_s before asOf (<= 0: never). */
qg_error_t *qg_scn_build_ex(const qg_json_t *sc, const qg_engine_order_t *order, double unit,
                            double stale_after_s, qg_fjsp_t **out);

/* ---- plant model (plant.c) ---- */

/** "2026-11-30" (midnight UTC) or an ISO 8601 UTC date-time -> epoch seconds; -1 if malformed. */
int qg_plant_parse_time(const char *text, double *epoch_s);
/** Calendars, setups, breakdowns, yield, work in progress and stale data on a packed instance. */
qg_error_t *qg_plant_apply(const qg_json_t *plant, const qg_json_t *machines, qg_fjsp_t *p,
                           char *const *types, double stale_after_s);
/** Durations with the spread fitted from plant.history (NULL when nothing to fit). */
qg_error_t *qg_plant_fit_history(const qg_json_t *plant, const qg_json_t *durations,
                                 qg_json_t **fitted, qg_warnings_t *notes);

#endif
