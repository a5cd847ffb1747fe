/* The live stream: GET /api/events/stream sends every event of the change feed as a Server-Sent
 * Event (id: position, data: the event as /api/events shows it), from now, or after Last-Event-ID
 * or ?after= -- replaying what was missed from the table first; ?account= keeps one account's. A
 * subscriber that stops reading is dropped after the idle timeout, without holding up the others,
 * and resumes with Last-Event-ID. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "raw_http.h"

/* ---- a subscriber, by hand ------------------------------------------------------------------ */

struct subscriber {
    int fd;
    char *raw; /* as received: the head, then chunks */
    size_t raw_used, raw_read;
    int head_done;
    long status;
    char *text; /* the body, de-chunked, not yet parsed into events */
    size_t text_used;
    int ended;          /* the server closed the connection */
    int64_t ids[20000]; /* the events received, in order */
    json_t *events;     /* their data */
    size_t count;
    int keepalives;
    int blocks;       /* of the body, events and others */
    int64_t start_id; /* the id of the first block, without data: where the stream began */
};

/* A TCP connection to the server, with a receive buffer of rcvbuf bytes when not 0. */
static int dial(int rcvbuf) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    if (rcvbuf > 0)
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)ft_default_server()->port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_msg(connect(fd, (struct sockaddr *)&address, sizeof address) == 0, "connect: %s",
                  strerror(errno));
    return fd;
}

/* Subscribes with the query (may be "") and extra header lines (each ending in CRLF, may be ""). */
static struct subscriber *subscribe_with(const char *query, const char *headers, int rcvbuf) {
    struct subscriber *s = calloc(1, sizeof *s);
    s->fd = dial(rcvbuf);
    s->events = json_array();
    char request[512];
    int n = snprintf(request, sizeof request,
                     "GET /api/events/stream%s%s HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream"
                     "\r\n%s\r\n",
                     query[0] != '\0' ? "?" : "", query, headers);
    ck_assert(send_all(s->fd, request, (size_t)n, deadline_in(10)));
    return s;
}

static struct subscriber *subscribe(const char *query) {
    return subscribe_with(query, "", 0);
}

/* Parses the complete events of the body so far. */
static void parse_events(struct subscriber *s) {
    char *start = s->text, *end;
    while ((end = strstr(start, "\n\n")) != NULL) {
        *end = '\0';
        s->blocks++;
        int64_t id = -1;
        const char *data = NULL;
        for (char *line = start, *next; line != NULL; line = next) {
            next = strchr(line, '\n');
            if (next != NULL)
                *next++ = '\0';
            if (strncmp(line, "id: ", 4) == 0)
                id = strtoll(line + 4, NULL, 10);
            else if (strncmp(line, "data: ", 6) == 0)
                data = line + 6;
            else if (strcmp(line, ": keepalive") == 0)
                s->keepalives++;
            else
                ck_assert_msg(strncmp(line, "retry: ", 7) == 0, "an unknown line: %s", line);
        }
        if (data == NULL && id >= 0 && s->blocks == 1)
            s->start_id = id;
        if (data != NULL) {
            ck_assert_msg(id > 0, "an event without an id");
            json_t *event = json_loads(data, 0, NULL);
            ck_assert_msg(event != NULL, "data that is not JSON: %s", data);
            ck_assert_int_eq(json_integer_value(json_object_get(event, "position")), id);
            ck_assert_uint_lt(s->count, sizeof s->ids / sizeof s->ids[0]);
            s->ids[s->count++] = id;
            json_array_append_new(s->events, event);
        }
        start = end + 2;
    }
    size_t left = strlen(start);
    memmove(s->text, start, left + 1);
    s->text_used = left;
}

/* De-chunks what has come. */
static void decode(struct subscriber *s) {
    if (!s->head_done) {
        char *end = strstr(s->raw, "\r\n\r\n");
        if (end == NULL)
            return;
        s->head_done = 1;
        s->status = strtol(s->raw + 9, NULL, 10);
        s->raw_read = (size_t)(end + 4 - s->raw);
        ck_assert_msg(strstr(s->raw, "Content-Type: text/event-stream") != NULL, "%s", s->raw);
        ck_assert_msg(strstr(s->raw, "Transfer-Encoding: chunked") != NULL, "%s", s->raw);
    }
    for (;;) {
        char *at = s->raw + s->raw_read, *line_end = strstr(at, "\r\n");
        if (line_end == NULL)
            return;
        size_t size = strtoul(at, NULL, 16);
        size_t header = (size_t)(line_end + 2 - at);
        if (s->raw_used - s->raw_read < header + size + 2)
            return;
        if (size == 0) {
            s->ended = 1;
            return;
        }
        s->text = realloc(s->text, s->text_used + size + 1);
        memcpy(s->text + s->text_used, line_end + 2, size);
        s->text_used += size;
        s->text[s->text_used] = '\0';
        s->raw_read += header + size + 2;
    }
}

