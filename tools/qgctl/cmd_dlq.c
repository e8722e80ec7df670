/*
 * cmd_dlq.c - `qgctl dlq list | show GOAL_ID | replay GOAL_ID`.
 */
#include <stdlib.h>
#include <string.h>

#include "follow/follow.h"
#include "goal.h"
#include "kafka.h"
#include "qgctl.h"

typedef void (*dlq_visit_fn)(rd_kafka_message_t *rkm, void *opaque);

/* Records currently in the DLQ: sum over partitions of high - low watermark. */
static long dlq_size(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    long total = 0;
    if (!rd_kafka_metadata(rk, 0, rkt, &md, QGCTL_KAFKA_QUERY_MS) && md->topic_cnt == 1)
        for (int p = 0; p < md->topics[0].partition_cnt; p++) {
            int64_t lo = 0, hi = 0;
            if (!rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, QGCTL_KAFKA_QUERY_MS))
                total += (long)(hi - lo);
        }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return total;
}

static int dlq_scan(const qg_config_t *cfg, dlq_visit_fn fn, void *opaque)
{
    char topic[300], errstr[512];
    qg_topic_dlq(topic, sizeof(topic), qg_config_get(cfg, "topic.prefix"));
    rd_kafka_t *c = qg_follow_consumer_new(cfg, "qgctl", errstr, sizeof(errstr));
    const char *topics[] = {topic, NULL};
    if (!c || qg_follow_assign(c, topics, 0, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "qgctl dlq: %s\n", errstr);
        if (c)
            rd_kafka_destroy(c);
        return -1;
    }
    long want = dlq_size(c, topic);
    for (long seen = 0; seen < want;) {
        rd_kafka_message_t *rkm = qg_follow_wait(c, NULL, qg_now_ms() + QGCTL_DLQ_IDLE_MS, NULL);
        if (!rkm)
            break;
        fn(rkm, opaque);
        rd_kafka_message_destroy(rkm);
        seen++;
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return 0;
}

static void hdr(const rd_kafka_message_t *rkm, const char *name, char *buf, size_t sz)
{
    if (!qg_kafka_header(rkm, name, buf, sz))
        snprintf(buf, sz, "-");
}

static void list_one(rd_kafka_message_t *rkm, void *opaque)
{
    (void)opaque;
    char cls[64], stage[128], msg[512], ts[64];
    hdr(rkm, QG_HDR_DLQ_CLASS, cls, sizeof(cls));
    hdr(rkm, QG_HDR_DLQ_STAGE, stage, sizeof(stage));
    hdr(rkm, QG_HDR_DLQ_MESSAGE, msg, sizeof(msg));
    hdr(rkm, QG_HDR_DLQ_TIMESTAMP, ts, sizeof(ts));
    printf("%-40.*s %-20s %-14s %-24s %s\n", rkm->key ? (int)rkm->key_len : 1,
           rkm->key ? (const char *)rkm->key : "-", cls, stage, ts, msg);
}

typedef struct {
    const char *goal_id;
    rd_kafka_message_t *last; /* a copy of the newest match */
    int print;                /* show: print the headers of each match */
    char stage[128];
    char *value;
    size_t len;
} dlq_find_t;

static void find_one(rd_kafka_message_t *rkm, void *opaque)
{
    dlq_find_t *f = opaque;
    size_t n = strlen(f->goal_id);
    if (!rkm->key || rkm->key_len != n || memcmp(rkm->key, f->goal_id, n))
        return;
    free(f->value);
    f->value = malloc(rkm->len + 1);
    if (!f->value)
        return;
    memcpy(f->value, rkm->payload, rkm->len);
    f->value[rkm->len] = '\0';
    f->len = rkm->len;
    hdr(rkm, QG_HDR_DLQ_STAGE, f->stage, sizeof(f->stage));
    if (!f->print)
        return;
    printf("goal      %s\n", f->goal_id);
    const char *names[] = {QG_HDR_DLQ_CLASS,  QG_HDR_DLQ_STAGE,     QG_HDR_DLQ_MESSAGE,
                           QG_HDR_DLQ_TOPIC,  QG_HDR_DLQ_PARTITION, QG_HDR_DLQ_OFFSET,
                           QG_HDR_DLQ_WORKER, QG_HDR_DLQ_ATTEMPTS,  QG_HDR_DLQ_TIMESTAMP};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char v[2048];
        hdr(rkm, names[i], v, sizeof(v));
        printf("%-36s %s\n", names[i], v);
    }
}

static const qg_cli_t dlq_cli = {
    .program = "qgctl dlq",
    .usage = "list | show GOAL_ID | replay GOAL_ID [options]",
    .about = "Dead letters with their reasons; replay sends one back to the stage that "
             "dead-lettered it (--wait follows it).",
    .max_positional = 2,
};

int qgctl_cmd_dlq(int argc, char **argv)
{
    char **rest;
    int nrest, rc;
    qg_config_t *cfg =
        qgctl_config(&dlq_cli, argc, argv, qgctl_submit_options(), &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    rc = 2;
    if (nrest >= 1 && !strcmp(rest[0], "list")) {
        printf("%-40s %-20s %-14s %-24s %s\n", "GOAL", "CLASS", "STAGE", "TIME", "REASON");
        rc = dlq_scan(cfg, list_one, NULL) ? 1 : 0;
    } else if (nrest >= 2 && (!strcmp(rest[0], "show") || !strcmp(rest[0], "replay"))) {
        dlq_find_t f = {.goal_id = rest[1], .print = !strcmp(rest[0], "show")};
        rc = dlq_scan(cfg, find_one, &f) ? 1 : 0;
        if (!rc && !f.value) {
            fprintf(stderr, "qgctl dlq: no dead letter for goal %s\n", rest[1]);
            rc = 1;
        } else if (!rc && !strcmp(rest[0], "show")) {
            printf("value\n%s\n", f.value);
        } else if (!rc) {
            rc = qgctl_send(cfg, f.stage, f.goal_id, f.value, f.len);
        }
        free(f.value);
    } else {
        fprintf(stderr, "Usage: qgctl dlq list | show GOAL_ID | replay GOAL_ID\n");
    }
    qg_config_destroy(cfg);
    return rc;
}
