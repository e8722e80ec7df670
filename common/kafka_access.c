/*
 * kafka_access.c - start-up check of credentials and ACLs with one short-lived
 * plain producer handle: metadata per topic, DescribeConsumerGroups per group.
 */
#include "kafka_access.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "kafka.h"
#include "log.h"

#define QG_ACCESS_ERR_MAX 512

typedef struct {
    char auth_error[QG_ACCESS_ERR_MAX]; /* first authentication or TLS failure seen */
} qg_access_probe_t;

static void qg_access_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    qg_access_probe_t *p = opaque;
    int is_auth = err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL ||
                  err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED;
    if (is_auth && !p->auth_error[0])
        snprintf(p->auth_error, sizeof(p->auth_error), "%s", reason);
}

static rd_kafka_t *qg_access_handle(const qg_config_t *cfg, qg_access_probe_t *probe, char *errstr,
                                    size_t errstr_size)
{
    rd_kafka_conf_t *conf = qg_kafka_conf_new(cfg, errstr, errstr_size);
    if (!conf)
        return NULL;
    char msg[256];
    /* A plain producer: no PID, no transaction, nothing sent. */
    rd_kafka_conf_set(conf, "enable.idempotence", "false", msg, sizeof(msg));
    rd_kafka_conf_set(conf, "transactional.id", NULL, msg, sizeof(msg));
    /* Ask about topics as they are: an unknown topic is not an authorization failure. */
    rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", msg, sizeof(msg));
    rd_kafka_conf_set_error_cb(conf, qg_access_error_cb);
    rd_kafka_conf_set_opaque(conf, probe);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* Describe one topic. 1: allowed (or unknown yet), 0: refused, -1: no answer. */
static int qg_access_topic(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    if (!rkt)
        return -1;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    int rc = -1;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md) {
        rc = 1;
        for (int i = 0; i < md->topic_cnt; i++)
            if (md->topics[i].err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
                rc = 0;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

/* *answered: -1 when a broker did not answer (the check ends there), else 1. */
static qg_error_t *qg_access_topics(rd_kafka_t *rk, const char *const *topics, const char *op,
                                    int timeout_ms, int *answered)
{
    for (size_t i = 0; *answered >= 0 && topics && topics[i]; i++) {
        int rc = qg_access_topic(rk, topics[i], timeout_ms);
        *answered = rc < 0 ? -1 : 1;
        if (rc < 0)
            return NULL;
        if (rc == 0)
            return qg_error_new_fatal("kafka: not authorized to %s topic '%s' (an ACL for this "
                                      "principal must allow %s on it)",
                                      op, topics[i], op);
    }
    return NULL;
}

static qg_error_t *qg_access_groups(rd_kafka_t *rk, const char *const *groups, int timeout_ms)
{
    size_t n = 0;
    while (groups && groups[n])
        n++;
    if (n == 0)
        return NULL;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    if (!q)
        return qg_error_new_oom("kafka: out of memory");
    rd_kafka_DescribeConsumerGroups(rk, (const char **)groups, n, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms);
    qg_error_t *err = NULL;
    const rd_kafka_DescribeConsumerGroups_result_t *res =
        ev ? rd_kafka_event_DescribeConsumerGroups_result(ev) : NULL;
    size_t cnt = 0;
    const rd_kafka_ConsumerGroupDescription_t **descs =
        res ? rd_kafka_DescribeConsumerGroups_result_groups(res, &cnt) : NULL;
    for (size_t i = 0; !err && i < cnt; i++) {
        const rd_kafka_error_t *e = rd_kafka_ConsumerGroupDescription_error(descs[i]);
        if (e && rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED)
            err = qg_error_new_fatal("kafka: not authorized to Read group '%s' (an ACL for this "
                                     "principal must allow Read on it)",
                                     rd_kafka_ConsumerGroupDescription_group_id(descs[i]));
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    return err;
}

int qg_kafka_access_check_wanted(const qg_config_t *cfg)
{
    const char *mode = qg_config_get(cfg, "access.check");
    const char *proto = qg_config_get(cfg, "security.protocol");
    if (mode && !strcmp(mode, "off"))
        return 0;
    if (mode && !strcmp(mode, "on"))
        return 1;
    return proto && *proto && strcasecmp(proto, "plaintext") != 0;
}

qg_error_t *qg_kafka_check_access(const qg_config_t *cfg, const qg_kafka_access_t *need,
                                  int timeout_ms)
{
    qg_access_probe_t probe = {{0}};
    char errstr[512];
    rd_kafka_t *rk = qg_access_handle(cfg, &probe, errstr, sizeof(errstr));
    if (!rk)
        return qg_error_new_fatal("kafka: %s", errstr);
    int answered = 0;
    qg_error_t *err = qg_access_topics(rk, need->read_topics, "Read", timeout_ms, &answered);
    if (!err)
        err = qg_access_topics(rk, need->write_topics, "Write", timeout_ms, &answered);
    if (!err && answered > 0)
        err = qg_access_groups(rk, need->groups, timeout_ms);
    rd_kafka_poll(rk, 0); /* serve the error callback */
    if (!err && answered < 0 && probe.auth_error[0])
        err = qg_error_new_fatal("kafka: authentication with %s failed: %s",
                                 qg_config_get(cfg, "bootstrap.servers")
                                     ? qg_config_get(cfg, "bootstrap.servers")
                                     : "the brokers",
                                 probe.auth_error);
    else if (!err && answered < 0)
        qg_warn("kafka", "access check skipped: no broker answered within %d ms", timeout_ms);
    rd_kafka_destroy(rk);
    return err;
}
