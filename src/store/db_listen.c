/* The change feed's listening connection: one per process, whatever the number of live streams.
 * It sends LISTEN mondux_events and then only reads: each notification (sequence_events gave
 * positions) becomes one call of news. The events themselves are read from the table, so a
 * notification lost while this connection is down only delays them: after a failure it connects
 * again a second later, and says "news" once it listens again. */
#include "db_internal.h"
#include "mondux/log.h"

#define LISTEN_RETRY_MS 1000

static void listener_start(void *arg);

void db_listener_close(struct db_listener *l) {
    if (l->loop == NULL)
        return;
    mx_loop_timer_cancel(l->loop, &l->retry);
    db_socket_unwatch(&l->socket, l->loop);
    if (l->pg != NULL)
        PQfinish(l->pg);
    l->pg = NULL;
    l->listening = 0;
}

static void listener_fail(struct db_listener *l, const char *what) {
    if (l->pg != NULL)
        mx_log(MX_LOG_WARN, "the change feed's listening connection: %s failed: %s", what,
               PQerrorMessage(l->pg));
    int was_listening = l->listening;
    db_listener_close(l);
    mx_loop_timer_set(l->loop, &l->retry, LISTEN_RETRY_MS, listener_start, l);
    if (was_listening)
        l->news(l->arg); /* what was missed is in the table */
}

static void listener_event(void *arg, unsigned events);

static int listener_watch(struct db_listener *l, unsigned events) {
    return db_socket_watch(&l->socket, l->loop, l->pg, events, !l->listening, listener_event, l);
}

/* Connected: LISTEN, and from then on only reading. */
static void listener_listen(struct db_listener *l) {
    if (PQsetnonblocking(l->pg, 1) != 0 ||
        !PQsendQueryParams(l->pg, mx_sql_listen, 0, NULL, NULL, NULL, NULL, 0) ||
        PQflush(l->pg) < 0 || listener_watch(l, MX_LOOP_READ) != 0) {
        listener_fail(l, "LISTEN");
        return;
    }
    l->listening = 1;
    mx_loop_timer_cancel(l->loop, &l->retry);
    l->news(l->arg); /* anything numbered before LISTEN took effect */
}

static void listener_connecting(struct db_listener *l) {
    switch (PQconnectPoll(l->pg)) {
    case PGRES_POLLING_READING:
        if (listener_watch(l, MX_LOOP_READ) != 0)
            listener_fail(l, "connect");
        return;
    case PGRES_POLLING_WRITING:
        if (listener_watch(l, MX_LOOP_WRITE) != 0)
            listener_fail(l, "connect");
        return;
    case PGRES_POLLING_OK:
        listener_listen(l);
        return;
    default:
        listener_fail(l, "connect");
    }
}

static void listener_read(struct db_listener *l) {
    if (!PQconsumeInput(l->pg)) {
        listener_fail(l, "reading");
        return;
    }
    /* LISTEN's own answer, then nothing but notifications. */
    while (!PQisBusy(l->pg)) {
        PGresult *result = PQgetResult(l->pg);
        if (result == NULL)
            break;
        int failed = PQresultStatus(result) != PGRES_COMMAND_OK;
        PQclear(result);
        if (failed) {
            listener_fail(l, "LISTEN");
            return;
        }
    }
    int news = 0;
    for (PGnotify *n = PQnotifies(l->pg); n != NULL; n = PQnotifies(l->pg)) {
        news = 1;
        PQfreemem(n);
    }
    if (news)
        l->news(l->arg);
}

static void listener_event(void *arg, unsigned events) {
    (void)events;
    struct db_listener *l = arg;
    if (l->listening)
        listener_read(l);
    else
        listener_connecting(l);
}

/* Still not listening when its time is up: given up, to be tried again. */
static void listener_timed_out(void *arg) {
    struct db_listener *l = arg;
    if (l->pg != NULL && !l->listening)
        listener_fail(l, "connect (timed out)");
}

static void listener_start(void *arg) {
    struct db_listener *l = arg;
    l->pg = mx_conn_start();
    if (l->pg == NULL || PQstatus(l->pg) == CONNECTION_BAD) {
        listener_fail(l, "connect");
        return;
    }
    unsigned timeout_ms = mx_conn_start_timeout_ms(l->pg);
    if (timeout_ms > 0)
        mx_loop_timer_set(l->loop, &l->retry, timeout_ms, listener_timed_out, l);
    /* After PQconnectStart, libpq wants to be polled once the socket is writable. */
    if (listener_watch(l, MX_LOOP_WRITE) != 0)
        listener_fail(l, "connect");
}

void db_listener_start(struct db_listener *l, struct mx_loop *loop, void (*news)(void *arg),
                       void *arg) {
    l->news = news;
    l->arg = arg;
    if (l->loop != NULL)
        return;
    l->loop = loop;
    listener_start(l);
}
