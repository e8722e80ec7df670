/*
 * worker.c - the one worker loop: consume -> run -> gate -> produce next / retry / DLQ.
 *
 * at_least_once: the input offset of a record is committed only after the
 *   record it produced (next stage, completed, retry or DLQ) was acknowledged
 *   by the broker; acknowledgements may arrive out of order, so each input
 *   partition keeps its records in order and commits the acknowledged prefix.
 * exactly_once: records are produced in a transaction together with the
 *   consumer offsets (send_offsets_to_transaction with the group metadata);
 *   an abortable error aborts and rewinds to the committed offsets.
 *
 * Retries: a transient failure sends the input unchanged to <prefix>.<stage>.retry
 * with attempt and not-before headers; this worker also consumes that topic and
 * pauses a retry partition until its head record is due, so the main topic is
 * never blocked by a goal that waits.
 *
 * Long stages (ops->long_running): the run happens on a thread while the loop
 * keeps polling with every partition paused, so the member is not evicted.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "goal.h"
#include "kafka.h"
#include "log.h"
#include "process.h"
#include "stage.h"
#include "worker.h"

static volatile sig_atomic_t worker_stop;

static void on_signal(int sig)
{
    (void)sig;
    worker_stop = 1;
}

/* ---------- at-least-once offset tracking ---------- */

typedef struct pending_s {
    struct pending_s *next;
    struct track_s *track;
    int64_t offset;
    int done;
} pending_t;

typedef struct track_s {
    char topic[256];
    int32_t partition;
    pending_t *head, *tail;
    int64_t commit_next;    /* offset to commit next, -1: nothing */
    int64_t committed_next; /* last committed */
    int assigned;
} track_t;

/* A partition of this stage's retry topic, paused until its head record is due. */
typedef struct {
    int32_t partition;
    double resume_at_ms;
} paused_t;

typedef struct {
    pthread_t thread;
    int running;       /* thread started and not joined */
    volatile int done; /* set by the thread */
    rd_kafka_message_t *rkm;
    int attempt;
    int orphaned; /* partition revoked while running: drop the outcome */
    qg_outcome_t outcome;
} job_t;

struct qg_worker_s {
    const qg_stage_ops_t *ops;
    void *state;
    qg_config_t *cfg;
    const char *stage;
    const char *prefix;
    char worker_id[192];
    char in_topic[300], retry_topic[300];
    int eos;
    int threaded; /* run the stage on a thread with partitions paused */
    int ever_assigned;
    rd_kafka_t *consumer, *producer;
    track_t **tracks; /* each allocated once: pending entries point at them */
    size_t ntracks, cap_tracks;
    long inflight;
    long max_inflight;
    long txn_max_messages;     /* exactly_once: records per transaction */
    double txn_max_ms;         /* exactly_once: transaction length */
    double commit_interval_ms; /* at_least_once: offset commit period */
    char fatal[512];
    paused_t *paused;
    size_t npaused, cap_paused;
    int txn_open;
    long txn_count;
    double txn_started_ms;
    double last_commit_ms;
    long backoff_ms[16];
    int nbackoff;
    qg_processor_t proc;
    volatile sig_atomic_t cancel;
    qg_events_t *events;
    const char *health_file;
    job_t job;
    long processed, dead_lettered, retried, skipped;
};

static track_t *track_find(qg_worker_t *w, const char *topic, int32_t partition, int create)
{
    for (size_t i = 0; i < w->ntracks; i++)
        if (w->tracks[i]->partition == partition && !strcmp(w->tracks[i]->topic, topic))
            return w->tracks[i];
    if (!create)
        return NULL;
    if (w->ntracks == w->cap_tracks) {
        size_t cap = w->cap_tracks ? w->cap_tracks * 2 : 16;
        track_t **tracks = realloc(w->tracks, cap * sizeof(*tracks));
        if (!tracks)
            return NULL;
        w->tracks = tracks;
        w->cap_tracks = cap;
    }
    track_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    snprintf(t->topic, sizeof(t->topic), "%s", topic);
    t->partition = partition;
    t->commit_next = t->committed_next = -1;
    w->tracks[w->ntracks++] = t;
    return t;
}

