/*
 * claim.h - the claim check for large stage results.
 *
 * A stage result too large to travel inside the goal is written to a
 * directory every worker of the next stage can read (a shared volume); the
 * goal carries only the reference {path, sha256, bytes}. The yamlBinding
 * scenario and the aasQuery records use it.
 */
#ifndef QG_CLAIM_H
#define QG_CLAIM_H

#include <stddef.h>

#include "error.h"
#include "json.h"

typedef struct {
    const char *shared_dir; /* where large values go; NULL: none (large is an error) */
    size_t inline_max;      /* largest serialized value kept inline */
    const char *inline_key; /* result member for the inline value: "scenario" */
    const char *ref_key;    /* result member for the reference: "scenarioRef" */
    const char *bytes_key;  /* result member for the serialized size: "scenarioBytes" */
    const char *file_stem;  /* file name: <stem>-<goal>-<sha256 prefix>.json */
    const char *limit_name; /* configuration key of inline_max, for messages */
} qg_claim_conf_t;

/**
 * Put value (consumed) into result: inline when its serialization fits
 * inline_max, else as a file in shared_dir (written atomically) referenced by
 * {path, sha256 (of the file, final newline included), bytes}.
 */
qg_error_t *qg_claim_place(const qg_claim_conf_t *conf, const char *goal_id, qg_json_t *result,
                           qg_json_t *value);

/* Where a reader accepts claims from, and how large; the key names go into messages. */
typedef struct {
    const char *dir;     /* the file must lie below it (NULL: anywhere) */
    const char *dir_key; /* "simulation.claims.dir" */
    size_t max_bytes;    /* 0: unbounded */
    const char *max_key; /* "simulation.scenario.max.bytes" */
    const char *what;    /* the reference's name: "scenarioRef" */
} qg_claim_reader_t;

/** NULL when path lies below rd->dir (or no dir is set), else a bad_input error naming both. */
qg_error_t *qg_claim_check_path(const qg_claim_reader_t *rd, const char *path);

/**
 * Read a claim reference {path, sha256?, bytes?} into *out: the file must lie
 * below rd->dir, be at most max_bytes, and match the digest (of the file, or of
 * the file without its final newline), or else its size when only bytes is
 * given. A missing file is transient (the shared volume may lag), an outside
 * path bad input, a mismatch a stage error.
 */
qg_error_t *qg_claim_load(const qg_claim_reader_t *rd, const qg_json_t *ref, qg_json_t **out);

/** mkdir -p. 0 or -1 (errno). */
int qg_mkdirs(const char *path);
/** Write text and a final newline to dir/name atomically (temp file + rename). 0 or -1. */
int qg_write_atomic(const char *dir, const char *name, const char *text, size_t len);
/** A goal id usable as a file name: [A-Za-z0-9_-], at most 128 characters. */
void qg_safe_file_name(const char *id, char *buf, size_t sz);

#endif
