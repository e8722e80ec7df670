/*
 * swrl_engine.c - forward chaining to a fixpoint.
 *
 * Each pass evaluates every rule in file order against the current facts
 * (backtracking join over the body atoms in the order fixed at load time),
 * collects the head facts that are new, then adds them. Passes repeat until
 * one adds nothing. Enumeration follows fact insertion order, so the result
 * and the provenance (first rule and bindings that produced a fact) are
 * deterministic.
 */
#include <stdlib.h>
#include <string.h>

#include "swrl_int.h"

#define SWRL_MAX_PASSES 10000
#define SWRL_MAX_STEPS  50000000ULL

typedef struct cterm_s {
    int var;
    swrl_val_t val;
} cterm_t;

typedef struct catom_s {
    int kind, builtin;
    uint32_t pred;
    size_t nargs;
    cterm_t *args;
} catom_t;

typedef struct crule_s {
    catom_t *body; /* in evaluation order */
    size_t nbody;
    catom_t *head;
    size_t nhead;
    size_t nvars;
} crule_t;

typedef struct pending_s {
    int kind;
    uint32_t pred, subj;
    swrl_val_t obj;
    size_t binds; /* offset into the bindings pool */
} pending_t;

typedef struct run_s {
    qg_swrl_kb_t *kb;
    const crule_t *cr;
    swrl_val_t *vals; /* current bindings, SWRL_V_NONE = unbound */
    pending_t *pend;
    size_t npend, cappend;
    swrl_val_t *pool;
    size_t npool, cappool;
    unsigned long long steps;
    size_t firings;
    int err; /* 1 OOM, 2 fact limit, 3 step budget */
} run_t;

/* ---------------------------------------------------------------- compile */

static int compile_term(qg_swrl_kb_t *kb, const swrl_term_t *t, cterm_t *ct)
{
    memset(ct, 0, sizeof(*ct));
    ct->var = t->var;
    if (t->var >= 0)
        return 0;
    ct->val.type = t->ctype;
    switch (t->ctype) {
    case SWRL_V_IND:
    case SWRL_V_STR:
        ct->val.u.sym = swrl_kb_intern(kb, t->text);
        return ct->val.u.sym ? 0 : -1;
    case SWRL_V_INT:
        ct->val.u.i = t->i;
        return 0;
    case SWRL_V_DEC:
        ct->val.u.d = t->d;
        return 0;
    default:
        ct->val.u.b = t->b;
        return 0;
    }
}

static int compile_atom(qg_swrl_kb_t *kb, const swrl_atom_t *a, catom_t *ca)
{
    size_t i;

    ca->kind = a->kind;
    ca->builtin = a->builtin;
    ca->nargs = a->nargs;
    ca->pred = 0;
    ca->args = calloc(a->nargs + 1, sizeof(*ca->args));
    if (!ca->args)
        return -1;
    if ((a->kind == SWRL_A_CLASS || a->kind == SWRL_A_PROP) &&
        !(ca->pred = swrl_kb_intern(kb, a->pred)))
        return -1;
    for (i = 0; i < a->nargs; i++)
        if (compile_term(kb, &a->args[i], &ca->args[i]) < 0)
            return -1;
    return 0;
}

static void crule_free(crule_t *cr)
{
    size_t i;

    for (i = 0; cr->body && i < cr->nbody; i++)
        free(cr->body[i].args);
    for (i = 0; cr->head && i < cr->nhead; i++)
        free(cr->head[i].args);
    free(cr->body);
    free(cr->head);
}

static int compile_rule(qg_swrl_kb_t *kb, const swrl_rule_t *r, crule_t *cr)
{
    size_t i;

    memset(cr, 0, sizeof(*cr));
    cr->nbody = r->nbody;
    cr->nhead = r->nhead;
    cr->nvars = r->nvars;
    cr->body = calloc(r->nbody + 1, sizeof(*cr->body));
    cr->head = calloc(r->nhead + 1, sizeof(*cr->head));
    if (!cr->body || !cr->head)
        return -1;
    for (i = 0; i < r->nbody; i++)
        if (compile_atom(kb, &r->body[r->order[i]], &cr->body[i]) < 0)
            return -1;
    for (i = 0; i < r->nhead; i++)
        if (compile_atom(kb, &r->head[i], &cr->head[i]) < 0)
            return -1;
    return 0;
}

