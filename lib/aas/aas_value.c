/*
 * aas_value.c - value-only JSON from Normal-form AAS submodel elements, and
 * idShortPath lookup inside a fetched submodel.
 *
 * We derive value-only JSON ourselves instead of asking servers for $value:
 * some answer 501 for it, others return numbers as strings.
 */
#include "aas.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const qg_aas_numeric_types[] = {
    "xs:decimal",
    "xs:double",
    "xs:float",
    "xs:integer",
    "xs:int",
    "xs:long",
    "xs:short",
    "xs:byte",
    "xs:unsignedInt",
    "xs:unsignedLong",
    "xs:unsignedShort",
    "xs:unsignedByte",
    "xs:nonNegativeInteger",
    "xs:positiveInteger",
    "xs:negativeInteger",
    "xs:nonPositiveInteger",
    NULL,
};

static int qg_aas_is_numeric_type(const char *vt)
{
    for (size_t i = 0; vt && qg_aas_numeric_types[i]; i++)
        if (strcmp(vt, qg_aas_numeric_types[i]) == 0)
            return 1;
    return 0;
}

/* Does s (len n) spell a JSON number exactly? */
static int qg_aas_is_json_number(const char *s, size_t n)
{
    size_t i = 0;

    if (i < n && s[i] == '-')
        i++;
    if (i >= n || !isdigit((unsigned char)s[i]))
        return 0;
    if (s[i] == '0')
        i++;
    else
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !isdigit((unsigned char)s[i]))
            return 0;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !isdigit((unsigned char)s[i]))
            return 0;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    }
    return i == n;
}

/* Number from XSD lexical text, or NULL (with *oom clear) if it is not one. */
static qg_json_t *qg_aas_number_value(const char *text, int *oom)
{
    char buf[128];
    size_t n;
    const char *s = text;
    char *end;
    double d;
    qg_json_t *v;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n >= sizeof(buf))
        return NULL;
    if (s[0] == '+') {
        s++;
        n--;
    }
    if (qg_aas_is_json_number(s, n)) {
        v = qg_json_parse(s, n, NULL, 0);
        if (!v)
            *oom = 1;
        return v;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    d = strtod(buf, &end);
    if (end == buf || *end != '\0' || !isfinite(d) || !isdigit((unsigned char)buf[n - 1]))
        return NULL;
    v = qg_json_number(d);
    if (!v)
        *oom = 1;
    return v;
}

static qg_json_t *qg_aas_bool_value(const char *text)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
        return qg_json_bool(1);
    if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
        return qg_json_bool(0);
    return NULL;
}

qg_json_t *qg_aas_typed_value(const char *value_type, const char *text)
{
    qg_json_t *v = NULL;
    int oom = 0;

    if (!text)
        return qg_json_null();
    if (qg_aas_is_numeric_type(value_type)) {
        v = qg_aas_number_value(text, &oom);
        if (oom)
            return NULL;
    } else if (value_type && strcmp(value_type, "xs:boolean") == 0) {
        v = qg_aas_bool_value(text);
    }
    return v ? v : qg_json_string(text);
}

/* Typed scalar of a JSON member that servers may send as a string or a number. */
static qg_json_t *qg_aas_member_typed(const qg_json_t *el, const char *key, const char *vt)
{
    const qg_json_t *m = qg_json_get(el, key);

    if (qg_json_is(m, QG_JSON_STRING))
        return qg_aas_typed_value(vt, qg_json_str(m));
    return m ? qg_json_clone(m) : qg_json_null();
}

static const char *qg_aas_infer_type(const qg_json_t *el)
{
    const qg_json_t *val = qg_json_get(el, "value");

    if (qg_json_get(el, "valueType") && !qg_json_is(val, QG_JSON_ARRAY))
        return "Property";
    if (qg_json_get(el, "typeValueListElement"))
        return "SubmodelElementList";
    if (qg_json_is(val, QG_JSON_ARRAY) && qg_json_len(val) > 0 &&
        qg_json_get(qg_json_at(val, 0), "language"))
        return "MultiLanguageProperty";
    if (qg_json_is(val, QG_JSON_ARRAY))
        return "SubmodelElementCollection";
    return "";
}

static const char *qg_aas_model_type(const qg_json_t *el)
{
    const char *mt = qg_json_str(qg_json_get(el, "modelType"));
    return mt ? mt : qg_aas_infer_type(el);
}

static int qg_aas_has_no_value(const char *mt)
{
    return strcmp(mt, "Operation") == 0 || strcmp(mt, "Capability") == 0;
}

