/* GET /api/accounts/{n}/statement?from=&to=: an account's statement of a period, as JSON or CSV.
 * Its sums come first, in one snapshot (statement_summary); its entries then follow page by
 * page, each page read only once the one before has gone out, so a statement of a million entries
 * holds one page in memory and shares the database with every other request between its pages. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mondux/account_number.h"
#include "mondux/log.h"
#include "mondux/money.h"
#include "outbox.h"
#include "query.h"
#include "render.h"

/* Entries read at a time. */
#define STATEMENT_PAGE 500
/* The longest period a statement covers: a year, leap day included. */
#define STATEMENT_MAX_US (366 * INT64_C(86400) * 1000000)

static const char csv_content_type[] = "text/csv; charset=utf-8; header=present";

struct statement {
    struct mx_stream stream; /* first: the HTTP layer's handle is the statement */
    struct mx_db *db;
    struct mx_db_op page; /* the summary's answer, then each page's */
    int csv;
    enum { PART_HEAD, PART_ENTRIES, PART_TAIL, PART_DONE } part;
    char *head;        /* the JSON summary, without its closing brace */
    struct outbox out; /* rendered, not yet all sent */
    int64_t shown;     /* entries rendered so far */
    int reading;       /* a page is with the database */
    int arrived;       /* it has come: its entries are to be rendered */
    int failed;        /* the answer cannot be completed */
    int abandoned;     /* released while a page was with the database: freed when it comes */
};

/* ---- the text being sent ----------------------------------------------------------------------
 */

static void append(struct statement *s, const char *bytes, size_t n) {
    outbox_append(&s->out, bytes, n);
}

static void append_text(struct statement *s, const char *text) {
    outbox_append_text(&s->out, text);
}

/* One CSV field (RFC 4180): quoted, its quotes doubled, when it holds a comma, a quote or a line
 * break; as it is otherwise. */
static void append_csv_field(struct statement *s, const char *value, int last) {
    if (strpbrk(value, ",\"\r\n") == NULL) {
        append_text(s, value);
    } else {
        append(s, "\"", 1);
        for (const char *p = value; *p != '\0'; p++) {
            if (*p == '"')
                append(s, "\"", 1);
            append(s, p, 1);
        }
        append(s, "\"", 1);
    }
    append_text(s, last ? "\r\n" : ",");
}

static void append_csv_number(struct statement *s, int64_t value, int shown) {
    char digits[24] = "";
    if (shown)
        snprintf(digits, sizeof digits, "%" PRId64, value);
    append_csv_field(s, digits, 0);
}

static const char csv_header[] =
    "entry_id,created_at,type,amount_minor,amount,balance_after_minor,balance_after,currency,"
    "counterparty,transfer_id,hold_id,reference,metadata\r\n";

static void append_csv_entry(struct statement *s, const struct mx_entry *e) {
    int exponent = s->page.period_out.exponent;
    char major[32];
    append_csv_number(s, e->id, 1);
    append_csv_field(s, e->created_at, 0);
    append_csv_field(s, e->kind, 0);
    append_csv_number(s, e->amount_cents, 1);
    mx_money_format(e->amount_cents, exponent, major, sizeof major);
    append_csv_field(s, major, 0);
    append_csv_number(s, e->balance_after_cents, 1);
    mx_money_format(e->balance_after_cents, exponent, major, sizeof major);
    append_csv_field(s, major, 0);
    append_csv_field(s, e->currency, 0);
    append_csv_field(s, e->counterparty, 0);
    append_csv_number(s, e->transfer_id, e->transfer_id != 0);
    append_csv_number(s, e->hold_id, e->hold_id != 0);
    append_csv_field(s, e->reference, 0);
    append_csv_field(s, e->metadata != NULL ? e->metadata : "", 1);
}

static void append_json_entry(struct statement *s, const struct mx_entry *e) {
    json_t *json = mx_api_entry_json(e);
    char *text = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (text == NULL) {
        s->failed = 1;
        return;
    }
    if (s->shown > 0)
        append(s, ",", 1);
    append_text(s, text);
    free(text);
}

