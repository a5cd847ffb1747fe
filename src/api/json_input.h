/* Strict reading of JSON request bodies, shared by the controllers that take one. */
#ifndef MONDUX_API_JSON_INPUT_H
#define MONDUX_API_JSON_INPUT_H

#include <jansson.h>
#include <stdint.h>

#include "mondux/api.h"

/* Parses a request body that must be one JSON object without duplicate keys: a new reference,
 * or NULL. */
json_t *mx_api_parse_object(const struct mx_request *request);

/* 1 if object has no member other than the allowed ones (a NULL-terminated list). */
int mx_api_only_members(const json_t *object, const char *const *allowed);

/* Reads a JSON integer in min..max from a member of object; 1 on success, else 0 (absent, not an
 * integer -- 1.0 and "1" are not --, or out of range). */
int mx_api_json_int(const json_t *object, const char *name, int64_t min, int64_t max, int64_t *out);

#endif
