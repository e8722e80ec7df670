/*
 * worker_offsets.c - at-least-once offset tracking.
 *
 * The input offset of a record is committed only after the record it produced
 * (next stage, completed, retry or DLQ) was acknowledged by the broker.
 * Acknowledgements may arrive out of order, so each input partition keeps its
 * records in input order and commits the acknowledged prefix, through the
 * consumer (main or retry) that read the partition.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "worker_int.h"

static qg_track_t *track_find(qg_worker_t *w, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < w->ntracks; i++)
        if (w->tracks[i]->partition == partition && !strcmp(w->tracks[i]->topic, topic))
            return w->tracks[i];
    if (w->ntracks == w->cap_tracks) {
        size_t cap = w->cap_tracks ? w->cap_tracks * 2 : 16;
        qg_track_t **tracks = realloc(w->tracks, cap * sizeof(*tracks));
        if (!tracks)
            return NULL;
        w->tracks = tracks;
        w->cap_tracks = cap;
    }
    qg_track_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    snprintf(t->topic, sizeof(t->topic), "%s", topic);
    t->partition = partition;
    t->commit_next = t->committed_next = -1;
    w->tracks[w->ntracks++] = t;
    return t;
}

qg_pending_t *qg_offsets_pending_new(qg_worker_t *w, const char *topic, int32_t partition,
                                     int64_t offset)
{
    qg_track_t *t = track_find(w, topic, partition);
    qg_pending_t *p = t ? calloc(1, sizeof(*p)) : NULL;
    if (!p)
        return NULL;
    p->track = t;
    p->offset = offset;
    return p;
}

void qg_offsets_pending_add(qg_worker_t *w, qg_pending_t *p)
{
    qg_track_t *t = p->track;
    if (t->tail)
        t->tail->next = p;
    else
        t->head = p;
    t->tail = p;
    w->inflight++;
}

/* Pop acknowledged records from the head of every partition. */
static void tracks_advance(qg_worker_t *w)
{
    for (size_t i = 0; i < w->ntracks; i++) {
        qg_track_t *t = w->tracks[i];
        while (t->head && t->head->done) {
            qg_pending_t *p = t->head;
            t->commit_next = p->offset + 1;
            t->head = p->next;
            if (!t->head)
                t->tail = NULL;
            free(p);
        }
    }
}

/* Add the partitions of one consumer's topic whose acknowledged prefix moved. */
static void commit_topic(qg_worker_t *w, const char *topic, int sync)
{
    rd_kafka_t *consumer = qg_worker_consumer_of(w, topic);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    if (!list || !consumer) {
        if (list)
            rd_kafka_topic_partition_list_destroy(list);
        return;
    }
    for (size_t i = 0; i < w->ntracks; i++) {
        qg_track_t *t = w->tracks[i];
        if (strcmp(t->topic, topic) != 0)
            continue;
        if (t->commit_next >= 0 && t->commit_next != t->committed_next) {
            rd_kafka_topic_partition_list_add(list, t->topic, t->partition)->offset =
                t->commit_next;
            t->committed_next = t->commit_next;
        }
    }
    if (list->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_commit(consumer, list, !sync);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            qg_warn("worker", "offset commit on %s failed: %s", topic, rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(list);
}

void qg_offsets_commit(qg_worker_t *w, int sync)
{
    tracks_advance(w);
    commit_topic(w, w->in_topic, sync);
    commit_topic(w, w->retry_topic, sync);
    w->last_commit_ms = qg_clock_ms();
}

void qg_offsets_destroy(qg_worker_t *w)
{
    for (size_t i = 0; i < w->ntracks; i++) {
        qg_pending_t *p = w->tracks[i]->head;
        while (p) {
            qg_pending_t *next = p->next;
            free(p);
            p = next;
        }
        free(w->tracks[i]);
    }
    free(w->tracks);
    w->tracks = NULL;
    w->ntracks = w->cap_tracks = 0;
}
