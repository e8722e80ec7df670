/*
 * worker_harness.h - runs the worker loop in-process against librdkafka's mock
 * cluster, with the pass-through test stage (tests/stages/passthrough), for the
 * test_worker*.c tests. The loop runs on its own thread; the test produces
 * inputs, injects broker errors and reads topics and committed offsets.
 * Criterion runs each test in its own process, so the stop flag is per test.
 */
#ifndef QG_WORKER_HARNESS_H
#define QG_WORKER_HARNESS_H

#include <criterion/criterion.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "kafka.h"
#include "worker_int.h"

extern const qg_stage_ops_t qg_stage_passthrough;

/* Kafka protocol API keys used to inject errors. */
#define API_PRODUCE            0
#define API_ADD_OFFSETS_TO_TXN 25

#define T_IN        "t.passA"
#define T_RETRY     "t.passA.retry"
#define T_COMPLETED "t.completed"
#define T_DLQ       "t.dlq"
#define G_MAIN      "t.passA.workers"
#define G_RETRY     "t.passA.retry.workers"

typedef struct {
    rd_kafka_t *mrk; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    char bootstraps[256];
    rd_kafka_t *producer; /* the test's own producer */
    qg_config_t *cfg;
    void *state;
    qg_worker_t *w;
    pthread_t thread;
    int rc;
    volatile int done;
} harness_t;

static inline void h_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Poll cond(h) every 20 ms until it holds or timeout_ms passed. */
static inline int h_wait(harness_t *h, int (*cond)(harness_t *), long timeout_ms)
{
    double deadline = qg_clock_ms() + (double)timeout_ms;
    while (!cond(h)) {
        if (qg_clock_ms() > deadline)
            return 0;
        h_sleep_ms(20);
    }
    return 1;
}

static inline void h_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char errstr[256];
    cr_assert_eq(rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)), RD_KAFKA_CONF_OK, "%s: %s",
                 k, errstr);
}