/* ---------------------------------------------------------------- matching */

static const swrl_val_t *term_val(const run_t *rn, const cterm_t *t)
{
    return t->var >= 0 ? &rn->vals[t->var] : &t->val;
}

static int push_pending(run_t *rn, int kind, uint32_t pred, uint32_t subj, const swrl_val_t *obj)
{
    size_t nv = rn->cr->nvars;
    pending_t *p;

    if (rn->npend >= swrl_kb_limit(rn->kb)) {
        rn->err = 2;
        return -1;
    }
    if (rn->npend == rn->cappend) {
        size_t cap = rn->cappend ? rn->cappend * 2 : 16;
        pending_t *np = realloc(rn->pend, cap * sizeof(*np));
        if (!np)
            return rn->err = 1, -1;
        rn->pend = np;
        rn->cappend = cap;
    }
    if (!rn->pool || rn->npool + nv > rn->cappool) {
        size_t cap = (rn->cappool + nv) * 2 + 16;
        swrl_val_t *pp = realloc(rn->pool, cap * sizeof(*pp));
        if (!pp)
            return rn->err = 1, -1;
        rn->pool = pp;
        rn->cappool = cap;
    }
    p = &rn->pend[rn->npend++];
    p->kind = kind;
    p->pred = pred;
    p->subj = subj;
    p->obj = *obj;
    p->binds = rn->npool;
    memcpy(rn->pool + rn->npool, rn->vals, nv * sizeof(*rn->vals));
    rn->npool += nv;
    return 0;
}

/* All body atoms matched: queue the head facts that are not known yet. */
static int emit_head(run_t *rn)
{
    static const swrl_val_t none = {SWRL_V_NONE, {0}};
    size_t i;

    rn->firings++;
    for (i = 0; i < rn->cr->nhead; i++) {
        const catom_t *a = &rn->cr->head[i];
        const swrl_val_t *s = term_val(rn, &a->args[0]);
        int kind = a->kind == SWRL_A_CLASS ? SWRL_F_CLASS : SWRL_F_PROP;
        const swrl_val_t *o = kind == SWRL_F_CLASS ? &none : term_val(rn, &a->args[1]);

        if (s->type != SWRL_V_IND)
            continue; /* only individuals have classes and properties */
        if (swrl_kb_has(rn->kb, kind, a->pred, s->u.sym, o))
            continue;
        if (push_pending(rn, kind, a->pred, s->u.sym, o) < 0)
            return -1;
    }
    return 0;
}

static int match(run_t *rn, size_t step);

/* Bind or check one argument against a value; *bound_here says to unbind later. */
static int unify(run_t *rn, const cterm_t *t, const swrl_val_t *v, int *bound_here)
{
    const swrl_val_t *cur = term_val(rn, t);

    *bound_here = 0;
    if (cur->type == SWRL_V_NONE) {
        rn->vals[t->var] = *v;
        *bound_here = 1;
        return 1;
    }
    return swrl_val_equal(cur, v);
}

static int match_fact(run_t *rn, size_t step, const catom_t *a, const swrl_fact_t *f)
{
    swrl_val_t subj = {SWRL_V_IND, {.sym = f->subj}};
    int b0 = 0, b1 = 0, rc = 0;

    if (unify(rn, &a->args[0], &subj, &b0) &&
        (a->kind == SWRL_A_CLASS || unify(rn, &a->args[1], &f->obj, &b1)))
        rc = match(rn, step + 1);
    if (b1)
        rn->vals[a->args[1].var].type = SWRL_V_NONE;
    if (b0)
        rn->vals[a->args[0].var].type = SWRL_V_NONE;
    return rc;
}

static int match_store(run_t *rn, size_t step, const catom_t *a)
{
    int kind = a->kind == SWRL_A_CLASS ? SWRL_F_CLASS : SWRL_F_PROP;
    size_t n, i;
    const uint32_t *ids = swrl_kb_by_pred(rn->kb, a->pred, &n);

    for (i = 0; i < n; i++) {
        const swrl_fact_t *f = swrl_kb_fact(rn->kb, ids[i]);
        if (++rn->steps > SWRL_MAX_STEPS) {
            rn->err = 3;
            return -1;
        }
        if (f->kind == kind && match_fact(rn, step, a, f) < 0)
            return -1;
    }
    return 0;
}

