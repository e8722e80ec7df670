/*
 * tabu.c - tabu search on the disjunctive graph of a flexible job shop.
 *
 * A solution is a machine per op plus an order per machine. Heads r(x)
 * (earliest start) and tails q(x) (longest path after x ends, to the end of
 * a job that counts for the objective) give the objective as the longest
 * path. A move takes one critical op v out of the graph and re-inserts it
 * at any position of any of its eligible machines; the objective of the
 * result is estimated exactly on the graph without v:
 *     max( Cmax(G - v), r'(v) + p_k(v) + q'(v) )
 * which is an upper bound that is tight in nearly all cases. Positions that
 * would create a cycle are excluded by marking the descendants of v's job
 * successor and the ancestors of its job predecessor. Tabu attributes are
 * the adjacencies (u before v, v before w) a move destroyed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fjsp.h"

#define NEG_INF      (-1e300)
#define EPS          1e-9
#define MAX_TABU_OPS 4000

struct qg_ls_s {
    const qg_fjsp_t *p;
    int n, m;
    int *alt, *mach;
    double *dur;
    int **seq, *seq_len, *pos;
    int *topo, *indeg, *tpos;
    int *jpa, *jsa, *mpa, *msa; /* job / machine predecessor and successor, -1 none */
    double *flo, *tin;          /* head floor on the current machine; transfer into x from JP(x) */
    double *r, *q, *r2, *q2;
    unsigned char *desc, *anc, *crit;
    int *tabu;    /* (n+1)^2: iteration until which adjacency (a, b) may not be created */
    double *base; /* tail base per op: 0 for a counted job end, NEG_INF otherwise */
    qg_ls_obj_t base_obj;
};

void qg_ls_destroy(qg_ls_t *ls)
{
    if (!ls)
        return;
    if (ls->seq)
        for (int k = 0; k < ls->m; k++)
            free(ls->seq[k]);
    free(ls->seq);
    free(ls->seq_len);
    free(ls->pos);
    free(ls->alt);
    free(ls->mach);
    free(ls->dur);
    free(ls->topo);
    free(ls->indeg);
    free(ls->tpos);
    free(ls->jpa);
    free(ls->jsa);
    free(ls->mpa);
    free(ls->msa);
    free(ls->flo);
    free(ls->tin);
    free(ls->r);
    free(ls->q);
    free(ls->r2);
    free(ls->q2);
    free(ls->desc);
    free(ls->anc);
    free(ls->crit);
    free(ls->tabu);
    free(ls->base);
    free(ls);
}

qg_ls_t *qg_ls_new(const qg_fjsp_t *p)
{
    /* The disjunctive graph adds durations: calendars, setups and fixed work do not fit it. */
    if (p->n_ops > MAX_TABU_OPS || qg_fjsp_has_plant_timing(p))
        return NULL;
    qg_ls_t *ls = calloc(1, sizeof(*ls));
    if (!ls)
        return NULL;
    size_t n = (size_t)p->n_ops;
    ls->p = p;
    ls->n = p->n_ops;
    ls->m = p->n_machines;
    ls->seq = calloc((size_t)ls->m, sizeof(int *));
    ls->seq_len = calloc((size_t)ls->m, sizeof(int));
    ls->pos = malloc(n * sizeof(int));
    ls->alt = malloc(n * sizeof(int));
    ls->mach = malloc(n * sizeof(int));
    ls->dur = malloc(n * sizeof(double));
    ls->topo = malloc(n * sizeof(int));
    ls->indeg = malloc(n * sizeof(int));
    ls->tpos = malloc(n * sizeof(int));
    ls->jpa = malloc(n * sizeof(int));
    ls->jsa = malloc(n * sizeof(int));
    ls->mpa = malloc(n * sizeof(int));
    ls->msa = malloc(n * sizeof(int));
    ls->flo = malloc(n * sizeof(double));
    ls->tin = malloc(n * sizeof(double));
    ls->r = malloc(n * sizeof(double));
    ls->q = malloc(n * sizeof(double));
    ls->r2 = malloc(n * sizeof(double));
    ls->q2 = malloc(n * sizeof(double));
    ls->desc = malloc(n);
    ls->anc = malloc(n);
    ls->crit = malloc(n);
    ls->base = malloc(n * sizeof(double));
    ls->tabu = calloc((n + 1) * (n + 1), sizeof(int));
    int ok = ls->seq && ls->seq_len && ls->pos && ls->alt && ls->mach && ls->dur && ls->topo &&
             ls->indeg && ls->tpos && ls->jpa && ls->jsa && ls->mpa && ls->msa && ls->flo &&
             ls->tin && ls->r && ls->q && ls->r2 && ls->q2 && ls->desc && ls->anc && ls->crit &&
             ls->base && ls->tabu;
    for (int k = 0; ok && k < ls->m; k++)
        ok = (ls->seq[k] = malloc((n + 1) * sizeof(int))) != NULL;
    if (!ok) {
        qg_ls_destroy(ls);
        return NULL;
    }
    for (int x = 0; x < ls->n; x++) {
        int j = p->ops[x].job;
        ls->jpa[x] = x > p->job_first[j] ? x - 1 : -1;
        ls->jsa[x] = x + 1 < p->job_first[j + 1] ? x + 1 : -1;
    }
    return ls;
}

