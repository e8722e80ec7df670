/*
 * out.c - what qg-trigger produces, with the workers' producer settings
 * (idempotent; transactional in exactly_once), and when it counts as safe.
 *
 * at_least_once: every record is acknowledged before the Kafka source offsets
 * are committed and before the MQTT spool is emptied.
 * exactly_once: goals, dedup markers, watch records and the Kafka source
 * offsets commit in one transaction; the spool is emptied after the commit.
 * A record that cannot be delivered, or a transaction that must abort, stops
 * the process: after a restart the spool and the uncommitted offsets give
 * the same events again, and deduplication keeps them from doubling goals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goal.h"
#include "kafka.h"
#include "log.h"
#include "trigger.h"

#define TXN_TIMEOUT_MS 30000

/* A goal's dedup record waits here until the goal is acknowledged. */
static void marker_push(trg_t *t, char *marker)
{
    if (t->n_markers == t->cap_markers) {
        size_t cap = t->cap_markers ? 2 * t->cap_markers : 64;
        char **m = realloc(t->markers, cap * sizeof(*m));
        if (!m) {
            qg_err(TRG_COMPONENT, "out of memory for dedup records: stopping");
            t->fatal = 1;
            free(marker);
            return;
        }
        t->markers = m;
        t->cap_markers = cap;
    }
    t->markers[t->n_markers++] = marker;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    trg_t *t = opaque;
    t->inflight--;
    if (rkm->_private && !rkm->err) {
        /* "dedup key\tgoal id": the spools learn the key now, Kafka a moment later. */
        size_t kl = strcspn(rkm->_private, "\t");
        char key[1200];
        snprintf(key, sizeof(key), "%.*s", (int)kl, (const char *)rkm->_private);
        for (size_t i = 0; t->spools && i < t->file->n_sources; i++)
            if (trg_spool_append_done(t->spools[i], key) != 0) {
                qg_err(TRG_COMPONENT, "cannot write the spool: stopping");
                t->fatal = 1;
            }
        marker_push(t, rkm->_private);
    } else
        free(rkm->_private);
    if (rkm->err) {
        qg_err(TRG_COMPONENT,
               "delivery to %s failed: %s: stopping (events are kept for the restart)",
               rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
        t->fatal = 1;
    }
}

qg_error_t *trg_out_init(trg_t *t)
{
    char errstr[512], txid[400];
    if (t->eos)
        snprintf(txid, sizeof(txid), "%s.qg-trigger", t->prefix);
    t->producer =
        qg_kafka_producer_new(t->cfg, t->eos ? txid : NULL, on_delivery, t, errstr, sizeof(errstr));
    if (!t->producer)
        return qg_error_new(QG_ERR_FATAL, "producer: %s", errstr);
    if (t->eos) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(t->producer, TXN_TIMEOUT_MS);
        if (e) {
            qg_error_t *err =
                qg_error_new(QG_ERR_FATAL, "init transactions: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return err;
        }
    }
    t->positions = rd_kafka_topic_partition_list_new(8);
    return t->positions ? NULL : qg_error_oom;
}

static qg_error_t *txn_begin(trg_t *t)
{
    if (!t->eos || t->txn_open)
        return NULL;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(t->producer);
    if (e) {
        qg_error_t *err =
            qg_error_new(QG_ERR_FATAL, "begin transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return err;
    }
    t->txn_open = 1;
    t->txn_started_ms = qg_now_ms();
    t->txn_records = 0;
    return NULL;
}

static qg_error_t *produce(trg_t *t, const char *topic, const char *key, const void *value,
                           size_t len, rd_kafka_headers_t *headers, char *msg_opaque);

qg_error_t *trg_out_produce(trg_t *t, const char *topic, const char *key, const void *value,
                            size_t len, rd_kafka_headers_t *headers)
{
    return produce(t, topic, key, value, len, headers, NULL);
}

static qg_error_t *marker_produce(trg_t *t, const char *dedup_key, const char *goal_id)
{
    qg_json_t *m = qg_json_object();
    if (!m || qg_json_set_str(m, "goalId", goal_id) || qg_json_set_num(m, "atMs", qg_now_ms())) {
        qg_json_destroy(m);
        return qg_error_oom;
    }
    qg_error_t *err = trg_out_produce_json(t, t->topic_dedup, dedup_key, m, NULL);
    qg_json_destroy(m);
    return err;
}

qg_error_t *trg_out_produce_goal(trg_t *t, const char *topic, const char *goal_id,
                                 const qg_json_t *doc, rd_kafka_headers_t *headers,
                                 const char *dedup_key)
{
    size_t len;
    char *text = qg_json_serialize(doc, 0, &len), *marker = NULL;
    qg_error_t *err = text ? NULL : qg_error_oom;
    if (!err && t->eos)
        err = marker_produce(t, dedup_key, goal_id);
    if (!err && !t->eos) {
        size_t n = strlen(dedup_key) + strlen(goal_id) + 2;
        if ((marker = malloc(n)))
            snprintf(marker, n, "%s\t%s", dedup_key, goal_id);
        else
            err = qg_error_oom;
    }
    if (!err) {
        err = produce(t, topic, goal_id, text, len, headers, marker);
        headers = NULL;
        marker = NULL; /* the delivery report owns it now */
    }
    if (headers)
        rd_kafka_headers_destroy(headers);
    free(marker);
    free(text);
    return err;
}

/* Produce the dedup records of acknowledged goals (at_least_once). */
static qg_error_t *markers_flush(trg_t *t)
{
    qg_error_t *err = NULL;
    size_t i = 0;
    for (; i < t->n_markers && !err; i++) {
        char *tab = strchr(t->markers[i], '\t');
        *tab = '\0';
        err = marker_produce(t, t->markers[i], tab + 1);
        free(t->markers[i]);
    }
    for (; i < t->n_markers; i++)
        free(t->markers[i]);
    t->n_markers = 0;
    return err;
}

static qg_error_t *produce(trg_t *t, const char *topic, const char *key, const void *value,
                           size_t len, rd_kafka_headers_t *headers, char *msg_opaque)
{
    qg_error_t *err = txn_begin(t);
    if (err) {
        if (headers)
            rd_kafka_headers_destroy(headers);
        return err;
    }
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            t->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            free(msg_opaque);
            if (headers)
                rd_kafka_headers_destroy(headers);
            return qg_error_new(QG_ERR_FATAL, "produce to %s: %s", topic, rd_kafka_err2str(e));
        }
        rd_kafka_poll(t->producer, 100); /* bounded queue: wait for room */
    }
    t->inflight++;
    t->txn_records++;
    return NULL;
}

