/*
 * wallclock.c - wall-clock time for timestamps (declared in goal.h). Kept apart
 * from the goal model so that logging, and so the configuration, do not pull
 * in the JSON library (qg-broker links only librdkafka).
 */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "clock.h"
#include "goal.h"

double qg_now_ms(void)
{
    return qg_clock_wall_ms(); /* through the clock seam tests can set */
}

const char *qg_iso_time(char *buf, size_t sz, double epoch_ms)
{
    time_t secs = (time_t)(epoch_ms / 1000.0);
    int ms = (int)fmod(epoch_ms, 1000.0);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, sz, "%s.%03dZ", base, ms < 0 ? 0 : ms);
    return buf;
}