/* ---- graph helpers ---- */

static inline int job_pred(const qg_ls_t *ls, int x)
{
    return ls->jpa[x];
}

static inline int job_succ(const qg_ls_t *ls, int x)
{
    return ls->jsa[x];
}

static inline int mach_pred(const qg_ls_t *ls, int x)
{
    return ls->mpa[x];
}

static inline int mach_succ(const qg_ls_t *ls, int x)
{
    return ls->msa[x];
}

/* Lower bound on the start of x on machine k from release and availability. */
static inline double head_floor(const qg_ls_t *ls, int x, int k)
{
    const qg_fjsp_t *p = ls->p;
    double f = p->avail[k];
    if (job_pred(ls, x) < 0) {
        double rel = p->release[p->ops[x].job] + qg_fjsp_transfer(p, -1, k);
        if (rel > f)
            f = rel;
    }
    return f;
}

/* Kahn's algorithm; returns 0, or -1 when the graph has a cycle. */
static void link_arrays(qg_ls_t *ls)
{
    for (int k = 0; k < ls->m; k++) {
        const int *sq = ls->seq[k];
        for (int i = 0; i < ls->seq_len[k]; i++) {
            ls->mpa[sq[i]] = i > 0 ? sq[i - 1] : -1;
            ls->msa[sq[i]] = i + 1 < ls->seq_len[k] ? sq[i + 1] : -1;
        }
    }
    for (int x = 0; x < ls->n; x++) {
        int jp = ls->jpa[x];
        ls->flo[x] = head_floor(ls, x, ls->mach[x]);
        ls->tin[x] = jp >= 0 ? qg_fjsp_transfer(ls->p, ls->mach[jp], ls->mach[x]) : 0.0;
    }
}

static int topo_sort(qg_ls_t *ls)
{
    int n = ls->n, head = 0, tail = 0;
    link_arrays(ls);
    for (int x = 0; x < n; x++) {
        ls->indeg[x] = (job_pred(ls, x) >= 0) + (ls->pos[x] > 0);
        if (ls->indeg[x] == 0)
            ls->topo[tail++] = x;
    }
    while (head < tail) {
        int x = ls->topo[head];
        ls->tpos[x] = head++;
        int s1 = job_succ(ls, x), s2 = mach_succ(ls, x);
        if (s1 >= 0 && --ls->indeg[s1] == 0)
            ls->topo[tail++] = s1;
        if (s2 >= 0 && --ls->indeg[s2] == 0)
            ls->topo[tail++] = s2;
    }
    return tail == n ? 0 : -1;
}

/* Heads and tails of the full graph; returns the objective. */
static double times_full(qg_ls_t *ls)
{
    int n = ls->n;
    for (int i = 0; i < n; i++) {
        int x = ls->topo[i];
        double h = ls->flo[x];
        int jp = job_pred(ls, x), mp = mach_pred(ls, x);
        if (jp >= 0) {
            double t = ls->r[jp] + ls->dur[jp] + ls->tin[x];
            if (t > h)
                h = t;
        }
        if (mp >= 0 && ls->r[mp] + ls->dur[mp] > h)
            h = ls->r[mp] + ls->dur[mp];
        ls->r[x] = h;
    }
    double obj = 0;
    for (int i = n - 1; i >= 0; i--) {
        int x = ls->topo[i];
        double t = ls->base[x];
        int js = job_succ(ls, x), ms = mach_succ(ls, x);
        if (js >= 0) {
            double u = ls->q[js] + ls->dur[js] + ls->tin[js];
            if (u > t)
                t = u;
        }
        if (ms >= 0 && ls->q[ms] + ls->dur[ms] > t)
            t = ls->q[ms] + ls->dur[ms];
        ls->q[x] = t;
        if (ls->r[x] + ls->dur[x] + t > obj)
            obj = ls->r[x] + ls->dur[x] + t;
    }
    return obj;
}

