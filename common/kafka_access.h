/*
 * kafka_access.h - check at start that this client's principal may do what it
 * needs, so that a missing credential or ACL stops the program with a message
 * naming the topic, group and operation instead of a retry loop.
 *
 * Checked: authentication (SASL, TLS) with the bootstrap brokers; Describe on
 * every topic read or written (Read and Write imply it), which also tells a
 * topic the principal cannot see at all; Describe on every consumer group
 * (Read implies it). Not checkable without writing: a principal that may
 * Describe a topic but not Write it. That shows at the first produce as a
 * fatal delivery error; the input record is not committed, so nothing is lost.
 */
#ifndef QG_KAFKA_ACCESS_H
#define QG_KAFKA_ACCESS_H

#include "config.h"
#include "error.h"

typedef struct qg_kafka_access_s {
    const char *const *read_topics;  /* NULL-terminated, may be NULL */
    const char *const *write_topics; /* NULL-terminated, may be NULL */
    const char *const *groups;       /* NULL-terminated, may be NULL */
} qg_kafka_access_t;

/* How long the start-up check waits for each answer. */
#define QG_ACCESS_CHECK_TIMEOUT_MS 10000

/** access.check: "on", or "auto" with a security.protocol other than plaintext. */
int qg_kafka_access_check_wanted(const qg_config_t *cfg);

/**
 * NULL when everything needed is allowed, or when no broker answered within
 * timeout_ms (then the program's own connection handling takes over); else a
 * fatal error: "not authorized to Read group 'g'", "authentication failed: ...".
 */
qg_error_t *qg_kafka_check_access(const qg_config_t *cfg, const qg_kafka_access_t *need,
                                  int timeout_ms);

#endif
