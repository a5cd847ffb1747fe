/* Operations: GET /readyz follows the database while /healthz does not, GET /metrics is
 * Prometheus text that promtool accepts and counts exactly what happened, and tells the process's
 * own figures, the version and the database connections; GET /openapi.yaml is the API document
 * the binary was built with; every answer carries an X-Request-Id (the
 * client's when it is sane), and the access log is one JSON object per line with that id. Tests
 * that count or read logs start their own servers; the suite's server serves the rest. */
#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#ifndef MX_PROJECT_VERSION
#error "MX_PROJECT_VERSION must be defined by the build"
#endif

#define REQUEST_ID_MAX     64
#define METRICS_TYPE       "text/plain; version=0.0.4; charset=utf-8"
#define OPENAPI_TYPE       "application/yaml"
#define OPENAPI_SOURCE     MX_SOURCE_DIR "/docs/openapi.yaml"
#define TEST_KEY_SECRET    "ops-suite-Secret-4f9Q2x"
#define TEST_AUTHORIZATION "Authorization: Bearer " TEST_KEY_SECRET

/* ---- helpers ------------------------------------------------------------------------------- */

/* A request id the server may have made up: 1..64 visible ASCII characters. */
static void assert_sane_request_id(const struct ft_response *r, char *out, size_t size) {
    ck_assert_msg(ft_header(r, "X-Request-Id", out, size) != NULL, "%s -> %ld: no X-Request-Id",
                  r->what, r->status);
    size_t length = strlen(out);
    ck_assert_msg(length >= 1 && length <= REQUEST_ID_MAX, "%s: X-Request-Id '%s' is %zu long",
                  r->what, out, length);
    for (size_t i = 0; i < length; i++)
        ck_assert_msg(out[i] > 0x20 && out[i] < 0x7f, "%s: X-Request-Id '%s' is not visible ASCII",
                      r->what, out);
}

/* The value text of one exposition sample ("name{labels}" exactly as written), borrowed from
 * text; NULL when the sample is not there. */
static const char *sample_text(const char *text, const char *series) {
    size_t length = strlen(series);
    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        if (end == NULL)
            end = line + strlen(line);
        if ((size_t)(end - line) > length && strncmp(line, series, length) == 0 &&
            line[length] == ' ')
            return line + length + 1;
        line = *end != '\0' ? end + 1 : end;
    }
    return NULL;
}

/* The value of one sample as an integer (a fraction dropped); found says whether it is there. */
static int64_t sample(const char *text, const char *series, int *found) {
    const char *value = sample_text(text, series);
    *found = value != NULL;
    return value != NULL ? strtoll(value, NULL, 10) : 0;
}

/* Like sample, asserting that the sample is there. */
static int64_t sample_of(const char *text, const char *series) {
    int found = 0;
    int64_t value = sample(text, series, &found);
    ck_assert_msg(found, "no sample %s in:\n%.3000s", series, text);
    return value;
}

/* The value of one sample as a number, asserting that it is there. */
static double sample_number_of(const char *text, const char *series) {
    const char *value = sample_text(text, series);
    ck_assert_msg(value != NULL, "no sample %s in:\n%.3000s", series, text);
    return strtod(value, NULL);
}

/* How many samples of text start with prefix. */
static int count_samples(const char *text, const char *prefix) {
    int count = 0;
    size_t length = strlen(prefix);
    for (const char *line = text; line != NULL && *line != '\0';) {
        count += strncmp(line, prefix, length) == 0;
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return count;
}

/* The exposition of the default server, asserting its status and content type. */
static struct ft_response *scrape_on(CURL *curl, const char *base_url) {
    struct ft_response *r = ft_http_on(curl, base_url, "GET", "/metrics", NULL, 0);
    ck_assert_ptr_nonnull(r);
    ft_assert_status(r, 200);
    char type[128];
    ck_assert_msg(ft_header(r, "Content-Type", type, sizeof type) != NULL,
                  "/metrics has no Content-Type");
    ck_assert_str_eq(type, METRICS_TYPE);
    return r;
}

/* promtool on PATH, into out; asserting (a missing promtool fails the test, it does not skip). */
static void find_promtool(char *out, size_t size) {
    const char *path = getenv("PATH");
    for (const char *dir = path != NULL ? path : "/usr/bin:/bin"; *dir != '\0';) {
        size_t length = strcspn(dir, ":");
        snprintf(out, size, "%.*s/promtool", (int)length, dir);
        if (length > 0 && access(out, X_OK) == 0)
            return;
        dir += length;
        if (*dir == ':')
            dir++;
    }
    ck_abort_msg("promtool is not on PATH: install Debian's package 'prometheus' "
                 "(scripts/lib/deps prometheus); this test fails rather than skips without it");
}

/* A new temp dir named so that the suite's main process removes it even when the test fails
 * half-way (the harness removes /tmp/mx_ft_*_<its pid>_*; tests run in its forked children). */
static void make_test_dir(char *dir, size_t size, const char *what) {
    snprintf(dir, size, "/tmp/mx_ft_%s_%ld_XXXXXX", what, (long)getppid());
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);
}

