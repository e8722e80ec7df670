/*
 * nsga.c - NSGA-II over (machine assignment, operation sequence) with
 * global/local/random machine selection for the initial population, POX and
 * uniform crossover, assignment and swap mutation, the insertion decoder,
 * and tabu search polishing each offspring (Lamarckian: the improved
 * schedule is written back into the chromosome). One island per thread.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fjsp.h"

typedef struct {
    int *alt, *os;
    qg_sched_t *s;
    double f[2];
    int rank;
    double crowd;
} indiv_t;

typedef struct {
    const qg_fjsp_t *p;
    const qg_opt_params_t *prm;
    int obj2;
    int id;
    qg_rng_t rng;
    qg_decoder_t *dec;
    qg_ls_t *ls;
    indiv_t *pop; /* 2 * P: parents then offspring */
    int P;
    int *scratch, *scratch2, *order, *dom_cnt;
    unsigned char *dom; /* (2P)^2 domination matrix */
    double *load;
    long gens, evals;
    double t0, deadline, t_best, best_f1;
    double stall_f[2];  /* best objectives seen, for the stagnation rule */
    long last_improved; /* generation of the last improvement */
    const char *stop;   /* why the island stopped */
    volatile sig_atomic_t *cancel;
    qg_opt_progress_cb cb;
    void *opaque;
    qg_error_t *err;
} island_t;

static double obj2_of(const island_t *is, const qg_sched_t *s)
{
    switch (is->obj2) {
    case 1:
        return s->target_end;
    case 2:
        return s->tardiness;
    default:
        return s->workload;
    }
}

static int indiv_alloc(indiv_t *in, int n)
{
    in->alt = malloc((size_t)n * sizeof(int));
    in->os = malloc((size_t)n * sizeof(int));
    in->s = qg_sched_new(n);
    return in->alt && in->os && in->s ? 0 : -1;
}

static void island_free(island_t *is)
{
    if (is->pop)
        for (int i = 0; i < 2 * is->P; i++) {
            free(is->pop[i].alt);
            free(is->pop[i].os);
            qg_sched_destroy(is->pop[i].s);
        }
    free(is->pop);
    free(is->scratch);
    free(is->scratch2);
    free(is->order);
    free(is->dom_cnt);
    free(is->dom);
    free(is->load);
    qg_decoder_destroy(is->dec);
    qg_ls_destroy(is->ls);
}

static int island_alloc(island_t *is)
{
    int n = is->p->n_ops, P2 = 2 * is->P;
    is->dec = qg_decoder_new(is->p);
    is->ls = qg_ls_new(is->p); /* NULL for huge instances: no local search */
    is->pop = calloc((size_t)P2, sizeof(indiv_t));
    int sz = n > is->p->n_jobs ? n : is->p->n_jobs;
    if (sz < P2)
        sz = P2;
    is->scratch = malloc((size_t)sz * sizeof(int));
    is->scratch2 = malloc((size_t)sz * sizeof(int));
    is->order = malloc((size_t)P2 * sizeof(int));
    is->dom_cnt = malloc((size_t)P2 * sizeof(int));
    is->dom = malloc((size_t)P2 * (size_t)P2);
    is->load = malloc((size_t)is->p->n_machines * sizeof(double));
    if (!is->dec || !is->pop || !is->scratch || !is->scratch2 || !is->order || !is->dom_cnt ||
        !is->dom || !is->load)
        return -1;
    for (int i = 0; i < P2; i++)
        if (indiv_alloc(&is->pop[i], n) < 0)
            return -1;
    return 0;
}

/* ---- initial population ---- */

