/* GET /api/accounts/{n}/transactions?limit=L&before=ID: the journal, newest first, by pages. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "render.h"

static json_t *page_json(const char *number, const struct mx_entry *entries, unsigned count,
                         int has_more, unsigned limit) {
    json_t *list = json_array();
    for (unsigned i = 0; list != NULL && i < count; i++) {
        if (json_array_append_new(list, mx_api_entry_json(&entries[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    /* The next page starts below the last entry shown: new entries get higher ids, so they
     * never push an old one onto a page already read. */
    json_t *next = json_null();
    if (has_more && count > 0) {
        char url[128];
        snprintf(url, sizeof url, "/api/accounts/%s/transactions?limit=%u&before=%" PRId64, number,
                 limit, entries[count - 1].id);
        next = json_string(url);
    }
    return json_pack("{s:o, s:o}", "transactions", list, "next", next);
}

static void render_page(struct mx_later *later, struct mx_response *response) {
    struct mx_db_op *op = &later->op;
    if (!mx_api_render_failure(later, response))
        mx_api_render_json(
            response, 200,
            page_json(op->account, op->entries, op->entry_count, op->has_more, op->limit));
}

void mx_api_get_transactions(const struct mx_request *request, struct mx_response *response) {
    if (mx_api_page_op(request, MX_DB_HISTORY, "an entry", response) != NULL)
        mx_api_submit(request, response, render_page);
}
