/*
 * json.h - a small mutable JSON document model on top of yajl.
 *
 * Ownership: every qg_json_t belongs to exactly one parent (or to the caller
 * for a root). Functions that take a `qg_json_t *val` argument to insert it
 * into a container CONSUME it, also on failure (it is destroyed then), so
 * the caller never frees a value it handed over.
 *
 * Accessors accept NULL and return NULL / 0 / the given default, so lookups
 * can be chained: qg_json_str(qg_json_get(qg_json_get(doc, "a"), "b")).
 *
 * Numbers parsed from text keep their original spelling so that a document
 * round-trips byte-for-byte in its numbers (large integers stay exact).
 */
#ifndef QG_JSON_H
#define QG_JSON_H

#include <stddef.h>

#include "error.h"

typedef enum {
    QG_JSON_NULL,
    QG_JSON_BOOL,
    QG_JSON_NUMBER,
    QG_JSON_STRING,
    QG_JSON_ARRAY,
    QG_JSON_OBJECT,
} qg_json_type_t;

typedef struct qg_json_s qg_json_t;

/** Maximum nesting accepted by the parser. */
#define QG_JSON_MAX_DEPTH 256

/**
 * Parse `len` bytes of JSON text. Returns NULL on error with a message
 * (including line:column where known) written to errstr.
 */
qg_json_t *qg_json_parse(const char *text, size_t len, char *errstr, size_t errstr_size);

/**
 * qg_json_parse with a classed error in *errp: bad_input ("not JSON: ...") for
 * text that is not JSON, out of memory (qg_error_new_oom) when memory ran out.
 */
qg_json_t *qg_json_parse_classed(const char *text, size_t len, qg_error_t **errp);

/** Parse a whole file; errstr is prefixed with the path. */
qg_json_t *qg_json_parse_file(const char *path, char *errstr, size_t errstr_size);

/**
 * Serialize to a NUL-terminated malloc'd string (caller frees). `pretty`
 * indents with two spaces. Non-finite numbers are written as null.
 * Returns NULL on allocation failure or when a write into the document failed
 * (qg_json_failed). *lenp (optional) gets the length.
 */
char *qg_json_serialize(const qg_json_t *v, int pretty, size_t *lenp);

/** Write serialized JSON (pretty) plus a newline to a file. 0 or -1 (errno). */
int qg_json_write_file(const qg_json_t *v, const char *path);

void qg_json_destroy(qg_json_t *v);

/* Constructors: return NULL on allocation failure. */
qg_json_t *qg_json_null(void);
qg_json_t *qg_json_bool(int b);
qg_json_t *qg_json_number(double d);
qg_json_t *qg_json_string(const char *s);
qg_json_t *qg_json_stringn(const char *s, size_t len);
qg_json_t *qg_json_array(void);
qg_json_t *qg_json_object(void);
qg_json_t *qg_json_clone(const qg_json_t *v);

/* Type and scalar access (NULL-safe). */
qg_json_type_t qg_json_type(const qg_json_t *v);      /* NULL -> QG_JSON_NULL */
int qg_json_is(const qg_json_t *v, qg_json_type_t t); /* 0 for NULL v */
const char *qg_json_str(const qg_json_t *v);          /* NULL unless string */
size_t qg_json_strlen(const qg_json_t *v);            /* bytes, may hold NULs */
double qg_json_num(const qg_json_t *v, double dflt);  /* dflt unless number */
int qg_json_truthy(const qg_json_t *v);               /* bool true only */
const char *qg_json_number_text(const qg_json_t *v);  /* original spelling or NULL */

/* Containers (NULL-safe). */
size_t qg_json_len(const qg_json_t *v);                   /* array/object size, else 0 */
qg_json_t *qg_json_at(const qg_json_t *v, size_t i);      /* array elem or i-th member value */
const char *qg_json_key_at(const qg_json_t *v, size_t i); /* i-th member key (object) */
qg_json_t *qg_json_get(const qg_json_t *obj, const char *key);

/**
 * Look up a dotted path with optional indices: "QueryGoal.metadata.pipelineStages[0]".
 * Keys containing dots cannot be addressed this way (use qg_json_get).
 */
qg_json_t *qg_json_path(const qg_json_t *v, const char *path);

/*
 * Mutation. All consume `val` (also on failure). Return 0 or -1. A failed write
 * (out of memory, a NULL value from a failed constructor, a wrong container) marks
 * obj/arr for good: qg_json_failed is then true for it and every document holding
 * it, and qg_json_serialize of such a document returns NULL. So a caller may chain
 * writes and check once, before serialising, instead of after each write.
 */
int qg_json_set(qg_json_t *obj, const char *key, qg_json_t *val); /* replace or append */
int qg_json_append(qg_json_t *arr, qg_json_t *val);
int qg_json_set_str(qg_json_t *obj, const char *key, const char *s);
int qg_json_set_num(qg_json_t *obj, const char *key, double d);
int qg_json_set_bool(qg_json_t *obj, const char *key, int b);

/** 1 if a write into v or any container below it failed (see Mutation). */
int qg_json_failed(const qg_json_t *v);

/** Detach and return a member (caller owns it), or NULL if absent. */
qg_json_t *qg_json_take(qg_json_t *obj, const char *key);
/** Remove and destroy a member. Returns 1 if it existed. */
int qg_json_remove(qg_json_t *obj, const char *key);

/** Get member `key` of obj; create it as an empty object if missing. */
qg_json_t *qg_json_get_or_add_object(qg_json_t *obj, const char *key);
/** Same for an array. */
qg_json_t *qg_json_get_or_add_array(qg_json_t *obj, const char *key);

/** Deep structural equality (numbers compared by value, members by key). */
int qg_json_equal(const qg_json_t *a, const qg_json_t *b);

const char *qg_json_type_name(qg_json_type_t t);

#endif
