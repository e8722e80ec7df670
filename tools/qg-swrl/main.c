/*
 * qg-swrl - run the SWRL engine on a rule/fact case (a case file in tests/data/swrl/).
 *
 *   qg-swrl [--rules FILE] [--query PRED]... [--provenance] [--check] CASE.json
 *
 * Prints {"PRED": [[subject, object], ...], ...} (sorted) for each queried
 * predicate (default selectedModel); with --provenance the full facts with
 * rule and bindings. --check compares with the case's "expect" (and "error"
 * for cases whose rules must be rejected) and exits 1 on a mismatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "swrl/swrl.h"

#define MAX_QUERIES 32

typedef struct opts_s {
    const char *rules_file;
    const char *queries[MAX_QUERIES];
    int nqueries;
    int provenance, check;
    const char *case_file;
} opts_t;

static int usage(void)
{
    fprintf(stderr, "usage: qg-swrl [--rules FILE] [--query PRED]... [--provenance] [--check] "
                    "CASE.json\n");
    return 2;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            o->rules_file = argv[++i];
        else if (strcmp(argv[i], "--query") == 0 && i + 1 < argc && o->nqueries < MAX_QUERIES)
            o->queries[o->nqueries++] = argv[++i];
        else if (strcmp(argv[i], "--provenance") == 0)
            o->provenance = 1;
        else if (strcmp(argv[i], "--check") == 0)
            o->check = 1;
        else if (argv[i][0] != '-' && !o->case_file)
            o->case_file = argv[i];
        else
            return -1;
    }
    if (!o->case_file)
        return -1;
    if (o->nqueries == 0)
        o->queries[o->nqueries++] = "selectedModel";
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
    opts_t o;
    char errstr[512];
    qg_json_t *c;
    int rc;

    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage();
        return 0;
    }
    if (argc > 1 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
        printf("qg-swrl %s\n", QG_VERSION);
        return 0;
    }
    if (parse_opts(argc, argv, &o) < 0)
        return usage();
    c = qg_json_parse_file(o.case_file, errstr, sizeof(errstr));
    if (!c) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    rc = run_case(&o, c);
    qg_json_destroy(c);
    return rc;
}
