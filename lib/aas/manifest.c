/*
 * manifest.c - binding manifests: YAML (libyaml document API) to
 * qg_manifest_t, with file:line:column in every error, path containment
 * inside the registry directory and goal placeholders.
 */
#include "text.h"
#include "array.h"
#include "manifest.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "goal.h"

#define QG_MANIFEST_MAX_BYTES (4u << 20)

/* Every allocation of a manifest, freed together. */
typedef struct qg_manifest_pool_s {
    void **ptrs;
    size_t n, cap;
} qg_manifest_pool_t;

typedef struct qg_mparse_s {
    qg_manifest_t *m;
    yaml_document_t *doc;
    const char *name;
    qg_error_t *err;
} qg_mparse_t;

static void *qg_mp_keep(qg_manifest_t *m, void *p)
{
    qg_manifest_pool_t *pool = m->priv;

    if (!p)
        return NULL;
    void **ptrs = qg_array_grow(pool->ptrs, &pool->cap, pool->n + 1, sizeof(*ptrs), 64);
    if (!ptrs) {
        free(p);
        return NULL;
    }
    pool->ptrs = ptrs;
    pool->ptrs[pool->n++] = p;
    return p;
}

static void *qg_mp_calloc(qg_manifest_t *m, size_t n, size_t size)
{
    return qg_mp_keep(m, calloc(n ? n : 1, size));
}

static const char *qg_mp_strdup(qg_manifest_t *m, const char *s)
{
    return qg_mp_keep(m, strdup(s));
}

void qg_manifest_destroy(qg_manifest_t *m)
{
    qg_manifest_pool_t *pool;

    if (!m)
        return;
    pool = m->priv;
    for (size_t i = 0; pool && i < pool->n; i++)
        free(pool->ptrs[i]);
    if (pool)
        free(pool->ptrs);
    free(pool);
    free(m);
}

/* ---- YAML helpers ---- */