/* Pop acknowledged records from the head of every partition. */
static void tracks_advance(qg_worker_t *w)
{
    for (size_t i = 0; i < w->ntracks; i++) {
        track_t *t = w->tracks[i];
        while (t->head && t->head->done) {
            pending_t *p = t->head;
            t->commit_next = p->offset + 1;
            t->head = p->next;
            if (!t->head)
                t->tail = NULL;
            free(p);
        }
    }
}

/* Commit every acknowledged prefix not committed yet. */
static void tracks_commit(qg_worker_t *w, int sync)
{
    tracks_advance(w);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < w->ntracks; i++) {
        track_t *t = w->tracks[i];
        if (t->commit_next >= 0 && t->commit_next != t->committed_next) {
            rd_kafka_topic_partition_list_add(list, t->topic, t->partition)->offset =
                t->commit_next;
            t->committed_next = t->commit_next;
        }
    }
    if (list->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_commit(w->consumer, list, !sync);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            qg_warn("worker", "offset commit failed: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(list);
    w->last_commit_ms = qg_now_ms();
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    qg_worker_t *w = opaque;
    pending_t *p = rkm->_private;
    if (rkm->err) {
        snprintf(w->fatal, sizeof(w->fatal), "delivery to %s failed: %s",
                 rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
        qg_err("worker", "%s", w->fatal);
    } else if (p) {
        p->done = 1;
    }
    if (p)
        w->inflight--;
}

/* ---------- producing ---------- */

static rd_kafka_resp_err_t produce(qg_worker_t *w, const char *topic, const char *key,
                                   const void *value, size_t len, rd_kafka_headers_t *hdrs,
                                   pending_t *p)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            w->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(p), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return err; /* on success the headers belong to the message */
        rd_kafka_poll(w->producer, 50);
    }
}

static int worker_attempt_of(const rd_kafka_message_t *rkm)
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

/* Turn an outcome into one produced record. Returns 0, or -1 when the worker must stop. */
static int emit_outcome(qg_worker_t *w, const rd_kafka_message_t *rkm, qg_outcome_t *o)
{
    char topic[300], key[256], num[32];
    const void *value = o->value ? o->value : rkm->payload;
    size_t len = o->value ? o->len : rkm->len;
    rd_kafka_headers_t *hdrs = NULL;
    const char *in_topic = rd_kafka_topic_name(rkm->rkt);
    output_key(o, rkm, key, sizeof(key));
    switch (o->kind) {
    case QG_OUT_FATAL:
        snprintf(w->fatal, sizeof(w->fatal), "%s", qg_error_message(o->err));
        return -1;
    case QG_OUT_NEXT:
        qg_topic_stage(topic, sizeof(topic), w->prefix, o->next_stage);
        w->skipped += o->skipped;
        break;
    case QG_OUT_COMPLETED:
        qg_topic_completed(topic, sizeof(topic), w->prefix);
        w->skipped += o->skipped;
        break;
    case QG_OUT_RETRY:
        qg_topic_retry(topic, sizeof(topic), w->prefix, w->stage);
        hdrs = rd_kafka_headers_new(3);
        snprintf(num, sizeof(num), "%d", o->attempts + 1);
        rd_kafka_header_add(hdrs, QG_HDR_ATTEMPT, -1, num, -1);
        snprintf(num, sizeof(num), "%.0f", qg_now_ms() + (double)backoff_for(w, o->attempts));
        rd_kafka_header_add(hdrs, QG_HDR_NOT_BEFORE, -1, num, -1);
        rd_kafka_header_add(hdrs, QG_HDR_LAST_ERROR, -1, qg_error_message(o->err), -1);
        value = rkm->payload;
        len = rkm->len;
        w->retried++;
        qg_warn("worker", "goal %s: transient failure, attempt %d, retry in %ld ms: %s", key,
                o->attempts, backoff_for(w, o->attempts), qg_error_message(o->err));
        break;
    case QG_OUT_DLQ:
        qg_topic_dlq(topic, sizeof(topic), w->prefix);
        hdrs = qg_dlq_headers_new(in_topic, rkm->partition, rkm->offset, w->stage,
                                  qg_error_class_name(qg_error_class(o->err)),
                                  qg_error_message(o->err), w->worker_id, o->attempts, qg_now_ms());
        value = rkm->payload;
        len = rkm->len;
        w->dead_lettered++;
        qg_warn("worker", "goal %s -> DLQ (%s): %s", key[0] ? key : "(no id)",
                qg_error_class_name(qg_error_class(o->err)), qg_error_message(o->err));
        break;
    }
    pending_t *p = NULL;
    if (!w->eos) {
        track_t *t = track_find(w, in_topic, rkm->partition, 1);
        p = t ? calloc(1, sizeof(*p)) : NULL;
        if (!p) {
            if (hdrs)
                rd_kafka_headers_destroy(hdrs);
            snprintf(w->fatal, sizeof(w->fatal), "out of memory tracking offsets");
            return -1;
        }
        p->track = t;
        p->offset = rkm->offset;
    }
    rd_kafka_resp_err_t err = produce(w, topic, key[0] ? key : NULL, value, len, hdrs, p);
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && o->kind != QG_OUT_DLQ) {
        /* The enriched goal outgrew the broker's limit: dead-letter the input instead. */
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        qg_error_destroy(o->err);
        o->err = qg_error_new(QG_ERR_STAGE_ERROR,
                              "enriched goal of %zu bytes is larger than message.max.bytes", len);
        o->kind = QG_OUT_DLQ;
        free(p);
        return emit_outcome(w, rkm, o);
    }
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && o->kind == QG_OUT_DLQ && len > 0) {
        /* Even the original is too large to dead-letter: keep the headers, drop the value,
         * and say so; the input offset still identifies the record. */
        snprintf(num, sizeof(num), "%zu", len);
        rd_kafka_header_add(hdrs, QG_HDR_VALUE_OMITTED, -1, num, -1);
        err = produce(w, topic, key[0] ? key : NULL, NULL, 0, hdrs, p);
    }
    if (err) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        free(p);
        snprintf(w->fatal, sizeof(w->fatal), "produce to %s failed: %s", topic,
                 rd_kafka_err2str(err));
        return -1;
    }
    if (p) {
        track_t *t = p->track;
        if (t->tail)
            t->tail->next = p;
        else
            t->head = p;
        t->tail = p;
        w->inflight++;
    }
    w->processed++;
    qg_outcome_count(w->stage, o);
    return 0;
}

