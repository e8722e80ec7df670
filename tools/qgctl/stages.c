/*
 * stages.c - the stages qgctl knows by name (for `qgctl stage`). Weak
 * references let qgctl link whichever stage files a build contains.
 */
#include <string.h>

#include "qgctl.h"

extern const qg_stage_ops_t qg_stage_selection __attribute__((weak));
extern const qg_stage_ops_t qg_stage_binding __attribute__((weak));
extern const qg_stage_ops_t qg_stage_simulation __attribute__((weak));
extern const qg_stage_ops_t qg_stage_passthrough __attribute__((weak));

const qg_stage_ops_t *qgctl_stage_find(const char *name, int *is_generic)
{
    const qg_stage_ops_t *known[] = {&qg_stage_selection, &qg_stage_binding, &qg_stage_simulation};
    *is_generic = 0;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (known[i] && known[i]->name && !strcmp(known[i]->name, name))
            return known[i];
    if (&qg_stage_passthrough && !strncmp(name, "pass", 4)) {
        *is_generic = 1;
        return &qg_stage_passthrough;
    }
    return NULL;
}

void qgctl_stage_list(FILE *f)
{
    const qg_stage_ops_t *known[] = {&qg_stage_selection, &qg_stage_binding, &qg_stage_simulation};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (known[i])
            fprintf(f, "  %-14s %s (%s)\n", known[i]->name, known[i]->summary, known[i]->program);
}
