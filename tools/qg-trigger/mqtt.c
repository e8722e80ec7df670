/*
 * mqtt.c - MQTT sources on libmosquitto, served from the trigger's one loop
 * (no library thread): connect with a fixed client id and a persistent session,
 * subscribe at QoS 1, spool each message, hand it to the rules, reconnect with
 * backoff when the connection drops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "goal.h"
#include "log.h"
#include "trigger.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 10000

struct trg_mqtt_s {
    struct mosquitto *mosq;
    trg_t *t;
    trg_source_t *src;
    trg_spool_t *spool;
    int connected, subscribed, got;
    double next_try_ms;
    int backoff_ms;
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)props;
    trg_mqtt_t *m = obj;
    if (rc != 0) {
        qg_warn(TRG_COMPONENT, "mqtt %s: connection refused: %s", m->src->name,
                m->src->protocol == 5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
        return;
    }
    m->connected = 1;
    m->backoff_ms = BACKOFF_MIN_MS;
    qg_info(TRG_COMPONENT, "mqtt %s: connected to %s:%d (MQTT %s, session %s)", m->src->name,
            m->src->host, m->src->port, m->src->protocol == 5 ? "5" : "3.1.1",
            flags & 1 ? "resumed" : "new");
    for (size_t i = 0; i < m->src->n_topics; i++) {
        int r = mosquitto_subscribe_v5(mosq, NULL, m->src->topics[i], m->src->qos, 0, NULL);
        if (r != MOSQ_ERR_SUCCESS)
            qg_warn(TRG_COMPONENT, "mqtt %s: subscribe %s: %s", m->src->name, m->src->topics[i],
                    mosquitto_strerror(r));
    }
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted,
                         const mosquitto_property *props)
{
    (void)mosq, (void)mid, (void)props;
    trg_mqtt_t *m = obj;
    for (int i = 0; i < n; i++)
        if (granted[i] > 2)
            qg_warn(TRG_COMPONENT, "mqtt %s: a subscription was refused (reason %d)", m->src->name,
                    granted[i]);
    m->subscribed++;
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *p)
{
    (void)mosq, (void)p;
    trg_mqtt_t *m = obj;
    if (m->connected)
        qg_warn(TRG_COMPONENT, "mqtt %s: disconnected: %s", m->src->name, mosquitto_strerror(rc));
    m->connected = 0;
    m->subscribed = 0;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)mosq, (void)props;
    trg_mqtt_t *m = obj;
    size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    const void *payload = msg->payload ? msg->payload : "";
    m->got++;
    if (m->spool && trg_spool_append(m->spool, msg->topic, payload, len) != 0) {
        qg_err(TRG_COMPONENT, "mqtt %s: cannot write the spool: stopping", m->src->name);
        m->t->fatal = 1;
    }
    trg_event_t ev = {.source = m->src->name, .topic = msg->topic, .payload = payload, .len = len};
    trg_handle_event(m->t, &ev);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    (void)mosq;
    trg_mqtt_t *m = obj;
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
        qg_warn(TRG_COMPONENT, "mqtt %s: %s", m->src->name, str);
    else
        qg_debug(TRG_COMPONENT, "mqtt %s: %s", m->src->name, str);
}

static qg_error_t *mqtt_setup(trg_mqtt_t *m)
{
    const trg_source_t *s = m->src;
    int rc = mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                                  s->protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    if (rc == MOSQ_ERR_SUCCESS && s->username)
        rc = mosquitto_username_pw_set(m->mosq, s->username, s->password);
    if (rc == MOSQ_ERR_SUCCESS && s->tls)
        rc = mosquitto_tls_set(m->mosq, s->ca_file, NULL, s->cert_file, s->key_file, NULL);
    if (rc == MOSQ_ERR_SUCCESS && s->tls && s->tls_insecure)
        rc = mosquitto_tls_insecure_set(m->mosq, true);
    if (rc != MOSQ_ERR_SUCCESS)
        return qg_error_new(QG_ERR_FATAL, "mqtt %s: %s", s->name, mosquitto_strerror(rc));
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_subscribe_v5_callback_set(m->mosq, on_subscribe);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_message_v5_callback_set(m->mosq, on_message);
    mosquitto_log_callback_set(m->mosq, on_log);
    return NULL;
}

static void spool_done_one(void *opaque, const char *key, const void *unused, size_t len)
{
    (void)unused, (void)len;
    trg_mqtt_t *m = opaque;
    if (trg_keyset_put(m->t->dedup, key, qg_now_ms()) != 0)
        qg_warn(TRG_COMPONENT, "dedup: out of memory");
}

static void spool_replay_one(void *opaque, const char *topic, const void *payload, size_t len)
{
    trg_mqtt_t *m = opaque;
    trg_event_t ev = {.source = m->src->name, .topic = topic, .payload = payload, .len = len};
    m->t->stats.replayed++;
    trg_handle_event(m->t, &ev);
}

qg_error_t *trg_mqtt_start(trg_t *t, trg_source_t *src, size_t index)
{
    trg_mqtt_t *m = calloc(1, sizeof(*m));
    if (!m)
        return qg_error_oom;
    m->t = t;
    m->src = src;
    m->spool = t->spools ? t->spools[index] : NULL;
    m->backoff_ms = BACKOFF_MIN_MS;
    src->mqtt = m;
    m->mosq = mosquitto_new(src->client_id, src->clean_session, m);
    if (!m->mosq)
        return qg_error_new(QG_ERR_FATAL, "mqtt %s: cannot create the client", src->name);
    qg_error_t *err = mqtt_setup(m);
    if (err)
        return err;
    long done = trg_spool_done_keys(m->spool, spool_done_one, m);
    long n = trg_spool_replay(m->spool, spool_replay_one, m);
    if (done > 0)
        qg_info(TRG_COMPONENT, "mqtt %s: %ld goal(s) in the spool were acknowledged", src->name,
                done);
    if (n > 0)
        qg_info(TRG_COMPONENT, "mqtt %s: replayed %ld event(s) from the spool", src->name, n);
    return NULL;
}

static void mqtt_connect(trg_mqtt_t *m, double now_ms)
{
    const trg_source_t *s = m->src;
    mosquitto_property *props = NULL;
    if (s->protocol == 5 && !s->clean_session)
        mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     (uint32_t)s->session_expiry_s);
    int rc = mosquitto_connect_bind_v5(m->mosq, s->host, s->port, s->keepalive, NULL, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS) {
        qg_warn(TRG_COMPONENT, "mqtt %s: connect %s:%d: %s (retry in %d ms)", s->name, s->host,
                s->port, mosquitto_strerror(rc), m->backoff_ms);
        m->next_try_ms = now_ms + m->backoff_ms;
        m->backoff_ms = m->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : m->backoff_ms * 2;
        return;
    }
    m->next_try_ms = -1; /* connecting: the loop completes it */
}

