/* Fuzz target: the query string (and the path, and the Idempotency-Key header) through the real
 * server. The service has no query parser of its own: libmicrohttpd splits the query and calls our
 * unescape callback (src/http/server.c), and the controllers read `sum`, `limit` and `before`
 * through request->query and mx_parse_decimal. So the server runs in this process, started once
 * by mx_http_start, and each input becomes one request over a loopback TCP connection.
 *
 * No database: the store points at a socket directory that does not exist, so every connection
 * attempt fails at once and every request that needs the database is answered 503, the same every
 * time. The server's event loop runs on a thread of its own here, the fuzzer's on this one.
 *
 * Input: the first byte picks the request, the rest (up to a CR or LF, which would end the
 * request line) is sent as it is:
 *   0  GET  /api/accounts/<valid>/transactions?<rest>
 *   1  PUT  /api/accounts/<valid>/deposit?<rest>
 *   2  POST /api/accounts/<valid>/withdraw?<rest>
 *   3  GET  /<rest>                                (path and query)
 *   4  PUT  /api/accounts/<valid>/deposit?sum=100 with Idempotency-Key: <rest>
 *   5  POST /api/accounts?<rest>
 *
 * Properties: every request is answered within seconds with one well-formed HTTP/1.1 response
 * whose Content-Length is the body's length; never 500; an answer of ours (it carries
 * X-Content-Type-Options) to an /api path is application/json holding one JSON object, with
 * "error" and "code" strings when it is an error; without a database no /api request succeeds
 * (400, 404, 405 or 503 only); an answer libmicrohttpd gives by itself (a request it refuses
 * before routing) is a 4xx. And for a plain query (nothing to decode), the status is the one an
 * oracle written from api.md expects: 400 when `limit` (1..100), `before` (1..2^53-1) or `sum`
 * (exactly once, 1..2^53-1) is wrong, else 503 (the store is down). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "mondux/account_number.h"
#include "mondux/db.h"
#include "mondux/http.h"
#include "mondux/loop.h"
#include "mondux/store.h"

#define IO_TIMEOUT_SECONDS 10
#define RESPONSE_MAX       (1 << 20)

static struct mx_http_server *server;
static unsigned port;
static char account[MX_ACCT_LENGTH + 1];

/* The server's loop, until the process exits (nothing else touches what it owns). */
static void *run_loop(void *loop) {
    mx_loop_run(loop);
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* A fixed valid account number, so that a run is the same every time. */
    static const char digits[] = "12345678901234";
    uint64_t head = 0;
    for (size_t i = 0; i < MX_ACCT_RANDOM_DIGITS; i++)
        head = head * 10 + (uint64_t)(digits[i] - '0');
    unsigned check = (unsigned)(98 - head * 100 % 97);
    snprintf(account, sizeof account, "%s%02u", digits, check);
    FUZZ_CHECK(mx_acct_is_valid(account), "the fixed account number is valid");

    struct mx_store_params params = {
        .keywords = {"host", "dbname", "user", "connect_timeout", NULL},
        .values = {"/nonexistent/mondux-fuzz", "mondux", "mondux", "1", NULL},
    };
    FUZZ_CHECK(mx_store_init(&params) == MX_OK, "store configured");
    /* The defaults of src/config.c; no API keys, so /api is open. */
    static struct mx_http_listener listener;
    char reason[256];
    FUZZ_CHECK(mx_http_listen("127.0.0.1", 0, &listener, reason, sizeof reason) == MX_OK,
               "listening");
    struct mx_http_config config = {.host = "127.0.0.1",
                                    .port = 0,
                                    .listener = &listener,
                                    .body_limit = 65536,
                                    .url_limit = 8192,
                                    .header_limit = 16384,
                                    .idle_timeout = 30,
                                    .request_timeout = 60,
                                    .max_connections = 64,
                                    .access_log = 0,
                                    .api_keys = NULL};
    struct mx_loop *loop = mx_loop_new();
    FUZZ_CHECK(loop != NULL, "loop made");
    struct mx_db *db = mx_db_new(loop, 1);
    FUZZ_CHECK(db != NULL, "database connections made");
    FUZZ_CHECK(mx_http_start(&config, loop, db, &server, &port) == MX_OK && port != 0,
               "server started");
    pthread_t thread;
    FUZZ_CHECK(pthread_create(&thread, NULL, run_loop, loop) == 0, "loop thread started");
    pthread_detach(thread);
    return 0;
}

