/*
 * ask.c - natural language -> QueryGoal by pattern matching with YAML templates.
 *
 * Loading: the YAML file is turned into a qg_json_t tree (libyaml document
 * API), then every goal template is checked and its regexes compiled. A
 * parameter pattern holds one slot ({id}, {int}, {date}); the slot is
 * replaced by a capture group and its group index remembered.
 *
 * Building: the request is checked (UTF-8, length), whitespace collapsed,
 * the goal type chosen by counting matching patterns, then each parameter is
 * taken from the first acceptable slot match.
 */
#include "ask.h"
#include "file.h"
#include "yaml_json.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <yaml.h>

#include "goal.h"

#define BAD(...)            qg_error_new_bad_input(__VA_ARGS__)
#define ASK_MAX_FILE        (1024 * 1024)
#define ASK_MAX_MATCH_TRIES 64
#define ASK_MAX_GROUPS      16 /* capture groups examined per parameter pattern */

typedef enum { SLOT_NONE, SLOT_ID, SLOT_INT, SLOT_DATE } slot_kind_t;
typedef enum { PT_STRING, PT_INTEGER, PT_NUMBER, PT_DATE } param_type_t;
typedef enum { CASE_KEEP, CASE_UPPER, CASE_LOWER } case_mode_t;

typedef struct {
    regex_t re;
    int compiled;
    size_t group; /* capture group of the slot */
    slot_kind_t slot;
} ask_pattern_t;

typedef struct {
    const char *key;     /* points into the goal's template */
    const char *missing; /* may be NULL */
    param_type_t type;
    case_mode_t case_mode;
    int required;
    ask_pattern_t *patterns;
    size_t npatterns;
    regex_t shape;
    int has_shape;
    const qg_json_t *reject; /* array of strings or NULL */
    double min, max;
    int has_min, has_max;
} ask_param_t;

typedef struct {
    const char *goal_type;
    const char *id_prefix;
    const qg_json_t *tmpl; /* the goal's entry in the YAML tree */
    regex_t *patterns;
    size_t npatterns;
    ask_param_t *params;
    size_t nparams;
} ask_goal_t;

struct qg_ask_s {
    qg_json_t *root; /* the whole file as JSON; templates point into it */
    ask_goal_t *goals;
    size_t ngoals;
    char *date_slot; /* regex for {date} */
    char *extra_stages;
};

/* ================= YAML -> JSON ================= */

/* ================= small helpers ================= */

static int is_id_byte(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-' || c == '.';
}

/* Append `s` to a regex, escaping every ERE special character. */
static void fput_regex_literal(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (strchr(".[]{}()\\*+?^$|", *s))
            fputc('\\', f);
        fputc(*s, f);
    }
}

static const char *json_str_or(const qg_json_t *v, const char *dflt)
{
    const char *s = qg_json_str(v);
    return s && *s ? s : dflt;
}

/* ================= templates: slots ================= */

static const char SLOT_ID_RE[] = "([A-Za-z0-9]+([_.-][A-Za-z0-9]+)*)";
static const char SLOT_INT_RE[] = "([0-9]{1,3}(,[0-9]{3})+|[0-9]+)";

static slot_kind_t slot_at(const char *p, size_t *len)
{
    static const struct {
        const char *name;
        slot_kind_t kind;
    } slots[] = {{"{id}", SLOT_ID}, {"{int}", SLOT_INT}, {"{date}", SLOT_DATE}};
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        size_t n = strlen(slots[i].name);
        if (strncmp(p, slots[i].name, n) == 0) {
            *len = n;
            return slots[i].kind;
        }
    }
    return SLOT_NONE;
}

/* Skip a bracket expression starting at p ('['); returns the byte after ']'. */
static const char *skip_bracket(const char *p)
{
    p++;
    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    while (*p && *p != ']') {
        if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
            const char *close = strstr(p + 2, (char[]){p[1], ']', '\0'});
            p = close ? close + 2 : p + strlen(p);
        } else {
            p++;
        }
    }
    return *p ? p + 1 : p;
}

static size_t count_groups(const char *re)
{
    size_t n = 0;
    for (const char *p = re; *p;) {
        if (*p == '\\' && p[1])
            p += 2;
        else if (*p == '[')
            p = skip_bracket(p);
        else
            n += (*p++ == '(');
    }
    return n;
}

typedef struct {
    char *text; /* expanded regex, malloc'd */
    size_t group;
    slot_kind_t slot;
    int nslots;
} expansion_t;

static void expand_slots(const char *src, const char *date_slot, FILE *f, expansion_t *ex)
{
    size_t groups = 0;
    for (const char *p = src; *p;) {
        size_t len = 0;
        slot_kind_t k = slot_at(p, &len);
        if (k != SLOT_NONE) {
            const char *re = k == SLOT_ID ? SLOT_ID_RE : k == SLOT_INT ? SLOT_INT_RE : date_slot;
            ex->slot = k;
            ex->group = groups + 1;
            ex->nslots++;
            groups += count_groups(re);
            fputs(re, f);
            p += len;
        } else if (*p == '\\' && p[1]) {
            fwrite(p, 1, 2, f);
            p += 2;
        } else if (*p == '[') {
            const char *end = skip_bracket(p);
            fwrite(p, 1, (size_t)(end - p), f);
            p = end;
        } else {
            groups += (*p == '(');
            fputc(*p++, f);
        }
    }
}

