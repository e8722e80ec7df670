/*
 * test_swrl.c - SWRL parser (valid and invalid rules with positions),
 * built-ins, joins, chained rules to a fixpoint, determinism, limits, and the
 * rule/fact cases in tests/data/swrl (checked against their "expect").
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swrl/swrl.h"

/* ---------------------------------------------------------------- helpers */

static qg_swrl_rules_t *parse_ok(const char *text)
{
    qg_error_t *err = NULL;
    qg_swrl_rules_t *r = qg_swrl_rules_parse(text, strlen(text), "t.swrl", &err);

    cr_assert(r, "expected rules to parse, got: %s", qg_error_message(err));
    return r;
}

/* Parse must fail with exactly this message. */
static void parse_fails(const char *text, const char *want)
{
    qg_error_t *err = NULL;
    qg_swrl_rules_t *r = qg_swrl_rules_parse(text, strlen(text), "t.swrl", &err);

    cr_assert_null(r, "expected a parse error for: %s", text);
    cr_assert_eq(qg_error_class(err), QG_ERR_FATAL);
    cr_assert_str_eq(qg_error_message(err), want, "for: %s\n  got:  %s\n  want: %s", text,
                     qg_error_message(err), want);
    qg_error_destroy(err);
}

static int cmp_items(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run rules over individuals (JSON text) and return "s->o" pairs of pred, sorted. */
static char *infer(const char *rules_text, const char *facts, const char *pred)
{
    qg_swrl_rules_t *rules = parse_ok(rules_text);
    qg_swrl_kb_t *kb = qg_swrl_kb_new();
    char errstr[256];
    qg_json_t *ind = qg_json_parse(facts, strlen(facts), errstr, sizeof(errstr));
    qg_error_t *err;
    qg_json_t *q;
    char *out = calloc(1, 4096), *items[64];
    size_t i, n;

    cr_assert(ind, "facts: %s", errstr);
    err = qg_swrl_kb_add_individuals(kb, ind);
    cr_assert_null(err, "%s", qg_error_message(err));
    err = qg_swrl_run(rules, kb, NULL);
    cr_assert_null(err, "%s", qg_error_message(err));
    q = qg_swrl_kb_query(kb, rules, pred, NULL);
    n = qg_json_len(q);
    cr_assert(n < 64);
    for (i = 0; i < n; i++) {
        const qg_json_t *f = qg_json_at(q, i);
        char *o = qg_json_serialize(qg_json_get(f, "object"), 0, NULL);
        items[i] = malloc(256);
        if (!qg_json_get(f, "object"))
            snprintf(items[i], 256, "%s", qg_json_str(qg_json_get(f, "subject")));
        else
            snprintf(items[i], 256, "%s->%s", qg_json_str(qg_json_get(f, "subject")),
                     o[0] == '"' ? qg_json_str(qg_json_get(f, "object")) : o);
        free(o);
    }
    qsort(items, n, sizeof(*items), cmp_items);
    for (i = 0; i < n; i++) {
        if (i)
            strcat(out, " ");
        strcat(out, items[i]);
        free(items[i]);
    }
    qg_json_destroy(q);
    qg_json_destroy(ind);
    qg_swrl_kb_destroy(kb);
    qg_swrl_rules_destroy(rules);
    return out;
}

static void expect_infer(const char *rules, const char *facts, const char *pred, const char *want)
{
    char *got = infer(rules, facts, pred);

    cr_assert_str_eq(got, want, "rules: %s\n  got:  [%s]\n  want: [%s]", rules, got, want);
    free(got);
}

/* ---------------------------------------------------------------- parser */

Test(parser, protege_syntax)
{
    qg_swrl_rules_t *r = parse_ok(
        "# comment line\n"
        "goal3: QueryGoal(?g) ^ goalType(?g, \"goal3_predict_production_time\") ^ Model(?m) ^ "
        "purpose(?m, \"production_time_prediction\") -> selectedModel(?g, ?m)\n"
        "Person(?p) ^ hasAge(?p, ?a) ^ swrlb:greaterThan(?a, 17) -> Adult(?p)   # trailing\n"
        "multi:\n  A(?x) ^\n  B(?x)\n  -> C(?x) ^ D(?x)\n"
        "u: A(?x) \xE2\x88\xA7 B(?x) \xE2\x86\x92 C(?x)\n"
        "lit: A(?x) ^ p(?x, \"5\"^^xsd:integer) ^ q(?x, 2.5) ^ r(?x, true) ^ s(?x, -3) ^ "
        "t(?x, Fred) ^ sameAs(?x, ?x) ^ differentFrom(?x, Fred) -> ex:Done(?x)\n"
        "-> Fact(Fred)\n");

    cr_assert_eq(qg_swrl_rules_count(r), 6);
    cr_assert_str_eq(qg_swrl_rule_name(r, 0), "goal3");
    cr_assert_str_eq(qg_swrl_rule_name(r, 1), "rule2");
    cr_assert_str_eq(qg_swrl_rule_name(r, 2), "multi");
    cr_assert_eq(qg_swrl_rule_line(r, 2), 4);
    cr_assert_str_eq(qg_swrl_rule_name(r, 5), "rule6");
    cr_assert_null(qg_swrl_rules_preference(r));
    qg_swrl_rules_destroy(r);
}

Test(parser, preference_directive)
{
    qg_swrl_rules_t *r =
        parse_ok("preference: performance.accuracy desc, avgLatency asc # why\nA(?x) -> B(?x)\n");

    cr_assert_str_eq(qg_swrl_rules_preference(r), "performance.accuracy desc, avgLatency asc");
    qg_swrl_rules_destroy(r);
    parse_fails("preference: a\npreference: b\n", "t.swrl:2:1: duplicate preference directive");
    parse_fails("preference:   # nothing\n",
                "t.swrl:1:1: preference: expected 'key [asc|desc], ...'");
}

Test(parser, empty_and_comments_only)
{
    qg_swrl_rules_t *r = parse_ok("# nothing here\n\n   \n");

    cr_assert_eq(qg_swrl_rules_count(r), 0);
    qg_swrl_rules_destroy(r);
}

Test(parser, syntax_errors_with_positions)
{
    parse_fails("A(?x) -> ", "t.swrl:1:10: expected a head atom after '->', got end of input");
    parse_fails("A(?x) B(?x)", "t.swrl:1:7: expected '^' or '->', got name");
    parse_fails("\n  A(?x ^ B(?x) -> C(?x)", "t.swrl:2:8: expected ',' or ')', got '^'");
    parse_fails("A(?x) -> B(?x)\nC(? ) -> D(?x)", "t.swrl:2:3: expected a variable name after '?'");
    parse_fails("A(\"abc) -> B(?x)", "t.swrl:1:3: unterminated string literal");
    parse_fails("A(?x) ^ p(?x, 12abc) -> B(?x)", "t.swrl:1:15: malformed number");
    parse_fails("A(?x) ^ p(?x, 99999999999999999999) -> B(?x)",
                "t.swrl:1:15: integer out of range: 99999999999999999999");
    parse_fails("A(?x) ; B(?x)", "t.swrl:1:7: unexpected character ';'");
    parse_fails("A(?x) -> B(?x) ^", "t.swrl:1:17: expected an atom, got end of input");
    parse_fails("A -> B(?x)", "t.swrl:1:3: expected '(' after A, got '->'");
    parse_fails("A(,) -> B(?x)", "t.swrl:1:3: expected an argument, got ','");
    parse_fails("r: A(?x) -> B(?x)\nr: C(?x) -> D(?x)", "t.swrl:2:1: duplicate rule name 'r'");
    parse_fails("A(?x) ^ p(?x, \"x\"^^xsd:dateTime) -> B(?x)",
                "t.swrl:1:15: unsupported datatype xsd:dateTime");
    parse_fails("A(?x) ^ p(?x, \"x\"^^xsd:integer) -> B(?x)",
                "t.swrl:1:15: \"x\" is not a valid xsd:integer");
    parse_fails("A(?x) ^ p(?x, \"1\"^^) -> B(?x)",
                "t.swrl:1:20: expected a datatype after '^^', got ')'");
    parse_fails("A(?x, ?y, ?z) -> B(?x)",
                "t.swrl:1:1: A: an atom takes 1 argument (class) or 2 (property), got 3");
    parse_fails("A(<http://x) -> B(?x)", "t.swrl:1:3: unterminated IRI (expected '>')");
    parse_fails("A(?x)\x01", "t.swrl:1:6: unexpected byte 0x01");
}

Test(parser, builtin_errors)
{
    parse_fails("A(?x) ^ swrlb:foo(?x, 1) -> B(?x)", "t.swrl:1:9: unknown built-in swrlb:foo");
    parse_fails("A(?x) ^ swrlb:lessThan(?x) -> B(?x)",
                "t.swrl:1:9: swrlb:lessThan takes 2 arguments, got 1");
    parse_fails("A(?x) ^ swrlb:subtract(?y, ?x) -> B(?x)",
                "t.swrl:1:9: swrlb:subtract takes 3 arguments, got 2");
    parse_fails("A(?x) ^ swrlb:matches(?x) -> B(?x)",
                "t.swrl:1:9: swrlb:matches takes 2 or 3 arguments, got 1");
    parse_fails("A(?x) ^ swrlb:add(?y) -> B(?x)",
                "t.swrl:1:9: swrlb:add takes 2 or more arguments, got 1");
    parse_fails("A(?x) ^ swrlb:matches(?x, \"(\") -> B(?x)",
                "t.swrl:1:9: swrlb:matches: invalid regular expression \"(\"");
    parse_fails("A(?x) ^ swrlb:matches(?x, \"a*++++++\") -> B(?x)",
                "t.swrl:1:9: swrlb:matches: regular expression too costly (stacked quantifiers, "
                "more than one {n,m}, bounds over 100, or over 512 bytes)");
    parse_fails("A(?x) ^ swrlb:matches(?x, \"(a{1,100}){1,100}\") -> B(?x)",
                "t.swrl:1:9: swrlb:matches: regular expression too costly (stacked quantifiers, "
                "more than one {n,m}, bounds over 100, or over 512 bytes)");
    qg_swrl_rules_destroy(parse_ok("A(?x) ^ swrlb:matches(?x, \"^a\\\\*+(b|c){2,5}$\") -> B(?x)"));
    parse_fails("A(?x) ^ sameAs(?x) -> B(?x)", "t.swrl:1:9: sameAs takes 2 arguments, got 1");
}

Test(parser, safety)
{
    parse_fails("A(?x) -> B(?y)",
                "t.swrl:1:10: unsafe rule: variable ?y in the head is not bound in the body");
    parse_fails("A(?x) ^ swrlb:lessThan(?x, ?z) -> B(?x)",
                "t.swrl:1:9: unsafe rule: variable ?z in swrlb:lessThan is not bound by a class "
                "or property atom");
    parse_fails("A(?x) ^ swrlb:add(?r, ?x, ?q) -> B(?r)",
                "t.swrl:1:9: unsafe rule: variable ?q in swrlb:add is not bound by a class or "
                "property atom");
    parse_fails("A(?x) -> swrlb:equal(?x, 1)",
                "t.swrl:1:10: swrlb:equal is not allowed in a rule head");
    parse_fails("A(?x) ^ B(?y) -> sameAs(?x, ?y)",
                "t.swrl:1:18: sameAs is not allowed in a rule head");
    /* a math built-in binds its first argument, which the head may use */
    qg_swrl_rules_destroy(parse_ok("A(?x) ^ v(?x, ?a) ^ swrlb:add(?r, ?a, 1) -> w(?x, ?r)"));
    /* a built-in written before the atom that binds its input is fine */
    qg_swrl_rules_destroy(parse_ok("swrlb:greaterThan(?a, 1) ^ v(?x, ?a) -> B(?x)"));
}

Test(parser, load_file_errors)
{
    qg_error_t *err = NULL;

    cr_assert_null(qg_swrl_rules_load("/nonexistent/rules.swrl", &err));
    cr_assert(strstr(qg_error_message(err), "/nonexistent/rules.swrl: cannot open rules file"));
    qg_error_destroy(err);
}

/* ---------------------------------------------------------------- built-ins */

#define F_NUM                                                                                      \
    "{\"a\": {\"classes\": [\"T\"], \"v\": 5, \"d\": 2.5, \"s\": \"Hello World\"},"                \
    " \"b\": {\"classes\": [\"T\"], \"v\": 10, \"d\": 2.5, \"s\": \"hello\"}}"

Test(builtins, comparison)
{
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:equal(?v, 5) -> R(?x)", F_NUM, "R", "a");
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:notEqual(?v, 5) -> R(?x)", F_NUM, "R", "b");
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:lessThan(?v, 10) -> R(?x)", F_NUM, "R", "a");
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:lessThanOrEqual(?v, 10) -> R(?x)", F_NUM, "R", "a b");
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:greaterThan(?v, 5) -> R(?x)", F_NUM, "R", "b");
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:greaterThanOrEqual(?v, 5.0) -> R(?x)", F_NUM, "R",
                 "a b");
    /* argument order: lessThan(a, b) means a < b */
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:lessThan(7, ?v) -> R(?x)", F_NUM, "R", "b");
    /* integers and decimals compare by value; strings lexicographically */
    expect_infer("T(?x) ^ d(?x, ?d) ^ swrlb:equal(?d, \"2.50\"^^xsd:decimal) -> R(?x)", F_NUM, "R",
                 "a b");
    expect_infer("T(?x) ^ s(?x, ?s) ^ swrlb:lessThan(?s, \"Z\") -> R(?x)", F_NUM, "R", "a");
    /* mixed kinds never order */
    expect_infer("T(?x) ^ s(?x, ?s) ^ swrlb:lessThan(?s, 1) -> R(?x)", F_NUM, "R", "");
}

