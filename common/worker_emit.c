/*
 * worker_emit.c - an outcome becomes one produced record: the next stage,
 * completed, the retry topic or the DLQ. Every outcome of the worker passes
 * through qg_worker_emit, so counting outcomes is done here and only here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "goal.h"
#include "kafka.h"
#include "log.h"
#include "worker_int.h"

/* Poll interval while the producer queue is full. */
#define QUEUE_FULL_POLL_MS 50

void qg_worker_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    qg_worker_t *w = opaque;
    qg_pending_t *p = rkm->_private;
    if (rkm->err && w->eos) {
        /* In a transaction a failed delivery fails the commit, which aborts and rewinds;
         * an abort purges the records still queued. Neither ends the worker. */
        qg_log(rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                       rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT
                   ? QG_LOG_DEBUG
                   : QG_LOG_WARN,
               "worker", "delivery to %s failed in a transaction: %s",
               rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
    } else if (rkm->err) {
        qg_error_t *err = qg_error_new(QG_ERR_FATAL, "delivery to %s failed: %s",
                                       rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
        qg_err("worker", "%s", qg_error_message(err));
        qg_worker_fail(w, err);
    } else if (p) {
        p->done = 1;
    }
    if (p)
        w->inflight--;
}

/* Produce one record, waiting while the queue is full unless the worker is stopping
 * (then __QUEUE_FULL is returned and the record is not produced). */
static rd_kafka_resp_err_t produce(qg_worker_t *w, const char *topic, const char *key,
                                   const void *value, size_t len, rd_kafka_headers_t *hdrs,
                                   qg_pending_t *p)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            w->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(p), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || qg_worker_stop_requested() || w->fatal)
            return err; /* on success the headers belong to the message */
        w->queue_full_waits++;
        rd_kafka_poll(w->producer, QUEUE_FULL_POLL_MS);
    }
}

int qg_worker_attempt_of(const rd_kafka_message_t *rkm)
{
    char buf[32];
    const char *a = qg_kafka_header(rkm, QG_HDR_ATTEMPT, buf, sizeof(buf));
    int n = a ? atoi(a) : 1;
    return n < 1 ? 1 : n;
}

static long backoff_for(const qg_worker_t *w, int attempt)
{
    int i = attempt - 1;
    if (i >= w->nbackoff)
        i = w->nbackoff - 1;
    return i < 0 ? 1000 : w->backoff_ms[i];
}

/* Key of the output: goal id, else the input key. */
static void output_key(const qg_outcome_t *o, const rd_kafka_message_t *rkm, char *buf, size_t sz)
{
    if (o->goal_id[0]) {
        snprintf(buf, sz, "%s", o->goal_id);
    } else if (rkm->key) {
        size_t n = rkm->key_len < sz - 1 ? rkm->key_len : sz - 1;
        memcpy(buf, rkm->key, n);
        buf[n] = '\0';
    } else {
        buf[0] = '\0';
    }
}

/* The record an outcome calls for. */
typedef struct {
    char topic[300];
    char key[256];
    const void *value;
    size_t len;
    rd_kafka_headers_t *hdrs;
} output_t;

static rd_kafka_headers_t *retry_headers(const qg_worker_t *w, const qg_outcome_t *o)
{
    char num[32];
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(3);
    if (!hdrs)
        return NULL;
    snprintf(num, sizeof(num), "%d", o->attempts + 1);
    rd_kafka_header_add(hdrs, QG_HDR_ATTEMPT, -1, num, -1);
    /* Epoch time: any worker of the stage may read the retry. */
    snprintf(num, sizeof(num), "%.0f", qg_clock_wall_ms() + (double)backoff_for(w, o->attempts));
    rd_kafka_header_add(hdrs, QG_HDR_NOT_BEFORE, -1, num, -1);
    rd_kafka_header_add(hdrs, QG_HDR_LAST_ERROR, -1, qg_error_message(o->err), -1);
    return hdrs;
}

