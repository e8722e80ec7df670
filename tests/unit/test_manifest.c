/*
 * test_manifest.c - binding manifests: the seed format, invalid input with
 * line:column, unknown keys as warnings, path traversal, placeholders.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aas/manifest.h"

#define SEED_MANIFEST QG_SHARED_DIR "/seed-formats/NSGA2Model_sources.yaml"

static qg_error_t *parse(const char *yaml, qg_manifest_t **m)
{
    return qg_manifest_parse(yaml, strlen(yaml), "t.yaml", m);
}

static void expect_bad(const char *yaml, const char *needle)
{
    qg_manifest_t *m = NULL;
    qg_error_t *err = parse(yaml, &m);
    cr_assert_not_null(err, "expected an error containing '%s'", needle);
    cr_assert_null(m);
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_assert(strstr(qg_error_message(err), needle) != NULL, "expected '%s' in: %s", needle,
              qg_error_message(err));
    qg_error_destroy(err);
}

static const qg_manifest_source_t *source(const qg_manifest_t *m, const char *name)
{
    for (size_t i = 0; i < m->n_sources; i++)
        if (strcmp(m->sources[i].name, name) == 0)
            return &m->sources[i];
    cr_assert_fail("no source %s", name);
    return NULL;
}

Test(manifest, seed_format)
{
    qg_manifest_t *m = NULL;
    qg_error_t *err = qg_manifest_load(SEED_MANIFEST, &m);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_str_eq(m->model, "NSGA2SimulatorModel");
    cr_assert_eq(m->n_sources, 6);

    const qg_manifest_source_t *jobs = source(m, "JobOrders");
    cr_assert_eq(jobs->type, QG_SOURCE_AAS_PROPERTY);
    cr_assert(jobs->required);
    cr_assert_str_eq(jobs->submodel_id, "urn:factory:submodel:simulation_data");
    cr_assert_str_eq(jobs->property_path, "jobs_data");
    cr_assert_str_eq(jobs->data_type, "json_string");
    cr_assert_str_eq(jobs->output_file, "jobs.json");
    cr_assert_str_eq(jobs->output_stem, "jobs");

    const qg_manifest_source_t *mach = source(m, "Machines");
    cr_assert_eq(mach->type, QG_SOURCE_AAS_SHELL_COLLECTION);
    cr_assert_not(mach->required);
    cr_assert_str_eq(mach->output_stem, "machines");
    cr_assert_eq(mach->n_machines, 4);
    cr_assert_str_eq(mach->machines[2].machine_id, "M3");
    cr_assert_eq(mach->machines[2].n_subs, 2);
    cr_assert_str_eq(mach->machines[2].subs[0].key, "capability");
    cr_assert_str_eq(mach->machines[2].subs[0].submodel_id, "urn:factory:submodel:capability:M3");
    cr_assert_eq(mach->machines[2].subs[1].n_required, 3);
    cr_assert_str_eq(mach->machines[2].subs[1].required[2], "queue_length");
    cr_assert_str_eq(mach->id_pattern, "M");
    cr_assert_eq(mach->n_rules, 2);
    cr_assert_str_eq(mach->rules[1].result_key, "status");

    /* The legacy block and the server section are warned about, not errors. */
    int legacy = 0, server = 0;
    for (size_t i = 0; i < m->n_warnings; i++) {
        legacy |= strstr(m->warnings[i], "legacy 'sources'") != NULL;
        server |= strstr(m->warnings[i], "aasx_server") != NULL;
    }
    cr_assert(legacy && server, "warnings: %zu", m->n_warnings);
    qg_manifest_destroy(m);
}

Test(manifest, unknown_keys_warn_with_position)
{
    qg_manifest_t *m = NULL;
    qg_error_t *err = parse("model: X\nflavour: mint\ndata_sources:\n"
                            "  - name: A\n    type: aas_property\n    colour: red\n"
                            "    config:\n      submodel_id: urn:a\n      element_id: e\n"
                            "      frobnicate: 1\n",
                            &m);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_eq(m->n_warnings, 3);
    cr_assert(strstr(m->warnings[0], "t.yaml:2:1: manifest: unknown key 'flavour'") != NULL, "%s",
              m->warnings[0]);
    cr_assert(strstr(m->warnings[2], "t.yaml:10:7:") != NULL, "%s", m->warnings[2]);
    cr_assert_str_eq(m->sources[0].property_path, "e", "element_id is the fallback path");
    cr_assert_str_eq(m->sources[0].output_stem, "A", "no output_file: the name");
    cr_assert(m->sources[0].required, "required defaults to true");
    qg_manifest_destroy(m);
}

Test(manifest, yaml_syntax_error_has_line_and_column)
{
    expect_bad("data_sources:\n  - name: [unclosed\n", "t.yaml:3:1: YAML error");
    expect_bad("a: b\n c: d\n", "t.yaml:2:3:");
}

