/* Limits against abuse: a body, a request target or a header block over its limit is refused with
 * JSON (413, 414, 431) while the limit itself is accepted; slow or silent clients are cut off after
 * MX_REQUEST_TIMEOUT / MX_IDLE_TIMEOUT; and a thousand idle connections or a "slowloris" do not
 * keep ordinary requests from being answered promptly. Requests whose bytes matter are written by
 * hand on raw sockets; the suite's server has the default limits. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "raw_http.h"

#define DEFAULT_BODY_LIMIT   65536
#define DEFAULT_URL_LIMIT    8192
#define DEFAULT_HEADER_LIMIT 16384
#define IDLE_CONNECTIONS     1000
/* "Promptly": a liveness bound for one ordinary request, not a benchmark. */
#define PROMPT_S 2.0
/* How long a server may take to notice a timeout it checks about once a second. */
#define CUT_OFF_DEADLINE_S 10.0

/* A request for GET target with these extra header lines (each ending in CRLF; may be ""). */
static char *get_request(const char *target, const char *headers) {
    size_t size = strlen(target) + strlen(headers) + 128;
    char *request = malloc(size);
    ck_assert_ptr_nonnull(request);
    snprintf(request, size, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n",
             target, headers);
    return request;
}

/* "/healthz?pad=xxx" of exactly length bytes. */
static char *target_of_length(size_t length) {
    char *target = malloc(length + 1);
    ck_assert_ptr_nonnull(target);
    const char *start = "/healthz?pad=";
    ck_assert_uint_gt(length, strlen(start));
    memset(target, 'x', length);
    memcpy(target, start, strlen(start));
    target[length] = '\0';
    return target;
}

/* Header lines "Host: 127.0.0.1\r\n", "Connection: close\r\n" and an X-Pad line making up exactly
 * total bytes, counting each line with its CRLF (the request line and the blank line not). */
static char *request_with_header_bytes(size_t total) {
    const char *fixed = "Host: 127.0.0.1\r\nConnection: close\r\n";
    size_t pad = total - strlen(fixed) - strlen("X-Pad: \r\n");
    ck_assert_uint_lt(pad, total);
    size_t size = total + 64;
    char *request = malloc(size);
    ck_assert_ptr_nonnull(request);
    int n = snprintf(request, size, "GET /healthz HTTP/1.1\r\n%sX-Pad: ", fixed);
    memset(request + n, 'y', pad);
    snprintf(request + n + pad, size - (size_t)n - pad, "\r\n\r\n");
    return request;
}

/* POST /api/accounts with a body of exactly size bytes ("{}" and spaces); when send_body is 0,
 * only the head, which declares it. */
static struct raw_response *post_body_of(int port, size_t size, int send_body) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /api/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     size);
    size_t total = (size_t)n + (send_body ? size : 0);
    char *request = malloc(total + 1);
    ck_assert_ptr_nonnull(request);
    memcpy(request, head, (size_t)n);
    if (send_body) {
        memset(request + n, ' ', size);
        request[n] = '{';
        request[n + (int)size - 1] = '}';
    }
    struct raw_response *r = exchange(port, request, total);
    free(request);
    return r;
}

/* POST /api/accounts with a chunked body of exactly size bytes, in chunks of 1000. */
static struct raw_response *post_chunked_body_of(int port, size_t size) {
    size_t cap = size * 2 + 512, used = 0;
    char *request = malloc(cap);
    ck_assert_ptr_nonnull(request);
    used += (size_t)snprintf(request, cap,
                             "POST /api/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                             "application/json\r\nTransfer-Encoding: chunked\r\nConnection: "
                             "close\r\n\r\n");
    for (size_t sent = 0; sent < size;) {
        size_t chunk = size - sent < 1000 ? size - sent : 1000;
        used += (size_t)snprintf(request + used, cap - used, "%zx\r\n", chunk);
        for (size_t i = 0; i < chunk; i++) {
            size_t at = sent + i;
            request[used++] = at == 0 ? '{' : at == size - 1 ? '}' : ' ';
        }
        used += (size_t)snprintf(request + used, cap - used, "\r\n");
        sent += chunk;
    }
    used += (size_t)snprintf(request + used, cap - used, "0\r\n\r\n");
    struct raw_response *r = exchange(port, request, used);
    free(request);
    return r;
}

