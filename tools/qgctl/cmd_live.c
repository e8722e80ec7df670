/*
 * cmd_live.c - live promises from the command line:
 *   qgctl watch --live GOAL_ID [--ttl DURATION] [--stop]
 *       keep an answered goal watched by qg-trigger (its last answer is read
 *       from <prefix>.completed and written to <prefix>.watches); --stop ends it.
 *   qgctl tail TOPIC [--from-beginning] [--key K] [--count N] [--timeout S] [--timestamps]
 *       print the values of a topic's records, one per line (e.g.
 *       <prefix>.updates: the updated answers of watched goals).
 *   qgctl produce TOPIC [--key K]
 *       each line of standard input becomes one record.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "follow/follow.h"
#include "goal.h"
#include "kafka.h"
#include "qgctl.h"

static const qg_option_t live_options[] = {
    QG_OPT_BOOL("live", "false", "watch an answered goal (qg-trigger keeps it up to date)"),
    QG_OPT_BOOL("stop", "false", "stop watching the goal"),
    QG_OPT_MS("ttl", "86400000", 1000, 31536000000.0, "how long the goal stays watched"),
    QG_OPT_BOOL("from.beginning", "false", "tail: read the topic from its start"),
    QG_OPT_STR("key", "", "tail: only records with this key"),
    QG_OPT_INT("count", "0", 0, 100000000, "tail: stop after this many records (0: no limit)"),
    QG_OPT_BOOL("timestamps", "false", "tail: put the time read (epoch ms) before each record"),
    QG_OPT_DOUBLE("timeout", "0", 0, 31536000, "seconds to run (0: until interrupted)"),
    QG_OPT_TABLE_END("qgctl-live"),
};

static volatile int live_stop;

static void on_signal(int sig)
{
    (void)sig;
    live_stop = 1;
}

/* The value of the last record keyed goal_id in <prefix>.completed, read from the
 * start to the end (a copy: a message must not outlive its consumer). */
