/* Strict reading of the JSON request bodies (request_bodies.h). */
#include "request_bodies.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "mondux/money.h"

/* What one kind of body is, for the sentences that refuse it. */
struct body_kind {
    const char *const *members; /* the members it may have, NULL-terminated */
    const char *takes;          /* the same, as a person reads them */
    const char *example;        /* a body to send instead */
};

static const char *const account_members[] = {"overdraft_limit", "currency", NULL};
static const struct body_kind account_kind = {
    account_members, "\"overdraft_limit\" and \"currency\"", MX_API_ACCOUNT_BODY_EXAMPLE};
static const char *const limit_members[] = {"overdraft_limit", NULL};
static const struct body_kind limit_kind = {limit_members, "\"overdraft_limit\"",
                                            MX_API_LIMIT_BODY_EXAMPLE};

static const char *const transfer_members[] = {"from", "to", "sum", "reference", "metadata", NULL};
static const struct body_kind transfer_kind = {
    transfer_members, "\"from\", \"to\", \"sum\", \"reference\" and \"metadata\"",
    MX_API_TRANSFER_BODY_EXAMPLE};

static const char *const no_members[] = {NULL};
static const struct body_kind empty_kind = {no_members, "no field", MX_API_EMPTY_BODY_EXAMPLE};

static const char *const hold_members[] = {"sum", "expires_in", "reference", "metadata", NULL};
static const struct body_kind hold_kind = {
    hold_members, "\"sum\", \"expires_in\", \"reference\" and \"metadata\"",
    MX_API_HOLD_BODY_EXAMPLE};

static const char *const capture_members[] = {"sum", "reference", "metadata", NULL};
static const struct body_kind capture_kind = {
    capture_members, "\"sum\", \"reference\" and \"metadata\"", MX_API_CAPTURE_BODY_EXAMPLE};

static const char *const move_members[] = {"sum", "reference", "metadata", NULL};
static const struct body_kind move_kind = {move_members, "\"sum\", \"reference\" and \"metadata\"",
                                           MX_API_MOVE_BODY_EXAMPLE};

