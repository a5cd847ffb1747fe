/* PUT|POST /api/accounts/{n}/deposit?sum=N and .../withdraw?sum=N, or with the body {"sum": N}. */
#include <inttypes.h>
#include <stdio.h>

#include "account_json.h"
#include "idempotent.h"
#include "request_bodies.h"
#include "render.h"

/* The sum: from ?sum=, or from a JSON body {"sum": N}, never from both. Rules and sentence are
 * the original's for either. */
static mx_status read_sum(const struct mx_request *request, int64_t *sum_cents,
                          struct mx_api_refusal *why) {
    int in_body = 0;
    mx_status status = mx_api_check_body_type(request, MX_API_MOVE_BODY_EXAMPLE, why);
    if (status == MX_OK)
        status = mx_api_read_move_body(request->body, request->body_size, &in_body, sum_cents, why);
    if (status == MX_INVALID_REQUEST)
        return status;
    unsigned count = 0;
    const char *sum_text = request->query(request, "sum", &count);
    if (in_body && count > 0)
        return mx_api_refuse(why, MX_INVALID_REQUEST, "sum",
                             "the sum is given twice, in the query and in the body: give it in "
                             "one of them");
    if (in_body)
        return status;
    /* "sum=1&sum=2" has no single meaning, so it is as invalid as a missing sum. */
    status = count == 1 ? mx_money_parse_sum(sum_text, sum_cents) : MX_INVALID_SUM;
    if (status != MX_OK)
        return mx_api_refuse_as_table(why, status, "sum");
    return MX_OK;
}

/* Validation order of api.md: the key and the sum first (an invalid sum on an unknown account is a
 * 400), then the account number, then the balance rules, in the database's batch. */
static void move_request(const struct mx_request *request, struct mx_response *response,
                         enum mx_db_kind kind) {
    const char *key = NULL;
    int64_t sum_cents = 0;
    struct mx_api_refusal why;
    mx_status status = mx_api_idempotency_key(request, &key, &why);
    if (status == MX_OK)
        status = read_sum(request, &sum_cents, &why);
    if (status == MX_OK)
        status = mx_api_tag(request, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    struct mx_db_op *op = mx_api_account_op(request, key, kind, response);
    if (op == NULL)
        return;
    op->amount = sum_cents;
    char canonical[48];
    snprintf(canonical, sizeof canonical, "sum=%" PRId64, sum_cents);
    mx_api_keyed(request, key, canonical);
    mx_api_submit(request, response, mx_api_render_balance);
}

void mx_api_deposit(const struct mx_request *request, struct mx_response *response) {
    move_request(request, response, MX_DB_DEPOSIT);
}

void mx_api_withdraw(const struct mx_request *request, struct mx_response *response) {
    move_request(request, response, MX_DB_WITHDRAW);
}