/* ---------- exactly-once transactions ---------- */

static int txn_fatal(qg_worker_t *w, const char *what, rd_kafka_error_t *error)
{
    snprintf(w->fatal, sizeof(w->fatal), "%s: %s", what, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return -1;
}

/* Seek every assigned partition back to its committed offset (after an abort). */
static void rewind_to_committed(qg_worker_t *w)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(w->consumer, &assigned) || !assigned)
        return;
    if (!rd_kafka_committed(w->consumer, assigned, 10000)) {
        for (int i = 0; i < assigned->cnt; i++)
            if (assigned->elems[i].offset < 0)
                assigned->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_error_t *e = rd_kafka_seek_partitions(w->consumer, assigned, 10000);
        if (e) {
            qg_warn("worker", "rewind failed: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    }
    rd_kafka_topic_partition_list_destroy(assigned);
}

static int txn_abort(qg_worker_t *w, const char *why)
{
    qg_warn("worker", "aborting transaction: %s", why);
    rd_kafka_error_t *e = rd_kafka_abort_transaction(w->producer, -1);
    w->txn_open = 0;
    w->txn_count = 0;
    if (e)
        return txn_fatal(w, "abort_transaction", e);
    rewind_to_committed(w);
    return 0;
}

static int txn_begin(qg_worker_t *w)
{
    if (w->txn_open)
        return 0;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(w->producer);
    if (e)
        return txn_fatal(w, "begin_transaction", e);
    w->txn_open = 1;
    w->txn_count = 0;
    w->txn_started_ms = qg_now_ms();
    return 0;
}

/* Offsets to commit: the consumer's position on every assigned partition. */
static rd_kafka_topic_partition_list_t *txn_offsets(qg_worker_t *w)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(w->consumer, &assigned) || !assigned)
        return NULL;
    rd_kafka_position(w->consumer, assigned);
    return assigned;
}

