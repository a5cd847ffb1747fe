/* POST /api/accounts (REST, 201) and POST /api/accounts/create (the original route, 200). */
#include <inttypes.h>
#include <stdio.h>

#include "account_json.h"
#include "idempotent.h"
#include "request_bodies.h"
#include "render.h"

struct create_input {
    int64_t overdraft_limit_cents;
    unsigned success_status;
    int with_location;
};

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
    struct mx_api_refusal why;
    mx_status status = mx_api_idempotency_key(request, &key, &why);
    if (status == MX_OK && reads_body)
        status = mx_api_check_body_type(request, MX_API_ACCOUNT_BODY_EXAMPLE, &why);
    if (status == MX_OK && reads_body)
        status = mx_api_read_account_body(request->body, request->body_size,
                                          &input->overdraft_limit_cents, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
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