static qg_error_t *compile_re(regex_t *re, const char *text, int flags, const char *where)
{
    int rc = regcomp(re, text, flags);
    if (rc == 0)
        return NULL;
    char msg[256];
    regerror(rc, re, msg, sizeof(msg));
    return BAD("%s: regex does not compile: %s", where, msg);
}

static qg_error_t *compile_param_pattern(ask_pattern_t *pat, const char *src, const char *date_slot,
                                         const char *where)
{
    expansion_t ex = {0};
    size_t size = 0;
    FILE *f = open_memstream(&ex.text, &size);
    if (!f)
        return qg_error_new_oom("%s: out of memory", where);
    expand_slots(src, date_slot, f, &ex);
    if (fclose(f) != 0 || !ex.text) {
        free(ex.text);
        return qg_error_new_oom("%s: out of memory", where);
    }
    qg_error_t *err = NULL;
    if (ex.nslots != 1)
        err = BAD("%s: a parameter pattern needs exactly one slot ({id}, {int} or {date}), "
                  "found %d",
                  where, ex.nslots);
    else if (!(err = compile_re(&pat->re, ex.text, REG_EXTENDED | REG_ICASE, where)))
        pat->compiled = 1;
    if (!err && (pat->re.re_nsub < ex.group || ex.group >= ASK_MAX_GROUPS))
        err = BAD("%s: the slot must be within the first %d groups", where, ASK_MAX_GROUPS - 1);
    pat->group = ex.group;
    pat->slot = ex.slot;
    free(ex.text);
    return err;
}

/* The {date} slot: ISO dates plus every word of relativeDates. */
static qg_error_t *build_date_slot(qg_ask_t *ask, const char *name)
{
    size_t size = 0;
    FILE *f = open_memstream(&ask->date_slot, &size);
    if (!f)
        return qg_error_new_oom("out of memory");
    fputs("([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}|"
          "[0-9]{4}\\.[0-9]{1,2}\\.[0-9]{1,2}|"
          "(last|past) [0-9]{1,5} ?(hours|hour|hrs|h|days|day|d|minutes|mins|min)|"
          "(최근|지난) ?[0-9]{1,5} ?(시간|일|분)",
          f);
    const qg_json_t *rel = qg_json_get(ask->root, "relativeDates");
    qg_error_t *err = NULL;
    if (rel && !qg_json_is(rel, QG_JSON_OBJECT))
        err = BAD("%s: relativeDates: expected a mapping of word -> day offset", name);
    for (size_t i = 0; !err && i < qg_json_len(rel); i++) {
        const char *word = qg_json_key_at(rel, i);
        if (!qg_json_is(qg_json_at(rel, i), QG_JSON_NUMBER) || !*word)
            err = BAD("%s: relativeDates.%s: expected a whole number of days", name, word);
        fputc('|', f);
        fput_regex_literal(f, word);
    }
    fputc(')', f);
    if (fclose(f) != 0 || !ask->date_slot)
        return err ? err : qg_error_new_oom("out of memory");
    return err;
}

/* ================= templates: checks ================= */

static qg_error_t *need_string_list(const qg_json_t *v, const char *where, int nonempty)
{
    if (!qg_json_is(v, QG_JSON_ARRAY))
        return BAD("%s: expected a list of strings", where);
    if (nonempty && qg_json_len(v) == 0)
        return BAD("%s: must not be empty", where);
    for (size_t i = 0; i < qg_json_len(v); i++)
        if (!qg_json_str(qg_json_at(v, i)) || !*qg_json_str(qg_json_at(v, i)))
            return BAD("%s[%zu]: expected a non-empty string", where, i);
    return NULL;
}

static qg_error_t *parse_param_type(const qg_json_t *v, param_type_t *t, const char *where)
{
    const char *s = json_str_or(v, "string");
    static const char *const names[] = {"string", "integer", "number", "date"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *t = (param_type_t)i;
            return NULL;
        }
    return BAD("%s.type: unknown type \"%.40s\" (string, integer, number, date)", where, s);
}

static qg_error_t *parse_case(const qg_json_t *v, case_mode_t *c, const char *where)
{
    const char *s = json_str_or(v, "keep");
    *c = strcmp(s, "upper") == 0 ? CASE_UPPER : strcmp(s, "lower") == 0 ? CASE_LOWER : CASE_KEEP;
    if (*c == CASE_KEEP && strcmp(s, "keep") != 0)
        return BAD("%s.case: expected keep, upper or lower", where);
    return NULL;
}

