/*
 * cmd_ask_report.c - `qgctl ask`, `qgctl report` and `qgctl summary`.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ask/ask.h"
#include "goal.h"
#include "goaltype.h"
#include "qgctl.h"
#include "report/report.h"

static const qg_option_t ask_options[] = {
    QG_OPT_STR("patterns", "config/goal-patterns.yaml", "goal pattern templates (YAML)"),
    QG_OPT_STR("o", "", "write the goal to this file instead of stdout"),
    QG_OPT_BOOL("run", "false", "submit the goal and wait for its answer"),
    QG_OPT_BOOL("wait", "false", "(with --run) follow the goal"),
    QG_OPT_INT("timeout", "300", 1, 604800, "seconds to wait with --run"),
    QG_OPT_BOOL("json", "false", "with --run: print the whole enriched goal"),
    QG_OPT_STR("events.watch", "tcp://127.0.0.1:5560", "event forwarder's XPUB endpoint"),
    QG_OPT_TABLE_END("qgctl-ask"),
};

static const qg_cli_t ask_cli = {
    .program = "qgctl ask",
    .usage = "\"<request>\" [options]",
    .about = "Turns a request in plain words into a QueryGoal; --run submits it and waits for "
             "the answer.",
    .max_positional = 1,
};

static const qg_option_t report_options[] = {
    QG_OPT_STR("o", "", "write the report to this file instead of stdout"),
    QG_OPT_TABLE_END("qgctl-report"),
};

static const qg_cli_t report_cli = {
    .program = "qgctl report",
    .usage = "GOAL.json [-o REPORT.html]",
    .about = "A self-contained HTML report of an answered goal.",
    .max_positional = 1,
};

static const qg_cli_t summary_cli = {
    .program = "qgctl summary",
    .usage = "GOAL.json",
    .about = "A readable summary of an answered goal.",
    .max_positional = 1,
};

/* The patterns file: --patterns, else config/ under the current dir, else next to the binary's
 * repo. */
static const char *patterns_path(const qg_config_t *cfg)
{
    const char *p = qg_config_get(cfg, "patterns");
    const char *root = getenv("QG_ROOT");
    static char buf[4096];
    if (p && access(p, R_OK) != 0 && p[0] != '/' && root) {
        snprintf(buf, sizeof(buf), "%s/%s", root, p);
        return buf;
    }
    return p;
}

/* A stage is served by a worker of this project, or by one named in pipeline.extra.stages. */
static int stage_served(const char *stage, void *opaque)
{
    const char *extra = opaque;
    return qgctl_stage_find(stage) != NULL ||
           (!qg_goal_stage_known(stage, NULL) && qg_goal_stage_known(stage, extra));
}

/* Startup check: every stage any goal type names has a worker, or ask refuses. */
static qg_error_t *check_goal_types(const char *path, const char *extra)
{
    qg_goaltypes_t *gt = NULL;
    qg_error_t *err = qg_goaltypes_load(path, &gt);
    if (!err)
        err = qg_goaltypes_check_stages(gt, stage_served, (void *)extra);
    qg_goaltypes_destroy(gt);
    return err;
}

static int write_goal(const qg_config_t *cfg, const qg_json_t *doc)
{
    char *text = qg_json_serialize(doc, 1, NULL);
    if (!text)
        return 1;
    const char *out = qg_config_get(cfg, "o");
    int rc = 0;
    if (out && *out) {
        FILE *f = fopen(out, "w");
        if (!f || fprintf(f, "%s\n", text) < 0) {
            fprintf(stderr, "qgctl ask: cannot write %s\n", out);
            rc = 1;
        }
        if (f)
            fclose(f);
    } else {
        printf("%s\n", text);
    }
    free(text);
    return rc;
}

