/* The libmicrohttpd daemon on the event loop: accumulates each request (within the limits), routes
 * it, sends the controller's answer -- at once, or once the database has answered, the connection
 * suspended meanwhile -- logs it, and frees everything in the completion callback. Everything here
 * runs on the loop's one thread: libmicrohttpd polls nothing itself (external epoll mode), and the
 * request timeout and the drain on shutdown are deadlines of the loop. */
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "message_syntax.h"
#include "mondux/db.h"
#include "mondux/http.h"
#include "mondux/loop.h"
#include "mondux/log.h"
#include "mondux/metrics.h"
#include "router.h"

/* How long shutdown waits for in-flight requests before closing anyway. */
#define DRAIN_TIMEOUT_MS 10000
/* A client's X-Request-Id is kept when it is 1..64 visible ASCII characters. */
#define REQUEST_ID_MAX 64
/* How much of a User-Agent the access log keeps. */
#define USER_AGENT_MAX 256
/* Room libmicrohttpd keeps per connection beyond our own URL and header limits, so that it is
 * our JSON 414/431 that answers an oversized request, not the library's own answer -- unless the
 * request outgrows even this. Each open connection holds (and on every request clears) this much
 * memory: with the default limits 32 KiB, so 1,000 connections cost about 32 MB. */
#define CONNECTION_MEMORY_SLACK (8 * 1024)

struct mx_http_server {
    struct MHD_Daemon *daemon;
    struct mx_http_config config;
    struct mx_loop *loop;
    struct mx_db *db;
    struct mx_loop_io daemon_io;       /* libmicrohttpd's epoll descriptor */
    struct mx_loop_timer daemon_timer; /* libmicrohttpd's own next deadline (idle connections) */
    struct mx_loop_hook hook;
    unsigned in_flight;
    unsigned waiting; /* requests whose connection is suspended until the database answers */
    struct connection_ctx *connections; /* every open one, for the drain */
    struct stream_ctx *streams;         /* every answer being streamed, for the drain */
    /* Stopping: no new connection is accepted, and the drain tells when the work is done. */
    int stopping;
    MHD_socket listener;        /* handed back by MHD_quiesce_daemon: ours to close */
    struct mx_loop_timer drain; /* each pass of the drain */
    uint64_t drain_deadline_ns;
    void (*drained)(void *arg);
    void *drained_arg;
    unsigned long next_request;
    unsigned long id_prefix;
};

/* A request needs at most a few query arguments; more than this many is refused (414). */
#define QUERY_ARGUMENTS_MAX 100

/* Where a connection stands, for the request timeout: a request may take request_timeout to
 * arrive, counted from its request line (and the request line as long from the connection's start
 * or the previous answer), however slowly it keeps sending -- which the idle timeout alone would
 * not catch ("slowloris"). A request being served is never cut. */
enum connection_phase {
    PHASE_IDLE,      /* between requests */
    PHASE_RECEIVING, /* a request line has come; its headers and body are arriving */
    PHASE_SERVING,   /* the request is being answered: the clock stands */
    PHASE_CUT,       /* shut down: libmicrohttpd closes it on its next read */
};

/* Per-connection state: from libmicrohttpd's "connection started" to "closed". */
struct connection_ctx {
    struct mx_http_server *server;
    struct connection_ctx *prev, *next;
    enum connection_phase phase;
    uint64_t phase_since_ns;
    struct mx_loop_timer deadline;
    int fd;
    size_t uri_length;        /* of the request being received, as sent (before decoding) */
    const char *uri_end;      /* where libmicrohttpd ended its target: see target_has_nul */
    unsigned query_arguments; /* of the request being received, as sent */
    int target_malformed;     /* a control byte or a space in it */
    char peer[64];            /* "address:port" of the client, for the access log */
};

/* A streamed answer (mx_stream) being sent: created with its libmicrohttpd response, freed when
 * libmicrohttpd lets go of that. */
struct stream_ctx {
    struct mx_stream *stream;
    struct mx_http_server *server;
    struct MHD_Connection *connection;
    struct request_ctx *request; /* for the log's byte count; NULL once the request is over */
    int suspended;               /* put aside until the producer wakes it */
    struct stream_ctx *prev, *next;
};

/* Per-request state: created on the first call of a request, freed in on_completed. */
struct request_ctx {
    struct mx_later later; /* first: wake() finds its request_ctx from it */
    int waiting;           /* its connection is suspended until the database answers */
    int answered;          /* the database did: answer holds what to send */
    struct mx_response answer;
    struct mx_route_match match;
    const char *url, *method_name; /* libmicrohttpd's, valid until on_completed */
    struct mx_http_server *server;
    struct MHD_Connection *connection;
    struct connection_ctx *conn;
    struct stream_ctx *stream; /* its answer's, while it is streamed */
    struct timespec started;
    char *body;
    size_t body_size;
    int body_too_large;
    int close_connection; /* where its body ends is in doubt: none of it is read */
    unsigned status;      /* what was answered, for the log */
    size_t bytes_sent;    /* the answer's body, for the log */
    const char *route;    /* the route table's pattern, or NULL */
    const char *client;   /* the API key's id, or "" */
    char request_id[REQUEST_ID_MAX + 1];
    char method[16]; /* copies for the log line, truncated */
    char path[257];
    char user_agent[USER_AGENT_MAX + 1];
};

