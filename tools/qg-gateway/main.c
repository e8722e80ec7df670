/*
 * qg-gateway - HTTP API and web console in front of the goal topics.
 *
 * Stateless: goals go to their first stage's topic; their state is rebuilt
 * from Kafka by every replica (index.c). Configuration, then handles
 * (index, producer, HTTP), then wait for SIGTERM/SIGINT, then teardown in
 * reverse order.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "gateway.h"
#include "goal.h"
#include "kafka.h"
#include "log.h"

static const qg_option_t gateway_options[] = {
    QG_OPT_STR("http.listen", "127.0.0.1:8080", "host:port of the HTTP API and console"),
    QG_OPT_INT("http.max.body.bytes", "1048576", 1024, 104857600,
               "larger request bodies are refused with 413"),
    QG_OPT_INT("http.max.connections", "256", 1, 10000,
               "open connections at most (one thread each); more wait in the backlog"),
    QG_OPT_MS("http.timeout.ms", "30000", 1000, 3600000,
              "an idle connection (also a slow request) is closed after this"),
    QG_OPT_SECRET("http.token", "bearer token required on /api and /execute-goal-runtime "
                                "(QG_HTTP_TOKEN); empty: no auth"),
    QG_OPT_STR("http.token.file", "", "file holding the bearer token (first line)"),
    QG_OPT_STR("http.tls.cert.file", "", "PEM certificate: serve HTTPS"),
    QG_OPT_STR("http.tls.key.file", "", "PEM private key (default: in the certificate file)"),
    QG_OPT_STR("http.cors.origin", "", "origin allowed by CORS (empty: CORS off)"),
    QG_OPT_STR("http.console.dir", "tools/qg-gateway/console",
               "directory of the web console's static files (relative: to QG_ROOT too)"),
    QG_OPT_STR("patterns", "config/goal-patterns.yaml",
               "goal pattern templates for {\"text\": ...} requests"),
    QG_OPT_MS("sync.timeout.ms", "300000", 100, 3600000,
              "longest wait of POST /execute-goal-runtime (?timeout=MS lowers it)"),
    QG_OPT_MS("sse.max.ms", "900000", 1000, 86400000, "longest life of an event stream"),
    QG_OPT_STR("events.watch", "", "qg-events XPUB endpoint for progress (empty: status only)"),
    QG_OPT_LIST("ready.stages", "swrlSelection,yamlBinding,simulation",
                "stages whose consumer groups must have a member for /readyz"),
    QG_OPT_INT("index.max.goals", "100000", 100, 100000000, "goals kept in the index at most"),
    QG_OPT_INT("index.max.mb", "512", 1, 65536, "memory of the index at most (MiB)"),
    QG_OPT_TABLE_END("qg-gateway"),
};

static volatile sig_atomic_t gateway_stop;

static void on_signal(int sig)
{
    (void)sig;
    gateway_stop = 1;
}

/* A path as given, else under QG_ROOT (the checkout or image root). */
static void resolve_path(const char *p, char *buf, size_t sz)
{
    const char *root = getenv("QG_ROOT");
    if (p && p[0] != '/' && access(p, R_OK) != 0 && root)
        snprintf(buf, sz, "%s/%s", root, p);
    else
        snprintf(buf, sz, "%s", p ? p : "");
}

static int load_token(gateway_t *gw, char *errstr, size_t sz)
{
    const char *tok = qg_config_get(gw->cfg, "http.token");
    const char *file = qg_config_get(gw->cfg, "http.token.file");
    if (file && *file) {
        size_t len;
        char *t = qg_file_read(file, 4096, &len, NULL, errstr, sz);
        if (!t)
            return -1;
        t[strcspn(t, "\r\n")] = '\0';
        gw->token = t;
    } else if (tok && *tok) {
        gw->token = strdup(tok);
        if (!gw->token)
            return -1;
    }
    if (gw->token && !*gw->token) {
        snprintf(errstr, sz, "http.token.file %s: empty token", file);
        return -1;
    }
    return 0;
}

static void *producer_poller(void *arg)
{
    gateway_t *gw = arg;
    while (!gw->poller_stop)
        rd_kafka_poll(gw->producer, 100);
    return NULL;
}

