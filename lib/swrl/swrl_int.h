/*
 * swrl_int.h - internal structures shared by the SWRL parser, fact base,
 * built-ins and engine. Not part of the public API.
 */
#ifndef QG_SWRL_INT_H
#define QG_SWRL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "swrl.h"

/* Value types. IND and STR carry a symbol id (KB) or a string (rule constant). */
enum {
    SWRL_V_NONE = 0,
    SWRL_V_IND,
    SWRL_V_STR,
    SWRL_V_INT,
    SWRL_V_DEC,
    SWRL_V_BOOL,
};

typedef struct swrl_val_s {
    int type;
    union {
        long long i;
        double d;
        int b;
        uint32_t sym;
    } u;
} swrl_val_t;

/* Atom kinds. */
enum {
    SWRL_A_CLASS = 1,
    SWRL_A_PROP,
    SWRL_A_BUILTIN,
    SWRL_A_SAME,
    SWRL_A_DIFF,
};

/* Built-ins. */
enum {
    SWRL_B_EQUAL = 1,
    SWRL_B_NOT_EQUAL,
    SWRL_B_LESS,
    SWRL_B_LESS_EQ,
    SWRL_B_GREATER,
    SWRL_B_GREATER_EQ,
    SWRL_B_STR_EQ_IC,
    SWRL_B_STARTS,
    SWRL_B_ENDS,
    SWRL_B_CONTAINS,
    SWRL_B_MATCHES,
    SWRL_B_ADD,
    SWRL_B_SUBTRACT,
    SWRL_B_MULTIPLY,
};

/* A term in a rule: a variable (var >= 0) or a constant. */
typedef struct swrl_term_s {
    int var;    /* index into rule->vars, or -1 */
    int ctype;  /* SWRL_V_* for a constant */
    char *text; /* IND name or STR content (constants) */
    long long i;
    double d;
    int b;
} swrl_term_t;

typedef struct swrl_atom_s {
    int kind;
    int builtin; /* SWRL_B_* for SWRL_A_BUILTIN */
    char *pred;  /* class / property name */
    size_t nargs;
    swrl_term_t *args;
    int line, col;
} swrl_atom_t;

typedef struct swrl_rule_s {
    char *name;
    int line;
    swrl_atom_t *body;
    size_t nbody;
    swrl_atom_t *head;
    size_t nhead;
    size_t *order; /* evaluation order of body atoms */
    char **vars;
    size_t nvars;
} swrl_rule_t;

struct qg_swrl_rules_s {
    swrl_rule_t *rules;
    size_t n;
    char *preference;
};

/* Built-in table (swrl_builtins.c). */
typedef struct swrl_builtin_info_s {
    const char *name; /* local name, e.g. "lessThan" */
    int id;
    int min_args, max_args; /* max_args -1: unbounded */
    int binds_first;        /* math: first argument may be unbound and receives the result */
} swrl_builtin_info_t;

const swrl_builtin_info_t *swrl_builtin_lookup(const char *local_name);
const swrl_builtin_info_t *swrl_builtin_by_id(int id);

/*
 * Evaluate a built-in. args[0..n) are values; for a math built-in args[0] may
 * be SWRL_V_NONE, then it is set to the result. Strings are looked up via kb.
 * Returns 1 if satisfied, 0 if not.
 */
int swrl_builtin_eval(qg_swrl_kb_t *kb, int id, swrl_val_t *args, size_t n);

/* Is a regular expression cheap enough to compile (see swrl_builtins.c)? */
int swrl_regex_ok(const char *pattern);

/* Numeric comparison with a small relative tolerance: -1, 0, 1. */
int swrl_num_cmp(double a, double b);
/* Are two values the same (numbers across integer/decimal by value)? */
int swrl_val_equal(const swrl_val_t *a, const swrl_val_t *b);

/* Fact base internals (swrl_kb.c), used by the engine. */
enum { SWRL_F_CLASS = 1, SWRL_F_PROP };

typedef struct swrl_fact_s {
    int kind;
    uint32_t pred, subj;
    swrl_val_t obj;
    int rule;          /* -1: asserted */
    swrl_val_t *binds; /* inferred: values of the rule's variables (owned) */
} swrl_fact_t;

/* Intern a string; returns 0 on failure, else sym id (>= 1). */
uint32_t swrl_kb_intern(qg_swrl_kb_t *kb, const char *s);
/* Look up without adding; 0 if unknown. */
uint32_t swrl_kb_sym(const qg_swrl_kb_t *kb, const char *s);
const char *swrl_kb_symname(const qg_swrl_kb_t *kb, uint32_t sym);
/* Facts with this predicate (ids into swrl_kb_fact). */
/* Exact fact lookup (types must match). */
int swrl_kb_has(const qg_swrl_kb_t *kb, int kind, uint32_t pred, uint32_t subj,
                const swrl_val_t *obj);
size_t swrl_kb_limit(const qg_swrl_kb_t *kb);
const uint32_t *swrl_kb_by_pred(const qg_swrl_kb_t *kb, uint32_t pred, size_t *n);
const swrl_fact_t *swrl_kb_fact(const qg_swrl_kb_t *kb, uint32_t id);
/*
 * Add a fact; binds (may be NULL) is copied when the fact is new.
 * Returns 1 if added, 0 if it already existed, -1 on OOM, -2 at the limit.
 */
int swrl_kb_add(qg_swrl_kb_t *kb, int kind, uint32_t pred, uint32_t subj, const swrl_val_t *obj,
                int rule, const swrl_val_t *binds, size_t nbinds);

#endif
