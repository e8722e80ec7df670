/*
 * qgctl.h - shared pieces of the qgctl command.
 */
#ifndef QGCTL_H
#define QGCTL_H

#include <stdio.h>

#include "config.h"
#include "json.h"
#include "stage.h"

/* Waits of an interactive command. Not options: a broker that does not answer a
 * metadata or watermark request within QGCTL_KAFKA_QUERY_MS is down for a person
 * at a terminal; the delivery of one goal gets QGCTL_SEND_MS (librdkafka retries
 * inside it); QGCTL_POLL_SLICE_MS is how soon Ctrl-C or a deadline is noticed. */
#define QGCTL_KAFKA_QUERY_MS 5000
#define QGCTL_SEND_MS        30000
#define QGCTL_POLL_SLICE_MS  200
/* `qgctl dlq`: the scan ends when no further dead letter arrives for this long. */
#define QGCTL_DLQ_IDLE_MS 10000

const qg_stage_ops_t *qgctl_stage_find(const char *name);
void qgctl_stage_list(FILE *f);

/* Subcommands: argv[0] is the subcommand name. Return the exit code. */
int qgctl_cmd_stage(int argc, char **argv);
int qgctl_cmd_submit(int argc, char **argv);
int qgctl_cmd_dlq(int argc, char **argv);
int qgctl_cmd_ping(int argc, char **argv);
int qgctl_cmd_watch(int argc, char **argv);
int qgctl_cmd_watch_live(int argc, char **argv);
int qgctl_cmd_tail(int argc, char **argv);
int qgctl_cmd_produce(int argc, char **argv);
int qgctl_cmd_ask(int argc, char **argv);
int qgctl_cmd_report(int argc, char **argv);
int qgctl_cmd_summary(int argc, char **argv);
int qgctl_cmd_topics(int argc, char **argv);
int qgctl_cmd_wait(int argc, char **argv);
int qgctl_cmd_workers(int argc, char **argv);

/**
 * Configuration with the runtime tables, `extra`, the environment and argv
 * applied (qg_cli_config: NULL after --help or a bad setting, *exit_code set).
 */
qg_config_t *qgctl_config(const qg_cli_t *cli, int argc, char **argv, const qg_option_t *extra,
                          char ***rest, int *nrest, int *exit_code);

/**
 * Produce a goal value to <prefix>.<stage>, keyed by goal_id. With config
 * wait=true, follow it to <prefix>.completed or the DLQ and summarize (json=true:
 * print the record). Returns the exit code: 0 completed or sent, 1 failed or
 * dead-lettered, 3 no answer in time.
 */
int qgctl_send(const qg_config_t *cfg, const char *stage, const char *goal_id, const void *value,
               size_t len);
/** qgctl_send of a validated goal document to its first stage. */
int qgctl_submit_doc(const qg_config_t *cfg, const qg_json_t *doc);
const qg_option_t *qgctl_submit_options(void);

/** Print a human summary of an enriched goal (answer, confidence, bottlenecks). */
void qgctl_print_summary(const qg_json_t *doc, FILE *f);

#endif
