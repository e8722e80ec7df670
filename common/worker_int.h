/*
 * worker_int.h - state and internal interfaces of the worker loop, shared by
 * its parts (not for stages or tools):
 *
 *   worker.c            the loop, draining, the stop flag
 *   worker_setup.c      clients, subscriptions, leaving the groups
 *   worker_emit.c       an outcome becomes one produced record (the one place)
 *   worker_offsets.c    at-least-once: commit only acknowledged prefixes
 *   worker_txn.c        exactly-once: transactions over both consumers' offsets
 *   worker_retry.c      retry topic pacing (paused until the head record is due)
 *   worker_rebalance.c  assignment and revocation of either consumer
 *   worker_job.c        long stages on a thread with every partition paused
 *
 * Two consumers per worker: one for the stage topic, one for its retry topic,
 * each in its own group, so each topic's partitions are balanced over the
 * workers of a stage on their own (docs/kafka.md, "Scaling").
 */
#ifndef QG_WORKER_INT_H
#define QG_WORKER_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "error.h"
#include "events.h"
#include "process.h"
#include "stage.h"
#include "worker.h"

#define QG_WORKER_BACKOFF_MAX 16
/* Records held for the next long runs (bounded: at most this many goals in memory). */
#define QG_JOB_QUEUE_MAX 16

/* One acknowledged-or-not output of an input record (at-least-once). */
typedef struct qg_pending_s {
    struct qg_pending_s *next;
    struct qg_track_s *track;
    int64_t offset;
    int done;
} qg_pending_t;

/* The outputs of one input partition, in input order. */
typedef struct qg_track_s {
    char topic[256];
    int32_t partition;
    qg_pending_t *head, *tail;
    int64_t commit_next;    /* offset to commit next, -1: nothing */
    int64_t committed_next; /* last committed */
} qg_track_t;

/* A partition of the retry topic, paused until its head record is due. */
typedef struct {
    int32_t partition;
    double resume_at_wall_ms; /* the record's not-before header: epoch time */
} qg_paused_t;

/* A long stage run on its own thread. Records polled during a run are queued, in
 * order, as the next jobs; only when QG_JOB_QUEUE_MAX are queued is every partition
 * paused, and they are resumed once the queue is half empty. So the next job starts
 * the moment a run ends, and the fetch after a resume (librdkafka 2.0.2 fetches a
 * resumed partition up to a second later) overlaps with the queued runs. */
typedef struct {
    pthread_t thread;
    int running;       /* thread started and not joined */
    volatile int done; /* set by the thread */
    rd_kafka_message_t *rkm;
    int attempt;
    int orphaned; /* partition revoked while running: drop the outcome */
    qg_outcome_t outcome;
} qg_job_t;

struct qg_worker_s {
    const qg_stage_ops_t *ops;
    void *state;
    qg_config_t *cfg;
    const char *stage;
    const char *prefix;
    char worker_id[192];
    char in_topic[300], retry_topic[300];
    int eos;
    int threaded;               /* run the stage on a thread with partitions paused */
    rd_kafka_t *consumer;       /* in_topic, group <prefix>.<stage>.workers */
    rd_kafka_t *retry_consumer; /* retry_topic, group <prefix>.<stage>.retry.workers */
    rd_kafka_t *producer;
    int assigned_once, retry_assigned_once;
    /* at-least-once */
    qg_track_t **tracks; /* each allocated once: pending entries point at them */
    size_t ntracks, cap_tracks;
    long inflight;
    long max_inflight;
    double commit_interval_ms;
    double last_commit_ms;
    /* exactly-once */
    long txn_max_messages;
    double txn_max_ms;
    int txn_commit_idle; /* commit as soon as no record is waiting */
    int input_idle;      /* the last poll found no record */
    int txn_open;
    long txn_count;
    double txn_started_ms;
    int txn_dropped; /* an outcome of this transaction was not produced: abort it */
    /* retries */
    qg_paused_t *paused;
    size_t npaused, cap_paused;
    long backoff_ms[QG_WORKER_BACKOFF_MAX];
    int nbackoff;
    /* stage */
    qg_processor_t proc;
    volatile sig_atomic_t cancel;
    qg_events_t *events;
    const char *health_file;
    long shutdown_timeout_ms;
    qg_job_t job;
    rd_kafka_message_t *job_queue[QG_JOB_QUEUE_MAX]; /* polled while a job ran: next jobs */
    size_t job_queued;
    int job_paused;    /* every partition paused because job_queue is full */
    int draining;      /* stopping: start no further job */
    qg_error_t *fatal; /* first fatal error: the worker drains and exits 1 */
    long processed, dead_lettered, retried, skipped;
    long queue_full_waits; /* produce calls that found the producer queue full */
};