/* 1 if value is the media type application/json, parameters (";charset=utf-8") aside. */
static int is_json_type(const char *value) {
    static const char json[] = "application/json";
    for (size_t i = 0; i < sizeof json - 1; i++) {
        if (tolower((unsigned char)value[i]) != json[i])
            return 0;
    }
    char next = value[sizeof json - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

mx_status mx_api_check_body_type(const struct mx_request *request, const char *example,
                                 struct mx_api_refusal *why) {
    unsigned count = 0;
    const char *value = request->header(request, "Content-Type", &count);
    /* Without one the body is taken for what it must be; a browser's form or text/plain never
     * comes without one, and is refused. */
    if (request->body_size == 0 || count == 0)
        return MX_OK;
    if (count > 1)
        return mx_api_refuse(why, MX_INVALID_REQUEST, "Content-Type",
                             "Content-Type must be sent once");
    if (!is_json_type(value))
        return mx_api_refuse(why, MX_INVALID_REQUEST, "Content-Type",
                             "Content-Type must be application/json: the body is read as JSON, "
                             "e.g. %s",
                             example);
    return MX_OK;
}

/* One JSON object without duplicate keys: MX_OK and *out (a new reference), or a refusal. */
static mx_status parse_object(const char *text, size_t size, const struct body_kind *kind,
                              json_t **out, struct mx_api_refusal *why) {
    json_error_t error;
    *out = NULL;
    if (size == 0)
        return mx_api_refuse(why, MX_INVALID_REQUEST, NULL,
                             "the body must be a JSON object, e.g. %s; it is empty", kind->example);
    /* Any value, so that "500" is refused for what it is: not an object. */
    const size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY;
    json_t *body = json_loadb(text, size, flags, &error);
    /* An integer too big for jansson is still well-formed JSON, and the member it sits in should
     * be the one refused ("sum" gets invalid_sum): read it as a real, which no integer check
     * accepts. */
    if (body == NULL && json_error_code(&error) == json_error_numeric_overflow)
        body = json_loadb(text, size, flags | JSON_DECODE_INT_AS_REAL, &error);
    if (body == NULL && json_error_code(&error) == json_error_duplicate_key)
        return mx_api_refuse(why, MX_INVALID_REQUEST, NULL,
                             "the body names a field twice (line %d, column %d): name each once",
                             error.line, error.column);
    if (body == NULL)
        return mx_api_refuse(why, MX_INVALID_REQUEST, NULL,
                             "the body must be JSON, e.g. %s; it is not valid JSON at line %d, "
                             "column %d",
                             kind->example, error.line, error.column);
    if (!json_is_object(body)) {
        json_decref(body);
        return mx_api_refuse(why, MX_INVALID_REQUEST, NULL,
                             "the body must be a JSON object, e.g. %s", kind->example);
    }
    *out = body;
    return MX_OK;
}

/* MX_OK if object has no member other than the kind's, else a refusal naming the first other. */
static mx_status only_members(json_t *object, const struct body_kind *kind,
                              struct mx_api_refusal *why) {
    const char *name;
    json_t *value;
    json_object_foreach(object, name, value) {
        (void)value;
        int known = 0;
        for (const char *const *a = kind->members; *a != NULL && !known; a++)
            known = strcmp(name, *a) == 0;
        if (known)
            continue;
        /* A name that holds a NUL is not the name jansson's key says: never echoed. */
        if (mx_api_echoable(name) && json_object_get(object, name) == value)
            return mx_api_refuse(why, MX_INVALID_REQUEST, name,
                                 "unknown field \"%s\": this body takes only %s", name,
                                 kind->takes);
        return mx_api_refuse(why, MX_INVALID_REQUEST, NULL,
                             "the body has a field it does not take: it takes only %s",
                             kind->takes);
    }
    return MX_OK;
}

/* One JSON object of the kind's members only: MX_OK and *out (a new reference), or a refusal. */
static mx_status read_object(const char *text, size_t size, const struct body_kind *kind,
                             json_t **out, struct mx_api_refusal *why) {
    mx_status status = parse_object(text, size, kind, out, why);
    if (status == MX_OK)
        status = only_members(*out, kind, why);
    return status;
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

/* Three capital letters, as a JSON string without a NUL. */
static int is_currency_code(const json_t *value) {
    const char *text = json_string_value(value);
    if (text == NULL || json_string_length(value) != 3)
        return 0;
    for (int i = 0; i < 3; i++)
        if (text[i] < 'A' || text[i] > 'Z')
            return 0;
    return 1;
}

mx_status mx_api_read_account_body(const char *text, size_t size, struct mx_account_order *out,
                                   struct mx_api_refusal *why) {
    out->overdraft_limit_cents = 0;
    out->currency[0] = '\0';
    if (size == 0)
        return MX_OK;
    json_t *body = NULL;
    mx_status status = read_object(text, size, &account_kind, &body, why);
    const json_t *currency = json_object_get(body, "currency");
    if (status == MX_OK && json_object_get(body, "overdraft_limit") != NULL &&
        !integer_member(body, "overdraft_limit", 0, MX_MONEY_MAX_CENTS,
                        &out->overdraft_limit_cents))
        status = mx_api_refuse(why, MX_INVALID_REQUEST, "overdraft_limit",
                               "overdraft_limit must be a whole number of cents from 0 to %" PRId64,
                               (int64_t)MX_MONEY_MAX_CENTS);
    else if (status == MX_OK && currency != NULL && !is_currency_code(currency))
        status = mx_api_refuse(why, MX_INVALID_REQUEST, "currency",
                               "currency must be an ISO 4217 code, three capital letters such as "
                               "\"EUR\"");
    else if (status == MX_OK && currency != NULL)
        memcpy(out->currency, json_string_value(currency), MX_CURRENCY_SIZE);
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

mx_status mx_api_read_transfer_body(const char *text, size_t size, struct mx_transfer_order *out,
                                    struct mx_api_refusal *why) {
    json_t *body = NULL;
    mx_status status = read_object(text, size, &transfer_kind, &body, why);
    const json_t *from = json_object_get(body, "from");
    const json_t *to = json_object_get(body, "to");
    if (status == MX_OK && !json_is_string(from))
        status = mx_api_refuse(why, MX_INVALID_REQUEST, "from",
                               "from must be the number of the account to take the sum from, as "
                               "a JSON string");
    else if (status == MX_OK && !json_is_string(to))
        status = mx_api_refuse(why, MX_INVALID_REQUEST, "to",
                               "to must be the number of the account to put the sum into, as a "
                               "JSON string");
    else if (status == MX_OK &&
             !integer_member(body, "sum", 1, MX_MONEY_MAX_CENTS, &out->sum_cents))
        status = mx_api_refuse(why, MX_INVALID_SUM, "sum",
                               "sum must be a whole number of cents from 1 to %" PRId64,
                               (int64_t)MX_MONEY_MAX_CENTS);
    else if (status == MX_OK && json_equal(from, to))
        /* A transfer to the same account would move nothing. */
        status = mx_api_refuse(why, MX_INVALID_REQUEST, "to",
                               "from and to must be two different accounts");
    if (status == MX_OK) {
        copy_account(from, out->from, sizeof out->from);
        copy_account(to, out->to, sizeof out->to);
    }
    json_decref(body);
    return status;
}

mx_status mx_api_read_empty_body(const char *text, size_t size, struct mx_api_refusal *why) {
    if (size == 0)
        return MX_OK;
    json_t *body = NULL;
    mx_status status = read_object(text, size, &empty_kind, &body, why);
    json_decref(body);
    return status;
}

mx_status mx_api_read_limit_body(const char *text, size_t size, int64_t *overdraft_limit_cents,
                                 struct mx_api_refusal *why) {
    json_t *body = NULL;
    mx_status status = read_object(text, size, &limit_kind, &body, why);
    if (status == MX_OK &&
        !integer_member(body, "overdraft_limit", 0, MX_MONEY_MAX_CENTS, overdraft_limit_cents))
        status = mx_api_refuse(why, MX_INVALID_REQUEST, "overdraft_limit",
                               "overdraft_limit must be given, a whole number of cents from 0 to "
                               "%" PRId64,
                               (int64_t)MX_MONEY_MAX_CENTS);
    json_decref(body);
    return status;
}

mx_status mx_api_read_hold_body(const char *text, size_t size, int64_t *sum_cents,
                                unsigned *seconds, struct mx_api_refusal *why) {
    json_t *body = NULL;
    int64_t expires_in = MX_HOLD_SECONDS_DEFAULT;
    mx_status status = read_object(text, size, &hold_kind, &body, why);
    if (status == MX_OK && !integer_member(body, "sum", 1, MX_MONEY_MAX_CENTS, sum_cents))
        status = mx_api_refuse(why, MX_INVALID_SUM, "sum",
                               "sum must be a whole number of cents from 1 to %" PRId64,
                               (int64_t)MX_MONEY_MAX_CENTS);
    else if (status == MX_OK && json_object_get(body, "expires_in") != NULL &&
             !integer_member(body, "expires_in", MX_HOLD_SECONDS_MIN, MX_HOLD_SECONDS_MAX,
                             &expires_in))
        status = mx_api_refuse(why, MX_INVALID_REQUEST, "expires_in",
                               "expires_in must be a whole number of seconds from %d to %d",
                               MX_HOLD_SECONDS_MIN, MX_HOLD_SECONDS_MAX);
    *seconds = (unsigned)expires_in;
    json_decref(body);
    return status;
}

mx_status mx_api_read_capture_body(const char *text, size_t size, int64_t *sum_cents,
                                   struct mx_api_refusal *why) {
    *sum_cents = 0;
    if (size == 0)
        return MX_OK;
    json_t *body = NULL;
    mx_status status = read_object(text, size, &capture_kind, &body, why);
    if (status == MX_OK && json_object_get(body, "sum") != NULL &&
        !integer_member(body, "sum", 1, MX_MONEY_MAX_CENTS, sum_cents))
        status = mx_api_refuse(why, MX_INVALID_SUM, "sum",
                               "sum must be a whole number of cents from 1 to %" PRId64
                               ", at most the sum held",
                               (int64_t)MX_MONEY_MAX_CENTS);
    json_decref(body);
    return status;
}

/* UTF-8 characters in text (its bytes that do not continue one). */
static size_t characters(const char *text) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        n += (*p & 0xc0) != 0x80;
    return n;
}

/* metadata as Stripe allows it: an object of at most 20 members, each key 1 to 40 characters,
 * each value a string of at most 500. */
static mx_status check_metadata(const json_t *metadata, struct mx_api_refusal *why) {
    if (!json_is_object(metadata) || json_object_size(metadata) > MX_METADATA_KEYS_MAX)
        return mx_api_refuse(why, MX_INVALID_REQUEST, "metadata",
                             "metadata must be a JSON object of at most %d string values",
                             MX_METADATA_KEYS_MAX);
    const char *name;
    const json_t *value;
    json_object_foreach((json_t *)metadata, name, value) {
        size_t length = characters(name);
        if (length < 1 || length > MX_METADATA_KEY_MAX || strlen(name) == 0)
            return mx_api_refuse(why, MX_INVALID_REQUEST, "metadata",
                                 "each metadata key must be 1 to %d characters",
                                 MX_METADATA_KEY_MAX);
        /* A value holding a NUL is not the string jansson's text says. */
        if (!json_is_string(value) ||
            strlen(json_string_value(value)) != json_string_length(value) ||
            characters(json_string_value(value)) > MX_METADATA_VALUE_MAX)
            return mx_api_refuse(why, MX_INVALID_REQUEST, "metadata",
                                 "each metadata value must be a string of at most %d characters",
                                 MX_METADATA_VALUE_MAX);
    }
    return MX_OK;
}

mx_status mx_api_read_tags(const char *text, size_t size, struct mx_api_tags *out,
                           struct mx_api_refusal *why) {
    out->reference[0] = '\0';
    out->metadata = NULL;
    if (size == 0)
        return MX_OK;
    json_error_t error;
    json_t *body = json_loadb(
        text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &error);
    /* The kind's own reader has refused what is not an object; this only reads the two. */
    const json_t *reference = json_object_get(body, "reference");
    const json_t *metadata = json_object_get(body, "metadata");
    mx_status status = MX_OK;
    if (reference != NULL) {
        const char *value = json_string_value(reference);
        size_t length = value != NULL ? json_string_length(reference) : 0;
        int ok = value != NULL && length >= 1 && length <= MX_REFERENCE_MAX;
        for (size_t i = 0; ok && i < length; i++)
            ok = value[i] >= 0x20 && value[i] <= 0x7e;
        if (ok)
            memcpy(out->reference, value, length + 1);
        else
            status = mx_api_refuse(why, MX_INVALID_REQUEST, "reference",
                                   "reference must be 1 to %d printable ASCII characters",
                                   MX_REFERENCE_MAX);
    }
    if (status == MX_OK && metadata != NULL)
        status = check_metadata(metadata, why);
    if (status == MX_OK && metadata != NULL) {
        out->metadata = json_dumps(metadata, JSON_COMPACT | JSON_SORT_KEYS);
        if (out->metadata == NULL)
            status = mx_api_refuse(why, MX_INTERNAL, NULL, "out of memory");
    }
    json_decref(body);
    return status;
}

mx_status mx_api_read_move_body(const char *text, size_t size, int *has_sum, int64_t *sum_cents,
                                struct mx_api_refusal *why) {
    *has_sum = 0;
    if (size == 0)
        return MX_OK;
    json_t *body = NULL;
    mx_status status = read_object(text, size, &move_kind, &body, why);
    if (status == MX_OK && json_object_get(body, "sum") != NULL) {
        *has_sum = 1;
        /* The original's rule and sentence, as for ?sum= */
        if (!integer_member(body, "sum", 1, MX_MONEY_MAX_CENTS, sum_cents))
            status = mx_api_refuse_as_table(why, MX_INVALID_SUM, "sum");
    }
    json_decref(body);
    return status;
}
