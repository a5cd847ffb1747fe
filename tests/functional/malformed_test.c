/* Malformed requests, written byte for byte on plain TCP sockets. Each gets exactly one well-formed
 * answer -- our JSON, with X-Request-Id and nosniff, wherever the service itself sees the request
 * -- or a clean close; never a hang; and none of them moves money. What libmicrohttpd 0.9.75
 * answers itself, before the service sees the request, is asserted as docs/operations.md describes
 * it.
 *
 * Every request is a deposit of 5 on a real account, so one that were served would show in the
 * ledger; the same deposit well-formed is served, so the refusals are the malformations'. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "raw_http.h"

/* How long one malformed request may take to be answered and closed: far more than it needs, and
 * less than the server's idle timeout, so that a request it neither answers nor reads fails. */
#define ANSWER_DEADLINE_S 10.0

enum answerer {
    SERVICE, /* our JSON error, and the connection closed */
    LIBRARY, /* libmicrohttpd's own short page (or a plain close), before our code runs */
    /* The same, but libmicrohttpd 0.9.75 sends its status line and headers twice
       (docs/operations.md). */
    LIBRARY_HEAD_TWICE,
};

struct malformed {
    const char *what;
    /* The request, with {n} for the account number (the path's only variable part). */
    const char *pattern;
    enum answerer answerer;
    int status;
    const char *code;  /* SERVICE only */
    const char *field; /* SERVICE only: the header the answer names, or NULL for none */
};

#define DEPOSIT "PUT /api/accounts/{n}/deposit?sum=5 HTTP/1.1\r\n"
#define HOST    "Host: 127.0.0.1\r\n"

/* pattern with its {n} replaced by number, into out; its length. */
static size_t fill(const char *pattern, const char *number, char *out, size_t size) {
    const char *at = strstr(pattern, "{n}");
    ck_assert_ptr_nonnull(at);
    int length = snprintf(out, size, "%.*s%s%s", (int)(at - pattern), pattern, number, at + 3);
    ck_assert(length > 0 && (size_t)length < size);
    return (size_t)length;
}

/* All bytes the server sends on fd until it closes it; *closed says whether it did before the
 * deadline (a reset after the answer counts as closed). NUL-terminated; free() it. */
static char *read_until_closed(int fd, double deadline, size_t *size, int *closed) {
    size_t cap = 4096;
    char *data = malloc(cap + 1);
    ck_assert_ptr_nonnull(data);
    *size = 0;
    *closed = 0;
    while (!*closed) {
        if (*size == cap) {
            cap *= 2;
            data = realloc(data, cap + 1);
            ck_assert_ptr_nonnull(data);
        }
        ssize_t got = recv(fd, data + *size, cap - *size, 0);
        if (got > 0) {
            *size += (size_t)got;
        } else if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            *closed = 1;
        } else {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            double left = deadline - ft_now();
            if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) < 0)
                break;
        }
    }
    data[*size] = '\0';
    return data;
}

/* The length of the head ("HTTP/1.1 NNN reason", header lines "name: value", a blank line, all
 * ending in CRLF) that data starts with, with its status in *status, its Content-Length in *body
 * (exactly one, digits only); 0 when data does not start with such a head. */
static size_t well_formed_head(const char *data, int *status, size_t *body) {
    const char *end = strstr(data, "\r\n\r\n");
    if (end == NULL || strncmp(data, "HTTP/1.1 ", 9) != 0 || data[9] < '1' || data[9] > '5' ||
        data[10] < '0' || data[10] > '9' || data[11] < '0' || data[11] > '9' || data[12] != ' ')
        return 0;
    *status = atoi(data + 9);
    int lengths = 0;
    for (const char *line = strstr(data, "\r\n") + 2; line < end + 2;) {
        const char *eol = strstr(line, "\r\n");
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon == NULL || colon == line)
            return 0;
        for (const char *p = line; p < eol; p++)
            if ((p < colon && (*p == ' ' || *p == '\t')) || (unsigned char)*p < 0x20 || *p == 0x7f)
                return 0;
        if ((size_t)(colon - line) == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            const char *digits = colon + 1 + strspn(colon + 1, " ");
            if (digits == eol || strspn(digits, "0123456789") != (size_t)(eol - digits))
                return 0;
            *body = strtoul(digits, NULL, 10);
            lengths++;
        }
        line = eol + 2;
    }
    return lengths == 1 ? (size_t)(end + 4 - data) : 0;
}

