/* The Idempotency-Key protocol around a controller's effect (README "Idempotency"). */
#include "idempotent.h"

#include <stdio.h>

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

void mx_api_keyed(const struct mx_request *request, const char *key, const char *canonical_input) {
    struct mx_later *later = request->later;
    later->op.key = key;
    if (key == NULL)
        return;
    snprintf(later->fingerprint, sizeof later->fingerprint, "%s %s %s %s", request->method,
             request->route, request->account_number, canonical_input);
    later->op.client = request->client;
    later->op.fingerprint = later->fingerprint;
}
