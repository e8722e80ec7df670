/*
 * registry.h - the model registry: which models exist, what they are for,
 * how they run and where their binding manifest is.
 *
 * File: YAML or JSON, `{models: [...]}` (or a bare list). Each model:
 *   modelId (required, unique), version, purpose (required), description,
 *   capabilities[], inputParameters[], outputSchema[],
 *   performance {accuracy, avgLatency ("35s", "200ms", or seconds)},
 *   runner {type: builtin|exec|container, ...free options...},
 *   metaDataFile (binding manifest, relative to the registry's directory).
 * The seed format's `container: {image, ...}` stands for
 * `runner: {type: container, image, ...}`. Schema: schemas/registry.schema.json.
 *
 * Loading normalizes every entry: `runner` is always present,
 * `metaDataFile` becomes the absolute path of the manifest (which must exist
 * inside the registry directory: absolute paths and `..` are rejected) and
 * `metaDataFileRelative` keeps the spelling of the file, and a parseable
 * `performance.avgLatency` adds `performance.avgLatencySeconds`.
 */
#ifndef QG_REGISTRY_H
#define QG_REGISTRY_H

#include <stddef.h>

#include "error.h"
#include "json.h"

typedef struct qg_registry_s qg_registry_t;

/** Load and validate a registry file. Errors (class QG_ERR_FATAL) name the file and model. */
qg_registry_t *qg_registry_load(const char *path, qg_error_t **errp);
/** Same from a parsed document; `dir` is the directory metaDataFile resolves in. */
qg_registry_t *qg_registry_from_json(const qg_json_t *doc, const char *origin, const char *dir,
                                     qg_error_t **errp);
void qg_registry_destroy(qg_registry_t *reg);

size_t qg_registry_count(const qg_registry_t *reg);
/** The i-th normalized model entry (owned by the registry). */
const qg_json_t *qg_registry_at(const qg_registry_t *reg, size_t i);
const qg_json_t *qg_registry_find(const qg_registry_t *reg, const char *model_id);
const char *qg_registry_model_id(const qg_json_t *model);
/** Absolute directory of the registry file. */
const char *qg_registry_dir(const qg_registry_t *reg);
/** The file it was loaded from (as given). */
const char *qg_registry_path(const qg_registry_t *reg);

/**
 * Read a YAML (or JSON) file into a JSON document. Plain scalars resolve to
 * null/bool/number as YAML 1.2's core schema says, quoted ones are strings.
 * Errors name path:line:column. Returns NULL with *errp (class QG_ERR_FATAL).
 */
qg_json_t *qg_registry_read_yaml(const char *path, qg_error_t **errp);

/** Parse a duration: "35s", "200ms", "1.5m", "2h", or a bare number of seconds. -1 if not. */
double qg_registry_duration_s(const char *text);

#endif
