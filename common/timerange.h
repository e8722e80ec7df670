/*
 * timerange.h - instants and time ranges for time-series queries.
 *
 * Instants are milliseconds since the epoch (UTC). A range is [from, to).
 * Accepted range texts (case-insensitive, spaces optional where shown):
 *   2026-11-29                  that UTC calendar day
 *   2026-11-29T06:00:00Z        from that instant for one hour
 *   today | yesterday           the UTC calendar day
 *   last 24 h | last 24h | last 24 hours | last 7 d | last 30 min
 *                               the span ending now
 */
#ifndef QG_TIMERANGE_H
#define QG_TIMERANGE_H

typedef struct {
    double from_ms; /* inclusive */
    double to_ms;   /* exclusive */
} qg_time_range_t;

/**
 * Parse an ISO-8601 date ("2026-11-29", taken as 00:00Z) or date-time
 * ("2026-11-29T06:05:00Z", ".123" fraction and "+09:00" offsets allowed; no
 * zone means UTC). 0 on success, -1 if the text is not such an instant or
 * names an impossible date. *is_date is set when only a date was given.
 */
int qg_time_parse(const char *text, double *ms, int *is_date);

/** Parse a range text (see above) relative to now_ms. 0 or -1. */
int qg_time_range_parse(const char *text, double now_ms, qg_time_range_t *out);

/** Is ms inside the range? */
int qg_time_range_contains(const qg_time_range_t *r, double ms);

#endif
