/*
 * clock.c - monotonic and wall-clock milliseconds, replaceable by tests.
 */
#include "clock.h"

#include <time.h>

static qg_clock_source_t monotonic_source;
static qg_clock_source_t wall_source;

static double ms_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
}

double qg_clock_ms(void)
{
    return monotonic_source ? monotonic_source() : ms_of(CLOCK_MONOTONIC);
}

double qg_clock_wall_ms(void)
{
    return wall_source ? wall_source() : ms_of(CLOCK_REALTIME);
}

void qg_clock_set_source(qg_clock_source_t monotonic, qg_clock_source_t wall)
{
    monotonic_source = monotonic;
    wall_source = wall;
}