Test(manifest, invalid_structure_names_position)
{
    expect_bad("- 1\n- 2\n", "t.yaml:1:1: a manifest must be a mapping");
    expect_bad("model: x\n", "'data_sources' must be a non-empty list");
    expect_bad("data_sources: []\n", "t.yaml:1:15: 'data_sources' must be a non-empty list");
    expect_bad("data_sources:\n  - type: aas_property\n    config: {}\n",
               "t.yaml:2:5: data_sources entry: missing 'name'");
    expect_bad("data_sources:\n  - name: A\n    type: sql\n    config: {submodel_id: x}\n",
               "t.yaml:3:11: A: unknown type 'sql'");
    expect_bad("data_sources:\n  - name: A\n    type: aas_property\n    required: perhaps\n"
               "    config: {submodel_id: x, property_path: p}\n",
               "t.yaml:4:15: 'required' must be true or false");
    expect_bad("data_sources:\n  - name: A\n    type: aas_property\n    config:\n"
               "      property_path: p\n",
               "A: missing 'submodel_id'");
    expect_bad("data_sources:\n  - name: A\n    type: aas_property\n    config:\n"
               "      submodel_id: x\n",
               "A: missing 'property_path'");
    expect_bad("data_sources:\n  - name: A\n    type: aas_shell_collection\n    config: {}\n",
               "needs machine_sources or shell_filter");
    expect_bad("data_sources:\n  - name: A\n    type: aas_property\n    config: [1]\n",
               "t.yaml:4:13: A: 'config' must be a mapping");
}

Test(manifest, output_file_must_be_a_plain_name_and_unique)
{
    expect_bad("data_sources:\n  - name: A\n    type: aas_property\n    config:\n"
               "      submodel_id: x\n      property_path: p\n      output_file: ../../etc/x\n",
               "t.yaml:7:20: A: output_file '../../etc/x' must be a plain file name");
    expect_bad("data_sources:\n"
               "  - {name: A, type: aas_property, config: {submodel_id: x, property_path: p,"
               " output_file: j.json}}\n"
               "  - {name: B, type: aas_property, config: {submodel_id: x, property_path: q,"
               " output_file: j.csv}}\n",
               "B: output 'j' already used by A");
    expect_bad("data_sources:\n"
               "  - {name: A, type: aas_property, config: {submodel_id: x, property_path: p}}\n"
               "  - {name: A, type: aas_property, config: {submodel_id: x, property_path: q}}\n",
               "duplicate source name 'A'");
}

Test(manifest, machine_sources_need_a_submodel)
{
    expect_bad("data_sources:\n  - name: M\n    type: aas_shell_collection\n    config:\n"
               "      machine_sources:\n        - machine_id: M1\n",
               "machine 'M1': no <name>_submodel given");
    expect_bad("data_sources:\n  - name: M\n    type: aas_shell_collection\n    config:\n"
               "      machine_sources:\n        - capability_submodel: x\n",
               "machine_sources: missing 'machine_id'");
}

Test(manifest, missing_file)
{
    qg_manifest_t *m = NULL;
    qg_error_t *err = qg_manifest_load("/nonexistent/m.yaml", &m);
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_assert(strstr(qg_error_message(err), "/nonexistent/m.yaml") != NULL);
    qg_error_destroy(err);
}

/* ---- paths ---- */

static char tmpdir[128];

