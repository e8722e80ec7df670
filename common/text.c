/*
 * text.c - small string helpers.
 */
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *qg_str_printf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

int qg_str_join(char **out, const char *a, const char *sep, const char *b)
{
    size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
    *out = malloc(na + ns + nb + 1);
    if (!*out)
        return -1;
    memcpy(*out, a, na);
    memcpy(*out + na, sep, ns);
    memcpy(*out + na + ns, b, nb + 1);
    return 0;
}