/* For the in-flight gauge of /metrics; there is one server per process. */
static struct mx_http_server *current_server;

static unsigned read_in_flight(void) {
    return current_server != NULL ? current_server->in_flight : 0;
}

/* ---- the request timeout ------------------------------------------------------------------ */

static void set_phase(struct connection_ctx *conn, enum connection_phase phase);

/* Shutting the socket down (not closing it: the fd stays libmicrohttpd's) makes its next read
 * fail, and libmicrohttpd then closes the connection. */
static void cut(struct connection_ctx *conn) {
    shutdown(conn->fd, SHUT_RDWR);
    set_phase(conn, PHASE_CUT);
    mx_loop_again(conn->server->loop);
}

static void on_request_deadline(void *arg) {
    struct connection_ctx *conn = arg;
    if (conn->phase == PHASE_IDLE || conn->phase == PHASE_RECEIVING)
        cut(conn);
}

static void set_phase(struct connection_ctx *conn, enum connection_phase phase) {
    struct mx_http_server *server = conn->server;
    conn->phase = phase;
    conn->phase_since_ns = mx_loop_now_ns(server->loop);
    if (phase == PHASE_IDLE || phase == PHASE_RECEIVING)
        mx_loop_timer_set(server->loop, &conn->deadline,
                          (uint64_t)server->config.request_timeout * 1000u, on_request_deadline,
                          conn);
    else
        mx_loop_timer_cancel(server->loop, &conn->deadline);
}

/* One pass over a request's headers or query arguments: how often name occurs, and its first
 * value. The value comes from the same comparison that counts: libmicrohttpd's own lookup ignores
 * case, so for "?SUM=999&sum=5" it would hand back 999 as "sum" (found by fuzzing). */
struct value_search {
    const char *name;
    int case_insensitive; /* header names are, argument names are not */
    unsigned count;
    const char *value; /* borrowed from the request; NULL until found */
};

static enum MHD_Result find_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value) {
    (void)kind;
    struct value_search *search = cls;
    if ((search->case_insensitive ? strcasecmp(key, search->name) : strcmp(key, search->name)) ==
        0) {
        if (search->count++ == 0)
            search->value = value;
    }
    return MHD_YES;
}

static struct value_search search_values(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                                         const char *name) {
    struct value_search search = {name, kind == MHD_HEADER_KIND, 0, NULL};
    MHD_get_connection_values(connection, kind, find_value, &search);
    return search;
}

static const char *lookup(const struct mx_request *request, enum MHD_ValueKind kind,
                          const char *name, unsigned *count) {
    struct value_search search = search_values(request->transport, kind, name);
    if (count != NULL)
        *count = search.count;
    return search.value;
}

static const char *query_value(const struct mx_request *request, const char *name,
                               unsigned *count) {
    return lookup(request, MHD_GET_ARGUMENT_KIND, name, count);
}

static const char *header_value(const struct mx_request *request, const char *name,
                                unsigned *count) {
    return lookup(request, MHD_HEADER_KIND, name, count);
}

/* libmicrohttpd decodes %XX in the path and the query; a decoded %00 would cut a string short
 * ("5%00abc" read as "5"), and a decoded %2F would split a path segment in two, so that a proxy in
 * front and we would route "/api/accounts/1%2Fdeposit" differently. Such input is left undecoded
 * instead: a '%' is never valid in a sum, an account number or a route, so it is refused
 * downstream. */
static size_t unescape(void *cls, struct MHD_Connection *connection, char *text) {
    (void)cls;
    (void)connection;
    if (strstr(text, "%00") != NULL || strstr(text, "%2F") != NULL || strstr(text, "%2f") != NULL)
        return strlen(text);
    return MHD_http_unescape(text);
}

static void add_header(struct MHD_Response *response, const char *name, const char *value) {
    if (MHD_add_response_header(response, name, value) != MHD_YES)
        mx_log(MX_LOG_ERROR, "could not add header %s", name);
}

/* ---- streamed answers ---------------------------------------------------------------------- */

/* A stream's block: what one read may write. The live stream's is small because a thousand of
 * them stay open; a statement's is large because it is read through once. */
#define STREAM_BLOCK         (32 * 1024)
#define ENDLESS_STREAM_BLOCK (4 * 1024)
/* The kernel's send buffer of a live stream's connection: a subscriber that stops reading holds
 * at most this much there, and soon nothing more can be written to it, so the idle timeout
 * drops it. */
#define ENDLESS_STREAM_SNDBUF (64 * 1024)

