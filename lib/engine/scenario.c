/*
 * scenario.c - factory scenario (JSON) plus order -> flexible job-shop instance.
 *
 * Semantics (docs/engine.md): source times are minutes; a duration on a
 * machine is the listed law divided by the machine's efficiency; a machine
 * starts no earlier than next_available_time and is left out when down
 * with no time given; the first operation of a job waits for the transfer
 * from GEN, later ones for the transfer from the previous machine; an order
 * of Q units with lot size L becomes ceil(Q/L) jobs released now whose
 * durations are multiplied by the units in the lot.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "array.h"
#include "engine/engine.h"
#include "engine/scenario.h"

/* ---- tolerant JSON access ---- */

double qg_scn_num(const qg_json_t *v, double dflt)
{
    if (qg_json_is(v, QG_JSON_NUMBER))
        return qg_json_num(v, dflt);
    const char *s = qg_json_str(v);
    if (!s)
        return dflt;
    while (isspace((unsigned char)*s))
        s++;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || errno)
        return dflt;
    while (isspace((unsigned char)*end))
        end++;
    return *end ? dflt : d;
}

/* Member `key`; a string holding JSON is parsed into *owned. */
const qg_json_t *qg_scn_section(const qg_json_t *sc, const char *key, qg_json_t **owned,
                                qg_error_t **err)
{
    const qg_json_t *v = qg_json_get(sc, key);
    *owned = NULL;
    if (!qg_json_is(v, QG_JSON_STRING))
        return v;
    char errstr[256];
    *owned = qg_json_parse(qg_json_str(v), qg_json_strlen(v), errstr, sizeof(errstr));
    if (!*owned)
        *err = qg_error_new_bad_input("scenario.%s: not JSON: %s", key, errstr);
    return *owned;
}

/* ---- builder ---- */

typedef struct {
    int machine;
    qg_dist_t dist;
} balt_t;

typedef struct {
    char *name;
    int job, alt_off, n_alt;
    int type;     /* index in builder types, -1 none */
    double units; /* units in the lot */
} bop_t;

typedef struct {
    char *name;
    double release, due;
    int target, first_op;
} bjob_t;

typedef struct {
    char **name;
    char **type;
    double *eff, *avail;
    unsigned char *down;
    int n, cap;
    bop_t *ops;
    int n_ops, cap_ops;
    balt_t *alts;
    int n_alts, cap_alts;
    bjob_t *jobs;
    int n_jobs, cap_jobs;
    const qg_json_t *durations; /* type -> machine -> law */
    char **types;               /* operation type names, by index */
    int n_types, cap_types;
    qg_warnings_t warn;
    double order_due; /* the order's due date in source units; < 0: none */
} builder_t;

static int grow(void **arr, int *cap, int need, size_t elem)
{
    size_t room = (size_t)*cap;
    void *na = qg_array_grow(*arr, &room, (size_t)need, elem, 16);
    if (!na)
        return -1;
    *arr = na;
    if (room > INT_MAX)
        return -1; /* *cap unchanged: the array is only larger than it says */
    *cap = (int)room;
    return 0;
}

static void builder_free(builder_t *b)
{
    for (int i = 0; i < b->n; i++) {
        free(b->name[i]);
        free(b->type[i]);
    }
    free(b->name);
    free(b->type);
    free(b->eff);
    free(b->avail);
    free(b->down);
    for (int i = 0; i < b->n_ops; i++)
        free(b->ops[i].name);
    free(b->ops);
    free(b->alts);
    for (int i = 0; i < b->n_jobs; i++)
        free(b->jobs[i].name);
    free(b->jobs);
    for (int i = 0; i < b->n_types; i++)
        free(b->types[i]);
    free(b->types);
    qg_warnings_clear(&b->warn);
}

