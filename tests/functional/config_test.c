/* Configuration and lifecycle: the command line, the environment (DATABASE_URL and the original's
 * API_DB* variables), start-up against an empty database by two servers at once, the access log,
 * and SIGTERM. Every test starts the servers it needs; the suite's database is shared. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef MX_PROJECT_VERSION
#error "MX_PROJECT_VERSION must be defined by the build"
#endif

static int count_lines(const char *text) {
    int lines = 0;
    for (; *text != '\0'; text++)
        lines += *text == '\n';
    return lines;
}

/* Runs mondux with one argument and no configuration at all. */
static int run_mondux(const char *argument, char **out, char **err) {
    const char *argv[] = {MX_BINARY, argument, NULL};
    return ft_run_program(argv, FT_NO_DB_CONFIG, NULL, NULL, out, err, 20);
}

START_TEST(version_flag_prints_the_version_and_exits_0) {
    char *out = NULL, *err = NULL;
    int status = run_mondux("--version", &out, &err);
    ck_assert_msg(status == 0, "mondux --version exited %d; stderr: %s", status, err);
    ck_assert_msg(strstr(out, MX_PROJECT_VERSION) != NULL,
                  "mondux --version does not print " MX_PROJECT_VERSION " on stdout: '%s' "
                  "(stderr '%s')",
                  out, err);
    free(out);
    free(err);
}
END_TEST