static qg_error_t *parse_bounds(ask_param_t *p, const qg_json_t *t, const char *where)
{
    const qg_json_t *mn = qg_json_get(t, "min"), *mx = qg_json_get(t, "max");
    if ((mn && !qg_json_is(mn, QG_JSON_NUMBER)) || (mx && !qg_json_is(mx, QG_JSON_NUMBER)))
        return BAD("%s: min and max must be numbers", where);
    p->has_min = mn != NULL;
    p->has_max = mx != NULL;
    p->min = qg_json_num(mn, 0);
    p->max = qg_json_num(mx, 0);
    if (p->has_min && p->has_max && p->min > p->max)
        return BAD("%s: min is above max", where);
    return NULL;
}

static qg_error_t *load_param(const qg_ask_t *ask, ask_param_t *p, const qg_json_t *t,
                              const char *where)
{
    if (!qg_json_is(t, QG_JSON_OBJECT))
        return BAD("%s: expected a mapping", where);
    p->key = qg_json_str(qg_json_get(t, "key"));
    if (!p->key || !*p->key)
        return BAD("%s.key: required", where);
    p->missing = qg_json_str(qg_json_get(t, "missing"));
    p->required = qg_json_truthy(qg_json_get(t, "required"));
    p->reject = qg_json_get(t, "reject");
    qg_error_t *err = parse_param_type(qg_json_get(t, "type"), &p->type, where);
    if (!err)
        err = parse_case(qg_json_get(t, "case"), &p->case_mode, where);
    if (!err)
        err = parse_bounds(p, t, where);
    if (!err && p->reject)
        err = need_string_list(p->reject, where, 0);
    const qg_json_t *pats = qg_json_get(t, "patterns");
    if (!err)
        err = need_string_list(pats, where, 1);
    if (err)
        return err;
    char w[200];
    const char *shape = qg_json_str(qg_json_get(t, "shape"));
    if (shape) {
        snprintf(w, sizeof(w), "%s.shape", where);
        if ((err = compile_re(&p->shape, shape, REG_EXTENDED | REG_NOSUB, w)))
            return err;
        p->has_shape = 1;
    }
    p->patterns = calloc(qg_json_len(pats), sizeof(*p->patterns));
    if (!p->patterns)
        return qg_error_new_oom("%s: out of memory", where);
    for (size_t i = 0; !err && i < qg_json_len(pats); i++, p->npatterns++) {
        snprintf(w, sizeof(w), "%s.patterns[%zu]", where, i);
        err = compile_param_pattern(&p->patterns[i], qg_json_str(qg_json_at(pats, i)),
                                    ask->date_slot, w);
    }
    return err;
}

static qg_error_t *check_goal_fields(const qg_json_t *t, const char *where)
{
    const qg_json_t *stages = qg_json_get(t, "pipelineStages");
    char w[160];
    snprintf(w, sizeof(w), "%s.pipelineStages", where);
    qg_error_t *err = need_string_list(stages, w, 1);
    const qg_json_t *os = qg_json_get(t, "outputSpec");
    if (!err && os && !qg_json_is(os, QG_JSON_ARRAY))
        err = BAD("%s.outputSpec: expected a list", where);
    const qg_json_t *rm = qg_json_get(t, "requiresModel");
    if (!err && rm && !qg_json_is(rm, QG_JSON_BOOL))
        err = BAD("%s.requiresModel: expected true or false", where);
    const qg_json_t *ap = qg_json_get(t, "actionPlan");
    if (!err && ap && !qg_json_is(ap, QG_JSON_ARRAY))
        err = BAD("%s.actionPlan: expected a list", where);
    const qg_json_t *ex = qg_json_get(t, "examples");
    snprintf(w, sizeof(w), "%s.examples", where);
    if (!err && ex)
        err = need_string_list(ex, w, 0);
    const qg_json_t *params = qg_json_get(t, "parameters");
    if (!err && params && !qg_json_is(params, QG_JSON_ARRAY))
        err = BAD("%s.parameters: expected a list", where);
    return err;
}

static qg_error_t *load_goal_patterns(ask_goal_t *g, const qg_json_t *pats, const char *where)
{
    g->patterns = calloc(qg_json_len(pats), sizeof(*g->patterns));
    if (!g->patterns)
        return qg_error_new_oom("%s: out of memory", where);
    qg_error_t *err = NULL;
    for (size_t i = 0; !err && i < qg_json_len(pats); i++) {
        char w[160];
        snprintf(w, sizeof(w), "%s.patterns[%zu]", where, i);
        err = compile_re(&g->patterns[i], qg_json_str(qg_json_at(pats, i)),
                         REG_EXTENDED | REG_ICASE | REG_NOSUB, w);
        if (!err)
            g->npatterns++;
    }
    return err;
}

