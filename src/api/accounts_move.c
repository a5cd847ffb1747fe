/* PUT|POST /api/accounts/{n}/deposit?sum=N and .../withdraw?sum=N. */
#include "render.h"

#include "mondux/store.h"

/* Validation order of api.md: the sum first (an invalid sum on an unknown account is a 400), then
 * the account number, then the balance rules inside the store's one statement. */
static void move(const struct mx_request *request, struct mx_response *response,
                 mx_move_kind kind) {
    unsigned count = 0;
    const char *sum_text = request->query(request, "sum", &count);
    int64_t sum_cents = 0;
    int64_t balance_cents = 0;
    /* "sum=1&sum=2" has no single meaning, so it is as invalid as a missing sum. */
    mx_status status = count == 1 ? mx_money_parse_sum(sum_text, &sum_cents) : MX_INVALID_SUM;
    if (status == MX_OK && !mx_acct_is_valid(request->account_number))
        status = MX_ACCOUNT_NOT_FOUND;
    if (status == MX_OK)
        status = mx_store_move(request->account_number, kind, sum_cents, &balance_cents);
    if (status != MX_OK) {
        mx_api_error(status, response);
        return;
    }
    mx_api_render_json(response, 200,
                       json_pack("{s:s, s:I}", "account_number", request->account_number, "balance",
                                 (json_int_t)balance_cents));
}

void mx_api_deposit(const struct mx_request *request, struct mx_response *response) {
    move(request, response, MX_MOVE_DEPOSIT);
}

void mx_api_withdraw(const struct mx_request *request, struct mx_response *response) {
    move(request, response, MX_MOVE_WITHDRAWAL);
}
