/* Reading JSON request bodies strictly: one object, no duplicate or unknown members, integers
 * that are JSON integers. */
#include "json_input.h"

#include <string.h>

int mx_api_json_int(const json_t *object, const char *name, int64_t min, int64_t max,
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

json_t *mx_api_parse_object(const struct mx_request *request) {
    json_error_t error;
    json_t *body = json_loadb(request->body, request->body_size, JSON_REJECT_DUPLICATES, &error);
    /* An integer too big for jansson is still well-formed JSON, and the member it sits in should
     * be the one refused ("sum" gets invalid_sum): read it as a real, which no integer check
     * accepts. */
    if (body == NULL && json_error_code(&error) == json_error_numeric_overflow)
        body = json_loadb(request->body, request->body_size,
                          JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &error);
    if (body != NULL && !json_is_object(body)) {
        json_decref(body);
        body = NULL;
    }
    return body;
}

int mx_api_only_members(const json_t *object, const char *const *allowed) {
    const char *name;
    const json_t *value;
    json_object_foreach((json_t *)object, name, value) {
        (void)value;
        int known = 0;
        for (const char *const *a = allowed; *a != NULL && !known; a++)
            known = strcmp(name, *a) == 0;
        if (!known)
            return 0;
    }
    return 1;
}
