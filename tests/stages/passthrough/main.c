#include "stage.h"

extern const qg_stage_ops_t qg_stage_passthrough;

int main(int argc, char **argv)
{
    return qg_worker_main(&qg_stage_passthrough, argc, argv);
}
