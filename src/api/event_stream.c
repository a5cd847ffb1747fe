/* GET /api/events/stream: the change feed live, as Server-Sent Events. A subscriber starts after
 * Last-Event-ID (or ?after=), or from now; it reads what it missed from the table a page at a
 * time, and then follows the hub (event_hub.h), which holds the newest events for everyone. Each
 * subscriber is a position and a little text to send: what it costs does not grow with how far
 * behind it is, and one that stops reading is cut by the idle timeout (the HTTP layer keeps the
 * socket's buffer small), to resume with Last-Event-ID. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_hub.h"
#include "mondux/account_number.h"
#include "mondux/log.h"
#include "mondux/money.h"
#include "outbox.h"
#include "query.h"
#include "render.h"

/* Events read from the table at a time, by a subscriber that is behind the hub. */
#define CATCH_UP_EVENTS 500
/* Text gathered from the hub before it is sent: about one block of the HTTP layer's. */
#define GATHER_BYTES 4096

static const char keepalive_comment[] = ": keepalive\n\n";

struct subscriber {
    struct mx_stream stream; /* first: the HTTP layer's handle is the subscriber */
    struct hub_member member;
    struct event_hub *hub;
    struct mx_db *db;
    char account[MX_ACCT_LENGTH + 1]; /* only its events; "" for all */
    int started;                      /* cursor is set */
    int64_t cursor;                   /* every event up to this position has been looked at */
    struct outbox out;                /* to send */
    int keepalive_due;
    struct mx_db_op op; /* a page of what it missed, from the table */
    int64_t head_then;  /* the hub's head when the page was asked for */
    int reading, arrived, abandoned, failed;
};

static void append(struct subscriber *s, const char *bytes, size_t n) {
    outbox_append(&s->out, bytes, n);
}

/* The first thing a subscriber gets, once it has its place in the feed: that place, as an id
 * without data -- a browser's EventSource keeps it as its last event id, so that even a stream
 * cut before its first event resumes where it began -- and how long to wait before reconnecting. */
static void append_start(struct subscriber *s) {
    char start[64];
    int n = snprintf(start, sizeof start, "id: %" PRId64 "\nretry: 2000\n\n", s->cursor);
    append(s, start, (size_t)n);
}

static void free_subscriber(struct subscriber *s) {
    mx_db_op_release(&s->op);
    outbox_free(&s->out);
    free(s);
}

static void caught_up(struct mx_db_op *op) {
    struct subscriber *s = op->arg;
    s->reading = 0;
    if (s->abandoned) {
        free_subscriber(s);
        return;
    }
    s->arrived = 1;
    s->stream.wake(&s->stream);
}

/* Asks the table for what comes after the cursor. */
static void catch_up(struct subscriber *s) {
    mx_db_op_release(&s->op);
    memset(&s->op, 0, sizeof s->op);
    s->op.kind = MX_DB_EVENTS;
    snprintf(s->op.account, sizeof s->op.account, "%s", s->account);
    s->op.after = s->cursor;
    s->op.limit = CATCH_UP_EVENTS;
    s->op.done = caught_up;
    s->op.arg = s;
    s->head_then = event_hub_head(s->hub);
    s->reading = 1;
    mx_db_submit(s->db, &s->op);
}

/* The page from the table, rendered. A short page holds everything up to the hub's head of when
 * it was asked for (that snapshot began later), so the cursor moves at least that far. */
static void render_caught_up(struct subscriber *s) {
    s->arrived = 0;
    if (s->op.status != MX_OK) {
        mx_log(MX_LOG_WARN, "a live stream could not read the feed; it is ended, to be resumed");
        s->failed = 1;
        return;
    }
    for (unsigned i = 0; i < s->op.entry_count; i++) {
        struct hub_event e;
        if (!event_hub_render(&s->op.entries[i], &e)) {
            s->failed = 1;
            break;
        }
        append(s, e.text, e.size);
        free(e.text);
        s->cursor = e.position;
    }
    if (s->op.entry_count < s->op.limit && s->cursor < s->head_then)
        s->cursor = s->head_then;
    mx_db_op_release(&s->op);
}

/* Events the hub holds after the cursor, this subscriber's only: 1 when it could go on. */
static int gather(struct subscriber *s) {
    int64_t head = event_hub_head(s->hub);
    while (s->cursor < head && s->out.used < GATHER_BYTES) {
        const struct hub_event *e = event_hub_event(s->hub, s->cursor + 1);
        if (e == NULL)
            return 0; /* gone from the hub: to be read from the table */
        if (s->account[0] == '\0' || strcmp(s->account, e->account) == 0)
            append(s, e->text, e->size);
        s->cursor++;
    }
    return 1;
}