static qg_json_t *last_answer(const qg_config_t *cfg, const char *goal_id)
{
    char completed[300], errstr[512];
    qg_topic_completed(completed, sizeof(completed), qg_config_get(cfg, "topic.prefix"));
    const char *topics[] = {completed, NULL};
    rd_kafka_t *c = qg_follow_consumer_new(cfg, "qgctl", errstr, sizeof(errstr));
    if (!c || qg_follow_assign(c, topics, 0, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "qgctl watch: %s\n", errstr);
        if (c)
            rd_kafka_destroy(c);
        return NULL;
    }
    qg_json_t *last = NULL;
    double idle_until = qg_now_ms() + 3000;
    while (qg_now_ms() < idle_until && !live_stop) {
        rd_kafka_message_t *rkm = qg_follow_wait(c, goal_id, qg_now_ms() + 500, &live_stop);
        if (!rkm)
            continue;
        qg_json_t *doc =
            rkm->payload ? qg_json_parse(rkm->payload, rkm->len, errstr, sizeof(errstr)) : NULL;
        rd_kafka_message_destroy(rkm);
        if (doc) {
            qg_json_destroy(last);
            last = doc;
        }
        idle_until = qg_now_ms() + 1500;
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return last;
}

static int produce_watch(const qg_config_t *cfg, const char *goal_id, const char *value, size_t len)
{
    char topic[300], errstr[512];
    snprintf(topic, sizeof(topic), "%s.watches", qg_config_get(cfg, "topic.prefix"));
    rd_kafka_t *p = qg_kafka_producer_new(cfg, NULL, NULL, NULL, errstr, sizeof(errstr));
    if (!p) {
        fprintf(stderr, "qgctl watch: %s\n", errstr);
        return 1;
    }
    rd_kafka_resp_err_t e =
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(goal_id, strlen(goal_id)),
                          RD_KAFKA_V_VALUE((void *)value, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (!e)
        e = rd_kafka_flush(p, 30000);
    rd_kafka_destroy(p);
    if (e) {
        fprintf(stderr, "qgctl watch: producing to %s: %s\n", topic, rd_kafka_err2str(e));
        return 1;
    }
    return 0;
}

static int watch_live(const qg_config_t *cfg, const char *goal_id)
{
    if (qg_config_bool(cfg, "stop")) {
        int rc = produce_watch(cfg, goal_id, NULL, 0);
        if (!rc)
            printf("goal %s: no longer watched\n", goal_id);
        return rc;
    }
    qg_json_t *doc = last_answer(cfg, goal_id);
    if (!doc) {
        fprintf(stderr, "qgctl watch: goal %s has no answer in the completed topic\n", goal_id);
        return 1;
    }
    qg_json_t *rec = qg_json_object();
    double expires = qg_now_ms() + (double)qg_config_ms(cfg, "ttl");
    if (!doc || !rec || qg_json_set_str(rec, "goalId", goal_id) ||
        qg_json_set_num(rec, "expiresAtMs", expires) || qg_json_set(rec, "goal", doc)) {
        fprintf(stderr, "qgctl watch: goal %s: unreadable answer\n", goal_id);
        qg_json_destroy(rec);
        return 1;
    }
    size_t len;
    char *value = qg_json_serialize(rec, 0, &len);
    int rc = value ? produce_watch(cfg, goal_id, value, len) : 1;
    if (!rc)
        printf("goal %s: watched live for %lld s\n", goal_id, qg_config_ms(cfg, "ttl") / 1000);
    free(value);
    qg_json_destroy(rec);
    return rc;
}

static const qg_cli_t watch_live_cli = {
    .program = "qgctl watch --live",
    .usage = "GOAL_ID [--ttl DURATION] [--stop]",
    .about = "Keeps an answered goal watched: qg-trigger re-runs it when the AAS data its binding "
             "read changes and publishes the new answer to <prefix>.updates.",
    .max_positional = 1,
};

static const qg_cli_t tail_cli = {
    .program = "qgctl tail",
    .usage = "TOPIC [--from-beginning] [--key K] [--count N] [--timeout S] [--timestamps]",
    .about = "Prints a topic's records, one per line (e.g. <prefix>.updates).",
    .max_positional = 1,
};

static const qg_cli_t produce_cli = {
    .program = "qgctl produce",
    .usage = "TOPIC [--key K] < lines",
    .about = "Sends each line of standard input as one record.",
    .max_positional = 1,
};

int qgctl_cmd_watch_live(int argc, char **argv)
{
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = qgctl_config(&watch_live_cli, argc, argv, live_options, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    rc = 2;
    if (nrest != 1)
        fprintf(stderr, "Usage: qgctl watch --live GOAL_ID [--ttl DURATION] [--stop]\n");
    else
        rc = watch_live(cfg, rest[0]);
    qg_config_destroy(cfg);
    return rc;
}

static int key_matches(const rd_kafka_message_t *rkm, const char *key)
{
    return !*key ||
           (rkm->key && rkm->key_len == strlen(key) && !memcmp(rkm->key, key, rkm->key_len));
}

static int tail(const qg_config_t *cfg, const char *topic)
{
    char errstr[512];
    const char *topics[] = {topic, NULL};
    int from_start = qg_config_bool(cfg, "from.beginning");
    rd_kafka_t *c = qg_follow_consumer_new(cfg, "qgctl", errstr, sizeof(errstr));
    if (!c || qg_follow_assign(c, topics, !from_start, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "qgctl tail: %s\n", errstr);
        if (c)
            rd_kafka_destroy(c);
        return 1;
    }
    const char *key = qg_config_get(cfg, "key");
    int stamps = qg_config_bool(cfg, "timestamps");
    long long count = qg_config_int(cfg, "count"), seen = 0;
    double timeout = qg_config_double(cfg, "timeout");
    double until = timeout > 0 ? qg_now_ms() + 1000 * timeout : 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!live_stop && (!until || qg_now_ms() < until) && (!count || seen < count)) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c, 200);
        if (!rkm)
            continue;
        if (!rkm->err && key_matches(rkm, key)) {
            if (stamps)
                printf("%.0f ", qg_now_ms());
            if (rkm->payload)
                fwrite(rkm->payload, 1, rkm->len, stdout);
            else
                fputs("null", stdout);
            fputc('\n', stdout);
            fflush(stdout);
            seen++;
        }
        rd_kafka_message_destroy(rkm);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return count && seen < count ? 3 : 0;
}

int qgctl_cmd_tail(int argc, char **argv)
{
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = qgctl_config(&tail_cli, argc, argv, live_options, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    rc = 2;
    if (nrest != 1)
        fprintf(stderr, "Usage: qgctl tail TOPIC [--from-beginning] [--key K] [--count N] "
                        "[--timeout S]\n");
    else
        rc = tail(cfg, rest[0]);
    qg_config_destroy(cfg);
    return rc;
}

/* qgctl produce TOPIC [--key K]: each line of standard input is one record. */
int qgctl_cmd_produce(int argc, char **argv)
{
    char **rest, errstr[512], line[65536];
    int nrest, rc;
    qg_config_t *cfg = qgctl_config(&produce_cli, argc, argv, live_options, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    rc = 0;
    rd_kafka_t *p =
        nrest == 1 ? qg_kafka_producer_new(cfg, NULL, NULL, NULL, errstr, sizeof(errstr)) : NULL;
    if (!p) {
        fprintf(stderr,
                nrest == 1 ? "qgctl produce: %s\n"
                           : "Usage: qgctl produce TOPIC [--key K] < lines\n",
                errstr);
        qg_config_destroy(cfg);
        return 2;
    }
    const char *key = qg_config_get(cfg, "key");
    while (!rc && fgets(line, sizeof(line), stdin)) {
        size_t len = strcspn(line, "\n");
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(
                    p, RD_KAFKA_V_TOPIC(rest[0]), RD_KAFKA_V_KEY(key, *key ? strlen(key) : 0),
                    RD_KAFKA_V_VALUE(line, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 100);
        if (e) {
            fprintf(stderr, "qgctl produce: %s\n", rd_kafka_err2str(e));
            rc = 1;
        }
    }
    if (rd_kafka_flush(p, 30000))
        rc = 1;
    rd_kafka_destroy(p);
    qg_config_destroy(cfg);
    return rc;
}
