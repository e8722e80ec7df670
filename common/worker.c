/*
 * worker.c - the one worker loop: consume -> run -> gate -> produce next / retry / DLQ,
 * then drain on the way out. The parts it uses are listed in worker_int.h.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "worker_int.h"

/* Consumer poll timeout of one loop iteration. */
#define POLL_MS 100
/* Poll timeout while a long job runs: its end is noticed within this. */
#define JOB_POLL_MS 10
/* Beyond two session timeouts, the wait for a first assignment before closing. */
#define FIRST_ASSIGNMENT_MARGIN_MS 5000.0
/* Producer poll interval while waiting for acknowledgements. */
#define INFLIGHT_POLL_MS 10

static volatile sig_atomic_t worker_stop;

static void on_signal(int sig)
{
    (void)sig;
    worker_stop = 1;
}

int qg_worker_stop_requested(void)
{
    return worker_stop;
}

int qg_worker_stopping(void)
{
    return worker_stop;
}

void qg_worker_request_stop(int stop)
{
    worker_stop = stop ? 1 : 0;
}

void qg_worker_fail(qg_worker_t *w, qg_error_t *err)
{
    if (!err)
        return;
    if (!w->fatal) {
        w->fatal = err;
        return;
    }
    qg_warn("worker", "after a fatal error: %s", qg_error_message(err));
    qg_error_destroy(err);
}

rd_kafka_t *qg_worker_consumer_of(const qg_worker_t *w, const char *topic)
{
    return !strcmp(topic, w->retry_topic) ? w->retry_consumer : w->consumer;
}

const qg_error_t *qg_worker_error(const qg_worker_t *w)
{
    return w->fatal;
}

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

/* How long to wait for a record: never past an open transaction's due time, so a
 * transaction whose records stopped coming commits on time, not a poll later. */
static int poll_timeout_ms(const qg_worker_t *w)
{
    if (w->job.running)
        return JOB_POLL_MS;
    if (w->eos && w->txn_open) {
        if (w->txn_commit_idle)
            return 0;
        double left = w->txn_started_ms + (double)w->txn_max_ms - qg_clock_ms();
        if (left < POLL_MS)
            return left > 0 ? (int)left + 1 : 0;
    }
    return POLL_MS;
}

/* Next record of either consumer (the retry consumer first, without waiting). */
static rd_kafka_message_t *poll_record(qg_worker_t *w)
{
    rd_kafka_message_t *rkm = rd_kafka_consumer_poll(w->retry_consumer, 0);
    if (!rkm)
        rkm = rd_kafka_consumer_poll(w->consumer, poll_timeout_ms(w));
    if (rkm && rkm->err) {
        if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            qg_log(rkm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? QG_LOG_DEBUG : QG_LOG_WARN,
                   "worker", "consumer: %s", rd_kafka_message_errstr(rkm));
        rd_kafka_message_destroy(rkm);
        return NULL;
    }
    return rkm;
}

static int consume_one(qg_worker_t *w)
{
    rd_kafka_message_t *rkm = poll_record(w);
    w->input_idle = rkm == NULL;
    if (!rkm)
        return 0;
    if (qg_retry_defer_if_not_due(w, rkm)) {
        rd_kafka_message_destroy(rkm);
        return 0;
    }
    if (w->job.running) {
        qg_job_hold_next(w, rkm);
        return 0;
    }
    if (w->threaded)
        return qg_job_start(w, rkm) < 0 ? -1 : 0;
    int rc = qg_worker_handle_record(w, rkm);
    rd_kafka_message_destroy(rkm);
    return rc;
}

/* Bound the records produced but not acknowledged; stop waiting when stopping. */
static void wait_inflight_below(qg_worker_t *w, long limit)
{
    while (w->inflight > limit && !w->fatal && !worker_stop)
        rd_kafka_poll(w->producer, INFLIGHT_POLL_MS);
}

static int loop_iteration(qg_worker_t *w)
{
    touch_health(w);
    if (qg_job_done(w) && qg_job_finish(w) != 0)
        return -1;
    qg_retry_resume_due(w);
    if (consume_one(w) != 0)
        return -1;
    rd_kafka_poll(w->producer, 0);
    if (w->eos) {
        if (qg_txn_due(w) && !w->job.running && qg_txn_commit(w) != 0)
            return -1;
    } else {
        wait_inflight_below(w, w->max_inflight);
        if (qg_clock_ms() - w->last_commit_ms >= w->commit_interval_ms)
            qg_offsets_commit(w, 0);
    }
    return w->fatal ? -1 : 0;
}

/*
 * librdkafka 2.0.2 aborts when a cooperative consumer is closed while its first
 * rebalance is still in progress (fixed in 2.3.0). A worker stopped right after
 * start therefore waits, bounded, for both first assignments before it closes;
 * records polled meanwhile are not processed and stay uncommitted.
 */
static void wait_first_assignment(qg_worker_t *w)
{
    const char *strategy = qg_config_get(w->cfg, "partition.assignment.strategy");
    if (strategy && !strstr(strategy, "cooperative"))
        return;
    /* A member restarted after a crash gets its first assignment only once the group
     * has dropped its old incarnation (one session timeout) and rebalanced: allow two. */
    const char *session = qg_config_get(w->cfg, "session.timeout.ms");
    double session_ms = session ? strtod(session, NULL) : 45000.0;
    double deadline = qg_clock_ms() + 2.0 * session_ms + FIRST_ASSIGNMENT_MARGIN_MS;
    while ((!w->assigned_once || !w->retry_assigned_once) && qg_clock_ms() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(w->retry_consumer, 0);
        if (rkm)
            rd_kafka_message_destroy(rkm);
        rkm = rd_kafka_consumer_poll(w->consumer, POLL_MS);
        if (rkm)
            rd_kafka_message_destroy(rkm);
    }
}

static void worker_drain(qg_worker_t *w)
{
    wait_first_assignment(w);
    qg_job_cancel_and_wait(w);
    if (w->eos) {
        if (!w->fatal)
            qg_txn_commit(w);
        else
            qg_txn_abort(w, qg_error_message(w->fatal));
    } else {
        rd_kafka_flush(w->producer, w->shutdown_timeout_ms);
        qg_offsets_commit(w, 1);
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
            w->processed, w->dead_lettered, w->retried, w->skipped, w->fatal ? "; fatal: " : "",
            qg_error_message(w->fatal));
    return w->fatal ? 1 : 0;
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
