/*
 * config.c - option tables, key=value settings, files, environment, argv.
 */
#include "config.h"

#include "array.h"
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

#define MAX_TABLES 8
/* "kafka.<property>" names a librdkafka property, even one whose name is also ours. */
#define KAFKA_PREFIX "kafka."

typedef struct {
    char *key;
    char *value;
} kv_t;

typedef struct {
    kv_t *items;
    size_t len, cap;
} kv_list_t;

struct qg_config_s {
    const qg_option_t *tables[MAX_TABLES];
    size_t ntables;
    kv_list_t ours;  /* keys from a table */
    kv_list_t kafka; /* everything else: librdkafka properties */
};

extern char **environ;

static void kv_list_free(kv_list_t *l)
{
    for (size_t i = 0; i < l->len; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
}

static int kv_list_set(kv_list_t *l, const char *key, const char *value)
{
    char *v = strdup(value);
    if (!v)
        return -1;
    for (size_t i = 0; i < l->len; i++) {
        if (strcmp(l->items[i].key, key) == 0) {
            free(l->items[i].value);
            l->items[i].value = v;
            return 0;
        }
    }
    kv_t *items = qg_array_grow(l->items, &l->cap, l->len + 1, sizeof(*items), 16);
    if (!items) {
        free(v);
        return -1;
    }
    l->items = items;
    char *k = strdup(key);
    if (!k) {
        free(v);
        return -1;
    }
    l->items[l->len].key = k;
    l->items[l->len++].value = v;
    return 0;
}

static const char *kv_list_get(const kv_list_t *l, const char *key)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return l->items[i].value;
    return NULL;
}

qg_config_t *qg_config_new(void)
{
    return calloc(1, sizeof(qg_config_t));
}

void qg_config_destroy(qg_config_t *cfg)
{
    if (!cfg)
        return;
    kv_list_free(&cfg->ours);
    kv_list_free(&cfg->kafka);
    free(cfg);
}

int qg_config_add_options(qg_config_t *cfg, const qg_option_t *opts)
{
    if (!opts)
        return 0;
    if (cfg->ntables == MAX_TABLES)
        return -1;
    cfg->tables[cfg->ntables++] = opts;
    return 0;
}

static const qg_option_t *find_option(const qg_config_t *cfg, const char *key)
{
    for (size_t t = 0; t < cfg->ntables; t++)
        for (const qg_option_t *o = cfg->tables[t]; o->name; o++)
            if (strcmp(o->name, key) == 0)
                return o;
    return NULL;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
        *out = 1;
    else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") ||
             !strcasecmp(v, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

/* "250", "250ms", "2s", "5m", "1h" -> milliseconds. */
static int parse_duration_ms(const char *v, double *ms)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || d != d)
        return -1;
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"", 1}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"min", 60e3}, {"h", 3600e3}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcmp(end, units[i].unit)) {
            *ms = d * units[i].ms;
            return 0;
        }
    return -1;
}

static int enum_has(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *c = choices; c && *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && !strncmp(c, v, n))
            return 1;
        c = bar ? bar + 1 : NULL;
    }
    return 0;
}

static int check_number(const qg_option_t *o, const char *value, double *number, char *errstr,
                        size_t errstr_size)
{
    char *end;
    errno = 0;
    double d = 0;
    if (o->type == QG_OPT_DURATION) {
        if (parse_duration_ms(value, &d) != 0) {
            snprintf(errstr, errstr_size, "%s: %s: not a duration (e.g. 250, 250ms, 2s, 5m)",
                     o->name, value);
            return -1;
        }
    } else if (o->type == QG_OPT_INT) {
        long long n = strtoll(value, &end, 10);
        if (errno || end == value || *end) {
            snprintf(errstr, errstr_size, "%s: %s: not an integer", o->name, value);
            return -1;
        }
        d = (double)n;
    } else {
        d = strtod(value, &end);
        if (errno || end == value || *end || d != d) {
            snprintf(errstr, errstr_size, "%s: %s: not a number", o->name, value);
            return -1;
        }
    }
    if ((o->min != 0 || o->max != 0) && (d < o->min || d > o->max)) {
        snprintf(errstr, errstr_size, "%s: %s: out of range [%.15g, %.15g]", o->name, value, o->min,
                 o->max);
        return -1;
    }
    if (number)
        *number = d;
    return 0;
}