START_TEST(help_flag_documents_every_variable_and_exits_0) {
    char *out = NULL, *err = NULL;
    int status = run_mondux("--help", &out, &err);
    ck_assert_msg(status == 0, "mondux --help exited %d; stderr: %s", status, err);
    const char *names[] = {"PORT",
                           "HOST",
                           "DATABASE_URL",
                           "API_DB",
                           "API_DB_USER",
                           "API_DB_PASSWORD",
                           "API_DB_HOST",
                           "API_DB_PORT",
                           "MX_THREADS",
                           "MX_DB_CONNECTIONS",
                           "MX_BODY_LIMIT",
                           "MX_IDEMPOTENCY_TTL",
                           "MX_IDEMPOTENCY_SWEEP"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_msg(strstr(out, names[i]) != NULL, "mondux --help does not mention %s:\n%s",
                      names[i], out);
    free(out);
    free(err);
}
END_TEST

START_TEST(invalid_configuration_exits_2_with_one_line_on_stderr) {
    const char *cases[] = {"PORT=abc",
                           "PORT=70000",
                           "PORT=-1",
                           "PORT=80x",
                           "MX_THREADS=0",
                           "MX_THREADS=abc",
                           "MX_BODY_LIMIT=abc",
                           "MX_BODY_LIMIT=-5",
                           "DATABASE_URL=host",
                           "MX_DB_CONNECTIONS=0",
                           "MX_DB_CONNECTIONS=1001"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ft_assert_config_refused(cases[i], NULL);
}
END_TEST

static void assert_healthy(struct ft_server *server) {
    ft_set_default_server(server);
    struct ft_response *r = ft_http("GET", "/healthz", NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    ck_assert_str_eq(ft_json_str(r, "status"), "ok");
    ft_response_free(r);
}

START_TEST(port_variable_sets_the_listening_port) {
    char port[32];
    int wanted = ft_free_port();
    snprintf(port, sizeof port, "PORT=%d", wanted);
    const char *env[] = {port, NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ck_assert_int_eq(server->port, wanted);
    assert_healthy(server);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

START_TEST(two_servers_starting_at_once_on_an_empty_database_both_serve) {
    char db[64];
    ft_db_create(db, sizeof db);
    ft_use_db(db);
    struct ft_server *first = ft_server_spawn(FT_DATABASE_URL, db, NULL);
    struct ft_server *second = ft_server_spawn(FT_DATABASE_URL, db, NULL);
    ft_server_await(first);
    ft_server_await(second);
    assert_healthy(first);
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    assert_healthy(second);
    ck_assert_int_eq(ft_move(n, "deposit", 5), 5);

    int migrations = ft_migration_count();
    ck_assert_int_gt(migrations, 0);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM schema_migrations", (const char *)NULL),
                     migrations);
    ck_assert_int_eq(
        ft_sql_int64("SELECT count(DISTINCT version) FROM schema_migrations", (const char *)NULL),
        migrations);
    ck_assert_int_eq(ft_server_stop(first), 0);
    ck_assert_int_eq(ft_server_stop(second), 0);
    ft_db_drop(db);
}
END_TEST

START_TEST(api_db_variables_are_used_when_database_url_is_unset) {
    struct ft_server *server = ft_server_start(FT_API_DB_VARS, ft_db(), NULL);
    ft_set_default_server(server);
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    ft_move(n, "deposit", 42);
    ck_assert_int_eq(ft_sql_int64("SELECT balance_cents FROM accounts WHERE account_number = $1", n,
                                  (const char *)NULL),
                     42);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

START_TEST(database_url_wins_over_api_db_variables) {
    const char *env[] = {"API_DB=mx_ft_no_such_database",
                         "API_DB_USER=mx_ft_no_such_user",
                         "API_DB_PASSWORD=wrong",
                         "API_DB_HOST=/nonexistent",
                         "API_DB_PORT=1",
                         NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts WHERE account_number = $1", n,
                                  (const char *)NULL),
                     1);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

START_TEST(mx_body_limit_sets_the_request_body_limit) {
    const char *env[] = {"MX_BODY_LIMIT=100", "MX_THREADS=2", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    char body[201];
    memset(body, ' ', 200);
    body[0] = '{';
    body[199] = '}';
    body[200] = '\0';
    int64_t accounts = ft_snapshot(NULL).accounts;
    ft_expect_error("POST", "/api/accounts", body, NULL, 413, "payload_too_large", NULL);
    ck_assert_int_eq(ft_snapshot(NULL).accounts, accounts);
    struct ft_response *r = ft_http("POST", "/api/accounts", "{}");
    ft_assert_status(r, 201);
    ft_response_free(r);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

START_TEST(every_request_writes_one_json_access_log_line_on_stdout) {
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    ft_set_default_server(server);
    /* The third path carries a quote, a backslash and a newline-looking escape: JSON must keep
     * each line one object. */
    const char *requests[][2] = {
        {"GET", "/healthz"}, {"GET", "/api/nothing%22%5C%0A"}, {"POST", "/api/accounts"}};
    const char *logged_paths[] = {"/healthz", "/api/nothing\"\\\n", "/api/accounts"};
    const int statuses[] = {200, 404, 201};
    /* The user agent is the client's to choose like the path; the last request sends none. */
    const char *user_agents[] = {"ft-access-log/1", "ft \"quoted\" \\ agent", ""};
    size_t bodies[3];
    for (size_t i = 0; i < 3; i++) {
        char user_agent[64];
        snprintf(user_agent, sizeof user_agent, "User-Agent: %s", user_agents[i]);
        const char *headers[] = {user_agents[i][0] != '\0' ? user_agent : NULL, NULL};
        struct ft_response *r = ft_http_with_headers(requests[i][0], requests[i][1], NULL, headers);
        bodies[i] = r->body_size;
        ck_assert_uint_gt(bodies[i], 0);
        ft_response_free(r);
    }
    kill(server->pid, SIGTERM);
    char *out = NULL;
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, &out, NULL), 0);
    ck_assert_msg(count_lines(out) == 3, "expected 3 access-log lines, got:\n%s", out);
    /* One object per line, in whatever order the server's threads finished them. */
    int seen[3] = {0, 0, 0};
    for (const char *line = out; *line != '\0';) {
        const char *end = strchr(line, '\n');
        json_error_t error;
        json_t *entry = json_loadb(line, (size_t)(end - line), 0, &error);
        ck_assert_msg(json_is_object(entry), "not a JSON object: %.*s (%s)", (int)(end - line),
                      line, error.text);
        const char *method = json_string_value(json_object_get(entry, "method"));
        const char *path = json_string_value(json_object_get(entry, "path"));
        const char *id = json_string_value(json_object_get(entry, "request_id"));
        const char *time = json_string_value(json_object_get(entry, "time"));
        ck_assert(method != NULL && path != NULL && id != NULL && id[0] != '\0' && time != NULL);
        ck_assert(json_is_integer(json_object_get(entry, "duration_us")));
        ck_assert(json_integer_value(json_object_get(entry, "duration_us")) >= 0);
        ck_assert_str_eq(json_string_value(json_object_get(entry, "client")), "");
        /* The peer is curl's end of the loopback connection: 127.0.0.1 and some port. */
        const char *peer = json_string_value(json_object_get(entry, "peer"));
        ck_assert_msg(peer != NULL && strncmp(peer, "127.0.0.1:", 10) == 0 && peer[10] != '\0' &&
                          strspn(peer + 10, "0123456789") == strlen(peer + 10),
                      "peer %s", peer != NULL ? peer : "missing");
        const char *user_agent = json_string_value(json_object_get(entry, "user_agent"));
        ck_assert_ptr_nonnull(user_agent);
        ck_assert(json_is_integer(json_object_get(entry, "bytes_sent")));
        for (size_t i = 0; i < 3; i++)
            if (strcmp(method, requests[i][0]) == 0 && strcmp(path, logged_paths[i]) == 0) {
                ck_assert_int_eq(json_integer_value(json_object_get(entry, "status")), statuses[i]);
                ck_assert_str_eq(user_agent, user_agents[i]);
                ck_assert_int_eq(json_integer_value(json_object_get(entry, "bytes_sent")),
                                 (json_int_t)bodies[i]);
                seen[i]++;
            }
        json_decref(entry);
        line = end + 1;
    }
    for (size_t i = 0; i < 3; i++)
        ck_assert_msg(seen[i] == 1, "%d lines for %s %s in:\n%s", seen[i], requests[i][0],
                      logged_paths[i], out);
    free(out);
}
END_TEST

struct in_flight {
    const char *base_url;
    char path[256];
    long status;
    int64_t balance;
    char connection[32]; /* the answer's Connection header, "" if none */
};

static void *deposit_in_flight(void *arg) {
    struct in_flight *f = arg;
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return NULL;
    struct ft_response *r = ft_http_on(curl, f->base_url, "PUT", f->path, NULL, 0);
    if (r != NULL) {
        f->status = r->status;
        json_t *balance = json_object_get(r->json, "balance");
        f->balance = json_is_integer(balance) ? (int64_t)json_integer_value(balance) : -1;
        if (ft_header(r, "Connection", f->connection, sizeof f->connection) == NULL)
            f->connection[0] = '\0';
    }
    ft_response_free(r);
    curl_easy_cleanup(curl);
    return NULL;
}

START_TEST(sigterm_finishes_the_request_in_flight_then_exits_0) {
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    ft_set_default_server(server);
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);

    /* Hold the account's row so that a deposit stays in flight until we let it go. */
    ft_hold_account(n);
    struct in_flight flight = {.base_url = server->base_url, .status = 0, .balance = -1};
    snprintf(flight.path, sizeof flight.path, "/api/accounts/%s/deposit?sum=5", n);
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, deposit_in_flight, &flight), 0);

    ck_assert_msg(ft_await_lock_waiters(1, 20), "the deposit never reached the database");

    ck_assert_int_eq(kill(server->pid, SIGTERM), 0);
    /* A correct server cannot exit now, whatever the timing: its request is still blocked. Give
     * a wrong one a moment to show itself. */
    double deadline = ft_now() + 0.5;
    int exited_early = 0;
    while (!exited_early && ft_now() < deadline) {
        int status;
        exited_early = waitpid(server->pid, &status, WNOHANG) == server->pid;
        if (exited_early)
            server->exit_status = status;
        else
            ft_pause_ms(20);
    }
    ft_release_account();
    pthread_join(thread, NULL);

    ck_assert_msg(!exited_early, "mondux exited on SIGTERM with a request in flight");
    ck_assert_msg(flight.status == 200, "the in-flight deposit got %ld, not 200", flight.status);
    ck_assert_int_eq(flight.balance, 5);
    /* Answered while stopping: the answer ends its connection, which is not kept for more. */
    ck_assert_str_eq(flight.connection, "close");
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, NULL, NULL), 0);
    ck_assert_int_eq(ft_sql_int64("SELECT balance_cents FROM accounts WHERE account_number = $1", n,
                                  (const char *)NULL),
                     5);
}
END_TEST

