/* THE route table. A new endpoint is one line here and one controller in src/api. */
#include "router.h"

#include <string.h>

struct route {
    const char *method;
    const char *pattern; /* "{n}" stands for one non-empty path segment */
    mx_handler handler;
    enum mx_access access; /* what an API key's scope must grant, under /api */
};

#define READ   MX_ACCESS_READ
#define TELLER MX_ACCESS_TELLER
#define ADMIN  MX_ACCESS_ADMIN

static const struct route routes[] = {
    {"POST", "/api/accounts", mx_api_create_account, TELLER},
    {"POST", "/api/accounts/create", mx_api_create_account_original, TELLER},
    {"GET", "/api/accounts/{n}", mx_api_get_account, READ},
    {"PATCH", "/api/accounts/{n}", mx_api_set_overdraft, ADMIN},
    {"GET", "/api/accounts/{n}/balance", mx_api_get_balance, READ},
    {"PUT", "/api/accounts/{n}/deposit", mx_api_deposit, TELLER},
    {"POST", "/api/accounts/{n}/deposit", mx_api_deposit, TELLER},
    {"PUT", "/api/accounts/{n}/withdraw", mx_api_withdraw, TELLER},
    {"POST", "/api/accounts/{n}/withdraw", mx_api_withdraw, TELLER},
    {"GET", "/api/accounts/{n}/transactions", mx_api_get_transactions, READ},
    {"GET", "/api/accounts/{n}/events", mx_api_get_account_events, READ},
    {"GET", "/api/accounts/{n}/statement", mx_api_get_statement, READ},
    {"POST", "/api/accounts/{n}/freeze", mx_api_freeze_account, ADMIN},
    {"POST", "/api/accounts/{n}/unfreeze", mx_api_unfreeze_account, ADMIN},
    {"POST", "/api/accounts/{n}/close", mx_api_close_account, ADMIN},
    {"POST", "/api/accounts/{n}/holds", mx_api_create_hold, TELLER},
    {"GET", "/api/accounts/{n}/holds", mx_api_list_holds, READ},
    {"GET", "/api/holds/{n}", mx_api_get_hold, READ},
    {"POST", "/api/holds/{n}/capture", mx_api_capture_hold, TELLER},
    {"POST", "/api/holds/{n}/void", mx_api_void_hold, TELLER},
    {"GET", "/api/events", mx_api_get_events, READ},
    {"GET", "/api/events/stream", mx_api_stream_events, READ},
    {"POST", "/api/transfers", mx_api_create_transfer, TELLER},
    {"GET", "/api/transfers/{n}", mx_api_get_transfer, READ},
    {"GET", "/healthz", mx_api_healthz, READ},
    {"GET", "/readyz", mx_api_readyz, READ},
    {"GET", "/metrics", mx_api_metrics, READ},
    {"GET", "/openapi.yaml", mx_api_openapi, READ},
    {"GET", "/", mx_api_web_file, READ},
    {"GET", "/teller.css", mx_api_web_file, READ},
    {"GET", "/teller.js", mx_api_web_file, READ},
};
#define ROUTE_COUNT (sizeof routes / sizeof routes[0])

/* Matches path against pattern; on success copies the {n} segment (or "" if it is too long). */
static int path_matches(const char *pattern, const char *path, char *capture) {
    capture[0] = '\0';
    while (*pattern != '\0') {
        if (strncmp(pattern, "{n}", 3) == 0) {
            size_t length = strcspn(path, "/");
            if (length == 0)
                return 0;
            if (length <= MX_ROUTE_CAPTURE_MAX) {
                memcpy(capture, path, length);
                capture[length] = '\0';
            }
            path += length;
            pattern += 3;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *path == '\0';
}

static int has_capture(const char *pattern) {
    return strstr(pattern, "{n}") != NULL;
}

/* HEAD is GET without the body; libmicrohttpd drops the body for us. */
static int method_matches(const char *route_method, const char *method) {
    return strcmp(route_method, method) == 0 ||
           (strcmp(route_method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

static void append_allow(char *allow, size_t size, const char *method) {
    size_t used = strlen(allow);
    const char *sep = used > 0 ? ", " : "";
    if (used + strlen(sep) + strlen(method) + 1 > size)
        return;
    strcat(allow, sep);
    strcat(allow, method);
    if (strcmp(method, "GET") == 0)
        append_allow(allow, size, "HEAD");
}

void mx_route(const char *method, const char *path, struct mx_route_match *match) {
    char capture[MX_ROUTE_CAPTURE_MAX + 1];
    const char *pattern = NULL;

    /* A literal pattern wins over one with a capture: "/api/accounts/create" is never an
     * account number. */
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (!path_matches(routes[i].pattern, path, capture))
            continue;
        if (pattern == NULL || (has_capture(pattern) && !has_capture(routes[i].pattern))) {
            pattern = routes[i].pattern;
            memcpy(match->capture, capture, sizeof capture);
        }
    }

    match->handler = NULL;
    match->access = MX_ACCESS_READ;
    match->pattern = pattern;
    match->allow[0] = '\0';
    if (pattern == NULL) {
        match->status = MX_NOT_FOUND;
        return;
    }
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (strcmp(routes[i].pattern, pattern) != 0)
            continue;
        if (method_matches(routes[i].method, method)) {
            match->handler = routes[i].handler;
            match->access = routes[i].access;
            match->status = MX_OK;
            return;
        }
        append_allow(match->allow, sizeof match->allow, routes[i].method);
    }
    match->status = MX_METHOD_NOT_ALLOWED;
}
