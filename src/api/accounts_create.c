/* POST /api/accounts (REST, 201) and POST /api/accounts/create (the original route, 200). */
#include <inttypes.h>
#include <stdio.h>

#include "account_json.h"
#include "idempotent.h"
#include "request_bodies.h"
#include "render.h"

static void render_created(struct mx_later *later, struct mx_response *response) {
    /* The one refusal the database makes of a new account: a currency it does not know. */
    if (later->op.status == MX_INVALID_REQUEST) {
        mx_api_error_detail(MX_INVALID_REQUEST, "currency",
                            "currency must be an active ISO 4217 code, such as \"EUR\"", response);
        return;
    }
    if (mx_api_render_failure(later, response))
        return;
    const struct mx_account *account = &later->op.account_out;
    mx_api_render_json(response, later->success_status, mx_api_account_json(account));
    if (later->with_location && response->http_status == later->success_status)
        snprintf(response->location, sizeof response->location, "/api/accounts/%s",
                 account->number);
    response->replayed = later->op.replayed;
}

static void create_with(const struct mx_request *request, struct mx_response *response,
                        unsigned success_status, int reads_body) {
    const char *key = NULL;
    struct mx_account_order order = {0, ""};
    struct mx_api_refusal why;
    mx_status status = mx_api_idempotency_key(request, &key, &why);
    if (status == MX_OK && reads_body)
        status = mx_api_check_body_type(request, MX_API_ACCOUNT_BODY_EXAMPLE, &why);
    if (status == MX_OK && reads_body)
        status = mx_api_read_account_body(request->body, request->body_size, &order, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    struct mx_later *later = request->later;
    /* The number is drawn here; the database draws again should someone have it. */
    if (mx_acct_generate(later->op.account) != MX_OK) {
        mx_api_error(MX_INTERNAL, response);
        return;
    }
    later->op.kind = MX_DB_CREATE;
    later->op.amount = order.overdraft_limit_cents;
    snprintf(later->op.currency, sizeof later->op.currency, "%s",
             order.currency[0] != '\0' ? order.currency : request->currency);
    later->success_status = success_status;
    later->with_location = success_status == 201;
    char canonical[64];
    snprintf(canonical, sizeof canonical, "overdraft_limit=%" PRId64 " currency=%s",
             order.overdraft_limit_cents, later->op.currency);
    mx_api_keyed(request, key, canonical);
    mx_api_submit(request, response, render_created);
}

void mx_api_create_account(const struct mx_request *request, struct mx_response *response) {
    create_with(request, response, 201, 1);
}

void mx_api_create_account_original(const struct mx_request *request,
                                    struct mx_response *response) {
    /* The original ignored any body here, and its browser client only treats 200 as success. */
    create_with(request, response, 200, 0);
}
