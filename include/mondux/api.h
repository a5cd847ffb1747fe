/* Controllers: read a request's parameters, call the store, render the JSON answer. They see
 * neither HTTP library nor database, only these plain structs; src/http fills one in, calls the
 * handler its route table names, and sends what the handler wrote. */
#ifndef MONDUX_API_H
#define MONDUX_API_H

#include <stddef.h>

#include "mondux/db.h"
#include "mondux/status.h"
#include "mondux/store.h"

struct mx_response;

/* The answer to a request whose work went to the database (mx_api_submit). The HTTP layer keeps
 * one per request; a controller fills in op, and once the database has answered, finish renders
 * the answer from op's results -- on the loop's thread, like everything else. */
struct mx_later {
    struct mx_db_op op;
    /* Set by mx_api_submit: writes the answer from op. */
    void (*finish)(struct mx_later *later, struct mx_response *response);
    /* The controller's own, for finish. */
    unsigned success_status; /* 200 or 201 */
    int with_location;       /* a success answers with a Location */
    int variant;             /* which of its renderings finish writes (a statement's: 1 CSV) */
    char *fingerprint;       /* a keyed request's, which op.fingerprint borrows; malloc'd */
    char *metadata;          /* the request's metadata, which op.metadata borrows; malloc'd */
    /* Set by the HTTP layer: called once, when finish may run. */
    void (*wake)(struct mx_later *later);
    struct mx_db *db; /* set by mx_api_submit: where an answer streamed later asks for more */
};

struct mx_request {
    const char *method; /* borrowed, e.g. "PUT" */
    const char *path;   /* borrowed, decoded path */
    const char *route;  /* borrowed, the route table's pattern, e.g. "/api/accounts/{n}" */
    /* Borrowed, the {n} of the route ("" when the route has none): an account number, or a
     * transfer or hold id on /api/transfers/{n} and /api/holds/{n}. */
    const char *account_number;
    /* Borrowed, the id of the API key the request came with; "" when the service runs without
     * API keys. Idempotency-Keys belong to it. */
    const char *client;
    const char *body; /* borrowed, NUL-terminated; "" when there is none */
    size_t body_size;
    /* Value of a query parameter, or NULL; *count (may be NULL) gets how often it appears. The
     * returned string is borrowed from the request. */
    const char *(*query)(const struct mx_request *request, const char *name, unsigned *count);
    /* The same for a request header (name case-insensitive). */
    const char *(*header)(const struct mx_request *request, const char *name, unsigned *count);
    void *transport; /* the HTTP layer's own handle, for query() */
    /* Borrowed: the currency of a new account that names none (MX_CURRENCY). */
    const char *currency;
    /* Room for an answer that comes from the database, and the database to ask. */
    struct mx_later *later;
    struct mx_db *db;
};

/* What a streamed answer's body can say when asked for more (mx_stream). */
enum mx_stream_state {
    MX_STREAM_MORE,   /* bytes were written; ask again */
    MX_STREAM_WAIT,   /* nothing now: wake is called once there is */
    MX_STREAM_END,    /* the body is complete */
    MX_STREAM_FAILED, /* it cannot go on: the answer ends cut off, so the client sees it incomplete
                       */
};

/* An answer whose body is made while it is sent (a statement, the live stream): the HTTP layer
 * asks read for more whenever the socket has room, and waits -- the connection put aside, never
 * the loop -- after MX_STREAM_WAIT until wake. The producer embeds it first in its own struct. */
struct mx_stream {
    /* Up to size bytes of what comes next into buffer: how many (> 0 only with MX_STREAM_MORE). */
    size_t (*read)(struct mx_stream *stream, char *buffer, size_t size,
                   enum mx_stream_state *state);
    /* Called once, when the answer is over (sent, or the client gone); frees the producer. */
    void (*release)(struct mx_stream *stream);
    /* The live stream: it never ends by itself, so shutdown ends it, and a client that stops
     * reading is cut after the idle timeout with little of it buffered. */
    int endless;
    /* Set by the HTTP layer: the producer calls it (on the loop's thread, never inside read) once
     * read has more to say after MX_STREAM_WAIT. Calling it at another time is harmless. */
    void (*wake)(struct mx_stream *stream);
    void *transport; /* the HTTP layer's */
};

