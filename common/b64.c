/*
 * b64.c - base64url encoding (no padding) and lenient base64 decoding.
 */
#include "b64.h"

#include <stdlib.h>
#include <string.h>

static const char qg_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *qg_b64url_encode(const void *data, size_t len)
{
    const unsigned char *in = data;
    size_t outlen = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
    char *out = malloc(outlen + 1);
    size_t i, o = 0;

    if (!out)
        return NULL;
    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = qg_b64url_alphabet[v >> 18 & 63];
        out[o++] = qg_b64url_alphabet[v >> 12 & 63];
        out[o++] = qg_b64url_alphabet[v >> 6 & 63];
        out[o++] = qg_b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = qg_b64url_alphabet[v >> 18 & 63];
        out[o++] = qg_b64url_alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = qg_b64url_alphabet[v >> 18 & 63];
        out[o++] = qg_b64url_alphabet[v >> 12 & 63];
        out[o++] = qg_b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

/* 0..63, or -1 for a character outside both alphabets. */
static int qg_b64_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int qg_b64_decode(const char *text, size_t textlen, unsigned char **out, size_t *outlen)
{
    unsigned char *buf;
    unsigned acc = 0;
    size_t i, n = 0, bits = 0;

    while (textlen > 0 && text[textlen - 1] == '=')
        textlen--;
    if (textlen % 4 == 1)
        return -1;
    buf = malloc(textlen / 4 * 3 + 3);
    if (!buf)
        return -1;
    for (i = 0; i < textlen; i++) {
        int d = qg_b64_digit((unsigned char)text[i]);
        if (d < 0) {
            free(buf);
            return -1;
        }
        acc = (acc << 6 | (unsigned)d) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}
