/*
 * worker_setup.c - a worker's clients: the stage consumer, the retry consumer
 * (each in its own group), the producer (transactional for exactly_once); and
 * leaving the groups on the way out, bounded in time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "goal.h"
#include "kafka.h"
#include "kafka_access.h"
#include "log.h"
#include "worker_int.h"

/* Longest wait for init_transactions (a fenced predecessor's transaction may be open). */
#define INIT_TRANSACTIONS_TIMEOUT_MS 60000
/* Longest wait for the cluster id that tells the embedded broker from Kafka. */
#define CLUSTER_ID_TIMEOUT_MS 5000

static rd_kafka_t *consumer_new(qg_worker_t *w, const char *group, char *errstr, size_t sz)
{
    rd_kafka_conf_t *conf = qg_kafka_conf_new(w->cfg, errstr, sz);
    if (!conf)
        return NULL;
    static const char *const defaults[][2] = {
        {"enable.auto.commit", "false"},
        {"auto.offset.reset", "earliest"},
        {"partition.assignment.strategy", "cooperative-sticky"},
        {"allow.auto.create.topics", "true"},
        /* Resumed partitions (retries coming due, the end of a long stage) join the next
         * fetch request; a shorter broker long-poll lets that happen sooner. */
        {"fetch.wait.max.ms", "100"},
    };
    int rc = qg_kafka_conf_default(conf, w->cfg, "group.id", group, errstr, sz);
    for (size_t i = 0; !rc && i < sizeof(defaults) / sizeof(defaults[0]); i++)
        rc = qg_kafka_conf_default(conf, w->cfg, defaults[i][0], defaults[i][1], errstr, sz);
    rc = rc ? rc : qg_kafka_conf_default(conf, w->cfg, "client.id", w->worker_id, errstr, sz);
    if (!rc && w->eos)
        rc = qg_kafka_conf_default(conf, w->cfg, "isolation.level", "read_committed", errstr, sz);
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, qg_worker_rebalance_cb);
    rd_kafka_conf_set_opaque(conf, w);
    return qg_kafka_consumer_new(conf, errstr, sz);
}

