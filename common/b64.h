/*
 * b64.h - base64: AAS identifiers in URL paths (AAS Part 2: base64url of the
 * UTF-8 bytes WITHOUT padding) and the *-data fields of a kubeconfig.
 * Decoding is lenient: standard or url alphabet, padded or not (servers and
 * users spell it every way).
 */
#ifndef QG_B64_H
#define QG_B64_H

#include <stddef.h>

/** base64url, no padding. Returns a malloc'd NUL-terminated string or NULL (OOM). */
char *qg_b64url_encode(const void *data, size_t len);

/**
 * Decode standard or url-safe base64, with or without '=' padding.
 * On success returns 0 and a malloc'd buffer (NUL-terminated for convenience)
 * in *out with its length in *outlen. Returns -1 on invalid input or OOM.
 */
int qg_b64_decode(const char *text, size_t textlen, unsigned char **out, size_t *outlen);

#endif