static int64_t account_count(void) {
    return ft_sql_int64("SELECT count(*) FROM accounts", (const char *)NULL);
}

/* ---- waiting for a connection to be cut off ------------------------------------------------ */

/* 1 when the server has closed fd (EOF or a reset; an answer before it is read and dropped), 0
 * when it is still open after waiting up to timeout_ms. */
static int closed_within(int fd, int timeout_ms) {
    double until = ft_now() + timeout_ms / 1000.0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        double left = until - ft_now();
        int ready = poll(&p, 1, left > 0 ? (int)(left * 1000) : 0);
        if (ready <= 0)
            return 0;
        char buffer[4096];
        ssize_t got = recv(fd, buffer, sizeof buffer, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
            return 1;
    }
}

/* Sends bytes one a second on fd until the server closes it or the deadline passes; returns how
 * many seconds after started the server closed it, or -1. */
static double trickle_until_closed(int fd, const char *bytes, double started, double deadline) {
    for (size_t i = 0; ft_now() < deadline; i++) {
        char byte = bytes[i % strlen(bytes)];
        if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1 && errno != EAGAIN)
            return ft_now() - started;
        /* The second between two bytes is spent watching for the close. */
        if (closed_within(fd, 1000))
            return ft_now() - started;
    }
    return -1;
}

/* Waits (bounded) until the server closes fd without our sending anything; as above. */
static double silent_until_closed(int fd, double started, double deadline) {
    while (ft_now() < deadline) {
        if (closed_within(fd, 200))
            return ft_now() - started;
    }
    return -1;
}

/* ---- ordinary requests, promptly ----------------------------------------------------------- */

/* Fifty GET /healthz and ten deposits on the default server, each answered within PROMPT_S. */
static void ordinary_requests_are_answered_promptly(const char *while_what) {
    double bound = PROMPT_S * ft_timeout_scale();
    for (int i = 0; i < 50; i++) {
        double started = ft_now();
        struct ft_response *r = ft_http("GET", "/healthz", NULL);
        double took = ft_now() - started;
        ck_assert_msg(r->status == 200, "%s: GET /healthz %d got %ld (%s)", while_what, i,
                      r->status, r->curl_error);
        ck_assert_msg(took <= bound, "%s: GET /healthz %d took %.2f s", while_what, i, took);
        ft_response_free(r);
    }
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    for (int i = 1; i <= 10; i++) {
        double started = ft_now();
        int64_t balance = ft_move(n, "deposit", 100);
        double took = ft_now() - started;
        ck_assert_int_eq(balance, 100 * i);
        ck_assert_msg(took <= bound, "%s: deposit %d took %.2f s", while_what, i, took);
    }
}

/* Raises this process's open-file limit to at least wanted; asserting that the hard limit allows.
 */
static void allow_open_files(rlim_t wanted) {
    struct rlimit limit;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &limit), 0);
    ck_assert_msg(limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= wanted,
                  "the hard open-file limit %llu is below the %llu this test needs "
                  "(ulimit -Hn)",
                  (unsigned long long)limit.rlim_max, (unsigned long long)wanted);
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
        limit.rlim_cur = wanted;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &limit), 0);
    }
}

/* Open file descriptors of process pid. */
static int open_files_of(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *dir = opendir(path);
    ck_assert_msg(dir != NULL, "cannot open %s", path);
    int count = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;)
        count += entry->d_name[0] != '.';
    closedir(dir);
    return count;
}

/* The soft and hard open-file limits of process pid, from /proc/<pid>/limits. */
static void open_file_limits_of(pid_t pid, char *soft, char *hard, size_t size) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/limits", (long)pid);
    FILE *file = fopen(path, "r");
    ck_assert_msg(file != NULL, "cannot open %s", path);
    soft[0] = hard[0] = '\0';
    char soft_value[64], hard_value[64];
    while (fgets(line, sizeof line, file) != NULL) {
        if (strncmp(line, "Max open files", 14) == 0 &&
            sscanf(line + 14, "%63s %63s", soft_value, hard_value) == 2) {
            snprintf(soft, size, "%s", soft_value);
            snprintf(hard, size, "%s", hard_value);
        }
    }
    fclose(file);
    ck_assert_msg(soft[0] != '\0', "no 'Max open files' in %s", path);
}