/* Each comma-separated element an integer in [min, max]. */
static int check_int_list(const qg_option_t *o, const char *value, char *errstr, size_t errstr_size)
{
    for (const char *p = value; *p;) {
        char *end;
        errno = 0;
        long long n = strtoll(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || n < o->min || n > o->max) {
            snprintf(errstr, errstr_size,
                     "%s: %s: expected comma-separated integers in [%.15g, %.15g]", o->name, value,
                     o->min, o->max);
            return -1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

int qg_option_check(const qg_option_t *o, const char *value, double *number, char *errstr,
                    size_t errstr_size)
{
    int b;
    switch (o->type) {
    case QG_OPT_INT:
    case QG_OPT_DOUBLE:
    case QG_OPT_DURATION:
        return check_number(o, value, number, errstr, errstr_size);
    case QG_OPT_BOOL:
        if (parse_bool(value, &b) != 0) {
            snprintf(errstr, errstr_size, "%s: %s: not a boolean (true/false)", o->name, value);
            return -1;
        }
        if (number)
            *number = b;
        return 0;
    case QG_OPT_ENUM:
        if (!enum_has(o->choices, value)) {
            snprintf(errstr, errstr_size, "%s: %s: not one of %s", o->name, value, o->choices);
            return -1;
        }
        return 0;
    case QG_OPT_LIST:
        return o->min != 0 || o->max != 0 ? check_int_list(o, value, errstr, errstr_size) : 0;
    default:
        return 0;
    }
}

int qg_config_set(qg_config_t *cfg, const char *key, const char *value, char *errstr,
                  size_t errstr_size)
{
    if (!key || !*key || !value) {
        snprintf(errstr, errstr_size, "empty configuration key");
        return -1;
    }
    const qg_option_t *o = find_option(cfg, key);
    if (!o && !strncmp(key, KAFKA_PREFIX, strlen(KAFKA_PREFIX)) && key[strlen(KAFKA_PREFIX)])
        key += strlen(KAFKA_PREFIX); /* kafka.<property>: librdkafka's, even if ours too */
    if (o && qg_option_check(o, value, NULL, errstr, errstr_size) != 0)
        return -1;
    kv_list_t *l = o ? &cfg->ours : &cfg->kafka;
    const char *prev = o && o->is_multi ? kv_list_get(l, key) : NULL;
    char *joined = NULL;
    if (prev && *prev && *value && qg_str_join(&joined, prev, ",", value) != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    int rc = kv_list_set(l, key, joined ? joined : value);
    free(joined);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}

int qg_config_set_kv(qg_config_t *cfg, const char *kv, char *errstr, size_t errstr_size)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        snprintf(errstr, errstr_size, "expected key=value, got \"%s\"", kv);
        return -1;
    }
    char key[256];
    size_t n = (size_t)(eq - kv);
    if (n >= sizeof(key)) {
        snprintf(errstr, errstr_size, "configuration key too long");
        return -1;
    }
    memcpy(key, kv, n);
    key[n] = '\0';
    return qg_config_set(cfg, key, eq + 1, errstr, errstr_size);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int qg_config_load_file(qg_config_t *cfg, const char *path, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096], msg[256];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (qg_config_set_kv(cfg, s, msg, sizeof(msg)) != 0) {
            snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno, msg);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

/* QG_TOPIC_PREFIX -> topic.prefix; QG_KAFKA_SECURITY_PROTOCOL -> security.protocol. */
static void env_to_key(const char *name, size_t len, char *key, size_t keysz)
{
    size_t i;
    for (i = 0; i < len && i + 1 < keysz; i++)
        key[i] = name[i] == '_' ? '.' : (char)tolower((unsigned char)name[i]);
    key[i] = '\0';
}

/* Environment names that are not configuration keys. */
static int env_is_reserved(const char *name)
{
    /* Script settings, not configuration: the repository paths and the test broker's port. */
    static const char *const reserved[] = {"QG_ROOT", "QG_SHARED",     "QG_BUILD", "QG_CACHE",
                                           "QG_RUN",  "QG_KAFKA_PORT", NULL};
    for (size_t i = 0; reserved[i]; i++) {
        size_t n = strlen(reserved[i]);
        if (strncmp(name, reserved[i], n) == 0 && name[n] == '=')
            return 1;
    }
    return 0;
}

int qg_config_load_env(qg_config_t *cfg, char *errstr, size_t errstr_size)
{
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "QG_", 3) != 0 || env_is_reserved(*e))
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        const char *name = *e + 3;
        char key[256];
        int is_kafka = strncmp(name, "KAFKA_", 6) == 0;
        if (is_kafka) /* QG_KAFKA_<PROPERTY>: always librdkafka's */
            name += 6, snprintf(key, sizeof(key), "%s", KAFKA_PREFIX);
        else
            key[0] = '\0';
        size_t at = strlen(key);
        env_to_key(name, (size_t)(eq - name), key + at, sizeof(key) - at);
        /* QG_BOOTSTRAP_SERVERS is -b (the deployments set it); else not one of ours: ignore */
        if (!is_kafka && !find_option(cfg, key) && strcmp(key, "bootstrap.servers") != 0)
            continue;
        if (qg_config_set(cfg, key, eq + 1, errstr, errstr_size) != 0)
            return -1;
    }
    return 0;
}

