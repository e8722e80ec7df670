/*
 * cmd_misc.c - `qgctl ping` (liveness from a worker's health file) and
 * `qgctl watch` (live progress from the event forwarder).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "events.h"
#include "qgctl.h"

static const qg_option_t ping_options[] = {
    QG_OPT_STR("health.file", NULL, "the worker's health file (its health.file)"),
    QG_OPT_DOUBLE("max.age", "30", 0, 31536000, "seconds since the last touch at most"),
    QG_OPT_TABLE_END("qgctl-ping"),
};

static const qg_cli_t ping_cli = {
    .program = "qgctl ping",
    .usage = "--health-file FILE [--max-age SECONDS]",
    .about = "Exits 0 when a worker's health file was touched recently (a liveness probe).",
    .max_positional = 0,
};

static const qg_option_t watch_options[] = {
    QG_OPT_STR("events.watch", "tcp://127.0.0.1:5560", "event forwarder's XPUB endpoint"),
    QG_OPT_STR("events", NULL, "same as --events-watch"),
    QG_OPT_DOUBLE("timeout", "0", 0, 31536000, "stop after this many seconds (0: never)"),
    QG_OPT_TABLE_END("qgctl-watch"),
};

static const qg_cli_t watch_cli = {
    .program = "qgctl watch",
    .usage = "[GOAL_ID] [--events tcp://HOST:PORT] [--timeout S]",
    .about = "Shows live progress from the event forwarder (qg-events), of one goal or all; "
             "with a goal, stops when it completes or fails.",
    .max_positional = 1,
};

static int ping_file(const char *file, double max_age);

static qg_config_t *misc_config(const qg_cli_t *cli, const qg_option_t *options, int argc,
                                char **argv, char ***rest, int *nrest, int *rc)
{
    const qg_option_t *const tables[] = {options};
    return qg_cli_config(cli, tables, 1, argc, argv, rest, nrest, rc);
}

int qgctl_cmd_ping(int argc, char **argv)
{
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = misc_config(&ping_cli, ping_options, argc, argv, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    const char *file = qg_config_get(cfg, "health.file");
    double max_age = qg_config_double(cfg, "max.age");
    rc = ping_file(file, max_age);
    qg_config_destroy(cfg);
    return rc;
}

static int ping_file(const char *file, double max_age)
{
    struct stat st;
    if (!file || stat(file, &st) != 0) {
        fprintf(stderr, "qgctl ping: no health file%s%s\n", file ? " at " : "", file ? file : "");
        return 1;
    }
    double age = difftime(time(NULL), st.st_mtime);
    if (age > max_age) {
        fprintf(stderr, "qgctl ping: worker idle for %.0f s (max %.0f)\n", age, max_age);
        return 1;
    }
    printf("ok (%.0f s ago)\n", age);
    return 0;
}

static volatile sig_atomic_t watch_stop;

static void on_signal(int sig)
{
    (void)sig;
    watch_stop = 1;
}

/* One line per event; a text progress bar when the event carries progress. */
static void render_event(const qg_json_t *ev)
{
    const char *goal = qg_json_str(qg_json_get(ev, "goalId"));
    const char *stage = qg_json_str(qg_json_get(ev, "stage"));
    const char *state = qg_json_str(qg_json_get(ev, "state"));
    printf("%-36s %-14s %-10s", goal ? goal : "?", stage ? stage : "?", state ? state : "?");
    double done = qg_json_num(qg_json_get(ev, "progress"), -1);
    if (done >= 0) {
        int width = 30, filled = (int)(done * width + 0.5);
        printf(" [");
        for (int i = 0; i < width; i++)
            putchar(i < filled ? '#' : '.');
        printf("] %3.0f%%", done * 100);
    }
    const qg_json_t *gen = qg_json_get(ev, "generation");
    if (gen)
        printf(" gen %.0f", qg_json_num(gen, 0));
    const qg_json_t *best = qg_json_get(ev, "best");
    if (best)
        printf(" best %.0f", qg_json_num(best, 0));
    const qg_json_t *reps = qg_json_get(ev, "replications");
    if (reps)
        printf(" replications %.0f", qg_json_num(reps, 0));
    const char *msg = qg_json_str(qg_json_get(ev, "message"));
    if (msg)
        printf(" %s", msg);
    putchar('\n');
    fflush(stdout);
}

int qgctl_cmd_watch(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--live"))
            return qgctl_cmd_watch_live(argc, argv);
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = misc_config(&watch_cli, watch_options, argc, argv, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    const char *endpoint = qg_config_get(cfg, "events");
    if (!endpoint || !*endpoint)
        endpoint = qg_config_get(cfg, "events.watch");
    const char *goal = nrest > 0 ? rest[0] : "";
    double timeout = qg_config_double(cfg, "timeout");
    char errstr[256];
    qg_events_sub_t *sub = qg_events_sub_new(endpoint, goal, errstr, sizeof(errstr));
    qg_config_destroy(cfg); /* endpoint and goal are used only by qg_events_sub_new */
    if (!sub) {
        fprintf(stderr, "qgctl watch: %s\n", errstr);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    time_t until = timeout > 0 ? time(NULL) + (time_t)timeout : 0;
    while (!watch_stop && (!until || time(NULL) < until)) {
        qg_json_t *ev = qg_events_sub_recv(sub, QGCTL_POLL_SLICE_MS);
        if (!ev)
            continue;
        render_event(ev);
        const char *state = qg_json_str(qg_json_get(ev, "state"));
        int finished =
            *goal && state && (!strcmp(state, "goal_completed") || !strcmp(state, "goal_failed"));
        qg_json_destroy(ev);
        if (finished)
            break;
    }
    qg_events_sub_destroy(sub);
    return 0;
}