static qg_error_t *load_goal(const qg_ask_t *ask, ask_goal_t *g, const qg_json_t *t,
                             const char *where)
{
    if (!qg_json_is(t, QG_JSON_OBJECT))
        return BAD("%s: expected a mapping", where);
    g->tmpl = t;
    g->goal_type = qg_json_str(qg_json_get(t, "goalType"));
    if (!g->goal_type || !*g->goal_type)
        return BAD("%s.goalType: required", where);
    g->id_prefix = json_str_or(qg_json_get(t, "idPrefix"), g->goal_type);
    char w[160];
    snprintf(w, sizeof(w), "%s.patterns", where);
    qg_error_t *err = need_string_list(qg_json_get(t, "patterns"), w, 1);
    if (!err)
        err = check_goal_fields(t, where);
    if (!err)
        err = load_goal_patterns(g, qg_json_get(t, "patterns"), where);
    const qg_json_t *params = qg_json_get(t, "parameters");
    if (!err && qg_json_len(params) &&
        !(g->params = calloc(qg_json_len(params), sizeof(*g->params))))
        err = qg_error_new_oom("%s: out of memory", where);
    for (size_t i = 0; !err && i < qg_json_len(params); i++, g->nparams++) {
        snprintf(w, sizeof(w), "%s.parameters[%zu]", where, i);
        err = load_param(ask, &g->params[i], qg_json_at(params, i), w);
    }
    return err;
}

static qg_error_t *load_goals(qg_ask_t *ask, const char *name)
{
    const qg_json_t *goals = qg_json_get(ask->root, "goals");
    if (!qg_json_is(goals, QG_JSON_ARRAY) || qg_json_len(goals) == 0)
        return BAD("%s: goals: expected a non-empty list of goal templates", name);
    ask->goals = calloc(qg_json_len(goals), sizeof(*ask->goals));
    if (!ask->goals)
        return qg_error_new_oom("%s: out of memory", name);
    qg_error_t *err = NULL;
    for (size_t i = 0; !err && i < qg_json_len(goals); i++, ask->ngoals++) {
        char where[96];
        snprintf(where, sizeof(where), "goals[%zu]", i);
        err = load_goal(ask, &ask->goals[i], qg_json_at(goals, i), where);
        for (size_t j = 0; !err && j < i; j++)
            if (strcmp(ask->goals[j].goal_type, ask->goals[i].goal_type) == 0)
                err = BAD("%s.goalType: \"%s\" is defined twice", where, ask->goals[i].goal_type);
    }
    return err ? qg_error_wrap(err, "%s", name) : NULL;
}

/* ================= load / destroy ================= */

static void param_free(ask_param_t *p)
{
    for (size_t i = 0; i < p->npatterns; i++)
        if (p->patterns[i].compiled)
            regfree(&p->patterns[i].re);
    free(p->patterns);
    if (p->has_shape)
        regfree(&p->shape);
}

void qg_ask_destroy(qg_ask_t *ask)
{
    if (!ask)
        return;
    for (size_t i = 0; i < ask->ngoals; i++) {
        ask_goal_t *g = &ask->goals[i];
        for (size_t j = 0; j < g->npatterns; j++)
            regfree(&g->patterns[j]);
        free(g->patterns);
        for (size_t j = 0; j < g->nparams; j++)
            param_free(&g->params[j]);
        free(g->params);
    }
    /* a goal whose loading failed midway is counted too: free its parts */
    free(ask->goals);
    free(ask->date_slot);
    free(ask->extra_stages);
    qg_json_destroy(ask->root);
    free(ask);
}

qg_ask_t *qg_ask_load_string(const char *yaml, size_t len, const char *name, qg_error_t **err)
{
    *err = NULL;
    name = name ? name : "<patterns>";
    qg_ask_t *ask = calloc(1, sizeof(*ask));
    if (!ask) {
        *err = qg_error_new_oom("%s: out of memory", name);
        return NULL;
    }
    ask->root = qg_yaml_to_json(yaml, len, name, QG_ERR_BAD_INPUT, err);
    if (!*err && !qg_json_is(ask->root, QG_JSON_OBJECT))
        *err = BAD("%s: expected a mapping with relativeDates and goals", name);
    if (!*err)
        *err = build_date_slot(ask, name);
    if (!*err)
        *err = load_goals(ask, name);
    if (*err) {
        qg_ask_destroy(ask);
        return NULL;
    }
    return ask;
}

qg_ask_t *qg_ask_load(const char *patterns_file, qg_error_t **err)
{
    *err = NULL;
    if (!patterns_file) {
        *err = BAD("no patterns file given");
        return NULL;
    }
    char msg[512];
    size_t n = 0;
    int e = 0;
    char *buf = qg_file_read(patterns_file, ASK_MAX_FILE, &n, &e, msg, sizeof(msg));
    qg_ask_t *ask = NULL;
    if (!buf)
        *err = e == ENOMEM ? qg_error_new_oom("%s", msg) : qg_error_new_bad_input("%s", msg);
    else
        ask = qg_ask_load_string(buf, n, patterns_file, err);
    free(buf);
    return ask;
}

int qg_ask_set_extra_stages(qg_ask_t *ask, const char *extra)
{
    if (!ask)
        return -1;
    char *copy = extra ? strdup(extra) : NULL;
    if (extra && !copy)
        return -1;
    free(ask->extra_stages);
    ask->extra_stages = copy;
    return 0;
}

