/*
 * produce.c - send the goals of a run (and its malformed messages) to their first
 * stage topics, optionally at a fixed rate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

typedef struct lg_producer_s {
    rd_kafka_t *rk;
    long delivered;
    long failed;
    char first_error[256];
} lg_producer_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    lg_producer_t *p = opaque;
    if (rkm->err) {
        if (p->failed++ == 0)
            snprintf(p->first_error, sizeof(p->first_error), "%s: %s",
                     rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
    } else {
        p->delivered++;
    }
}

static int conf_has(const lg_opts_t *o, const char *key)
{
    for (int i = 0; i < o->nprops; i++)
        if (strcmp(o->props[i][0], key) == 0)
            return 1;
    return 0;
}

static qg_error_t *producer_new(lg_producer_t *p, const lg_opts_t *o)
{
    char errstr[512];
    memset(p, 0, sizeof(*p));
    rd_kafka_conf_t *conf = lg_kafka_conf(o, errstr, sizeof(errstr));
    if (!conf)
        return qg_error_new_bad_input("%s", errstr);
    static const char *const dflt[][2] = {
        {"enable.idempotence", "true"},
        {"linger.ms", "5"},
        {"message.max.bytes", "4000000"},
    };
    for (size_t i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++)
        if (!conf_has(o, dflt[i][0]) &&
            rd_kafka_conf_set(conf, dflt[i][0], dflt[i][1], errstr, sizeof(errstr))) {
            rd_kafka_conf_destroy(conf);
            return qg_error_new_bad_input("%s", errstr);
        }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        return qg_error_new_fatal("rd_kafka_new: %s", errstr);
    }
    return NULL;
}

/* Hand one value (consumed) to librdkafka, waiting while its queue is full. */
static qg_error_t *send_one(lg_producer_t *p, const char *topic, const char *key, char *val,
                            size_t len, double produced_ms)
{
    char ts[32];
    snprintf(ts, sizeof(ts), "%.3f", produced_ms);
    for (;;) {
        rd_kafka_resp_err_t e =
            rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
                              RD_KAFKA_V_HEADER("qg.loadgen.produced.ms", ts, -1), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return NULL;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            free(val);
            return qg_error_new_fatal("produce to %s: %s", topic, rd_kafka_err2str(e));
        }
        rd_kafka_poll(p->rk, LG_POLL_SLICE_MS);
    }
}

static qg_error_t *send_goal(lg_producer_t *p, const lg_opts_t *o, long seq)
{
    char topic[300], key[128];
    double now = lg_now_ms();
    size_t len;
    char *val = lg_goal_value(o, seq, now, &len);
    if (!val)
        return qg_error_new_oom("out of memory building goal %ld", seq);
    snprintf(key, sizeof(key), "%s-g%ld", o->run_id, seq);
    lg_topic(topic, sizeof(topic), o->prefix, o->pipelines[seq % o->npipelines].stage[0]);
    return send_one(p, topic, key, val, len, now);
}

static qg_error_t *send_bad(lg_producer_t *p, const lg_opts_t *o, long j)
{
    char topic[300], key[128];
    size_t len;
    char *val = lg_bad_value(o, j, &len, key, sizeof(key));
    if (!val)
        return qg_error_new_oom("out of memory building malformed message %ld", j);
    lg_topic(topic, sizeof(topic), o->prefix, o->pipelines[0].stage[0]);
    return send_one(p, topic, key, val, len, lg_now_ms());
}

/* Wait (serving delivery reports) until goal `seq` is due at --rate. */
static void pace(lg_producer_t *p, const lg_opts_t *o, double start_ms, long seq)
{
    if (o->rate <= 0) {
        rd_kafka_poll(p->rk, 0);
        return;
    }
    double due = start_ms + (double)seq * 1000.0 / o->rate;
    double now;
    while ((now = lg_now_ms()) < due)
        rd_kafka_poll(p->rk, (int)(due - now) + 1);
}

static qg_error_t *produce_all(lg_producer_t *p, const lg_opts_t *o, volatile long *progress)
{
    double start = lg_now_ms();
    long j = 0;
    qg_error_t *err = NULL;
    for (long seq = 0; seq < o->count && !err; seq++) {
        /* Spread the malformed messages evenly between the good ones. */
        while (!err && j < o->malformed && j * (o->count + 1) <= seq * (o->malformed + 1))
            err = send_bad(p, o, j++);
        pace(p, o, start, seq);
        if (!err)
            err = send_goal(p, o, seq);
        if (progress)
            __atomic_store_n(progress, seq + 1, __ATOMIC_RELAXED);
    }
    while (!err && j < o->malformed)
        err = send_bad(p, o, j++);
    return err;
}

qg_error_t *lg_produce(const lg_opts_t *o, volatile long *progress, int after_verifier)
{
    lg_producer_t p;
    qg_error_t *err = producer_new(&p, o);
    if (err)
        return err;
    if (after_verifier) { /* connected, then the first goal once the verifier reads */
        const struct rd_kafka_metadata *md;
        if (rd_kafka_metadata(p.rk, 1, NULL, &md, LG_ADMIN_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_metadata_destroy(md);
        lg_verifier_wait(o->timeout_s);
    }
    err = produce_all(&p, o, progress);
    rd_kafka_resp_err_t fe = rd_kafka_flush(p.rk, LG_FLUSH_MS);
    if (!err && fe)
        err = qg_error_new_transient("flush: %s (%d messages not delivered)", rd_kafka_err2str(fe),
                                     rd_kafka_outq_len(p.rk));
    if (!err && p.failed)
        err = qg_error_new_transient("%ld messages not delivered, first: %s", p.failed,
                                     p.first_error);
    rd_kafka_destroy(p.rk);
    return err;
}

int lg_cmd_produce(lg_opts_t *o)
{
    qg_error_t *err = o->create_topics ? lg_create_topics(o) : NULL;
    if (err) {
        fprintf(stderr, "qg-loadgen: warning: %s (continuing)\n", qg_error_message(err));
        qg_error_destroy(err);
    }
    double t0 = lg_now_ms();
    err = lg_produce(o, NULL, 0);
    if (err) {
        fprintf(stderr, "qg-loadgen: produce: %s\n", qg_error_message(err));
        qg_error_destroy(err);
        return 1;
    }
    double s = (lg_now_ms() - t0) / 1000.0;
    fprintf(stderr, "qg-loadgen: produced %ld goals and %ld malformed messages in %.2f s\n",
            o->count, o->malformed, s);
    return 0;
}
