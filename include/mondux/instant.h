/* Instants as the API takes them: RFC 3339 date-times ("2026-12-03T10:30:00.25+05:30", "...Z",
 * at most six digits of fraction) or dates ("2026-12-03": midnight UTC). Pure: no clock, no I/O. */
#ifndef MONDUX_INSTANT_H
#define MONDUX_INSTANT_H

#include <stdint.h>

#define MX_INSTANT_TEXT_SIZE 28 /* "2026-12-03T05:00:00.250000Z" and its NUL */

struct mx_instant {
    int64_t unix_us;                /* microseconds since 1970-01-01T00:00:00Z */
    char utc[MX_INSTANT_TEXT_SIZE]; /* the same instant in UTC, with six digits of fraction */
};

/* 1 and *out when text is such an instant, in the years 0001 to 9999 once taken to UTC; else 0.
 * An offset's '+' may arrive as a space (a '+' a client left unencoded in a query string). */
int mx_instant_parse(const char *text, struct mx_instant *out);

#endif