int qg_config_is_set(const qg_config_t *cfg, const char *key)
{
    return kv_list_get(&cfg->ours, key) || kv_list_get(&cfg->kafka, key);
}

const char *qg_config_get(const qg_config_t *cfg, const char *key)
{
    const char *v = kv_list_get(&cfg->ours, key);
    if (!v)
        v = kv_list_get(&cfg->kafka, key);
    if (!v) {
        const qg_option_t *o = find_option(cfg, key);
        v = o ? o->default_val : NULL;
    }
    return v;
}

/* The option behind a typed getter; a key missing from every table, or of another
 * type, is a programming error that the tests catch. */
static const qg_option_t *typed_option(const qg_config_t *cfg, const char *key,
                                       qg_option_type_t type)
{
    const qg_option_t *o = find_option(cfg, key);
    assert(o && o->type == type && "typed getter on a key of another type or no table");
    return o && o->type == type ? o : NULL;
}

static double typed_number(const qg_config_t *cfg, const char *key, qg_option_type_t type)
{
    const qg_option_t *o = typed_option(cfg, key, type);
    const char *v = qg_config_get(cfg, key);
    double d = 0;
    char err[256];
    if (o && v && *v && qg_option_check(o, v, &d, err, sizeof(err)) != 0)
        d = 0; /* unreachable: values are checked when they are set, defaults by the tests */
    return d;
}

long long qg_config_int(const qg_config_t *cfg, const char *key)
{
    return (long long)typed_number(cfg, key, QG_OPT_INT);
}

double qg_config_double(const qg_config_t *cfg, const char *key)
{
    return typed_number(cfg, key, QG_OPT_DOUBLE);
}

long long qg_config_ms(const qg_config_t *cfg, const char *key)
{
    return (long long)typed_number(cfg, key, QG_OPT_DURATION);
}

int qg_config_bool(const qg_config_t *cfg, const char *key)
{
    return typed_number(cfg, key, QG_OPT_BOOL) != 0;
}

const char *qg_config_kafka_get(const qg_config_t *cfg, const char *key)
{
    return kv_list_get(&cfg->kafka, key);
}

size_t qg_config_kafka_count(const qg_config_t *cfg)
{
    return cfg->kafka.len;
}

void qg_config_kafka_at(const qg_config_t *cfg, size_t i, const char **key, const char **value)
{
    *key = cfg->kafka.items[i].key;
    *value = cfg->kafka.items[i].value;
}

static int key_is_secret(const qg_config_t *cfg, const char *key)
{
    const qg_option_t *o = find_option(cfg, key);
    if (o)
        return o->is_secret;
    return strstr(key, "password") || strstr(key, "secret") || strstr(key, "token") ||
           strstr(key, "sasl.jaas");
}

void qg_config_dump(const qg_config_t *cfg, void *file)
{
    FILE *f = file;
    for (size_t t = 0; t < cfg->ntables; t++)
        for (const qg_option_t *o = cfg->tables[t]; o->name; o++) {
            const char *v = qg_config_get(cfg, o->name);
            fprintf(f, "%s=%s\n", o->name, !v ? "" : o->is_secret ? "***" : v);
        }
    for (size_t i = 0; i < cfg->kafka.len; i++)
        fprintf(f, "%s=%s\n", cfg->kafka.items[i].key,
                key_is_secret(cfg, cfg->kafka.items[i].key) ? "***" : cfg->kafka.items[i].value);
}