/* {idShort: value} over an array of elements; elements without value skipped. */
static qg_json_t *qg_aas_object_of(const qg_json_t *elements)
{
    qg_json_t *obj = qg_json_object();

    for (size_t i = 0; obj && i < qg_json_len(elements); i++) {
        const qg_json_t *el = qg_json_at(elements, i);
        const char *id = qg_json_str(qg_json_get(el, "idShort"));
        qg_json_t *v;

        if (!id || qg_aas_has_no_value(qg_aas_model_type(el)))
            continue;
        v = qg_aas_element_value(el);
        if (!v || qg_json_set(obj, id, v) != 0) {
            qg_json_destroy(obj);
            return NULL;
        }
    }
    return obj;
}

static qg_json_t *qg_aas_array_of(const qg_json_t *elements)
{
    qg_json_t *arr = qg_json_array();

    for (size_t i = 0; arr && i < qg_json_len(elements); i++) {
        qg_json_t *v = qg_aas_element_value(qg_json_at(elements, i));
        if (!v || qg_json_append(arr, v) != 0) {
            qg_json_destroy(arr);
            return NULL;
        }
    }
    return arr;
}

static qg_json_t *qg_aas_mlp_value(const qg_json_t *el)
{
    const qg_json_t *val = qg_json_get(el, "value");
    qg_json_t *arr = qg_json_array();

    for (size_t i = 0; arr && i < qg_json_len(val); i++) {
        const qg_json_t *ls = qg_json_at(val, i);
        qg_json_t *o = qg_json_object();
        const char *lang = qg_json_str(qg_json_get(ls, "language"));
        const char *text = qg_json_str(qg_json_get(ls, "text"));

        if (!o || qg_json_set_str(o, lang ? lang : "", text ? text : "") != 0 ||
            qg_json_append(arr, o) != 0) {
            qg_json_destroy(o);
            qg_json_destroy(arr);
            return NULL;
        }
    }
    return arr;
}

/* Copy the listed members that exist (value-only objects of several kinds). */
static qg_json_t *qg_aas_pick(const qg_json_t *el, const char *const *keys)
{
    qg_json_t *o = qg_json_object();

    for (size_t i = 0; o && keys[i]; i++) {
        const qg_json_t *m = qg_json_get(el, keys[i]);
        if (m && qg_json_set(o, keys[i], qg_json_clone(m)) != 0) {
            qg_json_destroy(o);
            return NULL;
        }
    }
    return o;
}

static qg_json_t *qg_aas_range_value(const qg_json_t *el)
{
    const char *vt = qg_json_str(qg_json_get(el, "valueType"));
    qg_json_t *o = qg_json_object();

    if (!o || qg_json_set(o, "min", qg_aas_member_typed(el, "min", vt)) != 0 ||
        qg_json_set(o, "max", qg_aas_member_typed(el, "max", vt)) != 0) {
        qg_json_destroy(o);
        return NULL;
    }
    return o;
}

static qg_json_t *qg_aas_annotated_value(const qg_json_t *el)
{
    static const char *const keys[] = {"first", "second", NULL};
    qg_json_t *o = qg_aas_pick(el, keys);
    const qg_json_t *ann = qg_json_get(el, "annotations");

    if (o && ann && qg_json_set(o, "annotations", qg_aas_object_of(ann)) != 0) {
        qg_json_destroy(o);
        return NULL;
    }
    return o;
}

static qg_json_t *qg_aas_entity_value(const qg_json_t *el)
{
    static const char *const keys[] = {"entityType", "globalAssetId", "specificAssetIds", NULL};
    qg_json_t *o = qg_aas_pick(el, keys);

    if (o && qg_json_set(o, "statements", qg_aas_object_of(qg_json_get(el, "statements"))) != 0) {
        qg_json_destroy(o);
        return NULL;
    }
    return o;
}

