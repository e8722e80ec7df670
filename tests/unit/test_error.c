#include <criterion/criterion.h>
#include <string.h>

#include "error.h"
#include "goal.h"
#include "json.h"

Test(error, one_constructor_per_class)
{
    struct {
        qg_error_t *err;
        qg_error_class_t cls;
        const char *name;
    } cases[] = {
        {qg_error_new_bad_input("b %d", 1), QG_ERR_BAD_INPUT, "bad_input"},
        {qg_error_new_gate_failed("g %d", 2), QG_ERR_GATE_FAILED, "gate_failed"},
        {qg_error_new_stage_error("s %d", 3), QG_ERR_STAGE_ERROR, "stage_error"},
        {qg_error_new_transient("t %d", 4), QG_ERR_TRANSIENT, "transient"},
        {qg_error_new_fatal("f %d", 5), QG_ERR_FATAL, "fatal"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_expect_eq(qg_error_class(cases[i].err), cases[i].cls, "case %zu", i);
        cr_expect_str_eq(qg_error_class_name(qg_error_class(cases[i].err)), cases[i].name);
        cr_expect_eq(qg_error_is_oom(cases[i].err), 0);
        qg_error_destroy(cases[i].err);
    }
    qg_error_t *t = qg_error_new_transient("later");
    cr_expect(qg_error_is_retriable(t) && !qg_error_is_fatal(t));
    qg_error_destroy(t);
}

Test(error, out_of_memory_is_fatal_and_stays_marked_when_wrapped)
{
    qg_error_t *err = qg_error_new_oom("manifest %s: out of memory", "m.yaml");
    cr_assert_eq(qg_error_class(err), QG_ERR_FATAL, "redelivered, never dead-lettered");
    cr_assert(qg_error_is_oom(err) && qg_error_is_fatal(err));
    err = qg_error_wrap(err, "binding");
    cr_assert_str_eq(qg_error_message(err), "binding: manifest m.yaml: out of memory");
    cr_assert(qg_error_is_oom(err), "the mark survives a wrap");
    qg_error_destroy(err);
    cr_assert(qg_error_is_oom(qg_error_oom) && qg_error_is_fatal(qg_error_oom));
    cr_assert(!qg_error_is_oom(NULL) && !qg_error_is_fatal(NULL));
}

Test(error, first_error_with_position_keeps_the_first)
{
    qg_error_t *err = NULL;
    qg_error_first_at(&err, QG_ERR_BAD_INPUT, "rules.swrl", 3, 14, "expected %s", "')'");
    qg_error_first_at(&err, QG_ERR_FATAL, "rules.swrl", 9, 1, "later error");
    qg_error_first_oom(&err, "rules.swrl");
    cr_assert_str_eq(qg_error_message(err), "rules.swrl:3:14: expected ')'");
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    qg_error_destroy(err);
    err = NULL;
    qg_error_first_at(&err, QG_ERR_BAD_INPUT, "m.yaml", 0, 0, "empty");
    cr_assert_str_eq(qg_error_message(err), "m.yaml: empty");
    qg_error_destroy(err);
    err = NULL;
    qg_error_first_oom(&err, "m.yaml");
    cr_assert(qg_error_is_oom(err));
    cr_assert_str_eq(qg_error_message(err), "m.yaml: out of memory");
    qg_error_destroy(err);
}

Test(error, text_that_is_not_json_is_bad_input)
{
    qg_error_t *err = NULL;
    cr_assert_null(qg_json_parse_classed("{\"a\": ", 6, &err));
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_assert(strncmp(qg_error_message(err), "not JSON: ", 10) == 0, "%s", qg_error_message(err));
    qg_error_destroy(err);
    qg_json_t *v = qg_json_parse_classed("[1]", 3, &err);
    cr_assert_not_null(v);
    cr_assert_null(err);
    qg_json_destroy(v);
    cr_assert_null(qg_goal_parse("nope", 4, NULL, &err));
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    qg_error_destroy(err);
}
