/* The live stream's hub (event_hub.h). It reads the whole feed after its head whenever the
 * database says there is news (LISTEN, mx_db_listen), and every POLL_MS besides, since the table,
 * not the notification, is the truth: a lost notification only delays an event. What it reads
 * goes into a ring of the newest RING_EVENTS events, each rendered once for every subscriber. */
#include "event_hub.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mondux/log.h"
#include "render.h"

#define RING_EVENTS  4096
#define READ_EVENTS  1000
#define POLL_MS      2000
#define KEEPALIVE_MS 15000
/* Subscribers are woken with news at most this often: each wake costs every one of them a
 * resume, a write and a suspend, whatever it carries, so under load one wake carries many events
 * (measured with 1,000 subscribers: see bench/README.md). Quiet news goes out at once. */
#define WAKE_MS 100
/* Subscribers woken per turn of the loop: between slices the loop answers other requests, so a
 * thousand subscribers never hold up a deposit for a thousand wakes. */
#define WAKE_SLICE 64

struct event_hub {
    struct mx_db *db;
    struct mx_loop *loop;
    struct hub_event ring[RING_EVENTS]; /* by position % RING_EVENTS */
    int ready;                          /* head read from the database */
    int64_t head;                       /* the last position read */
    struct mx_db_op op;
    int reading, again;
    struct mx_loop_timer poll, keepalive, wake, slice;
    struct hub_member *next_to_wake; /* the rest of a wake going on slice by slice, or NULL */
    uint64_t woken_ns;               /* when the subscribers were last woken with news */
    struct hub_member *members;
};

static struct event_hub *the_hub;

static void hub_read(struct event_hub *hub);

int event_hub_render(const struct mx_entry *event, struct hub_event *out) {
    json_t *json = mx_api_event_json(event);
    char *data = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (data == NULL)
        return 0;
    size_t size = strlen(data) + 48;
    out->text = malloc(size);
    if (out->text != NULL)
        out->size = (size_t)snprintf(out->text, size, "id: %" PRId64 "\ndata: %s\n\n",
                                     event->position, data);
    free(data);
    out->position = event->position;
    snprintf(out->account, sizeof out->account, "%s", event->account);
    return out->text != NULL;
}

static void poke_all(struct event_hub *hub, int keepalive) {
    for (struct hub_member *m = hub->members, *next; m != NULL; m = next) {
        next = m->next; /* a poke may end the member */
        m->poke(m, keepalive);
    }
}

static void wake_slice(void *arg) {
    struct event_hub *hub = arg;
    struct hub_member *m = hub->next_to_wake;
    for (int i = 0; m != NULL && i < WAKE_SLICE; i++, m = m->next)
        m->poke(m, 0);
    hub->next_to_wake = m;
    if (m != NULL)
        mx_loop_timer_set(hub->loop, &hub->slice, 0, wake_slice, hub);
}

static void wake_now(void *arg) {
    struct event_hub *hub = arg;
    hub->woken_ns = mx_loop_now_ns(hub->loop);
    /* A wake under way starts again from the first: nobody is left out, some get two. */
    hub->next_to_wake = hub->members;
    wake_slice(hub);
}

/* News for the subscribers: now, or once WAKE_MS have passed since the last wake. */
static void announce(struct event_hub *hub) {
    if (mx_loop_timer_armed(&hub->wake))
        return;
    uint64_t since_ms = (mx_loop_now_ns(hub->loop) - hub->woken_ns) / 1000000u;
    if (hub->woken_ns == 0 || since_ms >= WAKE_MS)
        wake_now(hub);
    else
        mx_loop_timer_set(hub->loop, &hub->wake, WAKE_MS - since_ms, wake_now, hub);
}

