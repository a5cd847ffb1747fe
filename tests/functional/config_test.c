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
    const char *cases[] = {"PORT=abc",          "PORT=70000",          "PORT=-1",
                           "PORT=80x",          "MX_BODY_LIMIT=abc",   "MX_BODY_LIMIT=-5",
                           "DATABASE_URL=host", "MX_DB_CONNECTIONS=0", "MX_DB_CONNECTIONS=65"};
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
    const char *env[] = {"MX_BODY_LIMIT=100", NULL};
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

START_TEST(short_flags_print_what_the_long_ones_print) {
    const char *pairs[][2] = {{"-h", "--help"}, {"-V", "--version"}};
    for (size_t i = 0; i < 2; i++) {
        char *short_out = NULL, *long_out = NULL, *err = NULL;
        ck_assert_int_eq(run_mondux(pairs[i][0], &short_out, &err), 0);
        free(err);
        ck_assert_int_eq(run_mondux(pairs[i][1], &long_out, &err), 0);
        free(err);
        ck_assert_msg(short_out[0] != '\0' && strcmp(short_out, long_out) == 0,
                      "mondux %s printed '%s', mondux %s '%s'", pairs[i][0], short_out, pairs[i][1],
                      long_out);
        free(short_out);
        free(long_out);
    }
}
END_TEST

/* One configuration variable as a document shows it: its range ("" if it has none) and its
 * default ("" if none). */
struct documented {
    char name[32];
    char range[32];
    char fallback[64];
};

#define DOCUMENTED_MAX 64

static void copy_trimmed(char *out, size_t size, const char *text, size_t length) {
    while (length > 0 && (*text == ' ' || *text == '`')) {
        text++;
        length--;
    }
    while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '`'))
        length--;
    snprintf(out, size, "%.*s", (int)length, text);
}

/* "0–65535" (an en dash) as "0-65535"; "—" (an em dash: none) as "". */
static void normalise_dashes(char *text) {
    if (strcmp(text, "\xe2\x80\x94") == 0) {
        text[0] = '\0';
        return;
    }
    char *dash = strstr(text, "\xe2\x80\x93");
    if (dash != NULL) {
        memmove(dash + 1, dash + 3, strlen(dash + 3) + 1);
        *dash = '-';
    }
}

/* The rows of the table under "## Configuration" in README.md: | names | default | range | ... */
static size_t parse_readme(const char *readme, struct documented *out) {
    const char *section = strstr(readme, "\n## Configuration\n");
    ck_assert_msg(section != NULL, "README.md has no \"## Configuration\" section");
    const char *line = strstr(section, "\n|");
    ck_assert_msg(line != NULL, "no table under \"## Configuration\"");
    size_t count = 0;
    for (line++; *line == '|'; line = strchr(line, '\n') + 1) {
        const char *cells[4];
        const char *p = line;
        for (int c = 0; c < 4; c++) {
            cells[c] = p + 1;
            p = strchr(p + 1, '|');
            ck_assert_msg(p != NULL, "README table row has fewer than 4 cells: %.60s", line);
        }
        char fallback[64], range[32];
        copy_trimmed(fallback, sizeof fallback, cells[1], (size_t)(cells[2] - 1 - cells[1]));
        copy_trimmed(range, sizeof range, cells[2], (size_t)(cells[3] - 1 - cells[2]));
        normalise_dashes(fallback);
        normalise_dashes(range);
        /* The first cell names one variable or several, each in backticks. */
        for (const char *tick = cells[0]; (tick = strchr(tick, '`')) != NULL && tick < cells[1];) {
            const char *end = strchr(tick + 1, '`');
            if (count < DOCUMENTED_MAX && tick[1] >= 'A' && tick[1] <= 'Z') {
                struct documented *d = &out[count++];
                snprintf(d->name, sizeof d->name, "%.*s", (int)(end - tick - 1), tick + 1);
                snprintf(d->range, sizeof d->range, "%s", range);
                snprintf(d->fallback, sizeof d->fallback, "%s", fallback);
            }
            tick = end + 1;
        }
    }
    return count;
}

/* The variables of --help: "  NAME   meaning", continued on indented lines, the last of which may
 * say "(MIN-MAX, default X)" or "(default X)". */