static void shuffle(qg_rng_t *rng, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = qg_rng_below(rng, i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Jobs one after the other (first in first out); shuffled unless fifo. */
static void fill_os(island_t *is, int *os, int fifo)
{
    const qg_fjsp_t *p = is->p;
    int i = 0;
    for (int j = 0; j < p->n_jobs; j++)
        for (int o = p->job_first[j]; o < p->job_first[j + 1]; o++)
            os[i++] = j;
    if (!fifo)
        shuffle(&is->rng, os, p->n_ops);
}

/* Least loaded machine choice for op o (ties broken at random). */
static int least_loaded(island_t *is, int o)
{
    const qg_fjsp_t *p = is->p;
    int best = 0, ties = 0;
    double bv = INFINITY;
    for (int a = 0; a < p->ops[o].n_alt; a++) {
        const qg_alt_t *al = qg_fjsp_alt(p, o, a);
        double v = is->load[al->machine] + al->dur;
        if (v < bv - 1e-12) {
            bv = v;
            best = a;
            ties = 1;
        } else if (v <= bv + 1e-12 && qg_rng_below(&is->rng, ++ties) == 0) {
            best = a;
        }
    }
    is->load[qg_fjsp_alt(p, o, best)->machine] += qg_fjsp_alt(p, o, best)->dur;
    return best;
}

/* mode 0: global selection, 1: local selection, 2: random. */
static void init_alt(island_t *is, int *alt, int mode)
{
    const qg_fjsp_t *p = is->p;
    int *jobs = is->scratch;
    for (int j = 0; j < p->n_jobs; j++)
        jobs[j] = j;
    shuffle(&is->rng, jobs, p->n_jobs);
    memset(is->load, 0, (size_t)p->n_machines * sizeof(double));
    for (int i = 0; i < p->n_jobs; i++) {
        int j = jobs[i];
        if (mode == 1)
            memset(is->load, 0, (size_t)p->n_machines * sizeof(double));
        for (int o = p->job_first[j]; o < p->job_first[j + 1]; o++)
            alt[o] = mode == 2 ? qg_rng_below(&is->rng, p->ops[o].n_alt) : least_loaded(is, o);
    }
}

/* ---- evaluation ---- */

/* Write a schedule back into the chromosome: machines and start-time order. */
static int write_back(island_t *is, indiv_t *in)
{
    const qg_fjsp_t *p = is->p;
    qg_start_key_t *k = malloc((size_t)p->n_ops * sizeof(*k));
    if (!k)
        return -1;
    for (int o = 0; o < p->n_ops; o++)
        k[o] = (qg_start_key_t){in->s->start[o], o};
    qsort(k, (size_t)p->n_ops, sizeof(*k), qg_start_key_cmp);
    for (int i = 0; i < p->n_ops; i++)
        in->os[i] = p->ops[k[i].op].job;
    memcpy(in->alt, in->s->alt, (size_t)p->n_ops * sizeof(int));
    free(k);
    return 0;
}

static void note_best(island_t *is, const indiv_t *in)
{
    if (in->f[0] < is->best_f1 - 1e-9) {
        is->best_f1 = in->f[0];
        is->t_best = qg_engine_now() - is->t0;
    }
}

static void evaluate(island_t *is, indiv_t *in, long ls_iter)
{
    qg_decode(is->dec, in->alt, in->os, in->s);
    is->evals++;
    if (is->ls && ls_iter > 0) {
        qg_ls_obj_t obj = QG_OBJ_MAKESPAN;
        if (is->obj2 == 1 && qg_rng_below(&is->rng, 2))
            obj = QG_OBJ_TARGET;
        is->evals +=
            qg_ls_tabu(is->ls, in->s, obj, ls_iter, ls_iter, is->deadline, &is->rng, is->cancel);
        if (write_back(is, in) < 0 && !is->err)
            is->err = qg_error_new_oom("optimizer: out of memory");
    }
    in->f[0] = in->s->makespan;
    in->f[1] = obj2_of(is, in->s);
    note_best(is, in);
}

/* ---- NSGA-II selection ---- */

static int dominates(const indiv_t *a, const indiv_t *b)
{
    return a->f[0] <= b->f[0] && a->f[1] <= b->f[1] && (a->f[0] < b->f[0] || a->f[1] < b->f[1]);
}

static void crowding(island_t *is, int *idx, int n)
{
    for (int i = 0; i < n; i++)
        is->pop[idx[i]].crowd = 0;
    for (int m = 0; m < 2; m++) {
        /* insertion sort by objective m (fronts are small) */
        for (int i = 1; i < n; i++) {
            int x = idx[i], j = i - 1;
            while (j >= 0 && is->pop[idx[j]].f[m] > is->pop[x].f[m]) {
                idx[j + 1] = idx[j];
                j--;
            }
            idx[j + 1] = x;
        }
        double lo = is->pop[idx[0]].f[m], hi = is->pop[idx[n - 1]].f[m];
        is->pop[idx[0]].crowd = INFINITY;
        is->pop[idx[n - 1]].crowd = INFINITY;
        if (hi - lo <= 0)
            continue;
        for (int i = 1; i + 1 < n; i++)
            is->pop[idx[i]].crowd +=
                (is->pop[idx[i + 1]].f[m] - is->pop[idx[i - 1]].f[m]) / (hi - lo);
    }
}

/* Duplicates (same objective vector as an earlier member) go to the end. */
static int is_dup(const island_t *is, int i)
{
    for (int j = 0; j < i; j++)
        if (is->pop[j].f[0] == is->pop[i].f[0] && is->pop[j].f[1] == is->pop[i].f[1])
            return 1;
    return 0;
}

/* Fast non-dominated sort of all 2P members; sets rank; order[] lists by rank. */
static void nd_sort(island_t *is, int N)
{
    unsigned char *dup = (unsigned char *)is->scratch2;
    for (int i = 0; i < N; i++) {
        dup[i] = (unsigned char)is_dup(is, i);
        is->dom_cnt[i] = 0;
        is->pop[i].rank = -1;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            is->dom[i * N + j] =
                (unsigned char)(!dup[i] && !dup[j] && dominates(&is->pop[i], &is->pop[j]));
            is->dom_cnt[j] += is->dom[i * N + j];
        }
    int placed = 0, rank = 0, start = 0;
    while (placed < N) {
        int front_start = placed;
        for (int i = 0; i < N; i++)
            if (is->pop[i].rank < 0 && !dup[i] && is->dom_cnt[i] == 0)
                is->order[placed++] = i;
        if (placed == front_start) { /* only duplicates remain */
            for (int i = 0; i < N; i++)
                if (is->pop[i].rank < 0)
                    is->order[placed++] = i;
        }
        for (int t = front_start; t < placed; t++) {
            int i = is->order[t];
            is->pop[i].rank = rank;
            for (int j = 0; j < N; j++)
                if (is->dom[i * N + j])
                    is->dom_cnt[j]--;
        }
        crowding(is, is->order + front_start, placed - front_start);
        rank++;
        start = placed;
    }
    (void)start;
}

static void swap_indiv(indiv_t *a, indiv_t *b)
{
    indiv_t t = *a;
    *a = *b;
    *b = t;
}

/* Keep the best P of 2P in slots 0..P-1 (by rank, then crowding). */
static void environmental_selection(island_t *is)
{
    int N = 2 * is->P;
    nd_sort(is, N);
    /* order[] is by front; within the boundary front sort by crowding desc */
    int cut = is->P, f0 = cut - 1;
    int r = is->pop[is->order[f0]].rank, lo = f0, hi = f0;
    while (lo > 0 && is->pop[is->order[lo - 1]].rank == r)
        lo--;
    while (hi + 1 < N && is->pop[is->order[hi + 1]].rank == r)
        hi++;
    for (int i = lo + 1; i <= hi; i++) {
        int x = is->order[i], j = i - 1;
        while (j >= lo && is->pop[is->order[j]].crowd < is->pop[x].crowd) {
            is->order[j + 1] = is->order[j];
            j--;
        }
        is->order[j + 1] = x;
    }
    /* permute pop so that order[0..P-1] come first */
    int *where = is->scratch2; /* where[i]: current slot of original member i */
    int *who = is->dom_cnt;    /* who[slot]: original member in slot */
    for (int i = 0; i < N; i++)
        where[i] = who[i] = i;
    for (int t = 0; t < cut; t++) {
        int orig = is->order[t], from = where[orig];
        if (from == t)
            continue;
        int other = who[t];
        swap_indiv(&is->pop[t], &is->pop[from]);
        who[t] = orig;
        who[from] = other;
        where[orig] = t;
        where[other] = from;
    }
}

static int tournament(island_t *is)
{
    int a = qg_rng_below(&is->rng, is->P), b = qg_rng_below(&is->rng, is->P);
    const indiv_t *x = &is->pop[a], *y = &is->pop[b];
    if (x->rank != y->rank)
        return x->rank < y->rank ? a : b;
    return x->crowd >= y->crowd ? a : b;
}

/* ---- variation ---- */

static void pox(island_t *is, const int *p1, const int *p2, int *child)
{
    const qg_fjsp_t *p = is->p;
    unsigned char *in_set = (unsigned char *)is->scratch;
    for (int j = 0; j < p->n_jobs; j++)
        in_set[j] = (unsigned char)qg_rng_below(&is->rng, 2);
    int k = 0;
    for (int i = 0; i < p->n_ops; i++) {
        if (in_set[p1[i]]) {
            child[i] = p1[i];
            continue;
        }
        while (in_set[p2[k]])
            k++;
        child[i] = p2[k++];
    }
}

static void mutate(island_t *is, indiv_t *c)
{
    const qg_fjsp_t *p = is->p;
    int n = p->n_ops;
    int changes = 1 + qg_rng_below(&is->rng, 1 + n / 20);
    for (int t = 0; t < changes; t++) {
        int o = qg_rng_below(&is->rng, n);
        c->alt[o] = qg_rng_below(&is->rng, p->ops[o].n_alt);
    }
    int a = qg_rng_below(&is->rng, n), b = qg_rng_below(&is->rng, n), tmp = c->os[a];
    c->os[a] = c->os[b];
    c->os[b] = tmp;
}

static void make_offspring(island_t *is)
{
    int n = is->p->n_ops;
    for (int i = is->P; i < 2 * is->P; i += 2) {
        const indiv_t *a = &is->pop[tournament(is)], *b = &is->pop[tournament(is)];
        indiv_t *c1 = &is->pop[i], *c2 = i + 1 < 2 * is->P ? &is->pop[i + 1] : NULL;
        if (qg_rng_unit(&is->rng) < 0.8) {
            pox(is, a->os, b->os, c1->os);
            if (c2)
                pox(is, b->os, a->os, c2->os);
            for (int o = 0; o < n; o++) {
                int sw = qg_rng_below(&is->rng, 2);
                c1->alt[o] = sw ? b->alt[o] : a->alt[o];
                if (c2)
                    c2->alt[o] = sw ? a->alt[o] : b->alt[o];
            }
        } else {
            memcpy(c1->os, a->os, (size_t)n * sizeof(int));
            memcpy(c1->alt, a->alt, (size_t)n * sizeof(int));
            if (c2) {
                memcpy(c2->os, b->os, (size_t)n * sizeof(int));
                memcpy(c2->alt, b->alt, (size_t)n * sizeof(int));
            }
        }
        if (qg_rng_unit(&is->rng) < 0.3)
            mutate(is, c1);
        if (c2 && qg_rng_unit(&is->rng) < 0.3)
            mutate(is, c2);
    }
}

/* ---- main loop ---- */

static int out_of_budget(const island_t *is)
{
    if (is->err || (is->cancel && *is->cancel))
        return 1;
    if (is->prm->max_generations > 0 && is->gens >= is->prm->max_generations)
        return 1;
    if (is->prm->max_evaluations > 0 && is->evals >= is->prm->max_evaluations)
        return 1;
    return is->deadline > 0 && qg_engine_now() >= is->deadline;
}

static const char *budget_reason(const island_t *is)
{
    if (is->prm->max_generations > 0 && is->gens >= is->prm->max_generations)
        return "generations";
    if (is->prm->max_evaluations > 0 && is->evals >= is->prm->max_evaluations)
        return "evaluations";
    return "time";
}

/* The bound is reached or the search stagnated: nothing more to gain. Notes why. */
static int cannot_improve(island_t *is)
{
    const qg_opt_params_t *prm = is->prm;
    double best[2] = {INFINITY, INFINITY};
    for (int i = 0; i < is->P; i++)
        for (int f = 0; f < 2; f++)
            if (is->pop[i].f[f] < best[f])
                best[f] = is->pop[i].f[f];
    if (prm->no_freedom) {
        is->stop = "noFreedom";
        return 1;
    }
    if (prm->has_bound && best[prm->bound_obj] <= prm->bound + 1e-9 * (1.0 + fabs(prm->bound))) {
        is->stop = "bound";
        return 1;
    }
    int improved = 0;
    for (int f = 0; f < 2; f++)
        if (best[f] < is->stall_f[f] - 1e-9 * (1.0 + fabs(best[f]))) {
            is->stall_f[f] = best[f];
            improved = 1;
        }
    if (improved)
        is->last_improved = is->gens;
    if (prm->stall_generations > 0 && is->gens - is->last_improved >= prm->stall_generations) {
        is->stop = "stagnation";
        return 1;
    }
    return 0;
}

static void island_run(island_t *is)
{
    long ls_iter = is->prm->ls_iterations;
    for (int i = 0; i < is->P; i++) {
        indiv_t *in = &is->pop[i];
        int r = qg_rng_below(&is->rng, 10);
        init_alt(is, in->alt, r < 6 ? 0 : r < 9 ? 1 : 2);
        /* without freedom, first in first out on every machine is optimal: it is in */
        fill_os(is, in->os, i == 0 && is->prm->no_freedom);
        evaluate(is, in, i == 0 || !out_of_budget(is) ? ls_iter : 0);
    }
    is->stall_f[0] = is->stall_f[1] = INFINITY;
    while (!cannot_improve(is) && !out_of_budget(is)) {
        make_offspring(is);
        for (int i = is->P; i < 2 * is->P; i++)
            evaluate(is, &is->pop[i], out_of_budget(is) ? 0 : ls_iter);
        environmental_selection(is);
        is->gens++;
        if (is->cb && is->id == 0) {
            double f2 = INFINITY;
            for (int i = 0; i < is->P; i++)
                if (is->pop[i].f[1] < f2)
                    f2 = is->pop[i].f[1];
            is->cb(is->gens, is->best_f1, f2, is->opaque);
        }
    }
    if (!is->stop)
        is->stop = budget_reason(is);
}

static void *island_thread(void *arg)
{
    island_run(arg);
    return NULL;
}

/* ---- result ---- */

void qg_opt_result_destroy(qg_opt_result_t *r)
{
    if (!r)
        return;
    qg_sched_destroy(r->best);
    qg_sched_destroy(r->best_f2);
    for (int i = 0; i < r->n_front; i++)
        qg_sched_destroy(r->front[i].sched);
    free(r->front);
    free(r);
}

static qg_sched_t *clone_sched(const qg_sched_t *s)
{
    qg_sched_t *c = qg_sched_new(s->n_ops);
    if (c)
        qg_sched_copy(c, s);
    return c;
}

static int front_add(qg_opt_result_t *r, const indiv_t *in)
{
    for (int i = 0; i < r->n_front; i++) {
        const qg_front_point_t *q = &r->front[i];
        if (q->f[0] <= in->f[0] && q->f[1] <= in->f[1])
            return 0; /* dominated or equal */
    }
    int w = 0;
    for (int i = 0; i < r->n_front; i++) {
        qg_front_point_t *q = &r->front[i];
        if (in->f[0] <= q->f[0] && in->f[1] <= q->f[1])
            qg_sched_destroy(q->sched);
        else
            r->front[w++] = *q;
    }
    r->n_front = w;
    qg_sched_t *c = clone_sched(in->s);
    if (!c)
        return -1;
    r->front[r->n_front].f[0] = in->f[0];
    r->front[r->n_front].f[1] = in->f[1];
    r->front[r->n_front++].sched = c;
    return 0;
}

static int front_cmp(const void *a, const void *b)
{
    const qg_front_point_t *x = a, *y = b;
    if (x->f[0] != y->f[0])
        return x->f[0] < y->f[0] ? -1 : 1;
    return (x->f[1] > y->f[1]) - (x->f[1] < y->f[1]);
}

static qg_error_t *collect(island_t *is, int n_is, qg_opt_result_t *r)
{
    int total = 0;
    for (int t = 0; t < n_is; t++)
        total += is[t].P;
    r->front = calloc((size_t)total + 1, sizeof(*r->front));
    if (!r->front)
        return qg_error_new_oom("optimizer: out of memory");
    const indiv_t *b1 = NULL, *b2 = NULL;
    r->time_to_best_s = 0;
    for (int t = 0; t < n_is; t++) {
        r->generations += is[t].gens;
        r->evaluations += is[t].evals;
        for (int i = 0; i < is[t].P; i++) {
            const indiv_t *in = &is[t].pop[i];
            if (!b1 || in->f[0] < b1->f[0] || (in->f[0] == b1->f[0] && in->f[1] < b1->f[1])) {
                b1 = in;
                r->time_to_best_s = is[t].t_best;
            }
            if (!b2 || in->f[1] < b2->f[1] || (in->f[1] == b2->f[1] && in->f[0] < b2->f[0]))
                b2 = in;
            if (front_add(r, in) < 0)
                return qg_error_new_oom("optimizer: out of memory");
        }
    }
    qsort(r->front, (size_t)r->n_front, sizeof(*r->front), front_cmp);
    r->best = clone_sched(b1->s);
    r->best_f2 = clone_sched(b2->s);
    if (!r->best || !r->best_f2)
        return qg_error_new_oom("optimizer: out of memory");
    return NULL;
}

static int resolve_obj2(const qg_fjsp_t *p, int want)
{
    if (want >= 1 && want <= 3)
        return want;
    if (p->has_target)
        return 1;
    return p->has_due ? 2 : 3;
}

/* Island 0 runs on the calling thread (so progress callbacks do too). */
static qg_error_t *run_islands(island_t *is, int n)
{
    pthread_t *th = calloc((size_t)n, sizeof(*th));
    if (!th)
        return qg_error_new_oom("optimizer: out of memory");
    int started = 1;
    for (; started < n; started++)
        if (pthread_create(&th[started], NULL, island_thread, &is[started]) != 0)
            break;
    island_run(&is[0]);
    for (int t = 1; t < started; t++)
        pthread_join(th[t], NULL);
    free(th);
    if (started < n)
        return qg_error_new_stage_error("optimizer: cannot start thread %d", started);
    return NULL;
}

qg_error_t *qg_opt_run(const qg_fjsp_t *p, const qg_opt_params_t *prm, qg_opt_progress_cb cb,
                       void *opaque, volatile sig_atomic_t *cancel, qg_opt_result_t **out)
{
    *out = NULL;
    int n = prm->threads > 0 ? prm->threads : 1;
    if (n > 64)
        n = 64;
    island_t *is = calloc((size_t)n, sizeof(*is));
    qg_opt_result_t *r = calloc(1, sizeof(*r));
    qg_error_t *err = NULL;
    if (!is || !r) {
        free(is);
        free(r);
        return qg_error_new_oom("optimizer: out of memory");
    }
    double t0 = qg_engine_now();
    for (int t = 0; t < n && !err; t++) {
        island_t *x = &is[t];
        x->p = p;
        x->prm = prm;
        x->id = t;
        x->P = prm->population >= 4 ? prm->population & ~1 : 4;
        x->obj2 = resolve_obj2(p, prm->second_objective);
        qg_rng_seed(&x->rng, prm->seed + 0x9e3779b97f4a7c15ULL * (uint64_t)t);
        x->t0 = t0;
        x->deadline = prm->time_limit_s > 0 ? t0 + prm->time_limit_s : 0;
        x->best_f1 = INFINITY;
        x->cancel = cancel;
        x->cb = cb;
        x->opaque = opaque;
        if (island_alloc(x) < 0)
            err = qg_error_new_oom("optimizer: out of memory");
    }
    if (!err)
        err = run_islands(is, n);
    for (int t = 0; t < n && !err; t++)
        if (is[t].err) {
            err = is[t].err;
            is[t].err = NULL;
        }
    if (!err) {
        r->second_objective = is[0].obj2;
        r->stop_reason = is[0].stop;
        err = collect(is, n, r);
        r->time_s = qg_engine_now() - t0;
    }
    for (int t = 0; t < n; t++) {
        qg_error_destroy(is[t].err);
        island_free(&is[t]);
    }
    free(is);
    if (err) {
        qg_opt_result_destroy(r);
        return err;
    }
    *out = r;
    return NULL;
}
