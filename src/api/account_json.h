/* The JSON shape of an account, shared by the controllers that answer with one. */
#ifndef MONDUX_API_ACCOUNT_JSON_H
#define MONDUX_API_ACCOUNT_JSON_H

#include <jansson.h>

#include "mondux/store.h"

/* New reference: {"account_number", "balance", "created_at"}, or NULL when out of memory. */
json_t *mx_api_account_json(const struct mx_account *account);

#endif
