/* POST /api/transfers and GET /api/transfers/{id}. */
#include <inttypes.h>
#include <stdio.h>

#include "idempotent.h"
#include "request_bodies.h"
#include "render.h"

#include "mondux/store.h"

static json_t *transfer_json(const struct mx_transfer *transfer) {
    return json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:s}", "id", (json_int_t)transfer->id, "from",
                     transfer->from, "to", transfer->to, "sum", (json_int_t)transfer->amount_cents,
                     "from_balance", (json_int_t)transfer->from_balance_cents, "to_balance",
                     (json_int_t)transfer->to_balance_cents, "created_at", transfer->created_at);
}

static void transfer(const void *input_ptr, struct mx_response *response) {
    const struct mx_transfer_order *input = input_ptr;
    struct mx_transfer done;
    /* Malformed numbers name no account, without asking the database; with a key the answer is
     * still stored, like any other 404 account_not_found. */
    mx_status status = MX_ACCOUNT_NOT_FOUND;
    if (mx_acct_is_valid(input->from) && mx_acct_is_valid(input->to))
        status = mx_store_transfer(input->from, input->to, input->sum_cents, &done);
    if (status != MX_OK) {
        mx_api_error(status, response);
        return;
    }
    mx_api_render_json(response, 201, transfer_json(&done));
    if (response->http_status == 201)
        snprintf(response->location, sizeof response->location, "/api/transfers/%" PRId64, done.id);
}

void mx_api_create_transfer(const struct mx_request *request, struct mx_response *response) {
    struct mx_transfer_order input = {{0}, {0}, 0};
    const char *key = NULL;
    struct mx_api_refusal why;
    mx_status status = mx_api_idempotency_key(request, &key, &why);
    if (status == MX_OK)
        status = mx_api_check_body_type(request, MX_API_TRANSFER_BODY_EXAMPLE, &why);
    if (status == MX_OK)
        status = mx_api_read_transfer_body(request->body, request->body_size, &input, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    char canonical[96];
    snprintf(canonical, sizeof canonical, "from=%s to=%s sum=%" PRId64, input.from, input.to,
             input.sum_cents);
    mx_api_run_idempotent(request, key, canonical, transfer, &input, response);
}

void mx_api_get_transfer(const struct mx_request *request, struct mx_response *response) {
    uint64_t id = 0;
    struct mx_transfer found;
    mx_status status = MX_TRANSFER_NOT_FOUND;
    /* Ids are canonical decimals; any other spelling names no transfer. */
    if (mx_parse_decimal(request->account_number, (uint64_t)MX_ID_MAX, &id) && id > 0) {
        if (mx_api_elsewhere(request, response))
            return;
        status = mx_store_get_transfer((int64_t)id, &found);
    }
    if (status != MX_OK) {
        mx_api_error(status, response);
        return;
    }
    mx_api_render_json(response, 200, transfer_json(&found));
}
