/*
 * loadgen.h - qg-loadgen: produce test QueryGoals, verify what came out of the
 * pipeline, and benchmark it (throughput, end-to-end and per-hop latency).
 *
 * Goal `seq` of a run has goalId "<run>-g<seq>" and the pipeline
 * pipelines[seq % npipelines]; malformed message `j` carries the marker
 * "<run>-m<j>" in its value and is of kind j % LG_BAD_KINDS. produce and verify
 * derive the same expectations from the same options, so nothing is shared
 * between the two but the command line.
 */
#ifndef QG_LOADGEN_H
#define QG_LOADGEN_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "error.h"
#include "json.h"

#define LG_MAX_PIPELINES 64
#define LG_MAX_STAGES    16
#define LG_MAX_PROPS     64
#define LG_BAD_KINDS     6

/* Waits inside a run. Not options: a run's own bound is --timeout; these only say
 * how often the deadline and the broker are looked at (LG_POLL_SLICE_MS, LG_RETRY_MS),
 * how long one admin request (LG_ADMIN_MS) or the final flush (LG_FLUSH_MS) may take
 * before the broker counts as unreachable. */
#define LG_POLL_SLICE_MS 100
#define LG_RETRY_MS      200
#define LG_ADMIN_MS      5000
#define LG_CREATE_MS     30000
#define LG_FLUSH_MS      60000

typedef struct lg_pipeline_s {
    int n;
    const char *stage[LG_MAX_STAGES];
} lg_pipeline_t;

typedef struct lg_opts_s {
    const char *brokers;
    const char *prefix;
    const char *run_id;
    const char *stages_spec;
    const char *fail_classes_spec;
    const char *dump_path; /* verify/bench: per-goal latency CSV */
    long count;
    long malformed;
    size_t size;      /* approximate value size of a good goal */
    size_t max_bytes; /* the workers' size limit: oversize malformed values exceed it */
    int partitions;
    double timeout_s;
    double settle_s;
    double rate; /* goals/s, 0 = as fast as possible */
    int at_least_once;
    int json;
    int members;     /* wait-groups: expected members per stage group */
    long fail_every; /* every fail_every-th goal asks the stage to fail (0: none) */
    int nfail_classes;
    const char *fail_class[8];
    char *fail_buf;
    int create_topics;
    int nprops;
    const char *props[LG_MAX_PROPS][2]; /* librdkafka properties: key, value */
    int npipelines;
    lg_pipeline_t pipelines[LG_MAX_PIPELINES];
    char *spec_buf;   /* owned copy of stages_spec the pipelines point into */
    qg_config_t *cfg; /* owns the option strings above */
} lg_opts_t;

/* Malformed kinds, in the order messages cycle through them. */
const char *lg_bad_kind_name(int kind);

/* opts.c */
/**
 * Parse argv[1..]; the one positional argument is the command, in any position.
 * Returns 0 with *cmd set, or the exit code after --help / --version or an
 * error (printed). Call lg_opts_free in every case.
 */
int lg_opts_parse(lg_opts_t *o, int argc, char **argv, const char **cmd);
void lg_opts_free(lg_opts_t *o);

/* kafka.c */
const char *lg_topic(char *buf, size_t sz, const char *prefix, const char *name);
rd_kafka_conf_t *lg_kafka_conf(const lg_opts_t *o, char *errstr, size_t errstr_size);
/** Create every stage, retry, completed and dlq topic (existing ones are fine). */
qg_error_t *lg_create_topics(const lg_opts_t *o);
/**
 * Assign all partitions of the given topics from the beginning, or with `from_end` from
 * their high watermarks as read now. Waits for the required ones to exist; the others
 * are assigned only if they exist already.
 */
qg_error_t *lg_assign_all(rd_kafka_t *rk, const char *const *topics, const int *required,
                          int ntopics, double timeout_s, int from_end);

/**
 * Wait until the consumer group of every stage (<prefix>.<stage>.workers) is
 * Stable with exactly `members` members, or --timeout.
 */
qg_error_t *lg_wait_groups(const lg_opts_t *o, int members);

/* gen.c */
/** The error class goal `seq` asks the stage to fail with (parameter "fail"), or NULL. */
const char *lg_fail_class(const lg_opts_t *o, long seq);
/** The DLQ class such a goal must end with (transient -> transient_exhausted). */
const char *lg_dlq_class_for(const char *fail_class);
double lg_now_ms(void);
/** Serialized good goal `seq` (caller frees). */
char *lg_goal_value(const lg_opts_t *o, long seq, double produced_ms, size_t *lenp);
/** Serialized malformed message `j` (caller frees); key written to keybuf. */
char *lg_bad_value(const lg_opts_t *o, long j, size_t *lenp, char *keybuf, size_t keysz);
/** Parse an ISO-8601 UTC time "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or a number of ms). -1 if not. */
double lg_time_ms(const qg_json_t *v);

/* produce.c */
/**
 * Produce all goals and malformed messages; *progress counts good goals handed over.
 * after_verifier (bench): connect first, then wait for lg_verifier_ready.
 */
qg_error_t *lg_produce(const lg_opts_t *o, volatile long *progress, int after_verifier);
int lg_cmd_produce(lg_opts_t *o);

/* stats.c */
typedef struct lg_stats_s {
    double *v;
    size_t n, cap;
} lg_stats_t;
int lg_stats_add(lg_stats_t *s, double x);
/** p in [0,100]; sorts in place. NAN when empty. */
double lg_stats_pct(lg_stats_t *s, double p);
void lg_stats_free(lg_stats_t *s);

/* verify.c */
typedef struct lg_report_s lg_report_t;
/**
 * live: started together with the producer (bench); reads from the partitions' ends
 * (the producer waits in lg_verifier_wait until then); also measures receive latency.
 */
lg_report_t *lg_verify_run(const lg_opts_t *o, int live, qg_error_t **errp);
/** bench: the verifier has its partitions, or gave up (lg_verifier_wait returns). */
void lg_verifier_ready(void);
/** bench: wait until lg_verifier_ready, at most timeout_s. */
void lg_verifier_wait(double timeout_s);
/** Print the report (text, or one JSON line with --json); returns 0 if it passed. */
int lg_report_print(lg_report_t *r, const lg_opts_t *o, const char *mode);
void lg_report_destroy(lg_report_t *r);
int lg_cmd_verify(lg_opts_t *o);

/* bench.c */
int lg_cmd_bench(lg_opts_t *o);

#endif