/*
 * Heads, tails, descendants of JS(v) and ancestors of JP(v) in the graph
 * with v removed (its machine neighbours joined). Returns Cmax(G - v).
 */
static double times_without(qg_ls_t *ls, int v)
{
    int n = ls->n, vmp = mach_pred(ls, v), vms = mach_succ(ls, v), tv = ls->tpos[v];
    int vjs = job_succ(ls, v), vjp = job_pred(ls, v);
    double obj = 0;
    /* Ops before v in topological order keep their heads, ops after it their tails. */
    memcpy(ls->r2, ls->r, (size_t)n * sizeof(double));
    memcpy(ls->q2, ls->q, (size_t)n * sizeof(double));
    memset(ls->desc, 0, (size_t)n);
    memset(ls->anc, 0, (size_t)n);
    for (int i = tv + 1; i < n; i++) {
        int x = ls->topo[i];
        int jp = job_pred(ls, x), mp = x == vms ? vmp : mach_pred(ls, x);
        double h = ls->flo[x];
        unsigned char d = x == vjs;
        if (jp == v)
            jp = -1;
        if (jp >= 0) {
            double t = ls->r2[jp] + ls->dur[jp] + ls->tin[x];
            if (t > h)
                h = t;
            d |= ls->desc[jp];
        }
        if (mp >= 0) {
            if (ls->r2[mp] + ls->dur[mp] > h)
                h = ls->r2[mp] + ls->dur[mp];
            d |= ls->desc[mp];
        }
        ls->r2[x] = h;
        ls->desc[x] = d;
        if (h + ls->dur[x] + ls->q[x] > obj)
            obj = h + ls->dur[x] + ls->q[x];
    }
    for (int i = tv - 1; i >= 0; i--) {
        int x = ls->topo[i];
        int js = job_succ(ls, x), ms = x == vmp ? vms : mach_succ(ls, x);
        double t = ls->base[x];
        unsigned char a = x == vjp;
        if (js == v)
            js = -1;
        if (js >= 0) {
            double u = ls->q2[js] + ls->dur[js] + ls->tin[js];
            if (u > t)
                t = u;
            a |= ls->anc[js];
        }
        if (ms >= 0) {
            if (ls->q2[ms] + ls->dur[ms] > t)
                t = ls->q2[ms] + ls->dur[ms];
            a |= ls->anc[ms];
        }
        ls->q2[x] = t;
        ls->anc[x] = a;
        if (ls->r[x] + ls->dur[x] + t > obj)
            obj = ls->r[x] + ls->dur[x] + t;
    }
    return obj;
}

/* ---- loading and saving ---- */

static int load(qg_ls_t *ls, const qg_sched_t *s, qg_ls_obj_t obj)
{
    const qg_fjsp_t *p = ls->p;
    qg_start_key_t *keys = malloc((size_t)ls->n * sizeof(*keys));
    if (!keys)
        return -1;
    for (int x = 0; x < ls->n; x++) {
        const qg_alt_t *a = qg_fjsp_alt(p, x, s->alt[x]);
        ls->alt[x] = s->alt[x];
        ls->mach[x] = a->machine;
        ls->dur[x] = a->dur;
        keys[x] = (qg_start_key_t){s->start[x], x};
        ls->base[x] = NEG_INF;
    }
    for (int j = 0; j < p->n_jobs; j++)
        if (p->job_first[j + 1] > p->job_first[j])
            if (obj == QG_OBJ_MAKESPAN || !p->has_target || p->target[j])
                ls->base[p->job_first[j + 1] - 1] = 0.0;
    qsort(keys, (size_t)ls->n, sizeof(*keys), qg_start_key_cmp);
    memset(ls->seq_len, 0, (size_t)ls->m * sizeof(int));
    for (int i = 0; i < ls->n; i++) {
        int x = keys[i].op, k = ls->mach[x];
        ls->pos[x] = ls->seq_len[k];
        ls->seq[k][ls->seq_len[k]++] = x;
    }
    free(keys);
    return 0;
}

static void save(const qg_ls_t *ls, qg_sched_t *s)
{
    for (int x = 0; x < ls->n; x++) {
        s->alt[x] = ls->alt[x];
        s->start[x] = ls->r[x];
        s->end[x] = ls->r[x] + ls->dur[x];
    }
    qg_sched_measure(ls->p, s);
}

/* ---- moves ---- */

typedef struct {
    int v, alt, k, at; /* insert v on machine k before index `at` of seq (after removal) */
    double est;        /* objective estimate: max(Cmax(G - v), path through v) */
    double path;       /* the longest path through v: ties on est prefer shorter */
    int tabu;
} move_t;

