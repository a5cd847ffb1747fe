/* The access log: one JSON object per line, so no client-chosen path can forge or break a line
 * (jansson escapes it). */
#include "access_log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGGED_METHOD_MAX 16
#define LOGGED_PATH_MAX   256

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

    /* Bytes that are not UTF-8 cannot be a JSON string: such a path is logged with them as '?'. */
    char path[LOGGED_PATH_MAX + 1], method[LOGGED_METHOD_MAX + 1];
    snprintf(path, sizeof path, "%s", entry->path);
    snprintf(method, sizeof method, "%s", entry->method);
    json_t *line =
        json_pack("{s:s, s:s, s:s, s:s?, s:i, s:I, s:s}", "time", stamp, "request_id",
                  entry->request_id, "method", method, "path", NULL, "status", (int)entry->status,
                  "duration_us", (json_int_t)elapsed_us, "client", entry->client);
    if (line == NULL)
        return;
    json_t *path_value = json_stringn(path, strlen(path));
    if (path_value == NULL) {
        for (char *p = path; *p != '\0'; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        path_value = json_string(path);
    }
    json_object_set_new(line, "path", path_value);
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
