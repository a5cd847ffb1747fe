/* The server: configuration -> listen -> migrations -> serve -> shut down on SIGTERM/SIGINT. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "commands.h"
#include "mondux/http.h"
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

/* A SIGTERM or SIGINT is waiting (they are blocked, and taken by sigwait once serving): checked
 * while start-up waits for the database, so `docker stop` need not wait for MX_DB_WAIT. */
static int stop_requested(void) {
    sigset_t pending;
    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1);
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

    /* Signals are taken synchronously by sigwait below; every thread started later inherits the
     * mask, so none of them is interrupted. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    int exit_code = 0;
    int listener_ours = 1; /* until the server takes it over */
    struct mx_http_server *server = NULL;
    unsigned port = 0;
    if (mx_store_init(&config.db) != MX_OK) {
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
    if (mx_store_sweeper_start(config.idempotency_ttl_seconds, config.idempotency_sweep_seconds) !=
        MX_OK) {
        mx_log(MX_LOG_ERROR, "cannot start the idempotency key clean-up");
        exit_code = MX_EXIT_RUNTIME;
        goto out;
    }
    if (mx_store_batcher_start(config.db_writers, config.db_readers) != MX_OK) {
        mx_log(MX_LOG_ERROR, "cannot start the database batch threads");
        exit_code = MX_EXIT_RUNTIME;
        goto out;
    }
    listener_ours = 0;
    if (mx_http_start(&config.http, &server, &port) != MX_OK) {
        exit_code = MX_EXIT_RUNTIME;
        goto out;
    }
    int ipv6 = strchr(config.http.host, ':') != NULL;
    mx_log(MX_LOG_ALWAYS, "listening on http://%s%s%s:%u", ipv6 ? "[" : "", config.http.host,
           ipv6 ? "]" : "", port);

    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    mx_log(MX_LOG_INFO, "%s received, finishing in-flight requests",
           signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
out:
    if (listener_ours)
        close(listener.fd);
    if (!mx_http_stop(server)) {
        /* Threads are still at work: end the process as it is, without exit()'s clean-up running
         * under them. */
        fflush(stdout);
        fflush(stderr);
        _exit(MX_EXIT_RUNTIME);
    }
    mx_store_batcher_stop();
    mx_store_sweeper_stop();
    mx_store_shutdown();
    mx_config_free(&config);
    return exit_code;
}
