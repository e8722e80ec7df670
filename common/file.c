/*
 * file.c - bounded whole-file reads.
 */
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fail(int e, int *errnum, const char *path, const char *why, char *errstr, size_t sz)
{
    if (errnum)
        *errnum = e;
    snprintf(errstr, sz, "%s: %s", path, why ? why : strerror(e));
    return NULL;
}

/* Read f to the end into a growing buffer; NULL with *e set on failure. */
static char *read_all(FILE *f, size_t max_bytes, size_t *lenp, int *e)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (max_bytes && len > max_bytes) {
            *e = EFBIG;
            break;
        }
        if (len < cap) {
            if (!ferror(f)) {
                buf[len] = '\0';
                *lenp = len;
                return buf;
            }
            *e = EIO;
            break;
        }
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            *e = ENOMEM;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (!buf)
        *e = ENOMEM;
    free(buf);
    return NULL;
}

char *qg_file_read(const char *path, size_t max_bytes, size_t *lenp, int *errnum, char *errstr,
                   size_t errstr_size)
{
    int use_stdin = !strcmp(path, "-");
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return fail(errno, errnum, path, NULL, errstr, errstr_size);
    int e = 0;
    size_t len = 0;
    char *buf = read_all(f, max_bytes, &len, &e);
    if (!use_stdin)
        fclose(f);
    if (!buf) {
        char why[64];
        snprintf(why, sizeof(why), "larger than %zu bytes", max_bytes);
        return fail(e, errnum, path, e == EFBIG ? why : NULL, errstr, errstr_size);
    }
    if (lenp)
        *lenp = len;
    return buf;
}
