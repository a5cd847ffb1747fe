/* mondux: configuration -> migrations -> serve -> shut down on SIGTERM/SIGINT. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "mondux/http.h"
#include "mondux/store.h"

#define EXIT_RUNTIME 1
#define EXIT_CONFIG  2

static int handle_arguments(int argc, char **argv, int *exit_code) {
    if (argc < 2)
        return 0;
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        mx_config_print_help(stdout);
        *exit_code = 0;
    } else if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("mondux %s\n", MX_VERSION);
        *exit_code = 0;
    } else {
        fprintf(stderr, "mondux: unknown argument \"%s\" (try --help)\n", argv[1]);
        *exit_code = EXIT_CONFIG;
    }
    return 1;
}

/* Each HTTP connection is a file descriptor; the usual soft limit of 1024 would refuse clients
 * long before MX_MAX_CONNECTIONS. Raise it as far as the hard limit allows. */
static void raise_open_file_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
            fprintf(stderr, "mondux: cannot raise the open-file limit\n");
    }
}

/* A SIGTERM or SIGINT is waiting (they are blocked, and taken by sigwait once serving): checked
 * while start-up waits for the database, so `docker stop` need not wait for MX_DB_WAIT. */
static int stop_requested(void) {
    sigset_t pending;
    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1);
}

int main(int argc, char **argv) {
    int exit_code = 0;
    if (handle_arguments(argc, argv, &exit_code))
        return exit_code;

    struct mx_config config;
    char error[256];
    if (!mx_config_load(&config, error, sizeof error)) {
        fprintf(stderr, "mondux: %s\n", error);
        mx_config_free(&config);
        return EXIT_CONFIG;
    }
    if (config.api_keys == NULL)
        fprintf(stderr, "mondux: warning: no API keys (MX_API_KEYS): /api is open to anyone "
                        "who can connect\n");
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

    struct mx_http_server *server = NULL;
    unsigned port = 0;
    if (mx_store_init(&config.db) != MX_OK) {
        fprintf(stderr, "mondux: out of memory\n");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    mx_status status = mx_store_migrate(config.db_wait_seconds, stop_requested);
    if (status != MX_OK && stop_requested()) {
        fprintf(stderr, "mondux: stopped while waiting for the database\n");
        goto out; /* asked to stop: that is a clean exit, not a failure */
    }
    if (status != MX_OK) {
        fprintf(stderr, "mondux: %s\n",
                status == MX_UNAVAILABLE ? "cannot reach the database"
                                         : "cannot bring the database schema up to date");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    if (mx_store_sweeper_start(config.idempotency_ttl_seconds, config.idempotency_sweep_seconds) !=
        MX_OK) {
        fprintf(stderr, "mondux: cannot start the idempotency key clean-up\n");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    if (mx_store_batcher_start(config.db_writers, config.db_readers) != MX_OK) {
        fprintf(stderr, "mondux: cannot start the database batch threads\n");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    status = mx_http_start(&config.http, &server, &port);
    if (status != MX_OK) {
        exit_code = status == MX_INVALID_REQUEST ? EXIT_CONFIG : EXIT_RUNTIME;
        goto out;
    }
    int ipv6 = strchr(config.http.host, ':') != NULL;
    fprintf(stderr, "mondux: listening on http://%s%s%s:%u\n", ipv6 ? "[" : "", config.http.host,
            ipv6 ? "]" : "", port);

    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    fprintf(stderr, "mondux: %s received, finishing in-flight requests\n",
            signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
out:
    if (!mx_http_stop(server)) {
        /* Threads are still at work: end the process as it is, without exit()'s clean-up running
         * under them. */
        fflush(stdout);
        fflush(stderr);
        _exit(EXIT_RUNTIME);
    }
    mx_store_batcher_stop();
    mx_store_sweeper_stop();
    mx_store_shutdown();
    mx_config_free(&config);
    return exit_code;
}
