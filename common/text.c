/*
 * text.c - small string helpers.
 */
#include "text.h"

#include <stdlib.h>
#include <string.h>

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
