/* The access log: one JSON object per line, so no client-chosen path can forge or break a line
 * (jansson escapes it). */
#include "access_log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGGED_METHOD_MAX 16
#define LOGGED_TEXT_MAX   256

/* A client-chosen text as a JSON string (new), cut to a bounded length. Bytes that are not UTF-8
 * cannot be a JSON string: such a text is logged with them as '?'. */
static json_t *client_text(const char *text) {
    char copy[LOGGED_TEXT_MAX + 1];
    snprintf(copy, sizeof copy, "%s", text);
    json_t *value = json_stringn(copy, strlen(copy));
    if (value != NULL)
        return value;
    for (char *p = copy; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    return json_string(copy);
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

    char method[LOGGED_METHOD_MAX + 1];
    snprintf(method, sizeof method, "%s", entry->method);
    /* "o" steals the new strings; the line is NULL (and they freed) if one is. */
    json_t *line =
        json_pack("{s:s, s:s, s:s, s:o, s:i, s:I, s:s, s:s, s:o, s:I}", "time", stamp, "request_id",
                  entry->request_id, "method", method, "path", client_text(entry->path), "status",
                  (int)entry->status, "duration_us", (json_int_t)elapsed_us, "client",
                  entry->client, "peer", entry->peer, "user_agent", client_text(entry->user_agent),
                  "bytes_sent", (json_int_t)entry->bytes_sent);
    if (line == NULL)
        return;
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return;
    /* One fputs + putc under the stream lock: lines from threads never interleave. */
    flockfile(stdout);
    fputs(text, stdout);
    putc_unlocked('\n', stdout);
    funlockfile(stdout);
    free(text);
}
