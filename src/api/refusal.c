/* Filling in a refusal (refusal.h); render.c turns it into the answer. */
#include "refusal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mx_api_echoable(const char *name) {
    if (name == NULL || name[0] == '\0')
        return 0;
    size_t length = 0;
    for (const char *p = name; *p != '\0'; p++, length++) {
        if (length == MX_API_FIELD_MAX || *p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            return 0;
    }
    return 1;
}

mx_status mx_api_refuse_as_table(struct mx_api_refusal *why, mx_status status, const char *field) {
    why->status = status;
    why->field[0] = '\0';
    if (mx_api_echoable(field))
        memcpy(why->field, field, strlen(field) + 1);
    why->message[0] = '\0';
    return status;
}

mx_status mx_api_refuse(struct mx_api_refusal *why, mx_status status, const char *field,
                        const char *format, ...) {
    mx_api_refuse_as_table(why, status, field);
    va_list args;
    va_start(args, format);
    vsnprintf(why->message, sizeof why->message, format, args);
    va_end(args);
    return status;
}
