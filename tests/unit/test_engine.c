/*
 * test_engine.c - the scheduling engine: parsers, decoder, verifier,
 * optimizer (ft06 optimum, determinism), distributions.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/fjsp.h"

#define BENCH QG_SHARED_DIR "/bench"

static qg_fjsp_t *parse_ok(const char *text, int jssp)
{
    qg_fjsp_t *p = NULL;
    qg_error_t *err = qg_fjsp_parse_text(text, jssp, &p);
    cr_assert_null(err, "expected to parse, got: %s", qg_error_message(err));
    return p;
}

static void parse_bad(const char *text, int jssp, const char *needle)
{
    qg_fjsp_t *p = NULL;
    qg_error_t *err = qg_fjsp_parse_text(text, jssp, &p);
    cr_assert_not_null(err, "expected a parse error for:\n%s", text);
    cr_assert_null(p);
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_assert(strstr(qg_error_message(err), needle), "message '%s' lacks '%s'",
              qg_error_message(err), needle);
    qg_error_destroy(err);
}

/* ---- parsers ---- */

Test(engine_parse, fjs_good_with_tabs_and_blank_lines)
{
    qg_fjsp_t *p = parse_ok("2\t3  1.5\n\n 2 2 1 4 2 5 1 3\t6 \n1 1 2 7\n\n", 0);
    cr_assert_eq(p->n_jobs, 2);
    cr_assert_eq(p->n_machines, 3);
    cr_assert_eq(p->n_ops, 3);
    cr_assert_eq(p->ops[0].n_alt, 2);
    cr_assert_eq(qg_fjsp_alt(p, 0, 1)->machine, 1);
    cr_assert_float_eq(qg_fjsp_alt(p, 0, 1)->dur, 5.0, 1e-12);
    cr_assert_eq(p->job_first[1], 2);
    cr_assert_eq(qg_fjsp_alt(p, 2, 0)->machine, 1);
    qg_fjsp_destroy(p);
}

Test(engine_parse, brandimarte_and_jssp_files)
{
    static const struct {
        const char *file;
        int jobs, machines, ops;
    } cases[] = {{BENCH "/fjsp/brandimarte/mk01.fjs", 10, 6, 55},
                 {BENCH "/fjsp/brandimarte/mk10.fjs", 20, 15, 240},
                 {BENCH "/jssp/ft06.txt", 6, 6, 36},
                 {BENCH "/jssp/la01.txt", 10, 5, 50}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        qg_fjsp_t *p = NULL;
        qg_error_t *err = qg_fjsp_load_file(cases[i].file, &p);
        cr_assert_null(err, "%s: %s", cases[i].file, qg_error_message(err));
        cr_assert_eq(p->n_jobs, cases[i].jobs, "%s", cases[i].file);
        cr_assert_eq(p->n_machines, cases[i].machines, "%s", cases[i].file);
        cr_assert_eq(p->n_ops, cases[i].ops, "%s", cases[i].file);
        qg_fjsp_destroy(p);
    }
}

Test(engine_parse, jssp_machines_from_zero)
{
    qg_fjsp_t *p = parse_ok("2 2\n0 3 1 4\n1 2 0 5\n", 1);
    cr_assert_eq(p->n_ops, 4);
    cr_assert_eq(qg_fjsp_alt(p, 0, 0)->machine, 0);
    cr_assert_eq(qg_fjsp_alt(p, 2, 0)->machine, 1);
    cr_assert_float_eq(qg_fjsp_alt(p, 3, 0)->dur, 5.0, 1e-12);
    qg_fjsp_destroy(p);
}