size_t qg_ask_goal_count(const qg_ask_t *ask)
{
    return ask ? ask->ngoals : 0;
}

/* ================= describe ================= */

static void describe_param(FILE *f, const ask_param_t *p)
{
    fprintf(f, "%s (%s", p->key, p->required ? "required" : "optional");
    if (p->type == PT_DATE)
        fputs(", a date: today, yesterday, YYYY-MM-DD, last 24 hours", f);
    else if (p->has_min && p->has_max)
        fprintf(f, ", %.15g..%.15g", p->min, p->max);
    fputc(')', f);
}

static void describe_goal(FILE *f, const ask_goal_t *g)
{
    fprintf(f, "  %s\n", g->goal_type);
    const char *desc = qg_json_str(qg_json_get(g->tmpl, "description"));
    if (desc)
        fprintf(f, "    %s\n", desc);
    if (g->nparams) {
        fputs("    parameters: ", f);
        for (size_t i = 0; i < g->nparams; i++) {
            fputs(i ? ", " : "", f);
            describe_param(f, &g->params[i]);
        }
        fputc('\n', f);
    }
    const qg_json_t *ex = qg_json_get(g->tmpl, "examples");
    for (size_t i = 0; i < qg_json_len(ex); i++)
        fprintf(f, "    %s \"%s\"\n", i ? "    " : "e.g.", qg_json_str(qg_json_at(ex, i)));
}