static int match_filter(run_t *rn, size_t step, const catom_t *a)
{
    swrl_val_t args[64];
    size_t i;
    int ok, bind_first, rc;

    for (i = 0; i < a->nargs && i < 64; i++)
        args[i] = *term_val(rn, &a->args[i]);
    if (a->kind == SWRL_A_SAME || a->kind == SWRL_A_DIFF) {
        ok = swrl_val_equal(&args[0], &args[1]);
        return (a->kind == SWRL_A_SAME) == ok ? match(rn, step + 1) : 0;
    }
    bind_first = args[0].type == SWRL_V_NONE;
    if (!swrl_builtin_eval(rn->kb, a->builtin, args, a->nargs))
        return 0;
    if (!bind_first)
        return match(rn, step + 1);
    rn->vals[a->args[0].var] = args[0];
    rc = match(rn, step + 1);
    rn->vals[a->args[0].var].type = SWRL_V_NONE;
    return rc;
}

static int match(run_t *rn, size_t step)
{
    const catom_t *a;

    if (rn->err)
        return -1;
    if (step == rn->cr->nbody)
        return emit_head(rn);
    a = &rn->cr->body[step];
    if (a->kind == SWRL_A_CLASS || a->kind == SWRL_A_PROP)
        return match_store(rn, step, a);
    return match_filter(rn, step, a);
}

/* ---------------------------------------------------------------- fixpoint */

static int commit(run_t *rn, int ridx, size_t *added)
{
    size_t i;

    for (i = 0; i < rn->npend; i++) {
        const pending_t *p = &rn->pend[i];
        int rc = swrl_kb_add(rn->kb, p->kind, p->pred, p->subj, &p->obj, ridx, rn->pool + p->binds,
                             rn->cr->nvars);
        if (rc == -2)
            return rn->err = 2, -1;
        if (rc < 0)
            return rn->err = 1, -1;
        *added += (size_t)rc;
    }
    rn->npend = 0;
    rn->npool = 0;
    return 0;
}

static int run_rule(run_t *rn, const crule_t *cr, int ridx, size_t *added)
{
    size_t i;
    swrl_val_t *vals = calloc(cr->nvars + 1, sizeof(*vals));

    if (!vals)
        return rn->err = 1, -1;
    for (i = 0; i < cr->nvars; i++)
        vals[i].type = SWRL_V_NONE;
    rn->cr = cr;
    rn->vals = vals;
    if (match(rn, 0) == 0)
        commit(rn, ridx, added);
    free(vals);
    rn->vals = NULL;
    return rn->err ? -1 : 0;
}

static qg_error_t *run_error(const run_t *rn, size_t passes)
{
    switch (rn->err) {
    case 1:
        return qg_error_new_oom("rule evaluation: out of memory");
    case 2:
        return qg_error_new_stage_error(
            "rule evaluation exceeded %zu facts (do rules create new values "
            "without end?)",
            swrl_kb_limit(rn->kb));
    case 3:
        return qg_error_new_stage_error("rule evaluation exceeded %llu join steps", SWRL_MAX_STEPS);
    default:
        return qg_error_new_stage_error("rule evaluation did not converge in %zu passes", passes);
    }
}

static qg_error_t *fixpoint(run_t *rn, const crule_t *crs, size_t n, qg_swrl_stats_t *st)
{
    size_t added, i, total = 0, passes = 0;

    do {
        if (passes >= SWRL_MAX_PASSES)
            return run_error(rn, passes);
        passes++;
        added = 0;
        for (i = 0; i < n; i++)
            if (run_rule(rn, &crs[i], (int)i, &added) < 0)
                return run_error(rn, passes);
        total += added;
    } while (added > 0);
    if (st) {
        st->rounds = passes;
        st->inferred = total;
        st->firings = rn->firings;
    }
    return NULL;
}

