/* PUT|POST /api/accounts/{n}/deposit?sum=N and .../withdraw?sum=N, or with the body {"sum": N}. */
#include <inttypes.h>
#include <stdio.h>

#include "account_json.h"
#include "idempotent.h"
#include "request_bodies.h"
#include "render.h"

#include "mondux/store.h"

struct move_input {
    const char *account_number;
    mx_move_kind kind;
    int64_t sum_cents;
};

static void move(const void *input_ptr, struct mx_response *response) {
    const struct move_input *input = input_ptr;
    struct mx_later now = {0};
    snprintf(now.account.number, sizeof now.account.number, "%s", input->account_number);
    /* A malformed number is no account, and that needs no database; with a key the answer is
     * still stored, like any other 404 account_not_found. */
    now.status = MX_ACCOUNT_NOT_FOUND;
    if (mx_acct_is_valid(input->account_number))
        now.status = mx_store_move(input->account_number, input->kind, input->sum_cents,
                                   &now.account.balance_cents);
    mx_api_render_balance(&now, response);
}

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
 * 400), then (in move) the account number, then the balance rules inside the store's one
 * statement. */
static void move_request(const struct mx_request *request, struct mx_response *response,
                         mx_move_kind kind) {
    struct move_input input = {request->account_number, kind, 0};
    const char *key = NULL;
    struct mx_api_refusal why;
    mx_status status = mx_api_idempotency_key(request, &key, &why);
    if (status == MX_OK)
        status = read_sum(request, &input.sum_cents, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    /* Without a key nothing needs a transaction of its own: the movement joins a batch, and the
     * thread goes on serving others until it is done. */
    if (key == NULL && request->later != NULL) {
        if (!mx_acct_is_valid(input.account_number)) {
            mx_api_error(MX_ACCOUNT_NOT_FOUND, response);
            return;
        }
        struct mx_later *later = request->later;
        snprintf(later->account.number, sizeof later->account.number, "%s", input.account_number);
        /* Set first: the completion may come before the call returns. */
        later->finish = mx_api_render_balance;
        if (mx_store_move_then(later->account.number, kind, input.sum_cents,
                               &later->account.balance_cents, mx_api_later_done, later)) {
            response->later = 1;
            return;
        }
    }
    char canonical[48];
    snprintf(canonical, sizeof canonical, "sum=%" PRId64, input.sum_cents);
    mx_api_run_idempotent(request, key, canonical, move, &input, response);
}

void mx_api_deposit(const struct mx_request *request, struct mx_response *response) {
    move_request(request, response, MX_MOVE_DEPOSIT);
}

void mx_api_withdraw(const struct mx_request *request, struct mx_response *response) {
    move_request(request, response, MX_MOVE_WITHDRAWAL);
}