static int gateway_open(gateway_t *gw, char *errstr, size_t sz)
{
    char path[4096];
    gw->prefix = qg_config_get(gw->cfg, "topic.prefix");
    gw->extra_stages = qg_config_get(gw->cfg, "pipeline.extra.stages");
    pthread_mutex_init(&gw->groups_lock, NULL);
    resolve_path(qg_config_get(gw->cfg, "http.console.dir"), gw->console_dir,
                 sizeof(gw->console_dir));
    if (load_token(gw, errstr, sz) != 0)
        return -1;
    resolve_path(qg_config_get(gw->cfg, "patterns"), path, sizeof(path));
    qg_error_t *err = NULL;
    gw->ask = qg_ask_load(path, &err);
    if (!gw->ask || qg_ask_set_extra_stages(gw->ask, gw->extra_stages) != 0) {
        qg_warn("gateway", "natural-language goals off: %s", qg_error_message(err));
        qg_ask_destroy(gw->ask);
        gw->ask = NULL;
    }
    qg_error_destroy(err);
    /* The index knows it has caught up when it saw the end of every partition. A request
     * waits for its record's acknowledgement: batch for 1 ms, and send small produce
     * requests at once (Nagle's algorithm held them for the previous one's ACK). */
    if (qg_config_set(gw->cfg, "enable.partition.eof", "true", errstr, sz) != 0 ||
        (!qg_config_get(gw->cfg, "linger.ms") &&
         qg_config_set(gw->cfg, "linger.ms", "1", errstr, sz) != 0) ||
        (!qg_config_get(gw->cfg, "socket.nagle.disable") &&
         qg_config_set(gw->cfg, "socket.nagle.disable", "true", errstr, sz) != 0))
        return -1;
    gw->producer = qg_kafka_producer_new(gw->cfg, NULL, gateway_dr_msg_cb, gw, errstr, sz);
    if (!gw->producer || pthread_create(&gw->poller, NULL, producer_poller, gw) != 0)
        return -1;
    gw->poller_started = 1;
    gw->index = goal_index_start(gw->cfg, errstr, sz);
    return gw->index ? 0 : -1;
}

/* After the HTTP daemon stopped: no request waits for a delivery report any more. */
static void gateway_close(gateway_t *gw)
{
    gw->stop = 1;
    gw->poller_stop = 1;
    goal_index_stop(gw->index);
    if (gw->poller_started)
        pthread_join(gw->poller, NULL);
    if (gw->producer) {
        rd_kafka_flush(gw->producer, 5000);
        rd_kafka_destroy(gw->producer);
    }
    qg_ask_destroy(gw->ask);
    free(gw->token);
    pthread_mutex_destroy(&gw->groups_lock);
}

int main(int argc, char **argv)
{
    static const qg_cli_t cli = {
        .program = "qg-gateway",
        .usage = "[options]",
        .about = "HTTP API and web console: POST /api/v1/goals, GET /api/v1/goals/{id}"
                 "[/events|/report], GET /api/v1/dlq, POST /api/v1/dlq/{id}/replay, "
                 "POST /execute-goal-runtime, /healthz, /readyz, /metrics, /console/. "
                 "See docs/http.md.",
        .max_positional = 0,
    };
    char errstr[512];
    char **rest;
    int nrest, exit_code;
    const qg_option_t *const tables[] = {qg_kafka_options, gateway_options};
    qg_config_t *cfg = qg_cli_config(&cli, tables, 2, argc, argv, &rest, &nrest, &exit_code);
    if (!cfg)
        return exit_code;
    qg_log_set_worker("qg-gateway");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    gateway_t gw = {.cfg = cfg};
    gateway_http_t *http = NULL;
    int rc = 1;
    errstr[0] = '\0';
    if (gateway_open(&gw, errstr, sizeof(errstr)) == 0 &&
        (http = gateway_http_start(&gw, errstr, sizeof(errstr)))) {
        /* The port on stdout, for scripts that start it with port 0. */
        printf("http%s://%s:%d/\n", *qg_config_get(cfg, "http.tls.cert.file") ? "s" : "",
               "127.0.0.1", gateway_http_port(http));
        fflush(stdout);
        qg_info("gateway", "listening on port %d; console at /console/; auth %s",
                gateway_http_port(http), gw.token ? "on" : "off");
        while (!gateway_stop)
            usleep(100 * 1000);
        rc = 0;
    } else {
        qg_err("gateway", "cannot start: %s", errstr[0] ? errstr : "out of memory");
    }
    gw.stop = 1;
    gateway_http_stop(http);
    gateway_close(&gw);
    qg_config_destroy(cfg);
    return rc;
}
