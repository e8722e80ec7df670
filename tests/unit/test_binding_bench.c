/*
 * test_binding_bench.c - the measurements behind scripts/bench-binding, run
 * against a real AAS server (skipped unless QG_BENCH_URL is set):
 *   bench/ours   the yamlBinding stage: each distinct submodel once, concurrently
 *   bench/naive  the old plan: one request per element per machine, in sequence
 *                (same C client and HTTP stack; kept here, never in the stage)
 * Environment: QG_BENCH_URL, QG_BENCH_REGISTRY (holds bench.yaml),
 * QG_BENCH_RUNS (default 5), QG_BENCH_OUT (JSON written: {ms[], requests,
 * scenario}), QG_BENCH_BULK (aas.bulk.min.submodels for bench/ours).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aas/aas.h"
#include "config.h"
#include "goal.h"
#include "aas/manifest.h"
#include "stage.h"

extern const qg_stage_ops_t qg_stage_binding;

static const char *bench_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        cr_skip_test("%s not set (run by scripts/bench-binding)", name);
    return v;
}

static qg_json_t *bench_goal(void)
{
    const char *text =
        "{\"QueryGoal\":{\"goalId\":\"bench\",\"goalType\":\"goal3_predict_production_time\","
        "\"parameters\":[{\"key\":\"productType\",\"value\":\"P-1001\"}],"
        "\"metadata\":{\"pipelineStages\":[\"yamlBinding\"]},"
        "\"selectedModel\":{\"modelId\":\"BenchFactory\",\"metaDataFile\":\"bench.yaml\"}}}";
    return qg_json_parse(text, strlen(text), NULL, 0);
}

static void bench_write(qg_json_t *ms, long requests, qg_json_t *scenario)
{
    qg_json_t *out = qg_json_object();
    qg_json_set(out, "ms", ms);
    qg_json_set_num(out, "requests", (double)requests);
    qg_json_set(out, "scenario", scenario);
    cr_assert_eq(qg_json_write_file(out, bench_env("QG_BENCH_OUT")), 0);
    qg_json_destroy(out);
}

static int bench_runs(void)
{
    const char *r = getenv("QG_BENCH_RUNS");
    int n = r ? atoi(r) : 5;
    return n > 0 ? n : 1;
}

Test(bench, ours)
{
    const char *url = bench_env("QG_BENCH_URL");
    const char *reg = bench_env("QG_BENCH_REGISTRY");
    qg_config_t *cfg = qg_config_new();
    char errstr[256];
    void *state = NULL;
    qg_json_t *ms = qg_json_array(), *scenario = NULL;
    long requests = 0;

    qg_config_add_options(cfg, qg_stage_binding.options);
    qg_config_set(cfg, "aas.base.url", url, errstr, sizeof(errstr));
    qg_config_set(cfg, "registry.dir", reg, errstr, sizeof(errstr));
    qg_config_set(cfg, "binding.work.dir", "/tmp/qg-binding-bench", errstr, sizeof(errstr));
    if (getenv("QG_BENCH_BULK"))
        qg_config_set(cfg, "aas.bulk.min.submodels", getenv("QG_BENCH_BULK"), errstr,
                      sizeof(errstr));
    if (getenv("QG_BENCH_CONCURRENCY"))
        qg_config_set(cfg, "aas.max.concurrency", getenv("QG_BENCH_CONCURRENCY"), errstr,
                      sizeof(errstr));
    cr_assert_null(qg_stage_binding.init(&state, cfg));
    for (int i = 0; i < bench_runs(); i++) {
        qg_json_t *doc = bench_goal();
        double t0 = qg_now_ms();
        qg_error_t *err =
            qg_stage_run_local(&qg_stage_binding, state, cfg, doc, "bench", NULL, NULL);
        qg_json_append(ms, qg_json_number(qg_now_ms() - t0));
        cr_assert_null(err, "%s", qg_error_message(err));
        qg_json_t *res = qg_goal_stage_result(doc, "yamlBinding");
        requests = (long)qg_json_num(qg_json_get(res, "requests"), -1);
        qg_json_destroy(scenario);
        scenario = qg_json_clone(qg_json_get(res, "scenario"));
        qg_json_destroy(doc);
    }
    bench_write(ms, requests, scenario);
    qg_stage_binding.destroy(state);
    qg_config_destroy(cfg);
}

/* ---- the naive plan ---- */

static qg_json_t *naive_element(qg_aas_client_t *c, const char *sm, const char *path, int decode)
{
    qg_json_t *el = NULL, *v;
    qg_error_t *err = qg_aas_get_element(c, sm, path, &el);

    cr_assert_null(err, "%s", qg_error_message(err));
    v = qg_aas_element_value(el);
    qg_json_destroy(el);
    if (decode && qg_json_is(v, QG_JSON_STRING)) {
        qg_json_t *d = qg_json_parse(qg_json_str(v), qg_json_strlen(v), NULL, 0);
        qg_json_destroy(v);
        v = d;
    }
    return v;
}

static qg_json_t *naive_machines(qg_aas_client_t *c, const qg_manifest_source_t *s)
{
    qg_json_t *arr = qg_json_array();

    for (size_t i = 0; i < s->n_machines; i++) {
        const qg_manifest_machine_t *m = &s->machines[i];
        qg_json_t *rec = qg_json_object();
        qg_json_set_str(rec, "machine_id", m->machine_id);
        for (size_t k = 0; k < m->n_subs; k++)
            for (size_t r = 0; r < m->subs[k].n_required; r++)
                qg_json_set(rec, m->subs[k].required[r],
                            naive_element(c, m->subs[k].submodel_id, m->subs[k].required[r], 0));
        qg_json_append(arr, rec);
    }
    return arr;
}

Test(bench, naive)
{
    const char *url = bench_env("QG_BENCH_URL");
    const char *reg = bench_env("QG_BENCH_REGISTRY");
    char path[1024];
    qg_manifest_t *m = NULL;
    qg_aas_conf_t conf = {.base_url = url, .max_concurrency = 1, .tls_verify = 1};
    qg_aas_client_t *c = NULL;
    qg_json_t *ms = qg_json_array(), *scenario = NULL;

    snprintf(path, sizeof(path), "%s/bench.yaml", reg);
    cr_assert_null(qg_manifest_load(path, &m));
    cr_assert_null(qg_aas_client_new(&conf, &c));
    for (int run = 0; run < bench_runs(); run++) {
        double t0 = qg_now_ms();
        qg_aas_request_count_reset(c);
        qg_json_destroy(scenario);
        scenario = qg_json_object();
        for (size_t i = 0; i < m->n_sources; i++) {
            const qg_manifest_source_t *s = &m->sources[i];
            qg_json_t *v = s->type == QG_SOURCE_AAS_PROPERTY
                               ? naive_element(c, s->submodel_id, s->property_path, 1)
                               : naive_machines(c, s);
            qg_json_set(scenario, s->output_stem, v);
        }
        qg_json_append(ms, qg_json_number(qg_now_ms() - t0));
    }
    bench_write(ms, qg_aas_request_count(c), scenario);
    qg_aas_client_destroy(c);
    qg_manifest_destroy(m);
}
