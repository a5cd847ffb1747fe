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

static void render_account(struct mx_later *later, struct mx_response *response) {
    if (later->status != MX_OK) {
        mx_api_error(later->status, response);
        return;
    }
    mx_api_render_json(response, 200, mx_api_account_json(&later->account));
}

void mx_api_render_balance(struct mx_later *later, struct mx_response *response) {
    if (later->status != MX_OK) {
        mx_api_error(later->status, response);
        return;
    }
    mx_api_render_json(response, 200,
                       json_pack("{s:s, s:I}", "account_number", later->account.number, "balance",
                                 (json_int_t)later->account.balance_cents));
}

/* Reads the account and answers with render: when the transport can wait, the read joins a
 * batch and the thread serves others until it is done; otherwise it waits, where it may. */
static void answer(const struct mx_request *request, struct mx_response *response,
                   void (*render)(struct mx_later *, struct mx_response *)) {
    struct mx_later *later = request->later;
    if (later != NULL && mx_acct_is_valid(request->account_number)) {
        later->finish = render; /* first: the completion may come before the call returns */
        if (mx_store_get_account_then(request->account_number, &later->account, mx_api_later_done,
                                      later)) {
            response->later = 1;
            return;
        }
    }
    if (mx_acct_is_valid(request->account_number) && mx_api_elsewhere(request, response))
        return;
    struct mx_later now = {0};
    now.status = read_account(request, &now.account);
    render(&now, response);
}

void mx_api_get_account(const struct mx_request *request, struct mx_response *response) {
    answer(request, response, render_account);
}

void mx_api_get_balance(const struct mx_request *request, struct mx_response *response) {
    answer(request, response, mx_api_render_balance);
}