static ssize_t read_stream(void *cls, uint64_t position, char *buffer, size_t size) {
    (void)position;
    struct stream_ctx *s = cls;
    if (s->server->stopping && s->stream->endless)
        return MHD_CONTENT_READER_END_OF_STREAM;
    enum mx_stream_state state = MX_STREAM_FAILED;
    size_t n = s->stream->read(s->stream, buffer, size, &state);
    if (n > 0 && state == MX_STREAM_MORE) {
        if (s->request != NULL)
            s->request->bytes_sent += n;
        return (ssize_t)n;
    }
    if (state == MX_STREAM_WAIT) {
        /* libmicrohttpd's prescribed "no data yet": suspend, return 0, resume when there is. */
        MHD_suspend_connection(s->connection);
        s->suspended = 1;
        s->server->waiting++;
        return 0;
    }
    return state == MX_STREAM_END ? MHD_CONTENT_READER_END_OF_STREAM
                                  : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void wake_stream(struct mx_stream *stream) {
    struct stream_ctx *s = stream->transport;
    if (!s->suspended)
        return;
    s->suspended = 0;
    s->server->waiting--;
    MHD_resume_connection(s->connection);
    mx_loop_again(s->server->loop);
}

static void release_stream(void *cls) {
    struct stream_ctx *s = cls;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        s->server->streams = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    if (s->request != NULL)
        s->request->stream = NULL;
    s->stream->release(s->stream);
    free(s);
}

/* The libmicrohttpd response of a streamed answer; takes over out->stream (released even when
 * NULL is returned). */
static struct MHD_Response *stream_response(struct request_ctx *ctx, struct mx_response *out) {
    struct mx_stream *stream = out->stream;
    out->stream = NULL;
    struct stream_ctx *s = calloc(1, sizeof *s);
    if (s == NULL) {
        stream->release(stream);
        return NULL;
    }
    *s = (struct stream_ctx){stream, ctx->server, ctx->connection, ctx, 0, NULL, NULL};
    stream->transport = s;
    stream->wake = wake_stream;
    struct MHD_Response *response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, stream->endless ? ENDLESS_STREAM_BLOCK : STREAM_BLOCK, read_stream, s,
        release_stream);
    if (response == NULL) {
        stream->release(stream);
        free(s);
        return NULL;
    }
    s->next = ctx->server->streams;
    if (s->next != NULL)
        s->next->prev = s;
    ctx->server->streams = s;
    ctx->stream = s;
    if (stream->endless && ctx->conn != NULL) {
        int sndbuf = ENDLESS_STREAM_SNDBUF;
        setsockopt(ctx->conn->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
    return response;
}

/* Shutting down: every live stream ends (its read says so once woken); statements finish. */
static void end_endless_streams(struct mx_http_server *server) {
    for (struct stream_ctx *s = server->streams; s != NULL; s = s->next)
        if (s->stream->endless)
            wake_stream(s->stream);
}

/* Sends what the controller wrote; takes over response->body. */
static enum MHD_Result send_response(struct request_ctx *ctx, struct mx_response *out) {
    /* Being answered, early ones (4xx before routing) too: the request timeout leaves it alone
     * now -- unless it has cut it, when no answer could be sent. */
    if (ctx->conn != NULL && ctx->conn->phase == PHASE_CUT) {
        mx_api_response_free(out);
        return MHD_NO;
    }
    if (ctx->conn != NULL)
        set_phase(ctx->conn, PHASE_SERVING);
    /* The client sees only the code; this line ties the details logged before to the request. */
    if (out->http_status >= 500)
        mx_log(MX_LOG_ERROR, "request id=%s answered %u", ctx->request_id, out->http_status);
    struct MHD_Response *response;
    if (out->stream != NULL)
        response = stream_response(ctx, out);
    else if (out->body_is_static)
        response =
            MHD_create_response_from_buffer(out->body_size, out->body, MHD_RESPMEM_PERSISTENT);
    else
        response =
            MHD_create_response_from_buffer(out->body_size, out->body, MHD_RESPMEM_MUST_FREE);
    if (response == NULL) {
        mx_api_response_free(out);
        return MHD_NO;
    }
    out->body = NULL; /* the response owns it now */
    if (out->content_type != NULL)
        add_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, out->content_type);
    /* An answer with an entity tag (a page file) may be kept, but is revalidated on every use, so
     * a new binary's page is seen at once; everything else (the API) is never stored. */
    add_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
               out->etag != NULL ? "no-cache" : "no-store");
    if (out->etag != NULL)
        add_header(response, MHD_HTTP_HEADER_ETAG, out->etag);
    if (out->disposition[0] != '\0')
        add_header(response, "Content-Disposition", out->disposition);
    if (out->content_security_policy != NULL)
        add_header(response, "Content-Security-Policy", out->content_security_policy);
    /* Every answer means exactly its declared type, and no URL of ours leaks in a Referer. */
    add_header(response, "X-Content-Type-Options", "nosniff");
    add_header(response, "Referrer-Policy", "no-referrer");
    if (out->location[0] != '\0')
        add_header(response, MHD_HTTP_HEADER_LOCATION, out->location);
    if (out->allow != NULL)
        add_header(response, MHD_HTTP_HEADER_ALLOW, out->allow);
    if (out->replayed)
        add_header(response, "Idempotent-Replayed", "true");
    if (out->retry_after > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%u", out->retry_after);
        add_header(response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    if (out->http_status == 401)
        add_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"mondux\"");
    /* Shutting down: this answer ends its connection, so a client that keeps sending on it does
     * not hold up the drain. */
    if (ctx->server->stopping || ctx->close_connection)
        add_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    add_header(response, "X-Request-Id", ctx->request_id);
    ctx->status = out->http_status;
    ctx->bytes_sent = strcmp(ctx->method, MHD_HTTP_METHOD_HEAD) == 0 ? 0 : out->body_size;
    /* Through a proxy too, each piece of a stream is passed on as it comes. */
    if (ctx->stream != NULL)
        add_header(response, "X-Accel-Buffering", "no");
    enum MHD_Result result = MHD_queue_response(ctx->connection, out->http_status, response);
    MHD_destroy_response(response);
    return result;
}

static enum MHD_Result send_error(struct request_ctx *ctx, mx_status status) {
    struct mx_response out = {0};
    mx_api_error(status, &out);
    return send_response(ctx, &out);
}

/* Why a request's head is refused before routing: the status, and the header at fault (NULL when
 * none) with the sentence that names its rule (NULL: the status table's). */
struct head_refusal {
    mx_status status;
    const char *field;
    const char *message;
};

static enum MHD_Result send_refusal(struct request_ctx *ctx, struct head_refusal refusal) {
    struct mx_response out = {0};
    mx_api_error_detail(refusal.status, refusal.field, refusal.message, &out);
    return send_response(ctx, &out);
}

/* The client's X-Request-Id when it is one sane value, so its logs and ours meet; else ours. */
/* What the checks before routing need from the request's headers, read in one pass over them:
 * their total size, and the few headers the server itself looks at. */
struct head_scan {
    size_t bytes;        /* each header line with its ": " and CRLF */
    int malformed_field; /* a name that is no token, a value with a CR or LF */
    struct value_search request_id;
    struct value_search authorization;
    struct value_search content_length;
    struct value_search transfer_encoding;
    struct value_search host;
    struct value_search user_agent;
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
    struct head_scan *scan = cls;
    scan->bytes += strlen(key) + (value != NULL ? strlen(value) : 0) + 4;
    if (!mx_http_is_field_name(key) || (value != NULL && !mx_http_is_field_value(value)))
        scan->malformed_field = 1;
    find_value(&scan->request_id, kind, key, value);
    find_value(&scan->authorization, kind, key, value);
    find_value(&scan->content_length, kind, key, value);
    find_value(&scan->transfer_encoding, kind, key, value);
    find_value(&scan->host, kind, key, value);
    find_value(&scan->user_agent, kind, key, value);
    return MHD_YES;
}

static struct head_scan scan_head(struct MHD_Connection *connection) {
    struct head_scan scan = {0,
                             0,
                             {"X-Request-Id", 1, 0, NULL},
                             {MHD_HTTP_HEADER_AUTHORIZATION, 1, 0, NULL},
                             {MHD_HTTP_HEADER_CONTENT_LENGTH, 1, 0, NULL},
                             {MHD_HTTP_HEADER_TRANSFER_ENCODING, 1, 0, NULL},
                             {MHD_HTTP_HEADER_HOST, 1, 0, NULL},
                             {MHD_HTTP_HEADER_USER_AGENT, 1, 0, NULL}};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, scan_header, &scan);
    return scan;
}

