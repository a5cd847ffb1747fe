/* POST /api/accounts (REST, 201) and POST /api/accounts/create (the original route, 200). */
#include <inttypes.h>
#include <stdio.h>

#include "account_json.h"
#include "idempotent.h"
#include "json_input.h"
#include "render.h"

struct create_input {
    int64_t overdraft_limit_cents;
    unsigned success_status;
    int with_location;
};

/* The body is optional; when present it is a JSON object whose only allowed member is
 * overdraft_limit, a JSON integer 0..MX_MONEY_MAX_CENTS. */
static mx_status read_body(const struct mx_request *request, int64_t *overdraft_limit_cents) {
    *overdraft_limit_cents = 0;
    if (request->body_size == 0)
        return MX_OK;
    static const char *const allowed[] = {"overdraft_limit", NULL};
    json_t *body = mx_api_parse_object(request);
    mx_status status = MX_OK;
    if (body == NULL || !mx_api_only_members(body, allowed))
        status = MX_INVALID_REQUEST;
    else if (json_object_get(body, "overdraft_limit") != NULL &&
             !mx_api_json_int(body, "overdraft_limit", 0, MX_MONEY_MAX_CENTS,
                              overdraft_limit_cents))
        status = MX_INVALID_REQUEST;
    json_decref(body);
    return status;
}

static void create(const void *input_ptr, struct mx_response *response) {
    const struct create_input *input = input_ptr;
    struct mx_account account;
    mx_status status = mx_store_create_account(input->overdraft_limit_cents, &account);
    if (status != MX_OK) {
        mx_api_error(status, response);
        return;
    }
    mx_api_render_json(response, input->success_status, mx_api_account_json(&account));
    if (input->with_location && response->http_status == input->success_status)
        snprintf(response->location, sizeof response->location, "/api/accounts/%s", account.number);
}

static void create_with(const struct mx_request *request, struct mx_response *response,
                        struct create_input *input, int reads_body) {
    const char *key = NULL;
    mx_status status = mx_api_idempotency_key(request, &key);
    if (status == MX_OK && reads_body)
        status = read_body(request, &input->overdraft_limit_cents);
    if (status != MX_OK) {
        mx_api_error(status, response);
        return;
    }
    char canonical[48];
    snprintf(canonical, sizeof canonical, "overdraft_limit=%" PRId64, input->overdraft_limit_cents);
    mx_api_run_idempotent(request, key, canonical, create, input, response);
}

void mx_api_create_account(const struct mx_request *request, struct mx_response *response) {
    struct create_input input = {0, 201, 1};
    create_with(request, response, &input, 1);
}

void mx_api_create_account_original(const struct mx_request *request,
                                    struct mx_response *response) {
    /* The original ignored any body here, and its browser client only treats 200 as success. */
    struct create_input input = {0, 200, 0};
    create_with(request, response, &input, 0);
}
