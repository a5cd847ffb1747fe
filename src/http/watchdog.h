/* The request timeout: a connection that has been receiving one request (its headers and body)
 * for longer than the limit is shut down, however slowly it keeps sending -- which the idle
 * timeout alone would not catch ("slowloris"). Requests being served are never touched. */
#ifndef MONDUX_HTTP_WATCHDOG_H
#define MONDUX_HTTP_WATCHDOG_H

#include "mondux/status.h"

struct mx_watchdog;
struct mx_watch;

/* Starts the thread that looks once a second. MX_OK and *out (new), or MX_INTERNAL. */
mx_status mx_watchdog_start(unsigned request_timeout_seconds, struct mx_watchdog **out);

/* For shutting down: cuts every connection that has been idle or receiving a request for longer
 * than seconds (whole seconds, so up to one more); such a request then never starts. Connections
 * being served are left alone. */
void mx_watchdog_cut_receiving_longer_than(struct mx_watchdog *watchdog, long long seconds);

/* Stops the thread and frees the watchdog; every watch must be closed by then. NULL is fine. */
void mx_watchdog_stop(struct mx_watchdog *watchdog);

/* Starts watching a new connection's socket, as receiving. New (mx_watch_close it), or NULL
 * when out of memory (the connection then goes unwatched). Thread-safe. */
struct mx_watch *mx_watch_open(struct mx_watchdog *watchdog, int fd);

/* Stops watching; call before the socket is closed. NULL is fine. Thread-safe. */
void mx_watch_close(struct mx_watchdog *watchdog, struct mx_watch *watch);

/* A request line has arrived: the clock restarts for the rest of its request, so a keep-alive
 * pause before it is not the request's. The line itself must come within the timeout of the
 * connection's start or the previous answer (a longer pause ends the connection, as the idle
 * timeout would). Not after a cut. NULL is fine. */
void mx_watch_request_begins(struct mx_watch *watch);

/* The request has fully arrived and is to be served: the clock stops. 0 when the watchdog has
 * just cut the connection (its answer could not be sent: don't start it), else 1. NULL is fine. */
int mx_watch_serving(struct mx_watch *watch);

/* The answer is sent: the clock restarts for the next request on this connection. */
void mx_watch_receiving(struct mx_watch *watch);

#endif
