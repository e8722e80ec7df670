/*
 * qg-datafiltering: the dataFiltering stage worker (records -> the goal's outputs).
 */
#include "stage.h"

extern const qg_stage_ops_t qg_stage_datafiltering;

int main(int argc, char **argv)
{
    return qg_worker_main(&qg_stage_datafiltering, argc, argv);
}
