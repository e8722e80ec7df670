/*
 * swrl_kb.c - the fact base: interned names, deduplicated facts indexed by
 * predicate, and the provenance of inferred facts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "array.h"
#include "swrl_int.h"

#define KB_DEFAULT_LIMIT 100000

typedef struct bucket_s {
    uint32_t *ids;
    size_t n, cap;
} bucket_t;

struct qg_swrl_kb_s {
    char **names; /* names[0] unused: symbol 0 means "none" */
    size_t nnames, capnames;
    uint32_t *symtab; /* open addressing; holds symbol ids, 0 = empty */
    size_t symcap;
    swrl_fact_t *facts;
    size_t nfacts, capfacts;
    uint32_t *facttab; /* open addressing; holds fact id + 1, 0 = empty */
    size_t factcap;
    bucket_t *bypred; /* indexed by predicate symbol */
    size_t npred;
    size_t max_facts;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

static uint64_t hash_val(const swrl_val_t *v)
{
    uint64_t x = 0;

    switch (v->type) {
    case SWRL_V_INT:
        x = (uint64_t)v->u.i;
        break;
    case SWRL_V_DEC:
        memcpy(&x, &v->u.d, sizeof(x));
        break;
    case SWRL_V_BOOL:
        x = v->u.b != 0;
        break;
    default:
        x = v->u.sym;
    }
    return mix((uint64_t)v->type, x);
}

static uint64_t hash_fact(int kind, uint32_t pred, uint32_t subj, const swrl_val_t *obj)
{
    return mix(mix(mix((uint64_t)kind, pred), subj), hash_val(obj));
}

qg_swrl_kb_t *qg_swrl_kb_new(void)
{
    qg_swrl_kb_t *kb = calloc(1, sizeof(*kb));

    if (kb)
        kb->max_facts = KB_DEFAULT_LIMIT;
    return kb;
}

void qg_swrl_kb_destroy(qg_swrl_kb_t *kb)
{
    size_t i;

    if (!kb)
        return;
    for (i = 1; i < kb->nnames; i++)
        free(kb->names[i]);
    for (i = 0; i < kb->nfacts; i++)
        free(kb->facts[i].binds);
    for (i = 0; i < kb->npred; i++)
        free(kb->bypred[i].ids);
    free(kb->names);
    free(kb->symtab);
    free(kb->facts);
    free(kb->facttab);
    free(kb->bypred);
    free(kb);
}

void qg_swrl_kb_set_limit(qg_swrl_kb_t *kb, size_t max_facts)
{
    if (kb)
        kb->max_facts = max_facts;
}

size_t qg_swrl_kb_size(const qg_swrl_kb_t *kb)
{
    return kb ? kb->nfacts : 0;
}

/* ---------------------------------------------------------------- symbols */

static int symtab_grow(qg_swrl_kb_t *kb)
{
    size_t cap = kb->symcap ? kb->symcap * 2 : 256, i;
    uint32_t *t = calloc(cap, sizeof(*t));

    if (!t)
        return -1;
    for (i = 1; i < kb->nnames; i++) {
        size_t j = hash_str(kb->names[i]) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)i;
    }
    free(kb->symtab);
    kb->symtab = t;
    kb->symcap = cap;
    return 0;
}

uint32_t swrl_kb_sym(const qg_swrl_kb_t *kb, const char *s)
{
    size_t j;

    if (!kb->symcap)
        return 0;
    for (j = hash_str(s) & (kb->symcap - 1); kb->symtab[j]; j = (j + 1) & (kb->symcap - 1))
        if (strcmp(kb->names[kb->symtab[j]], s) == 0)
            return kb->symtab[j];
    return 0;
}

uint32_t swrl_kb_intern(qg_swrl_kb_t *kb, const char *s)
{
    uint32_t sym = swrl_kb_sym(kb, s);
    size_t j;
    char *copy;

    if (sym)
        return sym;
    if (kb->nnames == 0)
        kb->nnames = 1;
    if ((kb->nnames + 1) * 2 > kb->symcap && symtab_grow(kb) < 0)
        return 0;
    if (kb->nnames >= kb->capnames) {
        size_t cap = kb->capnames ? kb->capnames * 2 : 64;
        char **nn = realloc(kb->names, cap * sizeof(*nn));
        if (!nn)
            return 0;
        kb->names = nn;
        kb->capnames = cap;
    }
    if (!(copy = strdup(s)))
        return 0;
    kb->names[kb->nnames] = copy;
    for (j = hash_str(s) & (kb->symcap - 1); kb->symtab[j]; j = (j + 1) & (kb->symcap - 1))
        ;
    kb->symtab[j] = (uint32_t)kb->nnames;
    return (uint32_t)kb->nnames++;
}

const char *swrl_kb_symname(const qg_swrl_kb_t *kb, uint32_t sym)
{
    return sym && sym < kb->nnames ? kb->names[sym] : "";
}

/* ---------------------------------------------------------------- facts */

