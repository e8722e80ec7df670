/*
 * test_aas.c - AAS client: base64url and idShortPath vectors, value-only
 * conversion for every valueType and element kind, idShortPath lookup,
 * paging termination and error classes (through the transport seam).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aas/aas.h"
#include "b64.h"

static qg_json_t *parse(const char *text)
{
    char errstr[200];
    qg_json_t *v = qg_json_parse(text, strlen(text), errstr, sizeof(errstr));
    cr_assert_not_null(v, "test JSON does not parse: %s", errstr);
    return v;
}

/* The value-only JSON of `element` serialized, compared to `expected` JSON. */
static void check_value(const char *element, const char *expected)
{
    qg_json_t *el = parse(element), *want = parse(expected);
    qg_json_t *got = qg_aas_element_value(el);
    char *text = qg_json_serialize(got, 0, NULL);

    cr_assert(qg_json_equal(got, want), "value of %s: expected %s, got %s", element, expected,
              text);
    free(text);
    qg_json_destroy(el);
    qg_json_destroy(want);
    qg_json_destroy(got);
}

/* ---- base64url ---- */

Test(b64, rfc4648_vectors_without_padding)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        char *e = qg_b64url_encode(in[i], strlen(in[i]));
        cr_assert_str_eq(e, out[i], "encode(%s)", in[i]);
        free(e);
    }
}

Test(b64, url_alphabet_and_utf8)
{
    const unsigned char bin[] = {0xfb, 0xff, 0xbf};
    char *e = qg_b64url_encode(bin, 3);
    cr_assert_str_eq(e, "-_-_");
    free(e);
    e = qg_b64url_encode("urn:factory:submodel:capability:M1", 34);
    cr_assert_str_eq(e, "dXJuOmZhY3Rvcnk6c3VibW9kZWw6Y2FwYWJpbGl0eTpNMQ");
    free(e);
    e = qg_b64url_encode("\xc3\xa4\xc3\xb6", 4); /* "äö" */
    cr_assert_str_eq(e, "w6TDtg");
    free(e);
}

Test(b64, decode_accepts_padding_and_standard_alphabet)
{
    const char *forms[] = {"w6TDtg", "w6TDtg==", "Zm9vYmE=", "Zm9vYmE", "-_-_", "+/+/"};
    const char *want[] = {"\xc3\xa4\xc3\xb6", "\xc3\xa4\xc3\xb6", "fooba", "fooba",
                          "\xfb\xff\xbf",     "\xfb\xff\xbf"};
    for (size_t i = 0; i < 6; i++) {
        unsigned char *out;
        size_t n;
        cr_assert_eq(qg_b64_decode(forms[i], strlen(forms[i]), &out, &n), 0, "decode %s", forms[i]);
        cr_assert_eq(n, strlen(want[i]));
        cr_assert(memcmp(out, want[i], n) == 0, "decode %s", forms[i]);
        free(out);
    }
}

Test(b64, decode_rejects_garbage)
{
    unsigned char *out;
    size_t n;
    cr_assert_eq(qg_b64_decode("ab!d", 4, &out, &n), -1);
    cr_assert_eq(qg_b64_decode("abcde", 5, &out, &n), -1, "length 4k+1 is impossible");
}

Test(b64, roundtrip_all_lengths)
{
    unsigned char buf[64];
    for (size_t len = 0; len < sizeof(buf); len++) {
        unsigned char *out;
        size_t n;
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)(i * 37 + len);
        char *e = qg_b64url_encode(buf, len);
        cr_assert_null(strchr(e, '='));
        cr_assert_eq(qg_b64_decode(e, strlen(e), &out, &n), 0);
        cr_assert_eq(n, len);
        cr_assert(memcmp(out, buf, len) == 0);
        free(out);
        free(e);
    }
}

/* ---- paths ---- */

