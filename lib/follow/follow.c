/*
 * follow.c - find a goal's fate: read <prefix>.completed and <prefix>.dlq
 * from given offsets until a record keyed by the goal id appears.
 */
#include <stdlib.h>
#include <string.h>

#include "follow/follow.h"
#include "goal.h"
#include "kafka.h"

/* A topic just created may take seconds to have leaders everywhere. */
#define TOPIC_WAIT_MS 30000
/* A metadata or offsets request not answered within this is down for a person
 * waiting at a prompt or an HTTP client (the caller reports it). */
#define FOLLOW_QUERY_MS 5000
/* How soon a stop flag or a deadline is noticed while polling. */
#define FOLLOW_POLL_SLICE_MS 200

/* Make sure the topic exists (auto-created on metadata request) and return its partitions. */
int qg_follow_partitions(rd_kafka_t *rk, const char *topic, char *errstr, size_t sz)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    double deadline = qg_now_ms() + TOPIC_WAIT_MS;
    while (n <= 0 && qg_now_ms() < deadline) {
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, FOLLOW_QUERY_MS);
        if (err) {
            snprintf(errstr, sz, "metadata for %s: %s", topic, rd_kafka_err2str(err));
            continue;
        }
        if (md->topic_cnt == 1 && !md->topics[0].err)
            n = md->topics[0].partition_cnt;
        else
            rd_kafka_poll(rk, FOLLOW_POLL_SLICE_MS);
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (n <= 0 && !errstr[0])
        snprintf(errstr, sz, "topic %s not available", topic);
    return n;
}

/* Replace each partition's offset by its current end (high watermark), in one
 * ListOffsets request per broker. */
static int resolve_ends(rd_kafka_t *consumer, rd_kafka_topic_partition_list_t *l, char *errstr,
                        size_t sz)
{
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = RD_KAFKA_OFFSET_END; /* as a timestamp: "latest" */
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(consumer, l, 5000);
    for (int i = 0; !err && i < l->cnt; i++)
        if (l->elems[i].err || l->elems[i].offset < 0)
            err = l->elems[i].err ? l->elems[i].err : RD_KAFKA_RESP_ERR__NO_OFFSET;
    if (err) {
        snprintf(errstr, sz, "end offsets unavailable: %s", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* Assign every partition of the topics at `from` (end: the current high watermark). */
int qg_follow_assign(rd_kafka_t *consumer, const char *const *topics, int from_end, char *errstr,
                     size_t sz)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (size_t t = 0; topics[t]; t++) {
        errstr[0] = '\0';
        int n = qg_follow_partitions(consumer, topics[t], errstr, sz);
        if (n <= 0) {
            rd_kafka_topic_partition_list_destroy(l);
            return -1;
        }
        for (int p = 0; p < n; p++)
            rd_kafka_topic_partition_list_add(l, topics[t], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (from_end && resolve_ends(consumer, l, errstr, sz) != 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        snprintf(errstr, sz, "assign: %s", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

rd_kafka_t *qg_follow_consumer_new(const qg_config_t *cfg, const char *name, char *errstr,
                                   size_t sz)
{
    rd_kafka_conf_t *conf = qg_kafka_conf_new(cfg, errstr, sz);
    if (!conf)
        return NULL;
    char group[128];
    snprintf(group, sizeof(group), "%s-%d", name, (int)rand());
    if (qg_kafka_conf_default(conf, cfg, "group.id", group, errstr, sz) ||
        qg_kafka_conf_default(conf, cfg, "enable.auto.commit", "false", errstr, sz) ||
        qg_kafka_conf_default(conf, cfg, "isolation.level", "read_committed", errstr, sz) ||
        qg_kafka_conf_default(conf, cfg, "allow.auto.create.topics", "true", errstr, sz) ||
        /* A real broker answers a waiting fetch as soon as the answer arrives; the
         * embedded one holds it for the whole wait, so keep the wait short. */
        qg_kafka_conf_default(conf, cfg, "fetch.wait.max.ms", "100", errstr, sz)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return qg_kafka_consumer_new(conf, errstr, sz);
}

static int key_is(const rd_kafka_message_t *rkm, const char *goal_id)
{
    size_t n = strlen(goal_id);
    return rkm->key && rkm->key_len == n && !memcmp(rkm->key, goal_id, n);
}

rd_kafka_message_t *qg_follow_wait(rd_kafka_t *consumer, const char *goal_id, double deadline_ms,
                                   volatile int *stop)
{
    while (qg_now_ms() < deadline_ms && !(stop && *stop)) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(consumer, FOLLOW_POLL_SLICE_MS);
        if (!rkm)
            continue;
        if (!rkm->err && (!goal_id || key_is(rkm, goal_id)))
            return rkm;
        rd_kafka_message_destroy(rkm);
    }
    return NULL;
}