Test(builtins, strings)
{
    expect_infer("T(?x) ^ s(?x, ?s) ^ swrlb:stringEqualIgnoreCase(?s, \"HELLO\") -> R(?x)", F_NUM,
                 "R", "b");
    expect_infer("T(?x) ^ s(?x, ?s) ^ swrlb:startsWith(?s, \"Hello\") -> R(?x)", F_NUM, "R", "a");
    expect_infer("T(?x) ^ s(?x, ?s) ^ swrlb:endsWith(?s, \"llo\") -> R(?x)", F_NUM, "R", "b");
    expect_infer("T(?x) ^ s(?x, ?s) ^ swrlb:contains(?s, \"o W\") -> R(?x)", F_NUM, "R", "a");
    expect_infer("T(?x) ^ s(?x, ?s) ^ swrlb:matches(?s, \"^h.*o$\") -> R(?x)", F_NUM, "R", "b");
    expect_infer("T(?x) ^ s(?x, ?s) ^ swrlb:matches(?s, \"^h\", \"i\") -> R(?x)", F_NUM, "R",
                 "a b");
    /* string built-ins do not apply to numbers */
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:startsWith(?v, \"5\") -> R(?x)", F_NUM, "R", "");
}

Test(builtins, math)
{
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:add(?r, ?v, 1, 2) -> w(?x, ?r)", F_NUM, "w",
                 "a->8 b->13");
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:subtract(?r, ?v, 1) -> w(?x, ?r)", F_NUM, "w",
                 "a->4 b->9");
    expect_infer("T(?x) ^ v(?x, ?v) ^ d(?x, ?d) ^ swrlb:multiply(?r, ?v, ?d) -> w(?x, ?r)", F_NUM,
                 "w", "a->12.5 b->25");
    /* bound first argument: a check */
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:add(15, ?v, 5) -> R(?x)", F_NUM, "R", "b");
    expect_infer("T(?x) ^ v(?x, ?v) ^ swrlb:subtract(0, ?v, 5) -> R(?x)", F_NUM, "R", "a");
    /* decimals: 0.1 + 0.2 equals 0.3 */
    expect_infer("T(?x) ^ swrlb:add(0.3, 0.1, 0.2) -> R(?x)", F_NUM, "R", "a b");
    /* integer overflow falls back to decimal instead of wrapping */
    expect_infer("T(?x) ^ v(?x, 5) ^ swrlb:multiply(?r, 9223372036854775807, 2) ^ "
                 "swrlb:greaterThan(?r, 0) -> R(?x)",
                 F_NUM, "R", "a");
}

