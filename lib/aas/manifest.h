/*
 * manifest.h - binding manifests (YAML): which data a model needs and where
 * it lives in the AAS server. Schema: schemas/manifest.schema.json.
 *
 *   data_sources:
 *     - name: JobOrders
 *       type: aas_property            # or aas_shell_collection
 *       required: true                # default true
 *       config:
 *         submodel_id: urn:factory:submodel:simulation_data
 *         property_path: jobs_data    # idShortPath; element_id is an alias
 *         data_type: json_string      # value is JSON text to decode
 *         output_file: jobs.json      # scenario key "jobs"
 *
 *         time_field: Time            # aasQuery: keep records in the goal's time range
 *
 * Strings may hold goal placeholders: ${param:productType}, or
 * ${param:productType|idShort} (characters outside [A-Za-z0-9_] -> '_').
 * Unknown keys and the legacy flat `sources:` block are kept out with a
 * warning (qg_manifest_t.warnings), never an error.
 */
#ifndef QG_MANIFEST_H
#define QG_MANIFEST_H

#include <stddef.h>

#include "error.h"
#include "json.h"

typedef enum {
    QG_SOURCE_AAS_PROPERTY = 1,
    QG_SOURCE_AAS_SHELL_COLLECTION,
} qg_source_type_t;

/* One submodel of a machine: capability_submodel -> key "capability". */
typedef struct qg_manifest_msub_s {
    const char *key;
    const char *submodel_id;
    const char **required; /* required_elements.<key> */
    size_t n_required;
} qg_manifest_msub_t;

typedef struct qg_manifest_machine_s {
    const char *machine_id;
    qg_manifest_msub_t *subs;
    size_t n_subs;
} qg_manifest_machine_t;

/* combination_rules[]: a property from a submodel matched by id prefix. */
typedef struct qg_manifest_rule_s {
    const char *submodel_id; /* prefix of the shell's submodel ids */
    const char *property_path;
    const char *result_key;
} qg_manifest_rule_t;

typedef struct qg_manifest_source_s {
    const char *name;
    qg_source_type_t type;
    int required;
    const char *output_file; /* "jobs.json" */
    const char *output_stem; /* "jobs": the scenario key */
    const char *data_type;   /* "json_string", "time_series" (IDTA Time Series Data
                                Segments: the records of every segment) or NULL */
    const char *time_field;  /* records whose field is outside the goal's time range
                                are dropped (aasQuery) */
    const char *shell_id;    /* aasx_shell_id (informational) */
    const char *submodel_id;
    const char *property_path;
    qg_manifest_machine_t *machines; /* machine_sources */
    size_t n_machines;
    const char *id_pattern; /* shell_filter.id_pattern */
    qg_manifest_rule_t *rules;
    size_t n_rules;
    int line; /* 1-based position of the entry in the file */
} qg_manifest_source_t;

typedef struct qg_manifest_s {
    const char *path;
    const char *model;
    qg_manifest_source_t *sources;
    size_t n_sources;
    const char **warnings; /* "file:line:col: ..." */
    size_t n_warnings;
    void *priv; /* allocations */
} qg_manifest_t;

/** Parse YAML text. Errors are bad_input "name:line:col: message". */
qg_error_t *qg_manifest_parse(const char *text, size_t len, const char *name, qg_manifest_t **out);
/** Read and parse a file. */
qg_error_t *qg_manifest_load(const char *path, qg_manifest_t **out);
void qg_manifest_destroy(qg_manifest_t *m);

/**
 * Resolve a manifest path inside registry_dir: relative paths are taken
 * from registry_dir; the real path (symlinks resolved) must lie inside it.
 * registry_dir NULL or "" means no containment check. *out is malloc'd.
 * Errors are bad_input and name the path.
 */
qg_error_t *qg_manifest_resolve_path(const char *registry_dir, const char *path, char **out);

/**
 * Fill ${param:NAME} / ${param:NAME|idShort} in tmpl from the goal's
 * parameters (QueryGoal.parameters[] of {key, value}). A missing parameter
 * is bad_input naming it. *out is malloc'd.
 */
qg_error_t *qg_manifest_fill(const char *tmpl, const qg_json_t *doc, char **out);

/** Does the string hold a placeholder? */
int qg_manifest_has_placeholder(const char *s);

#endif
