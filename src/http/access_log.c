#include "access_log.h"

#include <stdio.h>

#define LOGGED_METHOD_MAX 16
#define LOGGED_PATH_MAX   256

/* Copies at most max bytes of src, with spaces and control characters replaced by '?'. */
static void copy_printable(char *dst, const char *src, size_t max) {
    size_t n = 0;
    for (; src[n] != '\0' && n < max; n++) {
        unsigned char c = (unsigned char)src[n];
        dst[n] = (c <= 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    dst[n] = '\0';
}

void mx_access_log(const char *method, const char *path, unsigned status,
                   const struct timespec *started, const char *request_id) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed_us =
        (long)(now.tv_sec - started->tv_sec) * 1000000L + (now.tv_nsec - started->tv_nsec) / 1000L;

    char safe_method[LOGGED_METHOD_MAX + 1], safe_path[LOGGED_PATH_MAX + 1];
    copy_printable(safe_method, method, LOGGED_METHOD_MAX);
    copy_printable(safe_path, path, LOGGED_PATH_MAX);

    time_t wall = time(NULL);
    struct tm utc;
    char stamp[32];
    gmtime_r(&wall, &utc);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);

    /* One fprintf per line: stdio locks the stream, so lines from threads never interleave. */
    fprintf(stdout, "%s %s %s %u %ld.%03ldms id=%s\n", stamp, safe_method, safe_path, status,
            elapsed_us / 1000, elapsed_us % 1000, request_id);
}