Test(builtins, same_and_different)
{
    expect_infer("T(?x) ^ T(?y) ^ sameAs(?x, ?y) -> P(?x, ?y)", F_NUM, "P", "a->a b->b");
    expect_infer("T(?x) ^ T(?y) ^ differentFrom(?x, ?y) -> P(?x, ?y)", F_NUM, "P", "a->b b->a");
    expect_infer("T(?x) ^ differentFrom(?x, a) -> R(?x)", F_NUM, "R", "b");
}

/* ---------------------------------------------------------------- joins and fixpoint */

#define F_SHOP                                                                                     \
    "{\"g\": {\"classes\": [\"QueryGoal\"], \"forProduct\": {\"ref\": \"P1\"}, \"qty\": 4},"       \
    " \"P1\": {\"needs\": [{\"ref\": \"drill\"}, {\"ref\": \"mill\"}]},"                           \
    " \"M1\": {\"classes\": [\"Machine\"], \"can\": [{\"ref\": \"drill\"}]},"                      \
    " \"M2\": {\"classes\": [\"Machine\"], \"can\": [{\"ref\": \"mill\"}, {\"ref\": \"drill\"}]}}"

Test(engine, join_over_several_atoms)
{
    expect_infer("QueryGoal(?g) ^ forProduct(?g, ?p) ^ needs(?p, ?op) ^ Machine(?m) ^ can(?m, ?op)"
                 " -> uses(?g, ?m)",
                 F_SHOP, "uses", "g->M1 g->M2");
    /* same variable twice in one atom */
    expect_infer("Machine(?m) ^ can(?m, ?x) ^ can(?m, ?y) ^ differentFrom(?x, ?y) -> multi(?m, ?m)",
                 F_SHOP, "multi", "M2->M2");
}

