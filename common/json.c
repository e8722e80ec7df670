/*
 * json.c - mutable JSON document model: yajl callbacks build it, yajl_gen writes it.
 */
#include "json.h"
#include "array.h"
#include "file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

struct qg_json_s {
    qg_json_type_t type;
    union {
        int b;
        struct {
            double d;
            char *text; /* original spelling, or NULL */
        } num;
        struct {
            char *s;
            size_t len;
        } str;
        struct {
            qg_json_t **items;
            char **keys; /* objects only */
            size_t len, cap;
        } c;
    } u;
    /* A write into this container failed (qg_json_set/append): the document lost
     * a member, so serialising it fails, like curl's dynbuf after a failed append. */
    unsigned char write_failed;
};

/* Mark a container whose write failed; the mark stays until it is destroyed. */
static int write_failed(qg_json_t *c)
{
    if (c)
        c->write_failed = 1;
    return -1;
}

/* ---------- construction ---------- */

static qg_json_t *json_alloc(qg_json_type_t t)
{
    qg_json_t *v = calloc(1, sizeof(*v));
    if (v)
        v->type = t;
    return v;
}

qg_json_t *qg_json_null(void)
{
    return json_alloc(QG_JSON_NULL);
}

qg_json_t *qg_json_bool(int b)
{
    qg_json_t *v = json_alloc(QG_JSON_BOOL);
    if (v)
        v->u.b = b ? 1 : 0;
    return v;
}

qg_json_t *qg_json_number(double d)
{
    qg_json_t *v = json_alloc(QG_JSON_NUMBER);
    if (v)
        v->u.num.d = d;
    return v;
}

static qg_json_t *json_number_text(const char *text, size_t len)
{
    qg_json_t *v = json_alloc(QG_JSON_NUMBER);
    if (!v)
        return NULL;
    v->u.num.text = strndup(text, len);
    if (!v->u.num.text) {
        free(v);
        return NULL;
    }
    v->u.num.d = strtod(v->u.num.text, NULL);
    return v;
}

qg_json_t *qg_json_stringn(const char *s, size_t len)
{
    qg_json_t *v = json_alloc(QG_JSON_STRING);
    if (!v)
        return NULL;
    v->u.str.s = malloc(len + 1);
    if (!v->u.str.s) {
        free(v);
        return NULL;
    }
    if (len)
        memcpy(v->u.str.s, s, len);
    v->u.str.s[len] = '\0';
    v->u.str.len = len;
    return v;
}

qg_json_t *qg_json_string(const char *s)
{
    if (!s)
        return qg_json_null();
    return qg_json_stringn(s, strlen(s));
}

qg_json_t *qg_json_array(void)
{
    return json_alloc(QG_JSON_ARRAY);
}

qg_json_t *qg_json_object(void)
{
    return json_alloc(QG_JSON_OBJECT);
}

void qg_json_destroy(qg_json_t *v)
{
    if (!v)
        return;
    switch (v->type) {
    case QG_JSON_NUMBER:
        free(v->u.num.text);
        break;
    case QG_JSON_STRING:
        free(v->u.str.s);
        break;
    case QG_JSON_ARRAY:
    case QG_JSON_OBJECT:
        for (size_t i = 0; i < v->u.c.len; i++) {
            qg_json_destroy(v->u.c.items[i]);
            if (v->u.c.keys)
                free(v->u.c.keys[i]);
        }
        free(v->u.c.items);
        free(v->u.c.keys);
        break;
    default:
        break;
    }
    free(v);
}

/* Grow a container to hold one more item. */
static int container_reserve(qg_json_t *c)
{
    /* Objects keep keys and values in two arrays of one capacity. */
    size_t need = c->u.c.len + 1, cap = c->u.c.cap, key_cap = c->u.c.cap;
    qg_json_t **items = qg_array_grow(c->u.c.items, &cap, need, sizeof(*items), 4);
    if (!items)
        return -1;
    c->u.c.items = items;
    if (c->type == QG_JSON_OBJECT) {
        char **keys = qg_array_grow(c->u.c.keys, &key_cap, need, sizeof(*keys), 4);
        if (!keys)
            return -1;
        c->u.c.keys = keys;
    }
    c->u.c.cap = cap;
    return 0;
}

