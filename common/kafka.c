/*
 * kafka.c - librdkafka configuration, clients and headers.
 */
#include "kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goal.h"
#include "log.h"

/* librdkafka retry.backoff.ms of transactional producers (its default is 100 ms). */
#define TXN_RETRY_BACKOFF_MS "20"

const qg_option_t qg_kafka_options[] = {
    QG_OPT_STR("topic.prefix", "querygoal", "prefix of every topic and consumer group"),
    QG_OPT_ENUM("processing.guarantee", "at_least_once", "at_least_once|exactly_once",
                "at_least_once or exactly_once"),
    QG_OPT_STR("worker.id", NULL,
               "worker identity in logs, DLQ records and the execution log "
               "(default program/host/pid)"),
    QG_OPT_ENUM("log.level", "info", "error|warn|info|debug", "error, warn, info or debug"),
    QG_OPT_INT("goal.max.bytes", "1048576", 1024, 104857600,
               "larger input values go to the DLQ as bad_input"),
    QG_OPT_STR("goal.types.file", "config/goal-patterns.yaml",
               "goal types declared once (stages, parameters with type and bounds); the "
               "first stage of a pipeline refuses goals whose parameters break them"),
    QG_OPT_LIST("pipeline.extra.stages", "",
                "comma-separated stage names accepted besides the built-in ones"),
    QG_OPT_INT_LIST(
        "retry.backoff.ms", "1000,5000,30000,120000", 0, 86400000,
        "milliseconds before each retry of a transient failure; attempts = entries + 1"),
    QG_OPT_MS("commit.interval.ms", "200", 1, 60000,
              "at_least_once: how often acknowledged offsets are committed"),
    QG_OPT_INT("transaction.max.messages", "500", 1, 100000,
               "exactly_once: records per transaction at most"),
    QG_OPT_MS("transaction.max.ms", "100", 1, 60000,
              "exactly_once: longest a transaction stays open. A goal reaches the next stage "
              "only when its transaction commits, so this trades per-hop latency (about half "
              "of it, plus the commit) against commits per second"),
    QG_OPT_BOOL("transaction.commit.idle", "true",
                "exactly_once: also commit as soon as no record is waiting, so a goal that "
                "arrives alone reaches the next stage after one commit, not after "
                "transaction.max.ms; false: commit by transaction.max.ms and "
                "transaction.max.messages only (fewer commits under a steady trickle)"),
    QG_OPT_INT("max.inflight.goals", "5000", 1, 1000000,
               "goals produced but not yet acknowledged, at most"),
    QG_OPT_BOOL("stage.threaded", NULL,
                "run the stage off the poll thread (default: the stage's own choice; "
                "true for simulation)"),
    QG_OPT_BOOL("topics.create", "true",
                "create missing topics at start (input, retry, completed, dlq)"),
    QG_OPT_INT("topics.partitions", "6", 1, 10000,
               "partitions of topics created at start: the most workers a stage "
               "can keep busy"),
    QG_OPT_INT("topics.replication.factor", "-1", -1, 100,
               "replication of created topics (-1: broker default)"),
    QG_OPT_MS("shutdown.timeout.ms", "10000", 100, 600000,
              "longest wait to leave the consumer group on shutdown"),
    QG_OPT_ENUM("access.check", "auto", "auto|on|off",
                "check credentials and ACLs at start and stop naming what is missing "
                "(auto: when security.protocol is not plaintext)"),
    QG_OPT_STR("health.file", "", "touched every loop iteration; liveness = recent mtime"),
    QG_OPT_STR("events.connect", "", "ZeroMQ endpoint of the progress forwarder's XSUB socket"),
    QG_OPT_TABLE_END("runtime"),
};

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* One configuration feeds both clients; their warnings about each other's
     * properties are expected, not a problem. */
    if (strstr(buf, "property and will be ignored by this"))
        level = 7;
    int ours = level <= 3   ? QG_LOG_ERROR
               : level == 4 ? QG_LOG_WARN
               : level <= 6 ? QG_LOG_INFO
                            : QG_LOG_DEBUG;
    qg_log(ours, "librdkafka", "%s: %s", fac, buf);
}

