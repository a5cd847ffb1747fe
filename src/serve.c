/* The server: configuration -> listen -> migrations -> the event loop (HTTP and the database on
 * one thread) -> drain and shut down on SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "commands.h"
#include "mondux/db.h"
#include "mondux/http.h"
#include "mondux/loop.h"
#include "mondux/log.h"
#include "mondux/store.h"

/* Each HTTP connection is a file descriptor; the usual soft limit of 1024 would refuse clients
 * long before MX_MAX_CONNECTIONS. Raise it as far as the hard limit allows. */
static void raise_open_file_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
            mx_log(MX_LOG_WARN, "cannot raise the open-file limit");
    }
}

/* A SIGTERM or SIGINT is waiting (the loop took them over: they are blocked until it reads them):
 * checked while start-up waits for the database, so `docker stop` need not wait for MX_DB_WAIT. */
static int stop_requested(void) {
    sigset_t pending;
    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1);
}

/* What the signal handlers of the loop need. */
struct running {
    struct mx_loop *loop;
    struct mx_http_server *server;
};

static void on_drained(void *arg) {
    struct running *running = arg;
    mx_loop_stop(running->loop);
}

static void stop(struct running *running, const char *signal_name) {
    mx_log(MX_LOG_INFO, "%s received, finishing in-flight requests", signal_name);
    if (running->server != NULL)
        mx_http_drain(running->server, on_drained, running);
    else
        mx_loop_stop(running->loop);
}

static void on_sigterm(void *arg) {
    stop(arg, "SIGTERM");
}

static void on_sigint(void *arg) {
    stop(arg, "SIGINT");
}

int mx_serve(void) {
    struct mx_config config;
    if (!mx_command_config(&config))
        return MX_EXIT_CONFIG;
    /* Before the database: a HOST or PORT that cannot be used is configuration, said at once. */
    struct mx_http_listener listener;
    char reason[256];
    mx_status status =
        mx_http_listen(config.http.host, config.http.port, &listener, reason, sizeof reason);
    if (status != MX_OK) {
        mx_log(MX_LOG_ERROR, "%s", reason);
        mx_config_free(&config);
        return status == MX_INVALID_REQUEST ? MX_EXIT_CONFIG : MX_EXIT_RUNTIME;
    }
    config.http.listener = &listener;
    if (config.api_keys == NULL)
        mx_log(MX_LOG_WARN, "warning: no API keys (MX_API_KEYS): /api is open to anyone who can "
                            "connect");
    raise_open_file_limit();
    setvbuf(stdout, NULL, _IOLBF, 0); /* access-log lines reach `docker logs` as they happen */
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 0;
    int listener_ours = 1; /* until the server takes it over */
    struct running running = {mx_loop_new(), NULL};
    struct mx_db *db = NULL;
    unsigned port = 0;
    /* The loop takes SIGTERM and SIGINT as events from now on: blocked, they wait for it. */
    if (running.loop == NULL || mx_loop_on_signal(running.loop, SIGTERM, on_sigterm, &running) ||
        mx_loop_on_signal(running.loop, SIGINT, on_sigint, &running) ||
        mx_store_init(&config.db) != MX_OK) {
        mx_log(MX_LOG_ERROR, "out of memory");
        exit_code = MX_EXIT_RUNTIME;
        goto out;
    }
    status = mx_store_migrate(config.db_wait_seconds, stop_requested);
    if (status != MX_OK && stop_requested()) {
        mx_log(MX_LOG_INFO, "stopped while waiting for the database");
        goto out; /* asked to stop: that is a clean exit, not a failure */
    }
    if (status != MX_OK) {
        mx_log(MX_LOG_ERROR, "%s",
               status == MX_UNAVAILABLE ? "cannot reach the database"
                                        : "cannot bring the database schema up to date");
        exit_code = MX_EXIT_RUNTIME;
        goto out;
    }
    status = mx_store_knows_currency(config.currency);
    if (status != MX_OK) {
        if (status == MX_INVALID_REQUEST)
            mx_log(MX_LOG_ERROR, "MX_CURRENCY %s is not a currency the database knows",
                   config.currency);
        else
            mx_log(MX_LOG_ERROR, "cannot reach the database");
        exit_code = status == MX_INVALID_REQUEST ? MX_EXIT_CONFIG : MX_EXIT_RUNTIME;
        goto out;
    }
    db = mx_db_new(running.loop, config.db_connections);
    if (db == NULL) {
        mx_log(MX_LOG_ERROR, "out of memory");
        exit_code = MX_EXIT_RUNTIME;
        goto out;
    }
    mx_db_sweep_keys(db, config.idempotency_ttl_seconds, config.idempotency_sweep_seconds);
    mx_db_sequence_events(db);
    listener_ours = 0;
    if (mx_http_start(&config.http, running.loop, db, &running.server, &port) != MX_OK) {
        exit_code = MX_EXIT_RUNTIME;
        goto out;
    }
    int ipv6 = strchr(config.http.host, ':') != NULL;
    mx_log(MX_LOG_ALWAYS, "listening on http://%s%s%s:%u", ipv6 ? "[" : "", config.http.host,
           ipv6 ? "]" : "", port);
    if (mx_loop_run(running.loop) != 0) {
        mx_log(MX_LOG_ERROR, "the event loop failed");
        exit_code = MX_EXIT_RUNTIME;
    }
out:
    if (listener_ours)
        close(listener.fd);
    if (!mx_http_stop(running.server)) {
        /* Requests still wait for a database that does not answer: end the process as it is. */
        fflush(stdout);
        fflush(stderr);
        _exit(MX_EXIT_RUNTIME);
    }
    mx_db_free(db);
    mx_loop_free(running.loop);
    mx_store_shutdown();
    mx_config_free(&config);
    return exit_code;
}