Test(engine, chained_rules_to_fixpoint)
{
    /* transitive closure needs several passes */
    const char *facts = "{\"a\": {\"next\": {\"ref\": \"b\"}}, \"b\": {\"next\": {\"ref\": \"c\"}},"
                        " \"c\": {\"next\": {\"ref\": \"d\"}}, \"d\": {}}";
    const char *rules = "base: next(?x, ?y) -> reach(?x, ?y)\n"
                        "step: reach(?x, ?y) ^ next(?y, ?z) -> reach(?x, ?z)\n";
    qg_swrl_rules_t *r = parse_ok(rules);
    qg_swrl_kb_t *kb = qg_swrl_kb_new();
    qg_json_t *ind = qg_json_parse(facts, strlen(facts), NULL, 0);
    qg_swrl_stats_t st;
    qg_error_t *err;

    cr_assert_null(qg_swrl_kb_add_individuals(kb, ind));
    err = qg_swrl_run(r, kb, &st);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_eq(st.inferred, 6, "reach facts: %zu", st.inferred);
    cr_assert_geq(st.rounds, 2);
    qg_json_destroy(ind);
    qg_swrl_kb_destroy(kb);
    qg_swrl_rules_destroy(r);
    expect_infer(rules, facts, "reach", "a->b a->c a->d b->c b->d c->d");
}

