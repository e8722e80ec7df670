/*
 * timerange.c - ISO-8601 instants and relative ranges ("yesterday", "last 24 h").
 */
#include "timerange.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY_MS  86400000.0
#define HOUR_MS 3600000.0

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm). */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(long y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Read exactly n digits. */
static int read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int parse_date(const char **p, double *ms)
{
    int y, m, d;
    if (read_digits(p, 4, &y) || *(*p)++ != '-' || read_digits(p, 2, &m) || *(*p)++ != '-' ||
        read_digits(p, 2, &d))
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *ms = (double)days_from_civil(y, m, d) * DAY_MS;
    return 0;
}

/* "HH:MM[:SS[.fff]]" after the 'T'. */
static int parse_clock(const char **p, double *ms)
{
    int h, mi, s = 0;
    if (read_digits(p, 2, &h) || *(*p)++ != ':' || read_digits(p, 2, &mi))
        return -1;
    if (**p == ':') {
        (*p)++;
        if (read_digits(p, 2, &s))
            return -1;
    }
    double frac = 0, scale = 100;
    if (**p == '.' || **p == ',') {
        (*p)++;
        if (!isdigit((unsigned char)**p))
            return -1;
        for (; isdigit((unsigned char)**p); (*p)++, scale /= 10)
            frac += (**p - '0') * scale;
    }
    if (h > 24 || mi > 59 || s > 60)
        return -1;
    *ms = h * HOUR_MS + mi * 60000.0 + s * 1000.0 + frac;
    return 0;
}

/* "Z", "+HH:MM", "-HHMM" or nothing (UTC). Offset to subtract. */
static int parse_zone(const char **p, double *offset_ms)
{
    *offset_ms = 0;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        return 0;
    }
    if (**p != '+' && **p != '-')
        return 0;
    int sign = **p == '-' ? -1 : 1, h, m = 0;
    (*p)++;
    if (read_digits(p, 2, &h))
        return -1;
    if (**p == ':')
        (*p)++;
    if (isdigit((unsigned char)**p) && read_digits(p, 2, &m))
        return -1;
    if (h > 23 || m > 59)
        return -1;
    *offset_ms = sign * (h * HOUR_MS + m * 60000.0);
    return 0;
}

int qg_time_parse(const char *text, double *ms, int *is_date)
{
    const char *p = text;
    double day, clock = 0, offset = 0;
    if (!text || parse_date(&p, &day) != 0)
        return -1;
    *is_date = *p == '\0';
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (parse_clock(&p, &clock) != 0 || parse_zone(&p, &offset) != 0)
            return -1;
    }
    if (*p != '\0')
        return -1;
    *ms = day + clock - offset;
    return 0;
}

/* "last 24 h", "last 24h", "last 24 hours", "last 7 d", "last 30 min". */
static int parse_last(const char *text, double now_ms, qg_time_range_t *out)
{
    if (strncasecmp(text, "last", 4) != 0)
        return -1;
    const char *p = text + 4;
    while (*p == ' ')
        p++;
    char *end;
    long n = strtol(p, &end, 10);
    if (end == p || n <= 0 || n > 100000)
        return -1;
    while (*end == ' ')
        end++;
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"min", 60000.0}, {"mins", 60000.0}, {"minutes", 60000.0},
                 {"h", HOUR_MS},   {"hour", HOUR_MS}, {"hours", HOUR_MS},
                 {"d", DAY_MS},    {"day", DAY_MS},   {"days", DAY_MS}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcasecmp(end, units[i].unit) == 0) {
            out->to_ms = now_ms;
            out->from_ms = now_ms - (double)n * units[i].ms;
            return 0;
        }
    return -1;
}

int qg_time_range_parse(const char *text, double now_ms, qg_time_range_t *out)
{
    double ms;
    int is_date;
    double today = (double)(long long)(now_ms / DAY_MS) * DAY_MS;
    if (!text)
        return -1;
    if (strcasecmp(text, "today") == 0 || strcasecmp(text, "yesterday") == 0) {
        out->from_ms = today - (strcasecmp(text, "yesterday") == 0 ? DAY_MS : 0);
        out->to_ms = out->from_ms + DAY_MS;
        return 0;
    }
    if (qg_time_parse(text, &ms, &is_date) == 0) {
        out->from_ms = ms;
        out->to_ms = ms + (is_date ? DAY_MS : HOUR_MS);
        return 0;
    }
    return parse_last(text, now_ms, out);
}

int qg_time_range_contains(const qg_time_range_t *r, double ms)
{
    return ms >= r->from_ms && ms < r->to_ms;
}