static void qg_mp_fail(qg_mparse_t *p, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void qg_mp_fail(qg_mparse_t *p, const yaml_node_t *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    qg_error_first_at(&p->err, QG_ERR_BAD_INPUT, p->name, at ? at->start_mark.line + 1 : 0,
                      at ? at->start_mark.column + 1 : 0, "%s", msg);
}

static void qg_mp_warn(qg_mparse_t *p, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void qg_mp_warn(qg_mparse_t *p, const yaml_node_t *at, const char *fmt, ...)
{
    char msg[512], line[640];
    const char **w;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(line, sizeof(line), "%s:%zu:%zu: %s", p->name, at ? at->start_mark.line + 1 : 0,
             at ? at->start_mark.column + 1 : 0, msg);
    w = realloc(p->m->warnings, (p->m->n_warnings + 1) * sizeof(*w));
    if (!w)
        return;
    p->m->warnings = w;
    w[p->m->n_warnings] = qg_mp_strdup(p->m, line);
    if (w[p->m->n_warnings])
        p->m->n_warnings++;
}

static const char *qg_y_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *qg_y_get(qg_mparse_t *p, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const char *k = qg_y_scalar(yaml_document_get_node(p->doc, pr->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(p->doc, pr->value);
    }
    return NULL;
}

static size_t qg_y_seq_len(const yaml_node_t *n)
{
    return n && n->type == YAML_SEQUENCE_NODE
               ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
               : 0;
}

static yaml_node_t *qg_y_seq_at(qg_mparse_t *p, const yaml_node_t *n, size_t i)
{
    return yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
}

/* A scalar string member: NULL if absent; fails if present but not a scalar. */
static const char *qg_mp_str(qg_mparse_t *p, const yaml_node_t *map, const char *key, int required,
                             const char *ctx)
{
    yaml_node_t *v = qg_y_get(p, map, key);
    const char *s = qg_y_scalar(v);

    if (!v) {
        if (required)
            qg_mp_fail(p, map, "%s: missing '%s'", ctx, key);
        return NULL;
    }
    if (!s || (!*s && required)) {
        qg_mp_fail(p, v, "%s: '%s' must be a non-empty string", ctx, key);
        return NULL;
    }
    return qg_mp_strdup(p->m, s);
}

/* Warn about keys of `map` that are not in `known`. */
static void qg_mp_check_keys(qg_mparse_t *p, const yaml_node_t *map, const char *const *known,
                             const char *ctx)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *kn = yaml_document_get_node(p->doc, pr->key);
        const char *k = qg_y_scalar(kn);
        size_t i;

        for (i = 0; k && known[i]; i++)
            if (strcmp(k, known[i]) == 0)
                break;
        if (!k || !known[i])
            qg_mp_warn(p, kn, "%s: unknown key '%s' ignored", ctx, k ? k : "?");
    }
}

/* ---- sources ---- */

static int qg_mp_bool(qg_mparse_t *p, const yaml_node_t *map, const char *key, int dflt)
{
    yaml_node_t *v = qg_y_get(p, map, key);
    const char *s = qg_y_scalar(v);

    if (!v)
        return dflt;
    if (s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes")))
        return 1;
    if (s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no")))
        return 0;
    qg_mp_fail(p, v, "'%s' must be true or false", key);
    return dflt;
}

/* output_file: a plain file name; the stem (without extension) is the scenario key. */
static void qg_mp_output(qg_mparse_t *p, qg_manifest_source_t *s, const yaml_node_t *cfg)
{
    const char *f = qg_mp_str(p, cfg, "output_file", 0, s->name);
    char *stem;
    const char *dot;

    if (p->err)
        return;
    if (!f) {
        s->output_file = s->output_stem = s->name;
        return;
    }
    if (strchr(f, '/') || strchr(f, '\\') || f[0] == '.' || strlen(f) > 200) {
        qg_mp_fail(p, qg_y_get(p, cfg, "output_file"),
                   "%s: output_file '%s' must be a plain file name", s->name, f);
        return;
    }
    s->output_file = f;
    dot = strrchr(f, '.');
    stem = strndup(f, dot ? (size_t)(dot - f) : strlen(f));
    s->output_stem = qg_mp_keep(p->m, stem);
}

static void qg_mp_required_list(qg_mparse_t *p, qg_manifest_msub_t *ms, const yaml_node_t *req)
{
    yaml_node_t *list = qg_y_get(p, req, ms->key);
    size_t n = qg_y_seq_len(list);

    if (list && list->type != YAML_SEQUENCE_NODE) {
        qg_mp_fail(p, list, "required_elements.%s must be a list", ms->key);
        return;
    }
    ms->required = qg_mp_calloc(p->m, n, sizeof(*ms->required));
    for (size_t i = 0; ms->required && i < n && !p->err; i++) {
        yaml_node_t *it = qg_y_seq_at(p, list, i);
        if (!qg_y_scalar(it)) {
            qg_mp_fail(p, it, "required_elements.%s[%zu] must be a string", ms->key, i);
            return;
        }
        ms->required[ms->n_required++] = qg_mp_strdup(p->m, qg_y_scalar(it));
    }
}

/* machine_sources[i]: machine_id plus every <key>_submodel member. */
static void qg_mp_machine(qg_mparse_t *p, qg_manifest_machine_t *mc, const yaml_node_t *node)
{
    const yaml_node_t *req = qg_y_get(p, node, "required_elements");
    size_t npairs;

    if (node->type != YAML_MAPPING_NODE) {
        qg_mp_fail(p, node, "machine_sources entry must be a mapping");
        return;
    }
    mc->machine_id = qg_mp_str(p, node, "machine_id", 1, "machine_sources");
    npairs = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    mc->subs = qg_mp_calloc(p->m, npairs, sizeof(*mc->subs));
    for (yaml_node_pair_t *pr = node->data.mapping.pairs.start;
         mc->subs && !p->err && pr < node->data.mapping.pairs.top; pr++) {
        const char *k = qg_y_scalar(yaml_document_get_node(p->doc, pr->key));
        size_t kl = k ? strlen(k) : 0;
        qg_manifest_msub_t *ms;

        if (kl <= 9 || strcmp(k + kl - 9, "_submodel") != 0)
            continue;
        ms = &mc->subs[mc->n_subs++];
        ms->key = qg_mp_keep(p->m, strndup(k, kl - 9));
        ms->submodel_id = qg_mp_str(p, node, k, 1, mc->machine_id ? mc->machine_id : "machine");
        qg_mp_required_list(p, ms, req);
    }
    if (!p->err && mc->n_subs == 0)
        qg_mp_fail(p, node, "machine '%s': no <name>_submodel given",
                   mc->machine_id ? mc->machine_id : "?");
}

static void qg_mp_machines(qg_mparse_t *p, qg_manifest_source_t *s, const yaml_node_t *list)
{
    size_t n = qg_y_seq_len(list);

    if (list->type != YAML_SEQUENCE_NODE || n == 0) {
        qg_mp_fail(p, list, "%s: machine_sources must be a non-empty list", s->name);
        return;
    }
    s->machines = qg_mp_calloc(p->m, n, sizeof(*s->machines));
    for (size_t i = 0; s->machines && i < n && !p->err; i++)
        qg_mp_machine(p, &s->machines[s->n_machines++], qg_y_seq_at(p, list, i));
}

static void qg_mp_rules(qg_mparse_t *p, qg_manifest_source_t *s, const yaml_node_t *list)
{
    size_t n = qg_y_seq_len(list);

    if (list->type != YAML_SEQUENCE_NODE) {
        qg_mp_fail(p, list, "%s: combination_rules must be a list", s->name);
        return;
    }
    s->rules = qg_mp_calloc(p->m, n, sizeof(*s->rules));
    for (size_t i = 0; s->rules && i < n && !p->err; i++) {
        yaml_node_t *r = qg_y_seq_at(p, list, i);
        qg_manifest_rule_t *rule = &s->rules[s->n_rules++];
        rule->submodel_id = qg_mp_str(p, r, "submodel_id", 1, "combination_rules");
        rule->property_path = qg_mp_str(p, r, "property_path", 1, "combination_rules");
        rule->result_key = qg_mp_str(p, r, "result_key", 0, "combination_rules");
        if (!rule->result_key)
            rule->result_key = rule->property_path;
    }
}

static void qg_mp_collection(qg_mparse_t *p, qg_manifest_source_t *s, const yaml_node_t *cfg)
{
    const yaml_node_t *ms = qg_y_get(p, cfg, "machine_sources");
    const yaml_node_t *filter = qg_y_get(p, cfg, "shell_filter");
    const yaml_node_t *rules = qg_y_get(p, cfg, "combination_rules");

    if (ms)
        qg_mp_machines(p, s, ms);
    if (filter && !p->err)
        s->id_pattern = qg_mp_str(p, filter, "id_pattern", 1, "shell_filter");
    if (rules && !p->err)
        qg_mp_rules(p, s, rules);
    if (!p->err && !ms && !filter)
        qg_mp_fail(p, cfg, "%s: aas_shell_collection needs machine_sources or shell_filter",
                   s->name);
}

static void qg_mp_property(qg_mparse_t *p, qg_manifest_source_t *s, const yaml_node_t *cfg)
{
    s->submodel_id = qg_mp_str(p, cfg, "submodel_id", 1, s->name);
    if (p->err)
        return;
    s->property_path = qg_mp_str(p, cfg, "property_path", 0, s->name);
    if (!s->property_path && !p->err)
        s->property_path = qg_mp_str(p, cfg, "element_id", 0, s->name);
    if (!s->property_path && !p->err)
        qg_mp_fail(p, cfg, "%s: missing 'property_path' (or 'element_id')", s->name);
}

static const char *const qg_mp_config_keys[] = {
    "aasx_shell_id",     "submodel_id",     "property_path", "element_id",  "output_file",
    "transformation",    "data_type",       "description",   "swrl_origin", "shell_filter",
    "combination_rules", "machine_sources", "time_field",    NULL,
};

static void qg_mp_source(qg_mparse_t *p, qg_manifest_source_t *s, const yaml_node_t *node)
{
    static const char *const keys[] = {"name", "type", "required", "config", "description", NULL};
    const yaml_node_t *cfg = qg_y_get(p, node, "config");
    const char *type;

    s->line = (int)node->start_mark.line + 1;
    if (node->type != YAML_MAPPING_NODE) {
        qg_mp_fail(p, node, "data_sources entry must be a mapping");
        return;
    }
    s->name = qg_mp_str(p, node, "name", 1, "data_sources entry");
    type = qg_mp_str(p, node, "type", 1, s->name ? s->name : "data_sources entry");
    s->required = qg_mp_bool(p, node, "required", 1);
    if (p->err)
        return;
    qg_mp_check_keys(p, node, keys, s->name);
    if (!cfg || cfg->type != YAML_MAPPING_NODE) {
        qg_mp_fail(p, cfg ? cfg : node, "%s: 'config' must be a mapping", s->name);
        return;
    }
    qg_mp_check_keys(p, cfg, qg_mp_config_keys, s->name);
    s->shell_id = qg_mp_str(p, cfg, "aasx_shell_id", 0, s->name);
    s->data_type = qg_mp_str(p, cfg, "data_type", 0, s->name);
    s->time_field = qg_mp_str(p, cfg, "time_field", 0, s->name);
    qg_mp_output(p, s, cfg);
    if (p->err)
        return;
    if (strcmp(type, "aas_property") == 0) {
        s->type = QG_SOURCE_AAS_PROPERTY;
        qg_mp_property(p, s, cfg);
    } else if (strcmp(type, "aas_shell_collection") == 0) {
        s->type = QG_SOURCE_AAS_SHELL_COLLECTION;
        qg_mp_collection(p, s, cfg);
    } else {
        qg_mp_fail(p, qg_y_get(p, node, "type"),
                   "%s: unknown type '%s' (aas_property, aas_shell_collection)", s->name, type);
    }
}

static void qg_mp_unique(qg_mparse_t *p, const yaml_node_t *list)
{
    qg_manifest_t *m = p->m;

    for (size_t i = 0; i < m->n_sources && !p->err; i++)
        for (size_t j = 0; j < i && !p->err; j++) {
            if (strcmp(m->sources[i].name, m->sources[j].name) == 0)
                qg_mp_fail(p, qg_y_seq_at(p, list, i), "duplicate source name '%s'",
                           m->sources[i].name);
            else if (strcmp(m->sources[i].output_stem, m->sources[j].output_stem) == 0)
                qg_mp_fail(p, qg_y_seq_at(p, list, i), "%s: output '%s' already used by %s",
                           m->sources[i].name, m->sources[i].output_stem, m->sources[j].name);
        }
}

static void qg_mp_root(qg_mparse_t *p, const yaml_node_t *root)
{
    static const char *const keys[] = {"model",        "description",     "schema",
                                       "data_sources", "generation_info", "validation_rules",
                                       "aasx_server",  "sources",         NULL};
    const yaml_node_t *list = qg_y_get(p, root, "data_sources");
    size_t n = qg_y_seq_len(list);

    if (!root || root->type != YAML_MAPPING_NODE) {
        qg_mp_fail(p, root, "a manifest must be a mapping with 'data_sources'");
        return;
    }
    if (qg_y_get(p, root, "sources"))
        qg_mp_warn(p, qg_y_get(p, root, "sources"),
                   "legacy 'sources' block ignored (data_sources is used)");
    if (qg_y_get(p, root, "aasx_server"))
        qg_mp_warn(p, qg_y_get(p, root, "aasx_server"),
                   "'aasx_server' ignored: the server is configuration (aas.base.url)");
    qg_mp_check_keys(p, root, keys, "manifest");
    p->m->model = qg_mp_str(p, root, "model", 0, "manifest");
    if (!list || list->type != YAML_SEQUENCE_NODE || n == 0) {
        qg_mp_fail(p, list ? list : root, "'data_sources' must be a non-empty list");
        return;
    }
    p->m->sources = qg_mp_calloc(p->m, n, sizeof(*p->m->sources));
    for (size_t i = 0; p->m->sources && i < n && !p->err; i++)
        qg_mp_source(p, &p->m->sources[p->m->n_sources++], qg_y_seq_at(p, list, i));
    if (!p->err)
        qg_mp_unique(p, list);
}

static qg_error_t *qg_mp_load_doc(yaml_document_t *doc, const char *text, size_t len,
                                  const char *name)
{
    yaml_parser_t parser;
    qg_error_t *err = NULL;

    if (!yaml_parser_initialize(&parser))
        return qg_error_new_oom("%s: out of memory", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, doc)) {
        err = qg_error_new_bad_input(
            "%s:%zu:%zu: YAML error: %s%s%s", name, parser.problem_mark.line + 1,
            parser.problem_mark.column + 1, parser.problem ? parser.problem : "invalid",
            parser.context ? " " : "", parser.context ? parser.context : "");
    }
    yaml_parser_delete(&parser);
    return err;
}

qg_error_t *qg_manifest_parse(const char *text, size_t len, const char *name, qg_manifest_t **out)
{
    yaml_document_t doc;
    qg_mparse_t p = {.doc = &doc, .name = name ? name : "manifest"};
    qg_error_t *err;

    *out = NULL;
    err = qg_mp_load_doc(&doc, text, len, p.name);
    if (err)
        return err;
    p.m = calloc(1, sizeof(*p.m));
    if (p.m)
        p.m->priv = calloc(1, sizeof(qg_manifest_pool_t));
    if (!p.m || !p.m->priv) {
        yaml_document_delete(&doc);
        qg_manifest_destroy(p.m);
        return qg_error_new_oom("%s: out of memory", p.name);
    }
    p.m->path = qg_mp_strdup(p.m, p.name);
    qg_mp_root(&p, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    if (!p.err && p.m->warnings)
        qg_mp_keep(p.m, (void *)p.m->warnings);
    else if (p.err)
        free((void *)p.m->warnings);
    if (p.err) {
        qg_manifest_destroy(p.m);
        return p.err;
    }
    *out = p.m;
    return NULL;
}

qg_error_t *qg_manifest_load(const char *path, qg_manifest_t **out)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    qg_error_t *err;

    *out = NULL;
    if (!f)
        return qg_error_new_bad_input("manifest %s: %s", path, strerror(errno));
    buf = malloc(QG_MANIFEST_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return qg_error_new_oom("manifest %s: out of memory", path);
    }
    n = fread(buf, 1, QG_MANIFEST_MAX_BYTES + 1, f);
    fclose(f);
    if (n > QG_MANIFEST_MAX_BYTES) {
        free(buf);
        return qg_error_new_bad_input("manifest %s: larger than %u bytes", path,
                                      QG_MANIFEST_MAX_BYTES);
    }
    err = qg_manifest_parse(buf, n, path, out);
    free(buf);
    return err;
}

/* ---- paths ---- */

qg_error_t *qg_manifest_resolve_path(const char *registry_dir, const char *path, char **out)
{
    char root[PATH_MAX], real[PATH_MAX];
    char *joined;
    size_t rl;

    *out = NULL;
    if (!path || !*path)
        return qg_error_new_bad_input("manifest path is empty");
    if (!registry_dir || !*registry_dir) {
        if (!realpath(path, real))
            return qg_error_new_bad_input("manifest %s: %s", path, strerror(errno));
        *out = strdup(real);
        return *out ? NULL : qg_error_new_oom("out of memory");
    }
    if (!realpath(registry_dir, root))
        return qg_error_new_stage_error("registry.dir %s: %s", registry_dir, strerror(errno));
    joined = path[0] == '/' ? strdup(path) : qg_str_printf("%s/%s", root, path);
    if (!joined)
        return qg_error_new_oom("out of memory");
    if (!realpath(joined, real)) {
        qg_error_t *err = qg_error_new_bad_input("manifest %s: %s", path, strerror(errno));
        free(joined);
        return err;
    }
    free(joined);
    rl = strlen(root);
    if (strncmp(real, root, rl) != 0 || (real[rl] != '/' && !(rl == 1 && root[0] == '/')))
        return qg_error_new_bad_input(
            "manifest path '%s' resolves outside the registry directory %s", path, root);
    *out = strdup(real);
    return *out ? NULL : qg_error_new_oom("out of memory");
}

/* ---- placeholders ---- */

int qg_manifest_has_placeholder(const char *s)
{
    return s && strstr(s, "${") != NULL;
}

typedef struct qg_sbuf_s {
    char *s;
    size_t len, cap;
} qg_sbuf_t;

static int qg_sbuf_add(qg_sbuf_t *b, const char *s, size_t n)
{
    char *ns = qg_array_grow(b->s, &b->cap, b->len + n + 1, 1, 64);

    if (!ns)
        return -1;
    b->s = ns;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

/* Apply a filter to a parameter value in place (buf is writable). */
static qg_error_t *qg_mf_filter(char *val, const char *filter, size_t flen)
{
    if (flen == 0)
        return NULL;
    if (flen == 7 && strncmp(filter, "idShort", 7) == 0) {
        for (char *c = val; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_')
                *c = '_';
        return NULL;
    }
    return qg_error_new_bad_input("unknown placeholder filter '%.*s' (idShort)", (int)flen, filter);
}

/* One "${param:NAME[|filter]}" at s (after "${"); *endp past '}'. */
static qg_error_t *qg_mf_one(const char *s, const char **endp, const qg_json_t *doc, qg_sbuf_t *b)
{
    const char *close = strchr(s, '}');
    const char *bar, *text;
    char name[128], val[1024];

    if (!close)
        return qg_error_new_bad_input("unterminated placeholder '${%s'", s);
    if (strncmp(s, "param:", 6) != 0)
        return qg_error_new_bad_input("unknown placeholder '${%.*s}' (use ${param:NAME})",
                                      (int)(close - s), s);
    s += 6;
    bar = memchr(s, '|', (size_t)(close - s));
    if ((size_t)((bar ? bar : close) - s) >= sizeof(name) || (bar ? bar : close) == s)
        return qg_error_new_bad_input("bad placeholder name in '${param:%.*s}'", (int)(close - s),
                                      s);
    snprintf(name, sizeof(name), "%.*s", (int)((bar ? bar : close) - s), s);
    text = qg_goal_param_text(doc, name, val, sizeof(val));
    if (!text)
        return qg_error_new_bad_input("goal parameter '%s' is missing (needed by ${param:%s})",
                                      name, name);
    if (text != val)
        snprintf(val, sizeof(val), "%s", text);
    if (bar) {
        qg_error_t *err = qg_mf_filter(val, bar + 1, (size_t)(close - bar - 1));
        if (err)
            return err;
    }
    *endp = close + 1;
    return qg_sbuf_add(b, val, strlen(val)) == 0 ? NULL : qg_error_new_oom("out of memory");
}

qg_error_t *qg_manifest_fill(const char *tmpl, const qg_json_t *doc, char **out)
{
    qg_sbuf_t b = {0};
    const char *s = tmpl;

    *out = NULL;
    if (qg_sbuf_add(&b, "", 0) != 0)
        return qg_error_new_oom("out of memory");
    while (*s) {
        const char *ph = strstr(s, "${");
        qg_error_t *err;

        if (!ph) {
            if (qg_sbuf_add(&b, s, strlen(s)) != 0)
                break;
            s += strlen(s);
            continue;
        }
        if (qg_sbuf_add(&b, s, (size_t)(ph - s)) != 0)
            break;
        err = qg_mf_one(ph + 2, &s, doc, &b);
        if (err) {
            free(b.s);
            return err;
        }
    }
    if (*s) {
        free(b.s);
        return qg_error_new_oom("out of memory");
    }
    *out = b.s;
    return NULL;
}