/* "--registry-dir" for "registry.dir"; one letter keys are "-o". */
static void option_flag(const qg_option_t *o, char *flag, size_t sz)
{
    snprintf(flag, sz, "%s%s", o->name[1] ? "--" : "-", o->name);
    for (char *p = flag + 2; *p; p++)
        if (*p == '.')
            *p = '-';
}

static const char *option_metavar(const qg_option_t *o)
{
    static const char *const metavars[] = {
        [QG_OPT_STRING] = "TEXT",  [QG_OPT_INT] = "N",       [QG_OPT_DOUBLE] = "X",
        [QG_OPT_BOOL] = "[=BOOL]", [QG_OPT_ENUM] = "CHOICE", [QG_OPT_DURATION] = "MS",
        [QG_OPT_LIST] = "LIST",
    };
    return metavars[o->type];
}

/* "1..256", "one of a, b", "true/false", ... into buf ("" for free text). */
static const char *option_allowed(const qg_option_t *o, char *buf, size_t sz)
{
    buf[0] = '\0';
    switch (o->type) {
    case QG_OPT_INT:
    case QG_OPT_DOUBLE:
        snprintf(buf, sz, "%.15g..%.15g", o->min, o->max);
        break;
    case QG_OPT_DURATION:
        snprintf(buf, sz, "%.15g..%.15g ms", o->min, o->max);
        break;
    case QG_OPT_BOOL:
        snprintf(buf, sz, "true/false");
        break;
    case QG_OPT_ENUM: {
        size_t n = 0;
        for (const char *c = o->choices; *c && n + 3 < sz; c++)
            if (*c == '|') {
                buf[n++] = ',';
                buf[n++] = ' ';
            } else {
                buf[n++] = *c;
            }
        buf[n] = '\0';
        break;
    }
    case QG_OPT_LIST:
        if (o->min != 0 || o->max != 0)
            snprintf(buf, sz, "comma-separated %.15g..%.15g", o->min, o->max);
        else
            snprintf(buf, sz, "comma-separated");
        break;
    default:
        break;
    }
    return buf;
}

void qg_config_print_help(const qg_config_t *cfg, void *file)
{
    FILE *f = file;
    for (size_t t = 0; t < cfg->ntables; t++)
        for (const qg_option_t *o = cfg->tables[t]; o->name; o++) {
            char flag[160], allowed[160];
            option_flag(o, flag, sizeof(flag));
            size_t n = strlen(flag);
            snprintf(flag + n, sizeof(flag) - n, o->type == QG_OPT_BOOL ? "%s" : " %s",
                     option_metavar(o));
            fprintf(f, "  %-32s %s", flag, o->description ? o->description : "");
            option_allowed(o, allowed, sizeof(allowed));
            if (*allowed && o->type != QG_OPT_BOOL)
                fprintf(f, " [%s]", allowed);
            if (o->default_val && *o->default_val)
                fprintf(f, " (default: %s)", o->default_val);
            fputc('\n', f);
        }
}

/* Markdown cell text: '|' escaped, newlines as spaces. */
static void markdown_cell(FILE *f, const char *s)
{
    for (; s && *s; s++)
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s == '\n' ? ' ' : *s, f);
}

static void markdown_table(FILE *f, const qg_option_t *table)
{
    fputs("| key | default | allowed | meaning |\n|---|---|---|---|\n", f);
    for (const qg_option_t *o = table; o->name; o++) {
        char allowed[160];
        const char *d = o->is_secret ? NULL : o->default_val;
        int numeric = o->type == QG_OPT_INT || o->type == QG_OPT_DOUBLE ||
                      o->type == QG_OPT_DURATION || o->type == QG_OPT_BOOL;
        fprintf(f, "| `%s` | ", o->name);
        if (d && *d)
            fprintf(f, numeric ? "%s" : "`%s`", d);
        fputs(" | ", f);
        markdown_cell(f, option_allowed(o, allowed, sizeof(allowed)));
        fputs(" | ", f);
        markdown_cell(f, o->description);
        fputs(" |\n", f);
    }
}

static const char *table_name(const qg_option_t *table)
{
    const qg_option_t *end = table;
    while (end->name)
        end++;
    return end->description;
}

int qg_config_print_markdown(const qg_config_t *cfg, const char *table, void *file)
{
    FILE *f = file;
    int found = 0;
    for (size_t t = 0; t < cfg->ntables; t++) {
        const char *name = table_name(cfg->tables[t]);
        if (table && (!name || strcmp(name, table) != 0))
            continue;
        if (name)
            fprintf(f, "<!-- config:%s -->\n", name);
        markdown_table(f, cfg->tables[t]);
        if (name)
            fputs("<!-- /config -->\n", f);
        found = 1;
    }
    return found || !table ? 0 : -1;
}