static int fact_same(const swrl_fact_t *f, int kind, uint32_t pred, uint32_t subj,
                     const swrl_val_t *obj)
{
    if (f->kind != kind || f->pred != pred || f->subj != subj || f->obj.type != obj->type)
        return 0;
    switch (obj->type) {
    case SWRL_V_NONE:
        return 1;
    case SWRL_V_INT:
        return f->obj.u.i == obj->u.i;
    case SWRL_V_DEC:
        return f->obj.u.d == obj->u.d;
    case SWRL_V_BOOL:
        return !f->obj.u.b == !obj->u.b;
    default:
        return f->obj.u.sym == obj->u.sym;
    }
}

static int facttab_grow(qg_swrl_kb_t *kb)
{
    size_t cap = kb->factcap ? kb->factcap * 2 : 256, i;
    uint32_t *t = calloc(cap, sizeof(*t));

    if (!t)
        return -1;
    for (i = 0; i < kb->nfacts; i++) {
        const swrl_fact_t *f = &kb->facts[i];
        size_t j = hash_fact(f->kind, f->pred, f->subj, &f->obj) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)i + 1;
    }
    free(kb->facttab);
    kb->facttab = t;
    kb->factcap = cap;
    return 0;
}

static int bucket_push(qg_swrl_kb_t *kb, uint32_t pred, uint32_t id)
{
    bucket_t *b;

    if (pred >= kb->npred) {
        size_t n = pred + 64;
        bucket_t *nb = realloc(kb->bypred, n * sizeof(*nb));
        if (!nb)
            return -1;
        memset(nb + kb->npred, 0, (n - kb->npred) * sizeof(*nb));
        kb->bypred = nb;
        kb->npred = n;
    }
    b = &kb->bypred[pred];
    uint32_t *ni = qg_array_grow(b->ids, &b->cap, b->n + 1, sizeof(*ni), 16);
    if (!ni)
        return -1;
    b->ids = ni;
    b->ids[b->n++] = id;
    return 0;
}

static int facts_reserve(qg_swrl_kb_t *kb)
{
    size_t cap;
    swrl_fact_t *nf;

    if ((kb->nfacts + 1) * 2 > kb->factcap && facttab_grow(kb) < 0)
        return -1;
    if (kb->nfacts < kb->capfacts)
        return 0;
    cap = kb->capfacts ? kb->capfacts * 2 : 64;
    nf = realloc(kb->facts, cap * sizeof(*nf));
    if (!nf)
        return -1;
    kb->facts = nf;
    kb->capfacts = cap;
    return 0;
}

int swrl_kb_add(qg_swrl_kb_t *kb, int kind, uint32_t pred, uint32_t subj, const swrl_val_t *obj,
                int rule, const swrl_val_t *binds, size_t nbinds)
{
    static const swrl_val_t none = {SWRL_V_NONE, {0}};
    swrl_fact_t *f;
    size_t j;

    if (!obj)
        obj = &none;
    if (kb->factcap) {
        j = hash_fact(kind, pred, subj, obj) & (kb->factcap - 1);
        for (; kb->facttab[j]; j = (j + 1) & (kb->factcap - 1))
            if (fact_same(&kb->facts[kb->facttab[j] - 1], kind, pred, subj, obj))
                return 0;
    }
    if (kb->nfacts >= kb->max_facts)
        return -2;
    if (facts_reserve(kb) < 0 || bucket_push(kb, pred, (uint32_t)kb->nfacts) < 0)
        return -1;
    f = &kb->facts[kb->nfacts];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->pred = pred;
    f->subj = subj;
    f->obj = *obj;
    f->rule = rule;
    if (binds && nbinds) {
        f->binds = malloc(nbinds * sizeof(*binds));
        if (!f->binds) {
            kb->bypred[pred].n--;
            return -1;
        }
        memcpy(f->binds, binds, nbinds * sizeof(*binds));
    }
    j = hash_fact(kind, pred, subj, obj) & (kb->factcap - 1);
    while (kb->facttab[j])
        j = (j + 1) & (kb->factcap - 1);
    kb->facttab[j] = (uint32_t)kb->nfacts + 1;
    kb->nfacts++;
    return 1;
}

int swrl_kb_has(const qg_swrl_kb_t *kb, int kind, uint32_t pred, uint32_t subj,
                const swrl_val_t *obj)
{
    static const swrl_val_t none = {SWRL_V_NONE, {0}};
    size_t j;

    if (!obj)
        obj = &none;
    if (!kb->factcap)
        return 0;
    j = hash_fact(kind, pred, subj, obj) & (kb->factcap - 1);
    for (; kb->facttab[j]; j = (j + 1) & (kb->factcap - 1))
        if (fact_same(&kb->facts[kb->facttab[j] - 1], kind, pred, subj, obj))
            return 1;
    return 0;
}

size_t swrl_kb_limit(const qg_swrl_kb_t *kb)
{
    return kb->max_facts;
}

const uint32_t *swrl_kb_by_pred(const qg_swrl_kb_t *kb, uint32_t pred, size_t *n)
{
    if (pred >= kb->npred) {
        *n = 0;
        return NULL;
    }
    *n = kb->bypred[pred].n;
    return kb->bypred[pred].ids;
}

