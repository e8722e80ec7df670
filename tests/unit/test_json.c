#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static qg_json_t *parse(const char *s)
{
    char err[256];
    qg_json_t *v = qg_json_parse(s, strlen(s), err, sizeof(err));
    cr_assert_not_null(v, "parse failed: %s", err);
    return v;
}

static void assert_roundtrip(const char *text)
{
    qg_json_t *v = parse(text);
    char *out = qg_json_serialize(v, 0, NULL);
    cr_assert_str_eq(out, text);
    free(out);
    qg_json_destroy(v);
}

Test(json, roundtrip_keeps_order_and_number_spelling)
{
    assert_roundtrip("{\"b\":1,\"a\":[true,false,null,\"x\"],\"n\":12345678901234567890,"
                     "\"f\":1.50,\"e\":-2E+3}");
}

Test(json, unicode_and_escapes_survive)
{
    assert_roundtrip("{\"k\":\"é\\n\\\"q\\\"\",\"ko\":\"제품 생산\"}");
    /* \u escapes are decoded and written as UTF-8 */
    qg_json_t *v = parse("\"\\u00e9\"");
    cr_assert_str_eq(qg_json_str(v), "é");
    qg_json_destroy(v);
}

Test(json, errors_name_line_and_column)
{
    char err[256];
    const char *bad = "{\n  \"a\": 1,\n  \"b\": }";
    cr_assert_null(qg_json_parse(bad, strlen(bad), err, sizeof(err)));
    cr_assert(strstr(err, "line 3") != NULL, "got: %s", err);
}

Test(json, rejects_empty_trailing_and_invalid_utf8)
{
    char err[256];
    cr_assert_null(qg_json_parse("", 0, err, sizeof(err)));
    cr_assert_null(qg_json_parse("{} x", 4, err, sizeof(err)));
    cr_assert_null(qg_json_parse("\"\xff\"", 3, err, sizeof(err)));
}

Test(json, depth_is_bounded)
{
    char buf[QG_JSON_MAX_DEPTH * 2 + 8];
    size_t n = 0;
    for (int i = 0; i < QG_JSON_MAX_DEPTH + 2; i++)
        buf[n++] = '[';
    char err[256];
    cr_assert_null(qg_json_parse(buf, n, err, sizeof(err)));
    cr_assert(strstr(err, "deeper") != NULL, "got: %s", err);
}

Test(json, mutation_and_paths)
{
    qg_json_t *v = parse("{\"a\":{\"b\":[10,{\"c\":\"x\"}]}}");
    cr_assert_str_eq(qg_json_str(qg_json_path(v, "a.b[1].c")), "x");
    cr_assert_eq(qg_json_num(qg_json_path(v, "a.b[0]"), 0), 10);
    cr_assert_null(qg_json_path(v, "a.b[2]"));
    cr_assert_eq(qg_json_set_str(qg_json_get(v, "a"), "b", "replaced"), 0);
    cr_assert_str_eq(qg_json_str(qg_json_path(v, "a.b")), "replaced");
    qg_json_t *taken = qg_json_take(v, "a");
    cr_assert_not_null(taken);
    cr_assert_eq(qg_json_len(v), 0);
    qg_json_destroy(taken);
    cr_assert_eq(qg_json_set_num(v, "pi", 3.25), 0);
    char *out = qg_json_serialize(v, 0, NULL);
    cr_assert_str_eq(out, "{\"pi\":3.25}");
    free(out);
    qg_json_destroy(v);
}

Test(json, clone_is_deep_and_equal)
{
    qg_json_t *v = parse("{\"a\":[1,{\"b\":null}],\"c\":\"d\"}");
    qg_json_t *c = qg_json_clone(v);
    cr_assert(qg_json_equal(v, c));
    qg_json_set_bool(qg_json_at(qg_json_get(c, "a"), 1), "b", 1);
    cr_assert_not(qg_json_equal(v, c));
    qg_json_destroy(v);
    qg_json_destroy(c);
}

Test(json, insert_into_wrong_type_consumes_value)
{
    qg_json_t *arr = qg_json_array();
    cr_assert_eq(qg_json_set(arr, "k", qg_json_string("leak?")), -1);
    cr_assert_eq(qg_json_append(NULL, qg_json_string("leak?")), -1);
    qg_json_destroy(arr);
}

