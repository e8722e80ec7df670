/*
 * test_registry.c - model registry: the seed and default registries load,
 * entries are normalized, metaDataFile stays inside the registry directory,
 * and bad entries are refused with the file and model named.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/registry.h"

static char tmpdir[64];

static void make_tmp(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/qg-registry-XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void rm_tmp(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(registry, .init = make_tmp, .fini = rm_tmp);

static void write_file(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Load tmpdir/registry.yaml; return the error message ("" on success). */
static char *load_msg(const char *yaml)
{
    char path[256];
    qg_error_t *err = NULL;
    qg_registry_t *reg;
    char *msg;

    write_file("registry.yaml", yaml);
    snprintf(path, sizeof(path), "%s/registry.yaml", tmpdir);
    reg = qg_registry_load(path, &err);
    msg = strdup(reg ? "" : qg_error_message(err));
    if (!reg)
        cr_assert_eq(qg_error_class(err), QG_ERR_FATAL);
    qg_registry_destroy(reg);
    qg_error_destroy(err);
    return msg;
}

static void expect_error(const char *yaml, const char *part)
{
    char *msg = load_msg(yaml);

    cr_assert(strstr(msg, part), "expected an error containing \"%s\", got \"%s\"", part, msg);
    free(msg);
}

#define MODEL_HEAD "models:\n  - modelId: M1\n    purpose: p\n"
#define RUNNER     "    runner: {type: builtin, engine: nsga2}\n"

Test(registry, seed_registry_loads_as_is)
{
    qg_error_t *err = NULL;
    qg_registry_t *reg = qg_registry_load(QG_SHARED_DIR "/seed-formats/model_registry.json", &err);
    const qg_json_t *m;
    const char *mf;

    cr_assert(reg, "%s", qg_error_message(err));
    cr_assert_eq(qg_registry_count(reg), 1);
    m = qg_registry_find(reg, "NSGA2SimulatorModel");
    cr_assert(m);
    cr_assert_str_eq(qg_json_str(qg_json_path(m, "runner.type")), "kubernetes");
    cr_assert_str_eq(qg_json_str(qg_json_path(m, "runner.image")), "factory-nsga2:latest");
    mf = qg_json_str(qg_json_get(m, "metaDataFile"));
    cr_assert(mf && mf[0] == '/', "metaDataFile not absolute: %s", mf);
    cr_assert(strstr(mf, "/seed-formats/NSGA2Model_sources.yaml"), "%s", mf);
    cr_assert_str_eq(qg_json_str(qg_json_get(m, "metaDataFileRelative")),
                     "NSGA2Model_sources.yaml");
    cr_assert_float_eq(qg_json_num(qg_json_path(m, "performance.avgLatencySeconds"), -1), 35.0,
                       1e-9);
    cr_assert_float_eq(qg_json_num(qg_json_path(m, "performance.accuracy"), -1), 0.85, 1e-9);
    qg_registry_destroy(reg);
}

Test(registry, default_registry_loads)
{
    qg_error_t *err = NULL;
    qg_registry_t *reg = qg_registry_load(QG_SOURCE_DIR "/config/registry.yaml", &err);
    const qg_json_t *m;
    size_t i;

    cr_assert(reg, "%s", qg_error_message(err));
    cr_assert_geq(qg_registry_count(reg), 2);
    for (i = 0; i < qg_registry_count(reg); i++) {
        const char *mf;
        m = qg_registry_at(reg, i);
        mf = qg_json_str(qg_json_get(m, "metaDataFile"));
        cr_assert(mf && access(mf, R_OK) == 0, "%s: manifest %s", qg_registry_model_id(m), mf);
        cr_assert(qg_json_str(qg_json_path(m, "runner.type")));
    }
    m = qg_registry_find(reg, "NSGA2SimulatorModel");
    cr_assert(m);
    cr_assert_str_eq(qg_json_str(qg_json_path(m, "runner.type")), "builtin");
    cr_assert_str_eq(qg_json_str(qg_json_path(m, "runner.engine")), "nsga2");
    cr_assert(
        strstr(qg_json_str(qg_json_get(m, "metaDataFile")), "/config/models/nsga2-builtin.yaml"));
    cr_assert(qg_registry_find(reg, "FastDispatchEstimator"));
    cr_assert_null(qg_registry_find(reg, "nope"));
    qg_registry_destroy(reg);
}

