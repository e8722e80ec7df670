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

#endif
