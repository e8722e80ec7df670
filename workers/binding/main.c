/*
 * qg-binding: the yamlBinding stage worker (manifest + AAS server -> scenario).
 */
#include "stage.h"

extern const qg_stage_ops_t qg_stage_binding;

int main(int argc, char **argv)
{
    return qg_worker_main(&qg_stage_binding, argc, argv);
}
