/* The parts of HTTP/1.1's grammar (RFC 9110, 9112) that libmicrohttpd 0.9.75 lets through, checked
 * on a request's head before its body is read. Pure functions of their (borrowed) arguments;
 * thread-safe. */
#ifndef MONDUX_HTTP_MESSAGE_SYNTAX_H
#define MONDUX_HTTP_MESSAGE_SYNTAX_H

#include <stdint.h>

/* 1 when name is a token: no space before the colon, no control byte, no separator. */
int mx_http_is_field_name(const char *name);

/* 1 when value holds no CR and no LF (RFC 9110 5.5: must be refused). Other control bytes are
 * kept, as that section allows, and so a DEL in an X-Request-Id only makes it insane. */
int mx_http_is_field_value(const char *value);

/* 1 when the request target holds no control byte and no space. */
int mx_http_is_target(const char *target);

/* 1 with the value in *out when text is only ASCII digits (at least one) and fits in 64 bits;
 * else 0 ("+5", "-1", "5,5", "0x46", "1e3", " 5", ""). */
int mx_http_parse_content_length(const char *text, uint64_t *out);

#endif
