/*
 * swrl_builtins.c - the swrlb: built-ins: comparison, strings, simple math.
 *
 * Argument order follows the SWRL built-in submission: lessThan(a, b) holds
 * when a < b; startsWith(s, prefix); contains(s, part); add(r, a, b, ...)
 * holds when r = a + b + ...; subtract(r, a, b) when r = a - b. A math
 * built-in whose first argument is an unbound variable binds it to the result.
 */
#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "swrl_int.h"

static const swrl_builtin_info_t builtins[] = {
    {"equal", SWRL_B_EQUAL, 2, 2, 0},
    {"notEqual", SWRL_B_NOT_EQUAL, 2, 2, 0},
    {"lessThan", SWRL_B_LESS, 2, 2, 0},
    {"lessThanOrEqual", SWRL_B_LESS_EQ, 2, 2, 0},
    {"greaterThan", SWRL_B_GREATER, 2, 2, 0},
    {"greaterThanOrEqual", SWRL_B_GREATER_EQ, 2, 2, 0},
    {"stringEqualIgnoreCase", SWRL_B_STR_EQ_IC, 2, 2, 0},
    {"startsWith", SWRL_B_STARTS, 2, 2, 0},
    {"endsWith", SWRL_B_ENDS, 2, 2, 0},
    {"contains", SWRL_B_CONTAINS, 2, 2, 0},
    {"matches", SWRL_B_MATCHES, 2, 3, 0},
    {"add", SWRL_B_ADD, 2, -1, 1},
    {"subtract", SWRL_B_SUBTRACT, 3, 3, 1},
    {"multiply", SWRL_B_MULTIPLY, 2, -1, 1},
    {NULL, 0, 0, 0, 0},
};

