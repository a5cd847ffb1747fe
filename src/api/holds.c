/* Holds: POST /api/accounts/{n}/holds, POST /api/holds/{id}/capture and .../void,
 * GET /api/holds/{id} and GET /api/accounts/{n}/holds?status=S&limit=L&before=ID. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "idempotent.h"
#include "query.h"
#include "render.h"
#include "request_bodies.h"

static json_t *hold_json(const struct mx_hold *hold) {
    return mx_api_with_tags(
        json_pack("{s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)hold->id,
                  "account_number", hold->account, "sum", (json_int_t)hold->sum_cents, "captured",
                  (json_int_t)hold->captured_cents, "currency", hold->currency, "status",
                  hold->status, "expires_at", hold->expires_at, "created_at", hold->created_at),
        hold->reference, hold->metadata);
}

/* The answer of every request about one hold: the hold, 201 with its Location when made. */
static void render_hold(struct mx_later *later, struct mx_response *response) {
    const struct mx_hold *hold = &later->op.hold_out;
    if (later->op.status == MX_INVALID_SUM) {
        /* The database knows the sum held; a capture over it says so. */
        char sentence[128];
        snprintf(sentence, sizeof sentence,
                 "sum must be at most %" PRId64 ", the sum the hold keeps", hold->sum_cents);
        mx_api_error_detail(MX_INVALID_SUM, "sum", sentence, response);
        return;
    }
    if (mx_api_render_failure(later, response))
        return;
    mx_api_render_json(response, later->success_status, hold_json(hold));
    if (later->with_location && response->http_status == later->success_status)
        snprintf(response->location, sizeof response->location, "/api/holds/%" PRId64, hold->id);
    response->replayed = later->op.replayed;
}

void mx_api_create_hold(const struct mx_request *request, struct mx_response *response) {
    const char *key = NULL;
    int64_t sum_cents = 0;
    unsigned seconds = 0;
    struct mx_api_refusal why;
    mx_status status = mx_api_idempotency_key(request, &key, &why);
    if (status == MX_OK)
        status = mx_api_check_body_type(request, MX_API_HOLD_BODY_EXAMPLE, &why);
    if (status == MX_OK)
        status =
            mx_api_read_hold_body(request->body, request->body_size, &sum_cents, &seconds, &why);
    if (status == MX_OK)
        status = mx_api_tag(request, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    struct mx_db_op *op = mx_api_account_op(request, key, MX_DB_HOLD, response);
    if (op == NULL)
        return;
    op->amount = sum_cents;
    op->seconds = seconds;
    request->later->success_status = 201;
    request->later->with_location = 1;
    char canonical[64];
    snprintf(canonical, sizeof canonical, "sum=%" PRId64 " expires_in=%u", sum_cents, seconds);
    mx_api_keyed(request, key, canonical);
    mx_api_submit(request, response, render_hold);
}

/* The hold of the path: ids are canonical decimals, and any other spelling names no hold. */
static struct mx_db_op *hold_op(const struct mx_request *request, enum mx_db_kind kind,
                                struct mx_response *response) {
    uint64_t id = 0;
    if (!mx_parse_decimal(request->account_number, (uint64_t)MX_ID_MAX, &id) || id == 0) {
        mx_api_error(MX_HOLD_NOT_FOUND, response);
        return NULL;
    }
    struct mx_db_op *op = &request->later->op;
    op->kind = kind;
    op->id = (int64_t)id;
    request->later->success_status = 200;
    return op;
}

/* Capture (the sum, 0 for all of it) or void. */
static void settle(const struct mx_request *request, struct mx_response *response,
                   enum mx_db_kind kind) {
    const char *key = NULL;
    int64_t sum_cents = 0;
    struct mx_api_refusal why;
    const char *example =
        kind == MX_DB_CAPTURE ? MX_API_CAPTURE_BODY_EXAMPLE : MX_API_EMPTY_BODY_EXAMPLE;
    mx_status status = mx_api_idempotency_key(request, &key, &why);
    if (status == MX_OK)
        status = mx_api_check_body_type(request, example, &why);
    if (status == MX_OK)
        status = kind == MX_DB_CAPTURE
                     ? mx_api_read_capture_body(request->body, request->body_size, &sum_cents, &why)
                     : mx_api_read_empty_body(request->body, request->body_size, &why);
    if (status == MX_OK && kind == MX_DB_CAPTURE)
        status = mx_api_tag(request, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    struct mx_db_op *op = hold_op(request, kind, response);
    if (op == NULL)
        return;
    op->amount = sum_cents;
    char canonical[32];
    snprintf(canonical, sizeof canonical, "sum=%" PRId64, sum_cents);
    mx_api_keyed(request, key, kind == MX_DB_CAPTURE ? canonical : "");
    mx_api_submit(request, response, render_hold);
}

void mx_api_capture_hold(const struct mx_request *request, struct mx_response *response) {
    settle(request, response, MX_DB_CAPTURE);
}

void mx_api_void_hold(const struct mx_request *request, struct mx_response *response) {
    settle(request, response, MX_DB_VOID);
}

void mx_api_get_hold(const struct mx_request *request, struct mx_response *response) {
    if (hold_op(request, MX_DB_READ_HOLD, response) != NULL)
        mx_api_submit(request, response, render_hold);
}

static json_t *page_json(const struct mx_db_op *op) {
    json_t *list = json_array();
    for (unsigned i = 0; list != NULL && i < op->entry_count; i++) {
        if (json_array_append_new(list, hold_json(&op->holds[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    /* As the history's: the next page starts below the last hold shown. */
    json_t *next = json_null();
    if (op->has_more && op->entry_count > 0) {
        char url[160];
        snprintf(url, sizeof url, "/api/accounts/%s/holds?limit=%u&before=%" PRId64 "%s%s",
                 op->account, op->limit, op->holds[op->entry_count - 1].id,
                 op->status_filter[0] != '\0' ? "&status=" : "", op->status_filter);
        next = json_string(url);
    }
    return json_pack("{s:o, s:o}", "holds", list, "next", next);
}

static void render_page(struct mx_later *later, struct mx_response *response) {
    struct mx_db_op *op = &later->op;
    if (!mx_api_render_failure(later, response))
        mx_api_render_json(response, 200, page_json(op));
}

void mx_api_list_holds(const struct mx_request *request, struct mx_response *response) {
    static const char *const statuses[] = {"pending", "captured", "voided", "expired", NULL};
    const char *wanted = NULL;
    struct mx_api_refusal why;
    if (mx_api_query_word(request, "status", statuses, &wanted, &why) != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    struct mx_db_op *op = mx_api_page_op(request, MX_DB_LIST_HOLDS, "a hold", response);
    if (op == NULL)
        return;
    snprintf(op->status_filter, sizeof op->status_filter, "%s", wanted != NULL ? wanted : "");
    mx_api_submit(request, response, render_page);
}