qg_error_t *qg_swrl_run(const qg_swrl_rules_t *rules, qg_swrl_kb_t *kb, qg_swrl_stats_t *st)
{
    crule_t *crs;
    run_t rn;
    size_t i, n = qg_swrl_rules_count(rules);
    qg_error_t *err = NULL;

    if (!kb)
        return qg_error_new_stage_error("rule evaluation: no fact base");
    crs = calloc(n + 1, sizeof(*crs));
    if (!crs)
        return qg_error_new_oom("rule evaluation: out of memory");
    memset(&rn, 0, sizeof(rn));
    rn.kb = kb;
    for (i = 0; i < n && !err; i++)
        if (compile_rule(kb, &rules->rules[i], &crs[i]) < 0)
            err = qg_error_new_oom("rule evaluation: out of memory");
    if (!err)
        err = fixpoint(&rn, crs, n, st);
    for (i = 0; i < n; i++)
        crule_free(&crs[i]);
    free(crs);
    free(rn.pend);
    free(rn.pool);
    return err;
}

/* ---------------------------------------------------------------- query */

static qg_json_t *val_json(const qg_swrl_kb_t *kb, const swrl_val_t *v)
{
    switch (v->type) {
    case SWRL_V_IND:
    case SWRL_V_STR:
        return qg_json_string(swrl_kb_symname(kb, v->u.sym));
    case SWRL_V_INT:
        return qg_json_number((double)v->u.i);
    case SWRL_V_DEC:
        return qg_json_number(v->u.d);
    case SWRL_V_BOOL:
        return qg_json_bool(v->u.b);
    default:
        return qg_json_null();
    }
}

static int add_provenance(const qg_swrl_kb_t *kb, const qg_swrl_rules_t *rules,
                          const swrl_fact_t *f, qg_json_t *o)
{
    const swrl_rule_t *r;
    qg_json_t *b;
    size_t i;

    if (f->rule < 0 || !rules || (size_t)f->rule >= rules->n)
        return qg_json_set_bool(o, "inferred", f->rule >= 0);
    r = &rules->rules[f->rule];
    if (qg_json_set_bool(o, "inferred", 1) < 0 || qg_json_set_str(o, "rule", r->name) < 0)
        return -1;
    if (!(b = qg_json_get_or_add_object(o, "bindings")))
        return -1;
    for (i = 0; i < r->nvars && f->binds; i++)
        if (qg_json_set(b, r->vars[i], val_json(kb, &f->binds[i])) < 0)
            return -1;
    return 0;
}

static qg_json_t *fact_json(const qg_swrl_kb_t *kb, const qg_swrl_rules_t *rules,
                            const swrl_fact_t *f)
{
    qg_json_t *o = qg_json_object();

    if (!o || qg_json_set_str(o, "subject", swrl_kb_symname(kb, f->subj)) < 0)
        goto fail;
    if (f->kind == SWRL_F_PROP &&
        (qg_json_set(o, "object", val_json(kb, &f->obj)) < 0 ||
         qg_json_set_bool(o, "individual", f->obj.type == SWRL_V_IND) < 0))
        goto fail;
    if (add_provenance(kb, rules, f, o) < 0)
        goto fail;
    return o;
fail:
    qg_json_destroy(o);
    return NULL;
}

qg_json_t *qg_swrl_kb_query(const qg_swrl_kb_t *kb, const qg_swrl_rules_t *rules, const char *pred,
                            const char *subj)
{
    qg_json_t *arr = qg_json_array();
    uint32_t p, s = 0;
    const uint32_t *ids;
    size_t n, i;

    if (!arr || !kb || !pred)
        return arr;
    p = swrl_kb_sym(kb, pred);
    if (subj && !(s = swrl_kb_sym(kb, subj)))
        return arr;
    ids = p ? swrl_kb_by_pred(kb, p, &n) : NULL;
    for (i = 0; ids && i < n; i++) {
        const swrl_fact_t *f = swrl_kb_fact(kb, ids[i]);
        if (subj && f->subj != s)
            continue;
        if (qg_json_append(arr, fact_json(kb, rules, f)) < 0) {
            qg_json_destroy(arr);
            return NULL;
        }
    }
    return arr;
}