static void hub_done(struct mx_db_op *op) {
    struct event_hub *hub = op->arg;
    hub->reading = 0;
    int more = 0, news = 0;
    if (op->status == MX_OK && op->kind == MX_DB_FEED_HEAD) {
        hub->head = op->after;
        hub->ready = news = 1;
    } else if (op->status == MX_OK) {
        for (unsigned i = 0; i < op->entry_count; i++) {
            struct hub_event *slot = &hub->ring[op->entries[i].position % RING_EVENTS];
            free(slot->text);
            slot->text = NULL;
            if (!event_hub_render(&op->entries[i], slot)) {
                mx_log(MX_LOG_ERROR, "the live stream's hub is out of memory");
                break;
            }
            hub->head = slot->position;
            news = 1;
        }
        more = op->entry_count == READ_EVENTS;
    }
    mx_db_op_release(op);
    if (more || hub->again)
        hub_read(hub);
    if (news)
        announce(hub);
}

static void hub_read(struct event_hub *hub) {
    if (hub->reading) {
        hub->again = 1; /* the read under way may have begun before this news */
        return;
    }
    hub->reading = 1;
    hub->again = 0;
    memset(&hub->op, 0, sizeof hub->op);
    hub->op.kind = hub->ready ? MX_DB_EVENTS : MX_DB_FEED_HEAD;
    hub->op.after = hub->head;
    hub->op.limit = READ_EVENTS;
    hub->op.done = hub_done;
    hub->op.arg = hub;
    mx_db_submit(hub->db, &hub->op);
}

static void on_news(void *arg) {
    struct event_hub *hub = arg;
    if (hub->members != NULL || !hub->ready)
        hub_read(hub);
}

static void on_poll(void *arg) {
    struct event_hub *hub = arg;
    on_news(hub);
    mx_loop_timer_set(hub->loop, &hub->poll, POLL_MS, on_poll, hub);
}

static void on_keepalive(void *arg) {
    struct event_hub *hub = arg;
    poke_all(hub, 1);
    mx_loop_timer_set(hub->loop, &hub->keepalive, KEEPALIVE_MS, on_keepalive, hub);
}

struct event_hub *event_hub_of(struct mx_db *db) {
    if (the_hub != NULL)
        return the_hub;
    struct event_hub *hub = calloc(1, sizeof *hub);
    if (hub == NULL)
        return NULL;
    hub->db = db;
    hub->loop = mx_db_loop(db);
    the_hub = hub;
    mx_db_listen(db, on_news, hub);
    mx_loop_timer_set(hub->loop, &hub->poll, POLL_MS, on_poll, hub);
    mx_loop_timer_set(hub->loop, &hub->keepalive, KEEPALIVE_MS, on_keepalive, hub);
    hub_read(hub);
    return hub;
}

void event_hub_join(struct event_hub *hub, struct hub_member *member) {
    /* With nobody to read for, the hub stopped following the feed: where it stands now is read
     * again, so that a new subscriber starts from now, not from when the last one left. */
    if (hub->members == NULL && hub->ready) {
        hub->ready = 0;
        hub_read(hub);
    }
    member->prev = NULL;
    member->next = hub->members;
    if (hub->members != NULL)
        hub->members->prev = member;
    hub->members = member;
}

void event_hub_leave(struct event_hub *hub, struct hub_member *member) {
    if (hub->next_to_wake == member)
        hub->next_to_wake = member->next;
    if (member->prev != NULL)
        member->prev->next = member->next;
    else
        hub->members = member->next;
    if (member->next != NULL)
        member->next->prev = member->prev;
    member->prev = member->next = NULL;
}

int event_hub_ready(const struct event_hub *hub) {
    return hub->ready;
}

int64_t event_hub_head(const struct event_hub *hub) {
    return hub->head;
}

const struct hub_event *event_hub_event(const struct event_hub *hub, int64_t position) {
    if (position < 1 || position > hub->head)
        return NULL;
    const struct hub_event *e = &hub->ring[position % RING_EVENTS];
    return e->text != NULL && e->position == position ? e : NULL;
}
