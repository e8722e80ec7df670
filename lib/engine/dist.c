/*
 * dist.c - seeded random numbers (xoshiro256**) and duration distributions.
 */
#include <math.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine/fjsp.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void qg_rng_seed(qg_rng_t *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t qg_rng_next(qg_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double qg_rng_unit(qg_rng_t *rng)
{
    return (double)(qg_rng_next(rng) >> 11) * 0x1.0p-53;
}

int qg_rng_below(qg_rng_t *rng, int n)
{
    return (int)(((qg_rng_next(rng) >> 32) * (uint64_t)n) >> 32);
}

double qg_rng_normal(qg_rng_t *rng)
{
    /* Box-Muller; one value per call keeps the stream simple to reason about. */
    double u1 = qg_rng_unit(rng);
    double u2 = qg_rng_unit(rng);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double qg_engine_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

qg_dist_t qg_dist_constant(double v)
{
    qg_dist_t d = {QG_DIST_CONSTANT, v, 0, 0, v};
    return d;
}

static qg_error_t *dist_lognormal(double mean, double std, qg_dist_t *out)
{
    if (!(mean > 0) || !(std >= 0))
        return qg_error_new_bad_input("lognormal needs mean > 0 and std >= 0");
    double s2 = log(1.0 + (std * std) / (mean * mean));
    out->kind = QG_DIST_LOGNORMAL;
    out->a = log(mean) - s2 / 2.0;
    out->b = sqrt(s2);
    out->mean = mean;
    return NULL;
}

static qg_error_t *dist_uniform(double mean, double std, double min, double max, qg_dist_t *out)
{
    if (isnan(min) || isnan(max)) {
        if (isnan(mean))
            return qg_error_new_bad_input("uniform needs min/max or mean/std");
        double h = sqrt(3.0) * (isnan(std) ? 0.0 : std);
        min = mean - h;
        max = mean + h;
    }
    if (!(max >= min))
        return qg_error_new_bad_input("uniform needs max >= min");
    out->kind = QG_DIST_UNIFORM;
    out->a = min;
    out->b = max;
    out->mean = (min + max) / 2.0;
    return NULL;
}

static qg_error_t *dist_triangular(double mean, double min, double mode, double max, qg_dist_t *out)
{
    if (isnan(mode) && !isnan(mean) && !isnan(min) && !isnan(max))
        mode = 3.0 * mean - min - max;
    if (isnan(min) || isnan(mode) || isnan(max) || !(min <= mode && mode <= max))
        return qg_error_new_bad_input("triangular needs min <= mode <= max");
    out->kind = QG_DIST_TRIANGULAR;
    out->a = min;
    out->b = mode;
    out->c = max;
    out->mean = (min + mode + max) / 3.0;
    return NULL;
}

qg_error_t *qg_dist_make(const char *name, double mean, double std, double min, double mode,
                         double max, qg_dist_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!name || !*name)
        name = isnan(std) || std == 0 ? "constant" : "normal";
    if (!strcasecmp(name, "uniform"))
        return dist_uniform(mean, std, min, max, out);
    if (!strcasecmp(name, "triangular"))
        return dist_triangular(mean, min, mode, max, out);
    if (isnan(mean))
        return qg_error_new_bad_input("distribution '%s' needs a mean", name);
    if (!(mean >= 0))
        return qg_error_new_bad_input("negative mean %g", mean);
    if (isnan(std))
        std = 0.0;
    if (std < 0)
        return qg_error_new_bad_input("negative std %g", std);
    if (!strcasecmp(name, "constant") || !strcasecmp(name, "fixed") ||
        !strcasecmp(name, "deterministic")) {
        *out = qg_dist_constant(mean);
        return NULL;
    }
    if (!strcasecmp(name, "normal") || !strcasecmp(name, "gaussian")) {
        if (std == 0) {
            *out = qg_dist_constant(mean);
            return NULL;
        }
        out->kind = QG_DIST_NORMAL;
        out->a = mean;
        out->b = std;
        out->mean = mean;
        return NULL;
    }
    if (!strcasecmp(name, "lognormal"))
        return dist_lognormal(mean, std, out);
    if (!strcasecmp(name, "exponential")) {
        out->kind = QG_DIST_EXPONENTIAL;
        out->a = mean;
        out->mean = mean;
        return NULL;
    }
    return qg_error_new_bad_input("unknown distribution '%s'", name);
}

qg_dist_t qg_dist_scale(qg_dist_t d, double f)
{
    switch (d.kind) {
    case QG_DIST_LOGNORMAL:
        d.a += log(f);
        break;
    case QG_DIST_TRIANGULAR:
        d.c *= f;
        /* fallthrough */
    case QG_DIST_NORMAL:
    case QG_DIST_UNIFORM:
        d.b *= f;
        /* fallthrough */
    case QG_DIST_CONSTANT:
    case QG_DIST_EXPONENTIAL:
        d.a *= f;
        break;
    }
    d.mean *= f;
    return d;
}

static double sample_triangular(const qg_dist_t *d, double u)
{
    double a = d->a, m = d->b, c = d->c;
    if (c <= a)
        return a;
    double fm = (m - a) / (c - a);
    if (u < fm)
        return a + sqrt(u * (c - a) * (m - a));
    return c - sqrt((1.0 - u) * (c - a) * (c - m));
}

double qg_dist_sample(const qg_dist_t *d, qg_rng_t *rng)
{
    double v;
    switch (d->kind) {
    case QG_DIST_NORMAL: /* truncated at 0: draw again (a bounded number of times) */
        for (int tries = 0; tries < 32; tries++)
            if ((v = d->a + d->b * qg_rng_normal(rng)) >= 0)
                return v;
        return 0;
    case QG_DIST_UNIFORM:
        return d->a + (d->b - d->a) * qg_rng_unit(rng);
    case QG_DIST_LOGNORMAL:
        return exp(d->a + d->b * qg_rng_normal(rng));
    case QG_DIST_TRIANGULAR:
        return sample_triangular(d, qg_rng_unit(rng));
    case QG_DIST_EXPONENTIAL:
        return -d->a * log(1.0 - qg_rng_unit(rng));
    case QG_DIST_CONSTANT:
    default:
        return d->a;
    }
}

double qg_dist_std(const qg_dist_t *d)
{
    switch (d->kind) {
    case QG_DIST_NORMAL:
        return d->b;
    case QG_DIST_UNIFORM:
        return (d->b - d->a) / sqrt(12.0);
    case QG_DIST_LOGNORMAL:
        return d->mean * sqrt(exp(d->b * d->b) - 1.0);
    case QG_DIST_TRIANGULAR: {
        double a = d->a, b = d->b, c = d->c;
        return sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18.0);
    }
    case QG_DIST_EXPONENTIAL:
        return d->a;
    default:
        return 0.0;
    }
}
