/* The live stream's hub: one per process, it follows the change feed for every subscriber at
 * once, keeping its newest events rendered as Server-Sent Events, so that a thousand subscribers
 * cost one read of the table per round of news, not a thousand. */
#ifndef MONDUX_API_EVENT_HUB_H
#define MONDUX_API_EVENT_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "mondux/db.h"

/* An event as the stream sends it. */
struct hub_event {
    int64_t position;
    char account[MX_ACCT_LENGTH + 1];
    char *text; /* "id: <position>\ndata: <json>\n\n" */
    size_t size;
};

/* A subscriber, as the hub knows it: poke is called when the hub has read new events (or the
 * feed's head, at first), and with keepalive every 15 s. */
struct hub_member {
    struct hub_member *prev, *next;
    void (*poke)(struct hub_member *member, int keepalive);
};

struct event_hub;

/* The process's hub, started on first use with db (listening for the feed's news from then on);
 * NULL when out of memory. */
struct event_hub *event_hub_of(struct mx_db *db);

void event_hub_join(struct event_hub *hub, struct hub_member *member);
void event_hub_leave(struct event_hub *hub, struct hub_member *member);

/* Whether the hub has read where the feed stands; until then it has no head. */
int event_hub_ready(const struct event_hub *hub);

/* The last position the hub has read. */
int64_t event_hub_head(const struct event_hub *hub);

/* The event at position, if the hub still holds it (it keeps the newest few thousand); NULL when
 * it does not. */
const struct hub_event *event_hub_event(const struct event_hub *hub, int64_t position);

/* event rendered as the stream sends it, into *out (new; free it). 0 when out of memory. */
int event_hub_render(const struct mx_entry *event, struct hub_event *out);

#endif
