/*
 * worker_main.c - qg_worker_main: configuration, then handles, then loop,
 * then teardown in reverse order. Every worker's main() calls only this.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "kafka.h"
#include "process.h"
#include "log.h"
#include "metrics.h"
#include "stage.h"
#include "worker.h"

static const qg_option_t worker_options[] = {
    QG_OPT_STR("stage", NULL,
               "stage name this worker serves (only for stages without a fixed name)"),
    QG_OPT_STR("metrics.listen", "",
               "host:port where GET /metrics serves Prometheus metrics (empty: off)"),
    QG_OPT_END,
};

void qg_worker_default_id(const char *program, char *buf, size_t sz)
{
    char host[128] = "localhost";
    gethostname(host, sizeof(host) - 1);
    snprintf(buf, sz, "%s/%s/%d", program, host, (int)getpid());
}

static void print_usage(const qg_stage_ops_t *ops, const qg_config_t *cfg)
{
    printf("Usage: %s [options]\n\n%s\n\n"
           "Consumes <prefix>.<stage> and <prefix>.<stage>.retry, runs the stage and its gate,\n"
           "produces to the goal's next stage, <prefix>.completed, the retry topic or "
           "<prefix>.dlq.\n\n"
           "Options:\n"
           "  -b, --bootstrap-servers LIST   Kafka bootstrap servers\n"
           "  -X key=value                   any runtime, stage or librdkafka property\n"
           "  -F file                        file of key=value lines\n"
           "  -v, --verbose / -q, --quiet    more / less logging\n"
           "  --dump-config                  print the effective configuration and exit\n"
           "  -h, --help / -V, --version\n\n"
           "Configuration keys (also as --key-with-dashes VALUE, -X key=value, or the\n"
           "environment variable QG_KEY_WITH_UNDERSCORES; librdkafka properties as\n"
           "QG_KAFKA_PROPERTY_NAME):\n",
           ops->program, ops->summary ? ops->summary : "");
    qg_config_print_help(cfg, stdout);
}

static int has_flag(int argc, char **argv, const char *a, const char *b)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], a) || (b && !strcmp(argv[i], b)))
            return 1;
    return 0;
}

/* Build the configuration from tables, environment and argv. NULL on error (printed). */
static qg_config_t *worker_config(const qg_stage_ops_t *ops, int argc, char **argv)
{
    char errstr[512];
    char **rest;
    int nrest;
    const qg_option_t *const tables[] = {qg_kafka_options, worker_options, ops->options};
    qg_config_t *cfg =
        qg_config_from_env_and_args(tables, 3, argc, argv, &rest, &nrest, errstr, sizeof(errstr));
    if (!cfg) {
        fprintf(stderr, "%s: %s\n", ops->program, errstr);
        return NULL;
    }
    if (nrest > 0) {
        fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", ops->program, rest[0]);
        qg_config_destroy(cfg);
        return NULL;
    }
    return cfg;
}

static int worker_serve(const qg_stage_ops_t *ops, qg_config_t *cfg)
{
    char worker_id[192], errstr[512];
    const char *id = qg_config_get(cfg, "worker.id");
    if (id && *id)
        snprintf(worker_id, sizeof(worker_id), "%s", id);
    else
        qg_worker_default_id(ops->program, worker_id, sizeof(worker_id));
    qg_log_set_worker(worker_id);
    if (!qg_stage_effective_name(ops, cfg)) {
        qg_err("worker", "no stage name: give --stage NAME");
        return 2;
    }
    void *state = NULL;
    qg_error_t *err = qg_stage_init(ops, &state, cfg);
    if (err) {
        qg_err("worker", "stage %s cannot start: %s", qg_stage_effective_name(ops, cfg),
               qg_error_message(err));
        qg_error_destroy(err);
        return 1;
    }
    qg_events_t *events =
        qg_events_new(qg_config_get(cfg, "events.connect"), NULL, errstr, sizeof(errstr));
    if (!events && *qg_config_get(cfg, "events.connect"))
        qg_warn("worker", "progress events disabled: %s", errstr);
    qg_events_set_worker(events, worker_id);
    qg_worker_install_signals();
    qg_metrics_server_t *metrics = NULL;
    const char *metrics_listen = qg_config_get(cfg, "metrics.listen");
    int metrics_on = metrics_listen && *metrics_listen;
    if (metrics_on)
        metrics =
            qg_metrics_server_start(qg_metrics_global(), metrics_listen, errstr, sizeof(errstr));
    int rc = 1;
    qg_worker_t *w = metrics_on && !metrics ? NULL
                                            : qg_worker_new(ops, state, cfg, worker_id, events,
                                                            errstr, sizeof(errstr));
    if (w) {
        rc = qg_worker_run(w);
        qg_worker_destroy(w);
    } else {
        qg_err("worker", "cannot start: %s", errstr);
    }
    qg_metrics_server_stop(metrics);
    qg_events_destroy(events);
    if (ops->destroy)
        ops->destroy(state);
    return rc;
}

/* --help-markdown[=TABLE]: "" for every table, the table's name, or NULL when absent. */
static const char *help_markdown_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help-markdown"))
            return "";
        if (!strncmp(argv[i], "--help-markdown=", 16))
            return argv[i] + 16;
    }
    return NULL;
}

int qg_worker_main(const qg_stage_ops_t *ops, int argc, char **argv)
{
    if (has_flag(argc, argv, "-V", "--version")) {
        printf("%s %s\n", ops->program, QG_VERSION);
        return 0;
    }
    qg_config_t *cfg = worker_config(ops, argc, argv);
    if (!cfg)
        return 2;
    int rc = 0;
    const char *markdown = help_markdown_arg(argc, argv);
    if (markdown)
        rc = qg_config_print_markdown(cfg, *markdown ? markdown : NULL, stdout) == 0 ? 0 : 2;
    else if (has_flag(argc, argv, "-h", "--help"))
        print_usage(ops, cfg);
    else if (has_flag(argc, argv, "--dump-config", NULL))
        qg_config_dump(cfg, stdout);
    else
        rc = worker_serve(ops, cfg);
    qg_config_destroy(cfg);
    return rc;
}