static void choose_request_id(struct request_ctx *ctx, const struct head_scan *head) {
    const struct value_search search = head->request_id;
    const char *theirs = search.value;
    size_t length = theirs != NULL ? strlen(theirs) : 0;
    int sane = search.count == 1 && length >= 1 && length <= REQUEST_ID_MAX;
    for (size_t i = 0; sane && i < length; i++)
        sane = theirs[i] > 0x20 && theirs[i] < 0x7f;
    if (sane)
        memcpy(ctx->request_id, theirs, length + 1);
    else
        snprintf(ctx->request_id, sizeof ctx->request_id, "%08lx-%06lx", ctx->server->id_prefix,
                 ctx->server->next_request++ & 0xffffffUL);
}

static struct connection_ctx *connection_of(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info != NULL ? info->socket_context : NULL;
}

static struct request_ctx *request_begin(struct mx_http_server *server,
                                         struct MHD_Connection *connection, const char *method,
                                         const char *url, const struct head_scan *head) {
    struct request_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return NULL;
    ctx->server = server;
    ctx->connection = connection;
    ctx->conn = connection_of(connection);
    ctx->client = "";
    clock_gettime(CLOCK_MONOTONIC, &ctx->started);
    snprintf(ctx->method, sizeof ctx->method, "%s", method);
    snprintf(ctx->path, sizeof ctx->path, "%s", url);
    snprintf(ctx->user_agent, sizeof ctx->user_agent, "%s",
             head->user_agent.value != NULL ? head->user_agent.value : "");
    choose_request_id(ctx, head);
    server->in_flight++;
    return ctx;
}

/* libmicrohttpd 0.9.75 hands the request line on as C strings, so a NUL byte sent inside the
 * target would cut it short unseen ("withdraw?sum=7<NUL>&sum=8" read as "withdraw?sum=7"). It
 * ends the target just before the version, so the version starts right after the target's end
 * unless a NUL came first. The pointers are only compared, never followed. */
