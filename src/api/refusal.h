/* Why a request's input was refused, in words for the person who sent it: the sentence names the
 * input and the rule it broke. Plain C without jansson, so the body readers that fill one stay
 * pure functions of their bytes. Thread-safe. */
#ifndef MONDUX_API_REFUSAL_H
#define MONDUX_API_REFUSAL_H

#include "mondux/status.h"

/* A field name longer than this, or not printable ASCII, is never echoed back. */
#define MX_API_FIELD_MAX 40

struct mx_api_refusal {
    mx_status status;
    char field[MX_API_FIELD_MAX + 1]; /* the one input at fault: a body field, query parameter or
                                         header name; "" when no one input is */
    char message[256];                /* the sentence; "" for the status table's */
};

/* Fills why with status, field (may be NULL; left out unless mx_api_echoable) and the sentence
 * format makes, and returns status, for "return mx_api_refuse(why, ...)". */
mx_status mx_api_refuse(struct mx_api_refusal *why, mx_status status, const char *field,
                        const char *format, ...) __attribute__((format(printf, 4, 5)));

/* The same with the status table's own sentence (the original routes' "transaction sum is
 * invalid" stays word for word). */
mx_status mx_api_refuse_as_table(struct mx_api_refusal *why, mx_status status, const char *field);

/* 1 if name (may be NULL) can be put into an answer as it is: 1..MX_API_FIELD_MAX printable ASCII
 * characters other than '"' and '\\', so that a sentence quoting it reads plainly. */
int mx_api_echoable(const char *name);

#endif