/* A request whose body is still arriving when SIGTERM comes has not started: it is cut within a
 * second or two, and the server exits 0 instead of waiting for it up to its 10 s drain limit (as
 * long as docker stop's grace period). "Expect: 100-continue" makes the server say when it has
 * the head. */
START_TEST(sigterm_cuts_a_request_still_arriving_and_exits_0_at_once) {
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    int64_t accounts = ft_sql_int64("SELECT count(*) FROM accounts", (const char *)NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server->port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&address, sizeof address), 0);
    const char head[] = "POST /api/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Content-Type: application/json\r\nContent-Length: 100\r\n"
                        "Expect: 100-continue\r\n\r\n{";
    ck_assert_int_eq(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    char answer[256] = "";
    size_t got = 0;
    while (strstr(answer, "\r\n\r\n") == NULL && got < sizeof answer - 1) {
        ssize_t n = recv(fd, answer + got, sizeof answer - 1 - got, 0);
        ck_assert_msg(n > 0, "no 100 Continue; got: %s", answer);
        got += (size_t)n;
        answer[got] = '\0';
    }
    ck_assert_msg(strncmp(answer, "HTTP/1.1 100", 12) == 0, "not 100 Continue: %s", answer);

    double sent = ft_now();
    ck_assert_int_eq(kill(server->pid, SIGTERM), 0);
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, NULL, NULL), 0);
    double took = ft_now() - sent;
    close(fd);
    ck_assert_msg(took < 8.0, "took %.1f s to stop: it waited for the request still arriving",
                  took);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts", (const char *)NULL), accounts);
}
END_TEST