static int txn_commit(qg_worker_t *w)
{
    if (!w->txn_open)
        return 0;
    rd_kafka_topic_partition_list_t *offsets = txn_offsets(w);
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(w->consumer);
    rd_kafka_error_t *e = NULL;
    for (int tries = 0; tries < 10; tries++) {
        e = offsets ? rd_kafka_send_offsets_to_transaction(w->producer, offsets, cgmd, -1) : NULL;
        if (!e)
            e = rd_kafka_commit_transaction(w->producer, -1);
        if (!e || !rd_kafka_error_is_retriable(e))
            break;
        rd_kafka_error_destroy(e);
        e = NULL;
    }
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (offsets)
        rd_kafka_topic_partition_list_destroy(offsets);
    if (!e) {
        w->txn_open = 0;
        w->txn_count = 0;
        return 0;
    }
    if (rd_kafka_error_txn_requires_abort(e)) {
        char why[512];
        snprintf(why, sizeof(why), "%s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return txn_abort(w, why);
    }
    w->txn_open = 0;
    return txn_fatal(w, "commit_transaction", e);
}

static int txn_due(const qg_worker_t *w)
{
    return w->txn_open && (w->txn_count >= w->txn_max_messages ||
                           qg_now_ms() - w->txn_started_ms >= w->txn_max_ms);
}

/* ---------- rebalancing ---------- */

static void revoke_prepare(qg_worker_t *w, rd_kafka_topic_partition_list_t *parts, int lost)
{
    if (w->job.running && !w->job.done) {
        for (int i = 0; i < parts->cnt; i++)
            if (w->job.rkm && parts->elems[i].partition == w->job.rkm->partition &&
                !strcmp(parts->elems[i].topic, rd_kafka_topic_name(w->job.rkm->rkt))) {
                w->job.orphaned = 1;
                w->cancel = 1;
            }
    }
    if (w->eos) {
        if (lost)
            txn_abort(w, "partitions lost");
        else
            txn_commit(w);
        return;
    }
    rd_kafka_flush(w->producer, 30000);
    tracks_commit(w, 1);
    for (int i = 0; i < parts->cnt; i++) {
        track_t *t = track_find(w, parts->elems[i].topic, parts->elems[i].partition, 0);
        if (t)
            t->assigned = 0;
    }
}

static void forget_paused(qg_worker_t *w, const rd_kafka_topic_partition_list_t *revoked);

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    qg_worker_t *w = opaque;
    int cooperative = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    rd_kafka_error_t *error = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        w->ever_assigned = 1;
        qg_info("worker", "assigned %d partition(s)", parts->cnt);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
    } else {
        qg_info("worker", "revoked %d partition(s)%s", parts->cnt,
                rd_kafka_assignment_lost(rk) ? " (lost)" : "");
        revoke_prepare(w, parts, rd_kafka_assignment_lost(rk));
        forget_paused(w, parts);
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

/* ---------- retry topic pacing ---------- */

/* Remember when a retry partition is due. 0, or -1 when it cannot be tracked. */
static int track_paused(qg_worker_t *w, int32_t partition, double resume_at)
{
    for (size_t i = 0; i < w->npaused; i++)
        if (w->paused[i].partition == partition) {
            w->paused[i].resume_at_ms = resume_at;
            return 0;
        }
    if (w->npaused == w->cap_paused) {
        size_t cap = w->cap_paused ? w->cap_paused * 2 : 8;
        paused_t *np = realloc(w->paused, cap * sizeof(*np));
        if (!np)
            return -1;
        w->paused = np;
        w->cap_paused = cap;
    }
    w->paused[w->npaused++] = (paused_t){partition, resume_at};
    return 0;
}

/* Revoked retry partitions are no longer ours to resume; the rest stay paused. */
static void forget_paused(qg_worker_t *w, const rd_kafka_topic_partition_list_t *revoked)
{
    for (int r = 0; r < revoked->cnt; r++) {
        if (strcmp(revoked->elems[r].topic, w->retry_topic) != 0)
            continue;
        for (size_t i = 0; i < w->npaused; i++)
            if (w->paused[i].partition == revoked->elems[r].partition) {
                w->paused[i] = w->paused[--w->npaused];
                break;
            }
    }
}

/* Pause a retry partition and put its head record back, to be read again when due. */
static void pause_one(qg_worker_t *w, const rd_kafka_message_t *rkm)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, w->retry_topic, rkm->partition)->offset = rkm->offset;
    rd_kafka_pause_partitions(w->consumer, l);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(w->consumer, l, 5000);
    if (e) {
        qg_warn("worker", "seek back on retry topic failed: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void resume_due(qg_worker_t *w)
{
    double now = qg_now_ms();
    for (size_t i = 0; i < w->npaused;) {
        if (w->paused[i].resume_at_ms > now) {
            i++;
            continue;
        }
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, w->retry_topic, w->paused[i].partition);
        if (!w->job.running)
            rd_kafka_resume_partitions(w->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (w->job.running) {
            i++;
            continue;
        }
        w->paused[i] = w->paused[--w->npaused];
    }
}

/* A retry record not due yet: put it back and pause its partition. Returns 1 if deferred. */
static int defer_if_not_due(qg_worker_t *w, const rd_kafka_message_t *rkm)
{
    if (strcmp(rd_kafka_topic_name(rkm->rkt), w->retry_topic) != 0)
        return 0;
    char buf[32];
    const char *nb = qg_kafka_header(rkm, QG_HDR_NOT_BEFORE, buf, sizeof(buf));
    double due = nb ? strtod(nb, NULL) : 0;
    if (due <= qg_now_ms())
        return 0;
    if (track_paused(w, rkm->partition, due) != 0) {
        qg_warn("worker", "out of memory pacing retries: running a retry early");
        return 0;
    }
    pause_one(w, rkm);
    return 1;
}

/* ---------- running a record ---------- */

static void *job_thread(void *arg)
{
    qg_worker_t *w = arg;
    qg_process(&w->proc, w->job.rkm->payload, w->job.rkm->len, w->job.attempt, &w->job.outcome);
    __atomic_store_n(&w->job.done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void set_all_paused(qg_worker_t *w, int pause)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(w->consumer, &assigned) || !assigned)
        return;
    if (pause)
        rd_kafka_pause_partitions(w->consumer, assigned);
    else
        rd_kafka_resume_partitions(w->consumer, assigned);
    rd_kafka_topic_partition_list_destroy(assigned);
    if (!pause) /* retry partitions that are not due stay paused */
        for (size_t i = 0; i < w->npaused; i++) {
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(l, w->retry_topic, w->paused[i].partition);
            rd_kafka_pause_partitions(w->consumer, l);
            rd_kafka_topic_partition_list_destroy(l);
        }
}

static int handle_record(qg_worker_t *w, rd_kafka_message_t *rkm)
{
    if (w->eos && txn_begin(w) != 0)
        return -1;
    qg_outcome_t o;
    qg_process(&w->proc, rkm->payload, rkm->len, worker_attempt_of(rkm), &o);
    int rc = emit_outcome(w, rkm, &o);
    qg_outcome_clear(&o);
    w->txn_count++;
    return rc;
}

static int job_start(qg_worker_t *w, rd_kafka_message_t *rkm)
{
    memset(&w->job, 0, sizeof(w->job));
    w->job.rkm = rkm;
    w->job.attempt = worker_attempt_of(rkm);
    w->cancel = 0;
    set_all_paused(w, 1);
    if (pthread_create(&w->job.thread, NULL, job_thread, w) != 0) {
        set_all_paused(w, 0);
        w->job.rkm = NULL;
        int rc = handle_record(w, rkm); /* run inline instead */
        rd_kafka_message_destroy(rkm);
        return rc;
    }
    w->job.running = 1;
    return 0;
}

/* A long run finished: emit its outcome unless its partition was taken away. */
static int job_finish(qg_worker_t *w)
{
    pthread_join(w->job.thread, NULL);
    w->job.running = 0;
    int rc = 0;
    if (w->job.orphaned || worker_stop) {
        qg_info("worker", "dropping result of offset %lld: %s", (long long)w->job.rkm->offset,
                w->job.orphaned ? "partition revoked" : "shutting down");
        /* not committed: the record is redelivered to whoever owns it */
    } else {
        if (w->eos)
            rc = txn_begin(w);
        if (!rc)
            rc = emit_outcome(w, w->job.rkm, &w->job.outcome);
        w->txn_count++;
    }
    qg_outcome_clear(&w->job.outcome);
    rd_kafka_message_destroy(w->job.rkm);
    w->job.rkm = NULL;
    set_all_paused(w, 0);
    return rc;
}

/* While a job runs, a record may still arrive from the local queue: put it back. */
static void push_back(qg_worker_t *w, rd_kafka_message_t *rkm)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(rkm->rkt), rkm->partition)->offset =
        rkm->offset;
    rd_kafka_pause_partitions(w->consumer, l);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(w->consumer, l, 5000);
    if (e)
        rd_kafka_error_destroy(e);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_message_destroy(rkm);
}

