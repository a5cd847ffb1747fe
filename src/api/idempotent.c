/* The Idempotency-Key protocol around a controller's effect (README "Idempotency"). */
#include "idempotent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mondux/idempotency_key.h"

mx_status mx_api_idempotency_key(const struct mx_request *request, const char **key,
                                 struct mx_api_refusal *why) {
    unsigned count = 0;
    *key = request->header(request, "Idempotency-Key", &count);
    if (count == 0) {
        *key = NULL;
        return MX_OK;
    }
    /* Two keys on one request have no single meaning. */
    if (count > 1) {
        *key = NULL;
        return mx_api_refuse(why, MX_INVALID_REQUEST, "Idempotency-Key",
                             "Idempotency-Key must be sent once");
    }
    if (!mx_idempotency_key_is_valid(*key)) {
        *key = NULL;
        return mx_api_refuse(why, MX_INVALID_REQUEST, "Idempotency-Key",
                             "Idempotency-Key must be 1 to %d printable ASCII characters",
                             MX_IDEMPOTENCY_KEY_MAX);
    }
    return MX_OK;
}

struct mx_db_op *mx_api_account_op(const struct mx_request *request, const char *key,
                                   enum mx_db_kind kind, struct mx_response *response) {
    int valid = mx_acct_is_valid(request->account_number);
    /* A malformed number is no account, and that needs no database -- unless a key must remember
     * the answer, like any other 404 account_not_found: then the batch looks up "", no one's. */
    if (!valid && key == NULL) {
        mx_api_error(MX_ACCOUNT_NOT_FOUND, response);
        return NULL;
    }
    struct mx_db_op *op = &request->later->op;
    op->kind = kind;
    snprintf(op->account, sizeof op->account, "%s", valid ? request->account_number : "");
    return op;
}

mx_status mx_api_tag(const struct mx_request *request, struct mx_api_refusal *why) {
    struct mx_api_tags tags;
    mx_status status = mx_api_read_tags(request->body, request->body_size, &tags, why);
    if (status == MX_OK)
        mx_api_take_tags(request, &tags);
    return status;
}

void mx_api_take_tags(const struct mx_request *request, struct mx_api_tags *tags) {
    struct mx_later *later = request->later;
    snprintf(later->op.reference, sizeof later->op.reference, "%s", tags->reference);
    free(later->metadata);
    later->metadata = tags->metadata;
    later->op.metadata = later->metadata;
    tags->metadata = NULL;
}

void mx_api_keyed(const struct mx_request *request, const char *key, const char *canonical_input) {
    struct mx_later *later = request->later;
    later->op.key = key;
    if (key == NULL)
        return;
    /* The reference and the metadata are part of what the request means. */
    const char *metadata = later->metadata != NULL ? later->metadata : "";
    size_t size = strlen(request->method) + strlen(request->route) +
                  strlen(request->account_number) + strlen(canonical_input) +
                  strlen(later->op.reference) + strlen(metadata) + 32;
    free(later->fingerprint);
    later->fingerprint = malloc(size);
    if (later->fingerprint != NULL)
        snprintf(later->fingerprint, size, "%s %s %s %s reference=%s metadata=%s", request->method,
                 request->route, request->account_number, canonical_input, later->op.reference,
                 metadata);
    later->op.client = request->client;
    /* Out of memory: no fingerprint, and the database refuses the key as used for another. */
    later->op.fingerprint = later->fingerprint != NULL ? later->fingerprint : "";
}

void mx_api_later_release(struct mx_later *later) {
    free(later->fingerprint);
    free(later->metadata);
    later->fingerprint = NULL;
    later->metadata = NULL;
    later->op.metadata = NULL;
    mx_db_op_release(&later->op);
}