static int subscribe(rd_kafka_t *consumer, const char *topic, char *errstr, size_t sz)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    if (!topics) {
        snprintf(errstr, sz, "subscribe: out of memory");
        return -1;
    }
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        snprintf(errstr, sz, "subscribe to %s: %s", topic, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* Topics this worker reads or always writes; others are created on first use. */
static void ensure_topics(qg_worker_t *w)
{
    if (!qg_config_bool(w->cfg, "topics.create"))
        return;
    /* librdkafka's mock cluster (qg-broker) has no CreateTopics and never answers
     * it; it auto-creates topics instead. Its cluster id says what it is. */
    char *cluster_id = rd_kafka_clusterid(w->producer, CLUSTER_ID_TIMEOUT_MS);
    int is_mock = cluster_id && !strncmp(cluster_id, "mockCluster", 11);
    if (cluster_id)
        rd_kafka_mem_free(w->producer, cluster_id);
    if (is_mock)
        return;
    char completed[300], dlq[300], errstr[512];
    const char *topics[] = {w->in_topic, w->retry_topic,
                            qg_topic_completed(completed, sizeof(completed), w->prefix),
                            qg_topic_dlq(dlq, sizeof(dlq), w->prefix), NULL};
    if (qg_kafka_ensure_topics(w->producer, topics, (int)qg_config_int(w->cfg, "topics.partitions"),
                               (int)qg_config_int(w->cfg, "topics.replication.factor"), errstr,
                               sizeof(errstr)) != 0)
        qg_info("worker",
                "topics not created here (%s); relying on existing or auto-created topics", errstr);
}

/* Credentials and ACLs for everything this worker reads and always writes. */
static int check_access(qg_worker_t *w, const char *group, const char *retry_group, char *errstr,
                        size_t sz)
{
    if (!qg_kafka_access_check_wanted(w->cfg))
        return 0;
    char completed[300], dlq[300];
    const char *reads[] = {w->in_topic, w->retry_topic, NULL};
    const char *writes[] = {w->retry_topic,
                            qg_topic_completed(completed, sizeof(completed), w->prefix),
                            qg_topic_dlq(dlq, sizeof(dlq), w->prefix), NULL};
    const char *groups[] = {group, retry_group, NULL};
    qg_kafka_access_t need = {.read_topics = reads, .write_topics = writes, .groups = groups};
    qg_error_t *err = qg_kafka_check_access(w->cfg, &need, QG_ACCESS_CHECK_TIMEOUT_MS);
    if (!err)
        return 0;
    snprintf(errstr, sz, "%s", qg_error_message(err));
    qg_error_destroy(err);
    return -1;
}

int qg_worker_clients_new(qg_worker_t *w, char *errstr, size_t sz)
{
    char group[300], retry_group[320];
    qg_group_for_stage(group, sizeof(group), w->prefix, w->stage);
    qg_retry_group_for_stage(retry_group, sizeof(retry_group), w->prefix, w->stage);
    if (check_access(w, group, retry_group, errstr, sz) != 0)
        return -1;
    w->consumer = consumer_new(w, group, errstr, sz);
    if (!w->consumer)
        return -1;
    w->retry_consumer = consumer_new(w, retry_group, errstr, sz);
    if (!w->retry_consumer)
        return -1;
    char txn_id[512];
    snprintf(txn_id, sizeof(txn_id), "%s.%s.%s", w->prefix, w->stage, w->worker_id);
    w->producer =
        qg_kafka_producer_new(w->cfg, w->eos ? txn_id : NULL, qg_worker_dr_cb, w, errstr, sz);
    if (!w->producer)
        return -1;
    if (w->eos) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(w->producer, INIT_TRANSACTIONS_TIMEOUT_MS);
        if (e) {
            snprintf(errstr, sz, "init_transactions: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return -1;
        }
    }
    ensure_topics(w);
    if (subscribe(w->consumer, w->in_topic, errstr, sz) != 0)
        return -1;
    return subscribe(w->retry_consumer, w->retry_topic, errstr, sz);
}

static void *consumer_close_thread(void *arg)
{
    rd_kafka_consumer_close(arg);
    return NULL;
}

/*
 * Leave both groups, waiting at most shutdown.timeout.ms: librdkafka 2.0.2's
 * close never returns once the group coordinator is unreachable (fixed in
 * 2.1.0). A consumer that did not close in time is left to the process exit
 * (its uncommitted records are redelivered) and set to NULL here.
 */
static void consumers_close_bounded(qg_worker_t *w)
{
    rd_kafka_t **consumers[] = {&w->consumer, &w->retry_consumer};
    pthread_t threads[2];
    int started[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        if (!*consumers[i])
            continue;
        started[i] = pthread_create(&threads[i], NULL, consumer_close_thread, *consumers[i]) == 0;
        if (!started[i])
            rd_kafka_consumer_close(*consumers[i]);
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline); /* pthread_timedjoin_np takes CLOCK_REALTIME */
    deadline.tv_sec += w->shutdown_timeout_ms / 1000;
    deadline.tv_nsec += (w->shutdown_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    for (int i = 0; i < 2; i++) {
        if (!started[i] || pthread_timedjoin_np(threads[i], NULL, &deadline) == 0)
            continue;
        qg_warn("worker",
                "leaving the consumer group took longer than %ld ms (Kafka unreachable?); "
                "exiting without it",
                w->shutdown_timeout_ms);
        pthread_detach(threads[i]);
        *consumers[i] = NULL;
    }
}

void qg_worker_clients_destroy(qg_worker_t *w)
{
    consumers_close_bounded(w);
    if (w->consumer)
        rd_kafka_destroy(w->consumer);
    if (w->retry_consumer)
        rd_kafka_destroy(w->retry_consumer);
    w->consumer = w->retry_consumer = NULL;
    if (w->producer) {
        rd_kafka_flush(w->producer, w->shutdown_timeout_ms);
        rd_kafka_destroy(w->producer);
        w->producer = NULL;
    }
}

static int parse_backoff(qg_worker_t *w, char *errstr, size_t sz)
{
    const char *s = qg_config_get(w->cfg, "retry.backoff.ms");
    w->nbackoff = 0;
    for (const char *p = s; p && *p && w->nbackoff < QG_WORKER_BACKOFF_MAX;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0) {
            snprintf(errstr, sz,
                     "retry.backoff.ms: expected comma-separated milliseconds, got \"%s\"", s);
            return -1;
        }
        w->backoff_ms[w->nbackoff++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* stage.threaded: empty means the stage's own choice. */
static int threaded_for(const qg_stage_ops_t *ops, const qg_config_t *cfg)
{
    const char *v = qg_config_get(cfg, "stage.threaded");
    if (!v || !*v)
        return ops->long_running;
    return !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on");
}

qg_worker_t *qg_worker_new(const qg_stage_ops_t *ops, void *state, qg_config_t *cfg,
                           const char *worker_id, qg_events_t *events, char *errstr, size_t sz)
{
    qg_worker_t *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(errstr, sz, "out of memory");
        return NULL;
    }
    w->ops = ops;
    w->state = state;
    w->cfg = cfg;
    w->events = events;
    w->stage = qg_stage_effective_name(ops, cfg);
    w->prefix = qg_config_get(cfg, "topic.prefix");
    snprintf(w->worker_id, sizeof(w->worker_id), "%s", worker_id);
    const char *guarantee = qg_config_get(cfg, "processing.guarantee");
    w->eos = guarantee && !strcmp(guarantee, "exactly_once");
    w->max_inflight = (long)qg_config_int(cfg, "max.inflight.goals");
    w->txn_max_messages = (long)qg_config_int(cfg, "transaction.max.messages");
    w->txn_max_ms = (double)qg_config_ms(cfg, "transaction.max.ms");
    w->txn_commit_idle = qg_config_bool(cfg, "transaction.commit.idle");
    w->commit_interval_ms = (double)qg_config_ms(cfg, "commit.interval.ms");
    w->shutdown_timeout_ms = (long)qg_config_ms(cfg, "shutdown.timeout.ms");
    w->threaded = threaded_for(ops, cfg);
    w->health_file = qg_config_get(cfg, "health.file");
    qg_topic_stage(w->in_topic, sizeof(w->in_topic), w->prefix, w->stage);
    qg_topic_retry(w->retry_topic, sizeof(w->retry_topic), w->prefix, w->stage);
    if (parse_backoff(w, errstr, sz) != 0 || qg_worker_clients_new(w, errstr, sz) != 0) {
        qg_worker_destroy(w);
        return NULL;
    }
    w->proc = (qg_processor_t){
        .ops = ops,
        .state = state,
        .cfg = cfg,
        .stage = w->stage,
        .worker_id = w->worker_id,
        .max_bytes = (size_t)qg_config_int(cfg, "goal.max.bytes"),
        .extra_stages = qg_config_get(cfg, "pipeline.extra.stages"),
        .max_attempts = w->nbackoff + 1,
        .cancel = &w->cancel,
        .events = events,
    };
    w->last_commit_ms = qg_clock_ms();
    return w;
}

void qg_worker_destroy(qg_worker_t *w)
{
    if (!w)
        return;
    qg_job_queue_clear(w);        /* before its consumer goes */
    qg_worker_clients_destroy(w); /* delivery reports of the last flush still find their entries */
    qg_offsets_destroy(w);
    free(w->paused);
    qg_error_destroy(w->fatal);
    free(w);
}