char *qg_ask_describe(const qg_ask_t *ask)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    fputs("I can build these goals (ask in English or Korean):\n", f);
    for (size_t i = 0; ask && i < ask->ngoals; i++)
        describe_goal(f, &ask->goals[i]);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ================= request text ================= */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80             ? 1
                 : (s[0] & 0xE0) == 0xC0 ? 2
                 : (s[0] & 0xF0) == 0xE0 ? 3
                 : (s[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (len == 0 || len > n || (len == 2 && s[0] < 0xC2) || (len == 4 && s[0] > 0xF4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0; /* overlong or surrogate */
    if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return len;
}

/* Is the sequence at s a space: ASCII whitespace, NBSP or the ideographic space? */
static size_t space_len(const unsigned char *s, size_t n)
{
    if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        return 1;
    if (n >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
        return 2;
    if (n >= 3 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)
        return 3;
    return 0;
}

/* Check and normalise: valid UTF-8, no control characters, whitespace collapsed. */
static qg_error_t *normalize_text(const char *text, char **out)
{
    *out = NULL;
    if (!text)
        return BAD("no request text given");
    size_t n = strlen(text);
    if (n > QG_ASK_MAX_TEXT)
        return BAD("the request is too long (%zu bytes, at most %d)", n, QG_ASK_MAX_TEXT);
    char *buf = malloc(n + 1);
    if (!buf)
        return qg_error_new_oom("out of memory");
    size_t o = 0;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < n;) {
        size_t sp = space_len(s + i, n - i), len = sp ? sp : utf8_seq_len(s + i, n - i);
        if (len == 0 || (len == 1 && !sp && (s[i] < 0x20 || s[i] == 0x7F))) {
            free(buf);
            return BAD("the request is not valid UTF-8 text (byte %zu)", i);
        }
        if (sp && o > 0 && buf[o - 1] != ' ')
            buf[o++] = ' ';
        else if (!sp) {
            memcpy(buf + o, s + i, len);
            o += len;
        }
        i += len;
    }
    while (o > 0 && buf[o - 1] == ' ')
        o--;
    buf[o] = '\0';
    *out = buf;
    return NULL;
}

static int has_hangul(const char *s)
{
    /* U+AC00..U+D7A3 (syllables) and U+3131..U+318E (jamo) */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((p[0] >= 0xEA && p[0] <= 0xED && (p[1] & 0xC0) == 0x80) ||
            (p[0] == 0xE3 && (p[1] == 0x84 || p[1] == 0x85 || p[1] == 0x86)))
            return 1;
    return 0;
}

/* Quote the request for an error message: at most 160 bytes, cut on a character. */
static void quote_text(char *dst, size_t sz, const char *text)
{
    size_t n = strlen(text), cut = n < sz - 4 ? n : sz - 4;
    while (cut > 0 && cut < n && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--;
    snprintf(dst, sz, "%.*s%s", (int)cut, text, cut < n ? "..." : "");
}

/* ================= classification ================= */

static size_t goal_score(const ask_goal_t *g, const char *text)
{
    size_t score = 0;
    for (size_t i = 0; i < g->npatterns; i++)
        score += regexec(&g->patterns[i], text, 0, NULL, 0) == 0;
    return score;
}

static qg_error_t *unknown_request(const qg_ask_t *ask, const char *text)
{
    char *what = qg_ask_describe(ask);
    char q[168];
    quote_text(q, sizeof(q), text);
    qg_error_t *err = BAD("cannot tell what \"%s\" asks for. %s", q,
                          what ? what : "(out of memory listing the goal types)");
    free(what);
    return err;
}

static qg_error_t *classify(const qg_ask_t *ask, const char *text, const ask_goal_t **out)
{
    size_t best = 0, best_score = 0, ties = 0;
    for (size_t i = 0; i < ask->ngoals; i++) {
        size_t s = goal_score(&ask->goals[i], text);
        if (s > best_score)
            best = i, best_score = s, ties = 0;
        else if (s == best_score && s > 0)
            ties++;
    }
    if (best_score == 0)
        return unknown_request(ask, text);
    if (ties) {
        char q[168];
        quote_text(q, sizeof(q), text);
        size_t other = 0;
        for (size_t i = best + 1; i < ask->ngoals; i++)
            if (goal_score(&ask->goals[i], text) == best_score) {
                other = i;
                break;
            }
        return BAD("\"%s\" is ambiguous: it reads like %s and like %s; rephrase it, e.g. "
                   "\"%s\" or \"%s\"",
                   q, ask->goals[best].goal_type, ask->goals[other].goal_type,
                   json_str_or(qg_json_path(ask->goals[best].tmpl, "examples[0]"), "?"),
                   json_str_or(qg_json_path(ask->goals[other].tmpl, "examples[0]"), "?"));
    }
    *out = &ask->goals[best];
    return NULL;
}

/* ================= parameter values ================= */

typedef struct {
    time_t now;
    const qg_json_t *relative;
} ask_ctx_t;

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int valid_ymd(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1)
        return 0;
    return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

/* A span ending now: "last 24 hours", "past 7 days", "최근 24시간" -> "last 24 h". 0 or -1. */
static int span_value(const char *raw, char out[24])
{
    static const char *const heads[] = {"last", "past", "최근", "지난"};
    static const struct {
        const char *word, *unit;
    } units[] = {{"min", "min"}, {"분", "min"}, {"h", "h"}, {"시간", "h"}, {"d", "d"}, {"일", "d"}};
    const char *p = NULL;
    for (size_t i = 0; !p && i < sizeof(heads) / sizeof(heads[0]); i++)
        if (strncasecmp(raw, heads[i], strlen(heads[i])) == 0)
            p = raw + strlen(heads[i]);
    if (!p)
        return -1;
    char *end;
    long n = strtol(p, &end, 10);
    if (end == p || n <= 0 || n > 99999)
        return -1;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strncasecmp(end, units[i].word, strlen(units[i].word)) == 0) {
            snprintf(out, 24, "last %ld %s", n, units[i].unit);
            return 0;
        }
    return -1;
}

/* Date value: ISO (with - / or .), a relative word or a span. 0 ok, -1 not a date. */
static int date_value(const ask_ctx_t *cx, const char *raw, char out[24])
{
    int y, m, d, n = 0;
    char sep1, sep2;
    if (span_value(raw, out) == 0)
        return 0;
    if (sscanf(raw, "%4d%c%2d%c%2d%n", &y, &sep1, &m, &sep2, &d, &n) == 5 && raw[n] == '\0' &&
        sep1 == sep2 && strchr("-/.", sep1)) {
        if (!valid_ymd(y, m, d))
            return -1;
        snprintf(out, 24, "%04d-%02d-%02d", y, m, d);
        return 0;
    }
    const qg_json_t *off = NULL;
    for (size_t i = 0; !off && i < qg_json_len(cx->relative); i++)
        if (strcasecmp(qg_json_key_at(cx->relative, i), raw) == 0)
            off = qg_json_at(cx->relative, i);
    if (!off)
        return -1;
    time_t t = cx->now + (time_t)qg_json_num(off, 0) * 86400;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -1;
    strftime(out, 24, "%Y-%m-%d", &tm);
    return 0;
}

static int word_rejected(const ask_param_t *p, const char *value)
{
    for (size_t i = 0; i < qg_json_len(p->reject); i++)
        if (strcasecmp(qg_json_str(qg_json_at(p->reject, i)), value) == 0)
            return 1;
    return 0;
}

static void apply_case(char *s, case_mode_t c)
{
    for (; c != CASE_KEEP && *s; s++)
        *s = (char)(c == CASE_UPPER ? toupper((unsigned char)*s) : tolower((unsigned char)*s));
}

/*
 * Turn the raw slot text into a JSON value. Returns NULL when the value is
 * not acceptable; *range_err then gets a message if it was a number out of
 * bounds (so the caller can report it when nothing better is found).
 */
static qg_json_t *param_value(const ask_ctx_t *cx, const ask_param_t *p, char *raw, char *range_err,
                              size_t rsz)
{
    if (word_rejected(p, raw) || (p->has_shape && regexec(&p->shape, raw, 0, NULL, 0) != 0))
        return NULL;
    if (p->type == PT_DATE) {
        char iso[24];
        return date_value(cx, raw, iso) == 0 ? qg_json_string(iso) : NULL;
    }
    if (p->type == PT_STRING) {
        apply_case(raw, p->case_mode);
        return qg_json_string(raw);
    }
    char digits[64];
    size_t o = 0;
    for (const char *s = raw; *s && o + 1 < sizeof(digits); s++)
        if (*s != ',')
            digits[o++] = *s;
    digits[o] = '\0';
    char *end = NULL;
    errno = 0;
    double v = p->type == PT_INTEGER ? (double)strtoll(digits, &end, 10) : strtod(digits, &end);
    if (errno || !end || *end || o == 0)
        return NULL;
    if ((p->has_min && v < p->min) || (p->has_max && v > p->max)) {
        if (p->has_min && p->has_max)
            snprintf(range_err, rsz, "%s must be between %.15g and %.15g, got %s", p->key, p->min,
                     p->max, raw);
        else
            snprintf(range_err, rsz, "%s must be %s %.15g, got %s", p->key,
                     p->has_min ? "at least" : "at most", p->has_min ? p->min : p->max, raw);
        return NULL;
    }
    return qg_json_number(v);
}

static int slot_boundary_ok(const char *text, const regmatch_t *m, slot_kind_t slot)
{
    if (m->rm_so > 0 && is_id_byte((unsigned char)text[m->rm_so - 1]))
        return 0;
    const char *after = text + m->rm_eo;
    if (slot == SLOT_INT && (*after == '.' || *after == ',') && isdigit((unsigned char)after[1]))
        return 0;
    return !(slot == SLOT_ID && (isalnum((unsigned char)*after) || *after == '_'));
}

/* Try one pattern over the whole text; the first acceptable match wins. */
static qg_json_t *match_pattern(const ask_ctx_t *cx, const ask_param_t *p, const ask_pattern_t *pat,
                                const char *text, char *range_err, size_t rsz)
{
    regmatch_t m[ASK_MAX_GROUPS];
    size_t nm = pat->re.re_nsub + 1 < ASK_MAX_GROUPS ? pat->re.re_nsub + 1 : ASK_MAX_GROUPS;
    if (pat->group >= nm)
        return NULL;
    size_t len = strlen(text), start = 0;
    for (int tries = 0; start <= len && tries < ASK_MAX_MATCH_TRIES; tries++) {
        m[0].rm_so = (regoff_t)start;
        m[0].rm_eo = (regoff_t)len;
        if (regexec(&pat->re, text, nm, m, REG_STARTEND) != 0)
            return NULL;
        const regmatch_t *g = &m[pat->group];
        if (g->rm_so >= 0 && g->rm_eo > g->rm_so && slot_boundary_ok(text, g, pat->slot) &&
            g->rm_eo - g->rm_so < 64) {
            char raw[64];
            snprintf(raw, sizeof(raw), "%.*s", (int)(g->rm_eo - g->rm_so), text + g->rm_so);
            qg_json_t *v = param_value(cx, p, raw, range_err, rsz);
            if (v)
                return v;
        }
        start = (size_t)m[0].rm_so + 1;
        while (start < len && ((unsigned char)text[start] & 0xC0) == 0x80)
            start++;
    }
    return NULL;
}

static const char *type_name(param_type_t t)
{
    static const char *const names[] = {"string", "integer", "number", "date"};
    return names[t];
}

static qg_json_t *param_object(const ask_param_t *p, qg_json_t *value)
{
    qg_json_t *o = qg_json_object();
    if (!o || qg_json_set_str(o, "key", p->key) || qg_json_set(o, "value", value) ||
        qg_json_set_str(o, "type", type_name(p->type)) ||
        qg_json_set_bool(o, "required", p->required)) {
        if (!o)
            qg_json_destroy(value);
        qg_json_destroy(o);
        return NULL;
    }
    return o;
}

static qg_error_t *missing_param(const ask_goal_t *g, const ask_param_t *p, const char *range_err)
{
    if (*range_err)
        return BAD("%s: %s", g->goal_type, range_err);
    return BAD("%s needs %s: %s", g->goal_type, p->key,
               p->missing ? p->missing : "it was not found in the request");
}

static qg_error_t *extract_params(const ask_ctx_t *cx, const ask_goal_t *g, const char *text,
                                  qg_json_t *params)
{
    for (size_t i = 0; i < g->nparams; i++) {
        const ask_param_t *p = &g->params[i];
        char range_err[160] = "";
        qg_json_t *v = NULL;
        for (size_t j = 0; !v && j < p->npatterns; j++)
            v = match_pattern(cx, p, &p->patterns[j], text, range_err, sizeof(range_err));
        if (!v && (p->required || *range_err))
            return missing_param(g, p, range_err);
        if (v && qg_json_append(params, param_object(p, v)) != 0)
            return qg_error_new_oom("out of memory");
    }
    return NULL;
}

/* ================= the goal document ================= */

static void random_hex8(char out[9])
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        static unsigned counter;
        r = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (++counter * 2654435761u);
    }
    snprintf(out, 9, "%08x", (unsigned)r);
}

static int make_goal_id(const ask_goal_t *g, time_t now, char *buf, size_t sz)
{
    struct tm tm;
    char stamp[32], hex[9];
    if (!gmtime_r(&now, &tm) || !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm))
        return -1;
    random_hex8(hex);
    int n = snprintf(buf, sz, "%s-%s-%s", g->id_prefix, stamp, hex);
    return n > 0 && (size_t)n < sz ? 0 : -1;
}

