/* The Idempotency-Key of a request, and its fingerprint. */
#ifndef MONDUX_API_IDEMPOTENT_H
#define MONDUX_API_IDEMPOTENT_H

#include "mondux/api.h"
#include "refusal.h"
#include "request_bodies.h"

/* The request's Idempotency-Key: MX_OK with *key borrowed, or NULL when the header is absent;
 * MX_INVALID_REQUEST (and *why) when it is empty, too long, not printable ASCII or sent more than
 * once. */
mx_status mx_api_idempotency_key(const struct mx_request *request, const char **key,
                                 struct mx_api_refusal *why);

/* The operation kind on the account of the request's path, or NULL when the number is malformed
 * and there is no key: then response is already the 404. With a key a malformed number still
 * goes to the database (as no one's number), so that the 404 is remembered like any answer. */
struct mx_db_op *mx_api_account_op(const struct mx_request *request, const char *key,
                                   enum mx_db_kind kind, struct mx_response *response);

/* Reads the body's reference and metadata (mx_api_read_tags) into request->later->op
 * (mx_api_take_tags): MX_OK, or MX_INVALID_REQUEST with why naming the field. */
mx_status mx_api_tag(const struct mx_request *request, struct mx_api_refusal *why);

/* The request's reference and metadata go with request->later->op (the later takes tags's
 * metadata over). Call before mx_api_keyed, whose fingerprint includes them. */
void mx_api_take_tags(const struct mx_request *request, struct mx_api_tags *tags);

/* The key (NULL: none) goes with request->later->op, with the request's fingerprint: the
 * method, the route, the {n} of the path and canonical_input, which spells the parsed input the
 * same way for every request that means the same thing (e.g. "sum=500"). The database claims the
 * key, makes the effect and stores its outcome together; a repeat of the same request gets the
 * stored outcome (op.replayed), a different request under the same key 422. */
void mx_api_keyed(const struct mx_request *request, const char *key, const char *canonical_input);

#endif
