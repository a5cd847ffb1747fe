/* Failover, as the service sees it: DATABASE_URL names two PostgreSQL servers with
 * target_session_attrs=read-write, and the service follows the writable one by itself. Two plain
 * clusters of the suite's own stand in for a primary and its standby (no replication: what is
 * tested is the service, not PostgreSQL's): the first is made read-only, as a primary is before a
 * switchover, and the service moves to the second without a restart; with neither writable it is
 * not ready and refuses with 503; with the first writable again it moves back. A second test puts
 * a proxy between the service and its server that, while frozen, accepts connections and never
 * answers them, as a half-open network does: an attempt caught in it must be given up. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define PG_CLUSTER MX_SOURCE_DIR "/scripts/lib/pg-cluster"

/* The second server: a cluster of the suite's own beside the first. */
static struct ft_cluster second;

/* Runs sql on the second server's database dbname (asserting); its output, new. */
static char *on_second(const char *dbname, const char *sql) {
    const char *argv[] = {"/usr/bin/psql", "-X", "-qAt",      "-v", "ON_ERROR_STOP=1", "-h",
                          second.socket,   "-p", second.port, "-U", "postgres",        "-d",
                          dbname,          "-c", sql,         NULL};
    char *out = NULL, *err = NULL;
    int status = ft_run_program(argv, FT_NO_DB_CONFIG, NULL, NULL, &out, &err, 60);
    ck_assert_msg(status == 0, "psql on the second server: %s: %s", sql, err);
    free(err);
    return out;
}

/* Makes the first server (the suite's own cluster) read-only for new transactions, or writable.
 * pg_reload_conf only signals the postmaster; once a new connection sees the setting, the
 * postmaster has re-read it and signalled every backend, and a backend applies it before its next
 * command -- so the service's next request meets it. */
static void first_read_only(int on) {
    ft_sql_admin_exec(on ? "ALTER SYSTEM SET default_transaction_read_only = on"
                         : "ALTER SYSTEM RESET default_transaction_read_only",
                      NULL);
    ft_sql_admin_exec("SELECT pg_reload_conf()", NULL);
    double deadline = ft_now() + 30;
    while (
        ft_sql_admin_int64("SELECT (current_setting('default_transaction_read_only') = 'on')::int",
                           NULL) != on) {
        ck_assert_msg(ft_now() < deadline, "the first server did not reload its configuration");
        usleep(10 * 1000);
    }
}

/* POST /api/accounts until it is 201, bounded: the number of the account made. */
static void create_after_failover(struct ft_server *server, char number[FT_ACCOUNT_SIZE]) {
    struct ft_response *r = ft_http_after_outage("POST", "/api/accounts", NULL, 30);
    if (r->status != 201) {
        char *log = ft_server_stderr(server);
        size_t length = strlen(log);
        ck_abort_msg("no account made within 30 s: %ld %s; the service's log ends:\n%s", r->status,
                     r->body, log + (length > 3000 ? length - 3000 : 0));
    }
    snprintf(number, FT_ACCOUNT_SIZE, "%s", ft_json_str(r, "account_number"));
    ft_response_free(r);
}

static int64_t metric(const char *line_start) {
    struct ft_response *r = ft_http("GET", "/metrics", NULL);
    ft_assert_status(r, 200);
    const char *at = strstr(r->body, line_start);
    int64_t value = at != NULL ? strtoll(at + strlen(line_start), NULL, 10) : -1;
    ft_response_free(r);
    return value;
}

static long status_of(const char *method, const char *path) {
    struct ft_response *r = ft_http(method, path, NULL);
    long status = r->status;
    ft_response_free(r);
    return status;
}