Test(aas_path, id_short_path_encoding)
{
    char *p = qg_aas_encode_id_short_path("a.b[2].c");
    cr_assert_str_eq(p, "a.b%5B2%5D.c");
    free(p);
    p = qg_aas_url_escape("x y/z?&=%");
    cr_assert_str_eq(p, "x%20y%2Fz%3F%26%3D%25");
    free(p);
}

Test(aas_path, resource_paths)
{
    char *p = qg_aas_path_submodel("urn:factory:submodel:simulation_data");
    cr_assert_str_eq(p, "/submodels/dXJuOmZhY3Rvcnk6c3VibW9kZWw6c2ltdWxhdGlvbl9kYXRh");
    free(p);
    p = qg_aas_path_shell("urn:factory:machine:M1");
    cr_assert_str_eq(p, "/shells/dXJuOmZhY3Rvcnk6bWFjaGluZTpNMQ");
    free(p);
    p = qg_aas_path_element("urn:x", "list[0].name");
    cr_assert_str_eq(p, "/submodels/dXJuOng/submodel-elements/list%5B0%5D.name");
    free(p);
}

/* ---- typed values ---- */

Test(aas_value, numeric_types)
{
    const char *types[] = {"xs:decimal",
                           "xs:double",
                           "xs:float",
                           "xs:integer",
                           "xs:int",
                           "xs:long",
                           "xs:short",
                           "xs:byte",
                           "xs:unsignedInt",
                           "xs:unsignedLong",
                           "xs:unsignedShort",
                           "xs:unsignedByte",
                           "xs:nonNegativeInteger",
                           "xs:positiveInteger",
                           "xs:negativeInteger",
                           "xs:nonPositiveInteger"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        qg_json_t *v = qg_aas_typed_value(types[i], "7");
        cr_assert(qg_json_is(v, QG_JSON_NUMBER), "%s must give a number", types[i]);
        cr_assert_float_eq(qg_json_num(v, 0), 7.0, 1e-12);
        qg_json_destroy(v);
    }
}