static size_t parse_help(const char *help, struct documented *out) {
    const char *start = strstr(help, "Configuration comes from the environment");
    ck_assert_msg(start != NULL, "--help does not introduce its variables:\n%s", help);
    size_t count = 0;
    for (const char *line = strchr(start, '\n') + 1; *line != '\0'; line = strchr(line, '\n') + 1) {
        if (line[0] == '\n' && count > 0)
            break; /* the blank line after the variables */
        if (strncmp(line, "  ", 2) == 0 && line[2] >= 'A' && line[2] <= 'Z' &&
            count < DOCUMENTED_MAX) {
            struct documented *d = &out[count++];
            memset(d, 0, sizeof *d);
            snprintf(d->name, sizeof d->name, "%.*s", (int)strcspn(line + 2, " \n"), line + 2);
        } else if (count > 0 && line[0] == ' ') {
            const char *eol = strchr(line, '\n');
            const char *paren = line + strspn(line, " ");
            const char *close = eol - 1;
            if (*paren != '(' || *close != ')')
                continue;
            struct documented *d = &out[count - 1];
            const char *fallback = strstr(paren, "default ");
            const char *comma = strchr(paren, ',');
            if (comma != NULL && comma < close)
                copy_trimmed(d->range, sizeof d->range, paren + 1, (size_t)(comma - paren - 1));
            if (fallback != NULL && fallback < close)
                copy_trimmed(d->fallback, sizeof d->fallback, fallback + 8,
                             (size_t)(close - fallback - 8));
        }
    }
    return count;
}

static const struct documented *find_documented(const struct documented *list, size_t count,
                                                const char *name) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(list[i].name, name) == 0)
            return &list[i];
    return NULL;
}

static char *read_text_file(const char *path) {
    FILE *file = fopen(path, "r");
    ck_assert_msg(file != NULL, "cannot read %s", path);
    static char text[256 * 1024];
    size_t length = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[length] = '\0';
    return text;
}

START_TEST(help_and_the_readme_table_show_the_same_variables_ranges_and_defaults) {
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(run_mondux("--help", &out, &err), 0);
    static struct documented help[DOCUMENTED_MAX], readme[DOCUMENTED_MAX];
    size_t in_help = parse_help(out, help);
    size_t in_readme = parse_readme(read_text_file(MX_SOURCE_DIR "/README.md"), readme);
    ck_assert_msg(in_help >= 20, "only %zu variables found in --help", in_help);
    for (size_t i = 0; i < in_help; i++) {
        const struct documented *h = &help[i];
        const struct documented *r = find_documented(readme, in_readme, h->name);
        ck_assert_msg(r != NULL, "%s is in --help but not in the README's table", h->name);
        ck_assert_msg(strcmp(h->range, r->range) == 0,
                      "%s: range \"%s\" in --help, \"%s\" in the README", h->name, h->range,
                      r->range);
        ck_assert_msg(strcmp(h->fallback, r->fallback) == 0,
                      "%s: default \"%s\" in --help, \"%s\" in the README", h->name, h->fallback,
                      r->fallback);
    }
    for (size_t i = 0; i < in_readme; i++)
        ck_assert_msg(find_documented(help, in_help, readme[i].name) != NULL,
                      "%s is in the README's table but not in --help", readme[i].name);
    free(out);
    free(err);
}
END_TEST

/* Every variable --help gives a range is refused just outside it, and for a non-number, with the
 * same sentence naming the variable and its range. */
START_TEST(every_numeric_variable_is_refused_outside_its_range_naming_the_range) {
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(run_mondux("--help", &out, &err), 0);
    static struct documented help[DOCUMENTED_MAX];
    size_t count = parse_help(out, help);
    int numeric = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned long long min = 0, max = 0;
        if (sscanf(help[i].range, "%llu-%llu", &min, &max) != 2)
            continue;
        numeric++;
        char rule[128];
        snprintf(rule, sizeof rule, "%s must be a whole number from %llu to %llu", help[i].name,
                 min, max);
        char assignment[96];
        snprintf(assignment, sizeof assignment, "%s=%llu", help[i].name, max + 1);
        ft_assert_config_refused(assignment, rule);
        snprintf(assignment, sizeof assignment, "%s=12x", help[i].name);
        ft_assert_config_refused(assignment, rule);
        if (min > 0) {
            snprintf(assignment, sizeof assignment, "%s=%llu", help[i].name, min - 1);
            ft_assert_config_refused(assignment, rule);
        }
    }
    ck_assert_msg(numeric >= 12, "only %d variables with a range in --help", numeric);
    free(out);
    free(err);
}
END_TEST