Test(engine, provenance_names_rule_and_bindings)
{
    const char *facts = "{\"g\": {\"classes\": [\"QueryGoal\"], \"t\": \"x\"},"
                        " \"M\": {\"classes\": [\"Model\"], \"p\": \"x\"}}";
    qg_swrl_rules_t *r = parse_ok("first: QueryGoal(?g) ^ t(?g, ?v) ^ Model(?m) ^ p(?m, ?v) -> "
                                  "selectedModel(?g, ?m)\n"
                                  "second: Model(?m) ^ QueryGoal(?g) -> selectedModel(?g, ?m)\n");
    qg_swrl_kb_t *kb = qg_swrl_kb_new();
    qg_json_t *ind = qg_json_parse(facts, strlen(facts), NULL, 0), *q, *f;

    cr_assert_null(qg_swrl_kb_add_individuals(kb, ind));
    cr_assert_null(qg_swrl_run(r, kb, NULL));
    q = qg_swrl_kb_query(kb, r, "selectedModel", "g");
    cr_assert_eq(qg_json_len(q), 1);
    f = qg_json_at(q, 0);
    cr_assert_str_eq(qg_json_str(qg_json_get(f, "rule")), "first");
    cr_assert_str_eq(qg_json_str(qg_json_path(f, "bindings.v")), "x");
    cr_assert_str_eq(qg_json_str(qg_json_path(f, "bindings.m")), "M");
    cr_assert(qg_json_truthy(qg_json_get(f, "inferred")));
    qg_json_destroy(q);
    q = qg_swrl_kb_query(kb, r, "Model", NULL);
    cr_assert_eq(qg_json_len(q), 1);
    cr_assert_not(qg_json_truthy(qg_json_get(qg_json_at(q, 0), "inferred")));
    qg_json_destroy(q);
    qg_json_destroy(ind);
    qg_swrl_kb_destroy(kb);
    qg_swrl_rules_destroy(r);
}

Test(engine, deterministic)
{
    const char *rules = "a: T(?x) ^ T(?y) ^ v(?x, ?a) ^ v(?y, ?b) ^ swrlb:lessThan(?a, ?b) -> "
                        "lt(?x, ?y)\nb: lt(?x, ?y) ^ lt(?y, ?z) -> lt2(?x, ?z)\n";
    char *first = infer(rules, F_NUM, "lt"), *again;
    int i;

    for (i = 0; i < 5; i++) {
        again = infer(rules, F_NUM, "lt");
        cr_assert_str_eq(again, first);
        free(again);
    }
    free(first);
}

