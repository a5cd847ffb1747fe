/* Every JSON answer, errors included, leaves through here, so all have the same shape. */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char json_content_type[] = "application/json";

/* Used when even the error body cannot be built (out of memory). */
static const char last_resort[] = "{\"error\": \"internal error\", \"code\": \"internal_error\"}\n";

static void render_last_resort(struct mx_response *response) {
    mx_api_response_free(response);
    response->http_status = 500;
    response->content_type = json_content_type;
    response->body = (char *)last_resort;
    response->body_size = sizeof last_resort - 1;
    response->body_is_static = 1;
}

/* body as compact JSON and a newline, so that a terminal's prompt after curl starts on its own
 * line and line-reading clients see the answer's end; a new string, or NULL. */
static char *json_line(const json_t *body) {
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    if (text == NULL)
        return NULL;
    size_t length = strlen(text);
    char *line = realloc(text, length + 2);
    if (line == NULL) {
        free(text);
        return NULL;
    }
    line[length] = '\n';
    line[length + 1] = '\0';
    return line;
}

void mx_api_render_json(struct mx_response *response, unsigned http_status, json_t *body) {
    char *text = json_line(body);
    json_decref(body);
    if (text == NULL) {
        render_last_resort(response);
        return;
    }
    mx_api_response_free(response);
    response->http_status = http_status;
    response->content_type = json_content_type;
    response->body = text;
    response->body_size = strlen(text);
    response->body_is_static = 0;
}

void mx_api_error(mx_status status, struct mx_response *response) {
    mx_api_error_detail(status, NULL, NULL, response);
}

void mx_api_error_detail(mx_status status, const char *field, const char *message,
                         struct mx_response *response) {
    const struct mx_status_info *info = mx_status_info(status);
    /* "s*" leaves "field" out when it is NULL. */
    json_t *body = json_pack("{s:s, s:s, s:s*}", "error", message != NULL ? message : info->message,
                             "code", info->code, "field", field);
    if (body == NULL) {
        render_last_resort(response);
        return;
    }
    mx_api_render_json(response, info->http_status, body);
    /* The client should come back soon; nothing was changed. */
    if (status == MX_UNAVAILABLE || status == MX_OUTCOME_UNKNOWN ||
        status == MX_IDEMPOTENCY_KEY_IN_USE)
        response->retry_after = 1;
}

json_t *mx_api_with_tags(json_t *object, const char *reference, const char *metadata) {
    if (object == NULL)
        return NULL;
    int failed = reference[0] != '\0' &&
                 json_object_set_new(object, "reference", json_string(reference)) != 0;
    if (!failed && metadata != NULL) {
        json_error_t error;
        json_t *parsed = json_loads(metadata, 0, &error);
        failed = parsed == NULL || json_object_set_new(object, "metadata", parsed) != 0;
    }
    if (failed) {
        json_decref(object);
        return NULL;
    }
    return object;
}

void mx_api_render_refusal(const struct mx_api_refusal *why, struct mx_response *response) {
    mx_api_error_detail(why->status, why->field[0] != '\0' ? why->field : NULL,
                        why->message[0] != '\0' ? why->message : NULL, response);
}

int mx_api_render_failure(const struct mx_later *later, struct mx_response *response) {
    if (later->op.status == MX_OK)
        return 0;
    mx_api_error(later->op.status, response);
    response->replayed = later->op.replayed;
    return 1;
}

void mx_api_response_free(struct mx_response *response) {
    if (!response->body_is_static)
        free(response->body);
    response->body = NULL;
    response->body_size = 0;
    response->body_is_static = 0;
    if (response->stream != NULL)
        response->stream->release(response->stream);
    response->stream = NULL;
}

json_t *mx_api_entry_json(const struct mx_entry *entry) {
    json_t *json = json_pack(
        "{s:I, s:s, s:I, s:s, s:I, s:s}", "id", (json_int_t)entry->id, "type", entry->kind,
        "amount", (json_int_t)entry->amount_cents, "currency", entry->currency, "balance_after",
        (json_int_t)entry->balance_after_cents, "created_at", entry->created_at);
    if (json != NULL && entry->transfer_id != 0 &&
        (json_object_set_new(json, "transfer_id", json_integer(entry->transfer_id)) != 0 ||
         json_object_set_new(json, "counterparty", json_string(entry->counterparty)) != 0)) {
        json_decref(json);
        json = NULL;
    }
    if (json != NULL && entry->hold_id != 0 &&
        json_object_set_new(json, "hold_id", json_integer(entry->hold_id)) != 0) {
        json_decref(json);
        json = NULL;
    }
    return mx_api_with_tags(json, entry->reference, entry->metadata);
}

json_t *mx_api_event_json(const struct mx_entry *event) {
    json_t *json =
        json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:s}", "position", (json_int_t)event->position,
                  "type", event->kind, "account_number", event->account, "currency",
                  event->currency, "amount", (json_int_t)event->amount_cents, "balance_after",
                  (json_int_t)event->balance_after_cents, "created_at", event->created_at);
    int failed = json == NULL;
    if (!failed && event->id != 0)
        failed = json_object_set_new(json, "entry_id", json_integer(event->id)) != 0;
    if (!failed && event->transfer_id != 0)
        failed = json_object_set_new(json, "transfer_id", json_integer(event->transfer_id)) != 0 ||
                 json_object_set_new(json, "counterparty", json_string(event->counterparty)) != 0;
    if (!failed && event->hold_id != 0)
        failed =
            json_object_set_new(json, "hold_id", json_integer(event->hold_id)) != 0 ||
            json_object_set_new(json, "hold_amount", json_integer(event->hold_amount_cents)) != 0;
    if (failed) {
        json_decref(json);
        return NULL;
    }
    return mx_api_with_tags(json, event->reference, event->metadata);
}