Test(engine_parse, broken_files)
{
    parse_bad("", 0, "header");
    parse_bad("2\n", 0, "header");
    parse_bad("x 3\n", 0, "bad token");
    parse_bad("2 3\n1 1 1 4\n", 0, "expected 2 job lines");
    parse_bad("1 3\n1 1 4 4\n", 0, "out of 1..3");
    parse_bad("1 3\n1 1 0 4\n", 0, "out of 1..3");
    parse_bad("1 3\n1 2 1 4\n", 0, "truncated");
    parse_bad("1 3\n2 1 1 4\n", 0, "missing machine count");
    parse_bad("1 3\n1 1 1 4 9\n", 0, "extra tokens");
    parse_bad("1 3\n1 1 1 0\n", 0, "not positive");
    parse_bad("1 3\n1 2 1 4 1 5\n", 0, "repeated");
    parse_bad("1 3\n1 1 1 4x\n", 0, "bad token");
    parse_bad("1 3\n1 1 1 4\n1 1 1 4\n", 0, "after the last job");
    parse_bad("1 3\n0\n", 0, "operation count");
    parse_bad("2 2\n0 3 1 4\n1 2\n", 1, "expected 4 numbers");
    parse_bad("1 2\n0 3 2 4\n", 1, "out of 0..1");
}

Test(engine_parse, missing_file)
{
    qg_fjsp_t *p = NULL;
    qg_error_t *err = qg_fjsp_load_file("/nonexistent/x.fjs", &p);
    cr_assert_not_null(err);
    cr_assert(strstr(qg_error_message(err), "/nonexistent/x.fjs"));
    qg_error_destroy(err);
}

/* ---- decoder ---- */

/*
 * J1: O1 {M1:3, M2:5}  O2 {M2:2}
 * J2: O1 {M1:2}        O2 {M1:4, M2:1}
 */
static const char *tiny = "2 2\n2 2 1 3 2 5 1 2 2\n2 1 1 2 2 1 4 2 1\n";

Test(engine_decode, hand_checked_tiny)
{
    qg_fjsp_t *p = parse_ok(tiny, 0);
    qg_decoder_t *d = qg_decoder_new(p);
    qg_sched_t *s = qg_sched_new(p->n_ops);
    int alt[4] = {0, 0, 0, 1}; /* J1.O1 M1, J1.O2 M2, J2.O1 M1, J2.O2 M2 */
    int os[4] = {1, 0, 1, 0};  /* J2.O1, J1.O1, J2.O2, J1.O2 */
    qg_decode(d, alt, os, s);
    /* J2.O1 M1 [0,2]; J1.O1 M1 [2,5]; J2.O2 M2 [2,3]; J1.O2 M2 [5,7] */
    double want_s[4] = {2, 5, 0, 2}, want_e[4] = {5, 7, 2, 3};
    for (int o = 0; o < 4; o++) {
        cr_assert_float_eq(s->start[o], want_s[o], 1e-12, "op %d start %g", o, s->start[o]);
        cr_assert_float_eq(s->end[o], want_e[o], 1e-12, "op %d end %g", o, s->end[o]);
    }
    cr_assert_float_eq(s->makespan, 7, 1e-12);
    cr_assert_float_eq(s->workload, 3 + 2 + 2 + 1, 1e-12);
    cr_assert_null(qg_sched_verify(p, s, NULL));
    qg_sched_destroy(s);
    qg_decoder_destroy(d);
    qg_fjsp_destroy(p);
}

Test(engine_decode, insertion_fills_an_idle_gap)
{
    /* J1: O1 M1:2, O2 M2:5.  J2: O1 M2:1.  Sequence J1, J1, J2: J2.O1 fits before J1.O2. */
    qg_fjsp_t *p = parse_ok("2 2\n2 1 1 2 1 2 5\n1 1 2 1\n", 0);
    qg_decoder_t *d = qg_decoder_new(p);
    qg_sched_t *s = qg_sched_new(p->n_ops);
    int alt[3] = {0, 0, 0}, os[3] = {0, 0, 1};
    qg_decode(d, alt, os, s);
    cr_assert_float_eq(s->start[1], 2, 1e-12);
    cr_assert_float_eq(s->start[2], 0, 1e-12, "J2.O1 should be inserted at 0, got %g", s->start[2]);
    cr_assert_float_eq(s->makespan, 7, 1e-12);
    qg_sched_destroy(s);
    qg_decoder_destroy(d);
    qg_fjsp_destroy(p);
}