/* Index of an operation type name, added when new; -1 for none, -2 out of memory. */
static int type_index(builder_t *b, const char *type)
{
    if (!type)
        return -1;
    for (int i = 0; i < b->n_types; i++)
        if (!strcmp(b->types[i], type))
            return i;
    if (grow((void **)&b->types, &b->cap_types, b->n_types + 1, sizeof(char *)) < 0 ||
        !(b->types[b->n_types] = strdup(type)))
        return -2;
    return b->n_types++;
}

static int machine_find(const builder_t *b, const char *id)
{
    for (int i = 0; id && i < b->n; i++)
        if (!strcmp(b->name[i], id))
            return i;
    return -1;
}

static int machine_add(builder_t *b, const char *id)
{
    int i = machine_find(b, id);
    if (i >= 0 || !id || !strcmp(id, "GEN"))
        return i;
    if (b->n == b->cap) {
        int nc = b->cap ? b->cap * 2 : 8;
        char **nn = realloc(b->name, (size_t)nc * sizeof(char *));
        if (nn)
            b->name = nn;
        char **nt = realloc(b->type, (size_t)nc * sizeof(char *));
        if (nt)
            b->type = nt;
        double *ne = realloc(b->eff, (size_t)nc * sizeof(double));
        if (ne)
            b->eff = ne;
        double *na = realloc(b->avail, (size_t)nc * sizeof(double));
        if (na)
            b->avail = na;
        unsigned char *nd = realloc(b->down, (size_t)nc);
        if (nd)
            b->down = nd;
        if (!nn || !nt || !ne || !na || !nd)
            return -2;
        b->cap = nc;
    }
    b->name[b->n] = strdup(id);
    if (!b->name[b->n])
        return -2;
    b->type[b->n] = NULL;
    b->eff[b->n] = 1.0;
    b->avail[b->n] = 0.0;
    b->down[b->n] = 0;
    return b->n++;
}

static int is_down_status(const char *s)
{
    static const char *const down[] = {"down",  "offline", "broken",      "failed",
                                       "error", "fault",   "unavailable", "disabled"};
    for (size_t i = 0; s && i < sizeof(down) / sizeof(down[0]); i++)
        if (!strcasecmp(s, down[i]))
            return 1;
    return 0;
}

static qg_error_t *load_machines(builder_t *b, const qg_json_t *machines)
{
    for (size_t i = 0; i < qg_json_len(machines); i++) {
        const qg_json_t *m = qg_json_at(machines, i);
        const char *id = qg_json_str(qg_json_get(m, "machine_id"));
        if (!id)
            id = qg_json_str(qg_json_get(m, "id"));
        if (!id)
            return qg_error_new_bad_input("machines[%zu]: no machine_id", i);
        int k = machine_add(b, id);
        if (k < 0)
            return qg_error_new_oom("out of memory");
        double eff = qg_scn_num(qg_json_get(m, "efficiency"), 1.0);
        b->eff[k] = isfinite(eff) && eff > 0 ? eff : 1.0;
        if (b->eff[k] < 0.01)
            b->eff[k] = 0.01; /* at most 100 times slower */
        if (b->eff[k] > 100)
            b->eff[k] = 100;
        double av = qg_scn_num(qg_json_get(m, "next_available_time"), 0.0);
        b->avail[k] = isfinite(av) && av > 0 ? av : 0.0;
        const char *status = qg_json_str(qg_json_get(m, "status"));
        b->down[k] = (unsigned char)(is_down_status(status) && !(b->avail[k] > 0));
        const char *type = qg_json_str(qg_json_get(m, "machine_type"));
        if (type && !(b->type[k] = strdup(type)))
            return qg_error_new_oom("out of memory");
    }
    return NULL;
}