static void push_back_if_any(qg_worker_t *w, rd_kafka_message_t *rkm)
{
    if (!rkm)
        return;
    if (rkm->err)
        rd_kafka_message_destroy(rkm);
    else
        push_back(w, rkm);
}

/* ---------- the loop ---------- */

static void touch_health(const qg_worker_t *w)
{
    if (!w->health_file || !*w->health_file)
        return;
    int fd = open(w->health_file, O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) {
        futimens(fd, NULL);
        close(fd);
    }
}

static int consume_one(qg_worker_t *w)
{
    rd_kafka_message_t *rkm = rd_kafka_consumer_poll(w->consumer, 100);
    if (!rkm)
        return 0;
    if (rkm->err) {
        if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            qg_log(rkm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? QG_LOG_DEBUG : QG_LOG_WARN,
                   "worker", "consumer: %s", rd_kafka_message_errstr(rkm));
        rd_kafka_message_destroy(rkm);
        return 0;
    }
    if (w->job.running) {
        push_back(w, rkm);
        return 0;
    }
    if (defer_if_not_due(w, rkm)) {
        rd_kafka_message_destroy(rkm);
        return 0;
    }
    if (w->threaded && !w->eos) {
        int rc = job_start(w, rkm);
        return rc < 0 ? -1 : 0;
    }
    if (w->threaded && w->eos) {
        if (txn_commit(w) != 0) /* a long run must not hold a transaction open */
            return -1;
        int rc = job_start(w, rkm);
        return rc < 0 ? -1 : 0;
    }
    int rc = handle_record(w, rkm);
    rd_kafka_message_destroy(rkm);
    return rc;
}

