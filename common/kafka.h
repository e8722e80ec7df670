/*
 * kafka.h - librdkafka handles built from a qg_config_t.
 */
#ifndef QG_KAFKA_H
#define QG_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "error.h"

/** Runtime keys shared by every Kafka-facing binary (topic.prefix, processing.guarantee, ...). */
extern const qg_option_t qg_kafka_options[];

/**
 * New librdkafka conf holding every librdkafka property in cfg
 * (bootstrap.servers and the -X / QG_KAFKA_* ones), with logs routed to
 * our logger. errstr names the offending property.
 */
rd_kafka_conf_t *qg_kafka_conf_new(const qg_config_t *cfg, char *errstr, size_t errstr_size);

/** Set a property unless the user already set it. Returns 0 or -1 with errstr. */
int qg_kafka_conf_default(rd_kafka_conf_t *conf, const qg_config_t *cfg, const char *key,
                          const char *value, char *errstr, size_t errstr_size);

/**
 * Producer: idempotent; transactional when transactional_id is non-NULL. Its
 * metadata cache is warmed with every existing topic (qg_kafka_metadata_warm).
 */
rd_kafka_t *qg_kafka_producer_new(const qg_config_t *cfg, const char *transactional_id,
                                  void (*dr_msg_cb)(rd_kafka_t *, const rd_kafka_message_t *,
                                                    void *),
                                  void *opaque, char *errstr, size_t errstr_size);

/**
 * Fill the client's metadata cache with every topic the cluster has, waiting
 * at most timeout_ms (failures only logged). librdkafka 2.0.2 looks a topic
 * that is new to a producer up in this cache; a topic missing from it waits
 * for the client's 1 s topic scan before its first record can be sent.
 */
void qg_kafka_metadata_warm(rd_kafka_t *rk, int timeout_ms);
#define QG_KAFKA_WARM_TIMEOUT_MS 2000

/**
 * Create the topics that do not exist yet (Admin API). Existing topics are
 * left as they are. Returns 0, or -1 with errstr (e.g. a broker without
 * CreateTopics, like the embedded mock cluster).
 */
int qg_kafka_ensure_topics(rd_kafka_t *rk, const char *const *topics, int partitions,
                           int replication, char *errstr, size_t errstr_size);
/**
 * qg_kafka_ensure_topics with topic configs: configs (may be NULL) has one entry per
 * topic, NULL or a NULL-terminated list of name, value, name, value, ... (e.g.
 * "cleanup.policy", "compact"). A topic that exists keeps its configs.
 */
int qg_kafka_ensure_topics_config(rd_kafka_t *rk, const char *const *topics,
                                  const char *const *const *configs, int partitions,
                                  int replication, char *errstr, size_t errstr_size);

/**
 * Consumer from a prepared conf, which it takes over (destroyed on failure
 * too). Consumer messages and callbacks are served by rd_kafka_consumer_poll.
 */
rd_kafka_t *qg_kafka_consumer_new(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size);

/** Header value as a NUL-terminated copy in buf (truncated), or NULL if absent. */
const char *qg_kafka_header(const rd_kafka_message_t *rkm, const char *name, char *buf,
                            size_t bufsz);

/** Build the Kafka Connect style dead-letter headers for a failed input record. */
rd_kafka_headers_t *qg_dlq_headers_new(const char *topic, int32_t partition, int64_t offset,
                                       const char *stage, const char *error_class,
                                       const char *message, const char *worker, int attempts,
                                       double now_ms);

/* Header names (Kafka Connect's errors.deadletterqueue.context.headers.enable naming). */
#define QG_HDR_DLQ_TOPIC     "__connect.errors.topic"
#define QG_HDR_DLQ_PARTITION "__connect.errors.partition"
#define QG_HDR_DLQ_OFFSET    "__connect.errors.offset"
#define QG_HDR_DLQ_STAGE     "__connect.errors.stage"
#define QG_HDR_DLQ_CLASS     "__connect.errors.class"
#define QG_HDR_DLQ_MESSAGE   "__connect.errors.exception.message"
#define QG_HDR_DLQ_WORKER    "__connect.errors.worker"
#define QG_HDR_DLQ_ATTEMPTS  "__connect.errors.attempts"
#define QG_HDR_DLQ_TIMESTAMP "__connect.errors.timestamp"
/* Retry headers. */
#define QG_HDR_ATTEMPT    "qg.attempt"
#define QG_HDR_NOT_BEFORE "qg.not.before.ms"
#define QG_HDR_LAST_ERROR "qg.last.error"
/* Set on a DLQ record whose original value was too large to produce: its size in bytes. */
#define QG_HDR_VALUE_OMITTED "qg.value.omitted.bytes"

#endif
