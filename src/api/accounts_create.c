/* POST /api/accounts (REST, 201) and POST /api/accounts/create (the original route, 200). */
#include <stdio.h>

#include "account_json.h"
#include "render.h"

/* The body is optional; when present it must be a JSON object with no fields we don't know. No
 * field is known yet, so only an empty object passes. */
static mx_status check_body(const struct mx_request *request) {
    if (request->body_size == 0)
        return MX_OK;
    json_error_t error;
    json_t *body = json_loadb(request->body, request->body_size, JSON_REJECT_DUPLICATES, &error);
    mx_status status = MX_OK;
    if (body == NULL || !json_is_object(body) || json_object_size(body) != 0)
        status = MX_INVALID_REQUEST;
    json_decref(body);
    return status;
}

static void create(struct mx_response *response, unsigned success_status, int with_location) {
    struct mx_account account;
    mx_status status = mx_store_create_account(&account);
    if (status != MX_OK) {
        mx_api_error(status, response);
        return;
    }
    mx_api_render_json(response, success_status, mx_api_account_json(&account));
    if (with_location && response->http_status == success_status)
        snprintf(response->location, sizeof response->location, "/api/accounts/%s", account.number);
}

void mx_api_create_account(const struct mx_request *request, struct mx_response *response) {
    mx_status status = check_body(request);
    if (status != MX_OK) {
        mx_api_error(status, response);
        return;
    }
    create(response, 201, 1);
}

void mx_api_create_account_original(const struct mx_request *request,
                                    struct mx_response *response) {
    /* The original ignored any body here, and its browser client only treats 200 as success. */
    (void)request;
    create(response, 200, 0);
}