/* ---- body, URL and header limits ----------------------------------------------------------- */

START_TEST(body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413) {
    int port = ft_default_server()->port;
    int64_t accounts = account_count();
    struct raw_response *r = post_body_of(port, DEFAULT_BODY_LIMIT, 1);
    ck_assert_msg(r->status == 201, "a body of the limit got %d: %s", r->status, r->body);
    raw_free(r);
    ck_assert_int_eq(account_count(), accounts + 1);
    /* Refused on the declared length alone, before a byte of the body is read. */
    r = post_body_of(port, DEFAULT_BODY_LIMIT + 1, 0);
    assert_raw_error(r, 413, "payload_too_large", "Content-Length limit+1");
    raw_free(r);
    ck_assert_int_eq(account_count(), accounts + 1);
}
END_TEST

START_TEST(chunked_body_over_the_limit_is_413_and_the_limit_itself_is_accepted) {
    int port = ft_default_server()->port;
    int64_t accounts = account_count();
    struct raw_response *r = post_chunked_body_of(port, DEFAULT_BODY_LIMIT);
    ck_assert_msg(r->status == 201, "a chunked body of the limit got %d: %s", r->status, r->body);
    raw_free(r);
    r = post_chunked_body_of(port, DEFAULT_BODY_LIMIT + 1);
    assert_raw_error(r, 413, "payload_too_large", "chunked limit+1");
    raw_free(r);
    ck_assert_int_eq(account_count(), accounts + 1);
}
END_TEST

START_TEST(request_target_of_exactly_the_limit_is_accepted_and_one_byte_more_is_414) {
    int port = ft_default_server()->port;
    for (size_t length = DEFAULT_URL_LIMIT; length <= DEFAULT_URL_LIMIT + 1; length++) {
        char *target = target_of_length(length);
        char *request = get_request(target, "");
        struct raw_response *r = exchange(port, request, strlen(request));
        if (length == DEFAULT_URL_LIMIT)
            ck_assert_msg(r->status == 200, "a target of %zu bytes got %d: %s", length, r->status,
                          r->body);
        else
            assert_raw_error(r, 414, "uri_too_long", "target limit+1");
        raw_free(r);
        free(request);
        free(target);
    }
    /* The limit counts the target as sent: percent-escapes are three bytes, not one. */
    char *target = target_of_length(DEFAULT_URL_LIMIT + 1);
    memcpy(target + strlen(target) - 3, "%41", 3);
    char *request = get_request(target, "");
    struct raw_response *r = exchange(port, request, strlen(request));
    assert_raw_error(r, 414, "uri_too_long", "escaped target limit+1");
    raw_free(r);
    free(request);
    free(target);
    /* And it comes before routing: an over-long /api path is a 414 too, not a 404. */
    target = target_of_length(DEFAULT_URL_LIMIT + 1);
    memcpy(target, "/api/accounts/1?", 16);
    request = get_request(target, "");
    r = exchange(port, request, strlen(request));
    assert_raw_error(r, 414, "uri_too_long", "/api target limit+1");
    raw_free(r);
    free(request);
    free(target);
}
END_TEST

/* A NUL byte is never part of a request target; read as a C string it would cut the target
 * short, and the server would act on what came before it. */
