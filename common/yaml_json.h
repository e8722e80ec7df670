/*
 * yaml_json.h - YAML (one document) to the JSON model, for configuration files.
 *
 * Plain scalars become null (~, null, empty), booleans (true/false in the
 * usual capitalisations), numbers (JSON-style decimal spellings, kept as
 * written) or strings; quoted scalars are always strings. Mapping keys must
 * be scalars and unique. Nesting and node count are bounded, which also
 * stops recursive aliases. Errors name "file:line:column: problem".
 */
#ifndef QG_YAML_JSON_H
#define QG_YAML_JSON_H

#include <stddef.h>

#include "error.h"
#include "json.h"

/** Convert YAML text; `name` prefixes messages; errors get class `cls`. */
qg_json_t *qg_yaml_to_json(const char *text, size_t len, const char *name, qg_error_class_t cls,
                           qg_error_t **errp);

/** Same for a file. */
qg_json_t *qg_yaml_file_to_json(const char *path, qg_error_class_t cls, qg_error_t **errp);

#endif
