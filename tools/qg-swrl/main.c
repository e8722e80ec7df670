/*
 * qg-swrl - run the SWRL engine on a rule/fact case (a case file in tests/data/swrl/).
 *
 *   qg-swrl [--rules FILE] [--query PRED,...] [--provenance] [--check] CASE.json
 *
 * Prints {"PRED": [[subject, object], ...], ...} (sorted) for each queried
 * predicate (default selectedModel); with --provenance the full facts with
 * rule and bindings. --check compares with the case's "expect" (and "error"
 * for cases whose rules must be rejected) and exits 1 on a mismatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "swrl/swrl.h"

#define MAX_QUERIES 32

typedef struct opts_s {
    const char *rules_file;
    const char *queries[MAX_QUERIES];
    int nqueries;
    int provenance, check;
    const char *case_file;
    char *query_buf; /* owned copy of the query list the queries point into */
} opts_t;

static const qg_option_t swrl_options[] = {
    QG_OPT_STR("rules", NULL, "rules file (default: the case's own rules)"),
    QG_OPT_LIST("query", "selectedModel", "predicates to print"),
    QG_OPT_BOOL("provenance", "false", "print the full facts with rule and bindings"),
    QG_OPT_BOOL("check", "false",
                "compare with the case's \"expect\" (and \"error\") and exit 1 on a mismatch"),
    QG_OPT_TABLE_END("qg-swrl"),
};

static const qg_cli_t swrl_cli = {
    .program = "qg-swrl",
    .usage = "[options] CASE.json",
    .about = "Runs the SWRL engine on a rule/fact case (a case file in tests/data/swrl/) and\n"
             "prints {\"PRED\": [[subject, object], ...], ...} for each queried predicate.",
    .max_positional = 1,
};

/* Options into o (strings point into cfg); 0, or the exit code. */
static int parse_opts(const qg_config_t *cfg, char **rest, int nrest, opts_t *o)
{
    const char *rules = qg_config_get(cfg, "rules");
    o->rules_file = rules && *rules ? rules : NULL;
    o->provenance = qg_config_bool(cfg, "provenance");
    o->check = qg_config_bool(cfg, "check");
    o->case_file = nrest > 0 ? rest[0] : NULL;
    o->query_buf = strdup(qg_config_get(cfg, "query"));
    if (!o->query_buf) {
        fprintf(stderr, "qg-swrl: out of memory\n");
        return 1;
    }
    char *save = NULL;
    for (char *q = strtok_r(o->query_buf, ",", &save); q; q = strtok_r(NULL, ",", &save)) {
        if (o->nqueries == MAX_QUERIES) {
            fprintf(stderr, "qg-swrl: query: more than %d predicates\n", MAX_QUERIES);
            return 2;
        }
        o->queries[o->nqueries++] = q;
    }
    if (!o->case_file || o->nqueries == 0) {
        fprintf(stderr, "Usage: %s %s\n", swrl_cli.program, swrl_cli.usage);
        return 2;
    }
    return 0;
}