/* --registry-dir -> registry.dir, if that key is known. */
static const qg_option_t *option_for_flag(const qg_config_t *cfg, const char *flag, size_t len)
{
    char key[128];
    if (len >= sizeof(key))
        return NULL;
    for (size_t i = 0; i < len; i++)
        key[i] = flag[i] == '-' ? '.' : flag[i];
    key[len] = '\0';
    return find_option(cfg, key);
}

static int take_value(int argc, char **argv, int *i, const char *flag, const char **val,
                      char *errstr, size_t errstr_size)
{
    if (*i + 1 >= argc) {
        snprintf(errstr, errstr_size, "%s needs a value", flag);
        return -1;
    }
    *val = argv[++*i];
    return 0;
}

static int is_bool_literal(const char *v)
{
    int b;
    return v && parse_bool(v, &b) == 0;
}

/* --key VALUE, --key=VALUE, or a boolean --key alone (true). */
static int parse_long_flag(qg_config_t *cfg, int argc, char **argv, int *i, char *errstr,
                           size_t errstr_size)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const qg_option_t *o = option_for_flag(cfg, arg, len);
    if (!o || (len == 1) != (o->name[1] == '\0')) {
        snprintf(errstr, errstr_size, "unknown option --%.*s (see --help)", (int)len, arg);
        return -1;
    }
    const char *val = eq ? eq + 1 : NULL;
    if (!val && o->type == QG_OPT_BOOL)
        val = *i + 1 < argc && is_bool_literal(argv[*i + 1]) ? argv[++*i] : "true";
    if (!val && take_value(argc, argv, i, argv[*i], &val, errstr, errstr_size) != 0)
        return -1;
    return qg_config_set(cfg, o->name, val, errstr, errstr_size);
}

/* -o FILE for a one-letter key "o". */
static int parse_letter_flag(qg_config_t *cfg, int argc, char **argv, int *i, char *errstr,
                             size_t errstr_size)
{
    const char *a = argv[*i], *val;
    const qg_option_t *o = a[2] ? NULL : option_for_flag(cfg, a + 1, 1);
    if (!o) {
        snprintf(errstr, errstr_size, "unknown option %s (see --help)", a);
        return -1;
    }
    if (o->type == QG_OPT_BOOL)
        val = *i + 1 < argc && is_bool_literal(argv[*i + 1]) ? argv[++*i] : "true";
    else if (take_value(argc, argv, i, a, &val, errstr, errstr_size) != 0)
        return -1;
    return qg_config_set(cfg, o->name, val, errstr, errstr_size);
}

static int is_action_flag(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "-V") ||
           !strcmp(a, "--version") || !strcmp(a, "--dump-config") ||
           !strcmp(a, "--help-markdown") || !strncmp(a, "--help-markdown=", 16);
}

int qg_config_parse_args(qg_config_t *cfg, int argc, char **argv, char ***rest, int *nrest,
                         char *errstr, size_t errstr_size)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        int rc = 0;
        if (!strcmp(a, "-b") || !strcmp(a, "--bootstrap-servers")) {
            rc = take_value(argc, argv, &i, a, &val, errstr, errstr_size);
            if (!rc)
                rc = qg_config_set(cfg, "bootstrap.servers", val, errstr, errstr_size);
        } else if (!strcmp(a, "-X")) {
            rc = take_value(argc, argv, &i, a, &val, errstr, errstr_size);
            if (!rc)
                rc = qg_config_set_kv(cfg, val, errstr, errstr_size);
        } else if (!strcmp(a, "-F")) {
            rc = take_value(argc, argv, &i, a, &val, errstr, errstr_size);
            if (!rc)
                rc = qg_config_load_file(cfg, val, errstr, errstr_size);
        } else if (is_action_flag(a)) {
            continue; /* handled by the caller */
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            qg_log_level = QG_LOG_DEBUG;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            qg_log_level = QG_LOG_WARN;
        } else if (!strcmp(a, "--")) {
            while (++i < argc)
                argv[1 + n++] = argv[i];
        } else if (!strncmp(a, "--", 2) && a[2]) {
            rc = parse_long_flag(cfg, argc, argv, &i, errstr, errstr_size);
        } else if (a[0] == '-' && a[1]) {
            rc = parse_letter_flag(cfg, argc, argv, &i, errstr, errstr_size);
        } else {
            argv[1 + n++] = argv[i];
        }
        if (rc != 0)
            return -1;
    }
    *rest = argv + 1;
    *nrest = n;
    return 0;
}

