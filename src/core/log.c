/* Diagnostics on stderr, filtered by level (log.h). */
#include "mondux/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum mx_log_level threshold = MX_LOG_INFO;

void mx_log_set_level(enum mx_log_level level) {
    threshold = level;
}

int mx_log_enabled(enum mx_log_level level) {
    return level >= threshold;
}

int mx_log_level_parse(const char *name, enum mx_log_level *out) {
    static const char *const names[] = {[MX_LOG_DEBUG] = "debug",
                                        [MX_LOG_INFO] = "info",
                                        [MX_LOG_WARN] = "warn",
                                        [MX_LOG_ERROR] = "error"};
    for (int i = MX_LOG_DEBUG; i <= MX_LOG_ERROR; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum mx_log_level)i;
            return 1;
        }
    }
    return 0;
}

void mx_log(enum mx_log_level level, const char *format, ...) {
    if (!mx_log_enabled(level))
        return;
    /* Long enough for a database error with its detail; a longer one is cut. */
    char line[2048] = "mondux: ";
    size_t prefix = strlen(line);
    va_list arguments;
    va_start(arguments, format);
    int written = vsnprintf(line + prefix, sizeof line - prefix - 1, format, arguments);
    va_end(arguments);
    if (written < 0)
        return;
    size_t length = strlen(line);
    if (line[length - 1] != '\n') {
        line[length++] = '\n';
        line[length] = '\0';
    }
    fwrite(line, 1, length, stderr);
}