static int set_clone(qg_json_t *obj, const char *key, const qg_json_t *v)
{
    return v ? qg_json_set(obj, key, qg_json_clone(v)) : 0;
}

static qg_json_t *make_metadata(const ask_goal_t *g, const char *text, time_t now)
{
    qg_json_t *md = qg_json_object();
    const qg_json_t *t = g->tmpl;
    char iso[40];
    qg_iso_time(iso, sizeof(iso), (double)now * 1000.0);
    if (!md || qg_json_set_str(md, "category", json_str_or(qg_json_get(t, "category"), "Query")) ||
        qg_json_set_bool(md, "requiresModel", qg_json_truthy(qg_json_get(t, "requiresModel"))) ||
        set_clone(md, "pipelineStages", qg_json_get(t, "pipelineStages")) ||
        set_clone(md, "actionPlan", qg_json_get(t, "actionPlan")) ||
        qg_json_set_str(md, "request", text) ||
        qg_json_set_str(md, "language", has_hangul(text) ? "ko" : "en") ||
        qg_json_set_str(md, "createdAt", iso) || qg_json_set_str(md, "source", "qgctl ask")) {
        qg_json_destroy(md);
        return NULL;
    }
    return md;
}

static qg_json_t *make_output_spec(const qg_json_t *spec)
{
    qg_json_t *arr = qg_json_array();
    for (size_t i = 0; arr && i < qg_json_len(spec); i++) {
        const qg_json_t *e = qg_json_at(spec, i);
        qg_json_t *o = qg_json_is(e, QG_JSON_STRING) ? qg_json_object() : qg_json_clone(e);
        if (o && qg_json_is(e, QG_JSON_STRING) && qg_json_set_str(o, "name", qg_json_str(e))) {
            qg_json_destroy(o);
            o = NULL;
        }
        if (!o || qg_json_append(arr, o) != 0) {
            qg_json_destroy(arr);
            return NULL;
        }
    }
    return arr;
}

