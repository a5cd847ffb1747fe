/* API keys: who may call /api when MX_API_KEYS (or MX_API_KEYS_FILE) is set, and what for. Each
 * key is "<id>:<secret>" or "<id>:<secret>:<scope>": the client sends only the secret
 * (Authorization: Bearer <secret>); the id names the client in logs and scopes its
 * Idempotency-Keys, so the secret itself is never logged or stored; the scope (all when none is
 * written) says which routes under /api the key may use. Thread-safe once parsed. */
#ifndef MONDUX_API_KEYS_H
#define MONDUX_API_KEYS_H

#include <stddef.h>

#include "mondux/status.h"

#define MX_API_KEY_ID_MAX     32 /* [A-Za-z0-9_.-], at least 1 */
#define MX_API_KEY_SECRET_MIN 16 /* printable ASCII without spaces, commas or colons */
#define MX_API_KEY_SECRET_MAX 128
#define MX_API_KEYS_MAX       64

struct mx_api_keys;

/* What a route under /api needs, each level including the ones before it: reading, moving money
 * (deposits, withdrawals, transfers, new accounts), and changing what an account is (freeze,
 * unfreeze, close). The route table (src/http/router.c) gives each route its level. */
enum mx_access { MX_ACCESS_READ, MX_ACCESS_TELLER, MX_ACCESS_ADMIN };

/* What a key may do under /api: one row of the scope table (api_keys.c). */
struct mx_api_scope {
    const char *name;      /* as written after the secret, e.g. "read" */
    enum mx_access access; /* the highest level it grants */
    const char *refusal;   /* the 403 sentence for a route above it */
};

/* The scope named by the length bytes at name (borrowed, static), or NULL when there is none. */
const struct mx_api_scope *mx_api_scope_find(const char *name, size_t length);

/* 1 when scope lets a key use a route that needs access. */
int mx_api_scope_allows(const struct mx_api_scope *scope, enum mx_access access);

/* The scopes' names for a sentence, "all, read, teller or admin", into out (always terminated). */
void mx_api_scope_names(char *out, size_t size);

/* Parses keys separated by commas or line breaks ("#" starts a comment line; blanks around each
 * key are ignored). MX_OK and *out (new; mx_api_keys_free it), or MX_INVALID_REQUEST with a
 * reason in error -- which never quotes a secret. */
mx_status mx_api_keys_parse(const char *text, struct mx_api_keys **out, char *error,
                            size_t error_size);

/* 1 when the length bytes at id make a valid key id (what mx_api_keys_parse accepts). */
int mx_api_key_id_is_valid(const char *id, size_t length);

/* The id of the key whose secret is presented (borrowed, lives as long as keys), or NULL; its
 * scope into *scope when scope is not NULL (borrowed, static; NULL when none matches). Takes the
 * same time whichever key matches, or none, for a presented secret of a given length. */
const char *mx_api_keys_match(const struct mx_api_keys *keys, const char *presented,
                              const struct mx_api_scope **scope);

size_t mx_api_keys_count(const struct mx_api_keys *keys);

void mx_api_keys_free(struct mx_api_keys *keys);

#endif