qg_error_t *trg_out_produce_json(trg_t *t, const char *topic, const char *key, const qg_json_t *doc,
                                 rd_kafka_headers_t *headers)
{
    size_t len;
    char *text = doc ? qg_json_serialize(doc, 0, &len) : NULL;
    if (doc && !text) {
        if (headers)
            rd_kafka_headers_destroy(headers);
        return qg_error_oom;
    }
    qg_error_t *err = trg_out_produce(t, topic, key, text, doc ? len : 0, headers);
    free(text);
    return err;
}

void trg_out_consumed(trg_t *t, const rd_kafka_message_t *rkm)
{
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(
        t->positions, rd_kafka_topic_name(rkm->rkt), rkm->partition);
    if (!p)
        p = rd_kafka_topic_partition_list_add(t->positions, rd_kafka_topic_name(rkm->rkt),
                                              rkm->partition);
    p->offset = rkm->offset + 1;
}

int trg_out_idle(const trg_t *t)
{
    return t->inflight == 0 && !t->txn_open;
}

static void clear_spools(trg_t *t)
{
    if (trg_watch_busy(t))
        return; /* re-runs decided by spooled events are not produced yet */
    for (size_t i = 0; t->spools && i < t->file->n_sources; i++)
        if (trg_spool_clear(t->spools[i]) != 0)
            qg_warn(TRG_COMPONENT, "cannot empty the spool of %s", t->file->sources[i].name);
}

static qg_error_t *txn_commit(trg_t *t)
{
    rd_kafka_error_t *e = NULL;
    if (t->positions->cnt > 0) {
        rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(t->consumer);
        e = rd_kafka_send_offsets_to_transaction(t->producer, t->positions, cgmd, TXN_TIMEOUT_MS);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
    }
    if (!e)
        e = rd_kafka_commit_transaction(t->producer, TXN_TIMEOUT_MS);
    if (e) {
        qg_error_t *err =
            qg_error_new(QG_ERR_FATAL, "commit transaction: %s%s", rd_kafka_error_string(e),
                         rd_kafka_error_txn_requires_abort(e) ? " (aborted)" : "");
        if (rd_kafka_error_txn_requires_abort(e)) {
            rd_kafka_error_t *a = rd_kafka_abort_transaction(t->producer, TXN_TIMEOUT_MS);
            if (a)
                rd_kafka_error_destroy(a);
        }
        rd_kafka_error_destroy(e);
        return err;
    }
    t->txn_open = 0;
    rd_kafka_topic_partition_list_destroy(t->positions);
    t->positions = rd_kafka_topic_partition_list_new(8);
    return t->positions ? NULL : qg_error_oom;
}

qg_error_t *trg_out_settle(trg_t *t, int force)
{
    double now = qg_now_ms();
    rd_kafka_poll(t->producer, 0);
    if (t->eos) {
        if (t->txn_open &&
            (force ||
             now - t->txn_started_ms >= (double)qg_config_ms(t->cfg, "transaction.max.ms") ||
             t->txn_records >= qg_config_int(t->cfg, "transaction.max.messages"))) {
            qg_error_t *err = txn_commit(t);
            if (err)
                return err;
        }
        if (!t->txn_open && t->positions->cnt == 0)
            clear_spools(t);
        return NULL;
    }
    qg_error_t *err = markers_flush(t);
    if (err)
        return err;
    if (t->inflight > 0 || t->n_markers > 0)
        return NULL;
    if (t->positions->cnt > 0 &&
        (force || now - t->last_commit_ms >= (double)qg_config_ms(t->cfg, "commit.interval.ms"))) {
        rd_kafka_resp_err_t e = rd_kafka_commit(t->consumer, t->positions, force ? 0 : 1);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
            qg_warn(TRG_COMPONENT, "commit: %s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(t->positions);
        t->positions = rd_kafka_topic_partition_list_new(8);
        t->last_commit_ms = now;
        if (!t->positions)
            return qg_error_oom;
    }
    clear_spools(t);
    return NULL;
}
