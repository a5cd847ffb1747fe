/* The access log: one JSON object per line, so no client-chosen path can forge or break a line.
 * Every text is written as a JSON string with the escapes jansson's json_dumps uses, so the lines
 * read as they always did; the response JSON stays src/api's alone. */
#include "access_log.h"

#include <stdio.h>
#include <string.h>

#define LOGGED_METHOD_MAX 16
#define LOGGED_TEXT_MAX   256
/* Seven texts of at most LOGGED_TEXT_MAX bytes, each byte at most 6 escaped ("\u001F"), their
 * quotes, three numbers and the names: well under this. */
#define LINE_SIZE 16384

struct line {
    char text[LINE_SIZE];
    size_t length;
    int overflow; /* a line that did not fit is dropped, never written cut */
};

static void put(struct line *line, const char *bytes, size_t n) {
    if (line->overflow || n >= sizeof line->text - line->length) {
        line->overflow = 1;
        return;
    }
    memcpy(line->text + line->length, bytes, n);
    line->length += n;
}

/* The length of the well-formed UTF-8 sequence (RFC 3629: no overlong form, no surrogate, nothing
 * above U+10FFFF) at s[0..n), or 0 if there is none. */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
    unsigned char lead = s[0], low = 0x80, high = 0xBF;
    size_t length;
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        length = 2;
    else if (lead >= 0xE0 && lead <= 0xEF)
        length = 3;
    else if (lead >= 0xF0 && lead <= 0xF4)
        length = 4;
    else
        return 0;
    if (lead == 0xE0)
        low = 0xA0; /* below: overlong */
    else if (lead == 0xED)
        high = 0x9F; /* above: surrogates */
    else if (lead == 0xF0)
        low = 0x90; /* below: overlong */
    else if (lead == 0xF4)
        high = 0x8F; /* above: beyond U+10FFFF */
    if (n < length || s[1] < low || s[1] > high)
        return 0;
    for (size_t i = 2; i < length; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return length;
}

static int is_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0, step; i < n; i += step)
        if ((step = utf8_sequence(s + i, n - i)) == 0)
            return 0;
    return 1;
}

/* "name": after the "{" or a comma. */
static void put_name(struct line *line, const char *name) {
    if (line->length > 1)
        put(line, ",", 1);
    put(line, "\"", 1);
    put(line, name, strlen(name));
    put(line, "\":", 2);
}

/* "name": then text as a JSON string, cut to max bytes. Bytes that are not UTF-8 cannot be in a
 * JSON string: a text with any is written with every byte above 0x7F as '?'. */
static void put_text(struct line *line, const char *name, const char *text, size_t max) {
    /* The characters json_dumps escapes with a letter; other control characters as \u00XX. */
    static const char specials[] = "\"\\\b\f\n\r\t", letters[] = "\"\\bfnrt";
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strnlen(text, max);
    int readable = is_utf8(s, n);
    put_name(line, name);
    put(line, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        const char *special = strchr(specials, s[i]); /* s[i] is never '\0' */
        char seq[8];
        if (special != NULL) {
            seq[0] = '\\';
            seq[1] = letters[special - specials];
            put(line, seq, 2);
        } else if (s[i] < 0x20) {
            put(line, seq, (size_t)snprintf(seq, sizeof seq, "\\u%04X", s[i]));
        } else {
            put(line, s[i] >= 0x80 && !readable ? "?" : (const char *)&s[i], 1);
        }
    }
    put(line, "\"", 1);
}

/* "name":number. */
static void put_number(struct line *line, const char *name, long long value) {
    char text[24];
    put_name(line, name);
    put(line, text, (size_t)snprintf(text, sizeof text, "%lld", value));
}

void mx_access_log(const struct mx_access_entry *entry) {
    struct timespec now, wall;
    clock_gettime(CLOCK_MONOTONIC, &now);
    clock_gettime(CLOCK_REALTIME, &wall);
    long long elapsed_us = (long long)(now.tv_sec - entry->started->tv_sec) * 1000000LL +
                           (now.tv_nsec - entry->started->tv_nsec) / 1000LL;

    struct tm utc;
    char stamp[40];
    gmtime_r(&wall.tv_sec, &utc);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", wall.tv_nsec / 1000000L);

    struct line line; /* not zeroed: only text[0..length) is ever read */
    line.length = 0;
    line.overflow = 0;
    put(&line, "{", 1);
    put_text(&line, "time", stamp, sizeof stamp);
    put_text(&line, "request_id", entry->request_id, LOGGED_TEXT_MAX);
    put_text(&line, "method", entry->method, LOGGED_METHOD_MAX);
    put_text(&line, "path", entry->path, LOGGED_TEXT_MAX);
    put_number(&line, "status", (long long)entry->status);
    put_number(&line, "duration_us", elapsed_us);
    put_text(&line, "client", entry->client, LOGGED_TEXT_MAX);
    put_text(&line, "peer", entry->peer, LOGGED_TEXT_MAX);
    put_text(&line, "user_agent", entry->user_agent, LOGGED_TEXT_MAX);
    put_number(&line, "bytes_sent", (long long)entry->bytes_sent);
    put(&line, "}\n", 2);
    if (line.overflow)
        return;
    /* One fwrite, which holds the stream's lock: lines from threads never interleave. */
    fwrite(line.text, 1, line.length, stdout);
}
