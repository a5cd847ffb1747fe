/* Reading a request's query parameters strictly: each given at most once, in canonical form. */
#ifndef MONDUX_API_QUERY_H
#define MONDUX_API_QUERY_H

#include <stdint.h>

#include "mondux/api.h"
#include "mondux/instant.h"
#include "refusal.h"

/* An optional parameter that, when given, is one canonical decimal in min..max: MX_OK (and *out;
 * untouched when absent), or MX_INVALID_REQUEST naming it. meaning (may be "") follows the rule in
 * the sentence that refuses it. */
mx_status mx_api_query_number(const struct mx_request *request, const char *name, uint64_t min,
                              uint64_t max, const char *meaning, uint64_t *out,
                              struct mx_api_refusal *why);

/* An optional parameter that, when given, is one instant (mondux/instant.h): MX_OK, with *given
 * and *out, or MX_INVALID_REQUEST naming it. */
mx_status mx_api_query_instant(const struct mx_request *request, const char *name, int *given,
                               struct mx_instant *out, struct mx_api_refusal *why);

/* An optional parameter given at most once: MX_OK with *out (borrowed; NULL when absent, "" when
 * given without a value), or MX_INVALID_REQUEST naming it. */
mx_status mx_api_query_text(const struct mx_request *request, const char *name, const char **out,
                            struct mx_api_refusal *why);

/* An optional parameter that, when given, is one of the NULL-terminated words: MX_OK with *out
 * (borrowed, NULL when absent), or MX_INVALID_REQUEST naming it and the words. */
mx_status mx_api_query_word(const struct mx_request *request, const char *name,
                            const char *const *words, const char **out, struct mx_api_refusal *why);

/* A page of one of an account's lists (the history, its holds): ?limit= (1 to
 * MX_HISTORY_MAX_LIMIT, default 20) and ?before= (an id of that list, as its "next" gives it; what
 * says which), then the account of the path. The operation of kind, with its account, limit and
 * before_id, ready to submit; or NULL when response holds the refusal. */
struct mx_db_op *mx_api_page_op(const struct mx_request *request, enum mx_db_kind kind,
                                const char *what, struct mx_response *response);

#endif