static size_t read_events(struct mx_stream *stream, char *buffer, size_t size,
                          enum mx_stream_state *state) {
    struct subscriber *s = (struct subscriber *)stream;
    for (;;) {
        if (!outbox_empty(&s->out)) {
            *state = MX_STREAM_MORE;
            return outbox_take(&s->out, buffer, size);
        }
        if (s->keepalive_due) {
            s->keepalive_due = 0;
            append(s, keepalive_comment, sizeof keepalive_comment - 1);
        } else if (s->arrived) {
            render_caught_up(s);
        } else if (s->failed || s->out.failed) {
            *state = MX_STREAM_FAILED;
            return 0;
        } else if (s->reading || !event_hub_ready(s->hub)) {
            *state = MX_STREAM_WAIT;
            return 0;
        } else {
            if (!s->started) {
                s->cursor = event_hub_head(s->hub);
                s->started = 1;
                append_start(s);
                continue; /* sent first: from now on, every new event reaches it */
            }
            if (!gather(s) && s->out.used == 0)
                catch_up(s);
            if (s->out.used == 0) {
                *state = MX_STREAM_WAIT;
                return 0;
            }
        }
    }
}

static void poke(struct hub_member *member, int keepalive) {
    struct subscriber *s =
        (struct subscriber *)((char *)member - offsetof(struct subscriber, member));
    if (keepalive)
        s->keepalive_due = 1;
    if (s->stream.wake != NULL)
        s->stream.wake(&s->stream);
}

static void release_events(struct mx_stream *stream) {
    struct subscriber *s = (struct subscriber *)stream;
    event_hub_leave(s->hub, &s->member);
    if (s->reading)
        s->abandoned = 1;
    else
        free_subscriber(s);
}

/* The stream for a subscriber of account ("" all) after position after (-1: from now). */
static void start_stream(struct mx_db *db, const char *account, int64_t after,
                         struct mx_response *response) {
    struct event_hub *hub = event_hub_of(db);
    struct subscriber *s = hub != NULL ? calloc(1, sizeof *s) : NULL;
    if (s == NULL) {
        mx_api_error(MX_INTERNAL, response);
        return;
    }
    s->stream.read = read_events;
    s->stream.release = release_events;
    s->stream.endless = 1;
    s->member.poke = poke;
    s->hub = hub;
    s->db = db;
    snprintf(s->account, sizeof s->account, "%s", account);
    s->started = after >= 0;
    s->cursor = after >= 0 ? after : 0;
    if (s->started)
        append_start(s);
    event_hub_join(hub, &s->member);
    response->http_status = 200;
    response->content_type = "text/event-stream";
    response->stream = &s->stream;
}

static void render_account_stream(struct mx_later *later, struct mx_response *response) {
    if (later->op.status == MX_ACCOUNT_NOT_FOUND) {
        mx_api_error_detail(MX_ACCOUNT_NOT_FOUND, "account", NULL, response);
        return;
    }
    if (mx_api_render_failure(later, response))
        return;
    start_stream(later->db, later->op.account, later->op.after, response);
}

/* Where to start: Last-Event-ID (what a browser's EventSource sends when it reconnects), else
 * ?after=; -1 for neither. */
static mx_status start_of(const struct mx_request *request, int64_t *after,
                          struct mx_api_refusal *why) {
    unsigned count = 0;
    const char *last_id = request->header(request, "Last-Event-ID", &count);
    uint64_t position;
    *after = -1;
    if (count > 0) {
        if (count > 1 || !mx_parse_decimal(last_id, (uint64_t)MX_ID_MAX, &position))
            return mx_api_refuse(why, MX_INVALID_REQUEST, "Last-Event-ID",
                                 "Last-Event-ID must be given once, as an event's id: a position");
        *after = (int64_t)position;
        return MX_OK;
    }
    position = UINT64_MAX;
    mx_status status = mx_api_query_number(request, "after", 0, (uint64_t)MX_ID_MAX,
                                           ": a position, as an event's id", &position, why);
    if (status == MX_OK && position != UINT64_MAX)
        *after = (int64_t)position;
    return status;
}

void mx_api_stream_events(const struct mx_request *request, struct mx_response *response) {
    struct mx_api_refusal why;
    int64_t after;
    const char *account = NULL;
    mx_status status = start_of(request, &after, &why);
    if (status == MX_OK)
        status = mx_api_query_text(request, "account", &account, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    if (account == NULL) {
        start_stream(request->db, "", after, response);
        return;
    }
    /* Only an account that exists can be followed: asked first. */
    if (!mx_acct_is_valid(account)) {
        mx_api_error_detail(MX_ACCOUNT_NOT_FOUND, "account", NULL, response);
        return;
    }
    struct mx_db_op *op = &request->later->op;
    op->kind = MX_DB_READ_ACCOUNT;
    snprintf(op->account, sizeof op->account, "%s", account);
    op->after = after;
    mx_api_submit(request, response, render_account_stream);
}
