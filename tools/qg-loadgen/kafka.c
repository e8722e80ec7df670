/*
 * kafka.c - librdkafka set-up for qg-loadgen: configuration, topics, assignment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadgen.h"

const char *lg_topic(char *buf, size_t sz, const char *prefix, const char *name)
{
    snprintf(buf, sz, "%s.%s", prefix, name);
    return buf;
}

rd_kafka_conf_t *lg_kafka_conf(const lg_opts_t *o, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->brokers, errstr, errstr_size))
        goto fail;
    for (int i = 0; i < o->nprops; i++)
        if (rd_kafka_conf_set(conf, o->props[i][0], o->props[i][1], errstr, errstr_size))
            goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* Every topic a run touches: stages, their retry topics, completed, dlq. */
static int topic_names(const lg_opts_t *o, char names[][300], int max)
{
    int n = 0;
    char stage[256];
    for (int p = 0; p < o->npipelines; p++) {
        for (int s = 0; s < o->pipelines[p].n; s++) {
            const char *st = o->pipelines[p].stage[s];
            lg_topic(stage, sizeof(stage), o->prefix, st);
            int dup = 0;
            for (int k = 0; k < n && !dup; k++)
                dup = strcmp(names[k], stage) == 0;
            if (dup || n + 2 > max)
                continue;
            snprintf(names[n++], 300, "%s", stage);
            snprintf(names[n++], 300, "%s.retry", stage);
        }
    }
    if (n + 2 <= max) {
        lg_topic(names[n++], 300, o->prefix, "completed");
        lg_topic(names[n++], 300, o->prefix, "dlq");
    }
    return n;
}

/* Report per-topic results; "already exists" is fine. */
static qg_error_t *check_create_result(rd_kafka_event_t *ev)
{
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    if (!res)
        return qg_error_new_transient("CreateTopics: %s", rd_kafka_event_error_string(ev));
    size_t cnt;
    const rd_kafka_topic_result_t **trs = rd_kafka_CreateTopics_result_topics(res, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(trs[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            return qg_error_new_transient("creating topic %s: %s",
                                          rd_kafka_topic_result_name(trs[i]),
                                          rd_kafka_topic_result_error_string(trs[i]));
    }
    return NULL;
}

static qg_error_t *create_topics_with(rd_kafka_t *rk, const lg_opts_t *o)
{
    char names[2 * LG_MAX_PIPELINES * LG_MAX_STAGES + 2][300];
    int n = topic_names(o, names, (int)(sizeof(names) / sizeof(names[0])));
    rd_kafka_NewTopic_t *nts[sizeof(names) / sizeof(names[0])];
    char errstr[256];
    int made = 0;
    qg_error_t *err = NULL;
    for (; made < n; made++) {
        nts[made] = rd_kafka_NewTopic_new(names[made], o->partitions, 1, errstr, sizeof(errstr));
        if (!nts[made]) {
            err = qg_error_new_bad_input("topic %s: %s", names[made], errstr);
            goto out;
        }
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nts, (size_t)n, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, LG_CREATE_MS);
    err = ev ? check_create_result(ev)
             : qg_error_new_transient("CreateTopics: no answer within %d s", LG_CREATE_MS / 1000);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
out:
    for (int i = 0; i < made; i++)
        rd_kafka_NewTopic_destroy(nts[i]);
    return err;
}

/* A client for admin requests (topics, groups). */
static qg_error_t *admin_client_new(const lg_opts_t *o, rd_kafka_t **rkp)
{
    char errstr[512];
    rd_kafka_conf_t *conf = lg_kafka_conf(o, errstr, sizeof(errstr));
    *rkp = NULL;
    if (!conf)
        return qg_error_new_bad_input("%s", errstr);
    *rkp = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!*rkp) {
        rd_kafka_conf_destroy(conf);
        return qg_error_new_fatal("rd_kafka_new: %s", errstr);
    }
    return NULL;
}

qg_error_t *lg_create_topics(const lg_opts_t *o)
{
    rd_kafka_t *rk;
    qg_error_t *err = admin_client_new(o, &rk);
    if (err)
        return err;
    err = create_topics_with(rk, o);
    rd_kafka_destroy(rk);
    return err;
}

/* Partition count of a topic, 0 while it does not exist yet, -1 on error. */
static int topic_partitions(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, LG_ADMIN_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        n = 0;
        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return n;
}

/* Where partition p of topic starts: its high watermark now, or the beginning. */
static int64_t start_offset(rd_kafka_t *rk, const char *topic, int p, int from_end)
{
    int64_t low, high;
    if (from_end && rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, LG_ADMIN_MS) ==
                        RD_KAFKA_RESP_ERR_NO_ERROR)
        return high;
    return RD_KAFKA_OFFSET_BEGINNING;
}

qg_error_t *lg_assign_all(rd_kafka_t *rk, const char *const *topics, const int *required,
                          int ntopics, double timeout_s, int from_end)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    double deadline = lg_now_ms() + timeout_s * 1000;
    for (int t = 0; t < ntopics; t++) {
        int n;
        while ((n = topic_partitions(rk, topics[t])) <= 0 && required[t]) {
            if (lg_now_ms() > deadline) {
                rd_kafka_topic_partition_list_destroy(parts);
                return qg_error_new_transient("topic %s: %s", topics[t],
                                              n < 0 ? "no metadata from the broker"
                                                    : "does not exist");
            }
            usleep(LG_RETRY_MS * 1000);
        }
        for (int p = 0; p < n; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t], p)->offset =
                start_offset(rk, topics[t], p, from_end);
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e)
        return qg_error_new_fatal("assign: %s", rd_kafka_err2str(e));
    return NULL;
}

/* Members of a consumer group if it is Stable, else -1. */
static int group_stable_members(rd_kafka_t *rk, const char *group)
{
    const struct rd_kafka_group_list *gl = NULL;
    int n = -1;
    if (rd_kafka_list_groups(rk, group, &gl, LG_ADMIN_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    if (gl->group_cnt == 1 && gl->groups[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
        strcmp(gl->groups[0].state, "Stable") == 0)
        n = gl->groups[0].member_cnt;
    rd_kafka_group_list_destroy(gl);
    return n;
}

qg_error_t *lg_wait_groups(const lg_opts_t *o, int members)
{
    char group[300];
    rd_kafka_t *rk;
    qg_error_t *err = admin_client_new(o, &rk);
    if (err)
        return err;
    double deadline = lg_now_ms() + o->timeout_s * 1000;
    for (int p = 0; p < o->npipelines && !err; p++) {
        for (int s = 0; s < o->pipelines[p].n && !err; s++) {
            snprintf(group, sizeof(group), "%s.%s.workers", o->prefix, o->pipelines[p].stage[s]);
            int n;
            while ((n = group_stable_members(rk, group)) != members) {
                if (lg_now_ms() > deadline) {
                    err = qg_error_new_transient("group %s: %d stable members, expected %d", group,
                                                 n, members);
                    break;
                }
                usleep(LG_RETRY_MS * 1000);
            }
        }
    }
    rd_kafka_destroy(rk);
    return err;
}