static int target_has_nul(const struct connection_ctx *conn, const char *version) {
    return conn != NULL && conn->uri_end != NULL && version != NULL && version[0] != '\0' &&
           version != conn->uri_end + 1;
}

/* What HTTP/1.1 forbids in a head and libmicrohttpd 0.9.75 lets through. Above all, where the
 * body ends must be beyond doubt before a byte of it is read (RFC 9112 6), or a proxy in front may
 * have read it the other way, and the next request on the connection with it. The library answers
 * a Content-Length that is not a plain number itself, before our code runs, but not one that
 * comes with a Transfer-Encoding, nor one with a space before its colon (kept as another name).
 * 400, 501 for a coding we cannot undo, or MX_OK; either refusal closes the connection. */
static struct head_refusal check_syntax(const struct head_scan *head, const char *version) {
    const struct value_search *length = &head->content_length, *coding = &head->transfer_encoding;
    if (head->malformed_field)
        return (struct head_refusal){MX_INVALID_REQUEST, NULL,
                                     "a header line must be a name of letters, digits or "
                                     "!#$%&'*+-.^_`|~, a colon, and a value without CR or LF"};
    /* HTTP/1.1 requires exactly one Host (RFC 9112 3.2). */
    if (version != NULL && strcmp(version, MHD_HTTP_VERSION_1_1) == 0 && head->host.count != 1)
        return (struct head_refusal){MX_INVALID_REQUEST, "Host",
                                     "an HTTP/1.1 request must carry exactly one Host header"};
    if (length->count > 1)
        return (struct head_refusal){MX_INVALID_REQUEST, "Content-Length",
                                     "Content-Length must be sent once"};
    if (coding->count > 1)
        return (struct head_refusal){MX_INVALID_REQUEST, "Transfer-Encoding",
                                     "Transfer-Encoding must be sent once"};
    if (length->count == 1 && coding->count == 1)
        return (struct head_refusal){MX_INVALID_REQUEST, "Transfer-Encoding",
                                     "a request carries Content-Length or Transfer-Encoding, not "
                                     "both"};
    uint64_t declared;
    if (length->count == 1 && !mx_http_parse_content_length(length->value, &declared))
        return (struct head_refusal){MX_INVALID_REQUEST, "Content-Length",
                                     "Content-Length must be a whole number of bytes in ASCII "
                                     "digits"};
    if (coding->count == 1 && strcasecmp(coding->value, "chunked") != 0)
        return (struct head_refusal){MX_NOT_IMPLEMENTED, "Transfer-Encoding", NULL};
    return (struct head_refusal){MX_OK, NULL, NULL};
}

/* The limits a request's head must keep, checked once it has arrived: 414, 431, or MX_OK. */
static mx_status check_head(const struct request_ctx *ctx, const struct head_scan *head) {
    size_t uri_length = ctx->conn != NULL ? ctx->conn->uri_length : strlen(ctx->path);
    if (uri_length > ctx->server->config.url_limit ||
        (ctx->conn != NULL && ctx->conn->query_arguments > QUERY_ARGUMENTS_MAX))
        return MX_URI_TOO_LONG;
    if (head->bytes > ctx->server->config.header_limit)
        return MX_HEADERS_TOO_LARGE;
    return MX_OK;
}

static int is_api_path(const char *path) {
    return strncmp(path, "/api", 4) == 0 && (path[4] == '\0' || path[4] == '/');
}

/* With API keys configured, every /api request must carry exactly one
 * "Authorization: Bearer <secret>" of a known key whose scope allows the route. MX_OK and the
 * key's id in ctx->client; MX_UNAUTHORIZED; or MX_FORBIDDEN with the scope's sentence (the id
 * still in ctx->client, for the log). The secret itself is never copied or logged. */
static struct head_refusal authenticate(struct request_ctx *ctx, const char *method,
                                        const char *url, const struct head_scan *head) {
    struct head_refusal refusal = {MX_UNAUTHORIZED, NULL, NULL};
    const struct mx_api_keys *keys = ctx->server->config.api_keys;
    if (keys == NULL || !is_api_path(ctx->path))
        return (struct head_refusal){MX_OK, NULL, NULL};
    const char *value = head->authorization.value;
    if (head->authorization.count != 1 || value == NULL || strncasecmp(value, "Bearer ", 7) != 0)
        return refusal;
    const char *secret = value + 7;
    while (*secret == ' ')
        secret++;
    const struct mx_api_scope *scope = NULL;
    const char *id = mx_api_keys_match(keys, secret, &scope);
    if (id == NULL)
        return refusal;
    ctx->client = id;
    /* The route's level against the key's scope. Without a route (404, 405) the method says it:
     * a read key is refused anything but GET and HEAD before its input is looked at. */
    struct mx_route_match match;
    /* The whole method and path, as dispatch routes them: ctx's copies are cut for the log. */
    mx_route(method, url, &match);
    enum mx_access needs = match.status == MX_OK ? match.access
                           : strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0
                               ? MX_ACCESS_READ
                               : MX_ACCESS_TELLER;
    if (!mx_api_scope_allows(scope, needs))
        return (struct head_refusal){MX_FORBIDDEN, NULL, scope->refusal};
    return (struct head_refusal){MX_OK, NULL, NULL};
}