static void make_tree(void)
{
    char path[200];
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/qg-manifest-test-%ld", (long)getpid());
    snprintf(path, sizeof(path), "%s/registry/sub", tmpdir);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "rm -rf %s && mkdir -p %s && echo 'x: 1' > %s/registry/m.yaml && "
             "echo 'x: 1' > %s/secret.yaml && ln -s ../secret.yaml %s/registry/link.yaml",
             tmpdir, path, tmpdir, tmpdir, tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static void drop_tree(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    (void)system(cmd);
}

static void expect_outside(const char *reg, const char *path, const char *needle)
{
    char *out = NULL;
    qg_error_t *err = qg_manifest_resolve_path(reg, path, &out);
    cr_assert_not_null(err, "%s must be rejected", path);
    cr_assert_null(out);
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_assert(strstr(qg_error_message(err), needle) != NULL, "%s", qg_error_message(err));
    qg_error_destroy(err);
}

Test(manifest_path, inside_registry_only, .init = make_tree, .fini = drop_tree)
{
    char reg[200], abs_in[600], abs_out[600], *out = NULL;
    qg_error_t *err;

    snprintf(reg, sizeof(reg), "%s/registry", tmpdir);
    err = qg_manifest_resolve_path(reg, "m.yaml", &out);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert(strstr(out, "/registry/m.yaml") != NULL);
    free(out);
    err = qg_manifest_resolve_path(reg, "sub/../m.yaml", &out);
    cr_assert_null(err, "a '..' that stays inside is fine");
    free(out);
    snprintf(abs_in, sizeof(abs_in), "%s/m.yaml", reg);
    err = qg_manifest_resolve_path(reg, abs_in, &out);
    cr_assert_null(err, "an absolute path inside the registry is fine");
    free(out);

    expect_outside(reg, "../secret.yaml", "outside the registry directory");
    expect_outside(reg, "sub/../../secret.yaml", "outside the registry directory");
    snprintf(abs_out, sizeof(abs_out), "%s/secret.yaml", tmpdir);
    expect_outside(reg, abs_out, "outside the registry directory");
    expect_outside(reg, "link.yaml", "outside the registry directory");
    expect_outside(reg, "/etc/passwd", "outside the registry directory");
    expect_outside(reg, "nope.yaml", "No such file");
    expect_outside(reg, "", "empty");
}

Test(manifest_path, registry_prefix_is_not_enough, .init = make_tree, .fini = drop_tree)
{
    /* /x/registry2/m.yaml must not pass as inside /x/registry. */
    char reg[200], cmd[1200], other[600];
    snprintf(reg, sizeof(reg), "%s/registry", tmpdir);
    snprintf(cmd, sizeof(cmd), "mkdir -p %s2 && echo 'x: 1' > %s2/m.yaml", reg, reg);
    cr_assert_eq(system(cmd), 0);
    snprintf(other, sizeof(other), "%s2/m.yaml", reg);
    expect_outside(reg, other, "outside the registry directory");
}

/* ---- placeholders ---- */

static qg_json_t *goal_doc(void)
{
    const char *text = "{\"QueryGoal\":{\"goalId\":\"g\",\"parameters\":["
                       "{\"key\":\"productType\",\"value\":\"P-1001\"},"
                       "{\"key\":\"quantity\",\"value\":100}]}}";
    return qg_json_parse(text, strlen(text), NULL, 0);
}

static void expect_fill(const char *tmpl, const char *want)
{
    qg_json_t *doc = goal_doc();
    char *out = NULL;
    qg_error_t *err = qg_manifest_fill(tmpl, doc, &out);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_str_eq(out, want);
    free(out);
    qg_json_destroy(doc);
}

static void expect_fill_error(const char *tmpl, const char *needle)
{
    qg_json_t *doc = goal_doc();
    char *out = NULL;
    qg_error_t *err = qg_manifest_fill(tmpl, doc, &out);
    cr_assert_not_null(err);
    cr_assert_null(out);
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_assert(strstr(qg_error_message(err), needle) != NULL, "%s", qg_error_message(err));
    qg_error_destroy(err);
    qg_json_destroy(doc);
}

Test(manifest_fill, placeholders)
{
    expect_fill("plain", "plain");
    expect_fill("", "");
    expect_fill("${param:productType}", "P-1001");
    expect_fill("${param:productType|idShort}", "P_1001");
    expect_fill("urn:spec:${param:productType}:q${param:quantity}", "urn:spec:P-1001:q100");
    expect_fill("cost $5", "cost $5");
    cr_assert(qg_manifest_has_placeholder("a${param:x}"));
    cr_assert_not(qg_manifest_has_placeholder("a$b"));
}

Test(manifest_fill, errors_name_the_parameter)
{
    expect_fill_error("${param:color}", "goal parameter 'color' is missing");
    expect_fill_error("${param:productType", "unterminated placeholder");
    expect_fill_error("${env:HOME}", "unknown placeholder '${env:HOME}'");
    expect_fill_error("${param:productType|upper}", "unknown placeholder filter 'upper'");
    expect_fill_error("${param:}", "bad placeholder name");
}

/* Every prefix of the seed manifest, and byte flips: an error or a manifest, never a crash. */
Test(manifest, truncated_and_mangled_input_never_crashes)
{
    FILE *f = fopen(SEED_MANIFEST, "rb");
    char *buf = malloc(1 << 16);
    size_t n;

    cr_assert_not_null(f);
    n = fread(buf, 1, 1 << 16, f);
    fclose(f);
    for (size_t len = 0; len <= n; len += 3) {
        qg_manifest_t *m = NULL;
        qg_error_t *err = qg_manifest_parse(buf, len, "t.yaml", &m);
        cr_assert((err == NULL) != (m == NULL), "prefix %zu: exactly one of error/manifest", len);
        qg_error_destroy(err);
        qg_manifest_destroy(m);
    }
    for (size_t i = 0; i < n; i += 5) {
        char saved = buf[i];
        qg_manifest_t *m = NULL;
        buf[i] = (char)(i % 3 == 0 ? ':' : i % 3 == 1 ? '-' : '\t');
        qg_error_t *err = qg_manifest_parse(buf, n, "t.yaml", &m);
        cr_assert((err == NULL) != (m == NULL));
        qg_error_destroy(err);
        qg_manifest_destroy(m);
        buf[i] = saved;
    }
    free(buf);
}