int qg_json_append(qg_json_t *arr, qg_json_t *val)
{
    if (!arr || !val || arr->type != QG_JSON_ARRAY || container_reserve(arr) != 0) {
        qg_json_destroy(val);
        return write_failed(arr);
    }
    arr->u.c.items[arr->u.c.len++] = val;
    return 0;
}

static ssize_t object_index(const qg_json_t *obj, const char *key, size_t keylen)
{
    if (!obj || obj->type != QG_JSON_OBJECT)
        return -1;
    for (size_t i = 0; i < obj->u.c.len; i++)
        if (strlen(obj->u.c.keys[i]) == keylen && memcmp(obj->u.c.keys[i], key, keylen) == 0)
            return (ssize_t)i;
    return -1;
}

/* Append a member without checking for an existing key (parser path). */
static int object_push(qg_json_t *obj, char *key_owned, qg_json_t *val)
{
    if (container_reserve(obj) != 0) {
        free(key_owned);
        qg_json_destroy(val);
        return -1;
    }
    obj->u.c.keys[obj->u.c.len] = key_owned;
    obj->u.c.items[obj->u.c.len++] = val;
    return 0;
}

int qg_json_set(qg_json_t *obj, const char *key, qg_json_t *val)
{
    if (!obj || !key || !val || obj->type != QG_JSON_OBJECT) {
        qg_json_destroy(val);
        return write_failed(obj);
    }
    ssize_t i = object_index(obj, key, strlen(key));
    if (i >= 0) {
        qg_json_destroy(obj->u.c.items[i]);
        obj->u.c.items[i] = val;
        return 0;
    }
    char *k = strdup(key);
    if (!k) {
        qg_json_destroy(val);
        return write_failed(obj);
    }
    return object_push(obj, k, val) == 0 ? 0 : write_failed(obj);
}

int qg_json_set_str(qg_json_t *obj, const char *key, const char *s)
{
    return qg_json_set(obj, key, qg_json_string(s));
}

int qg_json_set_num(qg_json_t *obj, const char *key, double d)
{
    return qg_json_set(obj, key, qg_json_number(d));
}

int qg_json_set_bool(qg_json_t *obj, const char *key, int b)
{
    return qg_json_set(obj, key, qg_json_bool(b));
}

qg_json_t *qg_json_take(qg_json_t *obj, const char *key)
{
    if (!key)
        return NULL;
    ssize_t i = object_index(obj, key, strlen(key));
    if (i < 0)
        return NULL;
    qg_json_t *v = obj->u.c.items[i];
    free(obj->u.c.keys[i]);
    size_t tail = obj->u.c.len - (size_t)i - 1;
    memmove(&obj->u.c.items[i], &obj->u.c.items[i + 1], tail * sizeof(*obj->u.c.items));
    memmove(&obj->u.c.keys[i], &obj->u.c.keys[i + 1], tail * sizeof(*obj->u.c.keys));
    obj->u.c.len--;
    return v;
}

int qg_json_remove(qg_json_t *obj, const char *key)
{
    qg_json_t *v = qg_json_take(obj, key);
    if (!v)
        return 0;
    qg_json_destroy(v);
    return 1;
}

static qg_json_t *get_or_add(qg_json_t *obj, const char *key, qg_json_type_t t)
{
    qg_json_t *v = qg_json_get(obj, key);
    if (v)
        return v->type == t ? v : NULL;
    v = json_alloc(t);
    if (!v || qg_json_set(obj, key, v) != 0)
        return NULL;
    return v;
}

qg_json_t *qg_json_get_or_add_object(qg_json_t *obj, const char *key)
{
    return get_or_add(obj, key, QG_JSON_OBJECT);
}

qg_json_t *qg_json_get_or_add_array(qg_json_t *obj, const char *key)
{
    return get_or_add(obj, key, QG_JSON_ARRAY);
}