/* Keeps the body unless it grows past the limit; after that, the rest is read and dropped. */
static void accumulate(struct request_ctx *ctx, const char *data, size_t size) {
    if (ctx->body_too_large)
        return;
    size_t limit = ctx->server->config.body_limit;
    /* Out of memory is answered like too large: we can't keep it, refusing is the safe answer. */
    char *grown =
        size > limit - ctx->body_size ? NULL : realloc(ctx->body, ctx->body_size + size + 1);
    if (grown == NULL) {
        ctx->body_too_large = 1;
        free(ctx->body);
        ctx->body = NULL;
        ctx->body_size = 0;
        return;
    }
    memcpy(grown + ctx->body_size, data, size);
    ctx->body = grown;
    ctx->body_size += size;
    ctx->body[ctx->body_size] = '\0';
}

/* A declared Content-Length over the limit is refused before reading a byte of the body. */
static int declared_too_large(const struct head_scan *head, size_t limit) {
    uint64_t declared;
    return head->content_length.value != NULL &&
           mx_http_parse_content_length(head->content_length.value, &declared) && declared > limit;
}

/* The database has answered a request (op's completion, on the loop's thread): its answer is
 * written now, and sent once libmicrohttpd calls on_request again for the resumed connection. */
static void wake(struct mx_later *later) {
    struct request_ctx *ctx = (struct request_ctx *)later;
    later->finish(later, &ctx->answer);
    ctx->answered = 1;
    ctx->waiting = 0;
    ctx->server->waiting--;
    MHD_resume_connection(ctx->connection);
    mx_loop_again(ctx->server->loop);
}

/* The request as the controllers see it. */
static void build_request(struct request_ctx *ctx, struct mx_request *request) {
    *request = (struct mx_request){
        .method = ctx->method_name,
        .path = ctx->url,
        .route = ctx->match.pattern,
        .account_number = ctx->match.capture,
        .client = ctx->client,
        .body = ctx->body != NULL ? ctx->body : "",
        .body_size = ctx->body_size,
        .query = query_value,
        .header = header_value,
        .transport = ctx->connection,
        .later = &ctx->later,
        .db = ctx->server->db,
        .currency = ctx->server->config.currency,
    };
}

static enum MHD_Result dispatch(struct request_ctx *ctx, const char *url, const char *method) {
    if (ctx->body_too_large)
        return send_error(ctx, MX_PAYLOAD_TOO_LARGE);
    /* Cut by the request timeout: an answer could no longer reach the client, so nothing is
     * started, and libmicrohttpd closes the connection. */
    if (ctx->conn != NULL && ctx->conn->phase == PHASE_CUT)
        return MHD_NO;
    if (ctx->conn != NULL)
        set_phase(ctx->conn, PHASE_SERVING);

