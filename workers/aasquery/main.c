/*
 * qg-aasquery: the aasQuery stage worker (goal type's query manifest + AAS server -> records).
 */
#include "stage.h"

extern const qg_stage_ops_t qg_stage_aasquery;

int main(int argc, char **argv)
{
    return qg_worker_main(&qg_stage_aasquery, argc, argv);
}