static void wait_inflight_below(qg_worker_t *w, long limit)
{
    while (w->inflight > limit && !w->fatal[0])
        rd_kafka_poll(w->producer, 10);
}

static int loop_iteration(qg_worker_t *w)
{
    touch_health(w);
    if (w->job.running && __atomic_load_n(&w->job.done, __ATOMIC_ACQUIRE) && job_finish(w) != 0)
        return -1;
    resume_due(w);
    if (consume_one(w) != 0)
        return -1;
    rd_kafka_poll(w->producer, 0);
    if (w->eos) {
        if (txn_due(w) && !w->job.running && txn_commit(w) != 0)
            return -1;
    } else {
        wait_inflight_below(w, w->max_inflight);
        if (qg_now_ms() - w->last_commit_ms >= w->commit_interval_ms)
            tracks_commit(w, 0);
    }
    return w->fatal[0] ? -1 : 0;
}

/*
 * librdkafka 2.0.2 aborts when a cooperative consumer is closed while its first
 * rebalance is still in progress (fixed in 2.3.0). A worker stopped right after
 * start therefore waits, bounded, for that first assignment before it closes;
 * records polled meanwhile are not processed and stay uncommitted.
 */
static void wait_first_assignment(qg_worker_t *w)
{
    const char *strategy = qg_config_get(w->cfg, "partition.assignment.strategy");
    if (w->ever_assigned || (strategy && !strstr(strategy, "cooperative")))
        return;
    double deadline = qg_now_ms() + (double)qg_config_get_int(w->cfg, "session.timeout.ms", 45000);
    while (!w->ever_assigned && qg_now_ms() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(w->consumer, 100);
        if (rkm)
            rd_kafka_message_destroy(rkm);
    }
}

static void worker_drain(qg_worker_t *w)
{
    wait_first_assignment(w);
    if (w->job.running) {
        w->cancel = 1;
        while (!__atomic_load_n(&w->job.done, __ATOMIC_ACQUIRE))
            push_back_if_any(w, rd_kafka_consumer_poll(w->consumer, 50));
        job_finish(w);
    }
    if (w->eos) {
        if (!w->fatal[0])
            txn_commit(w);
        else if (w->txn_open)
            txn_abort(w, w->fatal);
    } else {
        rd_kafka_flush(w->producer, 30000);
        tracks_commit(w, 1);
    }
}

