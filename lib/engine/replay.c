/*
 * replay.c - Monte Carlo replay of a fixed plan under sampled durations.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fjsp.h"

typedef struct {
    const qg_fjsp_t *p;
    const qg_sched_t *s;
    const int *order; /* ops by planned start */
    uint64_t seed;
    int from, to, done;
    volatile sig_atomic_t *cancel;
    double *order_c, *mk;
} chunk_t;

static double sample_transfer(const qg_fjsp_t *p, int from, int to, qg_rng_t *rng)
{
    if (!p->transfer_dist || from == to)
        return 0.0;
    int n = p->n_machines + 1;
    if (from < 0)
        from = p->n_machines;
    return qg_dist_sample(&p->transfer_dist[from * n + to], rng);
}

/* Attempts until `units` good units come out at yield y (each attempt a Bernoulli trial). */
static double attempts(double units, double y, qg_rng_t *rng)
{
    if (y >= 1.0)
        return units;
    double n = 0;
    int whole = (int)ceil(units);
    for (int u = 0; u < whole; u++) {
        double g = log(1.0 - qg_rng_unit(rng)) / log(1.0 - y); /* failures before success */
        n += 1.0 + floor(g);
    }
    return n * units / whole;
}

/* Processing time plus repairs: failures come after exponential operating time (mean MTBF). */
static double with_breakdowns(const qg_machine_model_t *m, double work, double *ttf, qg_rng_t *rng)
{
    if (!(m->mtbf > 0))
        return work;
    double total = work;
    while (*ttf < work) {
        work -= *ttf;
        double r = qg_dist_sample(&m->mttr, rng);
        total += r > 0 ? r : 0;
        *ttf = -m->mtbf * log(1.0 - qg_rng_unit(rng));
    }
    *ttf -= work;
    return total;
}

/* Sampled duration of op o on its planned alternative (setup excluded). */
static double sample_work(const qg_fjsp_t *p, int o, const qg_alt_t *a, double *ttf, qg_rng_t *rng)
{
    const qg_op_t *op = &p->ops[o];
    double d = qg_dist_sample(&a->dist, rng);
    if (op->yield < 1.0)
        d *= attempts(op->units, op->yield, rng) / op->units;
    if (p->mm)
        d = with_breakdowns(&p->mm[a->machine], d, &ttf[a->machine], rng);
    return d;
}

static void one_replication(const chunk_t *c, int rep, double *end, double *mend)
{
    const qg_fjsp_t *p = c->p;
    int M = p->n_machines;
    double *ttf = mend + M; /* per machine: operating time to the next failure */
    int *last = (int *)(void *)(mend + 2 * M);
    qg_rng_t rng;
    qg_rng_seed(&rng, c->seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(rep + 1)));
    for (int k = 0; k < M; k++) {
        mend[k] = p->avail[k];
        last[k] = p->mm ? p->mm[k].init_type : -1;
        ttf[k] = p->mm && p->mm[k].mtbf > 0 ? -p->mm[k].mtbf * log(1.0 - qg_rng_unit(&rng)) : 0;
    }
    double mk = 0, oc = 0;
    for (int i = 0; i < p->n_ops; i++) {
        int o = c->order[i], j = p->ops[o].job;
        const qg_alt_t *a = qg_fjsp_alt(p, o, c->s->alt[o]);
        int k = a->machine;
        double ready;
        if (o > p->job_first[j]) {
            int pm = qg_fjsp_alt(p, o - 1, c->s->alt[o - 1])->machine;
            ready = end[o - 1] + sample_transfer(p, pm, k, &rng);
        } else {
            ready = p->release[j] + sample_transfer(p, -1, k, &rng);
        }
        if (mend[k] > ready)
            ready = mend[k];
        double st = qg_cal_next_work(p, k, ready);
        double work =
            qg_fjsp_setup(p, k, last[k], p->ops[o].type) + sample_work(p, o, a, ttf, &rng);
        end[o] = qg_cal_finish(p, k, st, work);
        mend[k] = end[o];
        last[k] = p->ops[o].type;
        if (end[o] > mk)
            mk = end[o];
        if ((!p->has_target || p->target[j]) && end[o] > oc)
            oc = end[o];
    }
    c->order_c[rep] = oc;
    c->mk[rep] = mk;
}

static void *chunk_run(void *arg)
{
    chunk_t *c = arg;
    double *end = malloc((size_t)c->p->n_ops * sizeof(double));
    /* per machine: end, time to failure, last type (an int in a double slot) */
    double *mend = malloc((size_t)c->p->n_machines * 3 * sizeof(double));
    if (end && mend)
        for (int r = c->from; r < c->to; r++) {
            if (c->cancel && *c->cancel)
                break;
            one_replication(c, r, end, mend);
            c->done++;
        }
    else
        c->done = -1;
    free(end);
    free(mend);
    return NULL;
}

static int run_chunks(chunk_t *ch, int nt)
{
    pthread_t th[64];
    int started = 0;
    for (int t = 1; t < nt; t++, started++)
        if (pthread_create(&th[t], NULL, chunk_run, &ch[t]) != 0)
            break;
    chunk_run(&ch[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
    for (int t = started + 1; t < nt; t++)
        chunk_run(&ch[t]); /* threads that could not start run here */
    int done = 0;
    for (int t = 0; t < nt; t++) {
        if (ch[t].done < 0)
            return -1;
        done += ch[t].done;
    }
    return done;
}

int qg_replay(const qg_fjsp_t *p, const qg_sched_t *s, int R, uint64_t seed, int threads,
              volatile sig_atomic_t *cancel, double *order_c, double *mk)
{
    if (R <= 0)
        return 0;
    qg_start_key_t *keys = malloc((size_t)p->n_ops * sizeof(*keys));
    int *order = malloc((size_t)p->n_ops * sizeof(int));
    if (!keys || !order) {
        free(keys);
        free(order);
        return -1;
    }
    for (int o = 0; o < p->n_ops; o++)
        keys[o] = (qg_start_key_t){s->start[o], o};
    qsort(keys, (size_t)p->n_ops, sizeof(*keys), qg_start_key_cmp);
    for (int i = 0; i < p->n_ops; i++)
        order[i] = keys[i].op;
    free(keys);
    int nt = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    if (R < 256 * nt)
        nt = 1;
    chunk_t ch[64];
    for (int t = 0; t < nt; t++)
        ch[t] = (chunk_t){
            p, s,      order,   seed, (int)((long)R * t / nt), (int)((long)R * (t + 1) / nt),
            0, cancel, order_c, mk};
    int done = run_chunks(ch, nt);
    free(order);
    return done;
}

double qg_quantile(const double *v, int n, double q)
{
    if (n <= 0)
        return NAN;
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    if (lo >= n - 1)
        return v[n - 1];
    return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}