Test(engine, runaway_rules_stop_at_the_limit)
{
    qg_swrl_rules_t *r = parse_ok("n(?x, ?v) ^ swrlb:add(?w, ?v, 1) -> n(?x, ?w)");
    qg_swrl_kb_t *kb = qg_swrl_kb_new();
    qg_error_t *err;

    qg_swrl_kb_set_limit(kb, 1000);
    cr_assert_eq(qg_swrl_kb_add_int(kb, "a", "n", 0), 0);
    err = qg_swrl_run(r, kb, NULL);
    cr_assert(err);
    cr_assert_eq(qg_error_class(err), QG_ERR_STAGE_ERROR);
    cr_assert(strstr(qg_error_message(err), "exceeded 1000 facts"), "%s", qg_error_message(err));
    qg_error_destroy(err);
    qg_swrl_kb_destroy(kb);
    qg_swrl_rules_destroy(r);
}

Test(engine, json_facts_flatten)
{
    const char *doc = "{\"performance\": {\"accuracy\": 0.85, \"avgLatency\": \"35s\"},"
                      " \"capabilities\": [\"a\", \"b\"], \"n\": 3, \"x\": null, \"ok\": true}";
    qg_json_t *m = qg_json_parse(doc, strlen(doc), NULL, 0);
    qg_swrl_kb_t *kb = qg_swrl_kb_new();
    size_t i;

    for (i = 0; i < qg_json_len(m); i++)
        cr_assert_eq(qg_swrl_kb_add_json(kb, "M", qg_json_key_at(m, i), qg_json_at(m, i), 1), 0);
    /* accuracy + alias, avgLatency + alias, 2 capabilities, n, ok */
    cr_assert_eq(qg_swrl_kb_size(kb), 8, "facts: %zu", qg_swrl_kb_size(kb));
    qg_json_destroy(m);
    qg_swrl_kb_destroy(kb);
    expect_infer("performance.accuracy(?m, ?a) ^ accuracy(?m, ?a) -> R(?m)",
                 "{\"M\": {\"performance.accuracy\": 0.85, \"accuracy\": 0.85}}", "R", "M");
}

/* ---------------------------------------------------------------- data cases */

Test(cases, every_case_matches_its_expectation)
{
    char dir[1024], path[2048];
    qg_error_t *err = NULL;
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/tests/data/swrl", QG_SOURCE_DIR);
    d = opendir(dir);
    cr_assert(d, "cannot open %s", dir);
    while ((e = readdir(d))) {
        qg_json_t *c;
        qg_swrl_rules_t *r;
        qg_swrl_kb_t *kb;
        const qg_json_t *rules;
        char text[8192] = "";
        size_t i;
        if (!strstr(e->d_name, ".json"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        c = qg_json_parse_file(path, text, sizeof(text));
        cr_assert(c, "%s", text);
        text[0] = '\0';
        rules = qg_json_get(c, "rules");
        for (i = 0; i < qg_json_len(rules); i++) {
            strncat(text, qg_json_str(qg_json_at(rules, i)), sizeof(text) - strlen(text) - 2);
            strcat(text, "\n");
        }
        r = qg_swrl_rules_parse(text, strlen(text), path, &err);
        cr_assert(r, "%s", qg_error_message(err));
        kb = qg_swrl_kb_new();
        cr_assert_null(qg_swrl_kb_add_individuals(kb, qg_json_get(c, "individuals")));
        cr_assert_null(qg_swrl_run(r, kb, NULL));
        {
            qg_json_t *q = qg_swrl_kb_query(kb, r, "selectedModel", NULL);
            const qg_json_t *want = qg_json_path(c, "expect.selectedModel");
            size_t j, k;
            cr_assert_eq(qg_json_len(q), qg_json_len(want), "%s: %zu facts, expected %zu", path,
                         qg_json_len(q), qg_json_len(want));
            for (j = 0; j < qg_json_len(want); j++) {
                int found = 0;
                for (k = 0; k < qg_json_len(q); k++)
                    found |= strcmp(qg_json_str(qg_json_at(qg_json_at(want, j), 0)),
                                    qg_json_str(qg_json_get(qg_json_at(q, k), "subject"))) == 0 &&
                             strcmp(qg_json_str(qg_json_at(qg_json_at(want, j), 1)),
                                    qg_json_str(qg_json_get(qg_json_at(q, k), "object"))) == 0;
                cr_assert(found, "%s: expected fact %zu not inferred", path, j);
            }
            qg_json_destroy(q);
        }
        qg_swrl_kb_destroy(kb);
        qg_swrl_rules_destroy(r);
        qg_json_destroy(c);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 20, "only %d cases", n);
}
