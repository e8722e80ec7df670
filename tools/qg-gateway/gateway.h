/*
 * gateway.h - qg-gateway: the HTTP front door onto the goal topics.
 *
 *   index.c   goalId -> latest state, rebuilt from Kafka (stage topics,
 *             completed, dlq) by one reader thread; bounded in goals and bytes
 *   submit.c  validation, the natural-language path, producing, readiness
 *   api.c     the /api/v1 and /execute-goal-runtime handlers
 *   sse.c     GET /api/v1/goals/{id}/events (progress from qg-events)
 *   http.c    libmicrohttpd daemon: routing, auth, CORS, limits, problem+json,
 *             the console's static files
 */
#ifndef QG_GATEWAY_H
#define QG_GATEWAY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "ask/ask.h"
#include "config.h"
#include "json.h"

/* ---------- goal index ---------- */

typedef enum {
    GOAL_QUEUED = 1, /* in the first stage's topic */
    GOAL_RUNNING,    /* in a later stage's topic */
    GOAL_COMPLETED,  /* in <prefix>.completed */
    GOAL_FAILED,     /* in <prefix>.dlq */
} goal_state_t;

/** A copy of one goal's latest state (caller frees with goal_view_clear). */
typedef struct {
    char id[256];
    goal_state_t state;
    char stage[128];     /* the stage it waits for / failed in */
    char goal_type[128]; /* may be empty */
    char dlq_class[64];  /* FAILED */
    char *reason;        /* FAILED: the DLQ message */
    char *value;         /* COMPLETED: enriched goal; FAILED: the original value */
    size_t len;
    int64_t kafka_ts;  /* timestamp of the record that set the state */
    double updated_ms; /* when the index learned it */
} goal_view_t;

void goal_view_clear(goal_view_t *v);
const char *goal_state_name(goal_state_t s);

typedef struct goal_index_s goal_index_t;

/** The reader thread starts at once; it reads every partition of the topics from the start. */
goal_index_t *goal_index_start(const qg_config_t *cfg, char *errstr, size_t sz);
void goal_index_stop(goal_index_t *ix);
/** Has the reader reached the end each partition had when it started? */
int goal_index_caught_up(goal_index_t *ix);
/** Copy the state of a goal into *out. 0 when known, -1 when not. */
int goal_index_get(goal_index_t *ix, const char *id, goal_view_t *out);
/**
 * Record that this replica produced the goal (state QUEUED at `stage`), so an
 * immediate resubmit is seen before the record comes back from Kafka.
 * Returns 0, or 1 when the goal was already known (nothing changed).
 */
int goal_index_claim(goal_index_t *ix, const char *id, const char *stage, const char *goal_type,
                     int first_stage);
/** Forget a claim whose produce failed (only if still in the claimed state). */
void goal_index_unclaim(goal_index_t *ix, const char *id);
/**
 * Wait until the goal is COMPLETED or FAILED, or the deadline (epoch ms) passes,
 * or *stop. Returns 0 with *out filled when terminal, -1 otherwise.
 */
int goal_index_wait_final(goal_index_t *ix, const char *id, double deadline_ms, volatile int *stop,
                          goal_view_t *out);
/** The newest `max` goals (only FAILED ones when failed_only), newest first. Caller frees views. */
size_t goal_index_recent(goal_index_t *ix, size_t max, int failed_only, goal_view_t *out);
size_t goal_index_count(goal_index_t *ix);

/* ---------- submitting ---------- */

typedef struct gateway_s gateway_t;

struct gateway_s {
    qg_config_t *cfg;
    const char *prefix;
    const char *extra_stages;
    goal_index_t *index;
    rd_kafka_t *producer;
    pthread_t poller;
    int poller_started;
    volatile int stop;        /* shutting down: waits (SSE, synchronous requests) end */
    volatile int poller_stop; /* after the HTTP daemon: no request waits for a report */
    qg_ask_t *ask;
    char *token; /* bearer token, or NULL: auth off */
    char console_dir[4096];
    struct gateway_http_s *http;
    /* first-stage group membership, cached */
    pthread_mutex_t groups_lock;
    char groups_stage[128];
    double groups_checked_ms;
    int groups_members; /* -1 unknown (broker cannot tell) */
    double kafka_checked_ms;
    int kafka_ok;
};

/** Outcome of a submit, for the HTTP layer. */
typedef struct {
    int http_status; /* 202 new, 200 known, 4xx/5xx problem */
    char goal_id[256];
    char path[256];    /* problem: JSON path of the problem, or "" */
    char detail[1024]; /* problem: what is wrong */
    const char *title; /* problem title */
    qg_json_t *doc;    /* the validated goal (owned), NULL on problem */
} submit_result_t;

/**
 * Validate a request body (a QueryGoal document or {"text", "language"?}),
 * apply the Idempotency-Key (may be NULL), and produce it to its first stage
 * unless the goal is already known. require_workers: answer 503 when the first
 * stage's consumer group has no member (when the broker can tell). Fills *r (caller calls
 * submit_result_clear).
 */
void gateway_submit(gateway_t *gw, const char *body, size_t len, const char *idempotency_key,
                    int require_workers, submit_result_t *r);
/** Delivery report callback of the gateway's producer (wakes gateway_produce). */
void gateway_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque);
void submit_result_clear(submit_result_t *r);
/** Produce a value keyed by goal id to <prefix>.<stage> and wait for the broker's ack. */
int gateway_produce(gateway_t *gw, const char *stage, const char *goal_id, const void *value,
                    size_t len, char *errstr, size_t sz);
/**
 * Members of the stage's consumer group: >= 0, or -1 when the broker cannot
 * tell (e.g. the embedded broker). Cached for a second.
 */
int gateway_stage_members(gateway_t *gw, const char *stage);

/** Does the cluster answer a metadata request? Cached for a second. */
int gateway_kafka_reachable(gateway_t *gw);

/* ---------- HTTP ---------- */

typedef struct gateway_http_s gateway_http_t;

/** Start the HTTP daemon (http.* keys). NULL with errstr. */
gateway_http_t *gateway_http_start(gateway_t *gw, char *errstr, size_t sz);
int gateway_http_port(const gateway_http_t *h);
void gateway_http_stop(gateway_http_t *h);

#endif