/* Read a law {distribution, mean, std, min, mode, max}; a bare number is a constant. */
qg_error_t *qg_scn_dist(const qg_json_t *v, qg_dist_t *out)
{
    if (!qg_json_is(v, QG_JSON_OBJECT)) {
        double c = qg_scn_num(v, NAN);
        if (!(c >= 0))
            return qg_error_new_bad_input("not a distribution or a number >= 0");
        *out = qg_dist_constant(c);
        return NULL;
    }
    const char *name = qg_json_str(qg_json_get(v, "distribution"));
    if (!name)
        name = qg_json_str(qg_json_get(v, "type"));
    double mean = qg_scn_num(qg_json_get(v, "mean"), NAN);
    if (isnan(mean))
        mean = qg_scn_num(qg_json_get(v, "value"), NAN);
    return qg_dist_make(
        name, mean, qg_scn_num(qg_json_get(v, "std"), NAN), qg_scn_num(qg_json_get(v, "min"), NAN),
        qg_scn_num(qg_json_get(v, "mode"), NAN), qg_scn_num(qg_json_get(v, "max"), NAN), out);
}

static qg_error_t *op_add(builder_t *b, const char *name, int job, const char *type, double units)
{
    int t = type_index(b, type);
    if (t < -1)
        return qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
    if (grow((void **)&b->ops, &b->cap_ops, b->n_ops + 1, sizeof(bop_t)) < 0)
        return qg_error_new_oom("out of memory");
    bop_t *o = &b->ops[b->n_ops];
    o->name = strdup(name ? name : "");
    if (!o->name)
        return qg_error_new_oom("out of memory");
    o->job = job;
    o->alt_off = b->n_alts;
    o->n_alt = 0;
    o->type = t;
    o->units = units;
    b->n_ops++;
    return NULL;
}

/* Append an alternative to the last op (durations divided by efficiency). */
static qg_error_t *alt_add(builder_t *b, int k, qg_dist_t d)
{
    bop_t *o = &b->ops[b->n_ops - 1];
    if (b->down[k])
        return NULL;
    for (int a = 0; a < o->n_alt; a++)
        if (b->alts[o->alt_off + a].machine == k)
            return NULL;
    if (grow((void **)&b->alts, &b->cap_alts, b->n_alts + 1, sizeof(balt_t)) < 0)
        return qg_error_new_oom("out of memory");
    b->alts[b->n_alts].machine = k;
    b->alts[b->n_alts].dist = qg_dist_scale(d, 1.0 / b->eff[k]);
    b->n_alts++;
    o->n_alt++;
    return NULL;
}

static qg_error_t *job_add(builder_t *b, const char *name, double release, double due, int target)
{
    if (grow((void **)&b->jobs, &b->cap_jobs, b->n_jobs + 1, sizeof(bjob_t)) < 0)
        return qg_error_new_oom("out of memory");
    bjob_t *j = &b->jobs[b->n_jobs];
    j->name = strdup(name);
    if (!j->name)
        return qg_error_new_oom("out of memory");
    j->release = release;
    j->due = due;
    j->target = target;
    j->first_op = b->n_ops;
    b->n_jobs++;
    return NULL;
}

/* ---- existing jobs ---- */

static const qg_json_t *find_by(const qg_json_t *arr, const char *key, const char *val)
{
    for (size_t i = 0; val && i < qg_json_len(arr); i++) {
        const char *s = qg_json_str(qg_json_get(qg_json_at(arr, i), key));
        if (s && !strcmp(s, val))
            return qg_json_at(arr, i);
    }
    return NULL;
}

