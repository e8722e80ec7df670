/*
 * cmd_ask_report.c - `qgctl ask` and `qgctl report` (wired to common/ask and common/report).
 */
#include <string.h>

#include "qgctl.h"

int qgctl_cmd_ask(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qgctl ask: not available in this build\n");
    return 2;
}

int qgctl_cmd_report(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qgctl report: not available in this build\n");
    return 2;
}
