/*
 * stages.c - the stages qgctl knows by name (for `qgctl stage`).
 */
#include <string.h>

#include "qgctl.h"

extern const qg_stage_ops_t qg_stage_selection;
extern const qg_stage_ops_t qg_stage_binding;
extern const qg_stage_ops_t qg_stage_simulation;

const qg_stage_ops_t *qgctl_stage_find(const char *name)
{
    const qg_stage_ops_t *known[] = {&qg_stage_selection, &qg_stage_binding, &qg_stage_simulation};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(known[i]->name, name))
            return known[i];
    return NULL;
}

void qgctl_stage_list(FILE *f)
{
    const qg_stage_ops_t *known[] = {&qg_stage_selection, &qg_stage_binding, &qg_stage_simulation};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        fprintf(f, "  %-14s %s (%s)\n", known[i]->name, known[i]->summary, known[i]->program);
}
