/*
 * trigger.h - qg-trigger: events from MQTT and Kafka become goals.
 *
 * A trigger file (YAML) names the sources (MQTT brokers, Kafka topics) and the
 * rules. A rule's `when` picks events by source, topic filter, event shape and
 * predicates on fields; its `then` produces a goal built from the event, re-runs
 * the watched goals whose data the event touched, or stops watching a goal.
 *
 * Ownership: the trigger (trg_t) owns its file, sources, rules, key sets,
 * watches and Kafka handles; everything is released by trg_destroy.
 */
#ifndef QG_TRIGGER_H
#define QG_TRIGGER_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "error.h"
#include "json.h"

#define TRG_COMPONENT "trigger"

/* ---- counters ---- */

typedef struct trg_stats_s {
    long long received;      /* events read from a source */
    long long malformed;     /* payload not JSON, or not the declared shape */
    long long unknown_topic; /* no rule for this source and topic */
    long long unmatched;     /* a rule's topic matched, its predicates did not */
    long long missing_field; /* a rule needed a field the event lacks */
    long long invalid_goal;  /* the built goal failed validation */
    long long duplicates;    /* event id seen before: no second goal */
    long long debounced;     /* dropped by a rule's debounce */
    long long rate_limited;  /* dropped by a rule's rate limit */
    long long goals;         /* goals produced */
    long long reruns;        /* watched goals re-run */
    long long updates;       /* updated answers published */
    long long watches;       /* goals watched now */
    long long watch_refused; /* watches refused: watch.max.goals reached */
    long long watch_expired; /* watches ended by watch.ttl.ms */
    long long unwatched;     /* watches ended by a rule or qgctl */
    long long replayed;      /* events replayed from the spool at start */
} trg_stats_t;

/* ---- bounded key set (dedup, debounce) ---- */

/* A set of at most `cap` keys; adding to a full set forgets the oldest key. */
typedef struct trg_keyset_s trg_keyset_t;

trg_keyset_t *trg_keyset_new(size_t cap);
void trg_keyset_destroy(trg_keyset_t *ks);
/** Time recorded for key, or -1 when absent. */
double trg_keyset_get(const trg_keyset_t *ks, const char *key);
/** Add or refresh key with time t. Returns 0 or -1 (out of memory). */
int trg_keyset_put(trg_keyset_t *ks, const char *key, double t);
size_t trg_keyset_count(const trg_keyset_t *ks);

/* ---- trigger file ---- */

typedef enum { TRG_SRC_MQTT = 1, TRG_SRC_KAFKA } trg_source_type_t;
typedef enum { TRG_SHAPE_JSON = 0, TRG_SHAPE_FAAAST } trg_shape_t;
typedef enum { TRG_THEN_GOAL = 1, TRG_THEN_RERUN, TRG_THEN_UNWATCH } trg_then_t;

typedef enum {
    TRG_PRED_EQUALS = 1,
    TRG_PRED_NOT_EQUALS,
    TRG_PRED_IN,
    TRG_PRED_EXISTS,
    TRG_PRED_MISSING,
    TRG_PRED_GT,
    TRG_PRED_GE,
    TRG_PRED_LT,
    TRG_PRED_LE,
    TRG_PRED_CONTAINS,
} trg_pred_op_t;

typedef struct trg_pred_s {
    char *field;
    trg_pred_op_t op;
    qg_json_t *value; /* owned; NULL for exists/missing */
} trg_pred_t;

typedef struct trg_mqtt_s trg_mqtt_t;

typedef struct trg_source_s {
    char *name;
    trg_source_type_t type;
    char **topics; /* MQTT subscription filters, or Kafka topic names */
    size_t n_topics;
    /* MQTT */
    char *host;
    int port;
    int protocol; /* 4 = 3.1.1, 5 */
    char *client_id;
    int clean_session;
    int qos;
    int keepalive;
    long long session_expiry_s; /* MQTT 5 */
    char *username;
    char *password;
    int tls;
    char *ca_file, *cert_file, *key_file;
    int tls_insecure;
    trg_mqtt_t *mqtt; /* the connection, NULL until started */
} trg_source_t;

typedef struct trg_rule_s {
    char *name;
    char *source;      /* source name, NULL: any */
    char *topic;       /* MQTT-style filter (+, #), NULL: any */
    trg_shape_t shape; /* how the payload is read */
    trg_pred_t *preds;
    size_t n_preds;
    char *event_id; /* field path giving the event id, NULL: digest of the event */
    trg_then_t then;
    qg_json_t *goal;  /* then.goal (owned) */
    qg_json_t *rerun; /* then.rerun (owned): "watched" or {submodel, change} */
    char *unwatch;    /* then.unwatch: template of the goal id */
    long long debounce_ms;
    long long rate_max; /* 0: no limit */
    long long rate_per_ms;
    /* state */
    double tokens, tokens_at_ms;
    trg_keyset_t *recent; /* debounce: key -> last fire time */
} trg_rule_t;