/* Reads what has come within timeout_ms; 0 once the connection has ended. */
static int pump(struct subscriber *s, int timeout_ms) {
    if (s->ended)
        return 0;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return 1;
    s->raw = realloc(s->raw, s->raw_used + 65536 + 1);
    ssize_t n = recv(s->fd, s->raw + s->raw_used, 65536, 0);
    if (n <= 0) {
        s->ended = 1;
        return 0;
    }
    s->raw_used += (size_t)n;
    s->raw[s->raw_used] = '\0';
    decode(s);
    if (s->text != NULL)
        parse_events(s);
    return !s->ended;
}

/* Reads until the subscriber has had the event at position head (bounded). */
static void await_through(struct subscriber *s, int64_t head) {
    double deadline = deadline_in(30);
    while (s->count == 0 || s->ids[s->count - 1] < head) {
        ck_assert_msg(ft_now() < deadline, "%zu events came, up to %" PRId64 " of %" PRId64,
                      s->count, s->count > 0 ? s->ids[s->count - 1] : 0, head);
        ck_assert_msg(pump(s, 100), "the stream ended after %zu events", s->count);
    }
}

static void unsubscribe(struct subscriber *s) {
    close(s->fd);
    json_decref(s->events);
    free(s->raw);
    free(s->text);
    free(s);
}

/* The feed's newest position as the table has it, once every event written has one. */
static int64_t feed_head(void) {
    double deadline = ft_now() + 20;
    while (ft_sql_int64("SELECT count(*) FROM events WHERE position IS NULL", NULL) > 0)
        ck_assert_msg(ft_now() < deadline, "events were left without a position");
    return ft_sql_int64("SELECT coalesce(max(position), 0) FROM events", NULL);
}

/* The positions after after of the whole feed (account NULL) or of one account, from the table. */
static int64_t table_count(const char *account, int64_t after) {
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, after);
    if (account == NULL)
        return ft_sql_int64("SELECT count(*) FROM events WHERE position > $1::bigint", text, NULL);
    return ft_sql_int64("SELECT count(*) FROM events e JOIN accounts a ON a.id = e.account_id"
                        " WHERE e.position > $1::bigint AND a.account_number = $2",
                        text, account, NULL);
}

/* Every event after where the stream began, at or before start, up to head: each id one more than
 * the one before, nothing missing, nothing twice. */
static void assert_every_event(const struct subscriber *s, int64_t start, int64_t head) {
    ck_assert_int_le(s->start_id, start);
    ck_assert_int_eq((int64_t)s->count, head - s->start_id);
    for (size_t i = 0; i < s->count; i++)
        ck_assert_int_eq(s->ids[i], s->start_id + 1 + (int64_t)i);
}

/* Waits (bounded) for the stream's first block, which the server sends once the subscriber has its
 * place in the feed: from then on, every new event reaches it. */
static void await_started(struct subscriber *s) {
    double deadline = deadline_in(20);
    while (s->blocks == 0) {
        ck_assert_msg(ft_now() < deadline, "the stream did not start");
        ck_assert_msg(pump(s, 100), "the stream ended before it started");
    }
}

START_TEST(a_subscriber_gets_every_new_event_once_in_order_and_one_accounts_only_if_asked) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    ft_create_account(b);
    int64_t start = feed_head();
    struct subscriber *all = subscribe(""), *only_a = NULL;
    char query[96];
    snprintf(query, sizeof query, "account=%s", a);
    only_a = subscribe(query);
    await_started(all);
    await_started(only_a);
    for (int i = 0; i < 10; i++) {
        ft_move(a, "deposit", 100 + i);
        ft_transfer(a, b, 1);
    }
    int64_t head = feed_head();
    ck_assert_int_eq(head - start, table_count(NULL, start));
    await_through(all, head);
    assert_every_event(all, start, head);
    int64_t only_a_count = table_count(a, only_a->start_id);
    ck_assert_int_ge(only_a_count, 20);
    double deadline = deadline_in(30);
    while ((int64_t)only_a->count < only_a_count) {
        ck_assert_msg(ft_now() < deadline, "%zu of %" PRId64 " events came", only_a->count,
                      only_a_count);
        ck_assert(pump(only_a, 100));
    }
    ck_assert_int_eq(only_a->ids[only_a->count - 1], head - 1); /* the last is b's transfer_in */
    for (size_t i = 0; i < only_a->count; i++)
        ck_assert_str_eq(
            json_string_value(json_object_get(json_array_get(only_a->events, i), "account_number")),
            a);
    /* The same events as the feed's pages show. */
    char path[96];
    snprintf(path, sizeof path, "/api/events?after=%" PRId64 "&limit=1000", all->start_id);
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    ck_assert(json_equal(json_object_get(r->json, "events"), all->events));
    ft_response_free(r);
    unsubscribe(all);
    unsubscribe(only_a);
}
END_TEST