/* Sends the case on a new connection and asserts its one answer (see enum answerer). */
static void assert_one_answer(int port, const struct malformed *c, const char *number) {
    char request[1024];
    size_t size = fill(c->pattern, number, request, sizeof request);
    int fd = connect_to(port);
    double deadline = deadline_in(ANSWER_DEADLINE_S);
    /* A server that answers before the rest arrives may close early: what it sent still counts. */
    send_all(fd, request, size, deadline);
    size_t got = 0;
    int closed = 0;
    char *data = read_until_closed(fd, deadline, &got, &closed);
    close(fd);
    ck_assert_msg(closed, "%s: neither answered and closed within %.0f s; got: %.300s", c->what,
                  ANSWER_DEADLINE_S, data);
    if (got == 0 && c->answerer != SERVICE) {
        free(data); /* a clean close: no answer at all */
        return;
    }
    int status = 0;
    size_t body = 0, head = well_formed_head(data, &status, &body);
    ck_assert_msg(head > 0 && got >= head + body, "%s: not a well-formed answer: %.400s", c->what,
                  data);
    ck_assert_msg(status == c->status, "%s: status %d, not %d: %.400s", c->what, status, c->status,
                  data);
    int head_twice = got == 2 * head + body && memcmp(data, data + head, head) == 0;
    ck_assert_msg(got == head + body || (c->answerer == LIBRARY_HEAD_TWICE && head_twice),
                  "%s: %zu bytes after the answer: %.400s", c->what, got - head - body, data);
    char *head_text = strndup(data, head), value[128];
    ck_assert_ptr_nonnull(head_text);
    ck_assert_msg(raw_header(head_text, "Connection", value, sizeof value) != NULL &&
                      strcasecmp(value, "close") == 0,
                  "%s: no Connection: close: %s", c->what, head_text);
    if (c->answerer == SERVICE) {
        ck_assert_msg(raw_header(head_text, "Content-Type", value, sizeof value) != NULL &&
                          strncmp(value, "application/json", 16) == 0,
                      "%s: not JSON: %s", c->what, head_text);
        ck_assert_msg(raw_header(head_text, "X-Request-Id", value, sizeof value) != NULL &&
                          value[0] != '\0',
                      "%s: no X-Request-Id: %s", c->what, head_text);
        ck_assert_msg(raw_header(head_text, "X-Content-Type-Options", value, sizeof value) !=
                              NULL &&
                          strcmp(value, "nosniff") == 0,
                      "%s: no nosniff: %s", c->what, head_text);
        json_t *json = json_loadb(data + head, body, 0, NULL);
        const char *code = json_string_value(json_object_get(json, "code"));
        const char *message = json_string_value(json_object_get(json, "error"));
        ck_assert_msg(code != NULL && strcmp(code, c->code) == 0 && message != NULL &&
                          message[0] != '\0',
                      "%s: body %.*s, not code %s", c->what, (int)body, data + head, c->code);
        /* The sentence says which rule the head broke, not just that it broke one. */
        ck_assert_msg(strcmp(message, "request is invalid") != 0, "%s: the generic sentence",
                      c->what);
        const char *field = json_string_value(json_object_get(json, "field"));
        ck_assert_msg(c->field == NULL ? field == NULL
                                       : field != NULL && strcmp(field, c->field) == 0,
                      "%s: field %s, not %s", c->what, field != NULL ? field : "(none)",
                      c->field != NULL ? c->field : "(none)");
        json_decref(json);
    }
    free(head_text);
    free(data);
}