static qg_error_t *existing_op(builder_t *b, const qg_json_t *op, const char *op_id)
{
    const char *type = qg_json_str(qg_json_get(op, "type"));
    const qg_json_t *laws = qg_json_get(b->durations, type ? type : "");
    const qg_json_t *machines = qg_json_get(op, "machines");
    qg_error_t *err = op_add(b, op_id, b->n_jobs - 1, type, 1.0);
    if (err)
        return err;
    int one = qg_json_is(machines, QG_JSON_STRING); /* "machines": "M1" */
    size_t n = one ? 1 : machines ? qg_json_len(machines) : qg_json_len(laws);
    for (size_t i = 0; i < n; i++) {
        const char *mid = one        ? qg_json_str(machines)
                          : machines ? qg_json_str(qg_json_at(machines, i))
                                     : qg_json_key_at(laws, i);
        const qg_json_t *law = qg_json_get(laws, mid ? mid : "");
        if (!law) {
            law = qg_json_get(op, "duration");
            if (!law)
                continue; /* no duration known on that machine: not eligible */
        }
        qg_dist_t d;
        if ((err = qg_scn_dist(law, &d)))
            return qg_error_wrap(err, "operation %s on %s", op_id, mid);
        int k = machine_add(b, mid);
        if (k < -1)
            return qg_error_new_oom("out of memory");
        if (k >= 0 && (err = alt_add(b, k, d)))
            return err;
    }
    if (b->ops[b->n_ops - 1].n_alt == 0)
        return qg_error_new_bad_input(
            "operation %s (%s): no available machine with a known duration", op_id,
            type ? type : "no type");
    return NULL;
}

static qg_error_t *existing_jobs(builder_t *b, const qg_json_t *jobs, const qg_json_t *ops,
                                 const qg_json_t *release)
{
    qg_error_t *err;
    for (size_t i = 0; i < qg_json_len(jobs); i++) {
        const qg_json_t *job = qg_json_at(jobs, i);
        const char *jid = qg_json_str(qg_json_get(job, "job_id"));
        if (!jid)
            return qg_error_new_bad_input("jobs[%zu]: no job_id", i);
        const qg_json_t *rel = find_by(release, "job_id", jid);
        double r = qg_scn_num(qg_json_get(rel, "release_time"), 0.0);
        double due = qg_scn_num(qg_json_get(rel, "due_time"), -1.0);
        if (due < 0)
            due = qg_scn_num(qg_json_get(job, "due_time"), -1.0);
        if ((err = job_add(b, jid, isfinite(r) && r > 0 ? r : 0.0, isfinite(due) ? due : -1, 0)))
            return err;
        const qg_json_t *list = qg_json_get(job, "operations");
        for (size_t o = 0; o < qg_json_len(list); o++) {
            const char *oid = qg_json_str(qg_json_at(list, o));
            const qg_json_t *op = find_by(ops, "operation_id", oid);
            if (!op)
                return qg_error_new_bad_input("job %s: unknown operation %s", jid,
                                              oid ? oid : "(not a string)");
            if ((err = existing_op(b, op, oid)))
                return err;
        }
        if (b->jobs[b->n_jobs - 1].first_op == b->n_ops) { /* a job without operations */
            b->n_jobs--;
            free(b->jobs[b->n_jobs].name);
        }
    }
    return NULL;
}

/* ---- the order ---- */

#define QG_SCN_MAX_ORDER_OPS 20000

/* Routing for product: {process_steps:[...]}, {product: {...}}, or an array of steps. */
static const qg_json_t *routing_steps(const qg_json_t *routing, const char *product,
                                      qg_json_t **owned, qg_error_t **err)
{
    *owned = NULL;
    if (qg_json_is(routing, QG_JSON_ARRAY))
        return routing;
    const qg_json_t *steps = qg_json_get(routing, "process_steps");
    if (steps)
        return steps;
    const qg_json_t *r = qg_json_get(routing, product);
    if (qg_json_is(r, QG_JSON_STRING)) {
        char errstr[256];
        *owned = qg_json_parse(qg_json_str(r), qg_json_strlen(r), errstr, sizeof(errstr));
        if (!*owned) {
            *err = qg_error_new_bad_input("routing of %s: not JSON: %s", product, errstr);
            return NULL;
        }
        r = *owned;
    }
    if (qg_json_is(r, QG_JSON_ARRAY))
        return r;
    return qg_json_get(r, "process_steps");
}

