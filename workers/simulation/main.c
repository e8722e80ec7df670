/*
 * qg-simulation: the simulation stage worker (builtin engine or exec simulator).
 */
#include "stage.h"

extern const qg_stage_ops_t qg_stage_simulation;

int main(int argc, char **argv)
{
    return qg_worker_main(&qg_stage_simulation, argc, argv);
}
