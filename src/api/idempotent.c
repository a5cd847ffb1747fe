/* The Idempotency-Key protocol around a controller's effect (README "Idempotency"). */
#include "idempotent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mondux/idempotency_key.h"
#include "mondux/store.h"
#include "render.h"

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

static void replay(struct mx_stored_outcome *stored, struct mx_response *response) {
    mx_api_response_free(response);
    response->http_status = stored->http_status;
    response->content_type = "application/json";
    response->body = stored->body; /* the response owns it now */
    response->body_size = stored->body_size;
    response->body_is_static = 0;
    snprintf(response->location, sizeof response->location, "%s", stored->location);
    response->replayed = 1;
    stored->body = NULL;
}

void mx_api_run_idempotent(const struct mx_request *request, const char *key,
                           const char *canonical_input, mx_api_effect effect, const void *input,
                           struct mx_response *response) {
    if (mx_api_elsewhere(request, response))
        return;
    if (key == NULL) {
        effect(input, response);
        return;
    }
    char *fingerprint = NULL;
    struct mx_stored_outcome stored = {0};
    int found = 0;
    mx_status status = MX_INTERNAL;
    size_t size = strlen(request->method) + strlen(request->route) +
                  strlen(request->account_number) + strlen(canonical_input) + 4;
    fingerprint = malloc(size);
    if (fingerprint == NULL)
        goto out;
    snprintf(fingerprint, size, "%s %s %s %s", request->method, request->route,
             request->account_number, canonical_input);

    status = mx_store_idempotent_begin(request->client, key, fingerprint, &found, &stored);
    if (status != MX_OK)
        goto out;
    if (found) {
        if (stored.same_request)
            replay(&stored, response);
        else
            status = MX_IDEMPOTENCY_KEY_REUSED;
        goto out;
    }
    effect(input, response);
    /* A 5xx means the effect did not happen (or its fate is unknown): nothing to remember, and
     * a retry with the same key is tried afresh. */
    if (response->http_status >= 500) {
        mx_store_idempotent_rollback();
        goto out;
    }
    status = mx_store_idempotent_commit(request->client, key, fingerprint, response->http_status,
                                        response->body, response->location);
    if (status != MX_OK)
        response->location[0] = '\0';
out:
    if (status != MX_OK)
        mx_api_error(status, response);
    free(stored.body);
    free(fingerprint);
}
