/*
 * pref.c - the declared order among several selected models.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "model/registry.h"
#include "selection.h"

static const char *skip_ws(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

/* Next whitespace-separated word of s into buf; returns the rest. */
static const char *word(const char *s, char *buf, size_t n, int *too_long)
{
    size_t len;

    s = skip_ws(s);
    len = strcspn(s, " \t\r\n");
    *too_long = len >= n;
    snprintf(buf, n, "%.*s", (int)len, s);
    return s + len;
}

static qg_error_t *parse_item(const char *item, size_t len, qg_sel_pref_t *pref)
{
    char buf[160], dir[16];
    const char *rest;
    int long_key, long_dir;

    if (len >= sizeof(buf))
        return qg_error_new_fatal("preference: key too long");
    memcpy(buf, item, len);
    buf[len] = '\0';
    if (pref->n >= QG_SEL_MAX_KEYS)
        return qg_error_new_fatal("preference: at most %d keys", QG_SEL_MAX_KEYS);
    rest = word(buf, pref->key[pref->n], sizeof(pref->key[0]), &long_key);
    rest = word(rest, dir, sizeof(dir), &long_dir);
    if (!pref->key[pref->n][0])
        return qg_error_new_fatal("preference: empty key in \"%s\"", buf);
    if (long_key || *skip_ws(rest) != '\0')
        return qg_error_new_fatal("preference: expected 'key [asc|desc]', got \"%s\"", buf);
    if (long_dir || (dir[0] && strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0))
        return qg_error_new_fatal("preference: direction must be asc or desc, got \"%s\"", dir);
    pref->desc[pref->n++] = strcmp(dir, "desc") == 0;
    return NULL;
}

qg_error_t *qg_sel_pref_parse(const char *text, qg_sel_pref_t *pref)
{
    const char *p = text ? text : "";

    memset(pref, 0, sizeof(*pref));
    while (*skip_ws(p)) {
        size_t len = strcspn(p, ",");
        qg_error_t *err = parse_item(p, len, pref);
        if (err)
            return err;
        p += len;
        if (*p == ',' && !*skip_ws(p + 1))
            return qg_error_new_fatal("preference: trailing ','");
        if (*p == ',')
            p++;
    }
    return NULL;
}

/* Value of a key: the path, else performance.<path>. */
static const qg_json_t *lookup(const qg_json_t *m, const char *key)
{
    const qg_json_t *v = qg_json_path(m, key);
    char buf[128];

    if (v)
        return v;
    snprintf(buf, sizeof(buf), "performance.%s", key);
    return qg_json_path(m, buf);
}

/* Sort key: 1 = number in *d, 2 = string in *s, 0 = missing. */
static int sort_value(const qg_json_t *v, double *d, const char **s)
{
    if (qg_json_is(v, QG_JSON_NUMBER)) {
        *d = qg_json_num(v, 0);
        return 1;
    }
    if (qg_json_is(v, QG_JSON_BOOL)) {
        *d = qg_json_truthy(v);
        return 1;
    }
    if (qg_json_is(v, QG_JSON_STRING)) {
        *d = qg_registry_duration_s(qg_json_str(v));
        *s = qg_json_str(v);
        return *d >= 0 ? 1 : 2;
    }
    return 0;
}

static int compare_key(const qg_json_t *a, const qg_json_t *b, const char *key, int desc)
{
    double da = 0, db = 0;
    const char *sa = NULL, *sb = NULL;
    int ka = sort_value(lookup(a, key), &da, &sa);
    int kb = sort_value(lookup(b, key), &db, &sb);
    int c;

    if (ka != kb)
        return ka == 0 ? 1 : kb == 0 ? -1 : ka - kb; /* missing last, numbers first */
    if (ka == 0)
        return 0;
    c = ka == 1 ? (da < db ? -1 : da > db) : strcmp(sa, sb);
    return desc ? -c : c;
}

int qg_sel_pref_compare(const qg_sel_pref_t *pref, const qg_json_t *a, const qg_json_t *b)
{
    size_t i;
    int c;

    for (i = 0; pref && i < pref->n; i++)
        if ((c = compare_key(a, b, pref->key[i], pref->desc[i])) != 0)
            return c;
    c = strcmp(qg_registry_model_id(a) ? qg_registry_model_id(a) : "",
               qg_registry_model_id(b) ? qg_registry_model_id(b) : "");
    return c;
}
