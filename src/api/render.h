/* Shared by the controllers: turning a jansson value or a status into a response. */
#ifndef MONDUX_API_RENDER_H
#define MONDUX_API_RENDER_H

#include <jansson.h>

#include "mondux/api.h"
#include "refusal.h"

/* Steals body. Writes it as compact JSON with http_status; on failure renders MX_INTERNAL. */
void mx_api_render_json(struct mx_response *response, unsigned http_status, json_t *body);

/* Adds "reference" (unless "") and "metadata" (a JSON object's text, unless NULL) to object,
 * stolen; the object, or NULL (freed) when out of memory. */
json_t *mx_api_with_tags(json_t *object, const char *reference, const char *metadata);

/* A history entry, as GET /api/accounts/{n}/transactions shows it. NULL when out of memory. */
json_t *mx_api_entry_json(const struct mx_entry *entry);

/* A change feed's event, as GET /api/events and the live stream show it: an entry's members under
 * the feed's names, with its position and account. NULL when out of memory. */
json_t *mx_api_event_json(const struct mx_entry *event);

/* The error answer for why: its status, its sentence (or the table's) and its field, if any. */
void mx_api_render_refusal(const struct mx_api_refusal *why, struct mx_response *response);

/* When the database refused or failed op (later->op.status is not MX_OK): its error answer, with
 * Idempotent-Replayed when it is a stored one, and 1. Otherwise 0 and nothing written. */
int mx_api_render_failure(const struct mx_later *later, struct mx_response *response);

#endif