Test(engine_decode, release_availability_and_transfer)
{
    qg_fjsp_t *p = parse_ok("1 2\n2 1 1 3 1 2 4\n", 0);
    cr_assert_eq(qg_fjsp_enable_transfer(p), 0);
    int n = p->n_machines + 1;
    p->transfer[0 * n + 1] = 2.5;           /* M1 -> M2 */
    p->transfer[p->n_machines * n + 0] = 1; /* GEN -> M1 */
    p->release[0] = 4;
    p->avail[1] = 11;
    qg_decoder_t *d = qg_decoder_new(p);
    qg_sched_t *s = qg_sched_new(p->n_ops);
    int alt[2] = {0, 0}, os[2] = {0, 0};
    qg_decode(d, alt, os, s);
    cr_assert_float_eq(s->start[0], 5, 1e-12);  /* release 4 + GEN transfer 1 */
    cr_assert_float_eq(s->start[1], 11, 1e-12); /* max(8 + 2.5, availability 11) */
    p->avail[1] = 0;
    qg_decode(d, alt, os, s);
    cr_assert_float_eq(s->start[1], 10.5, 1e-12);
    cr_assert_null(qg_sched_verify(p, s, NULL));
    qg_sched_destroy(s);
    qg_decoder_destroy(d);
    qg_fjsp_destroy(p);
}

/* ---- verifier ---- */

static void expect_violation(const qg_fjsp_t *p, const qg_sched_t *s, qg_viol_t kind)
{
    int counts[QG_VIOL__COUNT];
    qg_error_t *err = qg_sched_verify(p, s, counts);
    cr_assert_not_null(err, "violation %s not detected", qg_viol_name(kind));
    cr_assert_eq(qg_error_class(err), QG_ERR_GATE_FAILED);
    cr_assert_gt(counts[kind], 0, "expected %s, got: %s", qg_viol_name(kind),
                 qg_error_message(err));
    qg_error_destroy(err);
}

Test(engine_verify, catches_every_violation_kind)
{
    qg_fjsp_t *p = parse_ok(tiny, 0);
    cr_assert_eq(qg_fjsp_enable_transfer(p), 0);
    qg_decoder_t *d = qg_decoder_new(p);
    qg_sched_t *good = qg_sched_new(p->n_ops), *s = qg_sched_new(p->n_ops);
    int alt[4] = {0, 0, 0, 1}, os[4] = {1, 0, 1, 0};
    qg_decode(d, alt, os, good);
    cr_assert_null(qg_sched_verify(p, good, NULL));

    qg_sched_copy(s, good);
    s->start[3] = NAN;
    expect_violation(p, s, QG_VIOL_MISSING);

    qg_sched_copy(s, good);
    s->alt[1] = 1; /* J1.O2 has one alternative only */
    expect_violation(p, s, QG_VIOL_ELIGIBILITY);

    qg_sched_copy(s, good);
    s->end[0] = s->start[0] + 1; /* J1.O1 on M1 takes 3 */
    expect_violation(p, s, QG_VIOL_DURATION);

    qg_sched_copy(s, good);
    s->start[1] -= 1; /* J1.O2 before J1.O1 ends */
    s->end[1] -= 1;
    expect_violation(p, s, QG_VIOL_PRECEDENCE);

    qg_sched_copy(s, good);
    p->release[1] = 1; /* J2 released at 1 but starts at 0 */
    expect_violation(p, s, QG_VIOL_RELEASE);
    p->release[1] = 0;

    qg_sched_copy(s, good);
    p->avail[1] = 2.5; /* M2 busy until 2.5, J2.O2 starts at 2 */
    expect_violation(p, s, QG_VIOL_AVAILABILITY);
    p->avail[1] = 0;

    qg_sched_copy(s, good);
    s->start[0] = 1; /* J1.O1 on M1 [1,4] overlaps J2.O1 [0,2] */
    s->end[0] = 4;
    s->makespan = 7;
    expect_violation(p, s, QG_VIOL_OVERLAP);

    qg_sched_copy(s, good);
    s->makespan = 6;
    expect_violation(p, s, QG_VIOL_MAKESPAN);

    qg_sched_copy(s, good);
    int n = p->n_machines + 1;
    p->transfer[0 * n + 1] = 1; /* M1 -> M2 takes 1: J1.O2 must wait until 6 */
    expect_violation(p, s, QG_VIOL_PRECEDENCE);

    qg_sched_destroy(s);
    qg_sched_destroy(good);
    qg_decoder_destroy(d);
    qg_fjsp_destroy(p);
}