/* Machines matching a step's requirement: ids first, then types, then any capable. */
static int step_machines(builder_t *b, const qg_json_t *step, const char *type, int *out,
                         const char **unmatched)
{
    *unmatched = NULL;
    const char *req = qg_json_str(qg_json_get(step, "required_machine_type"));
    if (!req)
        req = qg_json_str(qg_json_get(step, "machine"));
    const qg_json_t *list = qg_json_get(step, "machines");
    int n = 0;
    for (size_t i = 0; i < qg_json_len(list); i++) {
        int k = machine_find(b, qg_json_str(qg_json_at(list, i)));
        if (k >= 0)
            out[n++] = k;
    }
    if (n == 0 && req) {
        int k = machine_find(b, req);
        if (k >= 0)
            out[n++] = k;
        for (int i = 0; n == 0 && i < b->n; i++)
            if (b->type[i] && !strcmp(b->type[i], req))
                for (int m = i; m < b->n; m++)
                    if (b->type[m] && !strcmp(b->type[m], req))
                        out[n++] = m;
    }
    const qg_json_t *laws = qg_json_get(b->durations, type ? type : "");
    if (n > 0)
        return n;
    *unmatched = req;
    for (size_t t = 0; t < qg_json_len(laws); t++) {
        int k = machine_find(b, qg_json_key_at(laws, t));
        if (k >= 0)
            out[n++] = k;
    }
    return n;
}

/* Duration law of a step on machine k for `units` units. */
static qg_error_t *step_law(builder_t *b, const qg_json_t *step, const char *type, int k,
                            double units, qg_dist_t *d, int *known, double *nominal_only)
{
    *nominal_only = -1;
    const qg_json_t *law = qg_json_get(qg_json_get(b->durations, type ? type : ""), b->name[k]);
    double nominal = qg_scn_num(qg_json_get(step, "std_duration_min"), NAN);
    if (isnan(nominal))
        nominal = qg_scn_num(qg_json_get(step, "duration"), NAN);
    qg_error_t *err = NULL;
    *known = 1;
    if (!isnan(nominal)) {
        if (!(nominal > 0))
            return qg_error_new_bad_input("step duration %g not positive", nominal);
        qg_dist_t ref;
        if (law && !qg_scn_dist(law, &ref) && ref.mean > 0) {
            *d = qg_dist_scale(ref, nominal / ref.mean); /* product time, machine's spread */
        } else {
            *d = qg_dist_constant(nominal);
            *nominal_only = nominal;
        }
    } else if (law) {
        err = qg_scn_dist(law, d);
    } else {
        *known = 0;
        return NULL;
    }
    if (!err)
        *d = qg_dist_scale(*d, units);
    return err;
}