static qg_json_t *make_goal(const ask_goal_t *g, const char *text, time_t now, qg_json_t *params)
{
    char id[160];
    qg_json_t *q = qg_json_object();
    if (!q || make_goal_id(g, now, id, sizeof(id)) || qg_json_set_str(q, "goalId", id) ||
        qg_json_set_str(q, "goalType", g->goal_type)) {
        qg_json_destroy(params);
        qg_json_destroy(q);
        return NULL;
    }
    qg_json_t *doc = NULL;
    if (qg_json_set(q, "parameters", params) ||
        qg_json_set(q, "outputSpec", make_output_spec(qg_json_get(g->tmpl, "outputSpec"))) ||
        qg_json_set(q, "metadata", make_metadata(g, text, now)) || !(doc = qg_json_object())) {
        qg_json_destroy(q);
        return NULL;
    }
    if (qg_json_set(doc, "QueryGoal", q) != 0) {
        qg_json_destroy(doc);
        return NULL;
    }
    return doc;
}

qg_error_t *qg_ask_build_at(const qg_ask_t *ask, const char *text, time_t now, qg_json_t **doc_out)
{
    if (!doc_out)
        return BAD("no output document given");
    *doc_out = NULL;
    if (!ask)
        return BAD("no goal patterns loaded");
    char *norm = NULL;
    qg_error_t *err = normalize_text(text, &norm);
    if (!err && !*norm) {
        char *what = qg_ask_describe(ask);
        err = BAD("the request is empty. %s", what ? what : "");
        free(what);
    }
    const ask_goal_t *g = NULL;
    if (!err)
        err = classify(ask, norm, &g);
    qg_json_t *params = err ? NULL : qg_json_array();
    ask_ctx_t cx = {.now = now, .relative = qg_json_get(ask->root, "relativeDates")};
    if (!err && !params)
        err = qg_error_new_oom("out of memory");
    if (!err)
        err = extract_params(&cx, g, norm, params);
    qg_json_t *doc = NULL;
    if (!err) {
        doc = make_goal(g, norm, now, params);
        params = NULL; /* consumed */
        if (!doc)
            err = qg_error_new_oom("out of memory");
    }
    if (!err && (err = qg_goal_validate(doc, ask->extra_stages)))
        err = qg_error_wrap(err, "the %s template builds an invalid goal", g->goal_type);
    qg_json_destroy(params);
    free(norm);
    if (err)
        qg_json_destroy(doc);
    else
        *doc_out = doc;
    return err;
}

qg_error_t *qg_ask_build(const qg_ask_t *ask, const char *text, qg_json_t **doc_out)
{
    return qg_ask_build_at(ask, text, time(NULL), doc_out);
}