/* Sends every case, asserts each answer, that the ledger did not change, and that the same
 * deposit well-formed is served. */
static void assert_answers(const struct malformed *cases, size_t count) {
    int port = ft_default_server()->port;
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    struct ft_snapshot unchanged = ft_snapshot(n);
    for (size_t i = 0; i < count; i++)
        assert_one_answer(port, &cases[i], n);
    ft_assert_unchanged(&unchanged, n);
    char request[256];
    size_t size = fill(DEPOSIT HOST "Connection: close\r\n\r\n", n, request, sizeof request);
    struct raw_response *r = exchange(port, request, size);
    ck_assert_msg(r->status == 200, "the deposit well-formed got %d: %s", r->status, r->body);
    raw_free(r);
    ck_assert_int_eq(ft_balance(n), 5);
}

#define CASES(array) array, sizeof array / sizeof array[0]

/* Where the body ends is in doubt, or it comes in a coding we cannot undo: refused before a byte
 * of it is read, and the connection closed, since the rest of it would be read as a request. */
START_TEST(a_body_of_doubtful_framing_is_refused_with_json_and_a_close) {
    const struct malformed cases[] = {
        {"Transfer-Encoding: gzip", DEPOSIT HOST "Transfer-Encoding: gzip\r\n\r\n{\"sum\": 5}",
         SERVICE, 501, "not_implemented", "Transfer-Encoding"},
        {"Transfer-Encoding: gzip, chunked",
         DEPOSIT HOST "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", SERVICE, 501,
         "not_implemented", "Transfer-Encoding"},
        {"Transfer-Encoding with Content-Length",
         DEPOSIT HOST "Transfer-Encoding: chunked\r\nContent-Length: 7\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
         SERVICE, 400, "invalid_request", "Transfer-Encoding"},
        {"Transfer-Encoding with Content-Length abc",
         DEPOSIT HOST
         "Transfer-Encoding: chunked\r\nContent-Length: abc\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
         SERVICE, 400, "invalid_request", "Transfer-Encoding"},
        {"two Transfer-Encodings",
         DEPOSIT HOST
         "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
         SERVICE, 400, "invalid_request", "Transfer-Encoding"},
        {"two Content-Lengths", DEPOSIT HOST "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
         SERVICE, 400, "invalid_request", "Content-Length"},
        /* libmicrohttpd keeps "Content-Length " as another name, and would read no body. */
        {"a space before the colon", DEPOSIT HOST "Content-Length : 2\r\n\r\n{}", SERVICE, 400,
         "invalid_request", NULL},
    };
    assert_answers(CASES(cases));
}
END_TEST

START_TEST(control_bytes_in_the_head_and_a_missing_host_are_400_json) {
    const struct malformed cases[] = {
        {"a bare CR in a header value", DEPOSIT "Host: 127.0.0.1\rX-A: b\r\n\r\n", SERVICE, 400,
         "invalid_request", NULL},
        {"a bare CR ending a header line", DEPOSIT HOST "X-A: b\r\r\n\r\n", SERVICE, 400,
         "invalid_request", NULL},
        {"a CR in a header name", DEPOSIT HOST "X-\rA: b\r\n\r\n", SERVICE, 400, "invalid_request",
         NULL},
        {"a tab in a header name", DEPOSIT HOST "X-\tA: b\r\n\r\n", SERVICE, 400, "invalid_request",
         NULL},
        {"a bare CR in the target",
         "PUT /api/accounts/{n}/deposit?sum=5\r HTTP/1.1\r\n" HOST "\r\n", SERVICE, 400,
         "invalid_request", NULL},
        {"a space in the target", "PUT /api/accounts/{n}/deposit?sum=5 x HTTP/1.1\r\n" HOST "\r\n",
         SERVICE, 400, "invalid_request", NULL},
        {"HTTP/1.1 without Host", DEPOSIT "\r\n", SERVICE, 400, "invalid_request", "Host"},
        {"two Hosts", DEPOSIT HOST HOST "\r\n", SERVICE, 400, "invalid_request", "Host"},
    };
    assert_answers(CASES(cases));
}
END_TEST

