/* POST /api/transfers and GET /api/transfers/{id}. */
#include <inttypes.h>
#include <stdio.h>

#include "idempotent.h"
#include "request_bodies.h"
#include "render.h"

static json_t *transfer_json(const struct mx_transfer *transfer) {
    return mx_api_with_tags(
        json_pack("{s:I, s:s, s:s, s:I, s:s, s:I, s:I, s:s}", "id", (json_int_t)transfer->id,
                  "from", transfer->from, "to", transfer->to, "sum",
                  (json_int_t)transfer->amount_cents, "currency", transfer->currency,
                  "from_balance", (json_int_t)transfer->from_balance_cents, "to_balance",
                  (json_int_t)transfer->to_balance_cents, "created_at", transfer->created_at),
        transfer->reference, transfer->metadata);
}

static void render_made(struct mx_later *later, struct mx_response *response) {
    if (mx_api_render_failure(later, response))
        return;
    const struct mx_transfer *done = &later->op.transfer_out;
    mx_api_render_json(response, 201, transfer_json(done));
    if (response->http_status == 201)
        snprintf(response->location, sizeof response->location, "/api/transfers/%" PRId64,
                 done->id);
    response->replayed = later->op.replayed;
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
    if (status == MX_OK)
        status = mx_api_tag(request, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    /* Malformed numbers name no account, without asking the database -- unless a key must
     * remember the answer, like any other 404: then the batch looks up "", no one's. */
    int from_valid = mx_acct_is_valid(input.from), to_valid = mx_acct_is_valid(input.to);
    if ((!from_valid || !to_valid) && key == NULL) {
        mx_api_error(MX_ACCOUNT_NOT_FOUND, response);
        return;
    }
    struct mx_db_op *op = &request->later->op;
    op->kind = MX_DB_TRANSFER;
    snprintf(op->account, sizeof op->account, "%s", from_valid ? input.from : "");
    snprintf(op->other, sizeof op->other, "%s", to_valid ? input.to : "");
    op->amount = input.sum_cents;
    char canonical[96];
    snprintf(canonical, sizeof canonical, "from=%s to=%s sum=%" PRId64, input.from, input.to,
             input.sum_cents);
    mx_api_keyed(request, key, canonical);
    mx_api_submit(request, response, render_made);
}

static void render_found(struct mx_later *later, struct mx_response *response) {
    if (mx_api_render_failure(later, response))
        return;
    mx_api_render_json(response, 200, transfer_json(&later->op.transfer_out));
}

void mx_api_get_transfer(const struct mx_request *request, struct mx_response *response) {
    uint64_t id = 0;
    /* Ids are canonical decimals; any other spelling names no transfer. */
    if (!mx_parse_decimal(request->account_number, (uint64_t)MX_ID_MAX, &id) || id == 0) {
        mx_api_error(MX_TRANSFER_NOT_FOUND, response);
        return;
    }
    struct mx_db_op *op = &request->later->op;
    op->kind = MX_DB_READ_TRANSFER;
    op->id = (int64_t)id;
    mx_api_submit(request, response, render_found);
}