typedef struct trg_file_s {
    trg_source_t *sources;
    size_t n_sources;
    trg_rule_t *rules;
    size_t n_rules;
} trg_file_t;

/** Load and check a trigger file; NULL with a bad_input error naming the place. */
trg_file_t *trg_file_load(const char *path, qg_error_t **errp);
/** Same from YAML text (name used in messages). */
trg_file_t *trg_file_parse(const char *text, size_t len, const char *name, qg_error_t **errp);
void trg_file_destroy(trg_file_t *f);
const trg_source_t *trg_file_source(const trg_file_t *f, const char *name);

/* ---- events ---- */

/* One event as the rules see it. */
typedef struct trg_event_s {
    const char *source;
    const char *topic;
    const void *payload;
    size_t len;
    char id_digest[65]; /* sha256 of source, topic and payload */
    char origin[128];   /* "kafka:topic:partition:offset" for Kafka events, else "" */
} trg_event_t;

/** MQTT-style topic filter match (+ one level, # the rest). */
int trg_topic_matches(const char *filter, const char *topic);

/**
 * The fields an event offers to predicates and templates. JSON payloads are
 * their own fields. FA³ST change events become {type, submodel, path, idShort,
 * element, oldValue, newValue, machine, payload}. NULL with a reason when the
 * payload is not JSON or not the shape.
 */
qg_json_t *trg_event_fields(const trg_event_t *ev, trg_shape_t shape, char *why, size_t whysz);

/** Evaluate a rule's predicates. 1 match, 0 no match, -1 missing field (why set). */
int trg_rule_matches(const trg_rule_t *r, const qg_json_t *fields, char *why, size_t whysz);

/**
 * Expand a template against the event: "${a.b}" alone keeps the field's JSON
 * type; inside text it is spelled. ${$topic}, ${$topic.N} (N-th level),
 * ${$source} and ${$eventId} are the event's own. Objects and arrays are
 * expanded member by member. NULL with why (missing field / out of memory).
 */
qg_json_t *trg_template_expand(const qg_json_t *tmpl, const qg_json_t *fields,
                               const trg_event_t *ev, const char *event_id, char *why,
                               size_t whysz);

/** Build the goal of a `then.goal` rule; NULL with why. */
qg_json_t *trg_goal_build(const trg_rule_t *r, const qg_json_t *fields, const trg_event_t *ev,
                          const char *event_id, double now_ms, char *why, size_t whysz);

/** "M2 status idle -> down" from FA³ST fields; NULL when not a value change. */
char *trg_change_text(const qg_json_t *fields);

/* ---- spool: events received but not yet safely in Kafka ---- */

typedef struct trg_spool_s trg_spool_t;

/** Open (create) dir/name.spool. NULL with errstr. An empty dir disables it (returns NULL, no
 * error). */
trg_spool_t *trg_spool_open(const char *dir, const char *name, char *errstr, size_t errstr_size);
void trg_spool_close(trg_spool_t *sp);
/** Append one event; 0 or -1 (errno). */
int trg_spool_append(trg_spool_t *sp, const char *topic, const void *payload, size_t len);
/** Record that the goal with this dedup key is acknowledged by Kafka. */
int trg_spool_append_done(trg_spool_t *sp, const char *dedup_key);
/** Call fn for every done key in the spool (before replaying). Returns how many. */
long trg_spool_done_keys(trg_spool_t *sp,
                         void (*fn)(void *, const char *key, const void *unused, size_t len),
                         void *opaque);
/** Call fn for every complete event record in the spool. Returns the number replayed. */
long trg_spool_replay(trg_spool_t *sp,
                      void (*fn)(void *, const char *topic, const void *payload, size_t len),
                      void *opaque);
/** Forget every record (all of them are in Kafka now). */
int trg_spool_clear(trg_spool_t *sp);
size_t trg_spool_bytes(const trg_spool_t *sp);

/* ---- the trigger process ---- */

typedef struct trg_watch_s trg_watch_t;