/* Counts the lines of text. */
static int count_lines(const char *text) {
    int lines = 0;
    for (; *text != '\0'; text++)
        lines += *text == '\n';
    return lines;
}

/* The access-log lines of out as JSON objects, asserting that every line is one. */
static json_t *parse_access_log(const char *out) {
    json_t *entries = json_array();
    ck_assert_msg(out[0] == '\0' || out[strlen(out) - 1] == '\n',
                  "the access log does not end with a newline:\n%s", out);
    for (const char *line = out; *line != '\0';) {
        const char *end = strchr(line, '\n');
        json_error_t error;
        json_t *entry = json_loadb(line, (size_t)(end - line), 0, &error);
        ck_assert_msg(json_is_object(entry), "access-log line is not one JSON object: %.*s (%s)",
                      (int)(end - line), line, error.text);
        const char *keys[] = {"time", "request_id", "method", "path", "client"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            ck_assert_msg(json_is_string(json_object_get(entry, keys[i])),
                          "access-log line without a string \"%s\": %.*s", keys[i],
                          (int)(end - line), line);
        ck_assert_msg(json_is_integer(json_object_get(entry, "status")) &&
                          json_is_integer(json_object_get(entry, "duration_us")),
                      "access-log line without integer status/duration_us: %.*s", (int)(end - line),
                      line);
        json_array_append_new(entries, entry);
        line = end + 1;
    }
    return entries;
}

/* The one access-log entry with this request id (borrowed from entries); asserting. */
static json_t *entry_with_id(json_t *entries, const char *request_id) {
    json_t *found = NULL, *entry;
    size_t i;
    int count = 0;
    json_array_foreach(entries, i, entry) {
        if (strcmp(json_string_value(json_object_get(entry, "request_id")), request_id) == 0) {
            found = entry;
            count++;
        }
    }
    ck_assert_msg(count == 1, "%d access-log lines with request_id '%s'", count, request_id);
    return found;
}

/* ---- readiness ----------------------------------------------------------------------------- */

START_TEST(readyz_is_200_ready_while_the_database_answers) {
    struct ft_response *r = ft_http("GET", "/readyz", NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    ck_assert_str_eq(ft_json_str(r, "status"), "ready");
    ft_response_free(r);
}
END_TEST

START_TEST(readyz_is_503_unavailable_while_the_database_is_unreachable_and_healthz_stays_200) {
    /* A database of this test alone, so that taking it away disturbs no other server. */
    char db[64], sql[256];
    ft_db_create(db, sizeof db);
    ft_use_db(db);
    /* No sweeper: nothing but this test's requests uses the database. */
    const char *env[] = {"MX_IDEMPOTENCY_SWEEP=0", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, db, env);
    ft_set_default_server(server);
    CURL *curl = curl_easy_init();
    ck_assert_ptr_nonnull(curl);

    struct ft_response *r = ft_http("GET", "/readyz", NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    struct ft_response *m = scrape_on(curl, server->base_url);
    int64_t unavailable_before = sample_of(m->body, "mondux_db_events_total{kind=\"unavailable\"}");
    int64_t connects_before = sample_of(m->body, "mondux_db_events_total{kind=\"connect\"}");
    int64_t open_before = sample_of(m->body, "mondux_db_connections_open");
    ck_assert_int_ge(connects_before, 1);
    ck_assert_int_ge(open_before, 1);
    ft_response_free(m);

    /* No new connection to the database, and the server's current ones ended. */
    snprintf(sql, sizeof sql, "ALTER DATABASE \"%s\" ALLOW_CONNECTIONS false", db);
    ft_sql_admin_exec(sql, (const char *)NULL);
    ft_sql_admin_exec("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE "
                      "datname = $1 AND pid <> pg_backend_pid()",
                      db, (const char *)NULL);

    struct ft_response *ready = ft_http("GET", "/readyz", NULL);
    struct ft_response *health = ft_http("GET", "/healthz", NULL);
    struct ft_response *during = ft_http_on(curl, server->base_url, "GET", "/metrics", NULL, 0);

    snprintf(sql, sizeof sql, "ALTER DATABASE \"%s\" ALLOW_CONNECTIONS true", db);
    ft_sql_admin_exec(sql, (const char *)NULL);

    char retry_after[64];
    ft_assert_error(ready, 503, "unavailable", NULL);
    ck_assert_msg(ft_header(ready, "Retry-After", retry_after, sizeof retry_after) != NULL &&
                      retry_after[0] != '\0',
                  "a 503 from /readyz without Retry-After");
    ft_assert_status(health, 200);
    ft_assert_json(health);
    ck_assert_str_eq(ft_json_str(health, "status"), "ok");
    ck_assert_ptr_nonnull(during);
    ft_assert_status(during, 200);
    ck_assert_int_gt(sample_of(during->body, "mondux_db_events_total{kind=\"unavailable\"}"),
                     unavailable_before);
    /* The /readyz above found its connection dead and closed it, and could open none. */
    ck_assert_int_lt(sample_of(during->body, "mondux_db_connections_open"), open_before);
    ft_response_free(ready);
    ft_response_free(health);
    ft_response_free(during);

    /* Ready again by itself once the database is back (bounded: it may back off first). */
    r = ft_http_after_outage("GET", "/readyz", NULL, 20);
    ft_assert_status(r, 200);
    ck_assert_str_eq(ft_json_str(r, "status"), "ready");
    ft_response_free(r);
    m = scrape_on(curl, server->base_url);
    ck_assert_int_gt(sample_of(m->body, "mondux_db_events_total{kind=\"connect\"}"),
                     connects_before);
    ft_response_free(m);

    curl_easy_cleanup(curl);
    ck_assert_int_eq(ft_server_stop(server), 0);
    ft_db_drop(db);
}
END_TEST

/* ---- metrics ------------------------------------------------------------------------------- */

START_TEST(metrics_is_prometheus_text_that_promtool_accepts) {
    char promtool[512];
    find_promtool(promtool, sizeof promtool);
    /* Something in every family first: requests of several routes and statuses, money moved. */
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(a, "deposit", 500);
    ft_move(a, "withdraw", 100);
    ft_transfer(a, b, 50);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=100000", a);
    ft_response_free(ft_http("PUT", path, NULL));
    ft_response_free(ft_http("GET", "/api/nothing", NULL));
    ft_response_free(ft_http("DELETE", "/api/accounts", NULL));

    CURL *curl = curl_easy_init();
    ck_assert_ptr_nonnull(curl);
    struct ft_response *m = scrape_on(curl, ft_default_server()->base_url);
    curl_easy_cleanup(curl);

    char dir[64], file[96];
    make_test_dir(dir, sizeof dir, "promtool");
    snprintf(file, sizeof file, "%s/metrics.txt", dir);
    FILE *f = fopen(file, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(m->body, 1, m->body_size, f), m->body_size);
    ck_assert_int_eq(fclose(f), 0);
    const char *argv[] = {"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"",
                          promtool,  file, NULL};
    char *out = NULL, *err = NULL;
    int status = ft_run_program(argv, FT_NO_DB_CONFIG, NULL, NULL, &out, &err, 60);
    unlink(file);
    rmdir(dir);
    ck_assert_msg(status == 0, "promtool check metrics exited %d:\n%s%s\nthe exposition:\n%s",
                  status, out, err, m->body);
    free(out);
    free(err);
    ft_response_free(m);
}
END_TEST

/* Sends method path over curl's one kept-alive connection, asserting that no other was opened:
 * the exact counts below rely on every request being counted before the next is read. */
static struct ft_response *on_one_connection(CURL *curl, const char *base, const char *method,
                                             const char *path, const char *body,
                                             const char *const *headers) {
    static long opened;
    struct ft_response *r = ft_http_on_with_headers(curl, base, method, path, body,
                                                    body != NULL ? strlen(body) : 0, headers);
    ck_assert_ptr_nonnull(r);
    long connects = 0;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
    opened += connects;
    ck_assert_msg(opened == 1,
                  "%s -> %ld: the server did not keep the connection alive (%ld "
                  "opened); this test needs one connection",
                  r->what, r->status, opened);
    return r;
}

/* One expected sample of mondux_http_requests_total. */
struct expected_requests {
    const char *route, *method, *status;
    int64_t count;
};

START_TEST(metrics_count_exactly_the_requests_and_money_of_a_fresh_server) {
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    /* One connection for everything: it is served by one thread, which counts each request in
     * its completion before it reads the next, so the scrape sees them all. */
    CURL *curl = curl_easy_init();
    ck_assert_ptr_nonnull(curl);
    const char *base = server->base_url;
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], wrong[FT_ACCOUNT_SIZE], path[256], body[256];
    char *numbers[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        struct ft_response *r = on_one_connection(curl, base, "POST", "/api/accounts", NULL, NULL);
        ft_assert_status(r, 201);
        snprintf(numbers[i], FT_ACCOUNT_SIZE, "%s", ft_json_str(r, "account_number"));
        ft_response_free(r);
    }
    const char *key[] = {"Idempotency-Key: metrics-once", NULL};
    struct {
        const char *method;
        const char *path_suffix; /* after /api/accounts/<a> */
        const char *const *headers;
        long status;
    } steps[] = {
        {"PUT", "/deposit?sum=1234", NULL, 200},  {"PUT", "/deposit?sum=1", key, 200},
        {"PUT", "/deposit?sum=1", key, 200}, /* a replay: no money moves */
        {"POST", "/withdraw?sum=200", NULL, 200}, {"POST", "/withdraw?sum=999999", NULL, 409},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s%s", a, steps[i].path_suffix);
        struct ft_response *r =
            on_one_connection(curl, base, steps[i].method, path, NULL, steps[i].headers);
        ft_assert_status(r, steps[i].status);
        ft_response_free(r);
    }
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 300}", a, b);
    struct ft_response *r = on_one_connection(curl, base, "POST", "/api/transfers", body, NULL);
    ft_assert_status(r, 201);
    ft_response_free(r);
    ft_mistype(a, wrong);
    snprintf(path, sizeof path, "/api/accounts/%s/balance", wrong);
    r = on_one_connection(curl, base, "GET", path, NULL, NULL);
    ft_assert_status(r, 404);
    ft_response_free(r);
    r = on_one_connection(curl, base, "GET", "/api/nothing", NULL, NULL);
    ft_assert_status(r, 404);
    ft_response_free(r);
    r = on_one_connection(curl, base, "DELETE", "/api/accounts", NULL, NULL);
    ft_assert_status(r, 405);
    ft_response_free(r);

    const struct expected_requests expected[] = {
        {"/api/accounts", "POST", "201", 2},
        {"/api/accounts/{n}/deposit", "PUT", "200", 3},
        {"/api/accounts/{n}/withdraw", "POST", "200", 1},
        {"/api/accounts/{n}/withdraw", "POST", "409", 1},
        {"/api/transfers", "POST", "201", 1},
        {"/api/accounts/{n}/balance", "GET", "404", 1},
        {"unmatched", "GET", "404", 1},
        {"/api/accounts", "DELETE", "405", 1},
    };
    const int64_t total = 11;
    struct ft_response *m = on_one_connection(curl, base, "GET", "/metrics", NULL, NULL);
    ft_assert_status(m, 200);
    const char *text = m->body;
    char series[256];
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        snprintf(series, sizeof series,
                 "mondux_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"}",
                 expected[i].route, expected[i].method, expected[i].status);
        ck_assert_msg(sample_of(text, series) == expected[i].count,
                      "%s is %" PRId64 ", not %" PRId64, series, sample_of(text, series),
                      expected[i].count);
    }
    /* Nothing else was counted: the samples add up to exactly the requests sent. */
    int64_t counted = 0;
    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, "mondux_http_requests_total{", 27) == 0) {
            const char *space = memchr(line, ' ', (size_t)(end - line));
            ck_assert_ptr_nonnull(space);
            counted += strtoll(space + 1, NULL, 10);
        }
        line = end + 1;
    }
    ck_assert_msg(counted == total,
                  "the request samples add up to %" PRId64 ", not %" PRId64 ":\n%s", counted, total,
                  text);

    /* The histogram: cumulative buckets ending at +Inf = count = every request. */
    ck_assert_int_eq(sample_of(text, "mondux_http_request_duration_seconds_count"), total);
    ck_assert_int_eq(sample_of(text, "mondux_http_request_duration_seconds_bucket{le=\"+Inf\"}"),
                     total);
    int64_t previous = 0, buckets = 0;
    for (const char *line = strstr(text, "mondux_http_request_duration_seconds_bucket{");
         line != NULL; line = strstr(line + 1, "mondux_http_request_duration_seconds_bucket{")) {
        int64_t value = strtoll(strchr(line, ' ') + 1, NULL, 10);
        ck_assert_msg(value >= previous, "histogram buckets are not cumulative:\n%s", text);
        previous = value;
        buckets++;
    }
    ck_assert_int_ge(buckets, 2);
    const char *sum = strstr(text, "\nmondux_http_request_duration_seconds_sum ");
    ck_assert_msg(sum != NULL, "no histogram sum in:\n%s", text);
    sum = strchr(sum + 1, ' ') + 1;
    ck_assert_msg(strspn(sum, "0.") != strcspn(sum, "\n"), "the latency sum is zero: %.20s", sum);

    /* Only the scrape itself is in flight; money is what was committed, the replay not again. */
    ck_assert_int_eq(sample_of(text, "mondux_http_requests_in_flight"), 1);
    ck_assert_int_eq(sample_of(text, "mondux_money_moved_cents_total{kind=\"deposit\"}"), 1235);
    ck_assert_int_eq(sample_of(text, "mondux_money_operations_total{kind=\"deposit\"}"), 2);
    ck_assert_int_eq(sample_of(text, "mondux_money_moved_cents_total{kind=\"withdrawal\"}"), 200);
    ck_assert_int_eq(sample_of(text, "mondux_money_operations_total{kind=\"withdrawal\"}"), 1);
    ck_assert_int_eq(sample_of(text, "mondux_money_moved_cents_total{kind=\"transfer\"}"), 300);
    ck_assert_int_eq(sample_of(text, "mondux_money_operations_total{kind=\"transfer\"}"), 1);
    ck_assert_int_eq(sample_of(text, "mondux_db_events_total{kind=\"unavailable\"}"), 0);
    ck_assert_int_eq(sample_of(text, "mondux_db_events_total{kind=\"error\"}"), 0);
    ck_assert_int_ge(sample_of(text, "mondux_db_events_total{kind=\"connect\"}"), 1);
    ft_response_free(m);

    /* The next scrape counts the first one. */
    m = on_one_connection(curl, base, "GET", "/metrics", NULL, NULL);
    ft_assert_status(m, 200);
    ck_assert_int_eq(
        sample_of(m->body,
                  "mondux_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"200\"}"),
        1);
    ck_assert_int_eq(sample_of(m->body, "mondux_http_request_duration_seconds_count"), total + 1);
    ft_response_free(m);
    curl_easy_cleanup(curl);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

