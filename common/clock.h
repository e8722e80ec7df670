/*
 * clock.h - the time the runtime measures intervals and deadlines with.
 *
 * qg_clock_ms() is monotonic (CLOCK_MONOTONIC): it never jumps when the wall
 * clock is set, so commit periods, transaction lengths and shutdown deadlines
 * hold. qg_clock_wall_ms() is the epoch time, for timestamps other processes
 * read (a retry's not-before header, log and DLQ times).
 *
 * Tests replace either source with qg_clock_set_source() (a seam, in the manner
 * of a link-time stub for time()) and restore it with NULL.
 */
#ifndef QG_CLOCK_H
#define QG_CLOCK_H

typedef double (*qg_clock_source_t)(void);

/** Milliseconds on the monotonic clock (arbitrary origin). */
double qg_clock_ms(void);
/** Milliseconds since the epoch. */
double qg_clock_wall_ms(void);

/** Tests: read the monotonic (and wall) time from these functions; NULL restores the real one. */
void qg_clock_set_source(qg_clock_source_t monotonic, qg_clock_source_t wall);

#endif
