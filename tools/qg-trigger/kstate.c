/*
 * kstate.c - qg-trigger's Kafka topics and consumers: the compacted state
 * topics (<prefix>.watches, <prefix>.trigger.dedup) read from the start, and
 * the group consumer of the Kafka sources and <prefix>.completed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goal.h"
#include "kafka.h"
#include "log.h"
#include "trigger.h"

#define STATE_LOAD_TIMEOUT_MS 60000

/* Create a topic with cleanup.policy (and retention.ms when > 0) unless it exists. */
static void create_state_topic(trg_t *t, const char *topic, const char *policy, long long retention)
{
    char errstr[256], num[32];
    int parts = (int)qg_config_int(t->cfg, "topics.partitions");
    int repl = (int)qg_config_int(t->cfg, "topics.replication.factor");
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, parts, repl, errstr, sizeof(errstr));
    rd_kafka_queue_t *q = rd_kafka_queue_new(t->producer);
    if (!nt || !q)
        goto done;
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", policy);
    if (retention > 0) {
        snprintf(num, sizeof(num), "%lld", retention);
        rd_kafka_NewTopic_set_config(nt, "retention.ms", num);
    }
    rd_kafka_CreateTopics(t->producer, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr =
        res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
    if (cnt == 1 && !rd_kafka_topic_result_error(tr[0]))
        qg_info(TRG_COMPONENT, "created topic %s (%s)", topic, policy);
    else if (cnt == 1 &&
             rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        qg_info(TRG_COMPONENT, "topic %s not created (%s): it is auto-created", topic,
                rd_kafka_topic_result_error_string(tr[0]));
    if (ev)
        rd_kafka_event_destroy(ev);
done:
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
    if (q)
        rd_kafka_queue_destroy(q);
}

void trg_topics_create(trg_t *t)
{
    if (!qg_config_bool(t->cfg, "topics.create"))
        return;
    /* librdkafka's mock cluster (qg-broker) never answers CreateTopics; it
     * auto-creates topics instead. Its cluster id says what it is. */
    char *cluster_id = rd_kafka_clusterid(t->producer, 5000);
    int is_mock = cluster_id && !strncmp(cluster_id, "mockCluster", 11);
    if (cluster_id)
        rd_kafka_mem_free(t->producer, cluster_id);
    if (is_mock)
        return;
    create_state_topic(t, t->topic_watches, "compact", 0);
    create_state_topic(t, t->topic_dedup, "compact,delete",
                       qg_config_ms(t->cfg, "dedup.retention.ms"));
    create_state_topic(t, t->topic_updates, "delete", 0);
}

/* The topic's partition count (asking for it auto-creates it where the cluster
 * does that), or -1 after `tries` attempts. */
static int partitions_of(rd_kafka_t *rk, const char *topic, int tries_max)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    for (int tries = 0; tries < tries_max && n <= 0; tries++) {
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && !md->topics[0].err)
            n = md->topics[0].partition_cnt;
        else
            rd_kafka_poll(rk, 100);
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

static void apply_state(trg_t *t, const rd_kafka_message_t *rkm)
{
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    if (!strcmp(topic, t->topic_watches)) {
        trg_watch_on_record(t, rkm);
    } else if (rkm->key && rkm->key_len < 2048) {
        char key[2048];
        memcpy(key, rkm->key, rkm->key_len);
        key[rkm->key_len] = '\0';
        if (rkm->payload && trg_keyset_put(t->dedup, key, qg_now_ms()) != 0)
            qg_warn(TRG_COMPONENT, "dedup: out of memory");
    }
}

/* Assign both state topics from the start and read up to their end. */
qg_error_t *trg_state_load(trg_t *t)
{
    char errstr[512];
    rd_kafka_conf_t *conf = qg_kafka_conf_new(t->cfg, errstr, sizeof(errstr));
    if (!conf || qg_kafka_conf_default(conf, t->cfg, "isolation.level", "read_committed", errstr,
                                       sizeof(errstr)))
        return qg_error_new(QG_ERR_FATAL, "state consumer: %s", errstr);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(conf, "group.id", "qg-trigger-state", NULL, 0);
    if (!(t->state = qg_kafka_consumer_new(conf, errstr, sizeof(errstr))))
        return qg_error_new(QG_ERR_FATAL, "state consumer: %s", errstr);
    const char *topics[] = {t->topic_watches, t->topic_dedup};
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    int64_t *high = calloc(4096, sizeof(*high));
    int total = 0;
    for (int i = 0; i < 2 && l && high; i++) {
        int n = partitions_of(t->state, topics[i], 50);
        if (n <= 0 || total + n > 4096) {
            rd_kafka_topic_partition_list_destroy(l);
            free(high);
            return qg_error_new(QG_ERR_FATAL, "topic %s is not available", topics[i]);
        }
        for (int p = 0; p < n; p++) {
            int64_t lo = 0;
            rd_kafka_query_watermark_offsets(t->state, topics[i], p, &lo, &high[total], 10000);
            rd_kafka_topic_partition_list_add(l, topics[i], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
            total++;
        }
    }
    if (!l || !high) {
        free(high);
        return qg_error_oom;
    }
    rd_kafka_assign(t->state, l);
    /* Read until every partition reached the high watermark seen at start. */
    double deadline = qg_now_ms() + STATE_LOAD_TIMEOUT_MS;
    long n = 0;
    for (;;) {
        int behind = 0;
        rd_kafka_position(t->state, l);
        for (int i = 0; i < l->cnt; i++)
            if (high[i] > 0 && (l->elems[i].offset < 0 || l->elems[i].offset < high[i]))
                behind = 1;
        if (!behind || qg_now_ms() > deadline)
            break;
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(t->state, 100);
        if (rkm && !rkm->err) {
            apply_state(t, rkm);
            n++;
        }
        if (rkm)
            rd_kafka_message_destroy(rkm);
    }
    rd_kafka_topic_partition_list_destroy(l);
    free(high);
    qg_info(TRG_COMPONENT, "state loaded: %ld records, %zu watched goals, %zu event ids", n,
            t->n_watches, trg_keyset_count(t->dedup));
    return NULL;
}

void trg_state_poll(trg_t *t)
{
    for (int i = 0; i < 100; i++) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(t->state, 0);
        if (!rkm)
            return;
        if (!rkm->err)
            apply_state(t, rkm);
        rd_kafka_message_destroy(rkm);
    }
}

/* The group consumer: Kafka sources and <prefix>.completed; a new group starts at
 * the beginning so that no source record is missed on the first start. */
qg_error_t *trg_consumer_start(trg_t *t)
{
    char errstr[512], group[400];
    rd_kafka_conf_t *conf = qg_kafka_conf_new(t->cfg, errstr, sizeof(errstr));
    snprintf(group, sizeof(group), "%s.trigger", t->prefix);
    if (!conf || qg_kafka_conf_default(conf, t->cfg, "group.id", group, errstr, sizeof(errstr)) ||
        qg_kafka_conf_default(conf, t->cfg, "isolation.level", "read_committed", errstr,
                              sizeof(errstr)) ||
        qg_kafka_conf_default(conf, t->cfg, "auto.offset.reset", "earliest", errstr,
                              sizeof(errstr)) ||
        qg_kafka_conf_default(conf, t->cfg, "fetch.wait.max.ms", "50", errstr, sizeof(errstr)))
        return qg_error_new(QG_ERR_FATAL, "consumer: %s", errstr);
    if (qg_kafka_conf_default(conf, t->cfg, "topic.metadata.refresh.interval.ms", "10000", errstr,
                              sizeof(errstr)))
        return qg_error_new(QG_ERR_FATAL, "consumer: %s", errstr);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
    if (!(t->consumer = qg_kafka_consumer_new(conf, errstr, sizeof(errstr))))
        return qg_error_new(QG_ERR_FATAL, "consumer: %s", errstr);
    /* A subscribed topic that does not exist yet is seen only at the next metadata
     * refresh: ask for each now (the embedded broker creates it on the request). */
    if (partitions_of(t->producer, t->topic_completed, 3) <= 0)
        qg_info(TRG_COMPONENT, "topic %s does not exist yet", t->topic_completed);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    rd_kafka_topic_partition_list_add(l, t->topic_completed, RD_KAFKA_PARTITION_UA);
    for (size_t i = 0; i < t->file->n_sources; i++) {
        const trg_source_t *s = &t->file->sources[i];
        for (size_t k = 0; s->type == TRG_SRC_KAFKA && k < s->n_topics; k++)
            rd_kafka_topic_partition_list_add(l, s->topics[k], RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(t->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    return e ? qg_error_new(QG_ERR_FATAL, "subscribe: %s", rd_kafka_err2str(e)) : NULL;
}

/* The Kafka source a topic belongs to, or NULL for <prefix>.completed. */
static const trg_source_t *kafka_source(const trg_t *t, const char *topic)
{
    for (size_t i = 0; i < t->file->n_sources; i++) {
        const trg_source_t *s = &t->file->sources[i];
        for (size_t k = 0; s->type == TRG_SRC_KAFKA && k < s->n_topics; k++)
            if (!strcmp(s->topics[k], topic))
                return s;
    }
    return NULL;
}

int trg_consumer_poll(trg_t *t, int timeout_ms)
{
    rd_kafka_message_t *rkm = rd_kafka_consumer_poll(t->consumer, timeout_ms);
    if (!rkm)
        return 0;
    if (rkm->err) {
        if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            qg_debug(TRG_COMPONENT, "consumer: %s", rd_kafka_message_errstr(rkm));
        rd_kafka_message_destroy(rkm);
        return 0;
    }
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    const trg_source_t *src = kafka_source(t, topic);
    if (!strcmp(topic, t->topic_completed) && !src) {
        /* On a first start the group reads from the beginning: answers older
         * than a watch may last are of no use. */
        int64_t ts = rd_kafka_message_timestamp(rkm, NULL);
        if (ts < 0 || (double)ts > qg_now_ms() - (double)qg_config_ms(t->cfg, "watch.ttl.ms"))
            trg_watch_on_completed(t, rkm);
    } else if (src) {
        trg_event_t ev = {.source = src->name,
                          .topic = topic,
                          .payload = rkm->payload ? rkm->payload : "",
                          .len = rkm->len};
        snprintf(ev.origin, sizeof(ev.origin), "kafka:%s:%d:%lld", topic, (int)rkm->partition,
                 (long long)rkm->offset);
        trg_handle_event(t, &ev);
    }
    trg_out_consumed(t, rkm);
    rd_kafka_message_destroy(rkm);
    return 1;
}
