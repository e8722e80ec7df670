/*
 * aas_config.h - the AAS client's configuration keys, shared by every stage
 * that reads the AAS server (yamlBinding, aasQuery): one table, one constructor.
 */
#ifndef QG_AAS_CONFIG_H
#define QG_AAS_CONFIG_H

#include "aas.h"
#include "config.h"

/* Entries for a stage's option table. */
#define QG_AAS_CLIENT_OPTIONS                                                                      \
    QG_OPT_STR("aas.base.url", NULL,                                                               \
               "AAS server base URL including any prefix (http://host:8080/api/v3.0)"),            \
        QG_OPT_MS("aas.timeout.ms", "30000", 1, 3600000, "timeout of one AAS request in ms"),      \
        QG_OPT_MS("aas.connect.timeout.ms", "5000", 1, 600000,                                     \
                  "connect timeout of AAS requests in ms"),                                        \
        QG_OPT_INT("aas.max.concurrency", "8", 1, 256, "AAS requests in flight at once"),          \
        QG_OPT_STR("aas.token.env", NULL,                                                          \
                   "environment variable holding a bearer token for the AAS server"),              \
        QG_OPT_STR("aas.token.file", NULL, "file holding a bearer token for the AAS server"),      \
        QG_OPT_BOOL("aas.tls.verify", "true",                                                      \
                    "verify the AAS server's TLS certificate and host name"),                      \
        QG_OPT_STR("aas.ca.file", NULL, "CA bundle for the AAS server's certificate")

/** A client from the aas.* keys; the bearer token is read, used and wiped, never logged. */
qg_error_t *qg_aas_client_from_config(const qg_config_t *cfg, qg_aas_client_t **out);

#endif