START_TEST(a_nul_byte_inside_the_request_target_is_400_and_changes_nothing) {
    int port = ft_default_server()->port;
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    ft_move(n, "deposit", 100);
    struct ft_snapshot unchanged = ft_snapshot(n);
    /* The target before the NUL, and after it. */
    const char *cuts[][2] = {
        {"/withdraw?sum=7", "&sum=8"}, {"/withdraw?sum=7", ""}, {"", "/withdraw?sum=7"}};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char request[256];
        int before = snprintf(request, sizeof request, "PUT /api/accounts/%s%s", n, cuts[i][0]);
        /* The NUL that snprintf wrote stays; the rest of the request follows it. */
        int after =
            snprintf(request + before + 1, sizeof request - (size_t)before - 1,
                     "%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", cuts[i][1]);
        struct raw_response *r = exchange(port, request, (size_t)before + 1 + (size_t)after);
        assert_raw_error(r, 400, "invalid_request", cuts[i][0]);
        raw_free(r);
    }
    ft_assert_unchanged(&unchanged, n);
    /* The same target without the NUL is served, so the 400 above was the NUL's. */
    char request[256];
    int size = snprintf(request, sizeof request,
                        "PUT /api/accounts/%s/withdraw?sum=7 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Connection: close\r\n\r\n",
                        n);
    struct raw_response *r = exchange(port, request, (size_t)size);
    ck_assert_msg(r->status == 200, "without the NUL: %d %s", r->status, r->body);
    raw_free(r);
    ck_assert_int_eq(ft_balance(n), 93);
}
END_TEST

/* Two Content-Length headers leave it open where the body ends: refused, and nothing created. */
START_TEST(two_content_lengths_are_400_and_create_nothing) {
    int64_t accounts = account_count();
    const char *request = "POST /api/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Content-Type: application/json\r\nContent-Length: 2\r\n"
                          "Content-Length: 30\r\nConnection: close\r\n\r\n"
                          "{}{\"overdraft_limit\": 100000000}";
    struct raw_response *r = exchange(ft_default_server()->port, request, strlen(request));
    assert_raw_error(r, 400, "invalid_request", "two Content-Lengths");
    raw_free(r);
    ck_assert_int_eq(account_count(), accounts);
}
END_TEST

START_TEST(headers_of_exactly_the_limit_are_accepted_and_one_byte_more_is_431) {
    int port = ft_default_server()->port;
    for (size_t total = DEFAULT_HEADER_LIMIT; total <= DEFAULT_HEADER_LIMIT + 1; total++) {
        char *request = request_with_header_bytes(total);
        struct raw_response *r = exchange(port, request, strlen(request));
        if (total == DEFAULT_HEADER_LIMIT)
            ck_assert_msg(r->status == 200, "%zu header bytes got %d: %s", total, r->status,
                          r->body);
        else
            assert_raw_error(r, 431, "headers_too_large", "headers limit+1");
        raw_free(r);
        free(request);
    }
}
END_TEST