Test(aas_value, number_spellings)
{
    struct {
        const char *vt, *text, *json;
    } cases[] = {
        {"xs:double", "0.95", "0.95"},
        {"xs:double", " 1.5 ", "1.5"},
        {"xs:double", "+3", "3"},
        {"xs:double", "1e3", "1000"},
        {"xs:decimal", ".5", "0.5"},
        {"xs:decimal", "007", "7"},
        {"xs:integer", "-20", "-20"},
        {"xs:double", "INF", "\"INF\""},
        {"xs:double", "NaN", "\"NaN\""},
        {"xs:integer", "twelve", "\"twelve\""},
        {"xs:double", "", "\"\""},
        {"xs:double", "1.", "\"1.\""},
        {"xs:long", "12345678901234567890", "12345678901234567890"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        qg_json_t *v = qg_aas_typed_value(cases[i].vt, cases[i].text);
        qg_json_t *want = parse(cases[i].json);
        char *got = qg_json_serialize(v, 0, NULL);
        cr_assert(qg_json_equal(v, want), "%s '%s': expected %s, got %s", cases[i].vt,
                  cases[i].text, cases[i].json, got);
        free(got);
        qg_json_destroy(v);
        qg_json_destroy(want);
    }
}

Test(aas_value, large_integer_keeps_its_spelling)
{
    qg_json_t *v = qg_aas_typed_value("xs:unsignedLong", "18446744073709551615");
    char *t = qg_json_serialize(v, 0, NULL);
    cr_assert_str_eq(t, "18446744073709551615");
    free(t);
    qg_json_destroy(v);
}

Test(aas_value, booleans_strings_and_null)
{
    check_value("{\"modelType\":\"Property\",\"valueType\":\"xs:boolean\",\"value\":\"true\"}",
                "true");
    check_value("{\"modelType\":\"Property\",\"valueType\":\"xs:boolean\",\"value\":\"0\"}",
                "false");
    check_value("{\"modelType\":\"Property\",\"valueType\":\"xs:boolean\",\"value\":\"maybe\"}",
                "\"maybe\"");
    const char *stringy[] = {"xs:string",   "xs:anyURI",       "xs:date",
                             "xs:dateTime", "xs:time",         "xs:duration",
                             "xs:gYear",    "xs:base64Binary", "xs:hexBinary"};
    for (size_t i = 0; i < sizeof(stringy) / sizeof(stringy[0]); i++) {
        qg_json_t *v = qg_aas_typed_value(stringy[i], "12");
        cr_assert(qg_json_is(v, QG_JSON_STRING), "%s stays a string", stringy[i]);
        qg_json_destroy(v);
    }
    check_value("{\"modelType\":\"Property\",\"valueType\":\"xs:string\"}", "null");
    check_value("{\"modelType\":\"Property\",\"valueType\":\"xs:double\",\"value\":2.5}", "2.5");
}

/* ---- element kinds ---- */

Test(aas_value, collections_and_lists)
{
    check_value("{\"modelType\":\"SubmodelElementCollection\",\"idShort\":\"c\",\"value\":["
                "{\"modelType\":\"Property\",\"idShort\":\"a\",\"valueType\":\"xs:int\","
                "\"value\":\"1\"},"
                "{\"modelType\":\"SubmodelElementList\",\"idShort\":\"l\","
                "\"typeValueListElement\":\"Property\",\"value\":["
                "{\"modelType\":\"Property\",\"valueType\":\"xs:double\",\"value\":\"0.5\"},"
                "{\"modelType\":\"Property\",\"valueType\":\"xs:double\",\"value\":\"2\"}]},"
                "{\"modelType\":\"Operation\",\"idShort\":\"op\"},"
                "{\"modelType\":\"Capability\",\"idShort\":\"cap\"}]}",
                "{\"a\":1,\"l\":[0.5,2]}");
}

Test(aas_value, mlp_range_file_blob)
{
    check_value(
        "{\"modelType\":\"MultiLanguageProperty\",\"value\":["
        "{\"language\":\"en\",\"text\":\"drill\"},{\"language\":\"de\",\"text\":\"Bohrer\"}]}",
        "[{\"en\":\"drill\"},{\"de\":\"Bohrer\"}]");
    check_value(
        "{\"modelType\":\"Range\",\"valueType\":\"xs:integer\",\"min\":\"1\",\"max\":\"9\"}",
        "{\"min\":1,\"max\":9}");
    check_value("{\"modelType\":\"Range\",\"valueType\":\"xs:double\",\"min\":\"1.5\"}",
                "{\"min\":1.5,\"max\":null}");
    check_value("{\"modelType\":\"File\",\"contentType\":\"text/csv\",\"value\":\"/a.csv\"}",
                "{\"contentType\":\"text/csv\",\"value\":\"/a.csv\"}");
    check_value("{\"modelType\":\"Blob\",\"contentType\":\"application/octet-stream\","
                "\"value\":\"AAEC\"}",
                "{\"contentType\":\"application/octet-stream\",\"value\":\"AAEC\"}");
}

Test(aas_value, references_relationships_entities_events)
{
    const char *ref = "{\"type\":\"ModelReference\",\"keys\":[{\"type\":\"Submodel\","
                      "\"value\":\"urn:x\"}]}";
    char el[1024], want[1024];

    snprintf(el, sizeof(el), "{\"modelType\":\"ReferenceElement\",\"value\":%s}", ref);
    check_value(el, ref);
    snprintf(el, sizeof(el), "{\"modelType\":\"RelationshipElement\",\"first\":%s,\"second\":%s}",
             ref, ref);
    snprintf(want, sizeof(want), "{\"first\":%s,\"second\":%s}", ref, ref);
    check_value(el, want);
    snprintf(el, sizeof(el),
             "{\"modelType\":\"AnnotatedRelationshipElement\",\"first\":%s,\"second\":%s,"
             "\"annotations\":[{\"modelType\":\"Property\",\"idShort\":\"w\","
             "\"valueType\":\"xs:int\",\"value\":\"3\"}]}",
             ref, ref);
    snprintf(want, sizeof(want), "{\"first\":%s,\"second\":%s,\"annotations\":{\"w\":3}}", ref,
             ref);
    check_value(el, want);
    check_value("{\"modelType\":\"Entity\",\"entityType\":\"SelfManagedEntity\","
                "\"globalAssetId\":\"urn:a\",\"statements\":[{\"modelType\":\"Property\","
                "\"idShort\":\"s\",\"valueType\":\"xs:string\",\"value\":\"x\"}]}",
                "{\"entityType\":\"SelfManagedEntity\",\"globalAssetId\":\"urn:a\","
                "\"statements\":{\"s\":\"x\"}}");
    snprintf(el, sizeof(el), "{\"modelType\":\"BasicEventElement\",\"observed\":%s}", ref);
    snprintf(want, sizeof(want), "{\"observed\":%s}", ref);
    check_value(el, want);
    check_value("{\"modelType\":\"Operation\"}", "null");
}

Test(aas_value, missing_model_type_is_inferred)
{
    check_value("{\"valueType\":\"xs:integer\",\"value\":\"4\"}", "4");
    check_value("{\"typeValueListElement\":\"Property\",\"value\":[{\"valueType\":\"xs:int\","
                "\"value\":\"1\"}]}",
                "[1]");
    check_value("{\"value\":[{\"idShort\":\"k\",\"valueType\":\"xs:string\",\"value\":\"v\"}]}",
                "{\"k\":\"v\"}");
}

Test(aas_value, seed_machine_submodel)
{
    qg_json_t *sm = parse(
        "{\"id\":\"urn:factory:submodel:capability:M1\",\"submodelElements\":["
        "{\"idShort\":\"machine_type\",\"modelType\":\"Property\",\"valueType\":\"xs:string\","
        "\"value\":\"CNC\"},"
        "{\"idShort\":\"performable_operations\",\"modelType\":\"SubmodelElementList\","
        "\"typeValueListElement\":\"Property\",\"value\":[{\"modelType\":\"Property\","
        "\"valueType\":\"xs:string\",\"value\":\"drilling\"}]},"
        "{\"idShort\":\"efficiency\",\"modelType\":\"Property\",\"valueType\":\"xs:double\","
        "\"value\":\"0.95\"}]}");
    qg_json_t *v = qg_aas_submodel_value(sm);
    qg_json_t *want = parse("{\"machine_type\":\"CNC\",\"performable_operations\":[\"drilling\"],"
                            "\"efficiency\":0.95}");
    cr_assert(qg_json_equal(v, want));
    cr_assert(qg_json_is(qg_json_get(v, "efficiency"), QG_JSON_NUMBER));
    qg_json_destroy(sm);
    qg_json_destroy(v);
    qg_json_destroy(want);
}

/* ---- idShortPath lookup ---- */

Test(aas_find, nested_paths_and_errors)
{
    qg_json_t *sm = parse(
        "{\"submodelElements\":[{\"idShort\":\"a\",\"modelType\":\"SubmodelElementCollection\","
        "\"value\":[{\"idShort\":\"b\",\"modelType\":\"SubmodelElementList\",\"value\":["
        "{\"modelType\":\"Property\",\"value\":\"0\"},"
        "{\"modelType\":\"Property\",\"value\":\"1\"},"
        "{\"modelType\":\"SubmodelElementCollection\",\"value\":[{\"idShort\":\"c\","
        "\"modelType\":\"Property\",\"value\":\"deep\"}]}]}]}]}");
    char err[256];
    const qg_json_t *el = qg_aas_find_element(sm, "a.b[2].c", err, sizeof(err));
    cr_assert_not_null(el, "%s", err);
    cr_assert_str_eq(qg_json_str(qg_json_get(el, "value")), "deep");
    el = qg_aas_find_element(sm, "a.b[1]", err, sizeof(err));
    cr_assert_str_eq(qg_json_str(qg_json_get(el, "value")), "1");
    cr_assert_null(qg_aas_find_element(sm, "a.x", err, sizeof(err)));
    cr_assert(strstr(err, "'a.x'") != NULL, "error names the path: %s", err);
    cr_assert_null(qg_aas_find_element(sm, "a.b[9]", err, sizeof(err)));
    cr_assert_null(qg_aas_find_element(sm, "a.b[x]", err, sizeof(err)));
    cr_assert_null(qg_aas_find_element(sm, "a..b", err, sizeof(err)));
    cr_assert_null(qg_aas_find_element(sm, "", err, sizeof(err)));
    cr_assert_null(qg_aas_find_element(sm, "a.b[1", err, sizeof(err)));
    qg_json_destroy(sm);
}

/* ---- paging and errors through the transport seam ---- */

typedef struct fake_s {
    const char *const *bodies; /* one per call */
    const long *statuses;
    size_t n, calls;
    char urls[16][512];
    int fail_connect;
} fake_t;

static int fake_transport(void *opaque, const char *url, long *status, char **body, size_t *len,
                          char *errstr, size_t errsz)
{
    fake_t *f = opaque;
    size_t i = f->calls++;

    if (i < 16)
        snprintf(f->urls[i], sizeof(f->urls[i]), "%s", url);
    if (f->fail_connect) {
        snprintf(errstr, errsz, "Connection refused");
        return -1;
    }
    cr_assert_lt(i, f->n, "too many requests: %zu (paging must stop)", i + 1);
    *status = f->statuses ? f->statuses[i] : 200;
    *body = strdup(f->bodies[i]);
    *len = strlen(*body);
    return 0;
}

static qg_aas_client_t *fake_client(fake_t *f)
{
    qg_aas_conf_t conf = {.base_url = "http://127.0.0.1:1/api/v3.0/", .tls_verify = 1};
    qg_aas_client_t *c = NULL;
    qg_error_t *err = qg_aas_client_new(&conf, &c);
    cr_assert_null(err, "%s", qg_error_message(err));
    qg_aas_client_set_transport(c, fake_transport, f);
    return c;
}

Test(aas_paging, stops_when_cursor_absent)
{
    const char *bodies[] = {
        "{\"paging_metadata\":{\"cursor\":\"c1\"},\"result\":[{\"id\":\"1\"},{\"id\":\"2\"}]}",
        "{\"paging_metadata\":{},\"result\":[{\"id\":\"3\"}]}"};
    fake_t f = {.bodies = bodies, .n = 2};
    qg_aas_client_t *c = fake_client(&f);
    qg_json_t *items;
    qg_error_t *err = qg_aas_list(c, "/shells", NULL, 2, &items);

    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_eq(qg_json_len(items), 3);
    cr_assert_eq(f.calls, 2);
    cr_assert_str_eq(f.urls[0], "http://127.0.0.1:1/api/v3.0/shells?limit=2");
    cr_assert_str_eq(f.urls[1], "http://127.0.0.1:1/api/v3.0/shells?limit=2&cursor=c1");
    cr_assert_eq(qg_aas_request_count(c), 2);
    qg_json_destroy(items);
    qg_aas_client_destroy(c);
}

Test(aas_paging, stops_on_empty_page_with_cursor)
{
    /* BaSyx Python always returns a cursor, also after the last item. */
    const char *bodies[] = {"{\"paging_metadata\":{\"cursor\":\"3\"},\"result\":[{\"id\":\"1\"},"
                            "{\"id\":\"2\"}]}",
                            "{\"paging_metadata\":{\"cursor\":\"5\"},\"result\":[]}"};
    fake_t f = {.bodies = bodies, .n = 2};
    qg_aas_client_t *c = fake_client(&f);
    qg_json_t *items;
    qg_error_t *err = qg_aas_list(c, "/submodels", "idShort=x", 2, &items);

    cr_assert_null(err);
    cr_assert_eq(qg_json_len(items), 2);
    cr_assert_str_eq(f.urls[1], "http://127.0.0.1:1/api/v3.0/submodels?limit=2&idShort=x&cursor=3");
    qg_json_destroy(items);
    qg_aas_client_destroy(c);
}

Test(aas_paging, stops_on_repeated_cursor_and_bare_arrays)
{
    const char *bodies[] = {"{\"paging_metadata\":{\"cursor\":\"same\"},\"result\":[{\"a\":1}]}",
                            "{\"paging_metadata\":{\"cursor\":\"same\"},\"result\":[{\"a\":2}]}",
                            "[{\"a\":1},{\"a\":2}]"};
    fake_t f = {.bodies = bodies, .n = 3};
    qg_aas_client_t *c = fake_client(&f);
    qg_json_t *items;

    cr_assert_null(qg_aas_list(c, "/shells", NULL, 1, &items));
    cr_assert_eq(qg_json_len(items), 2);
    qg_json_destroy(items);
    cr_assert_null(qg_aas_list(c, "/shells", NULL, 1, &items));
    cr_assert_eq(qg_json_len(items), 2, "an old server's bare array is one page");
    qg_json_destroy(items);
    qg_aas_client_destroy(c);
}

Test(aas_paging, shell_filters_in_the_query)
{
    const char *bodies[] = {"{\"result\":[{\"id\":\"urn:factory:machine:M1\"}]}",
                            "{\"result\":[]}"};
    fake_t f = {.bodies = bodies, .n = 2};
    qg_aas_client_t *c = fake_client(&f);
    qg_json_t *items;

    cr_assert_null(qg_aas_get_shells_by_asset(c, "globalAssetId", "urn:a", &items));
    /* base64url of {"name":"globalAssetId","value":"urn:a"} */
    cr_assert_str_eq(f.urls[0], "http://127.0.0.1:1/api/v3.0/shells?limit=100&assetIds="
                                "eyJuYW1lIjoiZ2xvYmFsQXNzZXRJZCIsInZhbHVlIjoidXJuOmEifQ");
    qg_json_destroy(items);
    cr_assert_null(qg_aas_get_shells(c, "M 1", &items));
    cr_assert_str_eq(f.urls[1], "http://127.0.0.1:1/api/v3.0/shells?limit=100&idShort=M%201");
    qg_json_destroy(items);
    qg_aas_client_destroy(c);
}

Test(aas_errors, not_found_names_id_path_and_server_message)
{
    const char *bodies[] = {"{\"messages\":[{\"messageType\":\"Error\",\"text\":\"No Submodel "
                            "with urn:missing found!\"}]}"};
    const long st[] = {404};
    fake_t f = {.bodies = bodies, .statuses = st, .n = 1};
    qg_aas_client_t *c = fake_client(&f);
    qg_json_t *out;
    qg_error_t *err = qg_aas_get_submodel(c, "urn:missing", &out);

    cr_assert_eq(qg_error_class(err), QG_ERR_STAGE_ERROR);
    cr_assert(strstr(qg_error_message(err), "submodel 'urn:missing' not found") != NULL, "%s",
              qg_error_message(err));
    cr_assert(strstr(qg_error_message(err), "/submodels/dXJuOm1pc3Npbmc") != NULL);
    cr_assert(strstr(qg_error_message(err), "No Submodel with urn:missing found!") != NULL);
    qg_error_destroy(err);
    qg_aas_client_destroy(c);
}

Test(aas_errors, classes_by_status)
{
    struct {
        long status;
        qg_error_class_t cls;
    } cases[] = {{400, QG_ERR_STAGE_ERROR}, {401, QG_ERR_STAGE_ERROR}, {403, QG_ERR_STAGE_ERROR},
                 {404, QG_ERR_STAGE_ERROR}, {408, QG_ERR_TRANSIENT},   {429, QG_ERR_TRANSIENT},
                 {500, QG_ERR_TRANSIENT},   {501, QG_ERR_STAGE_ERROR}, {502, QG_ERR_TRANSIENT},
                 {503, QG_ERR_TRANSIENT},   {504, QG_ERR_TRANSIENT}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        qg_error_t *err = qg_aas_http_error(cases[i].status, "not json", 8, "x", "http://h/x");
        cr_assert_eq(qg_error_class(err), cases[i].cls, "HTTP %ld -> %s", cases[i].status,
                     qg_error_class_name(qg_error_class(err)));
        qg_error_destroy(err);
    }
    cr_assert_null(qg_aas_http_error(200, "{}", 2, "x", "u"));
}

Test(aas_errors, connect_failure_is_transient_and_bad_json_permanent)
{
    fake_t f = {.fail_connect = 1};
    qg_aas_client_t *c = fake_client(&f);
    qg_json_t *out;
    qg_error_t *err = qg_aas_get_shell(c, "urn:s", &out);
    cr_assert_eq(qg_error_class(err), QG_ERR_TRANSIENT);
    cr_assert(strstr(qg_error_message(err), "Connection refused") != NULL);
    qg_error_destroy(err);
    qg_aas_client_destroy(c);

    const char *bodies[] = {"{not json"};
    fake_t g = {.bodies = bodies, .n = 1};
    c = fake_client(&g);
    err = qg_aas_get_description(c, &out);
    cr_assert_eq(qg_error_class(err), QG_ERR_STAGE_ERROR);
    cr_assert(strstr(qg_error_message(err), "invalid JSON") != NULL);
    qg_error_destroy(err);
    qg_aas_client_destroy(c);
}

Test(aas_client, real_connect_refused_is_transient)
{
    /* A real curl transfer to a closed loopback port. */
    qg_aas_conf_t conf = {.base_url = "http://127.0.0.1:9/api/v3.0", .connect_timeout_ms = 2000};
    qg_aas_client_t *c = NULL;
    qg_json_t *out;
    qg_error_t *err = qg_aas_client_new(&conf, &c);
    cr_assert_null(err);
    err = qg_aas_get_submodel(c, "urn:x", &out);
    cr_assert_eq(qg_error_class(err), QG_ERR_TRANSIENT, "%s", qg_error_message(err));
    qg_error_destroy(err);
    qg_aas_client_destroy(c);
}

Test(aas_client, rejects_bad_base_url)
{
    qg_aas_conf_t conf = {.base_url = "ftp://x"};
    qg_aas_client_t *c = NULL;
    qg_error_t *err = qg_aas_client_new(&conf, &c);
    cr_assert_not_null(err);
    cr_assert_null(c);
    qg_error_destroy(err);
    conf.base_url = NULL;
    err = qg_aas_client_new(&conf, &c);
    cr_assert_not_null(err);
    qg_error_destroy(err);
}

/* ---- a one-shot HTTP server on loopback, to see what the client sends ---- */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct one_shot_s {
    int fd;
    int port;
    char req[4096];
    const char *reply;
} one_shot_t;

static void *one_shot_main(void *opaque)
{
    one_shot_t *s = opaque;
    int c = accept(s->fd, NULL, NULL);
    size_t n = 0;

    if (c < 0)
        return NULL;
    while (n + 1 < sizeof(s->req)) {
        ssize_t r = read(c, s->req + n, sizeof(s->req) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        s->req[n] = '\0';
        if (strstr(s->req, "\r\n\r\n"))
            break;
    }
    if (write(c, s->reply, strlen(s->reply)) < 0)
        n = 0;
    close(c);
    return NULL;
}

static pthread_t one_shot_start(one_shot_t *s, const char *reply)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    pthread_t t;

    s->reply = reply;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(s->fd, 0);
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s->fd, 1), 0);
    cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&t, NULL, one_shot_main, s), 0);
    return t;
}

