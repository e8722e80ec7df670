/*
 * qg-selection: the swrlSelection stage worker (model registry + SWRL rules).
 */
#include "stage.h"

extern const qg_stage_ops_t qg_stage_selection;

int main(int argc, char **argv)
{
    return qg_worker_main(&qg_stage_selection, argc, argv);
}
