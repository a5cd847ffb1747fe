/* Running a controller's effect at most once per Idempotency-Key. */
#ifndef MONDUX_API_IDEMPOTENT_H
#define MONDUX_API_IDEMPOTENT_H

#include "mondux/api.h"
#include "refusal.h"

/* Makes a controller's effect from its parsed input and renders the answer into response. */
typedef void (*mx_api_effect)(const void *input, struct mx_response *response);

/* The request's Idempotency-Key: MX_OK with *key borrowed, or NULL when the header is absent;
 * MX_INVALID_REQUEST (and *why) when it is empty, too long, not printable ASCII or sent more than
 * once. */
mx_status mx_api_idempotency_key(const struct mx_request *request, const char **key,
                                 struct mx_api_refusal *why);

/* Without a key: effect(input, response). With one: the first request runs effect inside a
 * transaction that also stores the answer (unless it is a 5xx, which committed nothing); a repeat
 * of the same request gets the stored answer with Idempotent-Replayed; a different request under
 * the same key gets 422. canonical_input (borrowed) spells the parsed input the same way for
 * every request that means the same thing, e.g. "sum=500"; with the method, the route and the
 * {n} of the path it makes the request's fingerprint. */
void mx_api_run_idempotent(const struct mx_request *request, const char *key,
                           const char *canonical_input, mx_api_effect effect, const void *input,
                           struct mx_response *response);

#endif
