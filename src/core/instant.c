/* RFC 3339 instants (mondux/instant.h). */
#include "mondux/instant.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* n ASCII digits at text as a number, or -1. */
static int digits(const char *text, int n) {
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

static int is_leap(int64_t year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int64_t year, int month) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Days from 1970-01-01 to the date (proleptic Gregorian), by Howard Hinnant's algorithm. */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

#define US_PER_DAY INT64_C(86400000000)

int mx_instant_parse(const char *text, struct mx_instant *out) {
    if (text == NULL)
        return 0;
    size_t length = strlen(text);
    if (length < 10 || text[4] != '-' || text[7] != '-')
        return 0;
    int year = digits(text, 4), month = digits(text + 5, 2), day = digits(text + 8, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return 0;
    int64_t us = days_from_civil(year, month, day) * US_PER_DAY;
    if (length > 10) {
        const char *p = text + 10;
        if ((*p != 'T' && *p != 't') || strlen(p) < 10 || p[3] != ':' || p[6] != ':')
            return 0;
        int hour = digits(p + 1, 2), minute = digits(p + 4, 2), second = digits(p + 7, 2);
        if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
            return 0;
        us += ((int64_t)hour * 3600 + minute * 60 + second) * 1000000;
        p += 9;
        if (*p == '.') {
            int n = 0;
            int64_t fraction = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, n++)
                fraction = fraction * 10 + (*p - '0');
            if (n < 1 || n > 6)
                return 0;
            for (; n < 6; n++)
                fraction *= 10;
            us += fraction;
        }
        if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
            /* UTC */
        } else if ((*p == '+' || *p == '-' || *p == ' ') && strlen(p) == 6 && p[3] == ':') {
            int oh = digits(p + 1, 2), om = digits(p + 4, 2);
            if (oh < 0 || oh > 23 || om < 0 || om > 59)
                return 0;
            int64_t offset = ((int64_t)oh * 3600 + om * 60) * 1000000;
            us -= *p == '-' ? -offset : offset; /* local time minus its offset is UTC */
        } else {
            return 0;
        }
    }
    int64_t utc_day = us >= 0 ? us / US_PER_DAY : -((-us + US_PER_DAY - 1) / US_PER_DAY);
    int64_t in_day = us - utc_day * US_PER_DAY;
    int64_t y;
    int m, d;
    civil_from_days(utc_day, &y, &m, &d);
    if (y < 1 || y > 9999)
        return 0;
    out->unix_us = us;
    int64_t seconds = in_day / 1000000;
    char text_utc[64];
    snprintf(text_utc, sizeof text_utc, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d,
             (int)(seconds / 3600), (int)(seconds / 60 % 60), (int)(seconds % 60),
             (int)(in_day % 1000000));
    memcpy(out->utc, text_utc, sizeof out->utc - 1); /* always 27 characters */
    out->utc[sizeof out->utc - 1] = '\0';
    return 1;
}
