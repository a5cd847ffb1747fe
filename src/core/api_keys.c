/* Parsing and constant-time matching of API keys (api_keys.h). */
#include "mondux/api_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every scope, the default first; a new one is a row here (and its name in the docs). */
static const struct mx_api_scope scopes[] = {
    {"all", MX_ACCESS_ADMIN, NULL},
    {"read", MX_ACCESS_READ, "this API key's scope is read: it may only GET and HEAD"},
    {"teller", MX_ACCESS_TELLER,
     "this API key's scope is teller: it may read and move money, but not freeze, unfreeze or "
     "close an account or change its overdraft limit"},
    {"admin", MX_ACCESS_ADMIN, NULL},
};

#define SCOPES_COUNT (sizeof scopes / sizeof scopes[0])

struct api_key {
    char id[MX_API_KEY_ID_MAX + 1];
    char secret[MX_API_KEY_SECRET_MAX + 1];
    size_t secret_length;
    const struct mx_api_scope *scope;
};

struct mx_api_keys {
    size_t count;
    struct api_key keys[MX_API_KEYS_MAX];
};

static int is_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static int is_secret_char(char c) {
    return c > 0x20 && c < 0x7f && c != ',' && c != ':';
}

static int is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

int mx_api_key_id_is_valid(const char *id, size_t length) {
    int ok = length >= 1 && length <= MX_API_KEY_ID_MAX;
    for (size_t i = 0; ok && i < length; i++)
        ok = is_id_char(id[i]);
    return ok;
}

const struct mx_api_scope *mx_api_scope_find(const char *name, size_t length) {
    for (size_t i = 0; i < SCOPES_COUNT; i++)
        if (strlen(scopes[i].name) == length && memcmp(scopes[i].name, name, length) == 0)
            return &scopes[i];
    return NULL;
}

int mx_api_scope_allows(const struct mx_api_scope *scope, enum mx_access access) {
    return access <= scope->access;
}

void mx_api_scope_names(char *out, size_t size) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < SCOPES_COUNT && used < size; i++) {
        const char *separator = i == 0 ? "" : i + 1 == SCOPES_COUNT ? " or " : ", ";
        int n = snprintf(out + used, size - used, "%s%s", separator, scopes[i].name);
        used += n > 0 ? (size_t)n : 0;
    }
}

/* One "<id>:<secret>[:<scope>]" of length bytes at entry (blanks already trimmed). */
static mx_status parse_entry(const char *entry, size_t length, struct api_key *key, size_t position,
                             char *error, size_t error_size) {
    const char *colon = memchr(entry, ':', length);
    size_t id_length = colon != NULL ? (size_t)(colon - entry) : 0;
    size_t rest_length = colon != NULL ? length - id_length - 1 : 0;
    /* The secret has no colon, so a second one can only start the scope. */
    const char *scope_colon = colon != NULL ? memchr(colon + 1, ':', rest_length) : NULL;
    size_t secret_length = scope_colon != NULL ? (size_t)(scope_colon - colon - 1) : rest_length;
    int ok = colon != NULL && mx_api_key_id_is_valid(entry, id_length) &&
             secret_length >= MX_API_KEY_SECRET_MIN && secret_length <= MX_API_KEY_SECRET_MAX;
    for (size_t i = 0; ok && i < secret_length; i++)
        ok = is_secret_char(colon[1 + i]);
    if (!ok) {
        snprintf(error, error_size,
                 "API key %zu is not <id>:<secret>[:<scope>] (id: 1-%d of A-Z a-z 0-9 _ . -; "
                 "secret: %d-%d printable characters, no space, comma or colon)",
                 position, MX_API_KEY_ID_MAX, MX_API_KEY_SECRET_MIN, MX_API_KEY_SECRET_MAX);
        return MX_INVALID_REQUEST;
    }
    key->scope = scope_colon == NULL
                     ? &scopes[0]
                     : mx_api_scope_find(scope_colon + 1, rest_length - secret_length - 1);
    if (key->scope == NULL) {
        /* The wrong scope is not quoted: were it the tail of a secret with a colon in it, the
         * message would show part of that secret. */
        char names[64];
        mx_api_scope_names(names, sizeof names);
        snprintf(error, error_size, "API key \"%.*s\" has an unknown scope: it must be %s",
                 (int)id_length, entry, names);
        return MX_INVALID_REQUEST;
    }
    memcpy(key->id, entry, id_length);
    key->id[id_length] = '\0';
    memcpy(key->secret, colon + 1, secret_length);
    key->secret[secret_length] = '\0';
    key->secret_length = secret_length;
    return MX_OK;
}

