/*
 * events.h - ephemeral progress events over ZeroMQ.
 *
 * Workers PUBlish small JSON events to a forwarder (qg-events: XSUB/XPUB
 * proxy); qgctl watch SUBscribes. Each event is two frames: the goal id
 * (subscription prefix) and a JSON object {goalId, stage, state, ts, ...}.
 * Sending never blocks: when nobody listens or the queue is full the event
 * is dropped. Goals never travel here; they live in Kafka.
 */
#ifndef QG_EVENTS_H
#define QG_EVENTS_H

#include <stddef.h>

#include "json.h"

typedef struct qg_events_s qg_events_t;

/**
 * Publisher connected to `connect` (e.g. tcp://127.0.0.1:5559) or bound at
 * `bind` (either may be NULL/empty). Both empty: returns NULL, and every
 * publish call on NULL is a no-op.
 */
qg_events_t *qg_events_new(const char *connect, const char *bind, char *errstr, size_t sz);
void qg_events_destroy(qg_events_t *ev);

/** Publish {goalId, stage, state, ts, worker?} merged with `extra` (consumed, may be NULL). */
void qg_events_publish(qg_events_t *ev, const char *goal_id, const char *stage, const char *state,
                       qg_json_t *extra);
/** Shorthand: extra = {"message": message} when message is non-NULL. */
void qg_events_stage(qg_events_t *ev, const char *goal_id, const char *stage, const char *state,
                     const char *message);
void qg_events_set_worker(qg_events_t *ev, const char *worker_id);

/** Subscriber: connect to an XPUB endpoint, filter by goal id prefix ("" = all). */
typedef struct qg_events_sub_s qg_events_sub_t;
qg_events_sub_t *qg_events_sub_new(const char *connect, const char *goal_prefix, char *errstr,
                                   size_t sz);
/** Wait up to timeout_ms for an event; returns it (caller destroys) or NULL on timeout. */
qg_json_t *qg_events_sub_recv(qg_events_sub_t *sub, int timeout_ms);
void qg_events_sub_destroy(qg_events_sub_t *sub);

#endif
