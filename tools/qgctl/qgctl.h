/*
 * qgctl.h - shared pieces of the qgctl command.
 */
#ifndef QGCTL_H
#define QGCTL_H

#include <stdio.h>

#include "config.h"
#include "json.h"
#include "stage.h"

const qg_stage_ops_t *qgctl_stage_find(const char *name, int *is_generic);
void qgctl_stage_list(FILE *f);

/* Subcommands: argv[0] is the subcommand name. Return the exit code. */
int qgctl_cmd_stage(int argc, char **argv);
int qgctl_cmd_submit(int argc, char **argv);
int qgctl_cmd_dlq(int argc, char **argv);
int qgctl_cmd_ping(int argc, char **argv);
int qgctl_cmd_watch(int argc, char **argv);
int qgctl_cmd_ask(int argc, char **argv);
int qgctl_cmd_report(int argc, char **argv);
int qgctl_cmd_summary(int argc, char **argv);

/** Configuration with the runtime tables, environment and argv applied. */
qg_config_t *qgctl_config(int argc, char **argv, const qg_option_t *extra, char ***rest,
                          int *nrest);

/** Produce a goal to its first stage; with config wait=true follow it. Exit code. */
int qgctl_submit_doc(const qg_config_t *cfg, const qg_json_t *doc);
const qg_option_t *qgctl_submit_options(void);

/** Print a human summary of an enriched goal (answer, confidence, bottlenecks). */
void qgctl_print_summary(const qg_json_t *doc, FILE *f);

#endif
