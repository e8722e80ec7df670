/*
 * sha256.h - SHA-256 (FIPS 180-4) for claim-check digests.
 */
#ifndef QG_SHA256_H
#define QG_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct qg_sha256_s {
    uint32_t h[8];
    uint64_t bits;
    unsigned char block[64];
    size_t used;
} qg_sha256_t;

void qg_sha256_init(qg_sha256_t *s);
void qg_sha256_update(qg_sha256_t *s, const void *data, size_t len);
void qg_sha256_final(qg_sha256_t *s, unsigned char out[32]);
/** Lower-case hex digest of data into hex[65]. */
void qg_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