/* The page that came: rendered, and released. */
static void render_page(struct statement *s) {
    struct mx_db_op *page = &s->page;
    for (unsigned i = 0; i < page->entry_count; i++) {
        if (s->csv)
            append_csv_entry(s, &page->entries[i]);
        else
            append_json_entry(s, &page->entries[i]);
        s->shown++;
    }
    if (page->entry_count > 0)
        page->after = page->entries[page->entry_count - 1].id;
    int last = page->entry_count < page->limit || page->after >= page->period_out.last_id;
    mx_db_op_release(page);
    s->arrived = 0;
    if (!last)
        return;
    /* The pages hold exactly the entries the sums were taken over, or the statement would not
     * add up: cut it off rather than send one that does not. */
    if (s->shown != page->period_out.entry_count) {
        mx_log(MX_LOG_ERROR, "statement of %s: %" PRId64 " entries, its summary counted %" PRId64,
               page->account, s->shown, page->period_out.entry_count);
        s->failed = 1;
    }
    s->part = PART_TAIL;
}

static void free_statement(struct statement *s) {
    mx_db_op_release(&s->page);
    free(s->head);
    outbox_free(&s->out);
    free(s);
}

static void page_done(struct mx_db_op *op) {
    struct statement *s = op->arg;
    s->reading = 0;
    if (s->abandoned) {
        free_statement(s);
        return;
    }
    if (op->status != MX_OK) {
        mx_log(MX_LOG_ERROR, "statement of %s: a page could not be read", op->account);
        s->failed = 1;
    }
    s->arrived = 1;
    s->stream.wake(&s->stream);
}

static size_t read_statement(struct mx_stream *stream, char *buffer, size_t size,
                             enum mx_stream_state *state) {
    struct statement *s = (struct statement *)stream;
    for (;;) {
        if (!outbox_empty(&s->out)) {
            *state = MX_STREAM_MORE;
            return outbox_take(&s->out, buffer, size);
        }
        if (s->failed || s->out.failed) {
            *state = MX_STREAM_FAILED;
            return 0;
        }
        switch (s->part) {
        case PART_HEAD:
            append_text(s, s->csv ? csv_header : s->head);
            s->part = s->page.period_out.entry_count > 0 ? PART_ENTRIES : PART_TAIL;
            break;
        case PART_ENTRIES:
            if (s->arrived) {
                render_page(s);
                break;
            }
            if (!s->reading) {
                s->reading = 1;
                s->page.kind = MX_DB_STATEMENT_PAGE;
                s->page.limit = STATEMENT_PAGE;
                s->page.done = page_done;
                s->page.arg = s;
                mx_db_submit(s->db, &s->page);
            }
            *state = MX_STREAM_WAIT;
            return 0;
        case PART_TAIL:
            if (!s->csv)
                append_text(s, "]}\n");
            s->part = PART_DONE;
            break;
        case PART_DONE:
            *state = MX_STREAM_END;
            return 0;
        }
    }
}

static void release_statement(struct mx_stream *stream) {
    struct statement *s = (struct statement *)stream;
    if (s->reading)
        s->abandoned = 1;
    else
        free_statement(s);
}

/* ---- the request ------------------------------------------------------------------------------
 */

/* The JSON summary, opened for its entries: {"account_number": ..., "entries":[ */
static char *json_head(const struct mx_db_op *op) {
    const struct mx_period *p = &op->period_out;
    json_t *json = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "account_number", op->account_out.number,
        "currency", op->account_out.currency, "from", op->at, "to", op->until, "opening_balance",
        (json_int_t)p->opening_cents, "closing_balance", (json_int_t)p->closing_cents,
        "total_credits", (json_int_t)p->credits_cents, "total_debits", (json_int_t)p->debits_cents,
        "entry_count", (json_int_t)p->entry_count);
    char *text = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (text == NULL)
        return NULL;
    size_t n = strlen(text); /* ends in '}' */
    char *head = malloc(n + sizeof ",\"entries\":[");
    if (head != NULL)
        snprintf(head, n + sizeof ",\"entries\":[", "%.*s,\"entries\":[", (int)(n - 1), text);
    free(text);
    return head;
}

/* An instant for a file name: its date when it is a midnight, else its time without colons. */
static void file_instant(const char *utc, char *out, size_t size) {
    if (strcmp(utc + 10, "T00:00:00.000000Z") == 0)
        snprintf(out, size, "%.10s", utc);
    else
        snprintf(out, size, "%.10sT%.2s%.2s%.2sZ", utc, utc + 11, utc + 14, utc + 17);
}

