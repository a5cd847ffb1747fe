/* HTTP/1.1 grammar the library does not enforce. Each request passes through here once, so these
 * are plain byte loops. */
#include "message_syntax.h"

#include <string.h>

static int is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

int mx_http_is_field_name(const char *name) {
    if (name[0] == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        int alphanumeric =
            (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
        if (!alphanumeric && strchr("!#$%&'*+-.^_`|~", *p) == NULL)
            return 0;
    }
    return 1;
}

int mx_http_is_field_value(const char *value) {
    return strpbrk(value, "\r\n") == NULL;
}

int mx_http_is_target(const char *target) {
    for (const unsigned char *p = (const unsigned char *)target; *p != '\0'; p++)
        if (is_control(*p) || *p == ' ')
            return 0;
    return 1;
}

int mx_http_parse_content_length(const char *text, uint64_t *out) {
    uint64_t value = 0;
    if (text[0] == '\0')
        return 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        unsigned digit = (unsigned)(*p - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return 0;
        value = value * 10 + digit;
    }
    *out = value;
    return 1;
}