/* Append a clone of src's i-th item (and key) to dst. */
static int clone_member(qg_json_t *dst, const qg_json_t *src, size_t i)
{
    qg_json_t *item = qg_json_clone(src->u.c.items[i]);
    if (!item)
        return -1;
    if (dst->type == QG_JSON_ARRAY)
        return qg_json_append(dst, item);
    char *key = strdup(src->u.c.keys[i]);
    if (!key) {
        qg_json_destroy(item);
        return -1;
    }
    return object_push(dst, key, item);
}

int qg_json_failed(const qg_json_t *v)
{
    if (!v)
        return 0;
    if (v->write_failed)
        return 1;
    if (v->type == QG_JSON_ARRAY || v->type == QG_JSON_OBJECT)
        for (size_t i = 0; i < v->u.c.len; i++)
            if (qg_json_failed(v->u.c.items[i]))
                return 1;
    return 0;
}

qg_json_t *qg_json_clone(const qg_json_t *v)
{
    if (!v)
        return NULL;
    switch (v->type) {
    case QG_JSON_NULL:
        return qg_json_null();
    case QG_JSON_BOOL:
        return qg_json_bool(v->u.b);
    case QG_JSON_NUMBER:
        if (v->u.num.text)
            return json_number_text(v->u.num.text, strlen(v->u.num.text));
        return qg_json_number(v->u.num.d);
    case QG_JSON_STRING:
        return qg_json_stringn(v->u.str.s, v->u.str.len);
    case QG_JSON_ARRAY:
    case QG_JSON_OBJECT: {
        qg_json_t *c = json_alloc(v->type);
        if (!c)
            return NULL;
        for (size_t i = 0; i < v->u.c.len; i++) {
            if (clone_member(c, v, i) != 0) {
                qg_json_destroy(c);
                return NULL;
            }
        }
        c->write_failed = v->write_failed;
        return c;
    }
    }
    return NULL;
}

/* ---------- access ---------- */

qg_json_type_t qg_json_type(const qg_json_t *v)
{
    return v ? v->type : QG_JSON_NULL;
}

int qg_json_is(const qg_json_t *v, qg_json_type_t t)
{
    return v && v->type == t;
}

const char *qg_json_str(const qg_json_t *v)
{
    return v && v->type == QG_JSON_STRING ? v->u.str.s : NULL;
}

size_t qg_json_strlen(const qg_json_t *v)
{
    return v && v->type == QG_JSON_STRING ? v->u.str.len : 0;
}

double qg_json_num(const qg_json_t *v, double dflt)
{
    return v && v->type == QG_JSON_NUMBER ? v->u.num.d : dflt;
}

int qg_json_truthy(const qg_json_t *v)
{
    return v && v->type == QG_JSON_BOOL && v->u.b;
}

const char *qg_json_number_text(const qg_json_t *v)
{
    return v && v->type == QG_JSON_NUMBER ? v->u.num.text : NULL;
}

size_t qg_json_len(const qg_json_t *v)
{
    return v && (v->type == QG_JSON_ARRAY || v->type == QG_JSON_OBJECT) ? v->u.c.len : 0;
}

qg_json_t *qg_json_at(const qg_json_t *v, size_t i)
{
    return i < qg_json_len(v) ? v->u.c.items[i] : NULL;
}

const char *qg_json_key_at(const qg_json_t *v, size_t i)
{
    return v && v->type == QG_JSON_OBJECT && i < v->u.c.len ? v->u.c.keys[i] : NULL;
}

qg_json_t *qg_json_get(const qg_json_t *obj, const char *key)
{
    if (!key)
        return NULL;
    ssize_t i = object_index(obj, key, strlen(key));
    return i < 0 ? NULL : obj->u.c.items[i];
}

qg_json_t *qg_json_path(const qg_json_t *v, const char *path)
{
    const char *p = path;
    qg_json_t *cur = (qg_json_t *)v;
    while (cur && p && *p) {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            char *end;
            unsigned long idx = strtoul(p + 1, &end, 10);
            if (*end != ']' || cur->type != QG_JSON_ARRAY)
                return NULL;
            cur = qg_json_at(cur, idx);
            p = end + 1;
            continue;
        }
        size_t n = strcspn(p, ".[");
        ssize_t i = object_index(cur, p, n);
        cur = i < 0 ? NULL : cur->u.c.items[i];
        p += n;
    }
    return cur;
}

