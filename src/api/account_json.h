/* The JSON shapes of an account, shared by the controllers that answer with one. */
#ifndef MONDUX_API_ACCOUNT_JSON_H
#define MONDUX_API_ACCOUNT_JSON_H

#include <jansson.h>

#include "mondux/api.h"
#include "mondux/store.h"

/* New reference: {"account_number", "balance", "available_balance", "overdraft_limit", "status",
 * "created_at"}, or NULL when out of memory. */
json_t *mx_api_account_json(const struct mx_account *account);

/* The answer of a deposit, a withdrawal or a balance read, as a later's finish: 200
 * {"account_number", "balance", "available_balance"} from later->op, or the error of its
 * status. */
void mx_api_render_balance(struct mx_later *later, struct mx_response *response);

#endif
