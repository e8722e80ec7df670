/*
 * cmd_submit.c - `qgctl submit`: produce a goal to its first stage; with
 * --wait, follow it to <prefix>.completed or <prefix>.dlq and summarize.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "follow/follow.h"
#include "file.h"
#include "goal.h"
#include "kafka.h"
#include "qgctl.h"

static const qg_option_t submit_options[] = {
    QG_OPT_BOOL("wait", "false", "follow the goal until it completes or is dead-lettered"),
    QG_OPT_INT("timeout", "300", 1, 604800, "seconds to wait with --wait"),
    QG_OPT_BOOL("json", "false", "print the whole enriched goal as JSON"),
    QG_OPT_STR("events.watch", "tcp://127.0.0.1:5560",
               "event forwarder's XPUB endpoint (progress)"),
    QG_OPT_TABLE_END("qgctl-submit"),
};

static const qg_cli_t submit_cli = {
    .program = "qgctl submit",
    .usage = "[FILE|-] [options]",
    .about = "Sends a goal (a file, or stdin) to its first stage; --wait follows it to its answer.",
    .max_positional = 1,
};

static volatile int submit_stop;

static void on_signal(int sig)
{
    (void)sig;
    submit_stop = 1;
}

static int produce_goal(const qg_config_t *cfg, const char *topic, const char *key,
                        const char *value, size_t len)
{
    char errstr[512];
    rd_kafka_t *p = qg_kafka_producer_new(cfg, NULL, NULL, NULL, errstr, sizeof(errstr));
    if (!p) {
        fprintf(stderr, "qgctl: %s\n", errstr);
        return -1;
    }
    rd_kafka_resp_err_t err =
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)value, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (!err)
        err = rd_kafka_flush(p, QGCTL_SEND_MS);
    rd_kafka_destroy(p);
    if (err) {
        fprintf(stderr, "qgctl: producing to %s: %s\n", topic, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

static void print_event(const qg_json_t *ev)
{
    const char *stage = qg_json_str(qg_json_get(ev, "stage"));
    const char *state = qg_json_str(qg_json_get(ev, "state"));
    const qg_json_t *gen = qg_json_get(ev, "generation");
    fprintf(stderr, "  .. %s %s", stage ? stage : "?", state ? state : "?");
    if (gen)
        fprintf(stderr, " generation %.0f best %.0f", qg_json_num(gen, 0),
                qg_json_num(qg_json_get(ev, "best"), 0));
    fputc('\n', stderr);
}

static int report_outcome(const qg_config_t *cfg, rd_kafka_message_t *rkm, const char *dlq_topic)
{
    int json = qg_config_bool(cfg, "json");
    int failed = !strcmp(rd_kafka_topic_name(rkm->rkt), dlq_topic);
    char errstr[256], cls[64], msg[2048];
    qg_json_t *doc = qg_json_parse(rkm->payload, rkm->len, errstr, sizeof(errstr));
    if (json) {
        fwrite(rkm->payload, 1, rkm->len, stdout);
        fputc('\n', stdout);
    } else if (doc && !failed) {
        qgctl_print_summary(doc, stdout);
    }
    if (failed) {
        fprintf(json ? stderr : stdout, "dead-lettered (%s): %s\n",
                qg_kafka_header(rkm, QG_HDR_DLQ_CLASS, cls, sizeof(cls)) ? cls : "?",
                qg_kafka_header(rkm, QG_HDR_DLQ_MESSAGE, msg, sizeof(msg)) ? msg : "?");
    }
    qg_json_destroy(doc);
    return failed ? 1 : 0;
}

static int wait_for(const qg_config_t *cfg, rd_kafka_t *consumer, const char *goal_id,
                    const char *dlq_topic)
{
    char errstr[256];
    qg_events_sub_t *sub =
        qg_events_sub_new(qg_config_get(cfg, "events.watch"), goal_id, errstr, sizeof(errstr));
    double deadline = qg_now_ms() + 1000.0 * (double)qg_config_int(cfg, "timeout");
    rd_kafka_message_t *rkm = NULL;
    while (!rkm && qg_now_ms() < deadline && !submit_stop) {
        rkm = qg_follow_wait(consumer, goal_id, qg_now_ms() + QGCTL_POLL_SLICE_MS, &submit_stop);
        for (qg_json_t *ev; sub && (ev = qg_events_sub_recv(sub, 0));) {
            print_event(ev);
            qg_json_destroy(ev);
        }
    }
    qg_events_sub_destroy(sub);
    if (!rkm) {
        fprintf(stderr, "qgctl submit: goal %s: no answer within %lld s\n", goal_id,
                qg_config_int(cfg, "timeout"));
        return 3;
    }
    int rc = report_outcome(cfg, rkm, dlq_topic);
    rd_kafka_message_destroy(rkm);
    return rc;
}

int qgctl_send(const qg_config_t *cfg, const char *stage, const char *goal_id, const void *value,
               size_t len)
{
    const char *prefix = qg_config_get(cfg, "topic.prefix");
    char topic[300], completed[300], dlq[300], errstr[512];
    qg_topic_stage(topic, sizeof(topic), prefix, stage);
    qg_topic_completed(completed, sizeof(completed), prefix);
    qg_topic_dlq(dlq, sizeof(dlq), prefix);
    int wait = qg_config_bool(cfg, "wait");
    rd_kafka_t *consumer = NULL;
    if (wait) {
        /* Follow from the current end, so only what happens to this send counts. */
        const char *topics[] = {completed, dlq, NULL};
        srand((unsigned)time(NULL) ^ (unsigned)getpid());
        consumer = qg_follow_consumer_new(cfg, "qgctl", errstr, sizeof(errstr));
        if (!consumer || qg_follow_assign(consumer, topics, 1, errstr, sizeof(errstr)) != 0) {
            fprintf(stderr, "qgctl: %s\n", errstr);
            if (consumer)
                rd_kafka_destroy(consumer);
            return 1;
        }
    }
    int rc = produce_goal(cfg, topic, goal_id, value, len) == 0 ? 0 : 1;
    if (rc == 0 && !wait)
        printf("sent %s to %s\n", goal_id, topic);
    if (rc == 0 && wait) {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        fprintf(stderr, "sent %s to %s; waiting\n", goal_id, topic);
        rc = wait_for(cfg, consumer, goal_id, dlq);
    }
    if (consumer) {
        rd_kafka_consumer_close(consumer);
        rd_kafka_destroy(consumer);
    }
    return rc;
}

