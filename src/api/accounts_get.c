/* GET /api/accounts/{n} and GET /api/accounts/{n}/balance (the original route). */
#include "account_json.h"
#include "render.h"

json_t *mx_api_account_json(const struct mx_account *account) {
    return json_pack("{s:s, s:I, s:I, s:s}", "account_number", account->number, "balance",
                     (json_int_t)account->balance_cents, "overdraft_limit",
                     (json_int_t)account->overdraft_limit_cents, "created_at", account->created_at);
}

/* A malformed number or a wrong check digit is "no such account" without asking the database. */
static mx_status read_account(const struct mx_request *request, struct mx_account *account) {
    if (!mx_acct_is_valid(request->account_number))
        return MX_ACCOUNT_NOT_FOUND;
    return mx_store_get_account(request->account_number, account);
}

void mx_api_get_account(const struct mx_request *request, struct mx_response *response) {
    struct mx_account account;
    mx_status status = read_account(request, &account);
    if (status != MX_OK) {
        mx_api_error(status, response);
        return;
    }
    mx_api_render_json(response, 200, mx_api_account_json(&account));
}

void mx_api_get_balance(const struct mx_request *request, struct mx_response *response) {
    struct mx_account account;
    mx_status status = read_account(request, &account);
    if (status != MX_OK) {
        mx_api_error(status, response);
        return;
    }
    mx_api_render_json(response, 200,
                       json_pack("{s:s, s:I}", "account_number", account.number, "balance",
                                 (json_int_t)account.balance_cents));
}
