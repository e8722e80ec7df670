/*
 * worker_retry.c - retry topic pacing.
 *
 * A transient failure sends the input unchanged to <prefix>.<stage>.retry with
 * attempt and not-before headers. The retry consumer pauses a retry partition
 * until its head record is due, so no goal waits behind a goal that waits. The
 * not-before time is epoch time, written by whichever worker failed the goal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "worker_int.h"

/* Longest wait for the seek that puts a not-yet-due record back. */
#define SEEK_TIMEOUT_MS 5000

/* Remember when a retry partition is due. 0, or -1 when it cannot be tracked. */
static int track_paused(qg_worker_t *w, int32_t partition, double resume_at)
{
    for (size_t i = 0; i < w->npaused; i++)
        if (w->paused[i].partition == partition) {
            w->paused[i].resume_at_wall_ms = resume_at;
            return 0;
        }
    if (w->npaused == w->cap_paused) {
        size_t cap = w->cap_paused ? w->cap_paused * 2 : 8;
        qg_paused_t *np = realloc(w->paused, cap * sizeof(*np));
        if (!np)
            return -1;
        w->paused = np;
        w->cap_paused = cap;
    }
    w->paused[w->npaused++] = (qg_paused_t){partition, resume_at};
    return 0;
}

static void pause_partition(qg_worker_t *w, int32_t partition, int pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (!l)
        return;
    rd_kafka_topic_partition_list_add(l, w->retry_topic, partition);
    if (pause)
        rd_kafka_pause_partitions(w->retry_consumer, l);
    else
        rd_kafka_resume_partitions(w->retry_consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
}

void qg_retry_forget(qg_worker_t *w, const rd_kafka_topic_partition_list_t *revoked)
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
    if (!l)
        return;
    rd_kafka_topic_partition_list_add(l, w->retry_topic, rkm->partition)->offset = rkm->offset;
    rd_kafka_pause_partitions(w->retry_consumer, l);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(w->retry_consumer, l, SEEK_TIMEOUT_MS);
    if (e) {
        qg_warn("worker", "seek back on retry topic failed: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

void qg_retry_resume_due(qg_worker_t *w)
{
    if (w->job_paused) /* every partition stays paused until the job is done */
        return;
    double now = qg_clock_wall_ms();
    for (size_t i = 0; i < w->npaused;) {
        if (w->paused[i].resume_at_wall_ms > now) {
            i++;
            continue;
        }
        pause_partition(w, w->paused[i].partition, 0);
        w->paused[i] = w->paused[--w->npaused];
    }
}

void qg_retry_repause(qg_worker_t *w)
{
    for (size_t i = 0; i < w->npaused; i++)
        pause_partition(w, w->paused[i].partition, 1);
}

int qg_retry_defer_if_not_due(qg_worker_t *w, const rd_kafka_message_t *rkm)
{
    if (strcmp(rd_kafka_topic_name(rkm->rkt), w->retry_topic) != 0)
        return 0;
    char buf[32];
    const char *nb = qg_kafka_header(rkm, QG_HDR_NOT_BEFORE, buf, sizeof(buf));
    double due = nb ? strtod(nb, NULL) : 0;
    if (due <= qg_clock_wall_ms())
        return 0;
    if (track_paused(w, rkm->partition, due) != 0) {
        qg_warn("worker", "out of memory pacing retries: running a retry early");
        return 0;
    }
    pause_one(w, rkm);
    return 1;
}