START_TEST(metrics_tell_the_process_the_version_and_the_database_connections) {
    char db[64];
    ft_db_create(db, sizeof db);
    ft_use_db(db);
    const char *env[] = {"MX_DB_CONNECTIONS=3", NULL};
    time_t before = time(NULL);
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, db, env);
    time_t after = time(NULL);
    ft_set_default_server(server);
    char account[FT_ACCOUNT_SIZE];
    ft_create_account(account);
    ft_move(account, "deposit", 100);
    CURL *curl = curl_easy_init();
    ck_assert_ptr_nonnull(curl);
    struct ft_response *m = scrape_on(curl, server->base_url);
    const char *text = m->body;

    /* The standard process_* figures, each what this process can be. */
    double started = sample_number_of(text, "process_start_time_seconds");
    ck_assert_msg(started >= (double)before - 1 && started <= (double)after + 1,
                  "process_start_time_seconds %f is not between %lld and %lld, when it started",
                  started, (long long)before, (long long)after);
    ck_assert_msg(sample_number_of(text, "process_cpu_seconds_total") > 0,
                  "a server that has served requests used no CPU:\n%s", text);
    int64_t resident = sample_of(text, "process_resident_memory_bytes");
    ck_assert_int_gt(resident, 0);
    ck_assert_int_ge(sample_of(text, "process_virtual_memory_bytes"), resident);
    /* stdin, stdout, stderr, the listening socket and this request's connection at least. */
    int64_t open_fds = sample_of(text, "process_open_fds");
    ck_assert_int_ge(open_fds, 5);
    struct rlimit limit;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &limit), 0);
    int64_t max_fds = sample_of(text, "process_max_fds");
    ck_assert_int_ge(max_fds, open_fds);
    if (limit.rlim_max != RLIM_INFINITY)
        ck_assert_int_le(max_fds, (int64_t)limit.rlim_max);

    /* The version, as a label of a sample that is always 1, once. */
    ck_assert_int_eq(sample_of(text, "mondux_build_info{version=\"" MX_PROJECT_VERSION "\"}"), 1);
    ck_assert_int_eq(count_samples(text, "mondux_build_info"), 1);

    ck_assert_int_ge(sample_of(text, "mondux_db_connections_open"), 1);
    ft_response_free(m);

    /* The open connections are the server's sessions in PostgreSQL's own view: polled, for a
     * worker may connect between the scrape and the count. */
    double deadline = ft_now() + 10 * ft_timeout_scale();
    int64_t open = -1, sessions = -2;
    while (open != sessions && ft_now() < deadline) {
        if (open >= 0)
            ft_pause_ms(100);
        m = scrape_on(curl, server->base_url);
        open = sample_of(m->body, "mondux_db_connections_open");
        ft_response_free(m);
        sessions = ft_sql_admin_int64("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                                      "AND application_name = 'mondux'",
                                      db, (const char *)NULL);
    }
    ck_assert_msg(open == sessions,
                  "mondux_db_connections_open is %" PRId64 ", PostgreSQL has %" PRId64
                  " sessions of the server",
                  open, sessions);

    curl_easy_cleanup(curl);
    ck_assert_int_eq(ft_server_stop(server), 0);
    ft_db_drop(db);
}
END_TEST