/* A database that refuses every connection, and a long wait for it: a check that came after the
 * database would time out. */
#define UNREACHABLE_DB "DATABASE_URL=host=127.0.0.1 port=1 user=nobody dbname=nothing"

/* Runs mondux with assignment against UNREACHABLE_DB and asserts a refusal as configuration:
 * exit 2 at once, one line on stderr mentioning mention. */
static void assert_refused_before_the_database(const char *assignment, const char *mention) {
    const char *argv[] = {MX_BINARY, NULL};
    const char *env[] = {UNREACHABLE_DB, "MX_DB_WAIT=300", assignment, NULL};
    char *out = NULL, *err = NULL;
    int status = ft_run_program(argv, FT_NO_DB_CONFIG, NULL, env, &out, &err, 20);
    ck_assert_msg(status == 2, "%s: exit status %d, not 2; stderr: '%s'", assignment, status, err);
    ck_assert_msg(count_lines(err) == 1 && strstr(err, mention) != NULL,
                  "%s: stderr is not one line naming %s: '%s'", assignment, mention, err);
    ck_assert_msg(strstr(err, "database") == NULL, "%s: it went for the database: '%s'", assignment,
                  err);
    free(out);
    free(err);
}

START_TEST(a_port_in_use_is_refused_with_exit_2_before_waiting_for_the_database) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    socklen_t length = sizeof address;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &length), 0);
    char port[32], mention[32];
    snprintf(port, sizeof port, "PORT=%u", ntohs(address.sin_port));
    snprintf(mention, sizeof mention, "PORT %u", ntohs(address.sin_port));
    assert_refused_before_the_database(port, mention);
    close(fd);
}
END_TEST

START_TEST(a_host_that_is_no_address_of_this_machine_is_refused_before_the_database) {
    assert_refused_before_the_database("HOST=bad host", "HOST");
    assert_refused_before_the_database("HOST=[::1]", "HOST");
    assert_refused_before_the_database("HOST=no-such-host.invalid", "HOST");
    /* TEST-NET-1 (RFC 5737): a valid address, but no machine's. */
    assert_refused_before_the_database("HOST=192.0.2.1", "HOST");
}
END_TEST

/* Waits for the listening line of a server on host (brackets and all) and returns its port. */
static int await_listening_on(struct ft_server *server, const char *host) {
    char prefix[96];
    snprintf(prefix, sizeof prefix, "mondux: listening on http://%s:", host);
    double deadline = ft_now() + FT_READY_TIMEOUT_S * ft_timeout_scale();
    for (;;) {
        char *err = ft_server_stderr(server);
        const char *line = strstr(err, prefix);
        int port = line != NULL && strchr(line, '\n') != NULL ? atoi(line + strlen(prefix)) : 0;
        ck_assert_msg(port > 0 || ft_now() < deadline, "no '%s<port>' line: %s", prefix, err);
        free(err);
        if (port > 0)
            return port;
        ft_pause_ms(20);
    }
}

START_TEST(an_ipv6_host_serves_on_a_port_picked_for_port_0) {
    const char *env[] = {"HOST=::1", "PORT=0", NULL};
    struct ft_server *server = ft_server_spawn(FT_DATABASE_URL, ft_db(), env);
    int port = await_listening_on(server, "[::1]");
    CURL *curl = curl_easy_init();
    char base_url[64];
    snprintf(base_url, sizeof base_url, "http://[::1]:%d", port);
    struct ft_response *r = ft_http_on(curl, base_url, "GET", "/healthz", NULL, 0);
    ck_assert_msg(r != NULL && r->status == 200, "GET /healthz over IPv6: %ld %s",
                  r != NULL ? r->status : 0, r != NULL ? r->curl_error : "");
    ft_response_free(r);
    curl_easy_cleanup(curl);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

/* As a shell script's `mondux &` does, mondux starts with the signal ignored; it must still stop
 * on it, and cleanly. */
static void assert_stops_on_a_signal_it_inherited_ignored(int signal_number) {
    struct sigaction ignore = {.sa_handler = SIG_IGN}, before;
    sigemptyset(&ignore.sa_mask);
    ck_assert_int_eq(sigaction(signal_number, &ignore, &before), 0);
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    ck_assert_int_eq(sigaction(signal_number, &before, NULL), 0);
    assert_healthy(server);
    ck_assert_int_eq(kill(server->pid, signal_number), 0);
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, NULL, NULL), 0);
}