int qg_worker_run(qg_worker_t *w)
{
    qg_info("worker", "stage %s consuming %s and %s (%s)", w->stage, w->in_topic, w->retry_topic,
            w->eos ? "exactly_once" : "at_least_once");
    while (!worker_stop)
        if (loop_iteration(w) != 0)
            break;
    worker_drain(w);
    qg_info("worker",
            "stopping: %ld processed, %ld dead-lettered, %ld retried, %ld forwarded "
            "without re-run%s%s",
            w->processed, w->dead_lettered, w->retried, w->skipped, w->fatal[0] ? "; fatal: " : "",
            w->fatal);
    return w->fatal[0] ? 1 : 0;
}

/* ---------- set-up ---------- */

static int parse_backoff(qg_worker_t *w, char *errstr, size_t sz)
{
    const char *s = qg_config_get(w->cfg, "retry.backoff.ms");
    w->nbackoff = 0;
    for (const char *p = s; p && *p && w->nbackoff < 16;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0) {
            snprintf(errstr, sz,
                     "retry.backoff.ms: expected comma-separated milliseconds, got "
                     "\"%s\"",
                     s);
            return -1;
        }
        w->backoff_ms[w->nbackoff++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static rd_kafka_t *consumer_new(qg_worker_t *w, char *errstr, size_t sz)
{
    rd_kafka_conf_t *conf = qg_kafka_conf_new(w->cfg, errstr, sz);
    if (!conf)
        return NULL;
    char group[300];
    qg_group_for_stage(group, sizeof(group), w->prefix, w->stage);
    int rc = qg_kafka_conf_default(conf, w->cfg, "group.id", group, errstr, sz);
    rc = rc ? rc : qg_kafka_conf_default(conf, w->cfg, "enable.auto.commit", "false", errstr, sz);
    rc = rc ? rc : qg_kafka_conf_default(conf, w->cfg, "auto.offset.reset", "earliest", errstr, sz);
    rc = rc ? rc
            : qg_kafka_conf_default(conf, w->cfg, "partition.assignment.strategy",
                                    "cooperative-sticky", errstr, sz);
    rc = rc ? rc
            : qg_kafka_conf_default(conf, w->cfg, "allow.auto.create.topics", "true", errstr, sz);
    rc = rc ? rc : qg_kafka_conf_default(conf, w->cfg, "client.id", w->worker_id, errstr, sz);
    /* Resumed partitions (retries coming due, the end of a long stage) join the next fetch
     * request; a shorter broker long-poll lets that happen sooner. */
    rc = rc ? rc : qg_kafka_conf_default(conf, w->cfg, "fetch.wait.max.ms", "100", errstr, sz);
    if (!rc && w->eos)
        rc = qg_kafka_conf_default(conf, w->cfg, "isolation.level", "read_committed", errstr, sz);
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, w);
    return qg_kafka_consumer_new(conf, errstr, sz);
}

static int subscribe(qg_worker_t *w, char *errstr, size_t sz)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(topics, w->in_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(topics, w->retry_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(w->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        snprintf(errstr, sz, "subscribe: %s", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* Topics this worker reads or always writes; others are created on first use. */
static void ensure_topics(qg_worker_t *w)
{
    if (!qg_config_get_bool(w->cfg, "topics.create", 1))
        return;
    /* librdkafka's mock cluster (qg-broker) has no CreateTopics and never answers
     * it; it auto-creates topics instead. Its cluster id says what it is. */
    char *cluster_id = rd_kafka_clusterid(w->producer, 5000);
    int is_mock = cluster_id && !strncmp(cluster_id, "mockCluster", 11);
    if (cluster_id)
        rd_kafka_mem_free(w->producer, cluster_id);
    if (is_mock)
        return;
    char completed[300], dlq[300], errstr[512];
    const char *topics[] = {w->in_topic, w->retry_topic,
                            qg_topic_completed(completed, sizeof(completed), w->prefix),
                            qg_topic_dlq(dlq, sizeof(dlq), w->prefix), NULL};
    if (qg_kafka_ensure_topics(w->producer, topics,
                               (int)qg_config_get_int(w->cfg, "topics.partitions", 6),
                               (int)qg_config_get_int(w->cfg, "topics.replication.factor", -1),
                               errstr, sizeof(errstr)) != 0)
        qg_info("worker",
                "topics not created here (%s); relying on existing or auto-created "
                "topics",
                errstr);
}

static int clients_new(qg_worker_t *w, char *errstr, size_t sz)
{
    w->consumer = consumer_new(w, errstr, sz);
    if (!w->consumer)
        return -1;
    char txn_id[512];
    snprintf(txn_id, sizeof(txn_id), "%s.%s.%s", w->prefix, w->stage, w->worker_id);
    w->producer = qg_kafka_producer_new(w->cfg, w->eos ? txn_id : NULL, dr_msg_cb, w, errstr, sz);
    if (!w->producer)
        return -1;
    if (w->eos) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(w->producer, 60000);
        if (e) {
            snprintf(errstr, sz, "init_transactions: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return -1;
        }
    }
    ensure_topics(w);
    return subscribe(w, errstr, sz);
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
    if (guarantee && !w->eos && strcmp(guarantee, "at_least_once") != 0) {
        snprintf(errstr, sz,
                 "processing.guarantee: expected at_least_once or exactly_once, got "
                 "\"%s\"",
                 guarantee);
        free(w);
        return NULL;
    }
    w->max_inflight = (long)qg_config_get_int(cfg, "max.inflight.goals", 5000);
    w->txn_max_messages = (long)qg_config_get_int(cfg, "transaction.max.messages", 500);
    w->txn_max_ms = (double)qg_config_get_int(cfg, "transaction.max.ms", 100);
    w->commit_interval_ms = (double)qg_config_get_int(cfg, "commit.interval.ms", 200);
    w->threaded = qg_config_get_bool(cfg, "stage.threaded", ops->long_running);
    w->health_file = qg_config_get(cfg, "health.file");
    qg_topic_stage(w->in_topic, sizeof(w->in_topic), w->prefix, w->stage);
    qg_topic_retry(w->retry_topic, sizeof(w->retry_topic), w->prefix, w->stage);
    if (parse_backoff(w, errstr, sz) != 0 || clients_new(w, errstr, sz) != 0) {
        qg_worker_destroy(w);
        return NULL;
    }
    w->proc = (qg_processor_t){
        .ops = ops,
        .state = state,
        .cfg = cfg,
        .stage = w->stage,
        .worker_id = w->worker_id,
        .max_bytes = (size_t)qg_config_get_int(cfg, "goal.max.bytes", 1048576),
        .extra_stages = qg_config_get(cfg, "pipeline.extra.stages"),
        .max_attempts = w->nbackoff + 1,
        .cancel = &w->cancel,
        .events = events,
    };
    w->last_commit_ms = qg_now_ms();
    return w;
}

static void *consumer_close_thread(void *arg)
{
    rd_kafka_consumer_close(arg);
    return NULL;
}

/*
 * Leave the group, waiting at most shutdown.timeout.ms: librdkafka 2.0.2's
 * close never returns once the group coordinator is unreachable (fixed in
 * 2.1.0). Returns 0 when closed; -1 when it timed out, and the consumer is then
 * left to the process exit (its uncommitted records are redelivered).
 */
static int consumer_close_bounded(qg_worker_t *w)
{
    pthread_t t;
    if (pthread_create(&t, NULL, consumer_close_thread, w->consumer) != 0) {
        rd_kafka_consumer_close(w->consumer);
        return 0;
    }
    long ms = (long)qg_config_get_int(w->cfg, "shutdown.timeout.ms", 10000);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    if (pthread_timedjoin_np(t, NULL, &deadline) == 0)
        return 0;
    qg_warn("worker",
            "leaving the consumer group took longer than %ld ms (Kafka unreachable?); "
            "exiting without it",
            ms);
    pthread_detach(t);
    return -1;
}

void qg_worker_destroy(qg_worker_t *w)
{
    if (!w)
        return;
    if (w->consumer && consumer_close_bounded(w) == 0)
        rd_kafka_destroy(w->consumer);
    if (w->producer) {
        rd_kafka_flush(w->producer, 10000);
        rd_kafka_destroy(w->producer);
    }
    for (size_t i = 0; i < w->ntracks; i++) {
        pending_t *p = w->tracks[i]->head;
        while (p) {
            pending_t *next = p->next;
            free(p);
            p = next;
        }
        free(w->tracks[i]);
    }
    free(w->tracks);
    free(w->paused);
    free(w);
}

void qg_worker_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int qg_worker_stopping(void)
{
    return worker_stop;
}