static void seq_remove(qg_ls_t *ls, int v)
{
    int k = ls->mach[v], *sq = ls->seq[k];
    for (int i = ls->pos[v]; i + 1 < ls->seq_len[k]; i++) {
        sq[i] = sq[i + 1];
        ls->pos[sq[i]] = i;
    }
    ls->seq_len[k]--;
}

static void seq_insert(qg_ls_t *ls, int v, int k, int at)
{
    int *sq = ls->seq[k];
    for (int i = ls->seq_len[k]; i > at; i--) {
        sq[i] = sq[i - 1];
        ls->pos[sq[i]] = i;
    }
    sq[at] = v;
    ls->pos[v] = at;
    ls->seq_len[k]++;
}

static inline int tabu_idx(const qg_ls_t *ls, int a, int b)
{
    if (a < 0)
        a = ls->n;
    if (b < 0)
        b = ls->n;
    return a * (ls->n + 1) + b;
}

typedef struct {
    move_t best, best_tabu;
    int n_best, n_best_tabu;
    double aspiration;
    long iter;
    qg_rng_t *rng;
} pick_t;

static void consider(pick_t *pk, const move_t *mv)
{
    int allowed = !mv->tabu || mv->est < pk->aspiration - EPS;
    move_t *slot = allowed ? &pk->best : &pk->best_tabu;
    int *cnt = allowed ? &pk->n_best : &pk->n_best_tabu;
    if (*cnt == 0 || mv->est < slot->est - EPS ||
        (mv->est <= slot->est + EPS && mv->path < slot->path - EPS)) {
        *slot = *mv;
        *cnt = 1;
    } else if (mv->est <= slot->est + EPS && mv->path <= slot->path + EPS &&
               qg_rng_below(pk->rng, ++*cnt) == 0) {
        *slot = *mv;
    }
}

static int beats(const move_t *slot, int cnt, double est, double path)
{
    return cnt == 0 || est < slot->est - EPS ||
           (est <= slot->est + EPS && path <= slot->path + EPS);
}

/* Could a move with these figures enter either slot? (Checked before the tabu lookup.) */
static inline int worth(const pick_t *pk, double est, double path)
{
    return beats(&pk->best, pk->n_best, est, path) ||
           beats(&pk->best_tabu, pk->n_best_tabu, est, path);
}

/* Evaluate every re-insertion of critical op v. */
static void moves_of(qg_ls_t *ls, int v, pick_t *pk)
{
    const qg_fjsp_t *p = ls->p;
    double base_obj = times_without(ls, v);
    int jp = job_pred(ls, v), js = job_succ(ls, v), cur_k = ls->mach[v];
    int cur_u = mach_pred(ls, v), cur_w = mach_succ(ls, v);
    for (int a = 0; a < p->ops[v].n_alt; a++) {
        const qg_alt_t *al = qg_fjsp_alt(p, v, a);
        int k = al->machine, len = ls->seq_len[k];
        const int *sq = ls->seq[k];
        double rj = head_floor(ls, v, k), qj = ls->base[v];
        if (jp >= 0 && ls->r2[jp] + ls->dur[jp] + qg_fjsp_transfer(p, ls->mach[jp], k) > rj)
            rj = ls->r2[jp] + ls->dur[jp] + qg_fjsp_transfer(p, ls->mach[jp], k);
        if (js >= 0 && ls->q2[js] + ls->dur[js] + qg_fjsp_transfer(p, k, ls->mach[js]) > qj)
            qj = ls->q2[js] + ls->dur[js] + qg_fjsp_transfer(p, k, ls->mach[js]);
        /* positions: between sq[i-1] and sq[i], skipping v itself on its own machine */
        int u = -1;
        for (int i = 0; i <= len; i++) {
            int w = i < len ? sq[i] : -1;
            if (w == v)
                continue;
            if (u >= 0 && (ls->desc[u] || u == js))
                break; /* every later position is after a descendant */
            if (!(w >= 0 && (ls->anc[w] || w == jp)) && !(k == cur_k && u == cur_u && w == cur_w)) {
                double rv = rj, qv = qj;
                if (u >= 0 && ls->r2[u] + ls->dur[u] > rv)
                    rv = ls->r2[u] + ls->dur[u];
                if (w >= 0 && ls->q2[w] + ls->dur[w] > qv)
                    qv = ls->q2[w] + ls->dur[w];
                double path = rv + al->dur + qv, est = path < base_obj ? base_obj : path;
                if (!worth(pk, est, path)) {
                    u = w;
                    continue;
                }
                move_t mv = {v, a, k, 0, est, path, 0};
                /* index in the sequence once v is removed */
                mv.at = (k == cur_k && i > ls->pos[v]) ? i - 1 : i;
                mv.tabu = ls->tabu[tabu_idx(ls, u, v)] > pk->iter ||
                          ls->tabu[tabu_idx(ls, v, w)] > pk->iter;
                consider(pk, &mv);
            }
            u = w;
        }
    }
}

