/*
 * plan.h - a query plan over a manifest: the sources it names with goal
 * placeholders filled, fetched from an AAS server (yamlBinding, aasQuery).
 *
 * A plan holds the manifest's sources with goal placeholders filled and the
 * table of distinct submodels they need; each submodel is fetched once per
 * goal, all of them concurrently, and every source is built from that table.
 */
#ifndef QG_AAS_PLAN_H
#define QG_AAS_PLAN_H

#include <signal.h>
#include <stddef.h>

#include "aas.h"
#include "error.h"
#include "json.h"
#include "manifest.h"

/* A distinct submodel, fetched once. */
typedef struct qg_bsub_s {
    char *id;
    qg_json_t *body; /* Normal form */
    qg_error_t *err;
} qg_bsub_t;

/* One submodel of a machine record. */
typedef struct qg_bmsub_s {
    const char *key;       /* "capability" */
    char *submodel_id;     /* filled */
    const char **required; /* element idShorts that must exist */
    size_t n_required;
    const char *pick_path; /* shell_filter rules: property to copy ... */
    const char *pick_key;  /* ... under this key */
} qg_bmsub_t;

typedef struct qg_bmachine_s {
    char *machine_id;
    qg_bmsub_t *subs;
    size_t n_subs;
} qg_bmachine_t;

/* A source with placeholders filled, and its outcome. */
typedef struct qg_bsrc_s {
    const qg_manifest_source_t *src;
    char *submodel_id;
    char *property_path;
    qg_bmachine_t *machines;
    size_t n_machines;
    qg_error_t *err; /* why it failed (NULL: ok) */
    qg_json_t *data; /* the scenario value */
} qg_bsrc_t;

typedef struct qg_bplan_s {
    const qg_manifest_t *manifest;
    qg_bsrc_t *srcs;
    size_t n_srcs;
    qg_bsub_t *subs;
    size_t n_subs, cap_subs;
} qg_bplan_t;

/** Fill placeholders of every source. A required source missing a parameter: bad_input. */
qg_error_t *qg_aas_plan_new(const qg_manifest_t *m, const qg_json_t *doc, qg_bplan_t **out);
void qg_aas_plan_destroy(qg_bplan_t *plan);

/** Resolve shell_filter sources into machines (one paged /shells listing). */
qg_error_t *qg_aas_plan_shells(qg_bplan_t *plan, qg_aas_client_t *aas);

/**
 * Fetch every distinct submodel once, concurrently. With bulk_min > 0 and at
 * least bulk_min submodels needed, one paged listing of /submodels is tried
 * first.
 */
qg_error_t *qg_aas_plan_fetch(qg_bplan_t *plan, qg_aas_client_t *aas, size_t bulk_min,
                              volatile sig_atomic_t *cancel);

/** Build each source's data from the fetched submodels. */
void qg_aas_plan_build(qg_bplan_t *plan);

/** Does the shell's idShort match a shell_filter id_pattern? */
int qg_aas_id_match(const char *pattern, const char *id_short);

#endif