mx_status mx_api_keys_parse(const char *text, struct mx_api_keys **out, char *error,
                            size_t error_size) {
    *out = NULL;
    struct mx_api_keys *keys = calloc(1, sizeof *keys);
    if (keys == NULL) {
        snprintf(error, error_size, "out of memory");
        return MX_INTERNAL;
    }
    mx_status status = MX_OK;
    const char *p = text;
    int in_comment = 0;    /* a "#" line runs to its end, commas and all */
    int at_line_start = 1; /* only there does "#" start a comment */
    while (status == MX_OK && *p != '\0') {
        size_t length = strcspn(p, ",\n");
        const char *entry = p;
        p += length;
        int line_ends = *p != ',';
        if (*p != '\0')
            p++;
        while (length > 0 && is_blank(entry[0])) {
            entry++;
            length--;
        }
        while (length > 0 && is_blank(entry[length - 1]))
            length--;
        if (at_line_start && length > 0 && entry[0] == '#')
            in_comment = 1;
        int skip = in_comment || length == 0;
        at_line_start = line_ends || (at_line_start && length == 0);
        if (line_ends)
            in_comment = 0;
        if (skip)
            continue;
        if (keys->count == MX_API_KEYS_MAX) {
            snprintf(error, error_size, "more than %d API keys", MX_API_KEYS_MAX);
            status = MX_INVALID_REQUEST;
            break;
        }
        struct api_key *key = &keys->keys[keys->count];
        status = parse_entry(entry, length, key, keys->count + 1, error, error_size);
        /* One secret, one client: a secret under two ids would leave it open which client (and
         * so whose idempotency keys) a request is. The reason names the ids, never the secret. */
        for (size_t i = 0; status == MX_OK && i < keys->count; i++) {
            if (strcmp(keys->keys[i].id, key->id) == 0) {
                snprintf(error, error_size, "API key id \"%s\" appears twice", key->id);
                status = MX_INVALID_REQUEST;
            } else if (strcmp(keys->keys[i].secret, key->secret) == 0) {
                snprintf(error, error_size, "API keys \"%s\" and \"%s\" have the same secret",
                         keys->keys[i].id, key->id);
                status = MX_INVALID_REQUEST;
            }
        }
        if (status == MX_OK)
            keys->count++;
    }
    if (status == MX_OK && keys->count == 0) {
        snprintf(error, error_size, "no API key given");
        status = MX_INVALID_REQUEST;
    }
    if (status != MX_OK) {
        mx_api_keys_free(keys);
        return status;
    }
    *out = keys;
    return MX_OK;
}

/* Compares every byte position up to the longer of the two, so the time depends on lengths
 * only, never on where the first difference is. */
static int same_secret(const struct api_key *key, const char *presented, size_t presented_length) {
    size_t longest = presented_length > key->secret_length ? presented_length : key->secret_length;
    unsigned char difference = (unsigned char)(presented_length != key->secret_length);
    for (size_t i = 0; i < longest; i++) {
        unsigned char a = i < key->secret_length ? (unsigned char)key->secret[i] : 0;
        unsigned char b = i < presented_length ? (unsigned char)presented[i] : 0;
        difference |= (unsigned char)(a ^ b);
    }
    return difference == 0;
}

const char *mx_api_keys_match(const struct mx_api_keys *keys, const char *presented,
                              const struct mx_api_scope **scope) {
    const struct api_key *found = NULL;
    size_t presented_length = presented != NULL ? strnlen(presented, MX_API_KEY_SECRET_MAX + 1) : 0;
    /* Every key is compared, whichever matches. */
    for (size_t i = 0; keys != NULL && presented != NULL && i < keys->count; i++) {
        int same = same_secret(&keys->keys[i], presented, presented_length);
        if (same && found == NULL)
            found = &keys->keys[i];
    }
    if (scope != NULL)
        *scope = found != NULL ? found->scope : NULL;
    return found != NULL ? found->id : NULL;
}

size_t mx_api_keys_count(const struct mx_api_keys *keys) {
    return keys != NULL ? keys->count : 0;
}

void mx_api_keys_free(struct mx_api_keys *keys) {
    if (keys == NULL)
        return;
    /* The secrets should not outlive their use in freed memory. */
    volatile unsigned char *bytes = (volatile unsigned char *)keys;
    for (size_t i = 0; i < sizeof *keys; i++)
        bytes[i] = 0;
    free(keys);
}