START_TEST(sigint_stops_a_server_that_inherited_it_ignored_with_exit_0) {
    assert_stops_on_a_signal_it_inherited_ignored(SIGINT);
}
END_TEST

START_TEST(sigterm_stops_a_server_that_inherited_it_ignored_with_exit_0) {
    assert_stops_on_a_signal_it_inherited_ignored(SIGTERM);
}
END_TEST

/* What each level shows, on a fresh database (so migrations are applied) without API keys (so
 * there is a warning), and against a database that cannot be reached (so there are errors). */
START_TEST(each_log_level_shows_its_own_lines_and_the_more_severe_ones_only) {
    const char *levels[] = {"debug", "info", "warn", "error"};
    for (int level = 0; level < 4; level++) {
        char assignment[32];
        snprintf(assignment, sizeof assignment, "MX_LOG_LEVEL=%s", levels[level]);
        char db[64];
        ft_db_create(db, sizeof db);
        const char *env[] = {assignment, NULL};
        struct ft_server *server = ft_server_start(FT_DATABASE_URL, db, env);
        ft_set_default_server(server);
        ft_response_free(ft_http("GET", "/healthz", NULL));
        kill(server->pid, SIGTERM);
        char *out = NULL, *err = NULL;
        ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, &out, &err), 0);
        ft_db_drop(db);

        const char *argv[] = {MX_BINARY, NULL};
        const char *unreachable[] = {UNREACHABLE_DB, "MX_DB_WAIT=1", assignment, NULL};
        char *failed_out = NULL, *failed_err = NULL;
        ck_assert_int_eq(
            ft_run_program(argv, FT_NO_DB_CONFIG, NULL, unreachable, &failed_out, &failed_err, 20),
            1);
        struct {
            const char *text;
            const char *in;
            int from_level; /* shown at this level and the ones before it */
        } lines[] = {
            {"mondux: settings: ", err, 0},
            {"mondux: applied migration ", err, 1},
            {"mondux: SIGTERM received", err, 1},
            {"\"path\":\"/healthz\"", out, 1},
            {"mondux: waiting up to 1 s for the database", failed_err, 1},
            {"mondux: warning: no API keys", err, 2},
            {"mondux: database connect failed", failed_err, 3},
            {"mondux: cannot reach the database", failed_err, 3},
            {FT_LISTENING_PREFIX, err, 3},
        };
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
            int shown = strstr(lines[i].in, lines[i].text) != NULL;
            ck_assert_msg(shown == (level <= lines[i].from_level), "MX_LOG_LEVEL=%s %s '%s':\n%s",
                          levels[level], shown ? "shows" : "does not show", lines[i].text,
                          lines[i].in);
        }
        free(out);
        free(err);
        free(failed_out);
        free(failed_err);
    }
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
    FT_ADD_TEST(s, short_flags_print_what_the_long_ones_print);
    FT_ADD_TEST(s, help_and_the_readme_table_show_the_same_variables_ranges_and_defaults);
    FT_ADD_TEST(s, every_numeric_variable_is_refused_outside_its_range_naming_the_range);
    FT_ADD_TEST(s, a_port_in_use_is_refused_with_exit_2_before_waiting_for_the_database);
    FT_ADD_TEST(s, a_host_that_is_no_address_of_this_machine_is_refused_before_the_database);
    FT_ADD_TEST(s, an_ipv6_host_serves_on_a_port_picked_for_port_0);
    FT_ADD_TEST(s, sigint_stops_a_server_that_inherited_it_ignored_with_exit_0);
    FT_ADD_TEST(s, sigterm_stops_a_server_that_inherited_it_ignored_with_exit_0);
    FT_ADD_TEST(s, each_log_level_shows_its_own_lines_and_the_more_severe_ones_only);
    return ft_main(s, 0, FT_DATABASE_URL, NULL);
}