static int connect_loopback(void) {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Tens of thousands of connections a minute: now and then the kernel refuses one (a port
     * still being released). A server that stopped accepting fails every try for a second. */
    for (int attempt = 0;; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        FUZZ_CHECK(fd >= 0, "socket()");
        struct timeval timeout = {IO_TIMEOUT_SECONDS, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        /* Closing with a reset leaves no TIME_WAIT behind: thousands of connections a second
         * would otherwise use up the loopback ports within a minute. */
        struct linger linger = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
        if (connect(fd, (const struct sockaddr *)&address, sizeof address) == 0)
            return fd;
        int error = errno;
        close(fd);
        if (attempt == 100) {
            fprintf(stderr, "connect: %s\n", strerror(error));
            FUZZ_CHECK(0, "the server accepts connections");
        }
        struct timespec pause = {0, 10000000L}; /* 10 ms */
        nanosleep(&pause, NULL);
    }
}

/* Sends request, reads the answer to the end (the request says Connection: close). Returns the
 * number of bytes read into buffer (NUL-terminated). */
static size_t exchange(const char *request, size_t request_size, char *buffer, size_t capacity) {
    int fd = connect_loopback();
    for (size_t sent = 0; sent < request_size;) {
        ssize_t n = send(fd, request + sent, request_size - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        FUZZ_CHECK(n >= 0 || errno == EPIPE || errno == ECONNRESET,
                   "the request is sent within the timeout");
        if (n < 0)
            break; /* the server answered early and closed; its answer is still to be read */
        sent += (size_t)n;
    }
    size_t got = 0;
    for (;;) {
        FUZZ_CHECK(got < capacity - 1, "the answer is not endless");
        ssize_t n = recv(fd, buffer + got, capacity - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        FUZZ_CHECK(n >= 0 || errno != EAGAIN, "the server answers within the timeout");
        if (n < 0 && errno == ECONNRESET && got > 0)
            break;
        FUZZ_CHECK(n >= 0, "the connection is not reset before the answer");
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buffer[got] = '\0';
    return got;
}

/* The value of header name in the head (which ends at its blank line), or NULL; *length gets its
 * length. */
static const char *header(const char *head, const char *name, size_t *length) {
    size_t name_length = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL && line[2] != '\r';
         line = strstr(line + 2, "\r\n")) {
        const char *start = line + 2;
        if (strncasecmp(start, name, name_length) == 0 && start[name_length] == ':') {
            const char *value = start + name_length + 1;
            while (*value == ' ')
                value++;
            *length = strcspn(value, "\r");
            return value;
        }
    }
    return NULL;
}

static void check_answer(const char *answer, size_t size, int api) {
    FUZZ_CHECK(size > 0, "the request is answered");
    FUZZ_CHECK(strncmp(answer, "HTTP/1.1 ", 9) == 0 || strncmp(answer, "HTTP/1.0 ", 9) == 0,
               "the answer starts with a status line");
    unsigned status = 0;
    for (int i = 9; i < 12; i++) {
        FUZZ_CHECK(answer[i] >= '0' && answer[i] <= '9', "a three-digit status");
        status = status * 10 + (unsigned)(answer[i] - '0');
    }
    FUZZ_CHECK(answer[12] == ' ', "a space after the status");
    FUZZ_CHECK(status >= 200 && status <= 599, "a final status");
    FUZZ_CHECK(status != 500, "never 500: bad input is the client's error, not ours");

    const char *end = strstr(answer, "\r\n\r\n");
    FUZZ_CHECK(end != NULL, "the head ends with a blank line");
    const char *body = end + 4;
    size_t body_size = size - (size_t)(body - answer);
    size_t length = 0;
    const char *value = header(answer, "Content-Length", &length);
    FUZZ_CHECK(value != NULL, "the answer has a Content-Length");
    FUZZ_CHECK(strtoull(value, NULL, 10) == body_size, "Content-Length is the body's length");

    int ours = header(answer, "X-Content-Type-Options", &length) != NULL;
    if (!ours) {
        /* libmicrohttpd refused the request before it reached the route table. */
        FUZZ_CHECK(status >= 400 && status < 500, "libmicrohttpd's own answers are 4xx");
        return;
    }
    value = header(answer, "Content-Type", &length);
    int json = value != NULL && length >= 16 && strncmp(value, "application/json", 16) == 0;
    if (api || status >= 400)
        FUZZ_CHECK(json, "an /api answer, and any error of ours, is JSON");
    if (api)
        FUZZ_CHECK(status == 400 || status == 404 || status == 405 || status == 414 ||
                       status == 431 || status == 503,
                   "without a database, no /api request succeeds");
    if (!json)
        return;
    json_error_t error;
    json_t *object = json_loadb(body, body_size, 0, &error);
    FUZZ_CHECK(json_is_object(object), "a JSON answer is one JSON object");
    if (status >= 400)
        FUZZ_CHECK(json_is_string(json_object_get(object, "error")) &&
                       json_is_string(json_object_get(object, "code")),
                   "an error names itself");
    json_decref(object);
}

/* An oracle for plain queries (letters, digits and "=&_.-" only: nothing to decode), from api.md
 * rather than from the code: how often name appears, and its value (NULL without '='). */
static int plain_query(const char *query, size_t size) {
    for (size_t i = 0; i < size; i++) {
        char c = query[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("=&_.-", c) != NULL) ||
            c == '\0')
            return 0;
    }
    return 1;
}

static unsigned find_param(const char *query, size_t size, const char *name, const char **value,
                           size_t *value_size) {
    unsigned count = 0;
    size_t name_size = strlen(name);
    for (size_t start = 0; start < size;) {
        const char *amp = memchr(query + start, '&', size - start);
        size_t end = amp != NULL ? (size_t)(amp - query) : size;
        const char *eq = memchr(query + start, '=', end - start);
        size_t key_end = eq != NULL ? (size_t)(eq - query) : end;
        if (key_end - start == name_size && memcmp(query + start, name, name_size) == 0) {
            count++;
            *value = eq != NULL ? eq + 1 : NULL;
            *value_size = eq != NULL ? end - key_end - 1 : 0;
        }
        start = end + 1;
    }
    return count;
}

/* 1 if the parameter is a canonical decimal in 1..max (max given as its decimal text). */
static int number_in_range(const char *value, size_t size, const char *max) {
    if (value == NULL || size == 0 || value[0] == '0')
        return 0;
    for (size_t i = 0; i < size; i++) {
        if (value[i] < '0' || value[i] > '9')
            return 0;
    }
    size_t max_size = strlen(max);
    return size < max_size || (size == max_size && memcmp(value, max, size) <= 0);
}

/* Whether an optional numeric parameter is acceptable: absent, or present once and in range. */
static int optional_ok(const char *query, size_t size, const char *name, const char *max) {
    const char *value = NULL;
    size_t value_size = 0;
    unsigned count = find_param(query, size, name, &value, &value_size);
    return count == 0 || (count == 1 && number_in_range(value, value_size, max));
}

/* 1 if some parameter name is one of ours in other letter case ("SUM"). */
static int case_variant(const char *query, size_t size) {
    static const char *const names[] = {"sum", "limit", "before"};
    for (size_t start = 0; start < size;) {
        const char *amp = memchr(query + start, '&', size - start);
        size_t end = amp != NULL ? (size_t)(amp - query) : size;
        const char *eq = memchr(query + start, '=', end - start);
        size_t key_size = (eq != NULL ? (size_t)(eq - query) : end) - start;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (key_size == strlen(names[i]) &&
                strncasecmp(query + start, names[i], key_size) == 0 &&
                strncmp(query + start, names[i], key_size) != 0)
                return 1;
        }
        start = end + 1;
    }
    return 0;
}

/* The status api.md gives a plain query of request kind 0, 1, 2 or 5, without a database; 0 when
 * the oracle does not know. MX_FUZZ_TOLERATE=case_variant (for a long run while that finding is
 * open) makes it not judge queries with a parameter name like "SUM" (corpus/http_query/regress_*
 * hold the finding itself). */
static unsigned expected_status(unsigned kind, const char *query, size_t size) {
    if (size > 4096 || !plain_query(query, size))
        return 0; /* longer may be 414 (MX_URL_LIMIT); libFuzzer stays below by default */
    const char *tolerate = getenv("MX_FUZZ_TOLERATE");
    if (tolerate != NULL && strstr(tolerate, "case_variant") != NULL && case_variant(query, size))
        return 0;
    const char *value = NULL;
    size_t value_size = 0;
    switch (kind) {
    case 0:
        return optional_ok(query, size, "limit", "100") &&
                       optional_ok(query, size, "before", "9007199254740991")
                   ? 503
                   : 400;
    case 1:
    case 2:
        return find_param(query, size, "sum", &value, &value_size) == 1 &&
                       number_in_range(value, value_size, "9007199254740991")
                   ? 503
                   : 400;
    case 5:
        return 503; /* the query means nothing to account creation */
    default:
        return 0;
    }
}

/* The server's own limits on query arguments (src/http/server.c): more than 100 is 414; more than
 * (url limit + header limit + 8 KiB) / 128 -- 256 with the limits this target starts the server
 * with -- and the connection is closed without an answer, since libmicrohttpd could not hold them
 * (nor send any answer). */
#define ARGUMENTS_ANSWERED_MAX 100
#define ARGUMENTS_KEPT_MAX     ((8192 + 16384 + 8192) / 128)

/* Query arguments of the request line's target, counted as the server counts them: one after
 * the first '?', one more per '&'. */
static unsigned query_arguments(const char *request, size_t size) {
    const char *space = memchr(request, ' ', size);
    const char *end =
        space != NULL ? memchr(space + 1, ' ', size - (size_t)(space + 1 - request)) : NULL;
    const char *query =
        space != NULL && end != NULL ? memchr(space + 1, '?', (size_t)(end - space - 1)) : NULL;
    unsigned arguments = query != NULL ? 1 : 0;
    for (const char *p = query; p != NULL && p < end; p++)
        arguments += *p == '&';
    return arguments;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char answer[RESPONSE_MAX];
    if (size == 0)
        return 0;
    unsigned kind = data[0] % 6;
    const char *rest = (const char *)data + 1;
    size_t rest_size = size - 1;
    for (size_t i = 0; i < rest_size; i++) {
        if (rest[i] == '\r' || rest[i] == '\n') {
            rest_size = i;
            break;
        }
    }

    char head[128] = "", key_line[32] = "";
    const char *method = "GET";
    switch (kind) {
    case 0:
        snprintf(head, sizeof head, "/api/accounts/%s/transactions?", account);
        break;
    case 1:
        method = "PUT";
        snprintf(head, sizeof head, "/api/accounts/%s/deposit?", account);
        break;
    case 2:
        method = "POST";
        snprintf(head, sizeof head, "/api/accounts/%s/withdraw?", account);
        break;
    case 3:
        snprintf(head, sizeof head, "/");
        break;
    case 4:
        method = "PUT";
        snprintf(head, sizeof head, "/api/accounts/%s/deposit?sum=100", account);
        snprintf(key_line, sizeof key_line, "Idempotency-Key: ");
        break;
    default:
        method = "POST";
        snprintf(head, sizeof head, "/api/accounts?");
        break;
    }
    /* Where the input goes: into the request line, or into the one header line. */
    const char *line_rest = key_line[0] == '\0' ? rest : "";
    size_t line_rest_size = key_line[0] == '\0' ? rest_size : 0;
    const char *key_rest = key_line[0] != '\0' ? rest : "";
    size_t key_rest_size = key_line[0] != '\0' ? rest_size : 0;

    size_t capacity = rest_size + 512;
    char *request = malloc(capacity);
    FUZZ_CHECK(request != NULL, "out of memory");
    size_t used = (size_t)snprintf(request, capacity, "%s %s", method, head);
    memcpy(request + used, line_rest, line_rest_size);
    used += line_rest_size;
    used += (size_t)snprintf(request + used, capacity - used,
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", key_line);
    memcpy(request + used, key_rest, key_rest_size);
    used += key_rest_size;
    used += (size_t)snprintf(request + used, capacity - used, "%sContent-Length: 0\r\n\r\n",
                             key_line[0] != '\0' ? "\r\n" : "");
    FUZZ_CHECK(used < capacity, "the request fits its buffer");

    /* Case 3 is an /api request when the path the server sees starts so. */
    int api = kind != 3 || (rest_size >= 3 && strncmp(rest, "api", 3) == 0 &&
                            (rest_size == 3 || rest[3] == '/' || rest[3] == '?'));
    size_t got = exchange(request, used, answer, sizeof answer);
    if (getenv("MX_FUZZ_VERBOSE") != NULL) /* to see what the server said: request, then answer */
        fprintf(stderr, "%.*s%s\n\n", (int)used, request, answer);
    unsigned arguments = query_arguments(request, used);
    if (arguments > ARGUMENTS_KEPT_MAX && got == 0) {
        free(request);
        return 0; /* closed at once, as the server says it does: not left hanging */
    }
    check_answer(answer, got, api);
    unsigned expected = expected_status(kind, rest, rest_size);
    if (arguments > ARGUMENTS_ANSWERED_MAX && expected != 0)
        expected = 414;
    if (expected != 0)
        FUZZ_CHECK(strtoul(answer + 9, NULL, 10) == expected,
                   "a plain query is answered as api.md says (400 when invalid, else 503)");
    free(request);
    return 0;
}
