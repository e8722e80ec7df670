/*
 * swrl_parse.c - parser for SWRL rules in Protégé's human-readable syntax.
 *
 * Grammar (whitespace and newlines are insignificant, # starts a comment):
 *   file      := { directive | rule }
 *   directive := "preference:" text-to-end-of-line
 *   rule      := [ NAME ":" ] [ atom { "^" atom } ] "->" atom { "^" atom }
 *   atom      := pred "(" [ term { "," term } ] ")"
 *   term      := ?var | individual | "string" [ "^^" datatype ] | number | true | false
 * A rule ends after its last head atom (the next token is not "^").
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swrl_int.h"

#define SWRL_MAX_ATOMS 256
#define SWRL_MAX_ARGS  64
#define SWRL_MAX_RULES 100000

enum {
    T_EOF = 0,
    T_IDENT,
    T_RULENAME,
    T_VAR,
    T_STRING,
    T_NUMBER,
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_AND,
    T_ARROW,
    T_TYPE,
};

typedef struct tok_s {
    int kind;
    int line, col;
    char *text; /* owned: name, variable name, decoded string or number spelling */
} tok_t;

typedef struct parser_s {
    const char *s;
    size_t len, pos;
    int line;
    size_t line_start;
    const char *origin;
    qg_error_t *err;
    tok_t cur;
    qg_swrl_rules_t *rs;
} parser_t;

static void perr(parser_t *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void perr(parser_t *p, int line, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    qg_error_first_at(&p->err, QG_ERR_FATAL, p->origin, (size_t)line, (size_t)col, "%s", msg);
}

static int is_utf8_and(const parser_t *p, size_t i)
{
    return i + 2 < p->len && (unsigned char)p->s[i] == 0xE2 && (unsigned char)p->s[i + 1] == 0x88 &&
           (unsigned char)p->s[i + 2] == 0xA7;
}

static int is_utf8_arrow(const parser_t *p, size_t i)
{
    return i + 2 < p->len && (unsigned char)p->s[i] == 0xE2 && (unsigned char)p->s[i + 1] == 0x86 &&
           (unsigned char)p->s[i + 2] == 0x92;
}

static int ident_start(const parser_t *p, size_t i)
{
    unsigned char c = (unsigned char)p->s[i];

    if (c >= 0x80)
        return !is_utf8_and(p, i) && !is_utf8_arrow(p, i);
    return isalpha(c) || c == '_';
}

static int ident_char(const parser_t *p, size_t i)
{
    unsigned char c = (unsigned char)p->s[i];

    if (ident_start(p, i) || isdigit(c) || c == '.' || c == ':')
        return 1;
    return c == '-' && !(i + 1 < p->len && p->s[i + 1] == '>');
}

static int col_of(const parser_t *p, size_t pos)
{
    return (int)(pos - p->line_start) + 1;
}

static void skip_space(parser_t *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == '\n') {
            p->line++;
            p->line_start = ++p->pos;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            p->pos++;
        } else if (c == '#') {
            while (p->pos < p->len && p->s[p->pos] != '\n')
                p->pos++;
        } else {
            break;
        }
    }
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int set_text(parser_t *p, size_t start, size_t end)
{
    p->cur.text = dupn(p->s + start, end - start);
    if (!p->cur.text) {
        qg_error_first_oom(&p->err, p->origin);
        return -1;
    }
    return 0;
}

static void lex_ident(parser_t *p)
{
    size_t start = p->pos;

    while (p->pos < p->len && ident_char(p, p->pos))
        p->pos++;
    /* "name:" followed by whitespace or end is a rule label. */
    if (p->s[p->pos - 1] == ':' &&
        (p->pos == p->len || isspace((unsigned char)p->s[p->pos]) || p->s[p->pos] == '#')) {
        p->cur.kind = T_RULENAME;
        set_text(p, start, p->pos - 1);
        return;
    }
    while (p->pos > start + 1 && (p->s[p->pos - 1] == '.' || p->s[p->pos - 1] == ':'))
        p->pos--;
    p->cur.kind = T_IDENT;
    set_text(p, start, p->pos);
}