static qg_error_t *order_jobs(builder_t *b, const qg_engine_order_t *order, const qg_json_t *steps,
                              double unit, double as_of)
{
    double q = order->quantity, lot = order->lot_size > 0 ? order->lot_size : 1.0;
    if (!(q >= 1) || q > 1e6)
        return qg_error_new_bad_input("order quantity %g out of range 1..1e6", q);
    if (qg_json_len(steps) == 0)
        return qg_error_new_bad_input("product %s: routing has no process steps",
                                      order->product_id);
    int lots = (int)ceil(q / lot);
    if ((double)lots * (double)qg_json_len(steps) > QG_SCN_MAX_ORDER_OPS)
        return qg_error_new_bad_input(
            "order %s x %g: %d lots of %zu steps exceed %d operations; use a "
            "larger lot size",
            order->product_id, q, lots, qg_json_len(steps), QG_SCN_MAX_ORDER_OPS);
    int *ks = malloc((size_t)(b->n > 0 ? b->n : 1) * sizeof(int));
    if (!ks)
        return qg_error_new_oom("out of memory");
    qg_error_t *err = NULL;
    double due = order->due_s >= 0 ? order->due_s / unit : -1.0;
    if (order->due_at_epoch_s > 0) /* already late: due now */
        due = fmax(0.0, (order->due_at_epoch_s - as_of) / unit);
    b->order_due = due;
    for (int l = 0; l < lots && !err; l++) {
        double units = l + 1 < lots ? lot : q - lot * (lots - 1);
        char name[160];
        snprintf(name, sizeof(name), "%s#%d", order->product_id, l + 1);
        err = job_add(b, name, 0.0, due, 1);
        for (size_t s = 0; s < qg_json_len(steps) && !err; s++) {
            const qg_json_t *step = qg_json_at(steps, s);
            const char *type = qg_json_str(qg_json_get(step, "operation"));
            char oname[200];
            snprintf(oname, sizeof(oname), "%s/%zu:%s", name, s + 1, type ? type : "step");
            if ((err = op_add(b, oname, b->n_jobs - 1, type, units)))
                break;
            const char *unmatched;
            int n = step_machines(b, step, type, ks, &unmatched);
            if (unmatched &&
                qg_warn(&b->warn,
                        "product %s step %zu (%s): required machine or type \"%s\" matches no "
                        "machine; every machine with a duration law for %s is used",
                        order->product_id, s + 1, type ? type : "no operation", unmatched,
                        type ? type : "it") < 0)
                err = qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
            for (int i = 0; i < n && !err; i++) {
                qg_dist_t d;
                int known;
                double nominal;
                err = step_law(b, step, type, ks[i], units, &d, &known, &nominal);
                if (!err && known)
                    err = alt_add(b, ks[i], d);
                if (!err && nominal >= 0 &&
                    qg_warn(&b->warn,
                            "product %s step %zu (%s) on %s: no duration law for %s on %s; the "
                            "routing's standard time of %g min is used without spread",
                            order->product_id, s + 1, type ? type : "no operation", b->name[ks[i]],
                            type ? type : "it", b->name[ks[i]], nominal) < 0)
                    err = qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
            }
            if (!err && b->ops[b->n_ops - 1].n_alt == 0)
                err =
                    qg_error_new_bad_input("product %s step %zu (%s): no available machine with a "
                                           "known duration",
                                           order->product_id, s + 1, type ? type : "no operation");
        }
    }
    free(ks);
    return err;
}

/* ---- packing ---- */

static qg_error_t *transfers(builder_t *b, qg_fjsp_t *p, const qg_json_t *tt)
{
    if (!qg_json_is(tt, QG_JSON_OBJECT) || qg_json_len(tt) == 0)
        return NULL;
    if (qg_fjsp_enable_transfer(p) < 0)
        return qg_error_new_oom("out of memory");
    int n = p->n_machines + 1;
    for (size_t i = 0; i < qg_json_len(tt); i++) {
        const char *from = qg_json_key_at(tt, i);
        int f = !strcmp(from, "GEN") ? p->n_machines : machine_find(b, from);
        const qg_json_t *row = qg_json_at(tt, i);
        for (size_t j = 0; f >= 0 && j < qg_json_len(row); j++) {
            const char *to = qg_json_key_at(row, j);
            int t = machine_find(b, to);
            if (t < 0 || t == f)
                continue;
            qg_dist_t d;
            qg_error_t *err = qg_scn_dist(qg_json_at(row, j), &d);
            if (err)
                return qg_error_wrap(err, "machine_transfer_time %s -> %s", from, to);
            p->transfer_dist[f * n + t] = d;
            p->transfer[f * n + t] = d.mean;
        }
    }
    return NULL;
}

