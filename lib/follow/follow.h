/*
 * follow.h - read a goal's fate from Kafka: a consumer that commits nothing,
 * assigned every partition of the topics it reads (<prefix>.completed,
 * <prefix>.dlq, stage topics), from their beginning or their end.
 * Used by qgctl (submit --wait, dlq) and qg-gateway (its goal index).
 */
#ifndef QG_FOLLOW_H
#define QG_FOLLOW_H

#include <librdkafka/rdkafka.h>

#include "config.h"

/**
 * Consumer with a random group id "<name>-<n>" that never commits
 * (read_committed, topics auto-created on metadata requests).
 */
rd_kafka_t *qg_follow_consumer_new(const qg_config_t *cfg, const char *name, char *errstr,
                                   size_t sz);
/** Partitions of a topic (waits for auto-creation), or -1 with errstr. */
int qg_follow_partitions(rd_kafka_t *rk, const char *topic, char *errstr, size_t sz);
/** Assign all partitions of the NULL-terminated topics, at their end or beginning. */
int qg_follow_assign(rd_kafka_t *consumer, const char *const *topics, int from_end, char *errstr,
                     size_t sz);
/** Next record keyed goal_id (any record if NULL) before the deadline, or NULL. */
rd_kafka_message_t *qg_follow_wait(rd_kafka_t *consumer, const char *goal_id, double deadline_ms,
                                   volatile int *stop);

#endif
