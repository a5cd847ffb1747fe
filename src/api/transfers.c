/* POST /api/transfers and GET /api/transfers/{id}. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "idempotent.h"
#include "json_input.h"
#include "render.h"

#include "mondux/store.h"

struct transfer_input {
    char from[MX_ACCT_LENGTH + 1];
    char to[MX_ACCT_LENGTH + 1];
    int64_t sum_cents;
};

static json_t *transfer_json(const struct mx_transfer *transfer) {
    return json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:s}", "id", (json_int_t)transfer->id, "from",
                     transfer->from, "to", transfer->to, "sum", (json_int_t)transfer->amount_cents,
                     "from_balance", (json_int_t)transfer->from_balance_cents, "to_balance",
                     (json_int_t)transfer->to_balance_cents, "created_at", transfer->created_at);
}

/* Copies an account number member; one that cannot be an account number (too long, or with a NUL
 * inside) is kept as "", which is no account's number, so it is answered as unknown. */
static void copy_account(const json_t *value, char *out, size_t size) {
    const char *text = json_string_value(value);
    size_t length = json_string_length(value);
    if (length < size && strlen(text) == length)
        memcpy(out, text, length + 1);
    else
        out[0] = '\0';
}

/* api.md order: the body's shape, then the sum, then the accounts' relation; whether they exist
 * and the balance rules come later, in the store. */
static mx_status read_body(const struct mx_request *request, struct transfer_input *input) {
    static const char *const allowed[] = {"from", "to", "sum", NULL};
    json_t *body = mx_api_parse_object(request);
    const json_t *from = json_object_get(body, "from");
    const json_t *to = json_object_get(body, "to");
    mx_status status = MX_OK;
    if (body == NULL || !mx_api_only_members(body, allowed) || !json_is_string(from) ||
        !json_is_string(to))
        status = MX_INVALID_REQUEST;
    else if (!mx_api_json_int(body, "sum", 1, MX_MONEY_MAX_CENTS, &input->sum_cents))
        status = MX_INVALID_SUM;
    else if (json_equal(from, to))
        status = MX_INVALID_REQUEST; /* a transfer to the same account would move nothing */
    if (status == MX_OK) {
        copy_account(from, input->from, sizeof input->from);
        copy_account(to, input->to, sizeof input->to);
    }
    json_decref(body);
    return status;
}

static void transfer(const void *input_ptr, struct mx_response *response) {
    const struct transfer_input *input = input_ptr;
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
    struct transfer_input input = {{0}, {0}, 0};
    const char *key = NULL;
    mx_status status = mx_api_idempotency_key(request, &key);
    if (status == MX_OK)
        status = read_body(request, &input);
    if (status != MX_OK) {
        mx_api_error(status, response);
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
    if (mx_parse_decimal(request->account_number, (uint64_t)MX_ID_MAX, &id) && id > 0)
        status = mx_store_get_transfer((int64_t)id, &found);
    if (status != MX_OK) {
        mx_api_error(status, response);
        return;
    }
    mx_api_render_json(response, 200, transfer_json(&found));
}
