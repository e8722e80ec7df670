/*
 * test_binding.c - the yamlBinding stage through its ops table: bad input,
 * transient classification, gate logic; and a live run against a real AAS
 * server when QG_BINDING_URL is set (used by tests/integration/binding-*.sh).
 *
 * Live run environment:
 *   QG_BINDING_URL       AAS base URL (the test is skipped without it)
 *   QG_BINDING_GOAL      goal document (default tests/data/aas/goal.json)
 *   QG_BINDING_REGISTRY  registry.dir (default ../shared/seed-formats)
 *   QG_BINDING_CONFIG    extra "key=value" lines
 *   QG_BINDING_OUT       where the enriched document is written, with
 *                        "bindingTest": {class, error} added
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "goal.h"
#include "json.h"
#include "stage.h"

extern const qg_stage_ops_t qg_stage_binding;

#define GOAL_FILE QG_SOURCE_DIR "/tests/data/aas/goal.json"
#define SEED_REG  QG_SHARED_DIR "/seed-formats"

static qg_config_t *config(const char *url, const char *registry, const char *extra)
{
    qg_config_t *cfg = qg_config_new();
    char errstr[256];

    cr_assert_not_null(cfg);
    cr_assert_eq(qg_config_add_options(cfg, qg_stage_binding.options), 0);
    cr_assert_eq(qg_config_set(cfg, "aas.base.url", url, errstr, sizeof(errstr)), 0, "%s", errstr);
    if (registry)
        cr_assert_eq(qg_config_set(cfg, "registry.dir", registry, errstr, sizeof(errstr)), 0);
    cr_assert_eq(
        qg_config_set(cfg, "binding.work.dir", "/tmp/qg-binding-unit", errstr, sizeof(errstr)), 0);
    cr_assert_eq(qg_config_set(cfg, "aas.connect.timeout.ms", "2000", errstr, sizeof(errstr)), 0);
    for (const char *p = extra; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof(line), "%.*s", (int)n, p);
        if (*line)
            cr_assert_eq(qg_config_set_kv(cfg, line, errstr, sizeof(errstr)), 0, "%s: %s", line,
                         errstr);
        p += n + (nl ? 1 : 0);
    }
    return cfg;
}

static qg_json_t *load_goal(const char *path)
{
    char errstr[256];
    qg_json_t *doc = qg_json_parse_file(path, errstr, sizeof(errstr));
    cr_assert_not_null(doc, "%s", errstr);
    return doc;
}

/* Run the stage on doc; returns the error (NULL when the gate passed). */
static qg_error_t *run_stage(qg_config_t *cfg, qg_json_t *doc)
{
    void *state = NULL;
    qg_error_t *err = qg_stage_binding.init(&state, cfg);
    volatile sig_atomic_t cancel = 0;

    cr_assert_null(err, "init: %s", qg_error_message(err));
    err = qg_stage_run_local(&qg_stage_binding, state, cfg, doc, "unit", &cancel, NULL);
    qg_stage_binding.destroy(state);
    return err;
}

static void expect_class(qg_error_t *err, qg_error_class_t cls, const char *needle)
{
    cr_assert_not_null(err, "expected %s", qg_error_class_name(cls));
    cr_assert_eq(qg_error_class(err), cls, "expected %s, got %s: %s", qg_error_class_name(cls),
                 qg_error_class_name(qg_error_class(err)), qg_error_message(err));
    cr_assert(strstr(qg_error_message(err), needle) != NULL, "expected '%s' in: %s", needle,
              qg_error_message(err));
    qg_error_destroy(err);
}

Test(binding, ops_table)
{
    cr_assert_str_eq(qg_stage_binding.name, "yamlBinding");
    cr_assert_str_eq(qg_stage_binding.program, "qg-binding");
    cr_assert_not_null(qg_stage_binding.run);
    cr_assert_not_null(qg_stage_binding.gate);
}

Test(binding, init_needs_a_base_url)
{
    qg_config_t *cfg = qg_config_new();
    void *state = NULL;
    qg_config_add_options(cfg, qg_stage_binding.options);
    qg_error_t *err = qg_stage_binding.init(&state, cfg);
    expect_class(err, QG_ERR_FATAL, "aas.base.url");
    cr_assert_null(state);
    qg_config_destroy(cfg);
}

Test(binding, missing_token_env_is_fatal)
{
    qg_config_t *cfg =
        config("http://127.0.0.1:9/api/v3.0", NULL, "aas.token.env=QG_TEST_NO_SUCH_TOKEN_VARIABLE");
    void *state = NULL;
    expect_class(qg_stage_binding.init(&state, cfg), QG_ERR_FATAL, "QG_TEST_NO_SUCH_TOKEN");
    qg_config_destroy(cfg);
}

Test(binding, no_selected_model_is_bad_input)
{
    qg_config_t *cfg = config("http://127.0.0.1:9/api/v3.0", SEED_REG, NULL);
    qg_json_t *doc = load_goal(GOAL_FILE);
    qg_json_remove(qg_goal_query(doc), "selectedModel");
    expect_class(run_stage(cfg, doc), QG_ERR_BAD_INPUT, "selectedModel.metaDataFile");
    qg_json_destroy(doc);
    qg_config_destroy(cfg);
}