int qgctl_submit_doc(const qg_config_t *cfg, const qg_json_t *doc)
{
    size_t len;
    char *value = qg_json_serialize(doc, 0, &len);
    if (!value)
        return 1;
    int rc = qgctl_send(cfg, qg_goal_first_stage(doc), qg_goal_id(doc), value, len);
    free(value);
    return rc;
}

const qg_option_t *qgctl_submit_options(void)
{
    return submit_options;
}

int qgctl_cmd_submit(int argc, char **argv)
{
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = qgctl_config(&submit_cli, argc, argv, submit_options, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    char errstr[512];
    size_t len;
    rc = 2;
    char *buf = qg_file_read(nrest > 0 ? rest[0] : "-", 0, &len, NULL, errstr, sizeof(errstr));
    qg_error_t *err = NULL;
    qg_json_t *doc =
        buf ? qg_goal_parse(buf, len, qg_config_get(cfg, "pipeline.extra.stages"), &err) : NULL;
    if (!buf)
        fprintf(stderr, "qgctl submit: %s\n", errstr);
    else if (!doc)
        fprintf(stderr, "qgctl submit: invalid goal: %s\n", qg_error_message(err));
    else
        rc = qgctl_submit_doc(cfg, doc);
    qg_error_destroy(err);
    qg_json_destroy(doc);
    free(buf);
    qg_config_destroy(cfg);
    return rc;
}

/* `qgctl wait GOAL_ID`: the outcome of a goal sent earlier or elsewhere (HTTP,
 * a trigger, another qgctl), read from the beginning of completed and the DLQ. */
static const qg_cli_t wait_cli = {
    .program = "qgctl wait",
    .usage = "GOAL_ID [options]",
    .about = "Waits for a goal's outcome in <prefix>.completed or <prefix>.dlq, read from their "
             "beginning: exit 0 completed, 1 failed or dead-lettered, 3 no answer in time.",
    .max_positional = 1,
};

int qgctl_cmd_wait(int argc, char **argv)
{
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = qgctl_config(&wait_cli, argc, argv, submit_options, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    const char *prefix = qg_config_get(cfg, "topic.prefix");
    char completed[300], dlq[300], errstr[512];
    const char *topics[] = {qg_topic_completed(completed, sizeof(completed), prefix),
                            qg_topic_dlq(dlq, sizeof(dlq), prefix), NULL};
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    rd_kafka_t *consumer =
        nrest == 1 ? qg_follow_consumer_new(cfg, "qgctl", errstr, sizeof(errstr)) : NULL;
    rc = 2;
    if (nrest != 1)
        fprintf(stderr, "qgctl wait: a GOAL_ID is needed\n");
    else if (!consumer || qg_follow_assign(consumer, topics, 0, errstr, sizeof(errstr)) != 0)
        fprintf(stderr, "qgctl wait: %s\n", errstr);
    else
        rc = wait_for(cfg, consumer, rest[0], dlq);
    if (consumer) {
        rd_kafka_consumer_close(consumer);
        rd_kafka_destroy(consumer);
    }
    qg_config_destroy(cfg);
    return rc;
}
