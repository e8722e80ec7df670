/*
 * config.c - option tables, key=value settings, files, environment, argv.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MAX_TABLES 8

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
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        kv_t *items = realloc(l->items, cap * sizeof(*items));
        if (!items) {
            free(v);
            return -1;
        }
        l->items = items;
        l->cap = cap;
    }
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
    if (o && qg_option_check(o, value, NULL, errstr, errstr_size) != 0)
        return -1;
    kv_list_t *l = o ? &cfg->ours : &cfg->kafka;
    if (kv_list_set(l, key, value) != 0) {
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
        if (is_kafka)
            name += 6;
        env_to_key(name, (size_t)(eq - name), key, sizeof(key));
        /* QG_BOOTSTRAP_SERVERS is -b (the deployments set it); else not one of ours: ignore */
        if (!is_kafka && !find_option(cfg, key) && strcmp(key, "bootstrap.servers") != 0)
            continue;
        if (qg_config_set(cfg, key, eq + 1, errstr, errstr_size) != 0)
            return -1;
    }
    return 0;
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

/* A typed option's value was checked when it was set, so parsing succeeds; an
 * untyped (string) option still parses leniently to `dflt`. */
double qg_config_get_number(const qg_config_t *cfg, const char *key, double dflt)
{
    const char *v = qg_config_get(cfg, key);
    if (!v || !*v)
        return dflt;
    const qg_option_t *o = find_option(cfg, key);
    double d;
    char err[256];
    if (o && o->type != QG_OPT_STRING && o->type != QG_OPT_LIST && o->type != QG_OPT_ENUM)
        return qg_option_check(o, v, &d, err, sizeof(err)) == 0 ? d : dflt;
    char *end;
    errno = 0;
    d = strtod(v, &end);
    return errno || end == v || *end ? dflt : d;
}

long long qg_config_get_int(const qg_config_t *cfg, const char *key, long long dflt)
{
    const char *v = qg_config_get(cfg, key);
    const qg_option_t *o = find_option(cfg, key);
    if (v && *v && (!o || o->type == QG_OPT_STRING)) {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        return errno || *end ? dflt : n;
    }
    return (long long)qg_config_get_number(cfg, key, (double)dflt);
}

double qg_config_get_double(const qg_config_t *cfg, const char *key, double dflt)
{
    return qg_config_get_number(cfg, key, dflt);
}

int qg_config_get_bool(const qg_config_t *cfg, const char *key, int dflt)
{
    const char *v = qg_config_get(cfg, key);
    int b;
    return v && *v && parse_bool(v, &b) == 0 ? b : dflt;
}

long long qg_config_int(const qg_config_t *cfg, const char *key)
{
    return (long long)qg_config_get_number(cfg, key, 0);
}

double qg_config_double(const qg_config_t *cfg, const char *key)
{
    return qg_config_get_number(cfg, key, 0);
}

long long qg_config_ms(const qg_config_t *cfg, const char *key)
{
    return (long long)qg_config_get_number(cfg, key, 0);
}

int qg_config_bool(const qg_config_t *cfg, const char *key)
{
    return qg_config_get_bool(cfg, key, 0);
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

void qg_config_print_help(const qg_config_t *cfg, void *file)
{
    FILE *f = file;
    for (size_t t = 0; t < cfg->ntables; t++)
        for (const qg_option_t *o = cfg->tables[t]; o->name; o++) {
            char flag[128];
            snprintf(flag, sizeof(flag), "--%s", o->name);
            for (char *p = flag + 2; *p; p++)
                if (*p == '.')
                    *p = '-';
            fprintf(f, "  %-30s %s", flag, o->description ? o->description : "");
            if (o->default_val && *o->default_val)
                fprintf(f, " (default: %s)", o->default_val);
            fputc('\n', f);
        }
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

static int parse_long_flag(qg_config_t *cfg, int argc, char **argv, int *i, char *errstr,
                           size_t errstr_size)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const qg_option_t *o = option_for_flag(cfg, arg, len);
    if (!o) {
        snprintf(errstr, errstr_size, "unknown option --%.*s (see --help)", (int)len, arg);
        return -1;
    }
    const char *val = eq ? eq + 1 : NULL;
    if (!val && take_value(argc, argv, i, argv[*i], &val, errstr, errstr_size) != 0)
        return -1;
    return qg_config_set(cfg, o->name, val, errstr, errstr_size);
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
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "-V") ||
                   !strcmp(a, "--version") || !strcmp(a, "--dump-config")) {
            continue; /* handled by the caller before parsing */
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
            snprintf(errstr, errstr_size, "unknown option %s (see --help)", a);
            rc = -1;
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