int qg_json_equal(const qg_json_t *a, const qg_json_t *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case QG_JSON_NULL:
        return 1;
    case QG_JSON_BOOL:
        return a->u.b == b->u.b;
    case QG_JSON_NUMBER:
        return a->u.num.d == b->u.num.d;
    case QG_JSON_STRING:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case QG_JSON_ARRAY:
        if (a->u.c.len != b->u.c.len)
            return 0;
        for (size_t i = 0; i < a->u.c.len; i++)
            if (!qg_json_equal(a->u.c.items[i], b->u.c.items[i]))
                return 0;
        return 1;
    case QG_JSON_OBJECT:
        if (a->u.c.len != b->u.c.len)
            return 0;
        for (size_t i = 0; i < a->u.c.len; i++)
            if (!qg_json_equal(a->u.c.items[i], qg_json_get(b, a->u.c.keys[i])))
                return 0;
        return 1;
    }
    return 0;
}

const char *qg_json_type_name(qg_json_type_t t)
{
    static const char *const names[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* ---------- parsing ---------- */

typedef struct {
    qg_json_t *root;
    qg_json_t *stack[QG_JSON_MAX_DEPTH];
    char *pending_key[QG_JSON_MAX_DEPTH]; /* key awaiting its value, per object level */
    int depth;
    int failed_depth; /* set when nesting exceeded */
    int oom;
    char duplicate[128]; /* a member name seen twice in one object (I-JSON refuses it) */
} parse_state_t;

static int parse_add(parse_state_t *ps, qg_json_t *v)
{
    if (!v) {
        ps->oom = 1;
        return 0;
    }
    if (ps->depth == 0) {
        if (ps->root) {
            qg_json_destroy(v);
            return 0;
        }
        ps->root = v;
        return 1;
    }
    qg_json_t *parent = ps->stack[ps->depth - 1];
    int rc;
    if (parent->type == QG_JSON_ARRAY) {
        rc = qg_json_append(parent, v);
    } else {
        rc = object_push(parent, ps->pending_key[ps->depth - 1], v);
        ps->pending_key[ps->depth - 1] = NULL;
    }
    if (rc != 0)
        ps->oom = 1;
    return rc == 0;
}

static int parse_open(parse_state_t *ps, qg_json_type_t t)
{
    if (ps->depth >= QG_JSON_MAX_DEPTH) {
        ps->failed_depth = 1;
        return 0;
    }
    qg_json_t *c = json_alloc(t);
    if (!parse_add(ps, c))
        return 0;
    ps->stack[ps->depth] = c;
    ps->pending_key[ps->depth] = NULL;
    ps->depth++;
    return 1;
}

static int cb_null(void *ctx)
{
    return parse_add(ctx, qg_json_null());
}

static int cb_boolean(void *ctx, int b)
{
    return parse_add(ctx, qg_json_bool(b));
}

static int cb_number(void *ctx, const char *s, size_t len)
{
    return parse_add(ctx, json_number_text(s, len));
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
    return parse_add(ctx, qg_json_stringn((const char *)s, len));
}

static int cb_start_map(void *ctx)
{
    return parse_open(ctx, QG_JSON_OBJECT);
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
    parse_state_t *ps = ctx;
    char *k = strndup((const char *)s, len);
    if (!k) {
        ps->oom = 1;
        return 0;
    }
    free(ps->pending_key[ps->depth - 1]);
    ps->pending_key[ps->depth - 1] = k;
    return 1;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A member name that occurs twice in obj, or NULL. Large objects: a sorted copy, O(n log n). */
static const char *duplicate_key(const qg_json_t *obj, int *oom)
{
    size_t n = obj->u.c.len;
    if (n <= 16) { /* the usual object: compare pairs, no allocation */
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(obj->u.c.keys[i], obj->u.c.keys[j]) == 0)
                    return obj->u.c.keys[i];
        return NULL;
    }
    char **keys = malloc(n * sizeof(*keys));
    if (!keys) {
        *oom = 1;
        return NULL;
    }
    memcpy(keys, obj->u.c.keys, n * sizeof(*keys));
    qsort(keys, n, sizeof(*keys), compare_keys);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            dup = keys[i];
    free(keys);
    return dup;
}

static int cb_end_map(void *ctx)
{
    parse_state_t *ps = ctx;
    const char *dup = duplicate_key(ps->stack[ps->depth - 1], &ps->oom);
    if (dup || ps->oom) {
        snprintf(ps->duplicate, sizeof(ps->duplicate), "%s", dup ? dup : "");
        return 0;
    }
    ps->depth--;
    return 1;
}

static int cb_end(void *ctx)
{
    parse_state_t *ps = ctx;
    ps->depth--;
    return 1;
}

static int cb_start_array(void *ctx)
{
    return parse_open(ctx, QG_JSON_ARRAY);
}

static const yajl_callbacks parse_callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_boolean,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end_map,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

/* Line and column (1-based) of byte offset `off` in text. */
static void text_position(const char *text, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static void parse_error_message(yajl_handle h, parse_state_t *ps, const char *text, size_t len,
                                char *errstr, size_t errstr_size)
{
    if (ps->oom) {
        snprintf(errstr, errstr_size, "out of memory while parsing JSON");
        return;
    }
    if (ps->failed_depth) {
        snprintf(errstr, errstr_size, "JSON nested deeper than %d levels", QG_JSON_MAX_DEPTH);
        return;
    }
    size_t off = yajl_get_bytes_consumed(h);
    if (off > len)
        off = len;
    size_t line, col;
    text_position(text, off, &line, &col);
    if (ps->duplicate[0]) {
        snprintf(errstr, errstr_size,
                 "object ending at line %zu, column %zu has the member \"%s\" twice (I-JSON, "
                 "RFC 7493, requires unique names)",
                 line, col, ps->duplicate);
        return;
    }
    unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
    snprintf(errstr, errstr_size, "invalid JSON at line %zu, column %zu: %s", line, col,
             msg ? (const char *)msg : "parse error");
    if (msg)
        yajl_free_error(h, msg);
}

/* Parse; on failure errstr says why and *oom says whether memory ran out. */
static qg_json_t *parse_text(const char *text, size_t len, char *errstr, size_t errstr_size,
                             int *oom)
{
    *oom = 0;
    parse_state_t *ps = calloc(1, sizeof(*ps));
    if (!ps) {
        snprintf(errstr, errstr_size, "out of memory");
        *oom = 1;
        return NULL;
    }
    yajl_handle h = yajl_alloc(&parse_callbacks, NULL, ps);
    if (!h) {
        free(ps);
        snprintf(errstr, errstr_size, "out of memory");
        *oom = 1;
        return NULL;
    }
    yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    qg_json_t *root = NULL;
    if (st == yajl_status_ok && !ps->oom && ps->root) {
        root = ps->root;
    } else {
        if (st == yajl_status_ok)
            snprintf(errstr, errstr_size, ps->oom ? "out of memory" : "empty JSON document");
        else
            parse_error_message(h, ps, text, len, errstr, errstr_size);
        *oom = ps->oom;
        qg_json_destroy(ps->root);
    }
    for (int i = 0; i < QG_JSON_MAX_DEPTH; i++)
        free(ps->pending_key[i]);
    yajl_free(h);
    free(ps);
    return root;
}

qg_json_t *qg_json_parse(const char *text, size_t len, char *errstr, size_t errstr_size)
{
    int oom;
    return parse_text(text, len, errstr, errstr_size, &oom);
}

qg_json_t *qg_json_parse_classed(const char *text, size_t len, qg_error_t **errp)
{
    char msg[512];
    int oom;
    qg_json_t *v = parse_text(text, len, msg, sizeof(msg), &oom);
    *errp = v     ? NULL
            : oom ? qg_error_new_oom("parsing JSON: %s", msg)
                  : qg_error_new_bad_input("not JSON: %s", msg);
    return v;
}

qg_json_t *qg_json_parse_file(const char *path, char *errstr, size_t errstr_size)
{
    size_t len;
    char *buf = qg_file_read(path, 0, &len, NULL, errstr, errstr_size);
    if (!buf)
        return NULL;
    char msg[512];
    qg_json_t *v = qg_json_parse(buf, len, msg, sizeof(msg));
    free(buf);
    if (!v)
        snprintf(errstr, errstr_size, "%s: %s", path, msg);
    return v;
}

/* ---------- serialization ---------- */

static yajl_gen_status gen_number(yajl_gen g, const qg_json_t *v)
{
    if (v->u.num.text)
        return yajl_gen_number(g, v->u.num.text, strlen(v->u.num.text));
    double d = v->u.num.d;
    if (!isfinite(d))
        return yajl_gen_null(g);
    char buf[64];
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        snprintf(buf, sizeof(buf), "%.0f", d);
    } else {
        snprintf(buf, sizeof(buf), "%.15g", d);
        if (strtod(buf, NULL) != d)
            snprintf(buf, sizeof(buf), "%.17g", d);
    }
    return yajl_gen_number(g, buf, strlen(buf));
}

static yajl_gen_status gen_value(yajl_gen g, const qg_json_t *v)
{
    yajl_gen_status st = yajl_gen_status_ok;
    if (v->write_failed)
        return yajl_gen_generation_complete; /* a member was lost: no partial document */
    switch (v->type) {
    case QG_JSON_NULL:
        return yajl_gen_null(g);
    case QG_JSON_BOOL:
        return yajl_gen_bool(g, v->u.b);
    case QG_JSON_NUMBER:
        return gen_number(g, v);
    case QG_JSON_STRING:
        return yajl_gen_string(g, (const unsigned char *)v->u.str.s, v->u.str.len);
    case QG_JSON_ARRAY:
        st = yajl_gen_array_open(g);
        for (size_t i = 0; st == yajl_gen_status_ok && i < v->u.c.len; i++)
            st = gen_value(g, v->u.c.items[i]);
        return st == yajl_gen_status_ok ? yajl_gen_array_close(g) : st;
    case QG_JSON_OBJECT:
        st = yajl_gen_map_open(g);
        for (size_t i = 0; st == yajl_gen_status_ok && i < v->u.c.len; i++) {
            const char *k = v->u.c.keys[i];
            st = yajl_gen_string(g, (const unsigned char *)k, strlen(k));
            if (st == yajl_gen_status_ok)
                st = gen_value(g, v->u.c.items[i]);
        }
        return st == yajl_gen_status_ok ? yajl_gen_map_close(g) : st;
    }
    return yajl_gen_generation_complete;
}

char *qg_json_serialize(const qg_json_t *v, int pretty, size_t *lenp)
{
    if (!v)
        return NULL;
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return NULL;
    if (pretty) {
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
    }
    char *out = NULL;
    if (gen_value(g, v) == yajl_gen_status_ok) {
        const unsigned char *buf;
        size_t len;
        yajl_gen_get_buf(g, &buf, &len);
        /* yajl's beautifier ends with a newline; strip it so callers choose. */
        while (len > 0 && buf[len - 1] == '\n')
            len--;
        out = malloc(len + 1);
        if (out) {
            memcpy(out, buf, len);
            out[len] = '\0';
            if (lenp)
                *lenp = len;
        }
    }
    yajl_gen_free(g);
    return out;
}

int qg_json_write_file(const qg_json_t *v, const char *path)
{
    size_t len;
    char *text = qg_json_serialize(v, 1, &len);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    FILE *f = fopen(path, "wb");
    int rc = -1;
    if (f) {
        rc = (fwrite(text, 1, len, f) == len && fputc('\n', f) != EOF) ? 0 : -1;
        if (fclose(f) != 0)
            rc = -1;
    }
    free(text);
    return rc;
}