struct mx_response {
    unsigned http_status;
    const char *content_type; /* static string, or NULL for a body-less 304 */
    char *body;               /* new: malloc'd, or static when body_is_static */
    size_t body_size;
    int body_is_static;
    char location[96];    /* "" when none */
    const char *allow;    /* static string, or NULL */
    unsigned retry_after; /* seconds; 0 when none */
    const char *etag;     /* static string, or NULL; an answer with one may be cached */
    int replayed;         /* the stored answer to an earlier request with the same key */
    /* static string, or NULL: the Content-Security-Policy of an answer a browser renders */
    const char *content_security_policy;
    /* NULL, or a body made while it is sent (chunked); body is then unused. The response owns
     * it: mx_api_response_free releases it if it is never sent. */
    struct mx_stream *stream;
    char disposition[160]; /* Content-Disposition, "" when none */
    /* The handler handed its work to the database (mx_api_submit): the answer is
     * later->finish's, and nothing else here is filled in. */
    int later;
};

typedef void (*mx_handler)(const struct mx_request *request, struct mx_response *response);

/* Fills response with the error body and headers for status (api.md "Errors"). */
void mx_api_error(mx_status status, struct mx_response *response);

/* Like mx_api_error, with message as the "error" sentence instead of the status table's, and a
 * "field" member naming the one input at fault. Both borrowed, valid UTF-8, and may be NULL: the
 * table's sentence, and no "field". */
void mx_api_error_detail(mx_status status, const char *field, const char *message,
                         struct mx_response *response);

/* Hands request->later->op (filled in by the handler) to the database, to be answered by finish;
 * sets response->later. The handler returns at once. */
void mx_api_submit(const struct mx_request *request, struct mx_response *response,
                   void (*finish)(struct mx_later *later, struct mx_response *response));

/* Frees what the request's work holds, its answer from the database included; the HTTP layer
 * calls it once the request is over. */
void mx_api_later_release(struct mx_later *later);

/* Releases what a handler put into response. */
void mx_api_response_free(struct mx_response *response);

void mx_api_create_account(const struct mx_request *request, struct mx_response *response);
void mx_api_create_account_original(const struct mx_request *request, struct mx_response *response);
void mx_api_get_account(const struct mx_request *request, struct mx_response *response);
void mx_api_get_balance(const struct mx_request *request, struct mx_response *response);
void mx_api_deposit(const struct mx_request *request, struct mx_response *response);
void mx_api_withdraw(const struct mx_request *request, struct mx_response *response);
void mx_api_get_transactions(const struct mx_request *request, struct mx_response *response);
void mx_api_get_events(const struct mx_request *request, struct mx_response *response);
void mx_api_get_account_events(const struct mx_request *request, struct mx_response *response);
void mx_api_stream_events(const struct mx_request *request, struct mx_response *response);
void mx_api_get_statement(const struct mx_request *request, struct mx_response *response);
void mx_api_freeze_account(const struct mx_request *request, struct mx_response *response);
void mx_api_unfreeze_account(const struct mx_request *request, struct mx_response *response);
void mx_api_close_account(const struct mx_request *request, struct mx_response *response);
void mx_api_set_overdraft(const struct mx_request *request, struct mx_response *response);
void mx_api_create_hold(const struct mx_request *request, struct mx_response *response);
void mx_api_list_holds(const struct mx_request *request, struct mx_response *response);
void mx_api_get_hold(const struct mx_request *request, struct mx_response *response);
void mx_api_capture_hold(const struct mx_request *request, struct mx_response *response);
void mx_api_void_hold(const struct mx_request *request, struct mx_response *response);
void mx_api_create_transfer(const struct mx_request *request, struct mx_response *response);
void mx_api_get_transfer(const struct mx_request *request, struct mx_response *response);
void mx_api_healthz(const struct mx_request *request, struct mx_response *response);
void mx_api_readyz(const struct mx_request *request, struct mx_response *response);
void mx_api_metrics(const struct mx_request *request, struct mx_response *response);
/* The teller page's files (web/): the route names the file ("/" is index.html). */
void mx_api_web_file(const struct mx_request *request, struct mx_response *response);
/* The OpenAPI document (docs/openapi.yaml) the binary was built with. */
void mx_api_openapi(const struct mx_request *request, struct mx_response *response);

#endif