qg_json_t *qg_aas_element_value(const qg_json_t *el)
{
    static const char *const file_keys[] = {"contentType", "value", NULL};
    static const char *const rel_keys[] = {"first", "second", NULL};
    static const char *const event_keys[] = {"observed", NULL};
    const char *mt = qg_aas_model_type(el);
    const qg_json_t *val = qg_json_get(el, "value");

    if (strcmp(mt, "Property") == 0)
        return qg_aas_member_typed(el, "value", qg_json_str(qg_json_get(el, "valueType")));
    if (strcmp(mt, "SubmodelElementCollection") == 0)
        return qg_aas_object_of(val);
    if (strcmp(mt, "SubmodelElementList") == 0)
        return qg_aas_array_of(val);
    if (strcmp(mt, "MultiLanguageProperty") == 0)
        return qg_aas_mlp_value(el);
    if (strcmp(mt, "Range") == 0)
        return qg_aas_range_value(el);
    if (strcmp(mt, "File") == 0 || strcmp(mt, "Blob") == 0)
        return qg_aas_pick(el, file_keys);
    if (strcmp(mt, "RelationshipElement") == 0)
        return qg_aas_pick(el, rel_keys);
    if (strcmp(mt, "AnnotatedRelationshipElement") == 0)
        return qg_aas_annotated_value(el);
    if (strcmp(mt, "Entity") == 0)
        return qg_aas_entity_value(el);
    if (strcmp(mt, "BasicEventElement") == 0)
        return qg_aas_pick(el, event_keys);
    if (qg_aas_has_no_value(mt))
        return qg_json_null();
    /* ReferenceElement and anything unknown: the value as it is. */
    return val ? qg_json_clone(val) : qg_json_null();
}

qg_json_t *qg_aas_submodel_value(const qg_json_t *submodel)
{
    return qg_aas_object_of(qg_json_get(submodel, "submodelElements"));
}

/* Children addressable by idShort below a container element. */
static const qg_json_t *qg_aas_children(const qg_json_t *el, int is_submodel)
{
    const char *mt;

    if (is_submodel)
        return qg_json_get(el, "submodelElements");
    mt = qg_aas_model_type(el);
    if (strcmp(mt, "Entity") == 0)
        return qg_json_get(el, "statements");
    if (strcmp(mt, "AnnotatedRelationshipElement") == 0)
        return qg_json_get(el, "annotations");
    if (strcmp(mt, "SubmodelElementCollection") == 0 || strcmp(mt, "SubmodelElementList") == 0)
        return qg_json_get(el, "value");
    return NULL;
}

static const qg_json_t *qg_aas_child_named(const qg_json_t *children, const char *name, size_t len)
{
    for (size_t i = 0; i < qg_json_len(children); i++) {
        const qg_json_t *c = qg_json_at(children, i);
        const char *id = qg_json_str(qg_json_get(c, "idShort"));
        if (id && strlen(id) == len && memcmp(id, name, len) == 0)
            return c;
    }
    return NULL;
}

/* Apply "[n][m]..." at *pp to el; NULL with message on failure. */
static const qg_json_t *qg_aas_apply_indices(const qg_json_t *el, const char **pp, const char *path,
                                             char *errstr, size_t errsz)
{
    const char *p = *pp;

    while (el && *p == '[') {
        char *end;
        unsigned long idx;

        if (!isdigit((unsigned char)p[1])) {
            snprintf(errstr, errsz, "idShortPath '%s': bad index at offset %d", path,
                     (int)(p - path));
            return NULL;
        }
        idx = strtoul(p + 1, &end, 10);
        if (*end != ']') {
            snprintf(errstr, errsz, "idShortPath '%s': missing ']' at offset %d", path,
                     (int)(end - path));
            return NULL;
        }
        if (strcmp(qg_aas_model_type(el), "SubmodelElementList") != 0 ||
            idx >= qg_json_len(qg_json_get(el, "value"))) {
            snprintf(errstr, errsz, "idShortPath '%s': no element [%lu] in '%.*s'", path, idx,
                     (int)(p - path), path);
            return NULL;
        }
        el = qg_json_at(qg_json_get(el, "value"), idx);
        p = end + 1;
    }
    *pp = p;
    return el;
}

const qg_json_t *qg_aas_find_element(const qg_json_t *submodel, const char *path, char *errstr,
                                     size_t errsz)
{
    const qg_json_t *el = submodel;
    const char *p = path;
    int top = 1;

    if (!path || !*path) {
        snprintf(errstr, errsz, "empty idShortPath");
        return NULL;
    }
    while (el) {
        size_t len = strcspn(p, ".[");
        const qg_json_t *children = qg_aas_children(el, top);

        if (len == 0) {
            snprintf(errstr, errsz, "idShortPath '%s': empty segment at offset %d", path,
                     (int)(p - path));
            return NULL;
        }
        el = qg_aas_child_named(children, p, len);
        if (!el) {
            snprintf(errstr, errsz, "no element '%.*s' (idShortPath '%s')", (int)(p + len - path),
                     path, path);
            return NULL;
        }
        p += len;
        el = qg_aas_apply_indices(el, &p, path, errstr, errsz);
        if (!el || *p == '\0')
            return el;
        if (*p != '.') {
            snprintf(errstr, errsz, "idShortPath '%s': unexpected '%c' at offset %d", path, *p,
                     (int)(p - path));
            return NULL;
        }
        p++;
        top = 0;
    }
    return NULL;
}