const swrl_fact_t *swrl_kb_fact(const qg_swrl_kb_t *kb, uint32_t id)
{
    return &kb->facts[id];
}

/* ---------------------------------------------------------------- public adds */

static int add_val(qg_swrl_kb_t *kb, int kind, const char *subj, const char *pred,
                   const swrl_val_t *v)
{
    uint32_t s, p;

    if (!kb || !subj || !pred)
        return -1;
    s = swrl_kb_intern(kb, subj);
    p = swrl_kb_intern(kb, pred);
    if (!s || !p)
        return -1;
    return swrl_kb_add(kb, kind, p, s, v, -1, NULL, 0) < 0 ? -1 : 0;
}

int qg_swrl_kb_add_class(qg_swrl_kb_t *kb, const char *ind, const char *cls)
{
    return add_val(kb, SWRL_F_CLASS, ind, cls, NULL);
}

static int add_sym(qg_swrl_kb_t *kb, const char *subj, const char *prop, int type, const char *s)
{
    swrl_val_t v = {type, {0}};

    if (!kb || !s || !(v.u.sym = swrl_kb_intern(kb, s)))
        return -1;
    return add_val(kb, SWRL_F_PROP, subj, prop, &v);
}

int qg_swrl_kb_add_ind(qg_swrl_kb_t *kb, const char *subj, const char *prop, const char *obj)
{
    return add_sym(kb, subj, prop, SWRL_V_IND, obj);
}

int qg_swrl_kb_add_str(qg_swrl_kb_t *kb, const char *subj, const char *prop, const char *s)
{
    return add_sym(kb, subj, prop, SWRL_V_STR, s);
}

int qg_swrl_kb_add_int(qg_swrl_kb_t *kb, const char *subj, const char *prop, long long i)
{
    swrl_val_t v = {SWRL_V_INT, {.i = i}};

    return add_val(kb, SWRL_F_PROP, subj, prop, &v);
}

int qg_swrl_kb_add_dec(qg_swrl_kb_t *kb, const char *subj, const char *prop, double d)
{
    swrl_val_t v = {SWRL_V_DEC, {.d = d}};

    if (!isfinite(d))
        return 0; /* not representable as xsd:decimal: skipped */
    return add_val(kb, SWRL_F_PROP, subj, prop, &v);
}

int qg_swrl_kb_add_bool(qg_swrl_kb_t *kb, const char *subj, const char *prop, int b)
{
    swrl_val_t v = {SWRL_V_BOOL, {.b = b != 0}};

    return add_val(kb, SWRL_F_PROP, subj, prop, &v);
}

static int add_number(qg_swrl_kb_t *kb, const char *subj, const char *prop, const qg_json_t *v)
{
    const char *text = qg_json_number_text(v);
    double d = qg_json_num(v, 0);
    char *end;
    long long i;

    if (text && !strpbrk(text, ".eE")) {
        i = strtoll(text, &end, 10);
        if (*end == '\0' && (double)i == d)
            return qg_swrl_kb_add_int(kb, subj, prop, i);
    } else if (!text && d == floor(d) && fabs(d) < 9007199254740992.0) {
        return qg_swrl_kb_add_int(kb, subj, prop, (long long)d);
    }
    return qg_swrl_kb_add_dec(kb, subj, prop, d);
}

static int add_members(qg_swrl_kb_t *kb, const char *subj, const char *prop, const qg_json_t *v,
                       int leaf_alias)
{
    size_t i;

    for (i = 0; i < qg_json_len(v); i++) {
        const char *key = qg_json_key_at(v, i);
        const qg_json_t *m = qg_json_at(v, i);
        char *name = qg_str_printf("%s.%s", prop, key);
        int rc;

        if (!name)
            return -1;
        rc = qg_swrl_kb_add_json(kb, subj, name, m, leaf_alias);
        free(name);
        if (rc == 0 && leaf_alias && !qg_json_is(m, QG_JSON_OBJECT))
            rc = qg_swrl_kb_add_json(kb, subj, key, m, 0);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int qg_swrl_kb_add_json(qg_swrl_kb_t *kb, const char *subj, const char *prop, const qg_json_t *v,
                        int leaf_alias)
{
    size_t i;

    switch (qg_json_type(v)) {
    case QG_JSON_NULL:
        return 0;
    case QG_JSON_BOOL:
        return qg_swrl_kb_add_bool(kb, subj, prop, qg_json_truthy(v));
    case QG_JSON_NUMBER:
        return add_number(kb, subj, prop, v);
    case QG_JSON_STRING:
        return qg_swrl_kb_add_str(kb, subj, prop, qg_json_str(v));
    case QG_JSON_ARRAY:
        for (i = 0; i < qg_json_len(v); i++)
            if (qg_swrl_kb_add_json(kb, subj, prop, qg_json_at(v, i), 0) < 0)
                return -1;
        return 0;
    case QG_JSON_OBJECT:
        return add_members(kb, subj, prop, v, leaf_alias);
    }
    return 0;
}