static qg_error_t *pack(builder_t *b, const qg_json_t *tt, qg_fjsp_t **out)
{
    if (b->n_ops == 0 || b->n == 0)
        return qg_error_new_bad_input("scenario has no operations to schedule");
    qg_fjsp_t *p = qg_fjsp_new(b->n_jobs, b->n, b->n_ops, b->n_alts);
    if (!p)
        return qg_error_new_oom("out of memory");
    int n_target = 0;
    for (int j = 0; j < b->n_jobs; j++) {
        p->job_first[j] = b->jobs[j].first_op;
        p->release[j] = b->jobs[j].release;
        p->due[j] = b->jobs[j].due;
        p->target[j] = (unsigned char)b->jobs[j].target;
        n_target += b->jobs[j].target;
        p->has_due |= b->jobs[j].due >= 0;
    }
    p->job_first[b->n_jobs] = b->n_ops;
    p->has_target = n_target > 0 && n_target < b->n_jobs;
    p->n_types = b->n_types;
    p->warn = b->warn; /* handed over */
    memset(&b->warn, 0, sizeof(b->warn));
    for (int o = 0; o < b->n_ops; o++) {
        p->ops[o] = (qg_op_t){b->ops[o].job,
                              b->ops[o].alt_off,
                              b->ops[o].n_alt,
                              b->ops[o].name,
                              b->ops[o].type,
                              b->ops[o].units,
                              1.0};
        b->ops[o].name = NULL;
    }
    for (int a = 0; a < b->n_alts; a++)
        p->alts[a] = (qg_alt_t){b->alts[a].machine, b->alts[a].dist.mean, b->alts[a].dist};
    for (int k = 0; k < b->n; k++)
        p->avail[k] = b->avail[k];
    p->job_names = calloc((size_t)b->n_jobs, sizeof(char *));
    p->machine_names = calloc((size_t)b->n, sizeof(char *));
    qg_error_t *err = NULL;
    if (!p->job_names || !p->machine_names)
        err = qg_error_new_oom("out of memory");
    for (int j = 0; !err && j < b->n_jobs; j++) {
        p->job_names[j] = b->jobs[j].name;
        b->jobs[j].name = NULL;
    }
    for (int k = 0; !err && k < b->n; k++)
        if (!(p->machine_names[k] = strdup(b->name[k])))
            err = qg_error_new_oom("out of memory");
    if (!err)
        err = transfers(b, p, tt);
    if (err) {
        qg_fjsp_destroy(p);
        return err;
    }
    *out = p;
    return NULL;
}

static qg_error_t *collect_machines(builder_t *b, const qg_json_t *machines, const qg_json_t *ops)
{
    qg_error_t *err = load_machines(b, machines);
    for (size_t i = 0; !err && i < qg_json_len(ops); i++) {
        const qg_json_t *ms = qg_json_get(qg_json_at(ops, i), "machines");
        for (size_t j = 0; j < qg_json_len(ms); j++)
            if (machine_add(b, qg_json_str(qg_json_at(ms, j))) < -1)
                return qg_error_new_oom("out of memory");
    }
    for (size_t t = 0; !err && t < qg_json_len(b->durations); t++) {
        const qg_json_t *row = qg_json_at(b->durations, t);
        for (size_t j = 0; j < qg_json_len(row); j++)
            if (machine_add(b, qg_json_key_at(row, j)) < -1)
                return qg_error_new_oom("out of memory");
    }
    return err;
}

#define N_SECTIONS 8
static const char *const section_keys[N_SECTIONS] = {"jobs",
                                                     "operations",
                                                     "operation_durations",
                                                     "machine_transfer_time",
                                                     "job_release",
                                                     "machines",
                                                     "routing",
                                                     "plant"};

/* asOf of the plant data, else now with a warning. */
static double plant_as_of(const qg_json_t *plant, builder_t *b, qg_error_t **err)
{
    const char *text = qg_json_str(qg_json_get(plant, "asOf"));
    double t;
    if (text && !qg_plant_parse_time(text, &t))
        return t;
    if (text)
        *err = qg_error_new(QG_ERR_BAD_INPUT, "plant.asOf: expected an ISO 8601 UTC time, got %s",
                            text);
    else if (qg_warn(&b->warn, "the plant data carry no asOf: times count from the moment of "
                               "planning") < 0)
        *err = qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
    return (double)time(NULL);
}