const swrl_builtin_info_t *swrl_builtin_lookup(const char *name)
{
    const swrl_builtin_info_t *b;

    for (b = builtins; b->name; b++)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

const swrl_builtin_info_t *swrl_builtin_by_id(int id)
{
    const swrl_builtin_info_t *b;

    for (b = builtins; b->name; b++)
        if (b->id == id)
            return b;
    return &builtins[0];
}

int swrl_num_cmp(double a, double b)
{
    double scale = fmax(1.0, fmax(fabs(a), fabs(b)));

    if (a == b || fabs(a - b) <= 1e-12 * scale)
        return 0;
    return a < b ? -1 : 1;
}

static int is_num(const swrl_val_t *v)
{
    return v->type == SWRL_V_INT || v->type == SWRL_V_DEC;
}

static double num(const swrl_val_t *v)
{
    return v->type == SWRL_V_INT ? (double)v->u.i : v->u.d;
}

int swrl_val_equal(const swrl_val_t *a, const swrl_val_t *b)
{
    if (a->type == SWRL_V_INT && b->type == SWRL_V_INT)
        return a->u.i == b->u.i;
    if (is_num(a) && is_num(b))
        return swrl_num_cmp(num(a), num(b)) == 0;
    if (a->type != b->type)
        return 0;
    if (a->type == SWRL_V_BOOL)
        return !a->u.b == !b->u.b;
    return a->u.sym == b->u.sym;
}

/* Order two literals: 1 and *out set when comparable (numbers or strings). */
static int order(qg_swrl_kb_t *kb, const swrl_val_t *a, const swrl_val_t *b, int *out)
{
    if (a->type == SWRL_V_INT && b->type == SWRL_V_INT) {
        *out = a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
        return 1;
    }
    if (is_num(a) && is_num(b)) {
        *out = swrl_num_cmp(num(a), num(b));
        return 1;
    }
    if (a->type == SWRL_V_STR && b->type == SWRL_V_STR) {
        int c = strcmp(swrl_kb_symname(kb, a->u.sym), swrl_kb_symname(kb, b->u.sym));
        *out = c < 0 ? -1 : c > 0;
        return 1;
    }
    return 0;
}

static int compare(qg_swrl_kb_t *kb, int id, const swrl_val_t *a, const swrl_val_t *b)
{
    int c;

    if (!order(kb, a, b, &c))
        return 0;
    switch (id) {
    case SWRL_B_LESS:
        return c < 0;
    case SWRL_B_LESS_EQ:
        return c <= 0;
    case SWRL_B_GREATER:
        return c > 0;
    default:
        return c >= 0;
    }
}

static int is_quant(char c)
{
    return c == '*' || c == '+' || c == '?' || c == '{';
}

/*
 * glibc's regcomp copies the tree for every repetition, so stacked
 * quantifiers ("a*++++") and large or repeated {n,m} bounds can take
 * gigabytes. Allow at most one {n,m} (bounds <= 100), no quantifier right
 * after another, and at most 512 bytes.
 */
int swrl_regex_ok(const char *p)
{
    size_t len = strlen(p), i;
    int braces = 0;

    if (len > 512)
        return 0;
    for (i = 0; i < len; i++) {
        if (p[i] == '\\' && i + 1 < len) {
            i++;
            continue;
        }
        if (i > 0 && is_quant(p[i]) && (is_quant(p[i - 1]) || p[i - 1] == '}') &&
            !(i > 1 && p[i - 2] == '\\'))
            return 0;
        if (p[i] == '{') {
            char *end;
            long a = strtol(p + i + 1, &end, 10), b = a;
            if (*end == ',')
                b = end[1] == '}' ? 0 : strtol(end + 1, &end, 10);
            if (++braces > 1 || a > 100 || b > 100)
                return 0;
        }
    }
    return 1;
}

static int matches(const char *s, const char *pattern, const char *flags)
{
    regex_t re;
    int cflags = REG_EXTENDED | REG_NOSUB, rc;

    if (!swrl_regex_ok(pattern))
        return 0;
    if (flags && strchr(flags, 'i'))
        cflags |= REG_ICASE;
    if (regcomp(&re, pattern, cflags) != 0)
        return 0;
    rc = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    return rc == 0;
}

static int string_op(qg_swrl_kb_t *kb, int id, const swrl_val_t *args, size_t n)
{
    const char *a, *b;
    size_t la, lb;

    if (args[0].type != SWRL_V_STR || args[1].type != SWRL_V_STR)
        return 0;
    a = swrl_kb_symname(kb, args[0].u.sym);
    b = swrl_kb_symname(kb, args[1].u.sym);
    la = strlen(a);
    lb = strlen(b);
    switch (id) {
    case SWRL_B_STR_EQ_IC:
        return strcasecmp(a, b) == 0;
    case SWRL_B_STARTS:
        return la >= lb && memcmp(a, b, lb) == 0;
    case SWRL_B_ENDS:
        return la >= lb && memcmp(a + la - lb, b, lb) == 0;
    case SWRL_B_CONTAINS:
        return strstr(a, b) != NULL;
    default:
        if (n == 3 && args[2].type != SWRL_V_STR)
            return 0;
        return matches(a, b, n == 3 ? swrl_kb_symname(kb, args[2].u.sym) : NULL);
    }
}

/* Integer arithmetic when every operand is an integer and nothing overflows. */
static int math_int(int id, const swrl_val_t *args, size_t n, long long *out)
{
    long long acc;
    size_t i;

    for (i = 1; i < n; i++)
        if (args[i].type != SWRL_V_INT)
            return 0;
    acc = args[1].u.i;
    for (i = 2; i < n; i++) {
        long long x = args[i].u.i;
        int ovf = id == SWRL_B_ADD        ? __builtin_add_overflow(acc, x, &acc)
                  : id == SWRL_B_SUBTRACT ? __builtin_sub_overflow(acc, x, &acc)
                                          : __builtin_mul_overflow(acc, x, &acc);
        if (ovf)
            return 0;
    }
    *out = acc;
    return 1;
}

static int math_op(int id, swrl_val_t *args, size_t n)
{
    swrl_val_t r;
    size_t i;

    for (i = 1; i < n; i++)
        if (!is_num(&args[i]))
            return 0;
    r.type = SWRL_V_INT;
    if (!math_int(id, args, n, &r.u.i)) {
        r.type = SWRL_V_DEC;
        r.u.d = num(&args[1]);
        for (i = 2; i < n; i++)
            r.u.d = id == SWRL_B_ADD        ? r.u.d + num(&args[i])
                    : id == SWRL_B_SUBTRACT ? r.u.d - num(&args[i])
                                            : r.u.d * num(&args[i]);
        if (!isfinite(r.u.d))
            return 0;
    }
    if (args[0].type == SWRL_V_NONE) {
        args[0] = r;
        return 1;
    }
    return is_num(&args[0]) && swrl_val_equal(&args[0], &r);
}

int swrl_builtin_eval(qg_swrl_kb_t *kb, int id, swrl_val_t *args, size_t n)
{
    switch (id) {
    case SWRL_B_EQUAL:
        return swrl_val_equal(&args[0], &args[1]);
    case SWRL_B_NOT_EQUAL:
        return !swrl_val_equal(&args[0], &args[1]);
    case SWRL_B_LESS:
    case SWRL_B_LESS_EQ:
    case SWRL_B_GREATER:
    case SWRL_B_GREATER_EQ:
        return compare(kb, id, &args[0], &args[1]);
    case SWRL_B_STR_EQ_IC:
    case SWRL_B_STARTS:
    case SWRL_B_ENDS:
    case SWRL_B_CONTAINS:
    case SWRL_B_MATCHES:
        return string_op(kb, id, args, n);
    case SWRL_B_ADD:
    case SWRL_B_SUBTRACT:
    case SWRL_B_MULTIPLY:
        return math_op(id, args, n);
    default:
        return 0;
    }
}