/* A mock cluster with the stage's topics (1 partition each unless given). */
static inline void h_cluster(harness_t *h, int in_parts, int retry_parts)
{
    char errstr[256];
    memset(h, 0, sizeof(*h));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    h_conf_set(conf, "log_level", "2");
    h->mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    cr_assert_not_null(h->mrk, "%s", errstr);
    h->mc = rd_kafka_mock_cluster_new(h->mrk, 1);
    cr_assert_not_null(h->mc);
    snprintf(h->bootstraps, sizeof(h->bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(h->mc));
    rd_kafka_mock_topic_create(h->mc, T_IN, in_parts, 1);
    rd_kafka_mock_topic_create(h->mc, T_RETRY, retry_parts, 1);
    rd_kafka_mock_topic_create(h->mc, T_COMPLETED, 1, 1);
    rd_kafka_mock_topic_create(h->mc, T_DLQ, 1, 1);
    conf = rd_kafka_conf_new();
    h_conf_set(conf, "bootstrap.servers", h->bootstraps);
    h_conf_set(conf, "linger.ms", "0");
    h->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    cr_assert_not_null(h->producer, "%s", errstr);
}

/* Worker configuration; extra is a NULL-terminated list of key, value pairs. */
static inline void h_config(harness_t *h, const char *const *extra)
{
    static const qg_option_t stage_opt[] = {QG_OPT_STR("stage", NULL, ""), QG_OPT_END};
    char errstr[256];
    h->cfg = qg_config_new();
    qg_config_add_options(h->cfg, qg_kafka_options);
    qg_config_add_options(h->cfg, stage_opt);
    qg_config_add_options(h->cfg, qg_stage_passthrough.options);
    const char *base[] = {"stage",
                          "passA",
                          "topic.prefix",
                          "t",
                          "pipeline.extra.stages",
                          "passA",
                          "bootstrap.servers",
                          h->bootstraps,
                          "topics.create",
                          "false",
                          "commit.interval.ms",
                          "10",
                          "session.timeout.ms",
                          "6000",
                          "heartbeat.interval.ms",
                          "300",
                          "shutdown.timeout.ms",
                          "3000",
                          "log.level",
                          "warn",
                          "passthrough.fail.param",
                          "failWith",
                          NULL};
    for (const char *const *kv = base; *kv; kv += 2)
        cr_assert_eq(qg_config_set(h->cfg, kv[0], kv[1], errstr, sizeof(errstr)), 0, "%s", errstr);
    for (const char *const *kv = extra; kv && *kv; kv += 2)
        cr_assert_eq(qg_config_set(h->cfg, kv[0], kv[1], errstr, sizeof(errstr)), 0, "%s", errstr);
}

static inline void *h_run(void *arg)
{
    harness_t *h = arg;
    h->rc = qg_worker_run(h->w);
    __atomic_store_n(&h->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static inline void h_start(harness_t *h, const char *const *extra)
{
    char errstr[512];
    h_config(h, extra);
    qg_worker_request_stop(0);
    cr_assert_null(qg_stage_passthrough.init(&h->state, h->cfg));
    h->w = qg_worker_new(&qg_stage_passthrough, h->state, h->cfg, "w-test", NULL, errstr,
                         sizeof(errstr));
    cr_assert_not_null(h->w, "worker: %s", errstr);
    cr_assert_eq(pthread_create(&h->thread, NULL, h_run, h), 0);
}

static inline int h_done(harness_t *h)
{
    return __atomic_load_n(&h->done, __ATOMIC_ACQUIRE);
}

/* Stop the loop as SIGTERM would; 1 when it returned within timeout_ms. */
static inline int h_stop(harness_t *h, long timeout_ms)
{
    qg_worker_request_stop(1);
    if (!h_wait(h, h_done, timeout_ms))
        return 0;
    pthread_join(h->thread, NULL);
    return 1;
}

static inline void h_destroy(harness_t *h)
{
    qg_worker_destroy(h->w);
    qg_stage_passthrough.destroy(h->state);
    qg_config_destroy(h->cfg);
    rd_kafka_flush(h->producer, 2000);
    rd_kafka_destroy(h->producer);
    rd_kafka_mock_cluster_destroy(h->mc);
    rd_kafka_destroy(h->mrk);
}

static inline long h_load(const long *v)
{
    return __atomic_load_n(v, __ATOMIC_SEQ_CST);
}

/* A goal for stage passA; fail_with: a class name the stage fails with, or NULL. */
static inline void h_goal(char *buf, size_t sz, const char *id, const char *fail_with)
{
    char params[128] = "";
    if (fail_with)
        snprintf(params, sizeof(params), "{\"key\":\"failWith\",\"value\":\"%s\"}", fail_with);
    snprintf(buf, sz,
             "{\"QueryGoal\":{\"goalId\":\"%s\",\"goalType\":\"test\",\"parameters\":[%s],"
             "\"metadata\":{\"pipelineStages\":[\"passA\"]}}}",
             id, params);
}

/* Produce one record (partition -1: by key), waiting for its acknowledgement. */
static inline void h_produce(harness_t *h, const char *topic, int32_t partition, const char *key,
                             const char *value, rd_kafka_headers_t *hdrs)
{
    rd_kafka_resp_err_t err = rd_kafka_producev(
        h->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)value, strlen(value)),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(hdrs ? hdrs : rd_kafka_headers_new(0)), RD_KAFKA_V_END);
    cr_assert_eq(err, 0, "produce: %s", rd_kafka_err2str(err));
    cr_assert_eq(rd_kafka_flush(h->producer, 10000), 0, "flush timed out");
}

static inline void h_produce_goal(harness_t *h, const char *id, const char *fail_with)
{
    char v[512];
    h_goal(v, sizeof(v), id, fail_with);
    h_produce(h, T_IN, 0, id, v, NULL);
}

/* A consumer of group (not subscribed unless asked); for committed offsets and reading. */
static inline rd_kafka_t *h_consumer(harness_t *h, const char *group)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    h_conf_set(conf, "bootstrap.servers", h->bootstraps);
    h_conf_set(conf, "group.id", group);
    h_conf_set(conf, "enable.auto.commit", "false");
    h_conf_set(conf, "auto.offset.reset", "earliest");
    h_conf_set(conf, "session.timeout.ms", "6000");
    h_conf_set(conf, "heartbeat.interval.ms", "300");
    h_conf_set(conf, "fetch.wait.max.ms", "50");
    h_conf_set(conf, "enable.partition.eof", "true");
    h_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky");
    h_conf_set(conf, "log_level", "2");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    cr_assert_not_null(rk, "%s", errstr);
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Committed offset of group on topic partition 0 (negative: none). */
static inline int64_t h_committed(rd_kafka_t *rk, const char *topic, int32_t partition)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition);
    rd_kafka_resp_err_t err = rd_kafka_committed(rk, l, 5000);
    int64_t off = err ? -1 : l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return off;
}

/* Records of topic partition 0 whose key is key (all records with key NULL),
 * read from the beginning, aborted transactions included (the mock keeps them). */
static inline int h_count(harness_t *h, const char *topic, const char *key)
{
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(h->producer, topic, 0, &lo, &hi, 5000) || hi <= lo)
        return 0;
    rd_kafka_t *rk = h_consumer(h, "t.reader");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    int n = 0;
    int64_t last = -1;
    double deadline = qg_clock_ms() + 10000;
    while (last < hi - 1 && qg_clock_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            last = m->offset;
            if (!key || (m->key_len == strlen(key) && !memcmp(m->key, key, m->key_len)))
                n++;
        } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            last = hi; /* transaction markers hold the last offsets */
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

#endif
