/*
 * goaltype.h - goal types, declared once (config/goal-patterns.yaml).
 *
 * Each entry of the file's `goals:` list declares a goal type: its
 * pipelineStages, its parameters (key, type string|integer|number|date,
 * required, min/max, shape regex), its outputSpec and, for query goals, the
 * aasQuery manifest (`queryManifest`) and the dataFiltering spec (`filter`).
 * `qgctl ask` builds goals from the same entries (lib/ask).
 *
 * The first worker of a goal's pipeline checks the goal's parameters against
 * its type's declaration (qg_goaltypes_check_goal, called from the stage-entry
 * path in process.c); a violation is bad_input naming the parameter. Goal types
 * the file does not declare pass unchecked.
 */
#ifndef QG_GOALTYPE_H
#define QG_GOALTYPE_H

#include <stddef.h>

#include "config.h"
#include "error.h"
#include "json.h"

typedef struct qg_goaltypes_s qg_goaltypes_t;

/** Read and check a goal-type file. Errors are bad_input naming the file and entry. */
qg_error_t *qg_goaltypes_load(const char *path, qg_goaltypes_t **out);
/** Same from YAML text; `name` stands for the file in messages, dir for relative paths. */
qg_error_t *qg_goaltypes_parse(const char *yaml, size_t len, const char *name, const char *dir,
                               qg_goaltypes_t **out);
void qg_goaltypes_destroy(qg_goaltypes_t *gt);

/** Directory of the file: relative paths inside declarations are taken from here. */
const char *qg_goaltypes_dir(const qg_goaltypes_t *gt);
size_t qg_goaltypes_count(const qg_goaltypes_t *gt);
const qg_json_t *qg_goaltypes_at(const qg_goaltypes_t *gt, size_t i);
/** The declaration of a goal type, or NULL (NULL-safe). */
const qg_json_t *qg_goaltypes_find(const qg_goaltypes_t *gt, const char *goal_type);

/**
 * Check a goal's parameters against its type's declaration: required ones
 * present, each given once, values of the declared type within min/max and
 * matching shape. NULL when valid or when gt or the type is unknown; else a
 * bad_input error "QueryGoal.parameters[i] (key): ...".
 */
qg_error_t *qg_goaltypes_check_goal(const qg_goaltypes_t *gt, const qg_json_t *doc);

/**
 * Does every stage that any goal type names have a worker? `served` answers
 * for one stage name. NULL, or a bad_input error naming the goal type and the
 * stages nobody serves.
 */
qg_error_t *qg_goaltypes_check_stages(const qg_goaltypes_t *gt,
                                      int (*served)(const char *stage, void *opaque), void *opaque);

/**
 * The process's goal types, from configuration key goal.types.file (read
 * once; later calls with the same path keep it). A missing file at the
 * default path only disables checks, with a warning; a missing file named
 * explicitly or an invalid file is an error.
 */
qg_error_t *qg_goaltypes_use(const qg_config_t *cfg);
/** What qg_goaltypes_use loaded, or NULL. */
const qg_goaltypes_t *qg_goaltypes_current(void);

/** Default of goal.types.file. */
#define QG_GOALTYPES_DEFAULT_FILE "config/goal-patterns.yaml"

#endif