Test(aas_client, sends_bearer_token_and_accept_header)
{
    one_shot_t s = {0};
    pthread_t t = one_shot_start(&s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
    char url[64];
    qg_aas_conf_t conf = {.base_url = url, .token = "s3cret-token", .tls_verify = 1};
    qg_aas_client_t *c = NULL;
    qg_json_t *out = NULL;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v3.0", s.port);
    cr_assert_null(qg_aas_client_new(&conf, &c));
    qg_error_t *err = qg_aas_get_description(c, &out);
    pthread_join(t, NULL);
    close(s.fd);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert(qg_json_is(out, QG_JSON_OBJECT));
    cr_assert(strstr(s.req, "GET /api/v3.0/description HTTP/1.1\r\n") == s.req, "%s", s.req);
    cr_assert(strstr(s.req, "\r\nAuthorization: Bearer s3cret-token\r\n") != NULL, "%s", s.req);
    cr_assert(strstr(s.req, "\r\nAccept: application/json\r\n") != NULL, "%s", s.req);
    qg_json_destroy(out);
    qg_aas_client_destroy(c);
}

Test(aas_client, server_error_message_reaches_the_error)
{
    one_shot_t s = {0};
    const char *body = "{\"messages\":[{\"messageType\":\"Error\",\"text\":\"overloaded!!\"}]}";
    char reply[512];
    snprintf(reply, sizeof(reply),
             "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(body), body);
    pthread_t t = one_shot_start(&s, reply);
    char url[64];
    qg_aas_conf_t conf = {.base_url = url};
    qg_aas_client_t *c = NULL;
    qg_json_t *out = NULL;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v3.0", s.port);
    cr_assert_null(qg_aas_client_new(&conf, &c));
    qg_error_t *err = qg_aas_get_submodel(c, "urn:x", &out);
    pthread_join(t, NULL);
    close(s.fd);
    cr_assert_eq(qg_error_class(err), QG_ERR_TRANSIENT, "%s", qg_error_message(err));
    cr_assert(strstr(qg_error_message(err), "HTTP 503") != NULL, "%s", qg_error_message(err));
    cr_assert(strstr(qg_error_message(err), "overloaded!!") != NULL, "%s", qg_error_message(err));
    qg_error_destroy(err);
    qg_aas_client_destroy(c);
}

Test(aas_value, odd_shapes_never_crash)
{
    const char *odd[] = {
        "null",
        "1",
        "\"x\"",
        "[]",
        "{}",
        "{\"modelType\":5}",
        "{\"modelType\":\"Property\"}",
        "{\"modelType\":\"Property\",\"valueType\":5,\"value\":{\"a\":1}}",
        "{\"modelType\":\"SubmodelElementCollection\",\"value\":\"notalist\"}",
        "{\"modelType\":\"SubmodelElementCollection\",\"value\":[1,null,{\"idShort\":3}]}",
        "{\"modelType\":\"SubmodelElementList\",\"value\":{\"a\":1}}",
        "{\"modelType\":\"MultiLanguageProperty\",\"value\":[1,{\"language\":2}]}",
        "{\"modelType\":\"Range\"}",
        "{\"modelType\":\"Entity\",\"statements\":7}",
        "{\"modelType\":\"AnnotatedRelationshipElement\",\"annotations\":\"x\"}",
        "{\"modelType\":\"Banana\",\"value\":[1]}"};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        qg_json_t *el = parse(odd[i]);
        qg_json_t *v = qg_aas_element_value(el);
        cr_assert_not_null(v, "%s", odd[i]);
        qg_json_destroy(v);
        v = qg_aas_submodel_value(el);
        cr_assert_not_null(v);
        qg_json_destroy(v);
        char err[128];
        (void)qg_aas_find_element(el, "a.b[0]", err, sizeof(err));
        qg_json_destroy(el);
    }
}