int qgctl_cmd_ask(int argc, char **argv)
{
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = qgctl_config(&ask_cli, argc, argv, ask_options, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    qg_error_t *err = NULL;
    qg_ask_t *ask = qg_ask_load(patterns_path(cfg), &err);
    if (ask &&
        (err = check_goal_types(patterns_path(cfg), qg_config_get(cfg, "pipeline.extra.stages")))) {
        qg_ask_destroy(ask);
        ask = NULL;
    }
    rc = 2;
    if (ask && nrest < 1) {
        char *help = qg_ask_describe(ask);
        fprintf(stderr, "qgctl ask: what do you want to know?\n%s", help ? help : "");
        free(help);
    } else if (ask) {
        qg_json_t *doc = NULL;
        if (qg_ask_set_extra_stages(ask, qg_config_get(cfg, "pipeline.extra.stages")) != 0)
            err = qg_error_new_oom("out of memory");
        else
            err = qg_ask_build(ask, rest[0], &doc);
        if (doc && qg_config_bool(cfg, "run")) {
            char e[64];
            qg_config_set(cfg, "wait", "true", e, sizeof(e));
            rc = qgctl_submit_doc(cfg, doc);
        } else if (doc) {
            rc = write_goal(cfg, doc);
        }
        qg_json_destroy(doc);
    }
    if (err)
        fprintf(stderr, "qgctl ask: %s\n", qg_error_message(err));
    qg_error_destroy(err);
    qg_ask_destroy(ask);
    qg_config_destroy(cfg);
    return rc;
}

static qg_json_t *load_doc(const char *path, const char *cmd)
{
    char errstr[512];
    qg_json_t *doc = qg_json_parse_file(path, errstr, sizeof(errstr));
    if (!doc)
        fprintf(stderr, "qgctl %s: %s\n", cmd, errstr);
    return doc;
}

/* A command whose only positional argument is one goal file: its configuration, or
 * NULL with *rc set (after --help, or bad usage). */
static qg_config_t *one_file_config(const qg_cli_t *cli, const qg_option_t *options, int argc,
                                    char **argv, const char **path, int *rc)
{
    const qg_option_t *const tables[] = {options};
    char **rest;
    int nrest;
    qg_config_t *cfg = qg_cli_config(cli, tables, 1, argc, argv, &rest, &nrest, rc);
    if (cfg && nrest != 1) {
        fprintf(stderr, "Usage: %s %s\n", cli->program, cli->usage);
        qg_config_destroy(cfg);
        *rc = 2;
        return NULL;
    }
    *path = cfg ? rest[0] : NULL;
    return cfg;
}

int qgctl_cmd_report(int argc, char **argv)
{
    const char *in;
    int rc;
    qg_config_t *cfg = one_file_config(&report_cli, report_options, argc, argv, &in, &rc);
    if (!cfg)
        return rc;
    const char *out = *qg_config_get(cfg, "o") ? qg_config_get(cfg, "o") : NULL;
    qg_json_t *doc = load_doc(in, "report");
    if (!doc) {
        qg_config_destroy(cfg);
        return 1;
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    qg_error_t *err = f ? qg_report_render(doc, f) : NULL;
    if (!f)
        fprintf(stderr, "qgctl report: cannot write %s\n", out);
    if (f && f != stdout && fclose(f) != 0 && !err)
        err = qg_error_new_stage_error("cannot write %s", out);
    qg_json_destroy(doc);
    if (err)
        fprintf(stderr, "qgctl report: %s\n", qg_error_message(err));
    rc = err || !f ? 1 : 0;
    qg_error_destroy(err);
    qg_config_destroy(cfg);
    return rc;
}

int qgctl_cmd_summary(int argc, char **argv)
{
    static const qg_option_t no_options[] = {QG_OPT_END};
    const char *in;
    int rc;
    qg_config_t *cfg = one_file_config(&summary_cli, no_options, argc, argv, &in, &rc);
    if (!cfg)
        return rc;
    qg_json_t *doc = load_doc(in, "summary");
    qg_config_destroy(cfg);
    if (!doc)
        return 1;
    qgctl_print_summary(doc, stdout);
    qg_json_destroy(doc);
    return 0;
}