qg_config_t *qg_config_from_env_and_args(const qg_option_t *const *tables, size_t ntables, int argc,
                                         char **argv, char ***rest, int *nrest, char *errstr,
                                         size_t errstr_size)
{
    qg_config_t *cfg = qg_config_new();
    int rc = cfg ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < ntables; i++)
        rc = qg_config_add_options(cfg, tables[i]);
    if (rc != 0)
        snprintf(errstr, errstr_size, "out of memory");
    if (rc == 0)
        rc = qg_config_load_env(cfg, errstr, errstr_size);
    if (rc == 0)
        rc = qg_config_parse_args(cfg, argc, argv, rest, nrest, errstr, errstr_size);
    if (rc != 0) {
        qg_config_destroy(cfg);
        return NULL;
    }
    int level = qg_log_level_from_name(qg_config_get(cfg, "log.level"));
    if (level > 0 && qg_log_level == QG_LOG_INFO)
        qg_log_level = level;
    return cfg;
}

/* The action flag given (--help, ...), or NULL. */
static const char *cli_action(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (is_action_flag(argv[i]))
            return argv[i];
    }
    return NULL;
}

static void cli_usage(const qg_cli_t *cli, const qg_config_t *cfg)
{
    printf("Usage: %s %s\n\n", cli->program, cli->usage ? cli->usage : "[options]");
    if (cli->about)
        printf("%s\n\n", cli->about);
    printf("Options:\n"
           "  -X key=value                     any option below, or a librdkafka property\n"
           "  -F file                          file of key=value lines (# comments)\n"
           "  -v, --verbose / -q, --quiet      more / less logging\n"
           "  --dump-config                    print the effective configuration and exit\n"
           "  -h, --help / -V, --version\n");
    qg_config_print_help(cfg, stdout);
    printf("\nEvery option also as the environment variable QG_KEY_WITH_UNDERSCORES.\n");
}

/* --help and friends need only the tables, never the environment or the other flags. */
static int cli_print(const qg_cli_t *cli, qg_config_t *cfg, const char *action)
{
    if (!strcmp(action, "-V") || !strcmp(action, "--version")) {
        printf("%s %s\n", cli->program, cli->version ? cli->version : QG_VERSION);
    } else if (!strcmp(action, "-h") || !strcmp(action, "--help")) {
        cli_usage(cli, cfg);
    } else {
        const char *table = action[15] == '=' ? action + 16 : NULL;
        if (qg_config_print_markdown(cfg, table, stdout) != 0) {
            fprintf(stderr, "%s: no option table named \"%s\"\n", cli->program, table);
            return 2;
        }
    }
    return 0;
}

qg_config_t *qg_cli_config(const qg_cli_t *cli, const qg_option_t *const *tables, size_t ntables,
                           int argc, char **argv, char ***rest, int *nrest, int *exit_code)
{
    char errstr[512];
    const char *action = cli_action(argc, argv);
    *exit_code = 2;
    if (action && strcmp(action, "--dump-config") != 0) {
        qg_config_t *cfg = qg_config_new();
        int rc = cfg ? 0 : -1;
        for (size_t i = 0; rc == 0 && i < ntables; i++)
            rc = qg_config_add_options(cfg, tables[i]);
        *exit_code = rc == 0 ? cli_print(cli, cfg, action) : 1;
        qg_config_destroy(cfg);
        return NULL;
    }
    qg_config_t *cfg = qg_config_from_env_and_args(tables, ntables, argc, argv, rest, nrest, errstr,
                                                   sizeof(errstr));
    if (!cfg) {
        fprintf(stderr, "%s: %s\n", cli->program, errstr);
        return NULL;
    }
    if (cli->max_positional >= 0 && *nrest > cli->max_positional) {
        fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", cli->program,
                (*rest)[cli->max_positional]);
        qg_config_destroy(cfg);
        return NULL;
    }
    if (action) {
        qg_config_dump(cfg, stdout);
        qg_config_destroy(cfg);
        *exit_code = 0;
        return NULL;
    }
    *exit_code = 0;
    return cfg;
}
