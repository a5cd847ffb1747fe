/* GET /api/events and GET /api/accounts/{n}/events: the change feed, oldest first, by pages that
 * follow "next". Positions are given in commit order once a change has committed
 * (db/migrations/0008_events.sql), so a reader that asks again after "next" never misses one. */
#include <stdio.h>
#include <string.h>

#include "query.h"
#include "render.h"

static void render_events(struct mx_later *later, struct mx_response *response) {
    const struct mx_db_op *op = &later->op;
    if (mx_api_render_failure(later, response))
        return;
    json_t *list = json_array();
    for (unsigned i = 0; list != NULL && i < op->entry_count; i++) {
        if (json_array_append_new(list, mx_api_event_json(&op->entries[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    /* Where to go on: after the last event shown, or where this page began. */
    int64_t next = op->entry_count > 0 ? op->entries[op->entry_count - 1].position : op->after;
    mx_api_render_json(response, 200,
                       json_pack("{s:o, s:I}", "events", list, "next", (json_int_t)next));
}

/* ?after= (a position, 0 for the beginning) and ?limit=: the operation, or NULL with the refusal
 * in response. */
static struct mx_db_op *feed_op(const struct mx_request *request, struct mx_response *response) {
    struct mx_api_refusal why;
    uint64_t limit = MX_EVENTS_DEFAULT_LIMIT, after = 0;
    mx_status status =
        mx_api_query_number(request, "limit", 1, MX_EVENTS_MAX_LIMIT, "", &limit, &why);
    if (status == MX_OK)
        status = mx_api_query_number(request, "after", 0, (uint64_t)MX_ID_MAX,
                                     ": a position, as in \"next\"", &after, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return NULL;
    }
    struct mx_db_op *op = &request->later->op;
    op->kind = MX_DB_EVENTS;
    op->after = (int64_t)after;
    op->limit = (unsigned)limit;
    return op;
}

void mx_api_get_events(const struct mx_request *request, struct mx_response *response) {
    if (feed_op(request, response) != NULL)
        mx_api_submit(request, response, render_events);
}

void mx_api_get_account_events(const struct mx_request *request, struct mx_response *response) {
    struct mx_db_op *op = feed_op(request, response);
    if (op == NULL)
        return;
    if (!mx_acct_is_valid(request->account_number)) {
        mx_api_error(MX_ACCOUNT_NOT_FOUND, response);
        return;
    }
    snprintf(op->account, sizeof op->account, "%s", request->account_number);
    mx_api_submit(request, response, render_events);
}