static void apply(qg_ls_t *ls, const move_t *mv, long iter, int tenure)
{
    int v = mv->v, u = mach_pred(ls, v), w = mach_succ(ls, v);
    ls->tabu[tabu_idx(ls, u, v)] = (int)(iter + tenure);
    ls->tabu[tabu_idx(ls, v, w)] = (int)(iter + tenure);
    seq_remove(ls, v);
    seq_insert(ls, v, mv->k, mv->at);
    ls->alt[v] = mv->alt;
    ls->mach[v] = mv->k;
    ls->dur[v] = qg_fjsp_alt(ls->p, v, mv->alt)->dur;
}

#define MAX_CANDIDATES 48

static inline int tight(double a, double b)
{
    return fabs(a - b) <= EPS * (1 + fabs(b));
}

/*
 * One critical path, traced back from a random critical end through tight
 * arcs (ties broken at random). Candidates are its block ends and any op of
 * it that has another machine; at most MAX_CANDIDATES.
 */
static int candidates(qg_ls_t *ls, double obj, int *list, qg_rng_t *rng)
{
    int end = -1, seen = 0;
    for (int x = 0; x < ls->n; x++)
        if (ls->base[x] == 0 && tight(ls->r[x] + ls->dur[x], obj) && qg_rng_below(rng, ++seen) == 0)
            end = x;
    int c = 0, x = end, next_on_path = -1;
    while (x >= 0) {
        int jp = job_pred(ls, x), mp = mach_pred(ls, x);
        int via_j = jp >= 0 && tight(ls->r[jp] + ls->dur[jp] + ls->tin[x], ls->r[x]);
        int via_m = mp >= 0 && tight(ls->r[mp] + ls->dur[mp], ls->r[x]);
        int prev = via_j && via_m ? (qg_rng_below(rng, 2) ? jp : mp) : via_j ? jp : via_m ? mp : -1;
        int block_end = prev != mp || next_on_path < 0 || mach_succ(ls, x) != next_on_path;
        if ((ls->p->ops[x].n_alt > 1 || block_end) && c < MAX_CANDIDATES)
            list[c++] = x;
        next_on_path = x;
        x = prev;
    }
    return c;
}

long qg_ls_tabu(qg_ls_t *ls, qg_sched_t *s, qg_ls_obj_t obj, long max_iter, long max_stall,
                double deadline, qg_rng_t *rng, volatile sig_atomic_t *stop)
{
    if (!ls || load(ls, s, obj) < 0 || topo_sort(ls) < 0)
        return 0;
    int *crit = malloc((size_t)ls->n * sizeof(int));
    if (!crit)
        return 0;
    memset(ls->tabu, 0, (size_t)(ls->n + 1) * (size_t)(ls->n + 1) * sizeof(int));
    double cur = times_full(ls), best = cur;
    save(ls, s);
    long iter, stall = 0;
    int tmin = 2 + ls->n / (ls->m > 0 ? 4 * ls->m : 4), tspan = 2 + tmin;
    for (iter = 1; iter <= max_iter && stall < max_stall; iter++) {
        if (stop && *stop)
            break;
        if (deadline > 0 && (iter & 31) == 0 && qg_engine_now() > deadline)
            break;
        pick_t pk;
        memset(&pk, 0, sizeof(pk));
        pk.aspiration = best;
        pk.iter = iter;
        pk.rng = rng;
        int nc = candidates(ls, cur, crit, rng);
        for (int i = 0; i < nc; i++)
            moves_of(ls, crit[i], &pk);
        move_t *mv = pk.n_best ? &pk.best : pk.n_best_tabu ? &pk.best_tabu : NULL;
        if (!mv)
            break;
        apply(ls, mv, iter, tmin + qg_rng_below(rng, tspan));
        if (topo_sort(ls) < 0)
            break; /* cannot happen with the cycle checks; keep the best found */
        cur = times_full(ls);
        if (cur < best - EPS) {
            best = cur;
            save(ls, s);
            stall = 0;
        } else {
            stall++;
        }
    }
    free(crit);
    return iter - 1;
}