/* Rules text of a case: "rules" as a string or an array of lines. */
static char *case_rules(const qg_json_t *c)
{
    const qg_json_t *r = qg_json_get(c, "rules");
    size_t i, n = 1;
    char *buf;

    if (qg_json_is(r, QG_JSON_STRING))
        return strdup(qg_json_str(r));
    for (i = 0; i < qg_json_len(r); i++)
        n += qg_json_strlen(qg_json_at(r, i)) + 1;
    if (!(buf = calloc(n, 1)))
        return NULL;
    for (i = 0; i < qg_json_len(r); i++) {
        const char *line = qg_json_str(qg_json_at(r, i));
        strcat(buf, line ? line : "");
        strcat(buf, "\n");
    }
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted [[s, o], ...] of a JSON array of pairs / facts. */
static qg_json_t *sorted_pairs(const qg_json_t *facts, int from_query)
{
    size_t n = qg_json_len(facts), i;
    char **txt = calloc(n + 1, sizeof(*txt));
    qg_json_t *out = qg_json_array();

    for (i = 0; txt && out && i < n; i++) {
        const qg_json_t *f = qg_json_at(facts, i);
        qg_json_t *pair = qg_json_array();
        qg_json_append(pair,
                       qg_json_clone(from_query ? qg_json_get(f, "subject") : qg_json_at(f, 0)));
        qg_json_append(pair,
                       qg_json_clone(from_query ? qg_json_get(f, "object") : qg_json_at(f, 1)));
        txt[i] = qg_json_serialize(pair, 0, NULL);
        qg_json_destroy(pair);
    }
    if (txt)
        qsort(txt, n, sizeof(*txt), cmp_str);
    for (i = 0; txt && out && i < n; i++) {
        if (txt[i])
            qg_json_append(out, qg_json_parse(txt[i], strlen(txt[i]), NULL, 0));
        free(txt[i]);
    }
    free(txt);
    return out;
}

static int check_error(const qg_json_t *c, const qg_error_t *err)
{
    const char *want = qg_json_str(qg_json_get(c, "error"));

    if (!want && !err)
        return 0;
    if (want && err && strstr(qg_error_message(err), want))
        return 0;
    fprintf(stderr, "check: expected error containing \"%s\", got \"%s\"\n", want ? want : "",
            err ? qg_error_message(err) : "(no error)");
    return 1;
}

static int report(const opts_t *o, const qg_json_t *c, qg_swrl_kb_t *kb,
                  const qg_swrl_rules_t *rules)
{
    qg_json_t *out = qg_json_object();
    int i, bad = 0;
    char *txt;

    for (i = 0; i < o->nqueries; i++) {
        qg_json_t *facts = qg_swrl_kb_query(kb, rules, o->queries[i], NULL);
        qg_json_t *pairs = sorted_pairs(facts, 1);
        const qg_json_t *want = qg_json_get(qg_json_get(c, "expect"), o->queries[i]);
        if (o->check && want) {
            qg_json_t *ws = sorted_pairs(want, 0);
            if (!qg_json_equal(ws, pairs)) {
                fprintf(stderr, "check: %s differs from expect\n", o->queries[i]);
                bad = 1;
            }
            qg_json_destroy(ws);
        }
        qg_json_set(out, o->queries[i], o->provenance ? facts : pairs);
        qg_json_destroy(o->provenance ? pairs : facts);
    }
    txt = qg_json_serialize(out, o->provenance, NULL);
    printf("%s\n", txt ? txt : "null");
    free(txt);
    qg_json_destroy(out);
    return bad;
}

static int run_case(const opts_t *o, const qg_json_t *c)
{
    qg_error_t *err = NULL;
    qg_swrl_rules_t *rules;
    qg_swrl_kb_t *kb;
    int rc;
    char *text = o->rules_file ? NULL : case_rules(c);

    rules = o->rules_file ? qg_swrl_rules_load(o->rules_file, &err)
                          : qg_swrl_rules_parse(text, text ? strlen(text) : 0, o->case_file, &err);
    free(text);
    if (!rules || (o->check && qg_json_get(c, "error"))) {
        rc = o->check ? check_error(c, err) : 1;
        if (err && !o->check)
            fprintf(stderr, "%s\n", qg_error_message(err));
        qg_error_destroy(err);
        qg_swrl_rules_destroy(rules);
        return rc;
    }
    kb = qg_swrl_kb_new();
    err = kb ? qg_swrl_kb_add_individuals(kb, qg_json_get(c, "individuals")) : qg_error_oom;
    if (!err)
        err = qg_swrl_run(rules, kb, NULL);
    rc = err ? 1 : report(o, c, kb, rules);
    if (err)
        fprintf(stderr, "%s\n", qg_error_message(err));
    qg_error_destroy(err);
    qg_swrl_kb_destroy(kb);
    qg_swrl_rules_destroy(rules);
    return rc;
}

int main(int argc, char **argv)
{
    const qg_option_t *const tables[] = {swrl_options};
    opts_t o;
    char errstr[512], **rest;
    int nrest, rc;

    memset(&o, 0, sizeof(o));
    qg_config_t *cfg = qg_cli_config(&swrl_cli, tables, 1, argc, argv, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    rc = parse_opts(cfg, rest, nrest, &o);
    qg_json_t *c = rc ? NULL : qg_json_parse_file(o.case_file, errstr, sizeof(errstr));
    if (!rc && !c) {
        fprintf(stderr, "%s\n", errstr);
        rc = 1;
    }
    if (c)
        rc = run_case(&o, c);
    qg_json_destroy(c);
    free(o.query_buf);
    qg_config_destroy(cfg);
    return rc;
}
