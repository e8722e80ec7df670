/*
 * worker_job.c - running records: inline on the poll thread, or, for long
 * stages (ops->long_running or stage.threaded), on a thread while the loop
 * keeps polling, so the member stays in its groups however long the stage runs.
 * Records polled meanwhile are queued as the next jobs (see qg_job_t).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "worker_int.h"

/* Longest wait for the seek that puts a record polled during a job back. */
#define SEEK_TIMEOUT_MS 5000
/* Poll interval while waiting for a cancelled job to end. */
#define CANCEL_POLL_MS 50

static void *job_thread(void *arg)
{
    qg_worker_t *w = arg;
    qg_process(&w->proc, w->job.rkm->payload, w->job.rkm->len, w->job.attempt, &w->job.outcome);
    __atomic_store_n(&w->job.done, 1, __ATOMIC_RELEASE);
    return NULL;
}

int qg_job_done(const qg_worker_t *w)
{
    return w->job.running && __atomic_load_n(&w->job.done, __ATOMIC_ACQUIRE);
}

static void consumer_set_paused(rd_kafka_t *consumer, int pause)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (!consumer || rd_kafka_assignment(consumer, &assigned) || !assigned)
        return;
    if (pause)
        rd_kafka_pause_partitions(consumer, assigned);
    else
        rd_kafka_resume_partitions(consumer, assigned);
    rd_kafka_topic_partition_list_destroy(assigned);
}

static void set_all_paused(qg_worker_t *w, int pause)
{
    consumer_set_paused(w->consumer, pause);
    consumer_set_paused(w->retry_consumer, pause);
    if (!pause) /* retry partitions that are not due stay paused */
        qg_retry_repause(w);
}

int qg_worker_handle_record(qg_worker_t *w, rd_kafka_message_t *rkm)
{
    if (w->eos && qg_txn_begin(w) != 0)
        return -1;
    qg_outcome_t o;
    qg_process(&w->proc, rkm->payload, rkm->len, qg_worker_attempt_of(rkm), &o);
    int rc = qg_worker_emit(w, rkm, &o);
    qg_outcome_clear(&o);
    w->txn_count++;
    return rc;
}

int qg_job_start(qg_worker_t *w, rd_kafka_message_t *rkm)
{
    memset(&w->job, 0, sizeof(w->job));
    w->job.rkm = rkm; /* set first: a commit now stops before this record */
    w->job.attempt = qg_worker_attempt_of(rkm);
    w->cancel = 0;
    if (w->eos && qg_txn_commit(w) != 0) { /* a long run must not hold a transaction open */
        w->job.rkm = NULL;
        rd_kafka_message_destroy(rkm);
        return -1;
    }
    if (pthread_create(&w->job.thread, NULL, job_thread, w) != 0) {
        w->job.rkm = NULL;
        int rc = qg_worker_handle_record(w, rkm); /* run inline instead */
        rd_kafka_message_destroy(rkm);
        return rc;
    }
    w->job.running = 1;
    return 0;
}

void qg_job_hold_next(qg_worker_t *w, rd_kafka_message_t *rkm)
{
    if (w->job_queued == QG_JOB_QUEUE_MAX) { /* polled before the pause took effect */
        qg_job_push_back(w, rkm);
        return;
    }
    w->job_queue[w->job_queued++] = rkm;
    if (w->job_queued == QG_JOB_QUEUE_MAX) {
        set_all_paused(w, 1);
        w->job_paused = 1;
    }
}

void qg_job_queue_clear(qg_worker_t *w)
{
    for (size_t i = 0; i < w->job_queued; i++)
        rd_kafka_message_destroy(w->job_queue[i]);
    w->job_queued = 0;
}

static rd_kafka_message_t *queue_pop(qg_worker_t *w)
{
    if (!w->job_queued)
        return NULL;
    rd_kafka_message_t *rkm = w->job_queue[0];
    memmove(w->job_queue, w->job_queue + 1, --w->job_queued * sizeof(w->job_queue[0]));
    return rkm;
}

int qg_job_finish(qg_worker_t *w)
{
    pthread_join(w->job.thread, NULL);
    w->job.running = 0;
    int rc = 0;
    if (w->job.orphaned || qg_worker_stop_requested()) {
        qg_info("worker", "dropping result of offset %lld: %s", (long long)w->job.rkm->offset,
                w->job.orphaned ? "partition revoked" : "shutting down");
        /* not committed: the record is redelivered to whoever owns it */
    } else {
        if (w->eos)
            rc = qg_txn_begin(w);
        if (!rc)
            rc = qg_worker_emit(w, w->job.rkm, &w->job.outcome);
        w->txn_count++;
    }
    qg_outcome_clear(&w->job.outcome);
    rd_kafka_message_destroy(w->job.rkm);
    w->job.rkm = NULL;
    if (rc || w->fatal || w->draining || qg_worker_stop_requested())
        qg_job_queue_clear(w);
    rd_kafka_message_t *next = queue_pop(w);
    if (w->job_paused && w->job_queued <= QG_JOB_QUEUE_MAX / 2) {
        set_all_paused(w, 0);
        w->job_paused = 0;
    }
    return next ? qg_job_start(w, next) : rc;
}

/* Drop queued records of revoked partitions; keep the others in order. */
static void queue_forget(qg_worker_t *w, const rd_kafka_topic_partition_t *tp)
{
    size_t kept = 0;
    for (size_t i = 0; i < w->job_queued; i++) {
        rd_kafka_message_t *rkm = w->job_queue[i];
        if (rkm->partition == tp->partition && !strcmp(tp->topic, rd_kafka_topic_name(rkm->rkt)))
            rd_kafka_message_destroy(rkm); /* the new owner reads it */
        else
            w->job_queue[kept++] = rkm;
    }
    w->job_queued = kept;
}

void qg_job_orphan_if_revoked(qg_worker_t *w, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        queue_forget(w, tp);
        if (w->job.running && !qg_job_done(w) && w->job.rkm &&
            tp->partition == w->job.rkm->partition &&
            !strcmp(tp->topic, rd_kafka_topic_name(w->job.rkm->rkt))) {
            w->job.orphaned = 1;
            w->cancel = 1;
        }
    }
}

void qg_job_push_back(qg_worker_t *w, rd_kafka_message_t *rkm)
{
    rd_kafka_t *consumer = qg_worker_consumer_of(w, rd_kafka_topic_name(rkm->rkt));
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (consumer && l) {
        rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(rkm->rkt), rkm->partition)
            ->offset = rkm->offset;
        rd_kafka_pause_partitions(consumer, l);
        rd_kafka_error_t *e = rd_kafka_seek_partitions(consumer, l, SEEK_TIMEOUT_MS);
        if (e) {
            qg_warn("worker", "seek back failed: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    }
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_message_destroy(rkm);
}

/* Poll one consumer while waiting; a record that still arrives goes back. */
static void poll_and_push_back(qg_worker_t *w, rd_kafka_t *consumer, int timeout_ms)
{
    rd_kafka_message_t *rkm = consumer ? rd_kafka_consumer_poll(consumer, timeout_ms) : NULL;
    if (!rkm)
        return;
    if (rkm->err)
        rd_kafka_message_destroy(rkm);
    else
        qg_job_push_back(w, rkm);
}

void qg_job_cancel_and_wait(qg_worker_t *w)
{
    w->draining = 1;
    if (!w->job.running)
        return;
    w->cancel = 1;
    while (!qg_job_done(w)) {
        poll_and_push_back(w, w->retry_consumer, 0);
        poll_and_push_back(w, w->consumer, CANCEL_POLL_MS);
    }
    qg_job_finish(w);
}