    mx_route(method, url, &ctx->match);
    ctx->route = ctx->match.pattern;
    struct mx_response out = {0};
    if (ctx->match.status != MX_OK) {
        mx_api_error(ctx->match.status, &out);
        if (ctx->match.status == MX_METHOD_NOT_ALLOWED)
            out.allow = ctx->match.allow;
        return send_response(ctx, &out);
    }
    ctx->url = url;
    ctx->method_name = method;
    struct mx_request request;
    build_request(ctx, &request);
    ctx->later.wake = wake;
    ctx->match.handler(&request, &out);
    if (!out.later)
        return send_response(ctx, &out);
    /* Put aside until the database answers; its completion always comes in a later turn of the
     * loop, so the suspension comes first. */
    MHD_suspend_connection(ctx->connection);
    ctx->waiting = 1;
    ctx->server->waiting++;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    struct mx_http_server *server = cls;
    struct request_ctx *ctx = *con_cls;
    if (ctx == NULL) {
        struct head_scan head = scan_head(connection);
        ctx = request_begin(server, connection, method, url, &head);
        if (ctx == NULL)
            return MHD_NO;
        *con_cls = ctx;
        /* The head is checked before a byte of the body is read: its syntax and size, where the
         * body ends, who is asking, and a declared body size over the limit. */
        int target_malformed = target_has_nul(ctx->conn, version) ||
                               (ctx->conn != NULL && ctx->conn->target_malformed);
        struct head_refusal refused = {check_head(ctx, &head), NULL, NULL};
        if (target_malformed)
            refused = (struct head_refusal){MX_INVALID_REQUEST, NULL,
                                            "the request target must be a path and query without "
                                            "spaces, control characters or NUL bytes"};
        if (refused.status == MX_OK) {
            refused = check_syntax(&head, version);
            ctx->close_connection = refused.status != MX_OK;
        }
        if (refused.status == MX_OK)
            refused = authenticate(ctx, method, url, &head);
        if (refused.status == MX_OK && declared_too_large(&head, server->config.body_limit))
            refused.status = MX_PAYLOAD_TOO_LARGE;
        if (refused.status != MX_OK) {
            ctx->body_too_large = refused.status == MX_PAYLOAD_TOO_LARGE;
            return send_refusal(ctx, refused);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        accumulate(ctx, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (ctx->status != 0)
        return MHD_YES;  /* answered early (413, 414, 431, 401); nothing more to say */
    if (ctx->answered) { /* resumed */
        struct mx_response out = ctx->answer;
        memset(&ctx->answer, 0, sizeof ctx->answer);
        return send_response(ctx, &out);
    }
    if (ctx->waiting)
        return MHD_YES;
    return dispatch(ctx, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode code) {
    (void)code;
    (void)connection;
    struct mx_http_server *server = cls;
    struct request_ctx *ctx = *con_cls;
    if (ctx == NULL)
        return;
    *con_cls = NULL;
    /* A suspended request never ends here: libmicrohttpd sees it again only once resumed. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long elapsed_us = (long long)(now.tv_sec - ctx->started.tv_sec) * 1000000LL +
                           (now.tv_nsec - ctx->started.tv_nsec) / 1000LL;
    mx_metrics_request(ctx->route, ctx->method, ctx->status,
                       elapsed_us > 0 ? (uint64_t)elapsed_us : 0);
    /* Status 0 in the log: the client went away before an answer was queued. */
    if (server->config.access_log)
        mx_access_log(&(struct mx_access_entry){
            ctx->method, ctx->path, ctx->status, &ctx->started, ctx->request_id, ctx->client,
            ctx->conn != NULL ? ctx->conn->peer : "", ctx->user_agent, ctx->bytes_sent});
    if (ctx->conn != NULL && ctx->conn->phase != PHASE_CUT)
        set_phase(ctx->conn, PHASE_IDLE);
    if (ctx->stream != NULL)
        ctx->stream->request = NULL;
    mx_api_response_free(&ctx->answer);
    mx_api_later_release(&ctx->later);
    free(ctx->body);
    free(ctx);
    server->in_flight--;
}

/* "address:port" ("[v6 address]:port") of the client, or "" when unknown. */
static void describe_peer(struct MHD_Connection *connection, char *out, size_t size) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[NI_MAXHOST], port[NI_MAXSERV];
    out[0] = '\0';
    if (info == NULL || info->client_addr == NULL)
        return;
    const struct sockaddr *address = info->client_addr;
    socklen_t length =
        address->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo(address, length, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return;
    snprintf(out, size, address->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* A connection opens or closes: its state, and its request timeout. */
static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    struct mx_http_server *server = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct connection_ctx *conn = calloc(1, sizeof *conn);
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (conn != NULL && info != NULL) {
            conn->server = server;
            conn->fd = info->connect_fd;
            describe_peer(connection, conn->peer, sizeof conn->peer);
            conn->next = server->connections;
            if (conn->next != NULL)
                conn->next->prev = conn;
            server->connections = conn;
            set_phase(conn, PHASE_IDLE);
        } else {
            free(conn);
            conn = NULL;
        }
        *socket_context = conn;
        return;
    }
    struct connection_ctx *conn = *socket_context;
    *socket_context = NULL;
    if (conn != NULL) {
        mx_loop_timer_cancel(server->loop, &conn->deadline);
        if (conn->prev != NULL)
            conn->prev->next = conn->next;
        else
            server->connections = conn->next;
        if (conn->next != NULL)
            conn->next->prev = conn->prev;
        free(conn);
    }
}

/* Called with each request line as sent, before it is decoded: remembers its length and its
 * number of query arguments for the 414 check, which sees the query string only in pieces.
 *
 * libmicrohttpd keeps every argument in the connection's fixed memory before our code sees the
 * request; past a few hundred it runs out, and then cannot even send its own error, leaving the
 * client waiting for the idle timeout (found by fuzzing). A request line that cannot fit is
 * therefore cut off here and now: its connection is closed without an answer. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *connection) {
    struct mx_http_server *server = cls;
    struct connection_ctx *conn = connection_of(connection);
    if (conn == NULL)
        return NULL;
    /* The clock restarts for the rest of the request, so a keep-alive pause before it is not the
     * request's; a cut one stays cut. */
    if (conn->phase == PHASE_IDLE)
        set_phase(conn, PHASE_RECEIVING);
    conn->uri_length = strlen(uri);
    conn->uri_end = uri + conn->uri_length;
    conn->target_malformed = !mx_http_is_target(uri);
    const char *query = strchr(uri, '?');
    unsigned arguments = query != NULL ? 1 : 0;
    for (const char *p = query; p != NULL && *p != '\0'; p++)
        arguments += *p == '&';
    conn->query_arguments = arguments;
    size_t memory_limit =
        server->config.url_limit + server->config.header_limit + CONNECTION_MEMORY_SLACK;
    /* An argument costs libmicrohttpd about 60 bytes of it; stay well inside. */
    if (arguments > memory_limit / 128)
        shutdown(conn->fd, SHUT_RDWR);
    return NULL;
}

/* ---- libmicrohttpd on the loop ----------------------------------------------------------- */

static void run_daemon(struct mx_http_server *server) {
    if (MHD_run(server->daemon) != MHD_YES)
        mx_log(MX_LOG_ERROR, "libmicrohttpd could not run");
}

static void on_daemon_ready(void *arg, unsigned events) {
    (void)events;
    run_daemon(arg);
}

static void on_daemon_deadline(void *arg) {
    run_daemon(arg);
}

/* Before the loop waits: what libmicrohttpd has to do now (a resumed connection), and when it
 * next must run (an idle connection's timeout). */
static void before_wait(void *arg) {
    struct mx_http_server *server = arg;
    run_daemon(server);
    MHD_UNSIGNED_LONG_LONG timeout_ms = 0;
    if (MHD_get_timeout(server->daemon, &timeout_ms) == MHD_YES)
        mx_loop_timer_set(server->loop, &server->daemon_timer, timeout_ms, on_daemon_deadline,
                          server);
    else
        mx_loop_timer_cancel(server->loop, &server->daemon_timer);
}

mx_status mx_http_start(const struct mx_http_config *config, struct mx_loop *loop, struct mx_db *db,
                        struct mx_http_server **out, unsigned *bound_port) {
    const struct mx_http_listener *listener = config->listener;
    struct mx_http_server *server = calloc(1, sizeof *server);
    if (server == NULL)
        return MX_INTERNAL;
    server->config = *config;
    server->loop = loop;
    server->db = db;
    server->listener = MHD_INVALID_SOCKET;
    server->id_prefix = (unsigned long)time(NULL) & 0xffffffffUL;
    size_t memory_limit = config->url_limit + config->header_limit + CONNECTION_MEMORY_SLACK;

    /* No thread of its own: the loop waits on its epoll descriptor and calls MHD_run. */
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (listener->is_ipv6 ? MHD_USE_IPv6 : 0);
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, server, MHD_OPTION_LISTEN_SOCKET, listener->fd,
        MHD_OPTION_CONNECTION_LIMIT, config->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        config->idle_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory_limit,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, server, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, server, MHD_OPTION_URI_LOG_CALLBACK, on_uri, server,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        server->daemon != NULL ? MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_EPOLL_FD)
                               : NULL;
    if (info == NULL || mx_loop_io_add(loop, &server->daemon_io, info->epoll_fd, MX_LOOP_READ,
                                       on_daemon_ready, server) != 0) {
        mx_log(MX_LOG_ERROR, "cannot serve on %s:%u", config->host, listener->port);
        if (server->daemon != NULL)
            MHD_stop_daemon(server->daemon);
        free(server);
        return MX_INTERNAL;
    }
    mx_loop_before_wait(loop, &server->hook, before_wait, server);
    current_server = server;
    mx_metrics_set_in_flight_source(read_in_flight);
    *bound_port = listener->port;
    *out = server;
    return MX_OK;
}

/* ---- the drain ------------------------------------------------------------------------------ */

/* How long shutdown lets a connection sit idle or receive before it is cut: a request that has
 * just arrived is still served, one that is still arriving (a slow body, say) is not waited for. */
#define DRAIN_CUT_AFTER_NS 1000000000ull
#define DRAIN_PASS_MS      20

static void drain_pass(void *arg) {
    struct mx_http_server *server = arg;
    uint64_t now = mx_loop_now_ns(server->loop);
    for (struct connection_ctx *conn = server->connections; conn != NULL; conn = conn->next)
        if ((conn->phase == PHASE_IDLE || conn->phase == PHASE_RECEIVING) &&
            now - conn->phase_since_ns >= DRAIN_CUT_AFTER_NS)
            cut(conn);
    if ((server->in_flight == 0 && server->waiting == 0) || now >= server->drain_deadline_ns) {
        server->drained(server->drained_arg);
        return;
    }
    mx_loop_timer_set(server->loop, &server->drain, DRAIN_PASS_MS, drain_pass, server);
}

void mx_http_drain(struct mx_http_server *server, void (*drained)(void *arg), void *arg) {
    if (server->stopping)
        return;
    /* Stop accepting first; requests already arriving or being served finish and are answered,
     * with Connection: close. */
    server->listener = MHD_quiesce_daemon(server->daemon);
    server->stopping = 1;
    end_endless_streams(server);
    server->drained = drained;
    server->drained_arg = arg;
    server->drain_deadline_ns = mx_loop_now_ns(server->loop) + DRAIN_TIMEOUT_MS * 1000000ull;
    mx_loop_timer_set(server->loop, &server->drain, 0, drain_pass, server);
}

int mx_http_stop(struct mx_http_server *server) {
    if (server == NULL)
        return 1;
    /* Stopping the daemon with a suspended connection is undefined behaviour in libmicrohttpd;
     * their completions never came (the database is stuck), so leave it to the process exit. */
    if (server->waiting > 0) {
        mx_log(MX_LOG_ERROR, "%u requests still wait for the database; exiting without them",
               server->waiting);
        return 0;
    }
    mx_loop_forget(server->loop, &server->hook);
    mx_loop_timer_cancel(server->loop, &server->daemon_timer);
    mx_loop_timer_cancel(server->loop, &server->drain);
    mx_loop_io_remove(server->loop, &server->daemon_io);
    MHD_stop_daemon(server->daemon);
    if (server->listener != MHD_INVALID_SOCKET)
        close(server->listener);
    mx_metrics_set_in_flight_source(NULL);
    current_server = NULL;
    fflush(stdout);
    free(server);
    return 1;
}
