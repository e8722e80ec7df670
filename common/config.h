/*
 * config.h - one configuration for a process, kcat-style.
 *
 * Keys come from tables: name, type, bounds, one default and a description
 * (QG_OPT_INT(...), QG_OPT_MS(...), ...). Runtime keys (topic.prefix,
 * processing.guarantee, ...), each stage's keys (registry.dir, aas.base.url, ...)
 * and each tool's options are declared so; --help, --help-markdown (the doc
 * tables) and --dump-config print them. A value is checked where it is set, so a
 * bad one stops the program at start naming the key. Any other key given with
 * -X / -F / QG_KAFKA_* is a librdkafka property and is passed to
 * rd_kafka_conf_set, which validates it.
 *
 * Precedence, lowest first: table default, environment, then the command line
 * in order (a -F file applies where it appears).
 * Environment: QG_<KEY> with dots as underscores, upper case
 * (QG_TOPIC_PREFIX, QG_AAS_BASE_URL); librdkafka properties as
 * QG_KAFKA_<PROPERTY> (QG_KAFKA_SECURITY_PROTOCOL=SASL_SSL).
 */
#ifndef QG_CONFIG_H
#define QG_CONFIG_H

#include <stddef.h>

typedef enum {
    QG_OPT_STRING = 0, /* any text (the default for a table entry without a type) */
    QG_OPT_INT,        /* integer in [min, max] */
    QG_OPT_DOUBLE,     /* number in [min, max] */
    QG_OPT_BOOL,       /* true/false, 1/0, yes/no, on/off */
    QG_OPT_ENUM,       /* one of choices: "a|b|c" */
    QG_OPT_DURATION,   /* milliseconds in [min, max]; "250", "250ms", "2s", "5m", "1h" */
    QG_OPT_LIST        /* comma-separated text; with bounds: integers in [min, max] */
} qg_option_type_t;

typedef struct qg_option_s {
    const char *name;        /* "registry.dir"; --registry-dir on the command line */
    const char *default_val; /* NULL: unset */
    const char *description;
    int is_secret; /* never printed by dump */
    int is_multi;  /* QG_OPT_LIST: each setting appends (--aas a --aas b is "a,b") */
    qg_option_type_t type;
    double min, max;     /* QG_OPT_INT, _DOUBLE, _DURATION (ms): bounds, inclusive */
    const char *choices; /* QG_OPT_ENUM: "a|b|c" */
} qg_option_t;

/* Table entries. A value outside the type or bounds is refused where it is set
 * ("key: value: reason"), so a program stops at start naming the key. */
#define QG_OPT_STR(n, d, desc)                                                                     \
    {                                                                                              \
        .name = (n), .default_val = (d), .description = (desc)                                     \
    }
#define QG_OPT_SECRET(n, desc)                                                                     \
    {                                                                                              \
        .name = (n), .description = (desc), .is_secret = 1                                         \
    }
#define QG_OPT_INT(n, d, lo, hi, desc)                                                             \
    {                                                                                              \
        .name = (n), .default_val = (d), .description = (desc), .type = QG_OPT_INT, .min = (lo),   \
        .max = (hi)                                                                                \
    }
#define QG_OPT_DOUBLE(n, d, lo, hi, desc)                                                          \
    {                                                                                              \
        .name = (n), .default_val = (d), .description = (desc), .type = QG_OPT_DOUBLE,             \
        .min = (lo), .max = (hi)                                                                   \
    }
#define QG_OPT_MS(n, d, lo, hi, desc)                                                              \
    {                                                                                              \
        .name = (n), .default_val = (d), .description = (desc), .type = QG_OPT_DURATION,           \
        .min = (lo), .max = (hi)                                                                   \
    }
#define QG_OPT_BOOL(n, d, desc)                                                                    \
    {                                                                                              \
        .name = (n), .default_val = (d), .description = (desc), .type = QG_OPT_BOOL                \
    }
#define QG_OPT_ENUM(n, d, ch, desc)                                                                \
    {                                                                                              \
        .name = (n), .default_val = (d), .description = (desc), .type = QG_OPT_ENUM,               \
        .choices = (ch)                                                                            \
    }
#define QG_OPT_LIST(n, d, desc)                                                                    \
    {                                                                                              \
        .name = (n), .default_val = (d), .description = (desc), .type = QG_OPT_LIST                \
    }
/* Comma-separated integers, each in [lo, hi] ("1000,5000,30000"). */
#define QG_OPT_INT_LIST(n, d, lo, hi, desc)                                                        \
    {                                                                                              \
        .name = (n), .default_val = (d), .description = (desc), .type = QG_OPT_LIST, .min = (lo),  \
        .max = (hi)                                                                                \
    }
/* A list given as often as needed: --aas a --aas b (also --aas a,b). */
#define QG_OPT_MULTI(n, desc)                                                                      \
    {                                                                                              \
        .name = (n), .description = (desc), .type = QG_OPT_LIST, .is_multi = 1                     \
    }
#define QG_OPT_END                                                                                 \
    {                                                                                              \
        0                                                                                          \
    }
/* Ends a table and names it: `--help-markdown=NAME` prints only that table, and the
 * doc block <!-- config:NAME --> holds it (scripts/gen-config-docs). */
#define QG_OPT_TABLE_END(tname)                                                                    \
    {                                                                                              \
        .name = NULL, .description = (tname)                                                       \
    }

/**
 * Check `value` against the option's type and bounds. For numeric types the
 * value is stored in *number (durations in ms). Returns 0, or -1 with
 * "key: value: reason" in errstr.
 */
