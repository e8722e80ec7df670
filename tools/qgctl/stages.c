/*
 * stages.c - the stages qgctl knows by name (for `qgctl stage`).
 */
#include <string.h>

#include "qgctl.h"

extern const qg_stage_ops_t qg_stage_selection;
extern const qg_stage_ops_t qg_stage_binding;
extern const qg_stage_ops_t qg_stage_simulation;
extern const qg_stage_ops_t qg_stage_aasquery;
extern const qg_stage_ops_t qg_stage_datafiltering;

static const qg_stage_ops_t *const known[] = {
    &qg_stage_selection, &qg_stage_binding,       &qg_stage_simulation,
    &qg_stage_aasquery,  &qg_stage_datafiltering,
};

const qg_stage_ops_t *qgctl_stage_find(const char *name)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(known[i]->name, name))
            return known[i];
    return NULL;
}

void qgctl_stage_list(FILE *f)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        fprintf(f, "  %-14s %s (%s)\n", known[i]->name, known[i]->summary, known[i]->program);
}
