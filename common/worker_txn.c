/*
 * worker_txn.c - exactly-once: records are produced in a transaction together
 * with the input offsets of both consumers, each sent with its own group's
 * metadata (send_offsets_to_transaction). An abortable error aborts the
 * transaction and rewinds both consumers to their committed offsets; any other
 * transaction error is fatal.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "worker_int.h"

/* Attempts of send_offsets + commit on a retriable error before it counts as fatal. */
#define TXN_COMMIT_TRIES 10
/* Longest wait for committed offsets or a seek while rewinding. */
#define REWIND_TIMEOUT_MS 10000

static int txn_fatal(qg_worker_t *w, const char *what, rd_kafka_error_t *error)
{
    qg_worker_fail(w, qg_error_new(QG_ERR_FATAL, "%s: %s", what, rd_kafka_error_string(error)));
    rd_kafka_error_destroy(error);
    return -1;
}

/* Seek every assigned partition of one consumer back to its committed offset. */
static void rewind_consumer(rd_kafka_t *consumer)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (!consumer || rd_kafka_assignment(consumer, &assigned) || !assigned)
        return;
    if (assigned->cnt > 0 && !rd_kafka_committed(consumer, assigned, REWIND_TIMEOUT_MS)) {
        for (int i = 0; i < assigned->cnt; i++)
            if (assigned->elems[i].offset < 0)
                assigned->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_error_t *e = rd_kafka_seek_partitions(consumer, assigned, REWIND_TIMEOUT_MS);
        if (e) {
            qg_warn("worker", "rewind failed: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    }
    rd_kafka_topic_partition_list_destroy(assigned);
}

int qg_txn_abort(qg_worker_t *w, const char *why)
{
    if (!w->txn_open)
        return 0;
    qg_warn("worker", "aborting transaction: %s", why);
    rd_kafka_error_t *e = rd_kafka_abort_transaction(w->producer, -1);
    w->txn_open = 0;
    w->txn_count = 0;
    w->txn_dropped = 0;
    if (e)
        return txn_fatal(w, "abort_transaction", e);
    rewind_consumer(w->consumer);
    rewind_consumer(w->retry_consumer);
    return 0;
}

int qg_txn_begin(qg_worker_t *w)
{
    if (w->txn_open)
        return 0;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(w->producer);
    if (e)
        return txn_fatal(w, "begin_transaction", e);
    w->txn_open = 1;
    w->txn_count = 0;
    w->txn_dropped = 0;
    w->txn_started_ms = qg_clock_ms();
    return 0;
}

/* A record delivered but not processed yet (a running or held long job) is not done:
 * the offset sent for its partition stops at it. */
static void exclude_unprocessed(rd_kafka_topic_partition_list_t *offsets,
                                const rd_kafka_message_t *rkm)
{
    if (!rkm)
        return;
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_find(offsets, rd_kafka_topic_name(rkm->rkt), rkm->partition);
    if (tp && (tp->offset < 0 || tp->offset > rkm->offset))
        tp->offset = rkm->offset;
}

/* Send one consumer's positions (what it delivered so far) with its group metadata. */
static rd_kafka_error_t *send_offsets(qg_worker_t *w, rd_kafka_t *consumer)
{
    rd_kafka_topic_partition_list_t *offsets = NULL;
    if (!consumer || rd_kafka_assignment(consumer, &offsets) || !offsets)
        return NULL;
    rd_kafka_error_t *e = NULL;
    if (offsets->cnt > 0) {
        rd_kafka_position(consumer, offsets);
        exclude_unprocessed(offsets, w->job.rkm);
        for (size_t i = 0; i < w->job_queued; i++)
            exclude_unprocessed(offsets, w->job_queue[i]);
        rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(consumer);
        e = rd_kafka_send_offsets_to_transaction(w->producer, offsets, cgmd, -1);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
    }
    rd_kafka_topic_partition_list_destroy(offsets);
    return e;
}

/* A commit that holds the loop this long is logged (its parts: offsets, EndTxn). */
#define TXN_SLOW_COMMIT_MS 100

static void observe_commit(const qg_worker_t *w, double offsets_ms, double end_ms)
{
    char labels[QG_METRICS_MAX_LABELS];
    qg_metrics_observe(qg_metrics_global(), "qg_txn_commit_seconds",
                       "Time an exactly-once worker's loop waited for one transaction commit "
                       "(offsets to the transaction, then EndTxn).",
                       qg_metrics_labels(labels, sizeof(labels), "stage", w->stage, NULL),
                       (offsets_ms + end_ms) / 1000.0);
    if (offsets_ms + end_ms >= TXN_SLOW_COMMIT_MS)
        qg_info("worker", "slow transaction commit: %.0f ms (offsets %.0f ms, EndTxn %.0f ms)",
                offsets_ms + end_ms, offsets_ms, end_ms);
}

static rd_kafka_error_t *commit_once(qg_worker_t *w)
{
    double t0 = qg_clock_ms();
    rd_kafka_error_t *e = send_offsets(w, w->consumer);
    if (!e)
        e = send_offsets(w, w->retry_consumer);
    double t1 = qg_clock_ms();
    if (!e)
        e = rd_kafka_commit_transaction(w->producer, -1);
    if (!e)
        observe_commit(w, t1 - t0, qg_clock_ms() - t1);
    return e;
}

int qg_txn_commit(qg_worker_t *w)
{
    if (!w->txn_open)
        return 0;
    if (w->txn_dropped) /* positions include a record whose output was not produced */
        return qg_txn_abort(w, "an outcome was not produced while stopping");
    rd_kafka_error_t *e = NULL;
    for (int tries = 0; tries < TXN_COMMIT_TRIES; tries++) {
        e = commit_once(w);
        if (!e || !rd_kafka_error_is_retriable(e) || tries == TXN_COMMIT_TRIES - 1)
            break;
        rd_kafka_error_destroy(e);
    }
    if (!e) {
        w->txn_open = 0;
        w->txn_count = 0;
        return 0;
    }
    if (rd_kafka_error_txn_requires_abort(e)) {
        char why[512];
        snprintf(why, sizeof(why), "%s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return qg_txn_abort(w, why);
    }
    w->txn_open = 0;
    return txn_fatal(w, "commit_transaction", e);
}

int qg_txn_due(const qg_worker_t *w)
{
    return w->txn_open &&
           ((w->input_idle && w->txn_commit_idle) || w->txn_count >= w->txn_max_messages ||
            qg_clock_ms() - w->txn_started_ms >= w->txn_max_ms);
}
