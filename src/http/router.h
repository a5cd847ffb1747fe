/* The route table: method + path pattern -> controller. */
#ifndef MONDUX_HTTP_ROUTER_H
#define MONDUX_HTTP_ROUTER_H

#include "mondux/api.h"
#include "mondux/api_keys.h"

#define MX_ROUTE_CAPTURE_MAX 64 /* longer {n} segments can't be account numbers anyway */

struct mx_route_match {
    mx_handler handler;    /* NULL when status != MX_OK */
    enum mx_access access; /* what the route needs of an API key (READ when there is none) */
    const char *pattern; /* the matched path's pattern (static), NULL when status is MX_NOT_FOUND */
    mx_status status;    /* MX_OK, MX_NOT_FOUND or MX_METHOD_NOT_ALLOWED */
    char allow[64];      /* for 405: the methods the path does take */
    char capture[MX_ROUTE_CAPTURE_MAX + 1]; /* the {n} segment, "" when none or too long */
};

/* Finds the handler for method and path. Thread-safe. */
void mx_route(const char *method, const char *path, struct mx_route_match *match);

#endif