/* Fill out for a non-fatal outcome; counts it. -1 when headers cannot be allocated. */
static int output_for(qg_worker_t *w, const rd_kafka_message_t *rkm, const qg_outcome_t *o,
                      output_t *out)
{
    output_key(o, rkm, out->key, sizeof(out->key));
    out->value = o->value ? o->value : rkm->payload;
    out->len = o->value ? o->len : rkm->len;
    out->hdrs = NULL;
    switch (o->kind) {
    case QG_OUT_FATAL:
        return -1;
    case QG_OUT_NEXT:
        qg_topic_stage(out->topic, sizeof(out->topic), w->prefix, o->next_stage);
        w->skipped += o->skipped;
        return 0;
    case QG_OUT_COMPLETED:
        qg_topic_completed(out->topic, sizeof(out->topic), w->prefix);
        w->skipped += o->skipped;
        return 0;
    case QG_OUT_RETRY:
        qg_topic_retry(out->topic, sizeof(out->topic), w->prefix, w->stage);
        out->hdrs = retry_headers(w, o);
        out->value = rkm->payload;
        out->len = rkm->len;
        w->retried++;
        qg_warn("worker", "goal %s: transient failure, attempt %d, retry in %ld ms: %s", out->key,
                o->attempts, backoff_for(w, o->attempts), qg_error_message(o->err));
        return out->hdrs ? 0 : -1;
    case QG_OUT_DLQ:
        qg_topic_dlq(out->topic, sizeof(out->topic), w->prefix);
        out->hdrs = qg_dlq_headers_new(rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset,
                                       w->stage, qg_error_class_name(qg_error_class(o->err)),
                                       qg_error_message(o->err), w->worker_id, o->attempts,
                                       qg_clock_wall_ms());
        out->value = rkm->payload;
        out->len = rkm->len;
        w->dead_lettered++;
        qg_warn("worker", "goal %s -> DLQ (%s): %s", out->key[0] ? out->key : "(no id)",
                qg_error_class_name(qg_error_class(o->err)), qg_error_message(o->err));
        return out->hdrs ? 0 : -1;
    }
    return -1;
}

/* Stopping with a full producer queue: the record is not produced, its input not
 * committed, so whoever owns the partition next reads it again. */
static int drop_while_stopping(qg_worker_t *w, const rd_kafka_message_t *rkm)
{
    qg_info("worker", "stopping with a full producer queue: offset %lld of %s left for redelivery",
            (long long)rkm->offset, rd_kafka_topic_name(rkm->rkt));
    if (w->eos)
        w->txn_dropped = 1;
    return 0;
}

int qg_worker_emit(qg_worker_t *w, const rd_kafka_message_t *rkm, qg_outcome_t *o)
{
    if (o->kind == QG_OUT_FATAL) {
        qg_worker_fail(w, o->err ? o->err : qg_error_new(QG_ERR_FATAL, "stage failed"));
        o->err = NULL; /* kept by the worker, class and all */
        return -1;
    }
    output_t out;
    if (output_for(w, rkm, o, &out) != 0) {
        qg_worker_fail(w, qg_error_new(QG_ERR_FATAL, "out of memory building record headers"));
        return -1;
    }
    qg_pending_t *p = NULL;
    if (!w->eos) {
        p = qg_offsets_pending_new(w, rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset);
        if (!p) {
            if (out.hdrs)
                rd_kafka_headers_destroy(out.hdrs);
            qg_worker_fail(w, qg_error_new(QG_ERR_FATAL, "out of memory tracking offsets"));
            return -1;
        }
    }
    const char *key = out.key[0] ? out.key : NULL;
    rd_kafka_resp_err_t err = produce(w, out.topic, key, out.value, out.len, out.hdrs, p);
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && o->kind != QG_OUT_DLQ) {
        /* The enriched goal outgrew the broker's limit: dead-letter the input instead. */
        if (out.hdrs)
            rd_kafka_headers_destroy(out.hdrs);
        free(p);
        qg_error_destroy(o->err);
        o->err =
            qg_error_new(QG_ERR_STAGE_ERROR,
                         "enriched goal of %zu bytes is larger than message.max.bytes", out.len);
        o->kind = QG_OUT_DLQ;
        return qg_worker_emit(w, rkm, o);
    }
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && o->kind == QG_OUT_DLQ && out.len > 0) {
        /* Even the original is too large to dead-letter: keep the headers, drop the value,
         * and say so; the input offset still identifies the record. */
        char num[32];
        snprintf(num, sizeof(num), "%zu", out.len);
        rd_kafka_header_add(out.hdrs, QG_HDR_VALUE_OMITTED, -1, num, -1);
        err = produce(w, out.topic, key, NULL, 0, out.hdrs, p);
    }
    if (err) {
        if (out.hdrs)
            rd_kafka_headers_destroy(out.hdrs);
        free(p);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && qg_worker_stop_requested())
            return drop_while_stopping(w, rkm);
        qg_worker_fail(w, qg_error_new(QG_ERR_FATAL, "produce to %s failed: %s", out.topic,
                                       rd_kafka_err2str(err)));
        return -1;
    }
    if (p)
        qg_offsets_pending_add(w, p);
    w->processed++;
    qg_outcome_count(w->stage, o);
    qg_debug("worker", "goal %s from %s [%d] @%lld -> %s", out.key[0] ? out.key : "(no id)",
             rd_kafka_topic_name(rkm->rkt), (int)rkm->partition, (long long)rkm->offset, out.topic);
    return 0;
}