/* ---- optimizer ---- */

static qg_opt_result_t *optimize(const qg_fjsp_t *p, uint64_t seed, long gens, double secs)
{
    qg_opt_params_t prm = {0};
    prm.seed = seed;
    prm.max_generations = gens;
    prm.time_limit_s = secs;
    prm.population = 20;
    prm.threads = 1;
    prm.ls_iterations = 200;
    qg_opt_result_t *r = NULL;
    qg_error_t *err = qg_opt_run(p, &prm, NULL, NULL, NULL, &r);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_null(qg_sched_verify(p, r->best, NULL));
    return r;
}

Test(engine_opt, ft06_optimum_55, .timeout = 60)
{
    qg_fjsp_t *p = NULL;
    cr_assert_null(qg_fjsp_load_file(BENCH "/jssp/ft06.txt", &p));
    qg_opt_result_t *r = optimize(p, 7, 30, 20);
    cr_assert_float_eq(r->best->makespan, 55, 1e-9, "ft06: got %g", r->best->makespan);
    qg_opt_result_destroy(r);
    qg_fjsp_destroy(p);
}

Test(engine_opt, mk01_optimum_40, .timeout = 60)
{
    qg_fjsp_t *p = NULL;
    cr_assert_null(qg_fjsp_load_file(BENCH "/fjsp/brandimarte/mk01.fjs", &p));
    qg_opt_result_t *r = optimize(p, 3, 10, 20);
    cr_assert_float_eq(r->best->makespan, 40, 1e-9, "mk01: got %g", r->best->makespan);
    qg_opt_result_destroy(r);
    qg_fjsp_destroy(p);
}

Test(engine_opt, deterministic_by_seed, .timeout = 60)
{
    qg_fjsp_t *p = NULL;
    cr_assert_null(qg_fjsp_load_file(BENCH "/fjsp/brandimarte/mk04.fjs", &p));
    qg_opt_result_t *a = optimize(p, 42, 3, 0), *b = optimize(p, 42, 3, 0);
    cr_assert_eq(a->evaluations, b->evaluations);
    cr_assert_eq(a->n_front, b->n_front);
    for (int o = 0; o < p->n_ops; o++) {
        cr_assert_eq(a->best->alt[o], b->best->alt[o], "op %d machine differs", o);
        cr_assert_float_eq(a->best->start[o], b->best->start[o], 0, "op %d start differs", o);
    }
    qg_opt_result_t *c = optimize(p, 43, 3, 0);
    int same = a->evaluations == c->evaluations;
    for (int o = 0; same && o < p->n_ops; o++)
        same = a->best->alt[o] == c->best->alt[o] && a->best->start[o] == c->best->start[o];
    cr_assert_not(same, "a different seed should give a different search");
    qg_opt_result_destroy(a);
    qg_opt_result_destroy(b);
    qg_opt_result_destroy(c);
    qg_fjsp_destroy(p);
}