int trg_mqtt_service(trg_t *t, trg_source_t *src, double now_ms)
{
    (void)t;
    trg_mqtt_t *m = src->mqtt;
    if (!m)
        return 0;
    if (m->next_try_ms >= 0) {
        if (now_ms < m->next_try_ms)
            return 0;
        mqtt_connect(m, now_ms);
        if (m->next_try_ms >= 0)
            return 0;
    }
    m->got = 0;
    for (int i = 0; i < 64; i++) {
        int before = m->got;
        int rc = mosquitto_loop(m->mosq, 0, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            if (m->connected || rc != MOSQ_ERR_NO_CONN)
                qg_warn(TRG_COMPONENT, "mqtt %s: %s (reconnecting in %d ms)", src->name,
                        mosquitto_strerror(rc), m->backoff_ms);
            m->connected = 0;
            m->subscribed = 0;
            m->next_try_ms = now_ms + m->backoff_ms;
            m->backoff_ms = m->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : m->backoff_ms * 2;
            break;
        }
        if (m->got == before || t->fatal)
            break;
    }
    return m->got;
}

int trg_mqtt_ready(const trg_source_t *src)
{
    return src->mqtt && src->mqtt->connected && src->mqtt->subscribed > 0;
}

void trg_mqtt_stop(trg_source_t *src)
{
    trg_mqtt_t *m = src->mqtt;
    if (!m)
        return;
    if (m->mosq) {
        if (m->connected) {
            mosquitto_disconnect_v5(m->mosq, 0, NULL);
            mosquitto_loop(m->mosq, 100, 1);
        }
        mosquitto_destroy(m->mosq);
    }
    free(m);
    src->mqtt = NULL;
}