Test(binding, manifest_outside_registry_is_bad_input)
{
    qg_config_t *cfg = config("http://127.0.0.1:9/api/v3.0", SEED_REG, NULL);
    qg_json_t *doc = load_goal(GOAL_FILE);
    qg_json_set_str(qg_json_get(qg_goal_query(doc), "selectedModel"), "metaDataFile",
                    "../factory/seed-factory/M1.json");
    expect_class(run_stage(cfg, doc), QG_ERR_BAD_INPUT, "outside the registry directory");
    qg_json_destroy(doc);
    qg_config_destroy(cfg);
}

Test(binding, missing_parameter_is_bad_input)
{
    qg_config_t *cfg =
        config("http://127.0.0.1:9/api/v3.0", QG_SOURCE_DIR "/tests/data/manifests", NULL);
    qg_json_t *doc = load_goal(GOAL_FILE);
    qg_json_set_str(qg_json_get(qg_goal_query(doc), "selectedModel"), "metaDataFile",
                    "routing-required.yaml");
    qg_json_remove(qg_goal_query(doc), "parameters");
    qg_json_set(qg_goal_query(doc), "parameters", qg_json_array());
    expect_class(run_stage(cfg, doc), QG_ERR_BAD_INPUT, "goal parameter 'productType' is missing");
    qg_json_destroy(doc);
    qg_config_destroy(cfg);
}

Test(binding, server_down_is_transient)
{
    qg_config_t *cfg = config("http://127.0.0.1:9/api/v3.0", SEED_REG, NULL);
    qg_json_t *doc = load_goal(GOAL_FILE);
    expect_class(run_stage(cfg, doc), QG_ERR_TRANSIENT, "submodel 'urn:factory:submodel:");
    qg_json_destroy(doc);
    qg_config_destroy(cfg);
}

/* ---- gate ---- */

static int gate_of(const char *result_json, char *reason, size_t sz)
{
    qg_json_t *result = qg_json_parse(result_json, strlen(result_json), NULL, 0);
    qg_stage_ctx_t ctx = {.result = result};
    int passed = qg_stage_binding.gate(NULL, &ctx, reason, sz);
    qg_json_destroy(result);
    return passed;
}

Test(binding_gate, required_failures_are_listed)
{
    char reason[512];
    cr_assert_not(gate_of("{\"bindings\":{\"A\":{\"ok\":true,\"required\":true},"
                          "\"B\":{\"ok\":false,\"required\":true,\"error\":\"submodel 'x' not "
                          "found\"},\"C\":{\"ok\":false,\"required\":true,\"error\":\"e2\"}}}",
                          reason, sizeof(reason)));
    cr_assert_str_eq(reason, "required sources failed: B (submodel 'x' not found); C (e2)");
}

Test(binding_gate, optional_failures_pass)
{
    char reason[512];
    cr_assert(gate_of("{\"bindings\":{\"A\":{\"ok\":true,\"required\":true},"
                      "\"M\":{\"ok\":false,\"required\":false,\"error\":\"gone\"}}}",
                      reason, sizeof(reason)));
    cr_assert_str_eq(reason, "1/1 required sources bound, 1 optional failed");
    cr_assert_not(gate_of("{}", reason, sizeof(reason)));
}

Test(binding_gate, long_reasons_are_bounded)
{
    char reason[40];
    cr_assert_not(gate_of("{\"bindings\":{\"A\":{\"ok\":false,\"required\":true,\"error\":"
                          "\"a very long error message that does not fit at all\"}}}",
                          reason, sizeof(reason)));
    cr_assert_lt(strlen(reason), sizeof(reason));
}

/* ---- live ---- */

Test(binding_live, run)
{
    const char *url = getenv("QG_BINDING_URL");
    const char *goal = getenv("QG_BINDING_GOAL");
    const char *reg = getenv("QG_BINDING_REGISTRY");
    const char *out = getenv("QG_BINDING_OUT");

    if (!url || !*url)
        cr_skip_test("QG_BINDING_URL not set (run by tests/integration/binding-*.sh)");
    qg_config_t *cfg = config(url, reg ? reg : SEED_REG, getenv("QG_BINDING_CONFIG"));
    qg_json_t *doc = load_goal(goal ? goal : GOAL_FILE);
    qg_error_t *err = run_stage(cfg, doc);
    qg_json_t *t = qg_json_object();
    qg_json_set_str(t, "class", err ? qg_error_class_name(qg_error_class(err)) : "ok");
    qg_json_set_str(t, "error", err ? qg_error_message(err) : "");
    qg_json_set(doc, "bindingTest", t);
    if (out)
        cr_assert_eq(qg_json_write_file(doc, out), 0, "writing %s", out);
    qg_error_destroy(err);
    qg_json_destroy(doc);
    qg_config_destroy(cfg);
}

/* ---- claim-check digest ---- */

#include "sha256.h"

Test(binding_sha256, fips_vectors)
{
    char hex[65];
    qg_sha256_hex("", 0, hex);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    qg_sha256_hex("abc", 3, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    qg_sha256_hex(two, strlen(two), hex);
    cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    qg_sha256_t s;
    unsigned char d[32];
    char a[1000];
    memset(a, 'a', sizeof(a));
    qg_sha256_init(&s);
    for (int i = 0; i < 1000; i++)
        qg_sha256_update(&s, a, sizeof(a));
    qg_sha256_final(&s, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