/* ---- the OpenAPI document ------------------------------------------------------------------ */

/* The whole of docs/openapi.yaml as this test's source tree has it; free() it. */
static char *read_openapi_source(size_t *size) {
    FILE *f = fopen(OPENAPI_SOURCE, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", OPENAPI_SOURCE);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long length = ftell(f);
    ck_assert_int_gt(length, 0);
    rewind(f);
    char *bytes = malloc((size_t)length + 1);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(fread(bytes, 1, (size_t)length, f), (size_t)length);
    fclose(f);
    bytes[length] = '\0';
    *size = (size_t)length;
    return bytes;
}

START_TEST(openapi_yaml_is_the_document_the_binary_was_built_with) {
    size_t size = 0;
    char *source = read_openapi_source(&size);
    struct ft_response *r = ft_http("GET", "/openapi.yaml", NULL);
    ft_assert_status(r, 200);
    char type[128], etag[128], again[128], length[32];
    ck_assert_msg(ft_header(r, "Content-Type", type, sizeof type) != NULL, "no Content-Type");
    ck_assert_str_eq(type, OPENAPI_TYPE);
    ck_assert_msg(r->body_size == size && memcmp(r->body, source, size) == 0,
                  "GET /openapi.yaml (%zu bytes) is not %s (%zu bytes)", r->body_size,
                  OPENAPI_SOURCE, size);
    ck_assert_msg(ft_header(r, "ETag", etag, sizeof etag) != NULL && etag[0] == '"',
                  "GET /openapi.yaml has no strong ETag");
    ft_response_free(r);

    /* HEAD: the same headers, no body. */
    r = ft_http("HEAD", "/openapi.yaml", NULL);
    ft_assert_status(r, 200);
    ck_assert_uint_eq(r->body_size, 0);
    ck_assert_msg(ft_header(r, "ETag", again, sizeof again) != NULL, "HEAD has no ETag");
    ck_assert_str_eq(again, etag);
    ck_assert_msg(ft_header(r, "Content-Length", length, sizeof length) != NULL,
                  "HEAD has no Content-Length");
    ck_assert_uint_eq(strtoull(length, NULL, 10), size);
    ft_response_free(r);

    /* Revalidation: the tag it was sent is still current. */
    char if_none_match[160];
    snprintf(if_none_match, sizeof if_none_match, "If-None-Match: %s", etag);
    const char *headers[] = {if_none_match, NULL};
    r = ft_http_with_headers("GET", "/openapi.yaml", NULL, headers);
    ft_assert_status(r, 304);
    ck_assert_uint_eq(r->body_size, 0);
    ft_response_free(r);

    /* Read-only: any other method is a 405 that says which ones there are. */
    const char *methods[] = {"POST", "PUT", "DELETE"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        r = ft_http(methods[i], "/openapi.yaml", NULL);
        ft_assert_error(r, 405, "method_not_allowed", NULL);
        char allow[64];
        ck_assert_msg(ft_header(r, "Allow", allow, sizeof allow) != NULL, "405 without Allow");
        ck_assert_str_eq(allow, "GET, HEAD");
        ft_response_free(r);
    }
    free(source);
}
END_TEST

/* ---- request ids --------------------------------------------------------------------------- */

START_TEST(a_sane_client_request_id_is_echoed) {
    char id64[REQUEST_ID_MAX + 1], header[128], got[128];
    memset(id64, 'a', REQUEST_ID_MAX);
    id64[REQUEST_ID_MAX] = '\0';
    const char *ids[] = {"x", "3f2a9c1e-5b7d-4e8f-a0b1-c2d3e4f5a6b7",
                         "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", id64};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        snprintf(header, sizeof header, "X-Request-Id: %s", ids[i]);
        const char *headers[] = {header, NULL};
        struct ft_response *r = ft_http_with_headers("GET", "/healthz", NULL, headers);
        ft_assert_status(r, 200);
        ck_assert_msg(ft_header(r, "X-Request-Id", got, sizeof got) != NULL, "no X-Request-Id");
        ck_assert_str_eq(got, ids[i]);
        ft_response_free(r);
    }
}
END_TEST

