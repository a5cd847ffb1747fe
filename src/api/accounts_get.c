/* GET /api/accounts/{n} and GET /api/accounts/{n}/balance (the original route; ?at= for the
 * balance at an instant). */
#include <stdio.h>

#include "account_json.h"
#include "query.h"
#include "render.h"

json_t *mx_api_account_json(const struct mx_account *account) {
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "account_number", account->number,
                     "currency", account->currency, "balance", (json_int_t)account->balance_cents,
                     "available_balance", (json_int_t)account->available_cents, "overdraft_limit",
                     (json_int_t)account->overdraft_limit_cents, "status",
                     account->status[0] != '\0' ? account->status : "active", "created_at",
                     account->created_at);
}

static void render_account(struct mx_later *later, struct mx_response *response) {
    if (mx_api_render_failure(later, response))
        return;
    mx_api_render_json(response, 200, mx_api_account_json(&later->op.account_out));
    response->replayed = later->op.replayed;
}

void mx_api_render_balance(struct mx_later *later, struct mx_response *response) {
    if (mx_api_render_failure(later, response))
        return;
    const struct mx_account *account = &later->op.account_out;
    mx_api_render_json(response, 200,
                       json_pack("{s:s, s:s, s:I, s:I}", "account_number", account->number,
                                 "currency", account->currency, "balance",
                                 (json_int_t)account->balance_cents, "available_balance",
                                 (json_int_t)account->available_cents));
    response->replayed = later->op.replayed;
}

/* A malformed number or a wrong check digit is "no such account" without asking the database. */
static void answer(const struct mx_request *request, struct mx_response *response,
                   void (*render)(struct mx_later *, struct mx_response *)) {
    if (!mx_acct_is_valid(request->account_number)) {
        mx_api_error(MX_ACCOUNT_NOT_FOUND, response);
        return;
    }
    struct mx_db_op *op = &request->later->op;
    op->kind = MX_DB_READ_ACCOUNT;
    snprintf(op->account, sizeof op->account, "%s", request->account_number);
    mx_api_submit(request, response, render);
}

void mx_api_get_account(const struct mx_request *request, struct mx_response *response) {
    answer(request, response, render_account);
}

/* The balance after the account's last entry written at or before the instant. */
static void render_balance_at(struct mx_later *later, struct mx_response *response) {
    if (mx_api_render_failure(later, response))
        return;
    const struct mx_db_op *op = &later->op;
    const struct mx_account *account = &op->account_out;
    if (!op->existed) {
        char message[160];
        snprintf(message, sizeof message, "account %s had not been opened at %s", account->number,
                 op->at);
        mx_api_error_detail(MX_ACCOUNT_NOT_FOUND, "at", message, response);
        return;
    }
    mx_api_render_json(response, 200,
                       json_pack("{s:s, s:s, s:I, s:s}", "account_number", account->number,
                                 "currency", account->currency, "balance",
                                 (json_int_t)account->balance_cents, "at", op->at));
}

void mx_api_get_balance(const struct mx_request *request, struct mx_response *response) {
    struct mx_instant instant;
    struct mx_api_refusal why;
    int given;
    if (mx_api_query_instant(request, "at", &given, &instant, &why) != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    if (!given) {
        answer(request, response, mx_api_render_balance);
        return;
    }
    if (!mx_acct_is_valid(request->account_number)) {
        mx_api_error(MX_ACCOUNT_NOT_FOUND, response);
        return;
    }
    struct mx_db_op *op = &request->later->op;
    op->kind = MX_DB_BALANCE_AT;
    snprintf(op->account, sizeof op->account, "%s", request->account_number);
    snprintf(op->at, sizeof op->at, "%s", instant.utc);
    mx_api_submit(request, response, render_balance_at);
}