Test(engine_opt, tabu_never_worsens_and_stays_valid)
{
    qg_fjsp_t *p = NULL;
    cr_assert_null(qg_fjsp_load_file(BENCH "/fjsp/brandimarte/mk02.fjs", &p));
    qg_decoder_t *d = qg_decoder_new(p);
    qg_ls_t *ls = qg_ls_new(p);
    qg_sched_t *s = qg_sched_new(p->n_ops);
    int *alt = calloc((size_t)p->n_ops, sizeof(int)), *os = malloc((size_t)p->n_ops * sizeof(int));
    for (int o = 0; o < p->n_ops; o++)
        os[o] = p->ops[o].job;
    qg_decode(d, alt, os, s);
    double before = s->makespan;
    qg_rng_t rng;
    qg_rng_seed(&rng, 5);
    long it = qg_ls_tabu(ls, s, QG_OBJ_MAKESPAN, 2000, 500, 0, &rng, NULL);
    cr_assert_gt(it, 0);
    cr_assert_lt(s->makespan, before, "tabu search did not improve %g", before);
    cr_assert_null(qg_sched_verify(p, s, NULL));
    free(alt);
    free(os);
    qg_sched_destroy(s);
    qg_ls_destroy(ls);
    qg_decoder_destroy(d);
    qg_fjsp_destroy(p);
}

/* ---- distributions ---- */

static void moments(const qg_dist_t *d, double want_mean, double want_std)
{
    qg_rng_t rng;
    qg_rng_seed(&rng, 99);
    const int n = 200000;
    double sum = 0, sq = 0;
    for (int i = 0; i < n; i++) {
        double x = qg_dist_sample(d, &rng);
        sum += x;
        sq += x * x;
    }
    double mean = sum / n, sd = sqrt(sq / n - mean * mean);
    cr_assert(fabs(mean - want_mean) < 0.01 * want_mean, "mean %g, want %g", mean, want_mean);
    cr_assert(fabs(sd - want_std) < 0.02 * want_std, "std %g, want %g", sd, want_std);
    cr_assert(fabs(qg_dist_std(d) - want_std) < 1e-9 * (1 + want_std), "qg_dist_std %g",
              qg_dist_std(d));
}

Test(engine_dist, sampling_moments)
{
    qg_dist_t d;
    cr_assert_null(qg_dist_make("normal", 10, 2, NAN, NAN, NAN, &d));
    moments(&d, 10, 2);
    cr_assert_null(qg_dist_make("uniform", NAN, NAN, 2, NAN, 6, &d));
    moments(&d, 4, 4 / sqrt(12.0));
    cr_assert_null(qg_dist_make("uniform", 5, 1, NAN, NAN, NAN, &d));
    moments(&d, 5, 1);
    cr_assert_null(qg_dist_make("lognormal", 5, 1, NAN, NAN, NAN, &d));
    moments(&d, 5, 1);
    cr_assert_null(qg_dist_make("triangular", NAN, NAN, 1, 2, 6, &d));
    moments(&d, 3, sqrt((1 + 4 + 36 - 2 - 6 - 12) / 18.0));
    cr_assert_null(qg_dist_make("exponential", 3, NAN, NAN, NAN, NAN, &d));
    moments(&d, 3, 3);
    /* scaling by 1/efficiency keeps the shape */
    cr_assert_null(qg_dist_make("lognormal", 5, 1, NAN, NAN, NAN, &d));
    qg_dist_t s = qg_dist_scale(d, 2.0);
    moments(&s, 10, 2);
}

Test(engine_dist, constant_and_errors)
{
    qg_dist_t d;
    cr_assert_null(qg_dist_make("normal", 7, 0, NAN, NAN, NAN, &d));
    cr_assert_eq(d.kind, QG_DIST_CONSTANT);
    qg_rng_t rng;
    qg_rng_seed(&rng, 1);
    cr_assert_float_eq(qg_dist_sample(&d, &rng), 7, 0);
    qg_error_t *err = qg_dist_make("weibull", 1, 1, NAN, NAN, NAN, &d);
    cr_assert_not_null(err);
    qg_error_destroy(err);
    err = qg_dist_make("normal", NAN, 1, NAN, NAN, NAN, &d);
    cr_assert_not_null(err);
    qg_error_destroy(err);
    err = qg_dist_make("triangular", NAN, NAN, 3, 1, 2, &d);
    cr_assert_not_null(err);
    qg_error_destroy(err);
}
