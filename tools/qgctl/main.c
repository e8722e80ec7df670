/*
 * qgctl - the command line of querygoal-runtime.
 */
#include <stdio.h>
#include <string.h>

#include "qgctl.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: qgctl <command> [options]\n\n"
            "Commands:\n"
            "  ask \"<text>\" [--run] [-o FILE]   natural language -> QueryGoal (--run: submit and "
            "wait)\n"
            "  submit [FILE|-] [--wait] [--timeout S] [--json]\n"
            "                                   send a goal to its first stage; --wait follows it\n"
            "  watch [GOAL_ID]                  show live progress from the event forwarder\n"
            "  watch --live GOAL_ID [--stop]    keep an answered goal up to date (qg-trigger)\n"
            "  tail TOPIC [--from-beginning]    print a topic's records (e.g. <prefix>.updates)\n"
            "  produce TOPIC [--key K]          each line of standard input becomes a record\n"
            "  dlq list | show GOAL_ID | replay GOAL_ID\n"
            "                                   dead letters with their reasons; replay one\n"
            "  report GOAL.json -o REPORT.html  self-contained HTML report of an answered goal\n"
            "  summary GOAL.json                a readable summary of an answered goal\n"
            "  wait GOAL_ID [--timeout S]       the outcome of a goal sent earlier or elsewhere\n"
            "  topics STAGE...                  create the stages' topics ahead of time (clusters "
            "with ACLs)\n"
            "  stage NAME [FILE|-]              run one stage and its gate locally, no Kafka\n"
            "  workers [STAGE...] [--json]      each stage's group members, partitions and lag\n"
            "  ping --health-file F [--max-age S]  exit 0 when a worker's health file is fresh\n\n"
            "Common options: -b BROKERS, -X key=value, -F FILE, --topic-prefix P, -v, -q.\n"
            "Run `qgctl <command> --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("qgctl %s\n", QG_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"stage", qgctl_cmd_stage},     {"submit", qgctl_cmd_submit},
        {"dlq", qgctl_cmd_dlq},         {"ping", qgctl_cmd_ping},
        {"watch", qgctl_cmd_watch},     {"ask", qgctl_cmd_ask},
        {"report", qgctl_cmd_report},   {"summary", qgctl_cmd_summary},
        {"topics", qgctl_cmd_topics},   {"wait", qgctl_cmd_wait},
        {"workers", qgctl_cmd_workers}, {"tail", qgctl_cmd_tail},
        {"produce", qgctl_cmd_produce},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "qgctl: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