START_TEST(an_insane_or_repeated_client_request_id_is_replaced_by_a_new_one) {
    char id65[REQUEST_ID_MAX + 2], got[128], previous[128] = "";
    memset(id65, 'b', sizeof id65 - 1);
    id65[sizeof id65 - 1] = '\0';
    char too_long[128];
    snprintf(too_long, sizeof too_long, "X-Request-Id: %s", id65);
    const char *cases[][3] = {
        {too_long, NULL, NULL},                    /* 65 characters */
        {"X-Request-Id: has space", NULL, NULL},   /* a space inside */
        {"X-Request-Id: caf\xc3\xa9", NULL, NULL}, /* not ASCII */
        {"X-Request-Id: has\x7f"
         "del",
         NULL, NULL},                                          /* a control character */
        {"X-Request-Id;", NULL, NULL},                         /* empty */
        {"X-Request-Id: twice", "X-Request-Id: twice", NULL},  /* two headers */
        {"X-Request-Id: first", "x-request-id: second", NULL}, /* two, any case */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ft_response *r = ft_http_with_headers("GET", "/healthz", NULL, cases[i]);
        ft_assert_status(r, 200);
        assert_sane_request_id(r, got, sizeof got);
        /* Neither the value, nor a piece of it, nor one of two. */
        const char *sent = strchr(cases[i][0], ':') != NULL ? strchr(cases[i][0], ':') + 2 : "";
        const char *kept[] = {sent, "has", "caf", "del", "twice", "first", "second"};
        for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++)
            ck_assert_msg(strcmp(got, kept[k]) != 0, "'%s' was kept as '%s'", cases[i][0], got);
        ck_assert_msg(strcmp(got, previous) != 0, "two requests got the same new id '%s'", got);
        snprintf(previous, sizeof previous, "%s", got);
        ft_response_free(r);
    }
}
END_TEST