START_TEST(sigterm_on_an_idle_server_exits_0) {
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    assert_healthy(server);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

/* docker stop while the database is not there yet must not wait for MX_DB_WAIT to run out. */
START_TEST(sigterm_while_waiting_for_the_database_exits_0_at_once) {
    /* Port 1 on the loopback: nothing listens there, so every connect is refused at once. */
    const char *env[] = {"DATABASE_URL=host=127.0.0.1 port=1 user=nobody dbname=nothing",
                         "MX_DB_WAIT=120", NULL};
    struct ft_server *server = ft_server_spawn(FT_NO_DB_CONFIG, ft_db(), env);
    double deadline = ft_now() + FT_READY_TIMEOUT_S * ft_timeout_scale();
    int waiting = 0;
    while (!waiting && ft_now() < deadline) {
        char *err = ft_server_stderr(server);
        waiting = strstr(err, "waiting up to 120 s for the database") != NULL;
        free(err);
        if (!waiting)
            ft_pause_ms(20);
    }
    ck_assert_msg(waiting, "mondux never said it was waiting for the database");
    double sent = ft_now();
    ck_assert_int_eq(kill(server->pid, SIGTERM), 0);
    char *err = NULL;
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, NULL, &err), 0);
    ck_assert_msg(ft_now() - sent < 10.0, "took %.1f s to stop", ft_now() - sent);
    ck_assert_msg(strstr(err, "stopped while waiting for the database") != NULL, "stderr: %s", err);
    free(err);
}
END_TEST

int main(void) {
    Suite *s = suite_create("config");
    FT_ADD_TEST(s, version_flag_prints_the_version_and_exits_0);
    FT_ADD_TEST(s, help_flag_documents_every_variable_and_exits_0);
    FT_ADD_TEST(s, invalid_configuration_exits_2_with_one_line_on_stderr);
    FT_ADD_TEST(s, port_variable_sets_the_listening_port);
    FT_ADD_TEST(s, two_servers_starting_at_once_on_an_empty_database_both_serve);
    FT_ADD_TEST(s, api_db_variables_are_used_when_database_url_is_unset);
    FT_ADD_TEST(s, database_url_wins_over_api_db_variables);
    FT_ADD_TEST(s, mx_body_limit_sets_the_request_body_limit);
    FT_ADD_TEST(s, every_request_writes_one_json_access_log_line_on_stdout);
    FT_ADD_TEST(s, sigterm_finishes_the_request_in_flight_then_exits_0);
    FT_ADD_TEST(s, sigterm_cuts_a_request_still_arriving_and_exits_0_at_once);
    FT_ADD_TEST(s, sigterm_on_an_idle_server_exits_0);
    FT_ADD_TEST(s, sigterm_while_waiting_for_the_database_exits_0_at_once);
    return ft_main(s, 0, FT_DATABASE_URL, NULL);
}