static void lex_iri(parser_t *p)
{
    size_t start = ++p->pos;

    while (p->pos < p->len && p->s[p->pos] != '>' && !isspace((unsigned char)p->s[p->pos]))
        p->pos++;
    if (p->pos >= p->len || p->s[p->pos] != '>' || p->pos == start) {
        perr(p, p->cur.line, p->cur.col, "unterminated IRI (expected '>')");
        return;
    }
    p->cur.kind = T_IDENT;
    set_text(p, start, p->pos);
    p->pos++;
}

static void lex_var(parser_t *p)
{
    size_t start = ++p->pos;

    while (p->pos < p->len &&
           (isalnum((unsigned char)p->s[p->pos]) || p->s[p->pos] == '_' || p->s[p->pos] == '-'))
        p->pos++;
    if (p->pos == start) {
        perr(p, p->cur.line, p->cur.col, "expected a variable name after '?'");
        return;
    }
    p->cur.kind = T_VAR;
    set_text(p, start, p->pos);
}

static void lex_string(parser_t *p)
{
    size_t start = ++p->pos, n = 0;
    char *buf;

    buf = malloc(p->len - start + 1);
    if (!buf) {
        qg_error_first_oom(&p->err, p->origin);
        return;
    }
    while (p->pos < p->len && p->s[p->pos] != '"' && p->s[p->pos] != '\n') {
        char c = p->s[p->pos++];
        if (c == '\\' && p->pos < p->len && p->s[p->pos] != '\n') {
            c = p->s[p->pos++];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        if (c == '\0') {
            perr(p, p->line, col_of(p, p->pos - 1), "NUL byte in string literal");
            free(buf);
            return;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    if (p->pos >= p->len || p->s[p->pos] != '"') {
        perr(p, p->cur.line, p->cur.col, "unterminated string literal");
        free(buf);
        return;
    }
    p->pos++;
    p->cur.kind = T_STRING;
    p->cur.text = buf;
}

static void lex_number(parser_t *p)
{
    size_t start = p->pos;

    if (p->s[p->pos] == '-' || p->s[p->pos] == '+')
        p->pos++;
    while (p->pos < p->len && isdigit((unsigned char)p->s[p->pos]))
        p->pos++;
    if (p->pos + 1 < p->len && p->s[p->pos] == '.' && isdigit((unsigned char)p->s[p->pos + 1])) {
        p->pos++;
        while (p->pos < p->len && isdigit((unsigned char)p->s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        size_t q = p->pos + 1;
        if (q < p->len && (p->s[q] == '-' || p->s[q] == '+'))
            q++;
        if (q < p->len && isdigit((unsigned char)p->s[q])) {
            p->pos = q;
            while (p->pos < p->len && isdigit((unsigned char)p->s[p->pos]))
                p->pos++;
        }
    }
    if (p->pos < p->len && ident_char(p, p->pos) && p->s[p->pos] != '.' && p->s[p->pos] != ':') {
        perr(p, p->cur.line, p->cur.col, "malformed number");
        return;
    }
    p->cur.kind = T_NUMBER;
    set_text(p, start, p->pos);
}

static int lex_punct(parser_t *p)
{
    char c = p->s[p->pos];
    char n = p->pos + 1 < p->len ? p->s[p->pos + 1] : '\0';

    if (c == '(' || c == ')' || c == ',') {
        p->cur.kind = c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_COMMA;
        p->pos++;
    } else if (c == '^') {
        p->cur.kind = n == '^' ? T_TYPE : T_AND;
        p->pos += n == '^' ? 2 : 1;
    } else if (c == '-' && n == '>') {
        p->cur.kind = T_ARROW;
        p->pos += 2;
    } else if (is_utf8_and(p, p->pos) || is_utf8_arrow(p, p->pos)) {
        p->cur.kind = is_utf8_and(p, p->pos) ? T_AND : T_ARROW;
        p->pos += 3;
    } else {
        return 0;
    }
    return 1;
}

/* Read the next token into p->cur (freeing the previous one). */
static void advance(parser_t *p)
{
    char c;

    free(p->cur.text);
    memset(&p->cur, 0, sizeof(p->cur));
    if (p->err)
        return;
    skip_space(p);
    p->cur.line = p->line;
    p->cur.col = col_of(p, p->pos);
    if (p->pos >= p->len) {
        p->cur.kind = T_EOF;
        return;
    }
    c = p->s[p->pos];
    if (lex_punct(p))
        return;
    if (c == '?')
        lex_var(p);
    else if (c == '"')
        lex_string(p);
    else if (c == '<')
        lex_iri(p);
    else if (isdigit((unsigned char)c) || ((c == '-' || c == '+') && p->pos + 1 < p->len &&
                                           isdigit((unsigned char)p->s[p->pos + 1])))
        lex_number(p);
    else if (ident_start(p, p->pos))
        lex_ident(p);
    else if (isprint((unsigned char)c))
        perr(p, p->cur.line, p->cur.col, "unexpected character '%c'", c);
    else
        perr(p, p->cur.line, p->cur.col, "unexpected byte 0x%02x", (unsigned char)c);
}

static const char *tok_desc(const tok_t *t)
{
    static const char *const names[] = {"end of input", "name",   "rule label", "variable",
                                        "string",       "number", "'('",        "')'",
                                        "','",          "'^'",    "'->'",       "'^^'"};
    return names[t->kind];
}

/* ---------------------------------------------------------------- terms */

static int var_index(parser_t *p, swrl_rule_t *r, const char *name)
{
    size_t i;
    char **nv;

    for (i = 0; i < r->nvars; i++)
        if (strcmp(r->vars[i], name) == 0)
            return (int)i;
    nv = realloc(r->vars, (r->nvars + 1) * sizeof(*nv));
    if (!nv || !(nv[r->nvars] = strdup(name))) {
        if (nv)
            r->vars = nv;
        qg_error_first_oom(&p->err, p->origin);
        return -1;
    }
    r->vars = nv;
    return (int)r->nvars++;
}

static int parse_int_text(const char *s, long long *out)
{
    char *end;

    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

static int parse_dec_text(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(*out) ? 0 : -1;
}

static int number_term(parser_t *p, swrl_term_t *t, const char *text, int line, int col)
{
    if (!strpbrk(text, ".eE")) {
        t->ctype = SWRL_V_INT;
        if (parse_int_text(text, &t->i) == 0)
            return 0;
        perr(p, line, col, "integer out of range: %s", text);
        return -1;
    }
    t->ctype = SWRL_V_DEC;
    if (parse_dec_text(text, &t->d) == 0)
        return 0;
    perr(p, line, col, "number out of range: %s", text);
    return -1;
}

static const char *xsd_local(const char *dt)
{
    if (strncmp(dt, "xsd:", 4) == 0)
        return dt + 4;
    if (strncmp(dt, "http://www.w3.org/2001/XMLSchema#", 33) == 0)
        return dt + 33;
    return NULL;
}

static int typed_literal(parser_t *p, swrl_term_t *t, char *lex, const char *dt, int line, int col)
{
    static const char *const ints[] = {"integer",
                                       "int",
                                       "long",
                                       "short",
                                       "byte",
                                       "nonNegativeInteger",
                                       "positiveInteger",
                                       "negativeInteger",
                                       "nonPositiveInteger",
                                       "unsignedInt",
                                       "unsignedLong",
                                       "unsignedShort",
                                       NULL};
    const char *l = xsd_local(dt);
    size_t i;

    if (!l) {
        perr(p, line, col, "unsupported datatype %s (use xsd:...)", dt);
        return -1;
    }
    for (i = 0; ints[i]; i++)
        if (strcmp(l, ints[i]) == 0) {
            t->ctype = SWRL_V_INT;
            if (parse_int_text(lex, &t->i) == 0)
                return 0;
            perr(p, line, col, "\"%s\" is not a valid %s", lex, dt);
            return -1;
        }
    if (strcmp(l, "decimal") == 0 || strcmp(l, "double") == 0 || strcmp(l, "float") == 0) {
        t->ctype = SWRL_V_DEC;
        if (parse_dec_text(lex, &t->d) == 0)
            return 0;
        perr(p, line, col, "\"%s\" is not a valid %s", lex, dt);
        return -1;
    }
    if (strcmp(l, "boolean") == 0) {
        t->ctype = SWRL_V_BOOL;
        if (strcmp(lex, "true") == 0 || strcmp(lex, "1") == 0 || strcmp(lex, "false") == 0 ||
            strcmp(lex, "0") == 0) {
            t->b = lex[0] == 't' || lex[0] == '1';
            return 0;
        }
        perr(p, line, col, "\"%s\" is not a valid %s", lex, dt);
        return -1;
    }
    if (strcmp(l, "string") == 0) {
        t->ctype = SWRL_V_STR;
        t->text = lex;
        return 1; /* took ownership of lex */
    }
    perr(p, line, col, "unsupported datatype %s", dt);
    return -1;
}

static int parse_string_term(parser_t *p, swrl_term_t *t)
{
    char *lex = p->cur.text;
    int line = p->cur.line, col = p->cur.col, rc;

    p->cur.text = NULL;
    advance(p);
    if (p->cur.kind != T_TYPE) {
        t->ctype = SWRL_V_STR;
        t->text = lex;
        return p->err ? -1 : 0;
    }
    advance(p);
    if (p->cur.kind != T_IDENT) {
        perr(p, p->cur.line, p->cur.col, "expected a datatype after '^^', got %s",
             tok_desc(&p->cur));
        free(lex);
        return -1;
    }
    rc = typed_literal(p, t, lex, p->cur.text, line, col);
    if (rc != 1)
        free(lex);
    if (rc < 0)
        return -1;
    advance(p);
    return p->err ? -1 : 0;
}

static int parse_term(parser_t *p, swrl_rule_t *r, swrl_term_t *t)
{
    t->var = -1;
    switch (p->cur.kind) {
    case T_VAR:
        t->var = var_index(p, r, p->cur.text);
        break;
    case T_STRING:
        return parse_string_term(p, t);
    case T_NUMBER:
        if (number_term(p, t, p->cur.text, p->cur.line, p->cur.col) < 0)
            return -1;
        break;
    case T_IDENT:
        if (strcmp(p->cur.text, "true") == 0 || strcmp(p->cur.text, "false") == 0) {
            t->ctype = SWRL_V_BOOL;
            t->b = p->cur.text[0] == 't';
        } else {
            t->ctype = SWRL_V_IND;
            t->text = p->cur.text;
            p->cur.text = NULL;
        }
        break;
    default:
        perr(p, p->cur.line, p->cur.col, "expected an argument, got %s", tok_desc(&p->cur));
        return -1;
    }
    advance(p);
    return p->err ? -1 : 0;
}

/* ---------------------------------------------------------------- atoms */

static void term_free(swrl_term_t *t)
{
    free(t->text);
}

static void atom_free(swrl_atom_t *a)
{
    size_t i;

    for (i = 0; i < a->nargs; i++)
        term_free(&a->args[i]);
    free(a->args);
    free(a->pred);
}

static int parse_args(parser_t *p, swrl_rule_t *r, swrl_atom_t *a)
{
    if (p->cur.kind != T_LPAREN) {
        perr(p, p->cur.line, p->cur.col, "expected '(' after %s, got %s", a->pred,
             tok_desc(&p->cur));
        return -1;
    }
    advance(p);
    if (p->cur.kind == T_RPAREN) {
        advance(p);
        return p->err ? -1 : 0;
    }
    for (;;) {
        swrl_term_t *na;
        if (a->nargs >= SWRL_MAX_ARGS) {
            perr(p, p->cur.line, p->cur.col, "too many arguments (max %d)", SWRL_MAX_ARGS);
            return -1;
        }
        na = realloc(a->args, (a->nargs + 1) * sizeof(*na));
        if (!na) {
            qg_error_first_oom(&p->err, p->origin);
            return -1;
        }
        a->args = na;
        memset(&a->args[a->nargs], 0, sizeof(*na));
        a->nargs++;
        if (parse_term(p, r, &a->args[a->nargs - 1]) < 0)
            return -1;
        if (p->cur.kind == T_RPAREN)
            break;
        if (p->cur.kind != T_COMMA) {
            perr(p, p->cur.line, p->cur.col, "expected ',' or ')', got %s", tok_desc(&p->cur));
            return -1;
        }
        advance(p);
    }
    advance(p);
    return p->err ? -1 : 0;
}

static int classify_atom(parser_t *p, swrl_atom_t *a)
{
    const swrl_builtin_info_t *bi;

    if (strncmp(a->pred, "swrlb:", 6) == 0) {
        bi = swrl_builtin_lookup(a->pred + 6);
        if (!bi) {
            perr(p, a->line, a->col, "unknown built-in %s", a->pred);
            return -1;
        }
        a->kind = SWRL_A_BUILTIN;
        a->builtin = bi->id;
        if ((int)a->nargs < bi->min_args || (bi->max_args >= 0 && (int)a->nargs > bi->max_args)) {
            perr(p, a->line, a->col, "%s takes %d%s argument%s, got %zu", a->pred, bi->min_args,
                 bi->max_args < 0              ? " or more"
                 : bi->max_args > bi->min_args ? " or 3"
                                               : "",
                 bi->min_args == 1 ? "" : "s", a->nargs);
            return -1;
        }
        return 0;
    }
    if (strcmp(a->pred, "sameAs") == 0 || strcmp(a->pred, "differentFrom") == 0) {
        a->kind = a->pred[0] == 's' ? SWRL_A_SAME : SWRL_A_DIFF;
        if (a->nargs == 2)
            return 0;
        perr(p, a->line, a->col, "%s takes 2 arguments, got %zu", a->pred, a->nargs);
        return -1;
    }
    if (a->nargs == 1 || a->nargs == 2) {
        a->kind = a->nargs == 1 ? SWRL_A_CLASS : SWRL_A_PROP;
        return 0;
    }
    perr(p, a->line, a->col, "%s: an atom takes 1 argument (class) or 2 (property), got %zu",
         a->pred, a->nargs);
    return -1;
}

static int check_regex(parser_t *p, const swrl_atom_t *a)
{
    regex_t re;
    int flags = REG_EXTENDED | REG_NOSUB;

    if (a->builtin != SWRL_B_MATCHES || a->args[1].var >= 0)
        return 0;
    if (a->args[1].ctype != SWRL_V_STR) {
        perr(p, a->line, a->col, "swrlb:matches: the pattern must be a string");
        return -1;
    }
    if (a->nargs == 3 && a->args[2].var < 0 && a->args[2].ctype == SWRL_V_STR &&
        strchr(a->args[2].text, 'i'))
        flags |= REG_ICASE;
    if (!swrl_regex_ok(a->args[1].text)) {
        perr(p, a->line, a->col,
             "swrlb:matches: regular expression too costly (stacked quantifiers, more than one "
             "{n,m}, bounds over 100, or over 512 bytes)");
        return -1;
    }
    if (regcomp(&re, a->args[1].text, flags) != 0) {
        perr(p, a->line, a->col, "swrlb:matches: invalid regular expression \"%s\"",
             a->args[1].text);
        return -1;
    }
    regfree(&re);
    return 0;
}

static int parse_atom(parser_t *p, swrl_rule_t *r, swrl_atom_t *a)
{
    memset(a, 0, sizeof(*a));
    a->line = p->cur.line;
    a->col = p->cur.col;
    if (p->cur.kind != T_IDENT) {
        perr(p, p->cur.line, p->cur.col, "expected an atom, got %s", tok_desc(&p->cur));
        return -1;
    }
    a->pred = p->cur.text;
    p->cur.text = NULL;
    advance(p);
    if (p->err || parse_args(p, r, a) < 0 || classify_atom(p, a) < 0)
        return -1;
    return a->kind == SWRL_A_BUILTIN ? check_regex(p, a) : 0;
}

/* Parse `atom { ^ atom }` into *atoms / *n. */
static int parse_atoms(parser_t *p, swrl_rule_t *r, swrl_atom_t **atoms, size_t *n)
{
    for (;;) {
        swrl_atom_t *na;
        if (*n >= SWRL_MAX_ATOMS) {
            perr(p, p->cur.line, p->cur.col, "too many atoms in one rule (max %d)", SWRL_MAX_ATOMS);
            return -1;
        }
        na = realloc(*atoms, (*n + 1) * sizeof(*na));
        if (!na) {
            qg_error_first_oom(&p->err, p->origin);
            return -1;
        }
        *atoms = na;
        memset(&na[*n], 0, sizeof(*na));
        (*n)++;
        if (parse_atom(p, r, &na[*n - 1]) < 0)
            return -1;
        if (p->cur.kind != T_AND)
            return 0;
        advance(p);
    }
}

/* ----------------------------------------------------------- safety check */

static int builtin_input(const swrl_atom_t *a, size_t argi)
{
    if (a->kind != SWRL_A_BUILTIN)
        return 1;
    return !(argi == 0 && swrl_builtin_by_id(a->builtin)->binds_first);
}

/* First unbound input variable of a filter atom, or -1 if it is ready. */
static int unbound_input(const swrl_atom_t *a, const char *bound)
{
    size_t i;

    for (i = 0; i < a->nargs; i++)
        if (a->args[i].var >= 0 && !bound[a->args[i].var] && builtin_input(a, i))
            return a->args[i].var;
    return -1;
}

static int is_filter(const swrl_atom_t *a)
{
    return a->kind == SWRL_A_BUILTIN || a->kind == SWRL_A_SAME || a->kind == SWRL_A_DIFF;
}

static void bind_all(const swrl_atom_t *a, char *bound)
{
    size_t i;

    for (i = 0; i < a->nargs; i++)
        if (a->args[i].var >= 0)
            bound[a->args[i].var] = 1;
}

/* Place body atoms: filters as soon as their inputs are bound, others in order. */
static int order_body(parser_t *p, swrl_rule_t *r, char *bound, char *placed)
{
    size_t k = 0, i;

    while (k < r->nbody) {
        size_t pick = r->nbody;
        for (i = 0; i < r->nbody && pick == r->nbody; i++)
            if (!placed[i] && is_filter(&r->body[i]) && unbound_input(&r->body[i], bound) < 0)
                pick = i;
        for (i = 0; i < r->nbody && pick == r->nbody; i++)
            if (!placed[i] && !is_filter(&r->body[i]))
                pick = i;
        if (pick == r->nbody) {
            for (i = 0; placed[i]; i++)
                ;
            perr(p, r->body[i].line, r->body[i].col,
                 "unsafe rule: variable ?%s in %s is not bound by a class or property atom",
                 r->vars[unbound_input(&r->body[i], bound)], r->body[i].pred);
            return -1;
        }
        placed[pick] = 1;
        bind_all(&r->body[pick], bound);
        r->order[k++] = pick;
    }
    return 0;
}

static int check_head(parser_t *p, swrl_rule_t *r, const char *bound)
{
    size_t i, j;

    for (i = 0; i < r->nhead; i++) {
        swrl_atom_t *a = &r->head[i];
        if (a->kind == SWRL_A_BUILTIN || a->kind == SWRL_A_SAME || a->kind == SWRL_A_DIFF) {
            perr(p, a->line, a->col, "%s is not allowed in a rule head", a->pred);
            return -1;
        }
        for (j = 0; j < a->nargs; j++)
            if (a->args[j].var >= 0 && !bound[a->args[j].var]) {
                perr(p, a->line, a->col,
                     "unsafe rule: variable ?%s in the head is not bound in the body",
                     r->vars[a->args[j].var]);
                return -1;
            }
    }
    return 0;
}

static int analyse_rule(parser_t *p, swrl_rule_t *r)
{
    char *bound = calloc(r->nvars + 1, 1);
    char *placed = calloc(r->nbody + 1, 1);
    int rc = -1;

    r->order = calloc(r->nbody + 1, sizeof(*r->order));
    if (!bound || !placed || !r->order)
        qg_error_first_oom(&p->err, p->origin);
    else if (order_body(p, r, bound, placed) == 0 && check_head(p, r, bound) == 0)
        rc = 0;
    free(bound);
    free(placed);
    return rc;
}

/* ---------------------------------------------------------------- rules */

static void rule_free(swrl_rule_t *r)
{
    size_t i;

    for (i = 0; i < r->nbody; i++)
        atom_free(&r->body[i]);
    for (i = 0; i < r->nhead; i++)
        atom_free(&r->head[i]);
    for (i = 0; i < r->nvars; i++)
        free(r->vars[i]);
    free(r->body);
    free(r->head);
    free(r->order);
    free(r->vars);
    free(r->name);
}

void qg_swrl_rules_destroy(qg_swrl_rules_t *rs)
{
    size_t i;

    if (!rs)
        return;
    for (i = 0; i < rs->n; i++)
        rule_free(&rs->rules[i]);
    free(rs->rules);
    free(rs->preference);
    free(rs);
}

static int name_taken(const qg_swrl_rules_t *rs, const char *name)
{
    size_t i;

    for (i = 0; i < rs->n; i++)
        if (strcmp(rs->rules[i].name, name) == 0)
            return 1;
    return 0;
}

static int assign_name(parser_t *p, swrl_rule_t *r, char *label, int line, int col)
{
    char buf[32];

    if (label && name_taken(p->rs, label)) {
        perr(p, line, col, "duplicate rule name '%s'", label);
        free(label);
        return -1;
    }
    if (!label) {
        snprintf(buf, sizeof(buf), "rule%zu", p->rs->n + 1);
        label = strdup(buf);
        if (!label) {
            qg_error_first_oom(&p->err, p->origin);
            return -1;
        }
    }
    r->name = label;
    return 0;
}

static int parse_rule_into(parser_t *p, swrl_rule_t *r)
{
    char *label = NULL;
    int line = p->cur.line, col = p->cur.col;

    r->line = line;
    if (p->cur.kind == T_RULENAME) {
        label = p->cur.text;
        p->cur.text = NULL;
        advance(p);
    }
    if (assign_name(p, r, label, line, col) < 0)
        return -1;
    if (p->cur.kind != T_ARROW && parse_atoms(p, r, &r->body, &r->nbody) < 0)
        return -1;
    if (p->cur.kind != T_ARROW) {
        perr(p, p->cur.line, p->cur.col, "expected '^' or '->', got %s", tok_desc(&p->cur));
        return -1;
    }
    advance(p);
    if (p->cur.kind != T_IDENT) {
        perr(p, p->cur.line, p->cur.col, "expected a head atom after '->', got %s",
             tok_desc(&p->cur));
        return -1;
    }
    if (parse_atoms(p, r, &r->head, &r->nhead) < 0)
        return -1;
    return analyse_rule(p, r);
}

static int parse_rule(parser_t *p)
{
    qg_swrl_rules_t *rs = p->rs;
    swrl_rule_t *nr;

    if (rs->n >= SWRL_MAX_RULES) {
        perr(p, p->cur.line, p->cur.col, "too many rules (max %d)", SWRL_MAX_RULES);
        return -1;
    }
    nr = realloc(rs->rules, (rs->n + 1) * sizeof(*nr));
    if (!nr) {
        qg_error_first_oom(&p->err, p->origin);
        return -1;
    }
    rs->rules = nr;
    memset(&nr[rs->n], 0, sizeof(*nr));
    if (parse_rule_into(p, &nr[rs->n]) < 0) {
        rule_free(&nr[rs->n]);
        return -1;
    }
    rs->n++;
    return 0;
}

/* `preference: text` - the rest of the line (before any #). */
static int parse_preference(parser_t *p)
{
    size_t start = p->pos, end;

    if (p->rs->preference) {
        perr(p, p->cur.line, p->cur.col, "duplicate preference directive");
        return -1;
    }
    while (p->pos < p->len && p->s[p->pos] != '\n' && p->s[p->pos] != '#')
        p->pos++;
    end = p->pos;
    while (start < end && isspace((unsigned char)p->s[start]))
        start++;
    while (end > start && isspace((unsigned char)p->s[end - 1]))
        end--;
    if (end == start || memchr(p->s + start, '\0', end - start)) {
        perr(p, p->cur.line, p->cur.col, "preference: expected 'key [asc|desc], ...'");
        return -1;
    }
    p->rs->preference = dupn(p->s + start, end - start);
    if (!p->rs->preference) {
        qg_error_first_oom(&p->err, p->origin);
        return -1;
    }
    advance(p);
    return p->err ? -1 : 0;
}

qg_swrl_rules_t *qg_swrl_rules_parse(const char *text, size_t len, const char *origin,
                                     qg_error_t **errp)
{
    parser_t p;

    memset(&p, 0, sizeof(p));
    p.s = text ? text : "";
    p.len = text ? len : 0;
    p.line = 1;
    p.origin = origin ? origin : "<rules>";
    p.rs = calloc(1, sizeof(*p.rs));
    if (!p.rs) {
        *errp = qg_error_new_oom("%s: out of memory", p.origin);
        return NULL;
    }
    if (p.len >= 3 && memcmp(p.s, "\xEF\xBB\xBF", 3) == 0)
        p.pos = p.line_start = 3; /* UTF-8 byte order mark */
    advance(&p);
    while (!p.err && p.cur.kind != T_EOF) {
        if (p.cur.kind == T_RULENAME && strcmp(p.cur.text, "preference") == 0)
            parse_preference(&p);
        else
            parse_rule(&p);
    }
    free(p.cur.text);
    if (p.err) {
        qg_swrl_rules_destroy(p.rs);
        *errp = p.err;
        return NULL;
    }
    return p.rs;
}

qg_swrl_rules_t *qg_swrl_rules_load(const char *path, qg_error_t **errp)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    qg_swrl_rules_t *rs;

    if (!f) {
        *errp = qg_error_new_fatal("%s: cannot open rules file: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            char *nb = cap >= (64u << 20) ? NULL : realloc(buf, cap ? cap * 2 : 4096);
            if (!nb) {
                free(buf);
                fclose(f);
                *errp = qg_error_new_fatal("%s: rules file too large or out of memory", path);
                return NULL;
            }
            buf = nb;
            cap = cap ? cap * 2 : 4096;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        *errp = qg_error_new_fatal("%s: read error", path);
        return NULL;
    }
    fclose(f);
    rs = qg_swrl_rules_parse(buf, n, path, errp);
    free(buf);
    return rs;
}

size_t qg_swrl_rules_count(const qg_swrl_rules_t *rs)
{
    return rs ? rs->n : 0;
}

const char *qg_swrl_rule_name(const qg_swrl_rules_t *rs, size_t i)
{
    return rs && i < rs->n ? rs->rules[i].name : NULL;
}

int qg_swrl_rule_line(const qg_swrl_rules_t *rs, size_t i)
{
    return rs && i < rs->n ? rs->rules[i].line : 0;
}

const char *qg_swrl_rules_preference(const qg_swrl_rules_t *rs)
{
    return rs ? rs->preference : NULL;
}
