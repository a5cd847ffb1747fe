/* Strict reading of the JSON request bodies (request_bodies.h). */
#include "request_bodies.h"

#include <jansson.h>
#include <string.h>

#include "mondux/money.h"

/* One JSON object without duplicate keys: a new reference, or NULL. */
static json_t *parse_object(const char *text, size_t size) {
    json_error_t error;
    json_t *body = json_loadb(text, size, JSON_REJECT_DUPLICATES, &error);
    /* An integer too big for jansson is still well-formed JSON, and the member it sits in should
     * be the one refused ("sum" gets invalid_sum): read it as a real, which no integer check
     * accepts. */
    if (body == NULL && json_error_code(&error) == json_error_numeric_overflow)
        body = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &error);
    if (body != NULL && !json_is_object(body)) {
        json_decref(body);
        body = NULL;
    }
    return body;
}

/* 1 if object has no member other than the allowed ones (a NULL-terminated list). */
static int only_members(json_t *object, const char *const *allowed) {
    const char *name;
    json_t *value;
    json_object_foreach(object, name, value) {
        (void)value;
        int known = 0;
        for (const char *const *a = allowed; *a != NULL && !known; a++)
            known = strcmp(name, *a) == 0;
        if (!known)
            return 0;
    }
    return 1;
}

/* A JSON integer in min..max (1.0 and "1" are not integers); 1 on success. */
static int integer_member(const json_t *object, const char *name, int64_t min, int64_t max,
                          int64_t *out) {
    const json_t *value = json_object_get(object, name);
    if (!json_is_integer(value))
        return 0;
    json_int_t number = json_integer_value(value);
    if (number < min || number > max)
        return 0;
    *out = (int64_t)number;
    return 1;
}

mx_status mx_api_read_account_body(const char *text, size_t size, int64_t *overdraft_limit_cents) {
    *overdraft_limit_cents = 0;
    if (size == 0)
        return MX_OK;
    static const char *const allowed[] = {"overdraft_limit", NULL};
    json_t *body = parse_object(text, size);
    mx_status status = MX_OK;
    if (body == NULL || !only_members(body, allowed))
        status = MX_INVALID_REQUEST;
    else if (json_object_get(body, "overdraft_limit") != NULL &&
             !integer_member(body, "overdraft_limit", 0, MX_MONEY_MAX_CENTS, overdraft_limit_cents))
        status = MX_INVALID_REQUEST;
    json_decref(body);
    return status;
}

static void copy_account(const json_t *value, char *out, size_t size) {
    const char *text = json_string_value(value);
    size_t length = json_string_length(value);
    if (length < size && strlen(text) == length)
        memcpy(out, text, length + 1);
    else
        out[0] = '\0';
}

mx_status mx_api_read_transfer_body(const char *text, size_t size, struct mx_transfer_order *out) {
    static const char *const allowed[] = {"from", "to", "sum", NULL};
    json_t *body = parse_object(text, size);
    const json_t *from = json_object_get(body, "from");
    const json_t *to = json_object_get(body, "to");
    mx_status status = MX_OK;
    if (body == NULL || !only_members(body, allowed) || !json_is_string(from) ||
        !json_is_string(to))
        status = MX_INVALID_REQUEST;
    else if (!integer_member(body, "sum", 1, MX_MONEY_MAX_CENTS, &out->sum_cents))
        status = MX_INVALID_SUM;
    else if (json_equal(from, to))
        status = MX_INVALID_REQUEST; /* a transfer to the same account would move nothing */
    if (status == MX_OK) {
        copy_account(from, out->from, sizeof out->from);
        copy_account(to, out->to, sizeof out->to);
    }
    json_decref(body);
    return status;
}