typedef struct trg_s {
    qg_config_t *cfg;
    trg_file_t *file;
    const char *prefix;
    char worker_id[256];
    int eos;
    rd_kafka_t *producer;
    rd_kafka_t *consumer; /* group: Kafka sources and <prefix>.completed */
    rd_kafka_t *state;    /* no group: <prefix>.watches and <prefix>.trigger.dedup */
    char topic_completed[300], topic_watches[300], topic_updates[300], topic_dedup[300];
    long inflight;  /* records produced, not yet acknowledged */
    char **markers; /* at_least_once: dedup records of acknowledged goals, to produce */
    size_t n_markers, cap_markers;
    int txn_open; /* exactly_once: a transaction is open */
    double txn_started_ms;
    long txn_records;
    rd_kafka_topic_partition_list_t *positions; /* consumed, not yet committed */
    double last_commit_ms;
    trg_keyset_t *dedup;
    trg_watch_t *watches;
    size_t n_watches, max_watches;
    trg_spool_t **spools; /* one per MQTT source (same index as file->sources) */
    int fatal;
    trg_stats_t stats;
} trg_t;

/* Kafka output (out.c). */
qg_error_t *trg_out_init(trg_t *t);
/** Produce a record (value copied). headers may be NULL; consumed. */
qg_error_t *trg_out_produce(trg_t *t, const char *topic, const char *key, const void *value,
                            size_t len, rd_kafka_headers_t *headers);
/** Produce a JSON document. */
qg_error_t *trg_out_produce_json(trg_t *t, const char *topic, const char *key, const qg_json_t *doc,
                                 rd_kafka_headers_t *headers);
/**
 * Produce a goal and its dedup record (key dedup_key, value {goalId, atMs}) to
 * <prefix>.trigger.dedup. exactly_once: both in the open transaction.
 * at_least_once: the dedup record only once the goal is acknowledged, so that a
 * crash in between gives at worst a second copy of the goal, never a lost one.
 */
qg_error_t *trg_out_produce_goal(trg_t *t, const char *topic, const char *goal_id,
                                 const qg_json_t *doc, rd_kafka_headers_t *headers,
                                 const char *dedup_key);
/** Record a consumed Kafka position to commit with what it produced. */
void trg_out_consumed(trg_t *t, const rd_kafka_message_t *rkm);
/**
 * Make what was produced durable when it is time (or `force`): exactly_once
 * commits the open transaction with the consumed offsets; at_least_once commits
 * the offsets once every record is acknowledged. When everything is safe the
 * spools are cleared. Returns an error only when the process must stop.
 */
qg_error_t *trg_out_settle(trg_t *t, int force);
int trg_out_idle(const trg_t *t); /* nothing produced is unacknowledged */

/* Rules (rules.c). */
/** Run one event through every rule. */
void trg_handle_event(trg_t *t, const trg_event_t *ev);

/* Watches (watch.c). */
int trg_watch_init(trg_t *t);
void trg_watch_destroy(trg_t *t);
/** A record of <prefix>.watches (our own or qgctl's). */
void trg_watch_on_record(trg_t *t, const rd_kafka_message_t *rkm);
/** A record of <prefix>.completed. */
void trg_watch_on_completed(trg_t *t, const rd_kafka_message_t *rkm);
/**
 * An event touched `submodel` (NULL: every watched goal). Schedules a re-run
 * after debounce_ms of each watched goal that read it. Returns how many.
 */
int trg_watch_touch(trg_t *t, const char *submodel, const char *change, const char *rule,
                    long long debounce_ms, double now_ms);
/** Stop watching goal_id (tombstone). Returns 1 if it was watched. */
int trg_watch_stop(trg_t *t, const char *goal_id, const char *why);
/** Expire, fire due re-runs, give up on lost re-runs. */
void trg_watch_tick(trg_t *t, double now_ms);
/** Re-runs scheduled or in flight (the spool is kept until they are produced). */
int trg_watch_busy(const trg_t *t);

/* Kafka topics and consumers (kstate.c). */
/** Create <prefix>.watches and <prefix>.trigger.dedup (compacted) and <prefix>.updates. */
void trg_topics_create(trg_t *t);
/** Read the watches and the event ids seen from the start of their topics. */
qg_error_t *trg_state_load(trg_t *t);
/** Apply new watch records (from qgctl) without blocking. */
void trg_state_poll(trg_t *t);
qg_error_t *trg_consumer_start(trg_t *t);
/** One record of a Kafka source or <prefix>.completed. Returns 1 if one was handled. */
int trg_consumer_poll(trg_t *t, int timeout_ms);

/* MQTT (mqtt.c). */
qg_error_t *trg_mqtt_start(trg_t *t, trg_source_t *src, size_t index);
/** Serve the connection: read, write, reconnect. Returns the number of messages read. */
int trg_mqtt_service(trg_t *t, trg_source_t *src, double now_ms);
void trg_mqtt_stop(trg_source_t *src);
/** Is the source connected and subscribed? */
int trg_mqtt_ready(const trg_source_t *src);

#endif
