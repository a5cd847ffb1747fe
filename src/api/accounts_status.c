/* POST /api/accounts/{n}/freeze, .../unfreeze and .../close: the account's status; and
 * PATCH /api/accounts/{n}: its overdraft limit. */
#include <inttypes.h>
#include <stdio.h>

#include "account_json.h"
#include "idempotent.h"
#include "request_bodies.h"
#include "render.h"

static void render_status(struct mx_later *later, struct mx_response *response) {
    if (mx_api_render_failure(later, response))
        return;
    mx_api_render_json(response, 200, mx_api_account_json(&later->op.account_out));
    response->replayed = later->op.replayed;
}

/* As for a move: the key and the body first, then the account number, then the rules, which
 * are the database's (apply_batch). */
static void change_status(const struct mx_request *request, struct mx_response *response,
                          enum mx_db_kind kind) {
    const char *key = NULL;
    struct mx_api_refusal why;
    mx_status status = mx_api_idempotency_key(request, &key, &why);
    if (status == MX_OK)
        status = mx_api_check_body_type(request, MX_API_EMPTY_BODY_EXAMPLE, &why);
    if (status == MX_OK)
        status = mx_api_read_empty_body(request->body, request->body_size, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    if (mx_api_account_op(request, key, kind, response) == NULL)
        return;
    mx_api_keyed(request, key, "");
    mx_api_submit(request, response, render_status);
}

/* As a status change; refused (409 insufficient_funds) when the available balance would already
 * be below minus the new limit. */
void mx_api_set_overdraft(const struct mx_request *request, struct mx_response *response) {
    const char *key = NULL;
    int64_t limit = 0;
    struct mx_api_refusal why;
    mx_status status = mx_api_idempotency_key(request, &key, &why);
    if (status == MX_OK)
        status = mx_api_check_body_type(request, MX_API_LIMIT_BODY_EXAMPLE, &why);
    if (status == MX_OK)
        status = mx_api_read_limit_body(request->body, request->body_size, &limit, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    struct mx_db_op *op = mx_api_account_op(request, key, MX_DB_SET_OVERDRAFT, response);
    if (op == NULL)
        return;
    op->amount = limit;
    char canonical[48];
    snprintf(canonical, sizeof canonical, "overdraft_limit=%" PRId64, limit);
    mx_api_keyed(request, key, canonical);
    mx_api_submit(request, response, render_status);
}

void mx_api_freeze_account(const struct mx_request *request, struct mx_response *response) {
    change_status(request, response, MX_DB_FREEZE);
}

void mx_api_unfreeze_account(const struct mx_request *request, struct mx_response *response) {
    change_status(request, response, MX_DB_UNFREEZE);
}

void mx_api_close_account(const struct mx_request *request, struct mx_response *response) {
    change_status(request, response, MX_DB_CLOSE);
}
