/*
 * swrl.h - SWRL rules in Protégé's human-readable syntax, and a forward-chaining
 * engine over a small fact base.
 *
 *   rules file   one rule per line or block:  [name:] body -> head
 *                atoms joined by ^ (or U+2227), arrow -> (or U+2192), # comments,
 *                optional directive line  preference: key dir, key dir
 *   facts        class assertions  C(ind)  and property assertions  p(ind, value),
 *                value = individual or literal (string, integer, decimal, boolean)
 *   run          applies every rule until nothing new is inferred (fixpoint),
 *                remembering for each inferred fact the rule and bindings that
 *                first produced it (provenance).
 *
 * Errors from parsing carry "origin:line:column: message" and class QG_ERR_FATAL
 * (a rules file is configuration). Semantics are documented in docs/selection.md.
 */
#ifndef QG_SWRL_H
#define QG_SWRL_H

#include <stddef.h>

#include "error.h"
#include "json.h"

typedef struct qg_swrl_rules_s qg_swrl_rules_t;
typedef struct qg_swrl_kb_s qg_swrl_kb_t;

/* ---- rules ---- */

/**
 * Parse rules text. `origin` names the source in error messages (a path).
 * Checks syntax, built-in names and arities, regex constants, and safety
 * (every head variable and every built-in input is bound by the body).
 * Returns NULL and sets *errp on failure.
 */
qg_swrl_rules_t *qg_swrl_rules_parse(const char *text, size_t len, const char *origin,
                                     qg_error_t **errp);
/** Read and parse a rules file. */
qg_swrl_rules_t *qg_swrl_rules_load(const char *path, qg_error_t **errp);
void qg_swrl_rules_destroy(qg_swrl_rules_t *rules);

size_t qg_swrl_rules_count(const qg_swrl_rules_t *rules);
/** Rule name (given or "rule<N>" by position, 1-based). */
const char *qg_swrl_rule_name(const qg_swrl_rules_t *rules, size_t i);
/** Source line of rule i. */
int qg_swrl_rule_line(const qg_swrl_rules_t *rules, size_t i);
/** The `preference:` directive's text, or NULL if the file has none. */
const char *qg_swrl_rules_preference(const qg_swrl_rules_t *rules);

/* ---- facts ---- */

qg_swrl_kb_t *qg_swrl_kb_new(void);
void qg_swrl_kb_destroy(qg_swrl_kb_t *kb);

/* Assertions. Return 0 on success (also when the fact already exists), -1 on
 * allocation failure or when the fact limit is reached. */
int qg_swrl_kb_add_class(qg_swrl_kb_t *kb, const char *ind, const char *cls);
int qg_swrl_kb_add_ind(qg_swrl_kb_t *kb, const char *subj, const char *prop, const char *obj);
int qg_swrl_kb_add_str(qg_swrl_kb_t *kb, const char *subj, const char *prop, const char *s);
int qg_swrl_kb_add_int(qg_swrl_kb_t *kb, const char *subj, const char *prop, long long i);
int qg_swrl_kb_add_dec(qg_swrl_kb_t *kb, const char *subj, const char *prop, double d);
int qg_swrl_kb_add_bool(qg_swrl_kb_t *kb, const char *subj, const char *prop, int b);

/**
 * Assert a JSON value as data property values of `subj`:
 * string -> string, integral number -> integer, other number -> decimal,
 * bool -> boolean, null -> nothing, array -> one value per element,
 * object -> each member `k` as property "prop.k" (recursively); with
 * `leaf_alias` also as property "k" for scalar members.
 */
int qg_swrl_kb_add_json(qg_swrl_kb_t *kb, const char *subj, const char *prop, const qg_json_t *v,
                        int leaf_alias);

/**
 * Assert individuals from JSON (the format of tests/data/swrl cases):
 *   { "g1": { "classes": ["QueryGoal"], "goalType": "x", "quantity": 50,
 *             "tags": ["a", "b"], "uses": {"ref": "M1"} }, ... }
 * Strings, numbers and booleans are data values, arrays give several values,
 * {"ref": name} is an individual (object property value).
 * Returns NULL or a bad_input error naming the offending member.
 */
qg_error_t *qg_swrl_kb_add_individuals(qg_swrl_kb_t *kb, const qg_json_t *individuals);

/** Number of facts (asserted and inferred). */
size_t qg_swrl_kb_size(const qg_swrl_kb_t *kb);
/** Maximum number of facts (default 100000); run fails when it is reached. */
void qg_swrl_kb_set_limit(qg_swrl_kb_t *kb, size_t max_facts);

/* ---- running ---- */

typedef struct qg_swrl_stats_s {
    size_t rounds;   /* passes over all rules, the last one found nothing new */
    size_t inferred; /* facts added by rules */
    size_t firings;  /* rule matches (including those that inferred nothing new) */
} qg_swrl_stats_t;

/** Forward chaining to a fixpoint. stats may be NULL. Errors: fact limit, OOM. */
qg_error_t *qg_swrl_run(const qg_swrl_rules_t *rules, qg_swrl_kb_t *kb, qg_swrl_stats_t *stats);

/**
 * Facts with predicate `pred` (a property or a class), optionally only those
 * about `subj`, in insertion order, as a JSON array of
 *   { "subject": "g1", "object": "M1" | 5 | "text" | true, "individual": bool,
 *     "inferred": bool, "rule": "name", "bindings": { "g": ..., "m": ... } }
 * ("object"/"individual" absent for class facts; "rule"/"bindings" only for
 * inferred facts). Returns NULL on allocation failure.
 */
qg_json_t *qg_swrl_kb_query(const qg_swrl_kb_t *kb, const qg_swrl_rules_t *rules, const char *pred,
                            const char *subj);

#endif
