/*
 * selection.h - internals of the swrlSelection stage shared with its tests:
 * the preference order used when several models are selected.
 */
#ifndef QG_SELECTION_H
#define QG_SELECTION_H

#include <stddef.h>

#include "error.h"
#include "json.h"
#include "stage.h"

#define QG_SEL_MAX_KEYS 8

/* "performance.accuracy desc, avgLatency asc" */
typedef struct qg_sel_pref_s {
    size_t n;
    char key[QG_SEL_MAX_KEYS][96];
    int desc[QG_SEL_MAX_KEYS];
} qg_sel_pref_t;

/** Parse a preference; NULL or an error (class QG_ERR_FATAL) naming the bad part. */
qg_error_t *qg_sel_pref_parse(const char *text, qg_sel_pref_t *pref);

/**
 * Compare two registry entries by the preference, then by modelId ascending:
 * < 0 when `a` is preferred. Keys are dotted paths into the entry; a key not
 * found at the top level is also looked up under "performance."; durations
 * ("35s") compare as seconds; entries missing a key come after those that have it.
 */
int qg_sel_pref_compare(const qg_sel_pref_t *pref, const qg_json_t *a, const qg_json_t *b);

extern const qg_stage_ops_t qg_stage_selection;

#endif