START_TEST(a_subscriber_resumes_after_a_disconnect_with_last_event_id_missing_nothing) {
    char a[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    int64_t start = feed_head();
    struct subscriber *s = subscribe("");
    await_started(s);
    for (int i = 0; i < 5; i++)
        ft_move(a, "deposit", 10);
    await_through(s, feed_head());
    int64_t last_seen = s->ids[s->count - 3]; /* as if it had taken in all but two */
    unsubscribe(s);

    /* While it is away: more events, and many, past what the hub holds in memory. */
    for (int i = 0; i < 5; i++)
        ft_move(a, "deposit", 10);
    ft_sql_int64("SELECT count(*) FROM apply_batch(array_fill('deposit'::text, ARRAY[5000]),"
                 " array_fill($1::text, ARRAY[5000]), array_fill(NULL::text, ARRAY[5000]),"
                 " array_fill(1::bigint, ARRAY[5000]), array_fill(NULL::bigint, ARRAY[5000]),"
                 " array_fill(NULL::int, ARRAY[5000]), array_fill(NULL::text, ARRAY[5000]),"
                 " array_fill(NULL::jsonb, ARRAY[5000]), array_fill(NULL::text, ARRAY[5000]),"
                 " array_fill(NULL::text, ARRAY[5000]), array_fill(NULL::text, ARRAY[5000]),"
                 " array_fill(NULL::bigint, ARRAY[5000]), false)",
                 a, NULL);
    int64_t head = feed_head();

    char header[64];
    snprintf(header, sizeof header, "Last-Event-ID: %" PRId64 "\r\n", last_seen);
    s = subscribe_with("", header, 0);
    await_through(s, head);
    ck_assert_int_eq(s->start_id, last_seen);
    assert_every_event(s, last_seen, head);
    unsubscribe(s);
    /* ?after= does the same; Last-Event-ID wins over it (a browser reconnecting keeps its URL). */
    char query[64];
    snprintf(query, sizeof query, "after=%" PRId64, start);
    snprintf(header, sizeof header, "Last-Event-ID: %" PRId64 "\r\n", head - 2);
    s = subscribe_with(query, header, 0);
    await_through(s, head);
    ck_assert_int_eq(s->start_id, head - 2);
    assert_every_event(s, head - 2, head);
    unsubscribe(s);
    s = subscribe(query);
    await_through(s, head);
    ck_assert_int_eq(s->start_id, start);
    assert_every_event(s, start, head);
    unsubscribe(s);
}
END_TEST

START_TEST(a_stream_request_with_bad_parameters_is_refused_naming_them) {
    const struct {
        const char *path, *header, *field;
        long status;
    } bad[] = {
        {"/api/events/stream?after=-1", NULL, "after", 400},
        {"/api/events/stream?after=x", NULL, "after", 400},
        {"/api/events/stream", "Last-Event-ID: abc", "Last-Event-ID", 400},
        {"/api/events/stream", "Last-Event-ID: 01", "Last-Event-ID", 400},
        {"/api/events/stream?account=1234567890123452", NULL, "account", 404},
        {"/api/events/stream?account=12x", NULL, "account", 404},
        {"/api/events/stream?account=1&account=2", NULL, "account", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *headers[] = {bad[i].header, NULL};
        struct ft_response *r = ft_http_with_headers("GET", bad[i].path, NULL, headers);
        ft_assert_error(r, bad[i].status,
                        bad[i].status == 400 ? "invalid_request" : "account_not_found", NULL);
        ft_assert_error_field(r, bad[i].field);
        ft_response_free(r);
    }
}
END_TEST

/* Whether the request of request_id is over, by the server's access log (a line per request, once
 * it is). */
static int request_over(const char *request_id) {
    FILE *log = fopen(ft_default_server()->out_path, "r");
    ck_assert_ptr_nonnull(log);
    char *line = NULL, needle[96];
    snprintf(needle, sizeof needle, "\"request_id\":\"%s\"", request_id);
    size_t size = 0;
    int over = 0;
    while (!over && getline(&line, &size, log) > 0)
        over = strstr(line, needle) != NULL;
    free(line);
    fclose(log);
    return over;
}

START_TEST(a_subscriber_that_stops_reading_is_dropped_and_the_others_are_not_held_up) {
    char a[FT_ACCOUNT_SIZE], memo[1200];
    ft_create_account(a);
    int64_t start = feed_head();
    char slow_id[64], slow_header[96];
    snprintf(slow_id, sizeof slow_id, "slow-subscriber-%ld-%ld", (long)getpid(), (long)time(NULL));
    snprintf(slow_header, sizeof slow_header, "X-Request-Id: %s\r\n", slow_id);
    struct subscriber *slow = subscribe_with("", slow_header, 4096), *fast = subscribe("");
    await_started(fast);
    /* The slow one reads its head, then nothing. */
    double deadline = deadline_in(20);
    while (!slow->head_done) {
        ck_assert(ft_now() < deadline);
        pump(slow, 100);
    }
    /* Events of about a kilobyte each, far more than the socket buffers hold. */
    memset(memo, 'x', 480);
    memo[480] = '\0';
    char body[2600], path[96];
    snprintf(body, sizeof body, "{\"sum\": 1, \"metadata\": {\"a\": \"%s\", \"b\": \"%s\"}}", memo,
             memo);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
    const int events = 1500;
    for (int i = 0; i < events; i++) {
        struct ft_response *r = ft_http("POST", path, body);
        ft_assert_status(r, 200);
        ft_response_free(r);
        if (i % 50 == 0)
            pump(fast, 0);
    }
    int64_t head = feed_head();
    await_through(fast, head);
    assert_every_event(fast, start, head);

    /* The server gives up on the slow one after the idle timeout (2 s here): its stream's line
     * reaches the access log when it ends. */
    deadline = deadline_in(30);
    while (!request_over(slow_id)) {
        ck_assert_msg(ft_now() < deadline, "the slow subscriber was never dropped");
        usleep(100 * 1000);
    }
    /* What it had been sent, it can still read: a prefix of the feed, then the end. */
    deadline = deadline_in(30);
    while (pump(slow, 1000))
        ck_assert_msg(ft_now() < deadline, "the slow subscriber's connection did not end");
    ck_assert_int_le(slow->start_id, start);
    ck_assert_int_lt((int64_t)slow->count, head - slow->start_id);
    for (size_t i = 0; i < slow->count; i++)
        ck_assert_int_eq(slow->ids[i], slow->start_id + 1 + (int64_t)i);
    /* It resumes where it was cut off, and gets the rest. */
    char header[64];
    int64_t last = slow->count > 0 ? slow->ids[slow->count - 1] : slow->start_id;
    snprintf(header, sizeof header, "Last-Event-ID: %" PRId64 "\r\n", last);
    struct subscriber *again = subscribe_with("", header, 0);
    await_through(again, head);
    assert_every_event(again, last, head);
    unsubscribe(again);
    unsubscribe(slow);
    unsubscribe(fast);
}
END_TEST

/* The service's memory with this many is a figure of scripts/bench (a Release build). */
#define MANY_SUBSCRIBERS 1000

START_TEST(a_thousand_subscribers_each_get_every_event) {
    struct rlimit limit;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &limit), 0);
    if (limit.rlim_cur < 4096 && (limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= 4096)) {
        limit.rlim_cur = 4096;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &limit), 0);
    }
    char a[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    int64_t start = feed_head();
    static struct subscriber *many[MANY_SUBSCRIBERS];
    for (int i = 0; i < MANY_SUBSCRIBERS; i++)
        many[i] = subscribe("");
    for (int i = 0; i < MANY_SUBSCRIBERS; i++)
        await_started(many[i]);
    for (int i = 0; i < 20; i++)
        ft_move(a, "deposit", 5);
    int64_t head = feed_head();
    for (int i = 0; i < MANY_SUBSCRIBERS; i++) {
        await_through(many[i], head);
        assert_every_event(many[i], start, head);
    }
    fprintf(stderr, "stream: %d subscribers, each got all %" PRId64 " events\n", MANY_SUBSCRIBERS,
            head - start);
    for (int i = 0; i < MANY_SUBSCRIBERS; i++)
        unsubscribe(many[i]);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("stream");
    FT_ADD_TEST(suite,
                a_subscriber_gets_every_new_event_once_in_order_and_one_accounts_only_if_asked);
    FT_ADD_TEST(suite, a_subscriber_resumes_after_a_disconnect_with_last_event_id_missing_nothing);
    FT_ADD_TEST(suite, a_stream_request_with_bad_parameters_is_refused_naming_them);
    FT_ADD_TEST(suite, a_subscriber_that_stops_reading_is_dropped_and_the_others_are_not_held_up);
    FT_ADD_TEST(suite, a_thousand_subscribers_each_get_every_event);
    static const char *const env[] = {"MX_IDLE_TIMEOUT=2", NULL};
    return ft_main(suite, 1, FT_DATABASE_URL, env);
}