/* worker.c */
int qg_worker_stop_requested(void);
/** Keep the first fatal error (taking it over); later ones are logged and freed. */
void qg_worker_fail(qg_worker_t *w, qg_error_t *err);
/** The consumer that reads topic. */
rd_kafka_t *qg_worker_consumer_of(const qg_worker_t *w, const char *topic);

/* worker_setup.c */
int qg_worker_clients_new(qg_worker_t *w, char *errstr, size_t sz);
void qg_worker_clients_destroy(qg_worker_t *w);

/* worker_emit.c */
/** Produce the record an outcome calls for. 0, or -1 with w->fatal set. */
int qg_worker_emit(qg_worker_t *w, const rd_kafka_message_t *rkm, qg_outcome_t *o);
void qg_worker_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque);
int qg_worker_attempt_of(const rd_kafka_message_t *rkm);

/* worker_offsets.c */
qg_pending_t *qg_offsets_pending_new(qg_worker_t *w, const char *topic, int32_t partition,
                                     int64_t offset);
void qg_offsets_pending_add(qg_worker_t *w, qg_pending_t *p);
/** Commit every acknowledged prefix not committed yet (sync: wait for the broker). */
void qg_offsets_commit(qg_worker_t *w, int sync);
void qg_offsets_destroy(qg_worker_t *w);

/* worker_txn.c */
int qg_txn_begin(qg_worker_t *w);
/** Commit the open transaction with both consumers' positions; aborts and rewinds on an
 * abortable error. 0, or -1 with w->fatal set. */
int qg_txn_commit(qg_worker_t *w);
int qg_txn_abort(qg_worker_t *w, const char *why);
/* The open transaction is to commit now: transaction.max.ms or .max.messages reached, or
 * (transaction.commit.idle) the last poll found no record waiting. */
int qg_txn_due(const qg_worker_t *w);

/* worker_retry.c */
/** A retry record not due yet: put it back and pause its partition. 1 if deferred. */
int qg_retry_defer_if_not_due(qg_worker_t *w, const rd_kafka_message_t *rkm);
void qg_retry_resume_due(qg_worker_t *w);
void qg_retry_forget(qg_worker_t *w, const rd_kafka_topic_partition_list_t *revoked);
/** Pause again the retry partitions that are not due (after a resume of everything). */
void qg_retry_repause(qg_worker_t *w);

/* worker_rebalance.c */
void qg_worker_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts, void *opaque);

/* worker_job.c */
int qg_job_start(qg_worker_t *w, rd_kafka_message_t *rkm);
int qg_job_finish(qg_worker_t *w);
int qg_job_done(const qg_worker_t *w);
/** Revoked partitions: a running job on one of them gets its outcome dropped. */
void qg_job_orphan_if_revoked(qg_worker_t *w, const rd_kafka_topic_partition_list_t *parts);
/** Put a record polled while a job runs back, to be fetched again. */
void qg_job_push_back(qg_worker_t *w, rd_kafka_message_t *rkm);
/** A record polled while a job runs: queued as a next job (every partition paused
 * when the queue is full); put back if it is full already. Takes rkm over. */
void qg_job_hold_next(qg_worker_t *w, rd_kafka_message_t *rkm);
/** Drop every queued record (not committed: read again by the partition's owner). */
void qg_job_queue_clear(qg_worker_t *w);
/** Stop: cancel a running job, wait for it, drop its outcome. */
void qg_job_cancel_and_wait(qg_worker_t *w);
/** Run one record on the poll thread. 0, or -1 with w->fatal set. */
int qg_worker_handle_record(qg_worker_t *w, rd_kafka_message_t *rkm);

#endif
