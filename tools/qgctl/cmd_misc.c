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

int qgctl_cmd_ping(int argc, char **argv)
{
    const char *file = getenv("QG_HEALTH_FILE");
    double max_age = 30;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--health-file") && i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(argv[i], "--max-age") && i + 1 < argc)
            max_age = atof(argv[++i]);
        else {
            fprintf(stderr, "Usage: qgctl ping --health-file FILE [--max-age SECONDS]\n");
            return 2;
        }
    }
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
    const char *endpoint = getenv("QG_EVENTS_WATCH");
    const char *goal = "";
    double timeout = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--events") && i + 1 < argc)
            endpoint = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout = atof(argv[++i]);
        else if (argv[i][0] != '-')
            goal = argv[i];
        else {
            fprintf(stderr, "Usage: qgctl watch [GOAL_ID] [--events tcp://HOST:PORT] "
                            "[--timeout S]\n");
            return 2;
        }
    }
    if (!endpoint)
        endpoint = "tcp://127.0.0.1:5560";
    char errstr[256];
    qg_events_sub_t *sub = qg_events_sub_new(endpoint, goal, errstr, sizeof(errstr));
    if (!sub) {
        fprintf(stderr, "qgctl watch: %s\n", errstr);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    time_t until = timeout > 0 ? time(NULL) + (time_t)timeout : 0;
    while (!watch_stop && (!until || time(NULL) < until)) {
        qg_json_t *ev = qg_events_sub_recv(sub, 200);
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