START_TEST(every_answer_carries_the_request_id_errors_included) {
    /* Small limits and an API key, so that every early refusal can be provoked cheaply. */
    const char *env[] = {"MX_API_KEYS=ops:" TEST_KEY_SECRET, "MX_BODY_LIMIT=100",
                         "MX_URL_LIMIT=300", "MX_HEADER_LIMIT=1024", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    char long_path[400], big_header[1200], body[201];
    snprintf(long_path, sizeof long_path, "/healthz?pad=%0350d", 0);
    snprintf(big_header, sizeof big_header, "X-Pad: %01100d", 0);
    memset(body, ' ', sizeof body - 1);
    body[0] = '{';
    body[sizeof body - 2] = '}';
    body[sizeof body - 1] = '\0';
    const struct {
        const char *method, *path, *body;
        int authorized;
        const char *extra_header;
        long status;
    } requests[] = {
        {"GET", "/healthz", NULL, 0, NULL, 200},
        {"GET", "/readyz", NULL, 0, NULL, 200},
        {"GET", "/metrics", NULL, 0, NULL, 200},
        {"GET", "/", NULL, 0, NULL, 200},
        {"HEAD", "/", NULL, 0, NULL, 200},
        {"POST", "/api/accounts", NULL, 1, NULL, 201},
        {"GET", "/api/nothing", NULL, 1, NULL, 404},
        {"GET", "/api/accounts/0000000000000000/balance", NULL, 1, NULL, 404},
        {"DELETE", "/api/accounts", NULL, 1, NULL, 405},
        {"POST", "/api/accounts", body, 1, NULL, 413},
        {"GET", long_path, NULL, 0, NULL, 414},
        {"GET", "/healthz", NULL, 0, big_header, 431},
        {"GET", "/api/nothing", NULL, 0, NULL, 401},
        {"PUT", "/api/accounts/0000000000000000/deposit?sum=1", NULL, 0, NULL, 401},
        {"GET", "/api/accounts/0000000000000000/deposit?sum=x", NULL, 1, NULL, 405},
    };
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        /* Once with an id of ours, which must come back, and once without, to get a new one. */
        for (int with_id = 0; with_id < 2; with_id++) {
            char id_header[64], expected[32], got[128];
            snprintf(expected, sizeof expected, "ops-test-%zu", i);
            snprintf(id_header, sizeof id_header, "X-Request-Id: %s", expected);
            const char *headers[4] = {NULL, NULL, NULL, NULL};
            int n = 0;
            if (with_id)
                headers[n++] = id_header;
            if (requests[i].authorized)
                headers[n++] = TEST_AUTHORIZATION;
            if (requests[i].extra_header != NULL)
                headers[n++] = requests[i].extra_header;
            struct ft_response *r = ft_http_with_headers(requests[i].method, requests[i].path,
                                                         requests[i].body, headers);
            ft_assert_status(r, requests[i].status);
            assert_sane_request_id(r, got, sizeof got);
            if (with_id)
                ck_assert_msg(strcmp(got, expected) == 0, "%s -> %ld: X-Request-Id '%s', not '%s'",
                              r->what, r->status, got, expected);
            ft_response_free(r);
        }
    }
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

/* ---- the access log ------------------------------------------------------------------------ */

START_TEST(the_access_log_line_carries_the_request_id_of_the_answer) {
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    ft_set_default_server(server);
    const struct {
        const char *method, *path, *id_header;
        long status;
    } requests[] = {
        {"GET", "/healthz", "X-Request-Id: log-kept-1", 200},
        {"POST", "/api/accounts", "X-Request-Id: log-kept-2", 201},
        {"GET", "/api/nothing", "X-Request-Id: log kept 3", 404}, /* replaced */
        {"DELETE", "/api/accounts", NULL, 405},                   /* new */
        {"GET", "/metrics", "X-Request-Id: log-kept-5", 200},
    };
    enum { COUNT = sizeof requests / sizeof requests[0] };
    char ids[COUNT][128];
    for (size_t i = 0; i < COUNT; i++) {
        const char *headers[] = {requests[i].id_header, NULL};
        struct ft_response *r =
            ft_http_with_headers(requests[i].method, requests[i].path, NULL, headers);
        ft_assert_status(r, requests[i].status);
        assert_sane_request_id(r, ids[i], sizeof ids[i]);
        ft_response_free(r);
    }
    ck_assert_str_eq(ids[0], "log-kept-1");
    ck_assert_str_eq(ids[1], "log-kept-2");
    ck_assert_str_ne(ids[2], "log kept 3");
    ck_assert_str_eq(ids[4], "log-kept-5");

    kill(server->pid, SIGTERM);
    char *out = NULL;
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, &out, NULL), 0);
    ck_assert_msg(count_lines(out) == COUNT, "expected %d access-log lines, got:\n%s", COUNT, out);
    json_t *entries = parse_access_log(out);
    for (size_t i = 0; i < COUNT; i++) {
        json_t *entry = entry_with_id(entries, ids[i]);
        ck_assert_str_eq(json_string_value(json_object_get(entry, "method")), requests[i].method);
        ck_assert_str_eq(json_string_value(json_object_get(entry, "path")), requests[i].path);
        ck_assert_int_eq(json_integer_value(json_object_get(entry, "status")), requests[i].status);
        ck_assert_int_ge(json_integer_value(json_object_get(entry, "duration_us")), 0);
        ck_assert_str_eq(json_string_value(json_object_get(entry, "client")), "");
        const char *time = json_string_value(json_object_get(entry, "time"));
        ck_assert_msg(strlen(time) >= 20 && isdigit((unsigned char)time[0]) && time[4] == '-' &&
                          time[10] == 'T' && time[strlen(time) - 1] == 'Z',
                      "time '%s' is not an ISO 8601 UTC timestamp", time);
    }
    json_decref(entries);
    free(out);
}
END_TEST

