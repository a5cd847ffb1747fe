/* Query parameters (query.h). */
#include "query.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mondux/money.h"
#include "render.h"

#define DEFAULT_PAGE 20

/* An optional parameter's text: NULL (and MX_OK in *status) when absent, "" when given without a
 * value ("?limit"), which no rule accepts; refused when given more than once. */
static const char *query_once(const struct mx_request *request, const char *name,
                              struct mx_api_refusal *why, mx_status *status) {
    unsigned count = 0;
    const char *text = request->query(request, name, &count);
    *status = count > 1
                  ? mx_api_refuse(why, MX_INVALID_REQUEST, name, "%s must be given once", name)
                  : MX_OK;
    if (count != 1)
        return NULL;
    return text != NULL ? text : "";
}

mx_status mx_api_query_text(const struct mx_request *request, const char *name, const char **out,
                            struct mx_api_refusal *why) {
    mx_status status;
    *out = query_once(request, name, why, &status);
    return status;
}

mx_status mx_api_query_number(const struct mx_request *request, const char *name, uint64_t min,
                              uint64_t max, const char *meaning, uint64_t *out,
                              struct mx_api_refusal *why) {
    mx_status status;
    const char *text = query_once(request, name, why, &status);
    if (text == NULL)
        return status;
    if (!mx_parse_decimal(text, max, out) || *out < min)
        return mx_api_refuse(why, MX_INVALID_REQUEST, name,
                             "%s must be a whole number from %" PRIu64 " to %" PRIu64 "%s", name,
                             min, max, meaning);
    return MX_OK;
}

mx_status mx_api_query_instant(const struct mx_request *request, const char *name, int *given,
                               struct mx_instant *out, struct mx_api_refusal *why) {
    mx_status status;
    const char *text = query_once(request, name, why, &status);
    *given = text != NULL;
    if (text == NULL || mx_instant_parse(text, out))
        return status;
    return mx_api_refuse(why, MX_INVALID_REQUEST, name,
                         "%s must be an RFC 3339 instant (2026-12-03T10:30:00Z, "
                         "2026-12-03T10:30:00.5+01:00) or a date (2026-12-03: midnight UTC)",
                         name);
}

struct mx_db_op *mx_api_page_op(const struct mx_request *request, enum mx_db_kind kind,
                                const char *what, struct mx_response *response) {
    uint64_t limit = DEFAULT_PAGE, before = 0;
    char meaning[64];
    snprintf(meaning, sizeof meaning, ": %s id, as in \"next\"", what);
    struct mx_api_refusal why;
    mx_status status =
        mx_api_query_number(request, "limit", 1, MX_HISTORY_MAX_LIMIT, "", &limit, &why);
    if (status == MX_OK)
        status =
            mx_api_query_number(request, "before", 1, (uint64_t)MX_ID_MAX, meaning, &before, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return NULL;
    }
    if (!mx_acct_is_valid(request->account_number)) {
        mx_api_error(MX_ACCOUNT_NOT_FOUND, response);
        return NULL;
    }
    struct mx_db_op *op = &request->later->op;
    op->kind = kind;
    snprintf(op->account, sizeof op->account, "%s", request->account_number);
    op->before_id = (int64_t)before;
    op->limit = (unsigned)limit;
    return op;
}

mx_status mx_api_query_word(const struct mx_request *request, const char *name,
                            const char *const *words, const char **out,
                            struct mx_api_refusal *why) {
    mx_status status;
    const char *text = query_once(request, name, why, &status);
    *out = NULL;
    if (text == NULL)
        return status;
    char list[128] = "";
    for (const char *const *w = words; *w != NULL; w++) {
        if (text != NULL && strcmp(text, *w) == 0) {
            *out = *w;
            return MX_OK;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", w == words ? "" : ", ", *w);
    }
    return mx_api_refuse(why, MX_INVALID_REQUEST, name, "%s must be one of %s", name, list);
}
