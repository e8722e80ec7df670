/*
 * cmd_stage.c - `qgctl stage NAME [FILE|-]`: one stage's run + gate on a goal
 * file, no Kafka. Prints the enriched goal; exits 1 with the reason when the
 * gate fails or the stage errs, 2 on bad usage or bad input.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "goal.h"
#include "log.h"
#include "process.h"
#include "qgctl.h"
#include "worker.h"

static int stage_usage(void)
{
    fprintf(stderr, "Usage: qgctl stage NAME [FILE|-] [stage options]\n\nStages:\n");
    qgctl_stage_list(stderr);
    fprintf(stderr, "\nThe options are those of the stage's worker (see its --help).\n");
    return 2;
}

static int run_on_doc(const qg_stage_ops_t *ops, qg_config_t *cfg, qg_json_t *doc)
{
    void *state = NULL;
    qg_error_t *err = qg_stage_init(ops, &state, cfg);
    if (err) {
        fprintf(stderr, "qgctl stage: %s cannot start: %s\n", qg_stage_effective_name(ops, cfg),
                qg_error_message(err));
        qg_error_destroy(err);
        return 1;
    }
    char worker_id[192];
    qg_worker_default_id("qgctl", worker_id, sizeof(worker_id));
    volatile sig_atomic_t cancel = 0;
    err = qg_stage_run_local(ops, state, cfg, doc, worker_id, &cancel, NULL);
    char *text = qg_json_serialize(doc, 1, NULL);
    if (text)
        printf("%s\n", text);
    free(text);
    int rc = 0;
    if (err) {
        fprintf(stderr, "qgctl stage: %s: %s\n", qg_error_class_name(qg_error_class(err)),
                qg_error_message(err));
        rc = qg_error_class(err) == QG_ERR_BAD_INPUT ? 2 : 1;
        qg_error_destroy(err);
    }
    if (ops->destroy)
        ops->destroy(state);
    return rc;
}

int qgctl_cmd_stage(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return stage_usage();
    const qg_stage_ops_t *ops = qgctl_stage_find(argv[1]);
    if (!ops) {
        fprintf(stderr, "qgctl stage: unknown stage \"%s\"\n", argv[1]);
        return stage_usage();
    }
    char **rest, program[96];
    int nrest, rc;
    snprintf(program, sizeof(program), "qgctl stage %s", ops->name);
    const qg_cli_t cli = {
        .program = program,
        .usage = "[FILE|-] [options]",
        .about = "Runs the stage and its gate on one goal (a file, or stdin) without Kafka and "
                 "prints the enriched goal. The options are those of the stage's worker.",
        .max_positional = 1,
    };
    qg_config_t *cfg = qgctl_config(&cli, argc - 1, argv + 1, ops->options, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    char errstr[512];
    size_t len;
    char *buf = qg_file_read(nrest > 0 ? rest[0] : "-", 0, &len, NULL, errstr, sizeof(errstr));
    rc = 2;
    if (buf) {
        qg_error_t *err = NULL;
        qg_json_t *doc = qg_goal_parse(buf, len, qg_config_get(cfg, "pipeline.extra.stages"), &err);
        if (doc) {
            rc = run_on_doc(ops, cfg, doc);
            qg_json_destroy(doc);
        } else {
            fprintf(stderr, "qgctl stage: bad_input: %s\n", qg_error_message(err));
            qg_error_destroy(err);
        }
        free(buf);
    } else {
        fprintf(stderr, "qgctl stage: %s\n", errstr);
    }
    qg_config_destroy(cfg);
    return rc;
}