Test(json, non_finite_numbers_become_null)
{
    qg_json_t *o = qg_json_object();
    qg_json_set_num(o, "x", 1.0 / 0.0);
    qg_json_set_num(o, "y", 0.1);
    char *out = qg_json_serialize(o, 0, NULL);
    cr_assert_str_eq(out, "{\"x\":null,\"y\":0.1}");
    free(out);
    qg_json_destroy(o);
}

Test(json, a_failed_write_marks_the_document_and_serialising_it_fails)
{
    qg_json_t *doc = qg_json_object();
    qg_json_t *result = qg_json_get_or_add_object(doc, "result");
    cr_assert_eq(qg_json_set_num(result, "estimatedTime", 42), 0);
    cr_assert_not(qg_json_failed(doc));
    char *text = qg_json_serialize(doc, 0, NULL);
    cr_assert_str_eq(text, "{\"result\":{\"estimatedTime\":42}}");
    free(text);
    /* A failed constructor hands NULL to the setter: the field is lost, so the result is marked. */
    cr_assert_eq(qg_json_set(result, "plan", NULL), -1);
    cr_assert(qg_json_failed(result));
    cr_assert(qg_json_failed(doc), "the mark is seen from the document that holds the result");
    cr_assert_null(qg_json_serialize(doc, 0, NULL), "no document without the lost field");
    cr_assert_null(qg_json_serialize(result, 1, NULL));
    /* Sticky: later good writes do not clear it. */
    cr_assert_eq(qg_json_set_str(result, "later", "ok"), 0);
    cr_assert_null(qg_json_serialize(doc, 0, NULL));
    qg_json_destroy(doc);
}

Test(json, a_failed_append_marks_the_array_and_clones_keep_the_mark)
{
    qg_json_t *arr = qg_json_array();
    cr_assert_eq(qg_json_append(arr, qg_json_number(1)), 0);
    cr_assert_eq(qg_json_append(arr, NULL), -1);
    cr_assert(qg_json_failed(arr));
    qg_json_t *copy = qg_json_clone(arr);
    cr_assert(qg_json_failed(copy), "a copy does not hide the lost element");
    cr_assert_null(qg_json_serialize(copy, 0, NULL));
    qg_json_destroy(copy);
    qg_json_destroy(arr);
    /* Writing into the wrong kind of container marks it too. */
    qg_json_t *obj = qg_json_object();
    cr_assert_eq(qg_json_append(obj, qg_json_number(1)), -1);
    cr_assert(qg_json_failed(obj));
    qg_json_destroy(obj);
    cr_assert_not(qg_json_failed(NULL));
}

Test(json, duplicate_member_names_are_refused)
{
    static const char *const dups[] = {
        "{\"goalId\":\"a\",\"x\":1,\"goalId\":\"b\"}",
        "{\"a\":{\"k\":1,\"k\":1}}",
        "[1,{\"z\":0,\"y\":0,\"x\":0,\"y\":[]}]",
    };
    for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
        char err[256] = "";
        qg_json_t *v = qg_json_parse(dups[i], strlen(dups[i]), err, sizeof(err));
        cr_expect_null(v, "accepted %s", dups[i]);
        cr_expect_not_null(strstr(err, "twice"), "%s: %s", dups[i], err);
        cr_expect_not_null(strstr(err, "RFC 7493"), "%s", err);
        qg_json_destroy(v);
    }
    char err[256];
    const char *distinct = "{\"a\":{\"k\":1},\"b\":{\"k\":2},\"k\":3}";
    qg_json_t *v = qg_json_parse(distinct, strlen(distinct), err, sizeof(err));
    cr_expect_not_null(v, "same name in different objects refused: %s", err);
    qg_json_destroy(v);
}

Test(json, duplicate_names_in_a_large_object_are_refused)
{
    char text[4096];
    size_t o = 0;
    o += (size_t)snprintf(text + o, sizeof(text) - o, "{");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "\"k%d\":%d,", i, i);
    snprintf(text + o, sizeof(text) - o, "\"k57\":0}");
    char err[256] = "";
    qg_json_t *v = qg_json_parse(text, strlen(text), err, sizeof(err));
    cr_expect_null(v);
    cr_expect_not_null(strstr(err, "\"k57\" twice"), "%s", err);
    qg_json_destroy(v);
}