int qg_option_check(const qg_option_t *o, const char *value, double *number, char *errstr,
                    size_t errstr_size);

typedef struct qg_config_s qg_config_t;

qg_config_t *qg_config_new(void);
void qg_config_destroy(qg_config_t *cfg);

/** Register a table of known options (terminated by a {NULL} entry). */
int qg_config_add_options(qg_config_t *cfg, const qg_option_t *opts);

/** Set a key. Known keys are ours; unknown ones are kept as librdkafka properties. */
int qg_config_set(qg_config_t *cfg, const char *key, const char *value, char *errstr,
                  size_t errstr_size);
/** "key=value" form. */
int qg_config_set_kv(qg_config_t *cfg, const char *kv, char *errstr, size_t errstr_size);
/** Read a file of key=value lines (# comments). Errors name path:line. */
int qg_config_load_file(qg_config_t *cfg, const char *path, char *errstr, size_t errstr_size);
/** Apply QG_* environment variables. */
int qg_config_load_env(qg_config_t *cfg, char *errstr, size_t errstr_size);

/** 1 if the key was set (environment, file or command line), 0 if it has its default. */
int qg_config_is_set(const qg_config_t *cfg, const char *key);
/** Value of a key (ours or librdkafka's), falling back to the table default, or NULL. */
const char *qg_config_get(const qg_config_t *cfg, const char *key);

/* Typed getters: the default is the table's (written once, there). The key must be
 * a typed option of a registered table; its value was checked when it was set. */
long long qg_config_int(const qg_config_t *cfg, const char *key); /* QG_OPT_INT */
double qg_config_double(const qg_config_t *cfg, const char *key); /* QG_OPT_DOUBLE */
long long qg_config_ms(const qg_config_t *cfg, const char *key);  /* QG_OPT_DURATION */
int qg_config_bool(const qg_config_t *cfg, const char *key);      /* QG_OPT_BOOL */

/** Iterate librdkafka properties: keys not in any table, and keys set as "kafka.<property>"
 * (a librdkafka property whose name is also one of ours, e.g. kafka.retry.backoff.ms). */
size_t qg_config_kafka_count(const qg_config_t *cfg);
/** The librdkafka property `key` as set, or NULL (never one of our keys). */
const char *qg_config_kafka_get(const qg_config_t *cfg, const char *key);
void qg_config_kafka_at(const qg_config_t *cfg, size_t i, const char **key, const char **value);

/** Print the effective configuration (secrets masked) as key=value lines. */
void qg_config_dump(const qg_config_t *cfg, void *file /* FILE* */);
/** Print the table of known options (for --help): flag, value, description, bounds, default. */
void qg_config_print_help(const qg_config_t *cfg, void *file /* FILE* */);
/**
 * Print the tables as Markdown (| key | default | allowed | meaning |), each
 * preceded by "<!-- config:NAME -->" when the table is named. `table` NULL: all
 * tables; else only the table of that name. Returns 0, or -1 if no such table.
 */
int qg_config_print_markdown(const qg_config_t *cfg, const char *table, void *file /* FILE* */);

/**
 * Parse the common command line:
 *   -b/--bootstrap-servers LIST, -X key=value, -F file, --<key-with-dashes> VALUE
 *   (or --key=VALUE) for every known key, -v/--verbose, -q/--quiet, --dump-config.
 * Positional arguments are left in *rest / *nrest (pointers into argv).
 * Returns 0 on success, -1 with errstr on a bad argument.
 * Skips -h/--help, --help-markdown[=T], -V/--version and --dump-config: callers
 * check those first. A boolean option given alone (--wait) is set to true; it
 * takes the next argument only when that is a boolean (--wait false). A single
 * letter option (-o FILE) stands for a table key of that one letter.
 */
int qg_config_parse_args(qg_config_t *cfg, int argc, char **argv, char ***rest, int *nrest,
                         char *errstr, size_t errstr_size);

/**
 * A configuration from `ntables` option tables (each {NULL}-terminated; a
 * NULL table is skipped), the QG_* environment and the command line, with the
 * log level applied. NULL with errstr on a bad setting or out of memory.
 */
qg_config_t *qg_config_from_env_and_args(const qg_option_t *const *tables, size_t ntables, int argc,
                                         char **argv, char ***rest, int *nrest, char *errstr,
                                         size_t errstr_size);

/* One command line for every binary. */
typedef struct qg_cli_s {
    const char *program; /* "qg-broker", "qgctl submit": prefixes every message */
    const char *usage;   /* what follows the program name: "[options] [FILE|-]" */
    const char *about;   /* paragraph under the usage line, or NULL */
    const char *version; /* text after the program name for --version; NULL: QG_VERSION */
    int max_positional;  /* positional arguments allowed at most; -1: any */
} qg_cli_t;

/**
 * The configuration of a command-line program: the tables, then the QG_*
 * environment, then argv (qg_config_parse_args). Handles itself, printing to
 * stdout: -h/--help (usage, then every option from the tables),
 * --help-markdown[=TABLE], -V/--version and --dump-config; then returns NULL
 * with *exit_code 0. A bad setting, an unknown option or too many positional
 * arguments: "program: key: value: reason" on stderr, NULL, *exit_code 2.
 * Positional arguments are left in *rest / *nrest.
 */
qg_config_t *qg_cli_config(const qg_cli_t *cli, const qg_option_t *const *tables, size_t ntables,
                           int argc, char **argv, char ***rest, int *nrest, int *exit_code);

#endif