START_TEST(access_log_is_written_at_info_and_debug_and_not_at_warn_or_error) {
    const char *levels[] = {"info", "debug", "warn", "error"};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        char level[64];
        snprintf(level, sizeof level, "MX_LOG_LEVEL=%s", levels[i]);
        const char *env[] = {level, NULL};
        struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
        ft_set_default_server(server);
        for (int n = 0; n < 3; n++)
            ft_response_free(ft_http("GET", "/healthz", NULL));
        kill(server->pid, SIGTERM);
        char *out = NULL;
        ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, &out, NULL), 0);
        int expected = i < 2 ? 3 : 0;
        ck_assert_msg(count_lines(out) == expected,
                      "MX_LOG_LEVEL=%s: %d lines on stdout, not %d:\n%s", levels[i],
                      count_lines(out), expected, out);
        json_decref(parse_access_log(out));
        free(out);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("ops");
    FT_ADD_TEST(s, readyz_is_200_ready_while_the_database_answers);
    FT_ADD_TEST(s,
                readyz_is_503_unavailable_while_the_database_is_unreachable_and_healthz_stays_200);
    FT_ADD_TEST(s, metrics_is_prometheus_text_that_promtool_accepts);
    FT_ADD_TEST(s, metrics_count_exactly_the_requests_and_money_of_a_fresh_server);
    FT_ADD_TEST(s, metrics_tell_the_process_the_version_and_the_database_connections);
    FT_ADD_TEST(s, openapi_yaml_is_the_document_the_binary_was_built_with);
    FT_ADD_TEST(s, a_sane_client_request_id_is_echoed);
    FT_ADD_TEST(s, an_insane_or_repeated_client_request_id_is_replaced_by_a_new_one);
    FT_ADD_TEST(s, every_answer_carries_the_request_id_errors_included);
    FT_ADD_TEST(s, the_access_log_line_carries_the_request_id_of_the_answer);
    FT_ADD_TEST(s, access_log_is_written_at_info_and_debug_and_not_at_warn_or_error);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
