/*
 * qg-loadgen - load generator and verifier for the QueryGoal pipeline.
 * See loadgen.h and `qg-loadgen --help`.
 */
#include <stdio.h>
#include <string.h>

#include "loadgen.h"

static int cmd_topics(lg_opts_t *o)
{
    qg_error_t *err = lg_create_topics(o);
    if (!err)
        return 0;
    fprintf(stderr, "qg-loadgen: %s\n", qg_error_message(err));
    qg_error_destroy(err);
    return 1;
}

static int cmd_wait_groups(lg_opts_t *o)
{
    qg_error_t *err = lg_wait_groups(o, o->members);
    if (!err)
        return 0;
    fprintf(stderr, "qg-loadgen: %s\n", qg_error_message(err));
    qg_error_destroy(err);
    return 1;
}

int main(int argc, char **argv)
{
    const char *cmd;
    lg_opts_t o;
    int rc = lg_opts_parse(&o, argc, argv, &cmd);
    if (rc != 0 || !cmd) {
        lg_opts_free(&o);
        return rc;
    }
    rc = 2;
    if (strcmp(cmd, "produce") == 0)
        rc = lg_cmd_produce(&o);
    else if (strcmp(cmd, "verify") == 0)
        rc = lg_cmd_verify(&o);
    else if (strcmp(cmd, "bench") == 0)
        rc = lg_cmd_bench(&o);
    else if (strcmp(cmd, "topics") == 0)
        rc = cmd_topics(&o);
    else if (strcmp(cmd, "wait-groups") == 0)
        rc = cmd_wait_groups(&o);
    else
        fprintf(stderr, "qg-loadgen: unknown command \"%s\" (see --help)\n", cmd);
    lg_opts_free(&o);
    return rc;
}