rd_kafka_conf_t *qg_kafka_conf_new(const qg_config_t *cfg, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < qg_config_kafka_count(cfg); i++) {
        const char *k, *v;
        char msg[512];
        qg_config_kafka_at(cfg, i, &k, &v);
        if (rd_kafka_conf_set(conf, k, v, msg, sizeof(msg)) != RD_KAFKA_CONF_OK) {
            snprintf(errstr, errstr_size, "%s: %s", k, msg);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    return conf;
}

int qg_kafka_conf_default(rd_kafka_conf_t *conf, const qg_config_t *cfg, const char *key,
                          const char *value, char *errstr, size_t errstr_size)
{
    if (qg_config_kafka_get(cfg, key))
        return 0;
    char msg[512];
    if (rd_kafka_conf_set(conf, key, value, msg, sizeof(msg)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "%s: %s", key, msg);
        return -1;
    }
    return 0;
}

rd_kafka_t *qg_kafka_producer_new(const qg_config_t *cfg, const char *transactional_id,
                                  void (*dr_msg_cb)(rd_kafka_t *, const rd_kafka_message_t *,
                                                    void *),
                                  void *opaque, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = qg_kafka_conf_new(cfg, errstr, errstr_size);
    if (!conf)
        return NULL;
    int rc = qg_kafka_conf_default(conf, cfg, "enable.idempotence", "true", errstr, errstr_size);
    if (!rc)
        rc = qg_kafka_conf_default(conf, cfg, "linger.ms", "2", errstr, errstr_size);
    /* A transaction's AddOffsetsToTxn is refused (CONCURRENT_TRANSACTIONS) while the broker
     * still writes the previous one's markers; librdkafka retries it after retry.backoff.ms,
     * whose default of 100 ms then holds the worker's commit that long. */
    if (!rc && transactional_id) {
        char msg[512];
        rc = qg_kafka_conf_default(conf, cfg, "retry.backoff.ms", TXN_RETRY_BACKOFF_MS, errstr,
                                   errstr_size);
        if (!rc && rd_kafka_conf_set(conf, "transactional.id", transactional_id, msg,
                                     sizeof(msg)) != RD_KAFKA_CONF_OK) {
            snprintf(errstr, errstr_size, "transactional.id: %s", msg);
            rc = -1;
        }
    }
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (dr_msg_cb)
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* conf is owned by rk now */
    qg_kafka_metadata_warm(rk, QG_KAFKA_WARM_TIMEOUT_MS);
    return rk;
}

void qg_kafka_metadata_warm(rd_kafka_t *rk, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (err) {
        qg_debug("kafka", "metadata of all topics not cached at start: %s", rd_kafka_err2str(err));
        return;
    }
    qg_debug("kafka", "metadata of %d topic(s) cached", md->topic_cnt);
    rd_kafka_metadata_destroy(md);
}

rd_kafka_t *qg_kafka_consumer_new(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

const char *qg_kafka_header(const rd_kafka_message_t *rkm, const char *name, char *buf,
                            size_t bufsz)
{
    rd_kafka_headers_t *hdrs;
    const void *val;
    size_t size;
    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return NULL;
    if (rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || !val)
        return NULL;
    size_t n = size < bufsz - 1 ? size : bufsz - 1;
    memcpy(buf, val, n);
    buf[n] = '\0';
    return buf;
}

static void add_header(rd_kafka_headers_t *h, const char *name, const char *value)
{
    rd_kafka_header_add(h, name, -1, value ? value : "", -1);
}

rd_kafka_headers_t *qg_dlq_headers_new(const char *topic, int32_t partition, int64_t offset,
                                       const char *stage, const char *error_class,
                                       const char *message, const char *worker, int attempts,
                                       double now_ms)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(9);
    if (!h)
        return NULL;
    char num[64], ts[40];
    add_header(h, QG_HDR_DLQ_TOPIC, topic);
    snprintf(num, sizeof(num), "%d", (int)partition);
    add_header(h, QG_HDR_DLQ_PARTITION, num);
    snprintf(num, sizeof(num), "%lld", (long long)offset);
    add_header(h, QG_HDR_DLQ_OFFSET, num);
    add_header(h, QG_HDR_DLQ_STAGE, stage);
    add_header(h, QG_HDR_DLQ_CLASS, error_class);
    add_header(h, QG_HDR_DLQ_MESSAGE, message);
    add_header(h, QG_HDR_DLQ_WORKER, worker);
    snprintf(num, sizeof(num), "%d", attempts);
    add_header(h, QG_HDR_DLQ_ATTEMPTS, num);
    add_header(h, QG_HDR_DLQ_TIMESTAMP, qg_iso_time(ts, sizeof(ts), now_ms));
    return h;
}

/* Longest wait for the CreateTopics answer at start. Not an option: it bounds only
 * start-up against a broker that takes the connection but does not answer; such a
 * worker fails to start and its supervisor restarts it. */
#define QG_KAFKA_CREATE_TOPICS_WAIT_MS 15000

int qg_kafka_ensure_topics(rd_kafka_t *rk, const char *const *topics, int partitions,
                           int replication, char *errstr, size_t errstr_size)
{
    return qg_kafka_ensure_topics_config(rk, topics, NULL, partitions, replication, errstr,
                                         errstr_size);
}

int qg_kafka_ensure_topics_config(rd_kafka_t *rk, const char *const *topics,
                                  const char *const *const *configs, int partitions,
                                  int replication, char *errstr, size_t errstr_size)
{
    size_t n = 0;
    while (topics[n])
        n++;
    rd_kafka_NewTopic_t **nt = calloc(n, sizeof(*nt));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    int rc = nt && q ? 0 : -1;
    char msg[256];
    for (size_t i = 0; rc == 0 && i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(topics[i], partitions, replication, msg, sizeof(msg));
        if (!nt[i]) {
            snprintf(errstr, errstr_size, "%s: %s", topics[i], msg);
            rc = -1;
        }
        for (size_t k = 0; rc == 0 && configs && configs[i] && configs[i][k]; k += 2) {
            rd_kafka_resp_err_t e =
                configs[i][k + 1]
                    ? rd_kafka_NewTopic_set_config(nt[i], configs[i][k], configs[i][k + 1])
                    : RD_KAFKA_RESP_ERR__INVALID_ARG;
            if (e) {
                snprintf(errstr, errstr_size, "%s: config %s: %s", topics[i], configs[i][k],
                         rd_kafka_err2str(e));
                rc = -1;
            }
        }
    }
    if (rc == 0) {
        rd_kafka_CreateTopics(rk, nt, n, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, QG_KAFKA_CREATE_TOPICS_WAIT_MS);
        const rd_kafka_CreateTopics_result_t *res =
            ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
        if (!ev || rd_kafka_event_error(ev)) {
            snprintf(errstr, errstr_size, "CreateTopics: %s",
                     ev ? rd_kafka_event_error_string(ev) : "timed out");
            rc = -1;
        } else {
            size_t cnt;
            const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
            for (size_t i = 0; i < cnt; i++) {
                rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
                if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                    qg_info("kafka", "created topic %s with %d partitions",
                            rd_kafka_topic_result_name(tr[i]), partitions);
                else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && rc == 0) {
                    snprintf(errstr, errstr_size, "%s: %s", rd_kafka_topic_result_name(tr[i]),
                             rd_kafka_topic_result_error_string(tr[i]));
                    rc = -1;
                }
            }
        }
        if (ev)
            rd_kafka_event_destroy(ev);
        if (rc == 0) /* their first records need not wait for the topic scan */
            qg_kafka_metadata_warm(rk, QG_KAFKA_WARM_TIMEOUT_MS);
    }
    for (size_t i = 0; nt && i < n; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    if (q)
        rd_kafka_queue_destroy(q);
    return rc;
}