/* libmicrohttpd 0.9.75 parses Content-Length before our code sees the request, and answers a
 * value that is not a plain number itself: 400 (413 past 2^64), its status line and headers sent
 * twice (fixed in libmicrohttpd 1.0.0: then sent once). */
START_TEST(a_content_length_that_is_no_number_is_answered_by_the_library_and_closed) {
    const struct malformed cases[] = {
        {"Content-Length: abc", DEPOSIT HOST "Content-Length: abc\r\n\r\n{}", LIBRARY_HEAD_TWICE,
         400, NULL, NULL},
        {"Content-Length: -1", DEPOSIT HOST "Content-Length: -1\r\n\r\n{}", LIBRARY_HEAD_TWICE, 400,
         NULL, NULL},
        {"Content-Length: +70", DEPOSIT HOST "Content-Length: +70\r\n\r\n{}", LIBRARY_HEAD_TWICE,
         400, NULL, NULL},
        {"Content-Length: 70,70", DEPOSIT HOST "Content-Length: 70,70\r\n\r\n{}",
         LIBRARY_HEAD_TWICE, 400, NULL, NULL},
        {"Content-Length: 1e3", DEPOSIT HOST "Content-Length: 1e3\r\n\r\n{}", LIBRARY_HEAD_TWICE,
         400, NULL, NULL},
        {"Content-Length: 0x46", DEPOSIT HOST "Content-Length: 0x46\r\n\r\n{}", LIBRARY_HEAD_TWICE,
         400, NULL, NULL},
        {"Content-Length empty", DEPOSIT HOST "Content-Length:\r\n\r\n{}", LIBRARY_HEAD_TWICE, 400,
         NULL, NULL},
        {"Content-Length: 2^64", DEPOSIT HOST "Content-Length: 18446744073709551616\r\n\r\n{}",
         LIBRARY_HEAD_TWICE, 413, NULL, NULL},
    };
    assert_answers(CASES(cases));
}
END_TEST

/* What libmicrohttpd answers itself, before our code runs or while it reads a chunked body: its
 * own short page, once, and the connection closed. */
START_TEST(what_the_library_answers_itself_is_one_well_formed_answer) {
    const struct malformed cases[] = {
        {"a header line without a colon", DEPOSIT HOST "NoColonHere\r\n\r\n", LIBRARY, 400, NULL,
         NULL},
        {"a bare LF in the target",
         "PUT /api/accounts/{n}/dep\nosit?sum=5 HTTP/1.1\r\n" HOST "\r\n", LIBRARY, 400, NULL,
         NULL},
        {"a bare CR ending the request line",
         "PUT /api/accounts/{n}/deposit?sum=5 HTTP/1.1\r" HOST "\r\n", LIBRARY, 400, NULL, NULL},
        {"a chunk size that is no hex number",
         DEPOSIT HOST "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", LIBRARY, 400, NULL,
         NULL},
        {"a negative chunk size",
         DEPOSIT HOST "Transfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n", LIBRARY, 400, NULL,
         NULL},
        {"a chunk size past 2^64",
         DEPOSIT HOST "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n{}\r\n0\r\n\r\n",
         LIBRARY, 413, NULL, NULL},
    };
    assert_answers(CASES(cases));
}
END_TEST

int main(void) {
    Suite *s = suite_create("malformed");
    FT_ADD_TEST(s, a_body_of_doubtful_framing_is_refused_with_json_and_a_close);
    FT_ADD_TEST(s, control_bytes_in_the_head_and_a_missing_host_are_400_json);
    FT_ADD_TEST(s, a_content_length_that_is_no_number_is_answered_by_the_library_and_closed);
    FT_ADD_TEST(s, what_the_library_answers_itself_is_one_well_formed_answer);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