START_TEST(the_service_follows_the_writable_server_of_a_multi_host_url_by_itself) {
    /* The second server: the same database, its schema applied, as a standby would have it. */
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", ft_db());
    free(on_second("postgres", sql));
    char url[512], assignment[600];
    snprintf(url, sizeof url, "host=%s port=%s user=postgres dbname=%s", second.socket, second.port,
             ft_db());
    snprintf(assignment, sizeof assignment, "DATABASE_URL=%s", url);
    const char *migrate[] = {MX_BINARY, "migrate", NULL}, *migrate_env[] = {assignment, NULL};
    char *out = NULL, *err = NULL;
    ck_assert_msg(ft_run_program(migrate, FT_NO_DB_CONFIG, NULL, migrate_env, &out, &err, 60) == 0,
                  "mondux migrate on the second server: %s", err);
    free(out);
    free(err);

    /* The service, with both in its URL: the first is the primary. */
    snprintf(assignment, sizeof assignment,
             "DATABASE_URL=host=%s,%s port=%s,%s user=postgres dbname=%s "
             "target_session_attrs=read-write",
             ft_pg_host(), second.socket, ft_pg_port(), second.port, ft_db());
    const char *env[] = {assignment, NULL};
    struct ft_server *server = ft_server_start(FT_NO_DB_CONFIG, NULL, env);
    ft_set_default_server(server);
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], c[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    ck_assert_int_eq(ft_move(a, "deposit", 100), 100);
    ck_assert_int_eq(status_of("GET", "/readyz"), 200);
    int64_t failovers = metric("mondux_db_events_total{kind=\"failover\"} ");
    ck_assert_int_eq(failovers, 0);

    /* The first becomes read-only: the next write there is refused, nothing written, and the
     * service moves to the second -- the refused request itself is sent again there. */
    first_read_only(1);
    create_after_failover(server, b);
    char *where = on_second(ft_db(), "SELECT count(*) FROM accounts");
    ck_assert_str_eq(where, "1\n");
    free(where);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts", NULL), 1); /* a's only */
    ck_assert_int_eq(status_of("GET", "/readyz"), 200);
    ck_assert_int_ge(metric("mondux_db_events_total{kind=\"failover\"} "), 1);
    ck_assert_int_ge(metric("mondux_db_events_total{kind=\"read_only\"} "), 1);

    /* Neither writable: not ready, and a move changes nothing, saying so. */
    ft_cluster_run(&second, "stop");
    double deadline = ft_now() + 30;
    while (status_of("GET", "/readyz") != 503)
        ck_assert_msg(ft_now() < deadline, "/readyz stayed ready with no writable server");
    ft_expect_error("POST", "/api/accounts", NULL, NULL, 503, "unavailable", NULL);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts", NULL), 1);

    /* The first writable again: the service is back on it, without a restart. */
    first_read_only(0);
    create_after_failover(server, c);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts", NULL), 2);
    ck_assert_int_eq(ft_move(a, "deposit", 5), 105);
    deadline = ft_now() + 30;
    while (status_of("GET", "/readyz") != 200)
        ck_assert_msg(ft_now() < deadline, "/readyz did not become ready again");

    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

/* ---- a proxy to the first server that can freeze -------------------------------------------- */

struct proxy {
    int listener;
    int port;
    atomic_int frozen;
    atomic_int held; /* connections accepted while frozen, never answered */
    pthread_t thread;
};

struct pipe_ends {
    int from, to;
};

static void *copy_bytes(void *arg) {
    struct pipe_ends ends = *(struct pipe_ends *)arg;
    free(arg);
    char buffer[16384];
    ssize_t n;
    while ((n = read(ends.from, buffer, sizeof buffer)) > 0)
        if (write(ends.to, buffer, (size_t)n) != n)
            break;
    shutdown(ends.to, SHUT_WR);
    shutdown(ends.from, SHUT_RD);
    return NULL;
}

static void copy_in_background(int from, int to) {
    struct pipe_ends *ends = malloc(sizeof *ends);
    pthread_t thread;
    if (ends == NULL)
        return;
    *ends = (struct pipe_ends){from, to};
    if (pthread_create(&thread, NULL, copy_bytes, ends) == 0)
        pthread_detach(thread);
    else
        free(ends);
}

static int connect_to_first_server(void) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof address.sun_path, "%s/.s.PGSQL.%s", ft_pg_host(),
             ft_pg_port());
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void *proxy_run(void *arg) {
    struct proxy *proxy = arg;
    for (;;) {
        int client = accept(proxy->listener, NULL, NULL);
        if (client < 0)
            return NULL; /* the listener was shut */
        if (atomic_load(&proxy->frozen)) {
            atomic_fetch_add(&proxy->held, 1); /* kept open, never read: a half-open network */
            continue;
        }
        int server = connect_to_first_server();
        if (server < 0) {
            close(client);
            continue;
        }
        copy_in_background(client, server);
        copy_in_background(server, client);
    }
}

static void proxy_start(struct proxy *proxy) {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t size = sizeof address;
    proxy->listener = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(proxy->listener, 0);
    ck_assert_int_eq(bind(proxy->listener, (struct sockaddr *)&address, size), 0);
    ck_assert_int_eq(getsockname(proxy->listener, (struct sockaddr *)&address, &size), 0);
    ck_assert_int_eq(listen(proxy->listener, 64), 0);
    proxy->port = ntohs(address.sin_port);
    atomic_init(&proxy->frozen, 0);
    atomic_init(&proxy->held, 0);
    ck_assert_int_eq(pthread_create(&proxy->thread, NULL, proxy_run, proxy), 0);
}

START_TEST(a_connection_attempt_that_is_never_answered_is_given_up_and_made_again) {
    struct proxy proxy;
    proxy_start(&proxy);
    char assignment[600];
    snprintf(assignment, sizeof assignment,
             "DATABASE_URL=host=127.0.0.1 port=%d user=postgres dbname=%s connect_timeout=2",
             proxy.port, ft_db());
    const char *env[] = {assignment, NULL};
    struct ft_server *server = ft_server_start(FT_NO_DB_CONFIG, NULL, env);
    ft_set_default_server(server);
    char a[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    ck_assert_int_eq(status_of("GET", "/readyz"), 200);

    /* Frozen: the service's sessions end, and every attempt to connect again is accepted and
     * never answered. */
    atomic_store(&proxy.frozen, 1);
    ck_assert_int_ge(ft_end_service_sessions(), 1);
    double deadline = ft_now() + 30;
    while (status_of("GET", "/readyz") != 503 || atomic_load(&proxy.held) == 0)
        ck_assert_msg(ft_now() < deadline, "/readyz stayed ready, or no attempt was caught");

    /* Thawed, the caught attempts still hang: the service must give them up and connect anew. */
    atomic_store(&proxy.frozen, 0);
    deadline = ft_now() + 30;
    while (status_of("GET", "/readyz") != 200)
        ck_assert_msg(ft_now() < deadline,
                      "not ready 30 s after the network came back (%d attempts caught)",
                      atomic_load(&proxy.held));
    ck_assert_int_eq(ft_move(a, "deposit", 7), 7);

    ck_assert_int_eq(ft_server_stop(server), 0);
    shutdown(proxy.listener, SHUT_RDWR);
    close(proxy.listener);
    pthread_join(proxy.thread, NULL);
}
END_TEST

int main(void) {
    ft_init_with_own_cluster("failover");
    ft_cluster_up(&second);
    Suite *s = suite_create("failover");
    FT_ADD_TEST(s, the_service_follows_the_writable_server_of_a_multi_host_url_by_itself);
    FT_ADD_TEST(s, a_connection_attempt_that_is_never_answered_is_given_up_and_made_again);
    return ft_main(s, 0, FT_DATABASE_URL, NULL);
}
