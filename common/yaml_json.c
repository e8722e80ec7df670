/*
 * yaml_json.c - YAML documents (libyaml) into the JSON model.
 */
#include "yaml_json.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 1000000

typedef struct {
    yaml_document_t *doc;
    const char *name;
    qg_error_class_t cls;
    size_t nodes;
    qg_error_t *err;
} yconv_t;

static void yfail(yconv_t *yc, const yaml_node_t *n, const char *fmt, const char *arg)
{
    if (yc->err)
        return;
    char msg[256];
    snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
    qg_error_first_at(&yc->err, yc->cls, yc->name, n ? (size_t)n->start_mark.line + 1 : 0,
                      n ? (size_t)n->start_mark.column + 1 : 0, "%s", msg);
}

/* A JSON-style decimal number: -?digits[.digits][e[+-]digits]. */
static int plain_is_number(const char *s)
{
    const char *p = s + (*s == '-');
    if (!isdigit((unsigned char)*p))
        return 0;
    char *end = NULL;
    errno = 0;
    strtod(s, &end);
    return errno == 0 && end && *end == '\0' && !strpbrk(s, "xXnNiI");
}

static int one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(s, *words))
            return 1;
    return 0;
}

static qg_json_t *yscalar(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || strlen(s) != len)
        return qg_json_stringn(s, len);
    if (one_of(s, nulls))
        return qg_json_null();
    if (one_of(s, trues) || one_of(s, falses))
        return qg_json_bool(one_of(s, trues));
    if (plain_is_number(s)) {
        char msg[64];
        qg_json_t *num = qg_json_parse(s, len, msg, sizeof(msg));
        if (qg_json_is(num, QG_JSON_NUMBER))
            return num;
        qg_json_destroy(num);
        return qg_json_number(strtod(s, NULL));
    }
    return qg_json_stringn(s, len);
}

static qg_json_t *ynode(yconv_t *yc, yaml_node_t *n, int depth);

static qg_json_t *ymapping(yconv_t *yc, yaml_node_t *n, int depth)
{
    qg_json_t *obj = qg_json_object();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; obj && p < n->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(yc->doc, p->key);
        if (!k || k->type != YAML_SCALAR_NODE) {
            yfail(yc, k ? k : n, "mapping keys must be scalars%s", NULL);
            break;
        }
        const char *key = (const char *)k->data.scalar.value;
        if (qg_json_get(obj, key)) {
            yfail(yc, k, "duplicate key \"%.60s\"", key);
            break;
        }
        qg_json_t *v = ynode(yc, yaml_document_get_node(yc->doc, p->value), depth + 1);
        if (!v || qg_json_set(obj, key, v) != 0) {
            qg_error_first_oom(&yc->err, yc->name);
            break;
        }
    }
    if (!obj)
        qg_error_first_oom(&yc->err, yc->name);
    if (yc->err) {
        qg_json_destroy(obj);
        return NULL;
    }
    return obj;
}

static qg_json_t *ysequence(yconv_t *yc, yaml_node_t *n, int depth)
{
    qg_json_t *arr = qg_json_array();
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         arr && it < n->data.sequence.items.top; it++) {
        qg_json_t *v = ynode(yc, yaml_document_get_node(yc->doc, *it), depth + 1);
        if (!v || qg_json_append(arr, v) != 0) {
            qg_error_first_oom(&yc->err, yc->name);
            break;
        }
    }
    if (!arr)
        qg_error_first_oom(&yc->err, yc->name);
    if (yc->err) {
        qg_json_destroy(arr);
        return NULL;
    }
    return arr;
}

static qg_json_t *ynode(yconv_t *yc, yaml_node_t *n, int depth)
{
    if (yc->err)
        return NULL;
    if (!n || depth > YAML_MAX_DEPTH || ++yc->nodes > YAML_MAX_NODES) {
        yfail(yc, n, "document too deep or too large (or uses recursive aliases)%s", NULL);
        return NULL;
    }
    qg_json_t *v = NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        v = yscalar(n);
        break;
    case YAML_MAPPING_NODE:
        return ymapping(yc, n, depth);
    case YAML_SEQUENCE_NODE:
        return ysequence(yc, n, depth);
    default:
        v = qg_json_null();
        break;
    }
    if (!v)
        qg_error_first_oom(&yc->err, yc->name);
    return v;
}

/* Load one document from an initialised parser and convert it. */
static qg_json_t *convert(yaml_parser_t *parser, const char *name, qg_error_class_t cls,
                          qg_error_t **errp)
{
    yaml_document_t doc;
    if (!yaml_parser_load(parser, &doc)) {
        *errp = qg_error_new(cls, "%s:%zu:%zu: YAML error: %s%s%s", name,
                             (size_t)parser->problem_mark.line + 1,
                             (size_t)parser->problem_mark.column + 1,
                             parser->problem ? parser->problem : "syntax error",
                             parser->context ? " " : "", parser->context ? parser->context : "");
        return NULL;
    }
    yconv_t yc = {.doc = &doc, .name = name, .cls = cls};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    qg_json_t *out = NULL;
    if (!root)
        yc.err = qg_error_new(cls, "%s: the file is empty", name);
    else
        out = ynode(&yc, root, 0);
    yaml_document_delete(&doc);
    *errp = yc.err;
    if (yc.err) {
        qg_json_destroy(out);
        return NULL;
    }
    return out;
}

qg_json_t *qg_yaml_to_json(const char *text, size_t len, const char *name, qg_error_class_t cls,
                           qg_error_t **errp)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        *errp = qg_error_new(cls, "%s: cannot initialise the YAML parser", name);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    qg_json_t *out = convert(&parser, name, cls, errp);
    yaml_parser_delete(&parser);
    return out;
}

qg_json_t *qg_yaml_file_to_json(const char *path, qg_error_class_t cls, qg_error_t **errp)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *errp = qg_error_new(cls, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    yaml_parser_t parser;
    qg_json_t *out = NULL;
    if (!yaml_parser_initialize(&parser)) {
        *errp = qg_error_new(cls, "%s: cannot initialise the YAML parser", path);
    } else {
        yaml_parser_set_input_file(&parser, f);
        out = convert(&parser, path, cls, errp);
        yaml_parser_delete(&parser);
    }
    fclose(f);
    return out;
}
