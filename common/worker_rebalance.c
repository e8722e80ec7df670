/*
 * worker_rebalance.c - assignment and revocation, for either consumer.
 *
 * Before partitions go, what was done on them is committed: at-least-once
 * flushes the producer and commits the acknowledged prefixes; exactly-once
 * commits the open transaction (or aborts it when the partitions were lost).
 * A long stage running on a revoked partition is cancelled and its outcome
 * dropped: the new owner runs the goal again.
 */
#include <string.h>

#include "log.h"
#include "worker_int.h"

static void revoke_prepare(qg_worker_t *w, rd_kafka_topic_partition_list_t *parts, int lost)
{
    qg_job_orphan_if_revoked(w, parts);
    if (w->eos) {
        if (lost)
            qg_txn_abort(w, "partitions lost");
        else
            qg_txn_commit(w);
        return;
    }
    rd_kafka_flush(w->producer, w->shutdown_timeout_ms);
    qg_offsets_commit(w, 1);
}

void qg_worker_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    qg_worker_t *w = opaque;
    int cooperative = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    const char *which = rk == w->retry_consumer ? "retry" : "stage";
    rd_kafka_error_t *error = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (rk == w->retry_consumer)
            w->retry_assigned_once = 1;
        else
            w->assigned_once = 1;
        qg_info("worker", "assigned %d partition(s) of the %s topic", parts->cnt, which);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
        if (w->job_paused) /* new partitions wait too until the job is done */
            rd_kafka_pause_partitions(rk, parts);
    } else {
        int lost = rd_kafka_assignment_lost(rk);
        qg_info("worker", "revoked %d partition(s) of the %s topic%s", parts->cnt, which,
                lost ? " (lost)" : "");
        revoke_prepare(w, parts, lost);
        qg_retry_forget(w, parts);
        if (cooperative)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    if (error) {
        qg_err("worker", "rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}
