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
    QG_OPT_STR("run", "false", "submit the goal and wait for its answer"),
    QG_OPT_STR("wait", "false", "(with --run) follow the goal"),
    QG_OPT_STR("timeout", "300", "seconds to wait with --run"),
    QG_OPT_STR("json", "false", "with --run: print the whole enriched goal"),
    QG_OPT_STR("events.watch", "tcp://127.0.0.1:5560", "event forwarder's XPUB endpoint"),
    QG_OPT_END,
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
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("Usage: qgctl ask \"<request>\" [-o FILE] [--run [--timeout S] [--json]] "
               "[--patterns FILE]\n");
        return 0;
    }
    qgctl_normalize_flags(argc, argv);
    char **rest;
    int nrest;
    qg_config_t *cfg = qgctl_config(argc, argv, ask_options, &rest, &nrest);
    if (!cfg)
        return 2;
    qg_error_t *err = NULL;
    qg_ask_t *ask = qg_ask_load(patterns_path(cfg), &err);
    if (ask &&
        (err = check_goal_types(patterns_path(cfg), qg_config_get(cfg, "pipeline.extra.stages")))) {
        qg_ask_destroy(ask);
        ask = NULL;
    }
    int rc = 2;
    if (ask && nrest < 1) {
        char *help = qg_ask_describe(ask);
        fprintf(stderr, "qgctl ask: what do you want to know?\n%s", help ? help : "");
        free(help);
    } else if (ask) {
        qg_json_t *doc = NULL;
        if (qg_ask_set_extra_stages(ask, qg_config_get(cfg, "pipeline.extra.stages")) != 0)
            err = qg_error_new(QG_ERR_FATAL, "out of memory");
        else
            err = qg_ask_build(ask, rest[0], &doc);
        if (doc && qg_config_get_bool(cfg, "run", 0)) {
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

int qgctl_cmd_report(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] != '-' || !strcmp(argv[i], "-"))
            in = argv[i];
        else {
            in = NULL;
            break;
        }
    }
    if (!in) {
        fprintf(stderr, "Usage: qgctl report GOAL.json [-o REPORT.html]\n");
        return 2;
    }
    qg_json_t *doc = load_doc(in, "report");
    if (!doc)
        return 1;
    FILE *f = out ? fopen(out, "w") : stdout;
    qg_error_t *err = f ? qg_report_render(doc, f) : NULL;
    if (!f)
        fprintf(stderr, "qgctl report: cannot write %s\n", out);
    if (f && f != stdout && fclose(f) != 0 && !err)
        err = qg_error_new(QG_ERR_STAGE_ERROR, "cannot write %s", out);
    qg_json_destroy(doc);
    if (err)
        fprintf(stderr, "qgctl report: %s\n", qg_error_message(err));
    int rc = err || !f ? 1 : 0;
    qg_error_destroy(err);
    return rc;
}

int qgctl_cmd_summary(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "Usage: qgctl summary GOAL.json\n");
        return 2;
    }
    qg_json_t *doc = load_doc(argv[1], "summary");
    if (!doc)
        return 1;
    qgctl_print_summary(doc, stdout);
    qg_json_destroy(doc);
    return 0;
}
