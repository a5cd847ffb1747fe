/* The HTTP front: a libmicrohttpd daemon on the event loop that hands each complete request to the
 * route table. */
#ifndef MONDUX_HTTP_H
#define MONDUX_HTTP_H

#include <stddef.h>

#include "mondux/api_keys.h"
#include "mondux/status.h"

/* A listening socket (mx_http_listen). */
struct mx_http_listener {
    int fd;        /* listening, non-blocking, close-on-exec */
    unsigned port; /* the port bound: the one asked for, or the one the kernel picked for 0 */
    int is_ipv6;
};

/* Resolves host and listens on host:port, so that a HOST or PORT that cannot be used shows before
 * anything else starts. MX_OK and *out (close out->fd, unless mx_http_start took it over); else
 * MX_INVALID_REQUEST (host does not resolve, or the address or port cannot be bound: not this
 * machine's, in use, privileged) or MX_INTERNAL (no socket), with a one-line reason in error. */
mx_status mx_http_listen(const char *host, unsigned port, struct mx_http_listener *out, char *error,
                         size_t error_size);

struct mx_http_config {
    const char *host; /* borrowed: address or name to listen on */
    unsigned port;    /* 0 = any free port */
    /* Borrowed: the socket to serve (from mx_http_listen, for host and port, which then only name
     * it); the server owns its descriptor once started. */
    const struct mx_http_listener *listener;
    size_t body_limit;        /* bytes; larger bodies are answered 413 */
    size_t url_limit;         /* bytes of the request target; longer is 414 */
    size_t header_limit;      /* bytes of all request headers together; more is 431 */
    unsigned idle_timeout;    /* seconds a connection may send or read nothing */
    unsigned request_timeout; /* seconds a request may take to arrive (headers and body) */
    unsigned max_connections; /* open connections at once */
    int access_log;           /* 1 = one line per request on stdout */
    /* Borrowed; NULL: /api is open to anyone who can connect. Otherwise every /api request needs
     * "Authorization: Bearer <secret>" of one of these keys. */
    const struct mx_api_keys *api_keys;
    const char *currency; /* borrowed: the currency of a new account that names none */
};

struct mx_http_server;
struct mx_loop;
struct mx_db;

/* Starts serving on loop (everything of the server runs on its thread), with db for the
 * requests that need the database. On MX_OK *out is a new server (mx_http_stop releases it) and
 * *bound_port the port it listens on. Otherwise MX_INTERNAL with the reason on stderr;
 * libmicrohttpd may have closed config->listener's descriptor by then, so the caller exits without
 * closing it. */
mx_status mx_http_start(const struct mx_http_config *config, struct mx_loop *loop, struct mx_db *db,
                        struct mx_http_server **out, unsigned *bound_port);

/* Stops accepting and lets the requests in flight finish: each gets its answer, with
 * Connection: close, and a connection still arriving after a second is cut. drained(arg) is
 * called once none is left, or after a bounded time. */
void mx_http_drain(struct mx_http_server *server, void (*drained)(void *arg), void *arg);

/* Stops and frees: 1. 0 when requests still wait for the database: then the server cannot be
 * stopped safely, and the process should exit as it is. NULL is fine. */
int mx_http_stop(struct mx_http_server *server);

#endif