static void render_statement(struct mx_later *later, struct mx_response *response) {
    if (mx_api_render_failure(later, response))
        return;
    const struct mx_db_op *op = &later->op;
    const struct mx_period *p = &op->period_out;
    /* The sums are one snapshot's and the balances the journal's: they agree, or the ledger is
     * broken and no statement is sent. */
    if (p->opening_cents + p->credits_cents - p->debits_cents != p->closing_cents) {
        mx_log(MX_LOG_ERROR, "statement of %s does not add up", op->account);
        mx_api_error(MX_INTERNAL, response);
        return;
    }
    struct statement *s = calloc(1, sizeof *s);
    int csv = later->variant == 1;
    char *head = csv ? NULL : json_head(op);
    if (s == NULL || (!csv && head == NULL)) {
        free(s);
        free(head);
        mx_api_error(MX_INTERNAL, response);
        return;
    }
    s->stream.read = read_statement;
    s->stream.release = release_statement;
    s->db = later->db;
    s->csv = csv;
    s->head = head;
    s->page.kind = MX_DB_STATEMENT_PAGE;
    snprintf(s->page.account, sizeof s->page.account, "%s", op->account);
    memcpy(s->page.at, op->at, sizeof s->page.at);
    memcpy(s->page.until, op->until, sizeof s->page.until);
    s->page.period_out = *p;
    s->page.after = p->first_id - 1;
    response->http_status = 200;
    response->stream = &s->stream;
    if (csv) {
        char from[24], to[24];
        file_instant(op->at, from, sizeof from);
        file_instant(op->until, to, sizeof to);
        response->content_type = csv_content_type;
        snprintf(response->disposition, sizeof response->disposition,
                 "attachment; filename=\"statement-%s-%s-%s.csv\"", op->account, from, to);
    } else {
        response->content_type = "application/json";
    }
}

/* Whether an Accept header names text/csv (media types are case-insensitive). */
static int accepts_csv(const char *accept) {
    for (const char *p = accept; p != NULL && *p != '\0'; p++)
        if (strncasecmp(p, "text/csv", 8) == 0)
            return 1;
    return 0;
}

/* CSV when ?format=csv, or when no format is named and the client accepts text/csv. */
static mx_status wants_csv(const struct mx_request *request, int *csv, struct mx_api_refusal *why) {
    static const char *const formats[] = {"json", "csv", NULL};
    const char *format;
    mx_status status = mx_api_query_word(request, "format", formats, &format, why);
    if (status != MX_OK)
        return status;
    const char *accept = request->header(request, "Accept", NULL);
    *csv = format != NULL ? strcmp(format, "csv") == 0 : accepts_csv(accept);
    return MX_OK;
}

/* ?from= and ?to=: both needed, to after from, at most STATEMENT_MAX_US apart. */
static mx_status period_of(const struct mx_request *request, struct mx_instant *from,
                           struct mx_instant *to, struct mx_api_refusal *why) {
    int has_from, has_to;
    mx_status status = mx_api_query_instant(request, "from", &has_from, from, why);
    if (status == MX_OK)
        status = mx_api_query_instant(request, "to", &has_to, to, why);
    if (status != MX_OK)
        return status;
    if (!has_from || !has_to)
        return mx_api_refuse(why, MX_INVALID_REQUEST, has_from ? "to" : "from",
                             "%s is required: an RFC 3339 instant or a YYYY-MM-DD date",
                             has_from ? "to" : "from");
    if (to->unix_us <= from->unix_us)
        return mx_api_refuse(why, MX_INVALID_REQUEST, "to", "to must be after from");
    if (to->unix_us - from->unix_us > STATEMENT_MAX_US)
        return mx_api_refuse(why, MX_INVALID_REQUEST, "to",
                             "a statement covers at most 366 days: to must be within 366 days "
                             "of from");
    return MX_OK;
}

void mx_api_get_statement(const struct mx_request *request, struct mx_response *response) {
    struct mx_instant from, to;
    struct mx_api_refusal why;
    int csv = 0;
    mx_status status = period_of(request, &from, &to, &why);
    if (status == MX_OK)
        status = wants_csv(request, &csv, &why);
    if (status != MX_OK) {
        mx_api_render_refusal(&why, response);
        return;
    }
    if (!mx_acct_is_valid(request->account_number)) {
        mx_api_error(MX_ACCOUNT_NOT_FOUND, response);
        return;
    }
    struct mx_db_op *op = &request->later->op;
    op->kind = MX_DB_STATEMENT;
    snprintf(op->account, sizeof op->account, "%s", request->account_number);
    snprintf(op->at, sizeof op->at, "%s", from.utc);
    snprintf(op->until, sizeof op->until, "%s", to.utc);
    request->later->variant = csv; /* 1: the CSV rendering */
    mx_api_submit(request, response, render_statement);
}