Test(registry, yaml_values_and_bare_list)
{
    char *msg;

    write_file("m.yaml", "data_sources: []\n");
    msg = load_msg("- modelId: M1\n  purpose: p\n  version: \"1.0\"\n"
                   "  performance: {accuracy: 0.9, avgLatency: 250ms}\n"
                   "  runner: {type: exec, command: [./sim, --fast]}\n  metaDataFile: m.yaml\n"
                   "- modelId: M2\n  purpose: p\n  runner: {type: container, image: x:1}\n"
                   "- modelId: M3\n  purpose: p\n  runner: {type: docker, image: x:1}\n");
    cr_assert_str_eq(msg, "");
    free(msg);
}

Test(registry, manifest_must_stay_inside)
{
    write_file("ok.yaml", "x: 1\n");
    expect_error(MODEL_HEAD RUNNER "    metaDataFile: ../etc/passwd\n", "must not contain '..'");
    expect_error(MODEL_HEAD RUNNER "    metaDataFile: sub/../../x.yaml\n", "must not contain '..'");
    expect_error(MODEL_HEAD RUNNER "    metaDataFile: /etc/passwd\n",
                 "must be a relative path inside the registry directory");
    expect_error(MODEL_HEAD RUNNER "    metaDataFile: missing.yaml\n",
                 "metaDataFile not found in the registry directory");
    {
        char link[256];
        snprintf(link, sizeof(link), "%s/escape.yaml", tmpdir);
        cr_assert_eq(symlink("/etc/hostname", link), 0);
    }
    expect_error(MODEL_HEAD RUNNER "    metaDataFile: escape.yaml\n",
                 "metaDataFile resolves outside the registry directory");
    expect_error(MODEL_HEAD RUNNER "    metaDataFile: 42\n", "metaDataFile must be a string");
}

Test(registry, bad_entries_named)
{
    expect_error("models:\n  - purpose: p\n" RUNNER, "models[0]: modelId is required");
    expect_error("models:\n  - modelId: M1\n" RUNNER, "models[0] (M1): purpose is required");
    expect_error(MODEL_HEAD, "models[0] (M1): runner (or container) is required");
    expect_error(MODEL_HEAD "    runner: {type: podman}\n",
                 "runner.type must be builtin, exec, docker or");
    expect_error(MODEL_HEAD "    runner: {type: builtin}\n", "runner.engine is required");
    expect_error(MODEL_HEAD "    runner: {type: exec}\n", "runner.command is required");
    expect_error(MODEL_HEAD "    runner: {type: container}\n", "runner.image is required");
    expect_error(MODEL_HEAD RUNNER "    capabilities: fast\n", "(M1): capabilities must be a list");
    expect_error(MODEL_HEAD RUNNER "    capabilities: [1]\n", "must be a list of strings");
    expect_error(MODEL_HEAD RUNNER "    version: 1.0\n", "version must be a string");
    expect_error(MODEL_HEAD RUNNER "    performance: {accuracy: high}\n",
                 "performance.accuracy must be a number");
    expect_error(MODEL_HEAD RUNNER "  - modelId: M1\n    purpose: q\n" RUNNER,
                 "models[1] (M1): duplicate modelId");
    expect_error("models: 3\n", "expected {models: [...]} or a list of models");
}

Test(registry, syntax_errors_have_positions)
{
    char *msg = load_msg("models:\n  - modelId: [unclosed\n");

    cr_assert(strstr(msg, "/registry.yaml:"), "%s", msg);
    cr_assert(strstr(msg, ":3:1:") || strstr(msg, ":2:"), "%s", msg);
    free(msg);
    expect_error("a: 1\na: 2\n", "registry.yaml:2:1: duplicate key");
}

Test(registry, missing_file)
{
    qg_error_t *err = NULL;

    cr_assert_null(qg_registry_load("/nonexistent/registry.yaml", &err));
    cr_assert(strstr(qg_error_message(err), "/nonexistent/registry.yaml: cannot open"));
    qg_error_destroy(err);
}

Test(durations, parse)
{
    cr_assert_float_eq(qg_registry_duration_s("35s"), 35.0, 1e-9);
    cr_assert_float_eq(qg_registry_duration_s("250ms"), 0.25, 1e-9);
    cr_assert_float_eq(qg_registry_duration_s("1.5m"), 90.0, 1e-9);
    cr_assert_float_eq(qg_registry_duration_s("2h"), 7200.0, 1e-9);
    cr_assert_float_eq(qg_registry_duration_s("12"), 12.0, 1e-9);
    cr_assert_lt(qg_registry_duration_s("fast"), 0);
    cr_assert_lt(qg_registry_duration_s("-1s"), 0);
    cr_assert_lt(qg_registry_duration_s("5 parsecs"), 0);
    cr_assert_lt(qg_registry_duration_s(""), 0);
    cr_assert_lt(qg_registry_duration_s(NULL), 0);
}