START_TEST(configured_small_limits_are_honoured) {
    const char *env[] = {"MX_BODY_LIMIT=100", "MX_URL_LIMIT=300", "MX_HEADER_LIMIT=1024", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    int port = server->port;
    int64_t accounts = account_count();

    struct raw_response *r = post_body_of(port, 100, 1);
    ck_assert_msg(r->status == 201, "a body of 100 got %d: %s", r->status, r->body);
    raw_free(r);
    r = post_body_of(port, 101, 0);
    assert_raw_error(r, 413, "payload_too_large", "body 101");
    raw_free(r);
    r = post_chunked_body_of(port, 101);
    assert_raw_error(r, 413, "payload_too_large", "chunked body 101");
    raw_free(r);
    ck_assert_int_eq(account_count(), accounts + 1);

    for (size_t length = 300; length <= 301; length++) {
        char *target = target_of_length(length);
        char *request = get_request(target, "");
        r = exchange(port, request, strlen(request));
        if (length == 300)
            ck_assert_msg(r->status == 200, "a target of 300 got %d: %s", r->status, r->body);
        else
            assert_raw_error(r, 414, "uri_too_long", "target 301");
        raw_free(r);
        free(request);
        free(target);
    }
    for (size_t total = 1024; total <= 1025; total++) {
        char *request = request_with_header_bytes(total);
        r = exchange(port, request, strlen(request));
        if (total == 1024)
            ck_assert_msg(r->status == 200, "1024 header bytes got %d: %s", r->status, r->body);
        else
            assert_raw_error(r, 431, "headers_too_large", "headers 1025");
        raw_free(r);
        free(request);
    }
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

START_TEST(invalid_limit_values_exit_2) {
    const char *cases[] = {"MX_URL_LIMIT=abc",        "MX_URL_LIMIT=-1",
                           "MX_HEADER_LIMIT=1k",      "MX_HEADER_LIMIT=-5",
                           "MX_IDLE_TIMEOUT=soon",    "MX_IDLE_TIMEOUT=-1",
                           "MX_REQUEST_TIMEOUT=1.5",  "MX_REQUEST_TIMEOUT=-1",
                           "MX_MAX_CONNECTIONS=many", "MX_MAX_CONNECTIONS=0"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ft_assert_config_refused(cases[i], NULL);
}
END_TEST

/* ---- timeouts ------------------------------------------------------------------------------ */

START_TEST(a_request_head_slower_than_the_request_timeout_is_cut_off) {
    /* The idle timeout is far away: every second brings a byte, so only the request timeout can
     * end this. */
    const char *env[] = {"MX_REQUEST_TIMEOUT=2", "MX_IDLE_TIMEOUT=60", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    double started = ft_now();
    int fd = connect_to(server->port);
    double after =
        trickle_until_closed(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", started,
                             deadline_in(CUT_OFF_DEADLINE_S));
    close(fd);
    ck_assert_msg(after >= 0, "a one-byte-a-second request was still open after %.0f s",
                  CUT_OFF_DEADLINE_S * ft_timeout_scale());
    ck_assert_msg(after >= 1.9, "cut off after %.2f s, before the 2 s request timeout", after);
    /* The server itself goes on serving. */
    struct ft_response *r = ft_http("GET", "/healthz", NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

/* The request timeout is the request's: a keep-alive pause before it is not counted. Here 4 s of
 * pause and then 4 s for the rest of a slowly sent head, with a 5 s limit: cut by 7 s (the
 * watchdog looks once a second) if the clock ran from the last answer, a second inside the
 * limit from the request line. */
START_TEST(the_pause_before_a_request_does_not_count_against_its_request_timeout) {
    const char *env[] = {"MX_REQUEST_TIMEOUT=5", "MX_IDLE_TIMEOUT=60", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    int fd = connect_to(server->port);
    const char *request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ck_assert(send_all(fd, request, strlen(request), deadline_in(10)));
    struct raw_response *r = read_response(fd, deadline_in(10));
    ck_assert_int_eq(r->status, 200);
    raw_free(r);
    ft_pause_ms(4000); /* the keep-alive pause under test */
    const char *line = "GET /healthz HTTP/1.1\r\n", *head = "Host: 127.0.0.1\r\n\r\n";
    ck_assert(send_all(fd, line, strlen(line), deadline_in(10)));
    for (const char *p = head; *p != '\0'; p++) { /* 4 s for the rest of the head */
        ft_pause_ms((int)(4000 / strlen(head)));
        ck_assert_msg(send(fd, p, 1, MSG_NOSIGNAL) == 1, "the connection was cut: %s",
                      strerror(errno));
    }
    r = read_response(fd, deadline_in(10));
    ck_assert_msg(r->status == 200, "the second request got %d (%s)", r->status, r->body);
    raw_free(r);
    close(fd);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

START_TEST(a_request_body_slower_than_the_request_timeout_is_cut_off) {
    const char *env[] = {"MX_REQUEST_TIMEOUT=2", "MX_IDLE_TIMEOUT=60", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    int64_t accounts = account_count();
    double started = ft_now();
    int fd = connect_to(server->port);
    const char *head = "POST /api/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                       "application/json\r\nContent-Length: 64\r\n\r\n{";
    ck_assert(send_all(fd, head, strlen(head), deadline_in(10)));
    double after = trickle_until_closed(fd, " ", started, deadline_in(CUT_OFF_DEADLINE_S));
    close(fd);
    ck_assert_msg(after >= 0, "a one-byte-a-second body was still open after %.0f s",
                  CUT_OFF_DEADLINE_S * ft_timeout_scale());
    ck_assert_msg(after >= 1.9, "cut off after %.2f s, before the 2 s request timeout", after);
    ck_assert_int_eq(account_count(), accounts);
    struct ft_response *r = ft_http("POST", "/api/accounts", NULL);
    ft_assert_status(r, 201);
    ft_response_free(r);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

START_TEST(an_idle_connection_is_closed_after_the_idle_timeout) {
    const char *env[] = {"MX_IDLE_TIMEOUT=1", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    /* A connection that never says anything. */
    double started = ft_now();
    int fd = connect_to(server->port);
    double after = silent_until_closed(fd, started, deadline_in(CUT_OFF_DEADLINE_S));
    close(fd);
    ck_assert_msg(after >= 0, "a silent connection was still open after %.0f s",
                  CUT_OFF_DEADLINE_S * ft_timeout_scale());
    ck_assert_msg(after >= 0.5, "closed after %.2f s, well before the 1 s idle timeout", after);

    /* A kept-alive connection that falls silent after an answer. */
    fd = connect_to(server->port);
    const char *request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ck_assert(send_all(fd, request, strlen(request), deadline_in(10)));
    struct raw_response *r = read_response(fd, deadline_in(10));
    ck_assert_int_eq(r->status, 200);
    raw_free(r);
    started = ft_now();
    after = silent_until_closed(fd, started, deadline_in(CUT_OFF_DEADLINE_S));
    close(fd);
    ck_assert_msg(after >= 0, "a kept-alive connection was still open after %.0f s",
                  CUT_OFF_DEADLINE_S * ft_timeout_scale());
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

/* ---- many and slow clients ----------------------------------------------------------------- */

START_TEST(a_thousand_idle_connections_leave_ordinary_requests_answered_promptly) {
    /* The server starts with a soft open-file limit too low for a thousand connections; it must
     * raise it to the hard limit itself. */
    allow_open_files(IDLE_CONNECTIONS + 200);
    struct rlimit mine;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &mine), 0);
    struct rlimit low = {256, mine.rlim_max};
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    const char *env[] = {"MX_IDLE_TIMEOUT=600", "MX_REQUEST_TIMEOUT=600", NULL};
    struct ft_server *server = ft_server_spawn(FT_DATABASE_URL, ft_db(), env);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &mine), 0);
    ft_server_await(server);
    ft_set_default_server(server);
    char soft[64], hard[64];
    open_file_limits_of(server->pid, soft, hard, sizeof soft);
    ck_assert_msg(strcmp(soft, hard) == 0, "the server's open-file limit is %s, not its hard %s",
                  soft, hard);

    int baseline = open_files_of(server->pid);
    int *fds = malloc(IDLE_CONNECTIONS * sizeof *fds);
    ck_assert_ptr_nonnull(fds);
    for (int i = 0; i < IDLE_CONNECTIONS; i++)
        fds[i] = connect_to(server->port);
    /* Bounded wait until the server has taken every one of them. */
    double deadline = deadline_in(30);
    int held;
    while ((held = open_files_of(server->pid) - baseline) < IDLE_CONNECTIONS) {
        ck_assert_msg(ft_now() < deadline, "the server holds %d of the %d connections", held,
                      IDLE_CONNECTIONS);
        ft_pause_ms(50);
    }

    ordinary_requests_are_answered_promptly("with 1000 idle connections");

    /* The idle ones were held all along, not dropped to make room. */
    int dropped = 0;
    for (int i = 0; i < IDLE_CONNECTIONS; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        dropped += poll(&p, 1, 0) != 0;
        close(fds[i]);
    }
    free(fds);
    ck_assert_msg(dropped == 0, "%d idle connections were closed by the server", dropped);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

#define SLOW_CONNECTIONS 20

struct slowloris {
    int port;
    atomic_int stop;
    atomic_int rounds; /* seconds of trickling done */
    atomic_int closed; /* connections the server closed */
    int fds[SLOW_CONNECTIONS];
};

/* One header byte a second on each connection, never finishing the head. */
static void *slowloris_main(void *arg) {
    struct slowloris *s = arg;
    const char *head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    size_t at = 0;
    while (!atomic_load(&s->stop)) {
        char byte = at < strlen(head) ? head[at] : 'z';
        at++;
        for (int i = 0; i < SLOW_CONNECTIONS; i++) {
            if (s->fds[i] < 0)
                continue;
            if (send(s->fds[i], &byte, 1, MSG_NOSIGNAL) != 1 && errno != EAGAIN) {
                atomic_fetch_add(&s->closed, 1);
                close(s->fds[i]);
                s->fds[i] = -1;
            }
        }
        atomic_fetch_add(&s->rounds, 1);
        /* The second between two bytes; a connection closed meanwhile shows as readable. */
        struct pollfd polls[SLOW_CONNECTIONS];
        for (int i = 0; i < SLOW_CONNECTIONS; i++)
            polls[i] = (struct pollfd){.fd = s->fds[i], .events = POLLIN};
        double until = ft_now() + 1.0;
        while (!atomic_load(&s->stop) && ft_now() < until) {
            if (poll(polls, SLOW_CONNECTIONS, 100) > 0) {
                for (int i = 0; i < SLOW_CONNECTIONS; i++)
                    if (polls[i].revents != 0 && s->fds[i] >= 0) {
                        atomic_fetch_add(&s->closed, 1);
                        close(s->fds[i]);
                        s->fds[i] = polls[i].fd = -1;
                    }
            }
        }
    }
    return NULL;
}

/* Waits (bounded) until the slowloris has trickled at least rounds seconds. */
static void await_rounds(struct slowloris *s, int rounds) {
    double deadline = deadline_in(20);
    while (atomic_load(&s->rounds) < rounds) {
        ck_assert_msg(ft_now() < deadline, "the slowloris thread does not get on");
        ft_pause_ms(20);
    }
}

START_TEST(a_slowloris_leaves_ordinary_requests_answered_promptly) {
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    ft_set_default_server(server);
    struct slowloris s = {.port = server->port};
    for (int i = 0; i < SLOW_CONNECTIONS; i++)
        s.fds[i] = connect_to(server->port);
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, slowloris_main, &s), 0);
    /* Under way before the ordinary requests start, and still under way after they end. */
    await_rounds(&s, 2);
    ordinary_requests_are_answered_promptly("with a slowloris");
    await_rounds(&s, atomic_load(&s.rounds) + 1);
    atomic_store(&s.stop, 1);
    pthread_join(thread, NULL);
    ck_assert_msg(atomic_load(&s.closed) == 0,
                  "%d slow connections were closed within the default request timeout",
                  atomic_load(&s.closed));
    for (int i = 0; i < SLOW_CONNECTIONS; i++)
        if (s.fds[i] >= 0)
            close(s.fds[i]);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("limits");
    FT_ADD_TEST(s, body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413);
    FT_ADD_TEST(s, chunked_body_over_the_limit_is_413_and_the_limit_itself_is_accepted);
    FT_ADD_TEST(s, request_target_of_exactly_the_limit_is_accepted_and_one_byte_more_is_414);
    FT_ADD_TEST(s, headers_of_exactly_the_limit_are_accepted_and_one_byte_more_is_431);
    FT_ADD_TEST(s, a_nul_byte_inside_the_request_target_is_400_and_changes_nothing);
    FT_ADD_TEST(s, two_content_lengths_are_400_and_create_nothing);
    FT_ADD_TEST(s, configured_small_limits_are_honoured);
    FT_ADD_TEST(s, invalid_limit_values_exit_2);
    FT_ADD_TEST(s, a_request_head_slower_than_the_request_timeout_is_cut_off);
    FT_ADD_TEST(s, a_request_body_slower_than_the_request_timeout_is_cut_off);
    FT_ADD_TEST(s, the_pause_before_a_request_does_not_count_against_its_request_timeout);
    FT_ADD_TEST(s, an_idle_connection_is_closed_after_the_idle_timeout);
    FT_ADD_TEST(s, a_thousand_idle_connections_leave_ordinary_requests_answered_promptly);
    FT_ADD_TEST(s, a_slowloris_leaves_ordinary_requests_answered_promptly);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
