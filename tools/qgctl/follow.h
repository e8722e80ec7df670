#ifndef QGCTL_FOLLOW_H
#define QGCTL_FOLLOW_H

#include <librdkafka/rdkafka.h>

#include "config.h"

rd_kafka_t *qg_follow_consumer_new(const qg_config_t *cfg, char *errstr, size_t sz);
/** Assign all partitions of the NULL-terminated topics, at their end or beginning. */
int qg_follow_assign(rd_kafka_t *consumer, const char *const *topics, int from_end, char *errstr,
                     size_t sz);
/** Next record keyed goal_id (any record if NULL) before the deadline, or NULL. */
rd_kafka_message_t *qg_follow_wait(rd_kafka_t *consumer, const char *goal_id, double deadline_ms,
                                   volatile int *stop);

#endif