qg_error_t *qg_scn_build(const qg_json_t *sc, const qg_engine_order_t *order, double unit,
                         qg_fjsp_t **out)
{
    return qg_scn_build_ex(sc, order, unit, 86400.0, out);
}

qg_error_t *qg_scn_build_ex(const qg_json_t *sc, const qg_engine_order_t *order, double unit,
                            double stale_after_s, qg_fjsp_t **out)
{
    qg_json_t *owned[N_SECTIONS] = {0}, *fitted = NULL;
    const qg_json_t *sec[N_SECTIONS];
    qg_error_t *err = NULL;
    qg_warnings_t notes = {0};
    builder_t b;
    memset(&b, 0, sizeof(b));
    b.order_due = -1;
    *out = NULL;
    if (!qg_json_is(sc, QG_JSON_OBJECT))
        return qg_error_new_bad_input("scenario is not a JSON object");
    for (int i = 0; i < N_SECTIONS && !err; i++)
        sec[i] = qg_scn_section(sc, section_keys[i], &owned[i], &err);
    double as_of = err ? 0 : plant_as_of(sec[7], &b, &err);
    if (!err)
        err = qg_plant_fit_history(sec[7], sec[2], &fitted, &notes);
    if (!err) {
        b.durations = fitted ? fitted : sec[2];
        err = collect_machines(&b, sec[5], sec[1]);
    }
    if (!err)
        err = existing_jobs(&b, sec[0], sec[1], sec[4]);
    if (!err && order && order->product_id) {
        qg_json_t *rown = NULL;
        const qg_json_t *steps =
            routing_steps(order->routing ? order->routing : sec[6], order->product_id, &rown, &err);
        if (!err && !steps)
            err = qg_error_new_bad_input("no routing for product %s", order->product_id);
        if (!err)
            err = order_jobs(&b, order, steps, unit, as_of);
        qg_json_destroy(rown);
    }
    if (!err)
        err = pack(&b, sec[3], out);
    if (!err) {
        (*out)->as_of = as_of;
        (*out)->order_due = b.order_due;
        (*out)->fitted = notes;
        memset(&notes, 0, sizeof(notes));
        err = qg_plant_apply(sec[7], sec[5], *out, b.types, stale_after_s);
        if (err) {
            qg_fjsp_destroy(*out);
            *out = NULL;
        }
    }
    qg_warnings_clear(&notes);
    builder_free(&b);
    qg_json_destroy(fitted);
    for (int i = 0; i < N_SECTIONS; i++)
        qg_json_destroy(owned[i]);
    return err;
}

qg_error_t *qg_engine_scenario_load_dir(const char *dir, qg_json_t **out)
{
    qg_json_t *sc = qg_json_object();
    *out = NULL;
    if (!sc)
        return qg_error_new_oom("out of memory");
    for (int i = 0; i < N_SECTIONS; i++) {
        char path[4096], errstr[512];
        snprintf(path, sizeof(path), "%s/%s.json", dir, section_keys[i]);
        FILE *f = fopen(path, "r");
        if (!f) {
            if (i >= 5) /* machines and routing are optional */
                continue;
            qg_json_destroy(sc);
            return qg_error_new_bad_input("%s: %s", path, strerror(errno));
        }
        fclose(f);
        qg_json_t *v = qg_json_parse_file(path, errstr, sizeof(errstr));
        if (!v) {
            qg_json_destroy(sc);
            return qg_error_new_bad_input("%s", errstr);
        }
        if (qg_json_set(sc, section_keys[i], v) < 0) {
            qg_json_destroy(sc);
            return qg_error_new_oom("out of memory");
        }
    }
    *out = sc;
    return NULL;
}
